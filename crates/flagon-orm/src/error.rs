//! ORM errors: what went wrong, naming the model, field or constraint.

use std::fmt;

/// An error from the ORM. Each variant says what to do about it.
#[derive(Debug)]
#[non_exhaustive]
pub enum OrmError {
    /// `get()` found no row (Django's `DoesNotExist`).
    DoesNotExist {
        /// The model queried.
        model: &'static str,
    },
    /// `get()` found more than one row (Django's `MultipleObjectsReturned`).
    MultipleObjectsReturned {
        /// The model queried.
        model: &'static str,
        /// How many rows matched (at least two).
        count: u64,
    },
    /// A value was refused before anything was written (too long, NULL in
    /// a non-null field).
    Validation {
        /// The model.
        model: &'static str,
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// [`full_clean`](crate::ModelExt::full_clean) refused the object: the
    /// errors per field (and of no field) that a form shows. Through the
    /// web layer it is a 400.
    Invalid(crate::ValidationErrors),
    /// The database refused the change: unique, foreign key, not null or
    /// check constraint. Nothing was written.
    Integrity {
        /// Which kind of constraint.
        kind: ConstraintKind,
        /// The constraint's name, when the database reports it.
        constraint: Option<String>,
        /// The database's message.
        message: String,
    },
    /// The database cannot be reached (down, or every pooled connection is
    /// busy past the acquire timeout).
    Unavailable {
        /// What happened.
        message: String,
    },
    /// A column could not be read as the field's type.
    Decode {
        /// The column index or name.
        column: String,
        /// What went wrong.
        message: String,
    },
    /// The database URL (the `[database] url` setting) is not one Flagon can use.
    InvalidUrl {
        /// The URL, without its password.
        url: String,
        /// Why.
        message: String,
    },
    /// A transaction was misused or could not commit: a handle used after
    /// its block ended, a statement that spoiled the transaction followed
    /// by a block that returned `Ok` anyway, or `select_for_update` outside
    /// a transaction. What was written in the block was rolled back.
    Transaction {
        /// What happened and what to do.
        message: String,
    },
    /// A model's metadata cannot be turned into a table (no fields, a
    /// default no column can hold).
    Schema {
        /// What is wrong.
        message: String,
    },
    /// A query refused before it ran, because it cannot be run correctly:
    /// an update or delete of a slice, `last()` on a slice, a filter added
    /// after slicing, a comparison with NULL, a lock the database cannot
    /// take. The message says what to change.
    InvalidQuery {
        /// The model queried.
        model: &'static str,
        /// What is wrong and what to do instead.
        message: String,
    },
    /// A data migration used a historical model wrongly: a model or field
    /// the schema does not have at that point of the migrations, or a
    /// value that does not fit the field's kind. Nothing was run.
    HistoricalModel {
        /// The model, as `app.Model`.
        model: String,
        /// What is wrong and what to do instead.
        message: String,
    },
    /// The database settings cannot be used (a `[database]` section of the
    /// wrong shape, an option the backend does not take). The message says
    /// what to change.
    Configuration {
        /// What is wrong and what to do.
        message: String,
    },
    /// Any other SQLite or MySQL/MariaDB error. Only in builds with the
    /// `sqlite` or `mysql` feature.
    #[cfg(flagon_sqlx)]
    Database(sqlx::Error),
    /// Any other PostgreSQL error: one the server reported (its SQLSTATE
    /// is [`tokio_postgres::Error::code`]), or one of the connection. Only
    /// in builds with the `postgres` feature.
    #[cfg(feature = "postgres")]
    Postgres(tokio_postgres::Error),
}

/// The kinds of constraint a database enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConstraintKind {
    /// A UNIQUE constraint or unique index.
    Unique,
    /// A FOREIGN KEY.
    ForeignKey,
    /// NOT NULL.
    NotNull,
    /// A CHECK constraint.
    Check,
    /// A value too long for its column.
    TooLong,
    /// Another kind.
    Other,
}

impl fmt::Display for ConstraintKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConstraintKind::Unique => "unique",
            ConstraintKind::ForeignKey => "foreign key",
            ConstraintKind::NotNull => "not null",
            ConstraintKind::Check => "check",
            ConstraintKind::TooLong => "length",
            ConstraintKind::Other => "database",
        })
    }
}

