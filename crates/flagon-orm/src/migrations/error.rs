//! What can go wrong with migrations, naming the migration and operation.

use std::fmt;
use std::path::PathBuf;

use crate::error::OrmError;

/// A migration error.
#[derive(Debug)]
#[non_exhaustive]
pub enum MigrationError {
    /// A migration does not fit the state before it (it names a model or
    /// field that does not exist, or adds one twice).
    Invalid {
        /// What is wrong.
        message: String,
    },
    /// The migrations do not form a sound graph: a missing dependency, a
    /// cycle, two latest migrations in one app, or an unknown target.
    Graph {
        /// What is wrong.
        message: String,
    },
    /// An operation to be undone cannot be (a `RunSql` without reverse SQL,
    /// a `RunRust` without a backward function).
    Irreversible {
        /// The migration, as `app.name`.
        migration: String,
        /// The operation, described.
        operation: String,
    },
    /// An operation failed in the database.
    Failed {
        /// The migration, as `app.name`.
        migration: String,
        /// The operation's position in the migration, from 1.
        position: usize,
        /// The operation, described.
        operation: String,
        /// Whether the migration's earlier work was rolled back (false on
        /// MySQL/MariaDB, where DDL commits implicitly, and for a migration
        /// that is not atomic).
        rolled_back: bool,
        /// The database's error.
        source: Box<OrmError>,
    },
    /// The models need a choice the autodetector cannot make alone (a
    /// not-null field added without a default, with no one to ask).
    NeedsAnswer {
        /// What to decide, and how to answer.
        message: String,
    },
    /// A database error outside any operation (reading or writing the
    /// `flagon_migrations` table).
    Database(Box<OrmError>),
    /// Writing a migration file failed.
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

impl MigrationError {
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        MigrationError::Invalid {
            message: message.into(),
        }
    }

    pub(crate) fn graph(message: impl Into<String>) -> Self {
        MigrationError::Graph {
            message: message.into(),
        }
    }
}

impl fmt::Display for MigrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MigrationError::Invalid { message } => write!(f, "invalid migration: {message}"),
            MigrationError::Graph { message } => f.write_str(message),
            MigrationError::Irreversible {
                migration,
                operation,
            } => write!(
                f,
                "migration {migration} cannot be undone: its operation \"{operation}\" has no reverse"
            ),
            MigrationError::Failed {
                migration,
                position,
                operation,
                rolled_back,
                source,
            } => {
                write!(
                    f,
                    "migration {migration} failed at operation {position} ({operation}): {source}"
                )?;
                if *rolled_back {
                    f.write_str("; the migration was rolled back and the database is as it was")
                } else {
                    f.write_str(
                        "; the operations before it stay applied (the migration is not atomic, \
                         or the backend commits DDL as it goes)",
                    )
                }
            }
            MigrationError::NeedsAnswer { message } => f.write_str(message),
            MigrationError::Database(err) => write!(f, "{err}"),
            MigrationError::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for MigrationError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MigrationError::Failed { source, .. } => Some(source.as_ref()),
            MigrationError::Database(err) => Some(err.as_ref()),
            MigrationError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<OrmError> for MigrationError {
    fn from(err: OrmError) -> Self {
        MigrationError::Database(Box::new(err))
    }
}
