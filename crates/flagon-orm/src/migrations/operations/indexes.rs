//! Operations on the indexes and unique constraints over several fields.

use std::collections::HashMap;

use crate::backends::Dialect;

use super::{Operate, Operation};
use crate::migrations::ddl::{self, Step};
use crate::migrations::error::MigrationError;
use crate::migrations::state::{check_fields, ConstraintState, IndexState, ProjectState};
use crate::migrations::writer::{constraint_source, index_source, lit};

/// Adds an index over several fields.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AddIndex {
    /// The model's name.
    pub model: String,
    /// The index.
    pub index: IndexState,
}

impl Operate for AddIndex {
    fn describe(&self) -> String {
        format!(
            "Add index {} on {} ({})",
            self.index.name,
            self.model,
            self.index.fields.join(", ")
        )
    }

    fn name_fragment(&self) -> Option<String> {
        Some(self.index.name.clone())
    }

    fn state_forwards(&self, app: &str, state: &mut ProjectState) -> Result<(), MigrationError> {
        let model = state.model_mut(app, &self.model)?;
        check_fields(model, &self.index.fields, &self.index.name)?;
        model.indexes.push(self.index.clone());
        Ok(())
    }

    fn database_forwards(
        &self,
        app: &str,
        _before: &ProjectState,
        after: &ProjectState,
        dialect: Dialect,
    ) -> Result<Vec<Step>, MigrationError> {
        let model = after.expect_model(app, &self.model)?;
        Ok(vec![Step::Sql(ddl::model_index(
            model,
            &self.index.name,
            &self.index.fields,
            ddl::IndexUse::Index(&self.index.name),
            dialect,
        )?)])
    }

    fn reverse(
        &self,
        _app: &str,
        _before: &ProjectState,
    ) -> Result<Option<Operation>, MigrationError> {
        Ok(Some(Operation::remove_index(
            self.model.clone(),
            self.index.name.clone(),
        )))
    }

    fn source(&self) -> Result<String, MigrationError> {
        Ok(format!(
            "Operation::add_index({}, {})",
            lit(&self.model),
            index_source(&self.index)
        ))
    }
}

/// Removes an index.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RemoveIndex {
    /// The model's name.
    pub model: String,
    /// The index's name.
    pub name: String,
}

impl Operate for RemoveIndex {
    fn describe(&self) -> String {
        format!("Remove index {} from {}", self.name, self.model)
    }

    fn name_fragment(&self) -> Option<String> {
        Some(format!(
            "remove_{}_{}",
            self.model.to_lowercase(),
            self.name
        ))
    }

    fn state_forwards(&self, app: &str, state: &mut ProjectState) -> Result<(), MigrationError> {
        let model = state.model_mut(app, &self.model)?;
        index_at(&model.indexes, &model.name, &self.name)?;
        model.indexes.retain(|index| index.name != self.name);
        Ok(())
    }

    fn database_forwards(
        &self,
        app: &str,
        before: &ProjectState,
        _after: &ProjectState,
        dialect: Dialect,
    ) -> Result<Vec<Step>, MigrationError> {
        let model = before.expect_model(app, &self.model)?;
        Ok(vec![Step::Sql(ddl::drop_index(
            dialect,
            &self.name,
            &model.table,
        ))])
    }

    fn reverse(
        &self,
        app: &str,
        before: &ProjectState,
    ) -> Result<Option<Operation>, MigrationError> {
        let model = before.expect_model(app, &self.model)?;
        let index = model.indexes[index_at(&model.indexes, &model.name, &self.name)?].clone();
        Ok(Some(Operation::add_index(self.model.clone(), index)))
    }

    fn source(&self) -> Result<String, MigrationError> {
        Ok(format!(
            "Operation::remove_index({}, {})",
            lit(&self.model),
            lit(&self.name)
        ))
    }
}

/// Adds a constraint: unique over several fields (optionally only among
/// the rows a condition selects), or a check.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AddConstraint {
    /// The model's name.
    pub model: String,
    /// The constraint.
    pub constraint: ConstraintState,
}

impl Operate for AddConstraint {
    fn describe(&self) -> String {
        let constraint = &self.constraint;
        let condition = constraint.condition.as_deref().unwrap_or_default();
        if constraint.check {
            format!(
                "Add check constraint {} on {} ({condition})",
                constraint.name, self.model
            )
        } else if constraint.condition.is_some() {
            format!(
                "Add unique constraint {} on {} ({}) where {condition}",
                constraint.name,
                self.model,
                constraint.fields.join(", ")
            )
        } else {
            format!(
                "Add unique constraint {} on {} ({})",
                constraint.name,
                self.model,
                constraint.fields.join(", ")
            )
        }
    }