impl fmt::Display for OrmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OrmError::DoesNotExist { model } => write!(f, "{model} matching the query does not exist"),
            OrmError::MultipleObjectsReturned { model, count } => {
                write!(f, "get() returned more than one {model}: {count} rows matched")
            }
            OrmError::Validation { model, field, message } => write!(f, "{model}.{field}: {message}"),
            OrmError::Invalid(errors) => write!(f, "invalid values: {errors}"),
            OrmError::Integrity { kind, constraint, message } => match constraint {
                Some(name) => write!(f, "{kind} constraint `{name}` failed: {message}"),
                None => write!(f, "{kind} constraint failed: {message}"),
            },
            OrmError::Unavailable { message } => write!(
                f,
                "the database is unavailable ({message}); check that it is running and that the [database] url setting is right"
            ),
            OrmError::Decode { column, message } => write!(f, "cannot read column {column}: {message}"),
            OrmError::InvalidUrl { url, message } => write!(f, "invalid database url {url:?} ([database] url): {message}"),
            OrmError::Transaction { message } => write!(f, "transaction error: {message}"),
            OrmError::Schema { message } => write!(f, "cannot create the table: {message}"),
            OrmError::InvalidQuery { model, message } => write!(f, "refused query on {model}: {message}"),
            OrmError::HistoricalModel { model, message } => write!(f, "historical model {model}: {message}"),
            OrmError::Configuration { message } => write!(f, "database configuration error: {message}"),
            #[cfg(flagon_sqlx)]
            OrmError::Database(err) => write!(f, "database error: {err}"),
            #[cfg(feature = "postgres")]
            OrmError::Postgres(err) => match err.as_db_error() {
                Some(db) => write!(f, "database error: {db}"),
                None => write!(f, "database error: {err}"),
            },
        }
    }
}

impl std::error::Error for OrmError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            #[cfg(flagon_sqlx)]
            OrmError::Database(err) => Some(err),
            #[cfg(feature = "postgres")]
            OrmError::Postgres(err) => Some(err),
            OrmError::Invalid(errors) => Some(errors),
            _ => None,
        }
    }
}

impl OrmError {
    /// Whether this is [`OrmError::DoesNotExist`] (a 404 through the web layer).
    pub fn is_does_not_exist(&self) -> bool {
        matches!(self, OrmError::DoesNotExist { .. })
    }

    /// The errors per field of [`OrmError::Invalid`], else `None`.
    ///
    /// ```
    /// use flagon_orm::{OrmError, ValidationErrors};
    ///
    /// let error: OrmError = ValidationErrors::new().with("name", "Taken.").into();
    /// assert_eq!(error.validation_errors().map(|e| e.field("name").len()), Some(1));
    /// assert_eq!(error.to_string(), "invalid values: name: Taken.");
    /// ```
    pub fn validation_errors(&self) -> Option<&crate::ValidationErrors> {
        match self {
            OrmError::Invalid(errors) => Some(errors),
            _ => None,
        }
    }
}

impl From<crate::ValidationErrors> for OrmError {
    fn from(errors: crate::ValidationErrors) -> Self {
        OrmError::Invalid(errors)
    }
}

#[cfg(feature = "postgres")]
impl From<tokio_postgres::Error> for OrmError {
    fn from(err: tokio_postgres::Error) -> Self {
        crate::backends::postgres::error(err)
    }
}

#[cfg(flagon_sqlx)]
impl From<sqlx::Error> for OrmError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_) => OrmError::Unavailable {
                message: err.to_string(),
            },
            sqlx::Error::Database(db) => {
                let kind = match db.kind() {
                    sqlx::error::ErrorKind::UniqueViolation => ConstraintKind::Unique,
                    sqlx::error::ErrorKind::ForeignKeyViolation => ConstraintKind::ForeignKey,
                    sqlx::error::ErrorKind::NotNullViolation => ConstraintKind::NotNull,
                    sqlx::error::ErrorKind::CheckViolation => ConstraintKind::Check,
                    _ => match db.code().as_deref() {
                        // SQLSTATE string_data_right_truncation (PostgreSQL, and
                        // MySQL's ER_DATA_TOO_LONG: sqlx reports SQLSTATEs there).
                        Some("22001") => ConstraintKind::TooLong,
                        // SQLite's RESTRICT action reports itself as a trigger.
                        _ if db.message().contains("FOREIGN KEY constraint failed") => {
                            ConstraintKind::ForeignKey
                        }
                        _ => return OrmError::Database(sqlx::Error::Database(db)),
                    },
                };
                OrmError::Integrity {
                    kind,
                    constraint: db.constraint().map(str::to_owned),
                    message: db.message().to_owned(),
                }
            }
            other => OrmError::Database(other),
        }
    }
}
