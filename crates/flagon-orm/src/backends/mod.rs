//! The database handle: a connection pool for SQLite, PostgreSQL or
//! MySQL/MariaDB, chosen by the URL, and the dialect differences.

use std::str::FromStr;
use std::time::Duration;

use sea_query::Values;

use crate::error::OrmError;
use crate::row::Row;

mod bind;

/// The SQL dialect of a backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    MySql,
}

impl Dialect {
    /// Whether DDL runs inside transactions (and so a failed migration
    /// leaves nothing behind).
    pub fn has_transactional_ddl(self) -> bool {
        !matches!(self, Dialect::MySql)
    }

    /// Whether `INSERT .. RETURNING` reports the new key.
    pub fn has_returning(self) -> bool {
        !matches!(self, Dialect::MySql)
    }
}

/// Pool settings.
#[derive(Clone, Debug)]
pub struct DbOptions {
    /// Most connections open at once. Default 10.
    pub max_connections: u32,
    /// How long to wait for a free connection (or a database that is down)
    /// before giving up with [`OrmError::Unavailable`]. Default 5 s.
    pub acquire_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Clone, Debug)]
enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
    MySql(sqlx::MySqlPool),
}

/// A pooled database handle; cheap to clone.
///
/// ```no_run
/// # async fn demo() -> Result<(), flagon_orm::OrmError> {
/// let db = flagon_orm::Db::connect("sqlite://db.sqlite3").await?;
/// # let _ = db; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Db {
    pool: Pool,
}

