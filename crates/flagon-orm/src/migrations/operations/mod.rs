//! Migration operations. Each is a struct in one of the sibling modules
//! (`models`, `fields`, `indexes`, `special`) that implements [`Operate`]:
//! how it changes the state, the SQL it runs, the operation that undoes
//! it, how it describes itself and how it is written back as source, all
//! in one place, as Django's `operations/` classes do. [`Operation`] is the
//! enum a migration holds; adding an operation means writing its struct
//! and naming it once in the `operations!` list below.

use futures_util::future::BoxFuture;

use super::historical::HistoricalApps;
use crate::backends::Dialect;
use crate::error::OrmError;
use crate::model::FieldDefault;

use super::ddl::Step;
use super::error::MigrationError;
use super::state::{ConstraintState, FieldState, IndexState, ModelState, ProjectState};

mod fields;
mod indexes;
mod models;
mod special;

pub use fields::{AddField, AlterField, RemoveField, RenameField};
pub use indexes::{AddConstraint, AddIndex, RemoveConstraint, RemoveIndex};
pub use models::{AlterModelTable, CreateModel, DeleteModel, RenameModel};
pub use special::{RunRust, RunSql};

/// What every operation knows about itself (Django's `state_forwards`,
/// `database_forwards`, `describe`, `deconstruct` and, instead of
/// `database_backwards`, the operation that undoes it).
pub(crate) trait Operate {
    /// What the operation does, for people.
    fn describe(&self) -> String;

    /// A fragment for the migration's file name, if the operation has one.
    fn name_fragment(&self) -> Option<String> {
        None
    }

    /// Applies the operation, of a migration of `app`, to `state`.
    fn state_forwards(&self, app: &str, state: &mut ProjectState) -> Result<(), MigrationError>;

    /// The steps the operation runs on `dialect`, given the states before
    /// and after it.
    fn database_forwards(
        &self,
        app: &str,
        before: &ProjectState,
        after: &ProjectState,
        dialect: Dialect,
    ) -> Result<Vec<Step>, MigrationError>;

    /// The operation that undoes this one, given the state `before` it ran;
    /// `None` if it cannot be undone. Undoing runs its forwards steps
    /// between the states after and before this one.
    fn reverse(
        &self,
        app: &str,
        before: &ProjectState,
    ) -> Result<Option<Operation>, MigrationError>;

    /// Why the operation may lose data, if it may.
    fn data_loss(&self, before: &ProjectState, app: &str) -> Option<&'static str> {
        let _ = (before, app);
        None
    }

    /// The Rust expression that builds the operation, as the writer puts
    /// it in a migration file (with the prelude in scope).
    fn source(&self) -> Result<String, MigrationError>;
}