    fn name_fragment(&self) -> Option<String> {
        Some(self.constraint.name.clone())
    }

    fn state_forwards(&self, app: &str, state: &mut ProjectState) -> Result<(), MigrationError> {
        let model = state.model_mut(app, &self.model)?;
        self.constraint.validate(model)?;
        if model
            .constraints
            .iter()
            .any(|c| c.name == self.constraint.name)
        {
            return Err(MigrationError::invalid(format!(
                "model {} already has a constraint `{}`",
                model.name, self.constraint.name
            )));
        }
        model.constraints.push(self.constraint.clone());
        Ok(())
    }

    fn database_forwards(
        &self,
        app: &str,
        before: &ProjectState,
        after: &ProjectState,
        dialect: Dialect,
    ) -> Result<Vec<Step>, MigrationError> {
        let model = after.expect_model(app, &self.model)?;
        if self.constraint.check && dialect == Dialect::Sqlite {
            // SQLite cannot add a CHECK to a table: it is rebuilt with it.
            let old = before.expect_model(app, &self.model)?;
            return Ok(ddl::sqlite_rebuild(old, model, after, &HashMap::new())?
                .into_iter()
                .map(Step::Sql)
                .collect());
        }
        Ok(vec![Step::Sql(ddl::create_constraint(
            model,
            &self.constraint,
            dialect,
        )?)])
    }

    fn reverse(
        &self,
        _app: &str,
        _before: &ProjectState,
    ) -> Result<Option<Operation>, MigrationError> {
        Ok(Some(Operation::remove_constraint(
            self.model.clone(),
            self.constraint.name.clone(),
        )))
    }

    fn source(&self) -> Result<String, MigrationError> {
        Ok(format!(
            "Operation::add_constraint({}, {})",
            lit(&self.model),
            constraint_source(&self.constraint)
        ))
    }
}

/// Removes a unique or check constraint.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RemoveConstraint {
    /// The model's name.
    pub model: String,
    /// The constraint's name.
    pub name: String,
}

impl Operate for RemoveConstraint {
    fn describe(&self) -> String {
        format!("Remove constraint {} from {}", self.name, self.model)
    }

    fn name_fragment(&self) -> Option<String> {
        Some(format!(
            "remove_{}_{}",
            self.model.to_lowercase(),
            self.name
        ))
    }

    fn state_forwards(&self, app: &str, state: &mut ProjectState) -> Result<(), MigrationError> {
        let model = state.model_mut(app, &self.model)?;
        constraint_at(&model.constraints, &model.name, &self.name)?;
        model
            .constraints
            .retain(|constraint| constraint.name != self.name);
        Ok(())
    }

    fn database_forwards(
        &self,
        app: &str,
        before: &ProjectState,
        after: &ProjectState,
        dialect: Dialect,
    ) -> Result<Vec<Step>, MigrationError> {
        let model = before.expect_model(app, &self.model)?;
        let constraint =
            &model.constraints[constraint_at(&model.constraints, &model.name, &self.name)?];
        if constraint.check && dialect == Dialect::Sqlite {
            // SQLite cannot drop a CHECK: the table is rebuilt without it.
            let new = after.expect_model(app, &self.model)?;
            return Ok(ddl::sqlite_rebuild(model, new, after, &HashMap::new())?
                .into_iter()
                .map(Step::Sql)
                .collect());
        }
        Ok(vec![Step::Sql(ddl::drop_constraint(
            model, constraint, dialect,
        ))])
    }

    fn reverse(
        &self,
        app: &str,
        before: &ProjectState,
    ) -> Result<Option<Operation>, MigrationError> {
        let model = before.expect_model(app, &self.model)?;
        let constraint =
            model.constraints[constraint_at(&model.constraints, &model.name, &self.name)?].clone();
        Ok(Some(Operation::add_constraint(
            self.model.clone(),
            constraint,
        )))
    }

    fn source(&self) -> Result<String, MigrationError> {
        Ok(format!(
            "Operation::remove_constraint({}, {})",
            lit(&self.model),
            lit(&self.name)
        ))
    }
}

/// The position of index `name` among a model's, or an error naming both.
fn index_at(indexes: &[IndexState], model: &str, name: &str) -> Result<usize, MigrationError> {
    indexes
        .iter()
        .position(|index| index.name == name)
        .ok_or_else(|| MigrationError::invalid(format!("model {model} has no index `{name}`")))
}

/// The position of constraint `name` among a model's, or an error naming
/// both.
fn constraint_at(
    constraints: &[ConstraintState],
    model: &str,
    name: &str,
) -> Result<usize, MigrationError> {
    constraints
        .iter()
        .position(|constraint| constraint.name == name)
        .ok_or_else(|| MigrationError::invalid(format!("model {model} has no constraint `{name}`")))
}
