//! Migration operations: each one changes the state and, through the
//! schema editor, the database.

use futures_util::future::BoxFuture;

use crate::error::OrmError;
use crate::model::{FieldDefault, FieldKind};

use super::error::MigrationError;
use super::historical::HistoricalApps;
use super::state::{ConstraintState, FieldState, IndexState, ModelState, ProjectState};

/// The function of a data migration. It gets [`HistoricalApps`]: the
/// migration's connection (inside its transaction where the backend has
/// transactional DDL) and the models as the migrations have shaped them
/// at that point, not as the structs are today (Django's `apps` in
/// `RunPython`), so adding a field to a model later does not break it.
///
/// ```
/// use flagon_orm::migrations::{HistoricalApps, Record, RustFn};
/// use flagon_orm::OrmError;
/// use futures_util::future::BoxFuture;
///
/// fn add_welcome_post(apps: HistoricalApps<'_>) -> BoxFuture<'_, Result<(), OrmError>> {
///     Box::pin(async move {
///         let post = apps.model("blog", "Post")?;
///         post.insert(Record::new().set("title", "Welcome")).await?;
///         Ok(())
///     })
/// }
/// let forward: RustFn = add_welcome_post;
/// # let _ = forward;
/// ```
pub type RustFn = for<'a> fn(HistoricalApps<'a>) -> BoxFuture<'a, Result<(), OrmError>>;

/// The code of a [`Operation::RunRust`]: a forward function and, to make
/// the migration reversible, a backward one.
#[derive(Clone, Copy)]
pub struct RustCode {
    /// Runs when the migration is applied.
    pub forward: RustFn,
    /// Runs when the migration is undone; `None` makes it irreversible.
    pub backward: Option<RustFn>,
}

impl std::fmt::Debug for RustCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RustCode")
            .field("backward", &self.backward.is_some())
            .finish_non_exhaustive()
    }
}

impl PartialEq for RustCode {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::fn_addr_eq(self.forward, other.forward)
            && match (self.backward, other.backward) {
                (Some(a), Some(b)) => std::ptr::fn_addr_eq(a, b),
                (None, None) => true,
                _ => false,
            }
    }
}

/// One step of a migration. Model names are those of the migration's app.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Operation {
    /// Creates a model's table, with its indexes and constraints.
    CreateModel {
        /// The model.
        model: ModelState,
    },
    /// Drops a model's table.
    DeleteModel {
        /// The model's name.
        name: String,
    },
    /// Renames a model; its table follows when it has the default name.
    RenameModel {
        /// The old name.
        old_name: String,
        /// The new name.
        new_name: String,
    },
    /// Moves a model to another table.
    AlterModelTable {
        /// The model's name.
        name: String,
        /// The new table name.
        table: String,
    },
    /// Adds a field (a column).
    AddField {
        /// The model's name.
        model: String,
        /// The new field.
        field: FieldState,
        /// A value for the rows that exist, used once (for a not-null
        /// field without a default of its own).
        one_off_default: Option<FieldDefault>,
    },
    /// Removes a field (its column and data).
    RemoveField {
        /// The model's name.
        model: String,
        /// The field's name.
        name: String,
    },
    /// Changes a field's definition.
    AlterField {
        /// The model's name.
        model: String,
        /// The field as it becomes (its name picks the field).
        field: FieldState,
        /// A value for the rows holding NULL, used once, when the field
        /// stops allowing NULL.
        one_off_default: Option<FieldDefault>,
    },
    /// Renames a field; its column follows unless it was set apart.
    RenameField {
        /// The model's name.
        model: String,
        /// The old name.
        old_name: String,
        /// The new name.
        new_name: String,
    },
    /// Adds an index over several fields.
    AddIndex {
        /// The model's name.
        model: String,
        /// The index.
        index: IndexState,
    },
    /// Removes an index.
    RemoveIndex {
        /// The model's name.
        model: String,
        /// The index's name.
        name: String,
    },
    /// Adds a unique constraint over several fields.
    AddConstraint {
        /// The model's name.
        model: String,
        /// The constraint.
        constraint: ConstraintState,
    },
    /// Removes a unique constraint.
    RemoveConstraint {
        /// The model's name.
        model: String,
        /// The constraint's name.
        name: String,
    },
    /// Runs SQL of your own.
    RunSql {
        /// Run when the migration is applied.
        sql: String,
        /// Run when it is undone; `None` makes it irreversible.
        reverse_sql: Option<String>,
    },
    /// Runs Rust code of your own (a data migration).
    RunRust {
        /// The functions.
        code: RustCode,
    },
}

