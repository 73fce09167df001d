//! Rows read from any of the backends.

use sqlx::{Row as _, ValueRef as _};

use crate::error::OrmError;

/// One result row, from whichever backend answered.
#[derive(Debug)]
#[non_exhaustive]
pub enum Row {
    /// A SQLite row.
    Sqlite(sqlx::sqlite::SqliteRow),
    /// A PostgreSQL row.
    Postgres(tokio_postgres::Row),
    /// A MySQL or MariaDB row.
    MySql(sqlx::mysql::MySqlRow),
}

impl Row {
    /// Whether column `index` is NULL.
    pub fn is_null(&self, index: usize) -> Result<bool, OrmError> {
        let null = match self {
            Row::Sqlite(row) => row.try_get_raw(index).map(|v| v.is_null()),
            Row::Postgres(row) => return crate::backends::postgres::is_null(row, index),
            Row::MySql(row) => row.try_get_raw(index).map(|v| v.is_null()),
        };
        null.map_err(|err| OrmError::Decode {
            column: index.to_string(),
            message: err.to_string(),
        })
    }

    /// How many columns the row has.
    pub fn len(&self) -> usize {
        match self {
            Row::Sqlite(row) => row.len(),
            Row::Postgres(row) => row.len(),
            Row::MySql(row) => row.len(),
        }
    }

    /// The names of the columns, in order.
    pub fn column_names(&self) -> Vec<&str> {
        use sqlx::Column as _;
        match self {
            Row::Sqlite(row) => row.columns().iter().map(|c| c.name()).collect(),
            Row::Postgres(row) => row.columns().iter().map(|c| c.name()).collect(),
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
