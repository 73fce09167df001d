//! Operations on one field of a model: add, remove, alter, rename.

use std::collections::HashMap;

use crate::backends::Dialect;
use crate::model::{FieldDefault, FieldKind};

use super::{field_of, Operate, Operation};
use crate::migrations::ddl::{self, quote, Step};
use crate::migrations::error::MigrationError;
use crate::migrations::state::{FieldState, ProjectState};
use crate::migrations::writer::{default_source, field_source, lit, INDENT};

fn sql(statements: Vec<String>) -> Vec<Step> {
    statements.into_iter().map(Step::Sql).collect()
}

/// `source`, followed by `.one_off_default(..)` when there is one.
fn with_one_off(source: String, value: Option<&FieldDefault>) -> String {
    match value {
        Some(value) => format!(
            "{source}\n{INDENT}.one_off_default({})",
            default_source(value)
        ),
        None => source,
    }
}

/// Adds a field (a column).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AddField {
    /// The model's name.
    pub model: String,
    /// The new field.
    pub field: FieldState,
    /// A value for the rows that exist, used once (for a not-null field
    /// without a default of its own).
    pub one_off_default: Option<FieldDefault>,
}

impl Operate for AddField {
    fn describe(&self) -> String {
        format!("Add field {} to {}", self.field.name, self.model)
    }

    fn name_fragment(&self) -> Option<String> {
        Some(format!("{}_{}", self.model.to_lowercase(), self.field.name))
    }

    fn state_forwards(&self, app: &str, state: &mut ProjectState) -> Result<(), MigrationError> {
        let model = state.model_mut(app, &self.model)?;
        if model.get_field(&self.field.name).is_some() {
            return Err(MigrationError::invalid(format!(
                "model {} already has a field `{}`",
                model.name, self.field.name
            )));
        }
        model.fields.push(self.field.clone());
        Ok(())
    }

    fn database_forwards(
        &self,
        app: &str,
        before: &ProjectState,
        after: &ProjectState,
        dialect: Dialect,
    ) -> Result<Vec<Step>, MigrationError> {
        let old = before.expect_model(app, &self.model)?;
        let new = after.expect_model(app, &self.model)?;
        Ok(sql(ddl::add_field(
            old,
            new,
            &self.field,
            self.one_off_default.as_ref(),
            after,
            dialect,
        )?))
    }

    fn reverse(
        &self,
        _app: &str,
        _before: &ProjectState,
    ) -> Result<Option<Operation>, MigrationError> {
        Ok(Some(Operation::remove_field(
            self.model.clone(),
            self.field.name.clone(),
        )))
    }

    fn source(&self) -> Result<String, MigrationError> {
        Ok(with_one_off(
            format!(
                "Operation::add_field(\n{INDENT}{},\n{INDENT}{},\n        )",
                lit(&self.model),
                field_source(&self.field)
            ),
            self.one_off_default.as_ref(),
        ))
    }
}

/// Removes a field (its column and data).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RemoveField {
    /// The model's name.
    pub model: String,
    /// The field's name.
    pub name: String,
}

impl Operate for RemoveField {
    fn describe(&self) -> String {
        format!("Remove field {} from {}", self.name, self.model)
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
        model.field_mut(&self.name)?;
        model.fields.retain(|field| field.name != self.name);
        Ok(())
    }

    fn database_forwards(
        &self,
        app: &str,
        before: &ProjectState,
        after: &ProjectState,
        dialect: Dialect,
    ) -> Result<Vec<Step>, MigrationError> {
        let old = before.expect_model(app, &self.model)?;
        let new = after.expect_model(app, &self.model)?;
        let field = field_of(old, &self.name)?;
        if dialect == Dialect::Sqlite {
            return Ok(sql(ddl::sqlite_rebuild(old, new, after, &HashMap::new())?));
        }
        // MySQL keeps an index while a foreign key needs it.
        let mut out = ddl::drop_fk(&old.table, field, dialect);
        out.extend(ddl::drop_field_indexes(&old.table, field, dialect));
        out.push(format!(
            "ALTER TABLE {} DROP COLUMN {}",
            quote(dialect, &old.table),
            quote(dialect, &field.column)
        ));
        Ok(sql(out))
    }

    fn reverse(
        &self,
        app: &str,
        before: &ProjectState,
    ) -> Result<Option<Operation>, MigrationError> {
        let field = field_of(before.expect_model(app, &self.model)?, &self.name)?.clone();
        // The column comes back for rows that exist: as Django does, fill a
        // not-null one with the type's empty value.
        let empty = match field.kind {
            _ if field.null || field.default.is_some() || field.auto => None,
            FieldKind::String | FieldKind::Text => Some(FieldDefault::Str("".into())),
            FieldKind::SmallInteger | FieldKind::Integer | FieldKind::BigInteger => {
                Some(FieldDefault::Int(0))
            }
            FieldKind::Float | FieldKind::Double => Some(FieldDefault::Float(0.0)),
            FieldKind::Boolean => Some(FieldDefault::Bool(false)),
            _ => None,
        };
        let operation = Operation::add_field(self.model.clone(), field);
        Ok(Some(match empty {
            Some(value) => operation.one_off_default(value),
            None => operation,
        }))
    }

    fn data_loss(&self, _before: &ProjectState, _app: &str) -> Option<&'static str> {
        Some("the column and its data are dropped")
    }

    fn source(&self) -> Result<String, MigrationError> {
        Ok(format!(
            "Operation::remove_field({}, {})",
            lit(&self.model),
            lit(&self.name)
        ))
    }
}

/// Changes a field's definition.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AlterField {
    /// The model's name.
    pub model: String,
    /// The field as it becomes (its name picks the field).
    pub field: FieldState,
    /// A value for the rows holding NULL, used once, when the field stops
    /// allowing NULL.
    pub one_off_default: Option<FieldDefault>,
}