impl Operation {
    /// Creates `model`.
    pub fn create_model(model: ModelState) -> Operation {
        Operation::CreateModel { model }
    }

    /// Deletes model `name`.
    pub fn delete_model(name: impl Into<String>) -> Operation {
        Operation::DeleteModel { name: name.into() }
    }

    /// Renames model `old_name` to `new_name`.
    pub fn rename_model(old_name: impl Into<String>, new_name: impl Into<String>) -> Operation {
        Operation::RenameModel {
            old_name: old_name.into(),
            new_name: new_name.into(),
        }
    }

    /// Moves model `name` to `table`.
    pub fn alter_model_table(name: impl Into<String>, table: impl Into<String>) -> Operation {
        Operation::AlterModelTable {
            name: name.into(),
            table: table.into(),
        }
    }

    /// Adds `field` to `model`.
    pub fn add_field(model: impl Into<String>, field: FieldState) -> Operation {
        Operation::AddField {
            model: model.into(),
            field,
            one_off_default: None,
        }
    }

    /// Removes field `name` from `model`.
    pub fn remove_field(model: impl Into<String>, name: impl Into<String>) -> Operation {
        Operation::RemoveField {
            model: model.into(),
            name: name.into(),
        }
    }

    /// Changes the field of `model` named like `field` to `field`.
    pub fn alter_field(model: impl Into<String>, field: FieldState) -> Operation {
        Operation::AlterField {
            model: model.into(),
            field,
            one_off_default: None,
        }
    }

    /// Renames field `old_name` of `model` to `new_name`.
    pub fn rename_field(
        model: impl Into<String>,
        old_name: impl Into<String>,
        new_name: impl Into<String>,
    ) -> Operation {
        Operation::RenameField {
            model: model.into(),
            old_name: old_name.into(),
            new_name: new_name.into(),
        }
    }

    /// Adds `index` to `model`.
    pub fn add_index(model: impl Into<String>, index: IndexState) -> Operation {
        Operation::AddIndex {
            model: model.into(),
            index,
        }
    }

    /// Removes index `name` from `model`.
    pub fn remove_index(model: impl Into<String>, name: impl Into<String>) -> Operation {
        Operation::RemoveIndex {
            model: model.into(),
            name: name.into(),
        }
    }

    /// Adds `constraint` to `model`.
    pub fn add_constraint(model: impl Into<String>, constraint: ConstraintState) -> Operation {
        Operation::AddConstraint {
            model: model.into(),
            constraint,
        }
    }

    /// Removes constraint `name` from `model`.
    pub fn remove_constraint(model: impl Into<String>, name: impl Into<String>) -> Operation {
        Operation::RemoveConstraint {
            model: model.into(),
            name: name.into(),
        }
    }

    /// Runs `sql` (several statements may be separated by `;`). It cannot
    /// be undone unless [`Operation::reverse_sql`] is given.
    pub fn run_sql(sql: impl Into<String>) -> Operation {
        Operation::RunSql {
            sql: sql.into(),
            reverse_sql: None,
        }
    }

    /// Runs `forward` (see [`RustFn`]). It cannot be undone unless
    /// [`Operation::backward`] is given.
    pub fn run_rust(forward: RustFn) -> Operation {
        Operation::RunRust {
            code: RustCode {
                forward,
                backward: None,
            },
        }
    }

    /// The SQL that undoes a [`Operation::RunSql`].
    pub fn reverse_sql(self, reverse: impl Into<String>) -> Operation {
        match self {
            Operation::RunSql { sql, .. } => Operation::RunSql {
                sql,
                reverse_sql: Some(reverse.into()),
            },
            other => other,
        }
    }

