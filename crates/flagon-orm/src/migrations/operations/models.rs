//! Operations on whole models: create, delete, rename, move to a table.

use crate::backends::Dialect;

use super::{Operate, Operation};
use crate::migrations::ddl::{self, quote, Step};
use crate::migrations::error::MigrationError;
use crate::migrations::state::{ModelState, ProjectState};
use crate::migrations::writer::{lit, model_source, INDENT};

fn sql(statements: Vec<String>) -> Vec<Step> {
    statements.into_iter().map(Step::Sql).collect()
}

/// Creates a model's table, with its indexes and constraints.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct CreateModel {
    /// The model.
    pub model: ModelState,
}

impl Operate for CreateModel {
    fn describe(&self) -> String {
        format!("Create model {}", self.model.name)
    }

    fn name_fragment(&self) -> Option<String> {
        Some(self.model.name.to_lowercase())
    }

    fn state_forwards(&self, app: &str, state: &mut ProjectState) -> Result<(), MigrationError> {
        if state.model(app, &self.model.name).is_some() {
            return Err(MigrationError::invalid(format!(
                "model {app}.{} is created twice",
                self.model.name
            )));
        }
        let mut model = self.model.clone();
        model.app = app.to_owned();
        state.add_model(model);
        Ok(())
    }

    fn database_forwards(
        &self,
        app: &str,
        _before: &ProjectState,
        after: &ProjectState,
        dialect: Dialect,
    ) -> Result<Vec<Step>, MigrationError> {
        let model = after.expect_model(app, &self.model.name)?;
        Ok(sql(ddl::create_model(model, after, dialect)?))
    }

    fn reverse(
        &self,
        _app: &str,
        _before: &ProjectState,
    ) -> Result<Option<Operation>, MigrationError> {
        Ok(Some(Operation::delete_model(self.model.name.clone())))
    }

    fn source(&self) -> Result<String, MigrationError> {
        Ok(format!(
            "Operation::create_model(\n{INDENT}{},\n        )",
            model_source(&self.model, INDENT)
        ))
    }
}

/// Drops a model's table.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DeleteModel {
    /// The model's name.
    pub name: String,
}

impl Operate for DeleteModel {
    fn describe(&self) -> String {
        format!("Delete model {}", self.name)
    }

    fn name_fragment(&self) -> Option<String> {
        Some(format!("delete_{}", self.name.to_lowercase()))
    }

    fn state_forwards(&self, app: &str, state: &mut ProjectState) -> Result<(), MigrationError> {
        state.expect_model(app, &self.name)?;
        state.models.remove(&(app.to_owned(), self.name.clone()));
        Ok(())
    }

    fn database_forwards(
        &self,
        app: &str,
        before: &ProjectState,
        _after: &ProjectState,
        dialect: Dialect,
    ) -> Result<Vec<Step>, MigrationError> {
        let model = before.expect_model(app, &self.name)?;
        Ok(sql(vec![format!(
            "DROP TABLE {}",
            quote(dialect, &model.table)
        )]))
    }

    fn reverse(
        &self,
        app: &str,
        before: &ProjectState,
    ) -> Result<Option<Operation>, MigrationError> {
        Ok(Some(Operation::create_model(
            before.expect_model(app, &self.name)?.clone(),
        )))
    }

    fn data_loss(&self, _before: &ProjectState, _app: &str) -> Option<&'static str> {
        Some("the table and all its rows are dropped")
    }

    fn source(&self) -> Result<String, MigrationError> {
        Ok(format!("Operation::delete_model({})", lit(&self.name)))
    }
}

/// Renames a model; its table follows when it has the default name.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RenameModel {
    /// The old name.
    pub old_name: String,
    /// The new name.
    pub new_name: String,
}

impl Operate for RenameModel {
    fn describe(&self) -> String {
        format!("Rename model {} to {}", self.old_name, self.new_name)
    }

    fn name_fragment(&self) -> Option<String> {
        Some(format!(
            "rename_{}_{}",
            self.old_name.to_lowercase(),
            self.new_name.to_lowercase()
        ))
    }

    fn state_forwards(&self, app: &str, state: &mut ProjectState) -> Result<(), MigrationError> {
        let (old_name, new_name) = (&self.old_name, &self.new_name);
        if state.model(app, new_name).is_some() {
            return Err(MigrationError::invalid(format!(
                "cannot rename {app}.{old_name}: model {new_name} exists"
            )));
        }
        state.expect_model(app, old_name)?;
        let Some(mut model) = state.models.remove(&(app.to_owned(), old_name.clone())) else {
            return Ok(());
        };
        if model.table == ModelState::default_table(app, old_name) {
            model.table = ModelState::default_table(app, new_name);
        }
        model.name = new_name.clone();
        state.add_model(model);
        // Foreign keys follow the renamed model.
        for other in state.models.values_mut() {
            for field in &mut other.fields {
                if let Some(relation) = &mut field.relation {
                    if relation.app == app && relation.model == *old_name {
                        relation.model.clone_from(new_name);
                    }
                }
            }
        }
        Ok(())
    }

    fn database_forwards(
        &self,
        app: &str,
        before: &ProjectState,
        after: &ProjectState,
        dialect: Dialect,
    ) -> Result<Vec<Step>, MigrationError> {
        let old = before.expect_model(app, &self.old_name)?;
        let new = after.expect_model(app, &self.new_name)?;
        Ok(sql(ddl::move_table(old, new, after, dialect)?))
    }

    // The table follows the name both ways when it has the default name.
    fn reverse(
        &self,
        _app: &str,
        _before: &ProjectState,
    ) -> Result<Option<Operation>, MigrationError> {
        Ok(Some(Operation::rename_model(
            self.new_name.clone(),
            self.old_name.clone(),
        )))
    }

    fn source(&self) -> Result<String, MigrationError> {
        Ok(format!(
            "Operation::rename_model({}, {})",
            lit(&self.old_name),
            lit(&self.new_name)
        ))
    }
}

/// Moves a model to another table.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AlterModelTable {
    /// The model's name.
    pub name: String,
    /// The new table name.
    pub table: String,
}

impl Operate for AlterModelTable {
    fn describe(&self) -> String {
        format!("Move model {} to table {}", self.name, self.table)
    }

    fn name_fragment(&self) -> Option<String> {
        Some(format!("alter_{}_table", self.name.to_lowercase()))
    }

    fn state_forwards(&self, app: &str, state: &mut ProjectState) -> Result<(), MigrationError> {
        state.model_mut(app, &self.name)?.table = self.table.clone();
        Ok(())
    }

    fn database_forwards(
        &self,
        app: &str,
        before: &ProjectState,
        after: &ProjectState,
        dialect: Dialect,
    ) -> Result<Vec<Step>, MigrationError> {
        let old = before.expect_model(app, &self.name)?;
        let new = after.expect_model(app, &self.name)?;
        Ok(sql(ddl::move_table(old, new, after, dialect)?))
    }

    fn reverse(
        &self,
        app: &str,
        before: &ProjectState,
    ) -> Result<Option<Operation>, MigrationError> {
        Ok(Some(Operation::alter_model_table(
            self.name.clone(),
            before.expect_model(app, &self.name)?.table.clone(),
        )))
    }

    fn source(&self) -> Result<String, MigrationError> {
        Ok(format!(
            "Operation::alter_model_table({}, {})",
            lit(&self.name),
            lit(&self.table)
        ))
    }
}