/// Declares [`Operation`] over the operation structs, with the dispatch to
/// their [`Operate`] implementations and a `From` for each.
macro_rules! operations {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// One step of a migration. Model names are those of the
        /// migration's app. Build one with the constructors
        /// ([`Operation::create_model`], [`Operation::add_field`], ...),
        /// as migration files do.
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum Operation {
            $($(#[$doc])* $name($name),)*
        }

        impl Operation {
            /// The operation's own implementation.
            fn operate(&self) -> &dyn Operate {
                match self {
                    $(Operation::$name(operation) => operation,)*
                }
            }
        }

        $(impl From<$name> for Operation {
            fn from(operation: $name) -> Operation {
                Operation::$name(operation)
            }
        })*
    };
}

operations! {
    /// Creates a model's table, with its indexes and constraints.
    CreateModel,
    /// Drops a model's table.
    DeleteModel,
    /// Renames a model; its table follows when it has the default name.
    RenameModel,
    /// Moves a model to another table.
    AlterModelTable,
    /// Adds a field (a column).
    AddField,
    /// Removes a field (its column and data).
    RemoveField,
    /// Changes a field's definition.
    AlterField,
    /// Renames a field; its column follows unless it was set apart.
    RenameField,
    /// Adds an index over several fields.
    AddIndex,
    /// Removes an index.
    RemoveIndex,
    /// Adds a unique constraint over several fields.
    AddConstraint,
    /// Removes a unique constraint.
    RemoveConstraint,
    /// Runs SQL of your own.
    RunSql,
    /// Runs Rust code of your own (a data migration).
    RunRust,
}

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

impl Operation {
    /// Creates `model`.
    pub fn create_model(model: ModelState) -> Operation {
        CreateModel { model }.into()
    }

    /// Deletes model `name`.
    pub fn delete_model(name: impl Into<String>) -> Operation {
        DeleteModel { name: name.into() }.into()
    }

    /// Renames model `old_name` to `new_name`.
    pub fn rename_model(old_name: impl Into<String>, new_name: impl Into<String>) -> Operation {
        RenameModel {
            old_name: old_name.into(),
            new_name: new_name.into(),
        }
        .into()
    }

    /// Moves model `name` to `table`.
    pub fn alter_model_table(name: impl Into<String>, table: impl Into<String>) -> Operation {
        AlterModelTable {
            name: name.into(),
            table: table.into(),
        }
        .into()
    }

    /// Adds `field` to `model`.
    pub fn add_field(model: impl Into<String>, field: FieldState) -> Operation {
        AddField {
            model: model.into(),
            field,
            one_off_default: None,
        }
        .into()
    }

    /// Removes field `name` from `model`.
    pub fn remove_field(model: impl Into<String>, name: impl Into<String>) -> Operation {
        RemoveField {
            model: model.into(),
            name: name.into(),
        }
        .into()
    }

    /// Changes the field of `model` named like `field` to `field`.
    pub fn alter_field(model: impl Into<String>, field: FieldState) -> Operation {
        AlterField {
            model: model.into(),
            field,
            one_off_default: None,
        }
        .into()
    }

    /// Renames field `old_name` of `model` to `new_name`.
    pub fn rename_field(
        model: impl Into<String>,
        old_name: impl Into<String>,
        new_name: impl Into<String>,
    ) -> Operation {
        RenameField {
            model: model.into(),
            old_name: old_name.into(),
            new_name: new_name.into(),
        }
        .into()
    }

    /// Adds `index` to `model`.
    pub fn add_index(model: impl Into<String>, index: IndexState) -> Operation {
        AddIndex {
            model: model.into(),
            index,
        }
        .into()
    }

    /// Removes index `name` from `model`.
    pub fn remove_index(model: impl Into<String>, name: impl Into<String>) -> Operation {
        RemoveIndex {
            model: model.into(),
            name: name.into(),
        }
        .into()
    }

    /// Adds `constraint` to `model`.
    pub fn add_constraint(model: impl Into<String>, constraint: ConstraintState) -> Operation {
        AddConstraint {
            model: model.into(),
            constraint,
        }
        .into()
    }

    /// Removes constraint `name` from `model`.
    pub fn remove_constraint(model: impl Into<String>, name: impl Into<String>) -> Operation {
        RemoveConstraint {
            model: model.into(),
            name: name.into(),
        }
        .into()
    }

    /// Runs `sql` (several statements may be separated by `;`). It cannot
    /// be undone unless [`Operation::reverse_sql`] is given.
    pub fn run_sql(sql: impl Into<String>) -> Operation {
        RunSql {
            sql: sql.into(),
            reverse_sql: None,
        }
        .into()
    }

    /// Runs `forward` (see [`RustFn`]). It cannot be undone unless
    /// [`Operation::backward`] is given.
    pub fn run_rust(forward: RustFn) -> Operation {
        RunRust {
            code: RustCode {
                forward,
                backward: None,
            },
        }
        .into()
    }

    /// The SQL that undoes a [`Operation::RunSql`].
    pub fn reverse_sql(self, reverse: impl Into<String>) -> Operation {
        match self {
            Operation::RunSql(run) => RunSql {
                reverse_sql: Some(reverse.into()),
                ..run
            }
            .into(),
            other => other,
        }
    }

    /// The function that undoes a [`Operation::RunRust`].
    pub fn backward(self, backward: RustFn) -> Operation {
        match self {
            Operation::RunRust(RunRust { code }) => RunRust {
                code: RustCode {
                    backward: Some(backward),
                    ..code
                },
            }
            .into(),
            other => other,
        }
    }

    /// A value for the existing rows, used once: for
    /// [`Operation::AddField`] and [`Operation::AlterField`].
    pub fn one_off_default(self, value: impl Into<FieldDefault>) -> Operation {
        match self {
            Operation::AddField(add) => AddField {
                one_off_default: Some(value.into()),
                ..add
            }
            .into(),
            Operation::AlterField(alter) => AlterField {
                one_off_default: Some(value.into()),
                ..alter
            }
            .into(),
            other => other,
        }
    }

    /// What the operation does, for people.
    pub fn describe(&self) -> String {
        self.operate().describe()
    }

    /// Why the operation may lose data, if it may.
    pub fn data_loss(&self, before: &ProjectState, app: &str) -> Option<&'static str> {
        self.operate().data_loss(before, app)
    }

    /// A fragment for the migration's file name, if the operation has one.
    pub(crate) fn name_fragment(&self) -> Option<String> {
        self.operate().name_fragment()
    }

    /// Applies the operation, of a migration of `app`, to `state`.
    pub(crate) fn state_forwards(
        &self,
        app: &str,
        state: &mut ProjectState,
    ) -> Result<(), MigrationError> {
        self.operate().state_forwards(app, state)
    }

    /// The steps the operation runs on `dialect`, given the states before
    /// and after it.
    pub(crate) fn database_forwards(
        &self,
        app: &str,
        before: &ProjectState,
        after: &ProjectState,
        dialect: Dialect,
    ) -> Result<Vec<Step>, MigrationError> {
        self.operate()
            .database_forwards(app, before, after, dialect)
    }

    /// The operation that undoes this one, given the state `before` it ran;
    /// `None` if it cannot be undone.
    pub(crate) fn reverse(
        &self,
        app: &str,
        before: &ProjectState,
    ) -> Result<Option<Operation>, MigrationError> {
        self.operate().reverse(app, before)
    }

    /// The Rust expression that builds the operation in a migration file.
    pub(crate) fn source(&self) -> Result<String, MigrationError> {
        self.operate().source()
    }
}

/// Field `name` of `model`, or an error naming both.
pub(crate) fn field_of<'a>(
    model: &'a ModelState,
    name: &str,
) -> Result<&'a FieldState, MigrationError> {
    model.get_field(name).ok_or_else(|| {
        MigrationError::invalid(format!("model {} has no field `{name}`", model.name))
    })
}