    /// The function that undoes a [`Operation::RunRust`].
    pub fn backward(self, backward: RustFn) -> Operation {
        match self {
            Operation::RunRust { code } => Operation::RunRust {
                code: RustCode {
                    backward: Some(backward),
                    ..code
                },
            },
            other => other,
        }
    }

    /// A value for the existing rows, used once: for
    /// [`Operation::AddField`] and [`Operation::AlterField`].
    pub fn one_off_default(self, value: impl Into<FieldDefault>) -> Operation {
        match self {
            Operation::AddField { model, field, .. } => Operation::AddField {
                model,
                field,
                one_off_default: Some(value.into()),
            },
            Operation::AlterField { model, field, .. } => Operation::AlterField {
                model,
                field,
                one_off_default: Some(value.into()),
            },
            other => other,
        }
    }

    /// What the operation does, for people.
    pub fn describe(&self) -> String {
        match self {
            Operation::CreateModel { model } => format!("Create model {}", model.name),
            Operation::DeleteModel { name } => format!("Delete model {name}"),
            Operation::RenameModel { old_name, new_name } => {
                format!("Rename model {old_name} to {new_name}")
            }
            Operation::AlterModelTable { name, table } => {
                format!("Move model {name} to table {table}")
            }
            Operation::AddField { model, field, .. } => {
                format!("Add field {} to {model}", field.name)
            }
            Operation::RemoveField { model, name } => format!("Remove field {name} from {model}"),
            Operation::AlterField { model, field, .. } => {
                format!("Alter field {} on {model}", field.name)
            }
            Operation::RenameField {
                model,
                old_name,
                new_name,
            } => format!("Rename field {old_name} on {model} to {new_name}"),
            Operation::AddIndex { model, index } => {
                format!(
                    "Add index {} on {model} ({})",
                    index.name,
                    index.fields.join(", ")
                )
            }
            Operation::RemoveIndex { model, name } => format!("Remove index {name} from {model}"),
            Operation::AddConstraint { model, constraint } => format!(
                "Add unique constraint {} on {model} ({})",
                constraint.name,
                constraint.fields.join(", ")
            ),
            Operation::RemoveConstraint { model, name } => {
                format!("Remove constraint {name} from {model}")
            }
            Operation::RunSql { .. } => "Run SQL".to_owned(),
            Operation::RunRust { .. } => "Run Rust code".to_owned(),
        }
    }

