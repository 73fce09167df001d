//! A migration: a named list of operations of one app, after its
//! dependencies.

use super::error::MigrationError;
use super::graph::MigrationKey;
use super::operations::Operation;
use super::state::ProjectState;

/// One migration, as `makemigrations` writes it into an app's
/// `migrations` module.
///
/// ```
/// use flagon_orm::migrations::{FieldState, Migration, ModelState, Operation};
/// use flagon_orm::FieldKind;
///
/// fn migration() -> Migration {
///     Migration::new("polls", "0001_initial").operation(Operation::create_model(
///         ModelState::new("polls", "Question", "polls_question")
///             .field(FieldState::new("id", FieldKind::BigInteger).primary_key().auto())
///             .field(FieldState::new("text", FieldKind::String).max_length(200)),
///     ))
/// }
/// assert_eq!(migration().operations.len(), 1);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Migration {
    /// The app it belongs to.
    pub app: String,
    /// Its name, such as `0002_question_votes`.
    pub name: String,
    /// The migrations that must run before it, as `(app, name)`.
    pub dependencies: Vec<MigrationKey>,
    /// What it does, in order.
    pub operations: Vec<Operation>,
    /// Whether it runs in one transaction (the default). Turn it off for
    /// statements that cannot run in one, such as PostgreSQL's
    /// `CREATE INDEX CONCURRENTLY`.
    pub atomic: bool,
    /// The migrations of its app it stands for, when it is a squashed
    /// migration (`squashmigrations`): the graph uses it instead of them
    /// when none or all of them are applied, and applying it records them
    /// too.
    pub replaces: Vec<MigrationKey>,
}

impl Migration {
    /// An empty migration of `app` called `name`.
    pub fn new(app: impl Into<String>, name: impl Into<String>) -> Migration {
        Migration {
            app: app.into(),
            name: name.into(),
            dependencies: Vec::new(),
            operations: Vec::new(),
            atomic: true,
            replaces: Vec::new(),
        }
    }

    /// Runs after migration `name` of `app`.
    pub fn depends_on(mut self, app: impl Into<String>, name: impl Into<String>) -> Migration {
        self.dependencies.push((app.into(), name.into()));
        self
    }

    /// Stands for migration `name` of `app` (a squashed migration).
    ///
    /// ```
    /// use flagon_orm::migrations::Migration;
    ///
    /// let squashed = Migration::new("polls", "0001_initial_squashed_0002_votes")
    ///     .replaces("polls", "0001_initial")
    ///     .replaces("polls", "0002_votes");
    /// assert_eq!(squashed.replaces.len(), 2);
    /// ```
    pub fn replaces(mut self, app: impl Into<String>, name: impl Into<String>) -> Migration {
        self.replaces.push((app.into(), name.into()));
        self
    }

    /// Adds an operation.
    pub fn operation(mut self, operation: Operation) -> Migration {
        self.operations.push(operation);
        self
    }

    /// Runs without a transaction around it.
    pub fn non_atomic(mut self) -> Migration {
        self.atomic = false;
        self
    }

    /// Its key, `(app, name)`.
    pub fn key(&self) -> MigrationKey {
        (self.app.clone(), self.name.clone())
    }

    /// Applies every operation to `state`, naming the one that does not fit.
    pub fn apply(&self, state: &mut ProjectState) -> Result<(), MigrationError> {
        for (position, operation) in self.operations.iter().enumerate() {
            state.apply(&self.app, operation).map_err(|err| {
                MigrationError::invalid(format!(
                    "{}.{}, operation {} ({}): {}",
                    self.app,
                    self.name,
                    position + 1,
                    operation.describe(),
                    match err {
                        MigrationError::Invalid { message } => message,
                        other => other.to_string(),
                    }
                ))
            })?;
        }
        Ok(())
    }
}
