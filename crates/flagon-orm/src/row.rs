//! Rows read from any of the backends.

#[cfg(flagon_sqlx)]
use sqlx::{Row as _, ValueRef as _};

use crate::error::OrmError;

/// One result row, from whichever backend answered.
#[derive(Debug)]
#[non_exhaustive]
pub enum Row {
    /// A SQLite row (with the `sqlite` feature).
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::sqlite::SqliteRow),
    /// A PostgreSQL row (with the `postgres` feature).
    #[cfg(feature = "postgres")]
    Postgres(tokio_postgres::Row),
    /// A MySQL or MariaDB row (with the `mysql` feature).
    #[cfg(feature = "mysql")]
    MySql(sqlx::mysql::MySqlRow),
    /// A build without any backend: no row can exist.
    #[doc(hidden)]
    #[cfg(flagon_no_backend)]
    None(std::convert::Infallible),
}

impl Row {
    /// Whether column `index` is NULL.
    pub fn is_null(&self, index: usize) -> Result<bool, OrmError> {
        #[cfg(flagon_sqlx)]
        let decode_error = |err: sqlx::Error| OrmError::Decode {
            column: index.to_string(),
            message: err.to_string(),
        };
        match self {
            #[cfg(flagon_no_backend)]
            Row::None(never) => match *never {},
            #[cfg(feature = "sqlite")]
            Row::Sqlite(row) => row
                .try_get_raw(index)
                .map(|v| v.is_null())
                .map_err(decode_error),
            #[cfg(feature = "postgres")]
            Row::Postgres(row) => crate::backends::postgres::is_null(row, index),
            #[cfg(feature = "mysql")]
            Row::MySql(row) => row
                .try_get_raw(index)
                .map(|v| v.is_null())
                .map_err(decode_error),
        }
    }

    /// How many columns the row has.
    pub fn len(&self) -> usize {
        match self {
            #[cfg(flagon_no_backend)]
            Row::None(never) => match *never {},
            #[cfg(feature = "sqlite")]
            Row::Sqlite(row) => row.len(),
            #[cfg(feature = "postgres")]
            Row::Postgres(row) => row.len(),
            #[cfg(feature = "mysql")]
            Row::MySql(row) => row.len(),
        }
    }

    /// The names of the columns, in order.
    pub fn column_names(&self) -> Vec<&str> {
        #[cfg(flagon_sqlx)]
        use sqlx::Column as _;
        match self {
            #[cfg(flagon_no_backend)]
            Row::None(never) => match *never {},
            #[cfg(feature = "sqlite")]
            Row::Sqlite(row) => row.columns().iter().map(|c| c.name()).collect(),
            #[cfg(feature = "postgres")]
            Row::Postgres(row) => row.columns().iter().map(|c| c.name()).collect(),
            #[cfg(feature = "mysql")]
            Row::MySql(row) => row.columns().iter().map(|c| c.name()).collect(),
        }
    }

    /// Whether the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads column `index` as `T`.
    pub fn get<T: crate::value::FieldType>(&self, index: usize) -> Result<T, OrmError> {
        T::decode(self, index)
    }
}