    /// Why the operation may lose data, if it may.
    pub fn data_loss(&self, before: &ProjectState, app: &str) -> Option<&'static str> {
        match self {
            Operation::DeleteModel { .. } => Some("the table and all its rows are dropped"),
            Operation::RemoveField { .. } => Some("the column and its data are dropped"),
            Operation::AlterField { model, field, .. } => {
                let old = before.model(app, model)?.get_field(&field.name)?;
                if old.kind != field.kind {
                    Some("the column's type changes; values that do not convert fail or change")
                } else if matches!((old.max_length, field.max_length), (Some(a), Some(b)) if b < a)
                {
                    Some("the column gets shorter; longer values fail or are cut")
                } else if old.max_digits > field.max_digits
                    || old.decimal_places > field.decimal_places
                {
                    Some("the number gets fewer digits; values that do not fit fail or are rounded")
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// A fragment for the migration's file name, if the operation has one.
    pub(crate) fn name_fragment(&self) -> Option<String> {
        let lower = |name: &str| name.to_lowercase();
        Some(match self {
            Operation::CreateModel { model } => lower(&model.name),
            Operation::DeleteModel { name } => format!("delete_{}", lower(name)),
            Operation::RenameModel { old_name, new_name } => {
                format!("rename_{}_{}", lower(old_name), lower(new_name))
            }
            Operation::AlterModelTable { name, .. } => format!("alter_{}_table", lower(name)),
            Operation::AddField { model, field, .. } => {
                format!("{}_{}", lower(model), field.name)
            }
            Operation::RemoveField { model, name } => format!("remove_{}_{name}", lower(model)),
            Operation::AlterField { model, field, .. } => {
                format!("alter_{}_{}", lower(model), field.name)
            }
            Operation::RenameField {
                model,
                old_name,
                new_name,
            } => format!("rename_{old_name}_{}_{new_name}", lower(model)),
            Operation::AddIndex { index, .. } => index.name.clone(),
            Operation::RemoveIndex { model, name } => format!("remove_{}_{name}", lower(model)),
            Operation::AddConstraint { constraint, .. } => constraint.name.clone(),
            Operation::RemoveConstraint { model, name } => {
                format!("remove_{}_{name}", lower(model))
            }
            Operation::RunSql { .. } | Operation::RunRust { .. } => return None,
        })
    }

    /// The operation that undoes this one, given the state `before` it ran;
    /// `None` if it cannot be undone.
    pub(crate) fn reverse(
        &self,
        app: &str,
        before: &ProjectState,
    ) -> Result<Option<Operation>, MigrationError> {
        Ok(Some(match self {
            Operation::CreateModel { model } => Operation::delete_model(model.name.clone()),
            Operation::DeleteModel { name } => {
                Operation::create_model(before.expect_model(app, name)?.clone())
            }
            // The table follows the name both ways when it has the default name.
            Operation::RenameModel { old_name, new_name } => {
                Operation::rename_model(new_name.clone(), old_name.clone())
            }
            Operation::AlterModelTable { name, .. } => Operation::alter_model_table(
                name.clone(),
                before.expect_model(app, name)?.table.clone(),
            ),
            Operation::AddField { model, field, .. } => {
                Operation::remove_field(model.clone(), field.name.clone())
            }
            Operation::RemoveField { model, name } => {
                let field = before
                    .expect_model(app, model)?
                    .get_field(name)
                    .cloned()
                    .ok_or_else(|| {
                        MigrationError::invalid(format!("model {model} has no field `{name}`"))
                    })?;
                // The column comes back for rows that exist: as Django
                // does, fill a not-null one with the type's empty value.
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
                let operation = Operation::add_field(model.clone(), field);
                match empty {
                    Some(value) => operation.one_off_default(value),
                    None => operation,
                }
            }
            Operation::AlterField { model, field, .. } => {
                let old = before
                    .expect_model(app, model)?
                    .get_field(&field.name)
                    .cloned()
                    .ok_or_else(|| {
                        MigrationError::invalid(format!(
                            "model {model} has no field `{}`",
                            field.name
                        ))
                    })?;
                Operation::alter_field(model.clone(), old)
            }
            Operation::RenameField {
                model,
                old_name,
                new_name,
            } => Operation::rename_field(model.clone(), new_name.clone(), old_name.clone()),
            Operation::AddIndex { model, index } => {
                Operation::remove_index(model.clone(), index.name.clone())
            }
            Operation::RemoveIndex { model, name } => {
                let index = before
                    .expect_model(app, model)?
                    .indexes
                    .iter()
                    .find(|index| index.name == *name)
                    .cloned()
                    .ok_or_else(|| {
                        MigrationError::invalid(format!("model {model} has no index `{name}`"))
                    })?;
                Operation::add_index(model.clone(), index)
            }
            Operation::AddConstraint { model, constraint } => {
                Operation::remove_constraint(model.clone(), constraint.name.clone())
            }
            Operation::RemoveConstraint { model, name } => {
                let constraint = before
                    .expect_model(app, model)?
                    .constraints
                    .iter()
                    .find(|constraint| constraint.name == *name)
                    .cloned()
                    .ok_or_else(|| {
                        MigrationError::invalid(format!("model {model} has no constraint `{name}`"))
                    })?;
                Operation::add_constraint(model.clone(), constraint)
            }
            Operation::RunSql { sql, reverse_sql } => match reverse_sql {
                Some(reverse) => Operation::RunSql {
                    sql: reverse.clone(),
                    reverse_sql: Some(sql.clone()),
                },
                None => return Ok(None),
            },
            Operation::RunRust { code } => match code.backward {
                Some(backward) => Operation::RunRust {
                    code: RustCode {
                        forward: backward,
                        backward: Some(code.forward),
                    },
                },
                None => return Ok(None),
            },
        }))
    }
}