/// What an insert, update or delete reported.
#[derive(Clone, Copy, Debug, Default)]
pub struct Executed {
    /// Rows changed.
    pub rows_affected: u64,
    /// The key of the inserted row, where the backend reports it this way (MySQL).
    pub last_insert_id: Option<i64>,
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl Db {
    /// Connects with the default pool settings. The URL picks the backend:
    /// `sqlite://path` (created if missing), `sqlite::memory:`,
    /// `postgres://..`, `mysql://..` or `mariadb://..`.
    pub async fn connect(url: &str) -> Result<Db, OrmError> {
        Db::connect_with(url, DbOptions::default()).await
    }

    /// Connects with `options`. A database that cannot be reached within the
    /// acquire timeout is an [`OrmError::Unavailable`].
    pub async fn connect_with(url: &str, options: DbOptions) -> Result<Db, OrmError> {
        let invalid = |message: String| OrmError::InvalidUrl {
            url: redact(url),
            message,
        };
        let scheme = url
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let pool = match scheme.as_str() {
            "sqlite" => {
                let connect = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                    .map_err(|err| invalid(err.to_string()))?
                    .create_if_missing(true)
                    .foreign_keys(true);
                // Every connection to `:memory:` is its own database: keep one.
                let in_memory = url.contains(":memory:") || url.contains("mode=memory");
                let max = if in_memory {
                    1
                } else {
                    options.max_connections
                };
                let pool = sqlx::pool::PoolOptions::<sqlx::Sqlite>::new()
                    .max_connections(max)
                    .acquire_timeout(options.acquire_timeout);
                let pool = if in_memory {
                    pool.min_connections(1)
                        .idle_timeout(None)
                        .max_lifetime(None)
                } else {
                    pool
                };
                Pool::Sqlite(pool.connect_with(connect).await?)
            }
            "postgres" | "postgresql" => {
                let connect = sqlx::postgres::PgConnectOptions::from_str(url)
                    .map_err(|err| invalid(err.to_string()))?;
                let pool = sqlx::pool::PoolOptions::<sqlx::Postgres>::new()
                    .max_connections(options.max_connections)
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(connect)
                    .await?;
                Pool::Postgres(pool)
            }
            "mysql" | "mariadb" => {
                let url = url.replacen("mariadb:", "mysql:", 1);
                let connect = sqlx::mysql::MySqlConnectOptions::from_str(&url)
                    .map_err(|err| invalid(err.to_string()))?;
                let pool = sqlx::pool::PoolOptions::<sqlx::MySql>::new()
                    .max_connections(options.max_connections)
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(connect)
                    .await?;
                Pool::MySql(pool)
            }
            _ => {
                return Err(invalid(
                    "use sqlite://file, postgres://user@host/db or mysql://user@host/db".to_owned(),
                ))
            }
        };
        Ok(Db { pool })
    }

    /// The backend's dialect.
    pub fn dialect(&self) -> Dialect {
        match self.pool {
            Pool::Sqlite(_) => Dialect::Sqlite,
            Pool::Postgres(_) => Dialect::Postgres,
            Pool::MySql(_) => Dialect::MySql,
        }
    }

    /// Closes every connection.
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
            Pool::MySql(pool) => pool.close().await,
        }
    }

    // Every SQL string reaching sqlx here was rendered by sea-query from
    // model metadata with each value as a bound parameter, or is DDL the
    // ORM generated: hence `AssertSqlSafe`.

    /// Runs SQL with bound values and returns the rows.
    pub async fn fetch_all(&self, sql: &str, values: Values) -> Result<Vec<Row>, OrmError> {
        tracing::debug!(target: "flagon::sql", "{sql}");
        Ok(match &self.pool {
            Pool::Sqlite(pool) => {
                bind::sqlite(sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())), values)?
                    .fetch_all(pool)
                    .await?
                    .into_iter()
                    .map(Row::Sqlite)
                    .collect()
            }
            Pool::Postgres(pool) => {
                bind::postgres(sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())), values)?
                    .fetch_all(pool)
                    .await?
                    .into_iter()
                    .map(Row::Postgres)
                    .collect()
            }
            Pool::MySql(pool) => {
                bind::mysql(sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())), values)?
                    .fetch_all(pool)
                    .await?
                    .into_iter()
                    .map(Row::MySql)
                    .collect()
            }
        })
    }

    /// Runs SQL with bound values that returns no rows.
    pub async fn execute(&self, sql: &str, values: Values) -> Result<Executed, OrmError> {
        tracing::debug!(target: "flagon::sql", "{sql}");
        Ok(match &self.pool {
            Pool::Sqlite(pool) => {
                let done = bind::sqlite(sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())), values)?
                    .execute(pool)
                    .await?;
                Executed {
                    rows_affected: done.rows_affected(),
                    last_insert_id: Some(done.last_insert_rowid()),
                }
            }
            Pool::Postgres(pool) => {
                let done =
                    bind::postgres(sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())), values)?
                        .execute(pool)
                        .await?;
                Executed {
                    rows_affected: done.rows_affected(),
                    last_insert_id: None,
                }
            }
            Pool::MySql(pool) => {
                let done = bind::mysql(sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())), values)?
                    .execute(pool)
                    .await?;
                Executed {
                    rows_affected: done.rows_affected(),
                    last_insert_id: i64::try_from(done.last_insert_id()).ok(),
                }
            }
        })
    }

    /// Runs SQL without parameters (DDL and scripts).
    pub async fn execute_unprepared(&self, sql: &str) -> Result<u64, OrmError> {
        use sqlx::Executor as _;
        tracing::debug!(target: "flagon::sql", "{sql}");
        Ok(match &self.pool {
            Pool::Sqlite(pool) => pool
                .execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())))
                .await?
                .rows_affected(),
            Pool::Postgres(pool) => pool
                .execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())))
                .await?
                .rows_affected(),
            Pool::MySql(pool) => pool
                .execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())))
                .await?
                .rows_affected(),
        })
    }

    /// Renders a sea-query statement for this backend: `(sql, values)`.
    pub(crate) fn build<S: sea_query::QueryStatementWriter>(
        &self,
        statement: &S,
    ) -> (String, Values) {
        match self.dialect() {
            Dialect::Sqlite => statement.build(sea_query::SqliteQueryBuilder),
            Dialect::Postgres => statement.build(sea_query::PostgresQueryBuilder),
            Dialect::MySql => statement.build(sea_query::MysqlQueryBuilder),
        }
    }

    /// Renders a schema statement for this backend.
    pub(crate) fn build_schema<S: sea_query::SchemaStatementBuilder>(
        &self,
        statement: &S,
    ) -> String {
        match self.dialect() {
            Dialect::Sqlite => statement.build(sea_query::SqliteQueryBuilder),
            Dialect::Postgres => statement.build(sea_query::PostgresQueryBuilder),
            Dialect::MySql => statement.build(sea_query::MysqlQueryBuilder),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://app:s3cret@db/app"),
            "postgres://app:***@db/app"
        );
        assert_eq!(redact("postgres://app@db/app"), "postgres://app@db/app");
        assert_eq!(redact("sqlite://db.sqlite3"), "sqlite://db.sqlite3");
    }
}