impl Operate for AlterField {
    fn describe(&self) -> String {
        format!("Alter field {} on {}", self.field.name, self.model)
    }

    fn name_fragment(&self) -> Option<String> {
        Some(format!(
            "alter_{}_{}",
            self.model.to_lowercase(),
            self.field.name
        ))
    }

    fn state_forwards(&self, app: &str, state: &mut ProjectState) -> Result<(), MigrationError> {
        let target = state.model_mut(app, &self.model)?;
        *target.field_mut(&self.field.name)? = self.field.clone();
        let is_key = target.key_field().map(|key| &key.name) == Some(&self.field.name);
        if is_key {
            // A foreign key column has its target's key type.
            state.follow_key_type(app, &self.model, &self.field);
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
        let old_model = before.expect_model(app, &self.model)?;
        let new_model = after.expect_model(app, &self.model)?;
        let old = field_of(old_model, &self.field.name)?;
        Ok(sql(ddl::alter_field(
            old_model,
            new_model,
            old,
            &self.field,
            self.one_off_default.as_ref(),
            after,
            dialect,
        )?))
    }

    fn reverse(
        &self,
        app: &str,
        before: &ProjectState,
    ) -> Result<Option<Operation>, MigrationError> {
        let old = field_of(before.expect_model(app, &self.model)?, &self.field.name)?;
        Ok(Some(Operation::alter_field(
            self.model.clone(),
            old.clone(),
        )))
    }

    fn data_loss(&self, before: &ProjectState, app: &str) -> Option<&'static str> {
        let field = &self.field;
        let old = before.model(app, &self.model)?.get_field(&field.name)?;
        if old.kind != field.kind {
            Some("the column's type changes; values that do not convert fail or change")
        } else if matches!((old.max_length, field.max_length), (Some(a), Some(b)) if b < a) {
            Some("the column gets shorter; longer values fail or are cut")
        } else if old.max_digits > field.max_digits || old.decimal_places > field.decimal_places {
            Some("the number gets fewer digits; values that do not fit fail or are rounded")
        } else {
            None
        }
    }

    fn source(&self) -> Result<String, MigrationError> {
        Ok(with_one_off(
            format!(
                "Operation::alter_field(\n{INDENT}{},\n{INDENT}{},\n        )",
                lit(&self.model),
                field_source(&self.field)
            ),
            self.one_off_default.as_ref(),
        ))
    }
}

/// Renames a field; its column follows unless it was set apart.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RenameField {
    /// The model's name.
    pub model: String,
    /// The old name.
    pub old_name: String,
    /// The new name.
    pub new_name: String,
}

impl Operate for RenameField {
    fn describe(&self) -> String {
        format!(
            "Rename field {} on {} to {}",
            self.old_name, self.model, self.new_name
        )
    }

    fn name_fragment(&self) -> Option<String> {
        Some(format!(
            "rename_{}_{}_{}",
            self.old_name,
            self.model.to_lowercase(),
            self.new_name
        ))
    }

    fn state_forwards(&self, app: &str, state: &mut ProjectState) -> Result<(), MigrationError> {
        let (old_name, new_name) = (&self.old_name, &self.new_name);
        let model = state.model_mut(app, &self.model)?;
        if model.get_field(new_name).is_some() {
            return Err(MigrationError::invalid(format!(
                "cannot rename {}.{old_name}: field `{new_name}` exists",
                model.name
            )));
        }
        let field = model.field_mut(old_name)?;
        *field = field.renamed(new_name);
        let rename = |names: &mut Vec<String>| {
            for name in names.iter_mut().filter(|name| *name == old_name) {
                name.clone_from(new_name);
            }
        };
        model
            .indexes
            .iter_mut()
            .for_each(|index| rename(&mut index.fields));
        model
            .constraints
            .iter_mut()
            .for_each(|constraint| constraint.rename_field(old_name, new_name));
        Ok(())
    }

    fn database_forwards(
        &self,
        app: &str,
        before: &ProjectState,
        after: &ProjectState,
        dialect: Dialect,
    ) -> Result<Vec<Step>, MigrationError> {
        let old_model = before.expect_model(app, &self.model)?;
        let new_model = after.expect_model(app, &self.model)?;
        let old = field_of(old_model, &self.old_name)?;
        let new = field_of(new_model, &self.new_name)?;
        if old.column == new.column {
            return Ok(Vec::new());
        }
        let table = &new_model.table;
        let sqlite = dialect == Dialect::Sqlite;
        let mut out = if sqlite {
            Vec::new()
        } else {
            ddl::drop_fk(table, old, dialect)
        };
        out.extend(ddl::drop_field_indexes(table, old, dialect));
        out.push(format!(
            "ALTER TABLE {} RENAME COLUMN {} TO {}",
            quote(dialect, table),
            quote(dialect, &old.column),
            quote(dialect, &new.column)
        ));
        out.extend(ddl::field_indexes(new_model, new, dialect)?);
        if !sqlite {
            out.extend(ddl::add_fk(after, table, new, dialect)?);
        }
        Ok(sql(out))
    }

    fn reverse(
        &self,
        _app: &str,
        _before: &ProjectState,
    ) -> Result<Option<Operation>, MigrationError> {
        Ok(Some(Operation::rename_field(
            self.model.clone(),
            self.new_name.clone(),
            self.old_name.clone(),
        )))
    }

    fn source(&self) -> Result<String, MigrationError> {
        Ok(format!(
            "Operation::rename_field({}, {}, {})",
            lit(&self.model),
            lit(&self.old_name),
            lit(&self.new_name)
        ))
    }
}
