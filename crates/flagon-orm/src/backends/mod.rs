//! The database handle: a connection pool for SQLite, PostgreSQL or
//! MySQL/MariaDB, chosen by the URL, and the dialect differences.

#[cfg(flagon_sqlx)]
use std::str::FromStr;
use std::time::Duration;

use sea_query::Values;

use crate::error::OrmError;
use crate::row::Row;

pub(crate) mod bind;
pub(crate) mod keys;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;

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
    /// The dialect a database URL names, by its scheme.
    ///
    /// ```
    /// use flagon_orm::Dialect;
    /// assert_eq!(Dialect::from_url("postgres://db/app"), Some(Dialect::Postgres));
    /// assert_eq!(Dialect::from_url("sqlite://db.sqlite3"), Some(Dialect::Sqlite));
    /// assert_eq!(Dialect::from_url("mariadb://db/app"), Some(Dialect::MySql));
    /// assert_eq!(Dialect::from_url("oracle://db"), None);
    /// ```
    pub fn from_url(url: &str) -> Option<Dialect> {
        let scheme = url.split(':').next()?.to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Some(Dialect::Sqlite),
            "postgres" | "postgresql" => Some(Dialect::Postgres),
            "mysql" | "mariadb" => Some(Dialect::MySql),
            _ => None,
        }
    }

    /// Whether DDL runs inside transactions (and so a failed migration
    /// leaves nothing behind).
    pub fn has_transactional_ddl(self) -> bool {
        !matches!(self, Dialect::MySql)
    }

    /// Whether every server of the dialect has `INSERT .. RETURNING` to
    /// report new keys: SQLite and PostgreSQL. Of MySQL and MariaDB, only
    /// MariaDB from 10.5 has it, which
    /// [`Connection::has_insert_returning`](crate::Connection::has_insert_returning)
    /// tells.
    pub fn has_returning(self) -> bool {
        !matches!(self, Dialect::MySql)
    }

    /// The backend's name, for messages: `SQLite`, `PostgreSQL` or
    /// `MySQL/MariaDB`.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "SQLite",
            Dialect::Postgres => "PostgreSQL",
            Dialect::MySql => "MySQL/MariaDB",
        }
    }

    /// The Cargo feature (of `flagon`, and of `flagon-orm`) that compiles
    /// the backend in: `sqlite`, `postgres` or `mysql`.
    pub fn feature(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
            Dialect::MySql => "mysql",
        }
    }

    /// Whether this build has the backend: its Cargo feature
    /// ([`Dialect::feature`]) is on. [`Db::connect`] refuses the URL of a
    /// backend left out, saying which feature to enable.
    pub fn is_available(self) -> bool {
        match self {
            Dialect::Sqlite => cfg!(feature = "sqlite"),
            Dialect::Postgres => cfg!(feature = "postgres"),
            Dialect::MySql => cfg!(feature = "mysql"),
        }
    }

    /// Why this build cannot use the backend, and what to do about it.
    #[cfg(not(all(feature = "sqlite", feature = "postgres", feature = "mysql")))]
    pub(crate) fn unavailable(self) -> String {
        format!(
            "this build of Flagon has no {} support: enable the `{}` feature of flagon \
             (or of flagon-orm, if the app depends on it directly)",
            self.name(),
            self.feature()
        )
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
    /// SQL run on every new connection once it is open (Django's MySQL
    /// `init_command`), after the driver's own session settings: for
    /// example `SET SESSION sql_mode = '..'` on MySQL, `SET search_path
    /// TO app` on PostgreSQL or a `PRAGMA` on SQLite. A connection it
    /// fails on is not used, and the error is the pool's. Default none:
    /// Flagon leaves the server's session settings alone. (On MySQL and
    /// MariaDB, sqlx adds `PIPES_AS_CONCAT` and `NO_ENGINE_SUBSTITUTION`
    /// to the server's `sql_mode`, and the server `IGNORE_SPACE` for the
    /// client's flags; it sets the time zone to UTC and the character set
    /// to `utf8mb4`. The ORM's queries hold under MySQL 8's default
    /// `sql_mode`, `ONLY_FULL_GROUP_BY` included.)
    pub init_command: Option<String>,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            init_command: None,
        }
    }
}

/// `pool` running `command` (a [`DbOptions::init_command`]) on each new
/// connection.
#[cfg(flagon_sqlx)]
fn with_init_command<DB: sqlx::Database>(
    pool: sqlx::pool::PoolOptions<DB>,
    command: Option<&str>,
) -> sqlx::pool::PoolOptions<DB>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    let Some(command) = command.map(str::to_owned) else {
        return pool;
    };
    pool.after_connect(move |conn, _meta| {
        tracing::debug!(target: "flagon::sql", "{command}");
        // The application's own configuration, run as it is.
        let sql = sqlx::raw_sql(sqlx::AssertSqlSafe(command.clone()));
        Box::pin(async move { sqlx::Executor::execute(conn, sql).await.map(|_| ()) })
    })
}

#[derive(Clone, Debug)]
enum Pool {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(postgres::Pool),
    #[cfg(feature = "mysql")]
    MySql(sqlx::MySqlPool),
    /// A build without any backend: no pool can exist.
    #[cfg(flagon_no_backend)]
    None(std::convert::Infallible),
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
    /// Whether the server has `INSERT .. RETURNING` (asked once, on connecting).
    insert_returning: bool,
    /// SQLite in memory: the pool's one connection is the database, so it
    /// is never closed on purpose.
    in_memory: bool,
}

/// A connection taken out of the pool for good (PostgreSQL, MySQL): a
/// session of its own, such as the migration lock's. Dropping it closes it.
pub(crate) enum Detached {
    /// PostgreSQL.
    #[cfg(feature = "postgres")]
    Postgres(deadpool_postgres::ClientWrapper),
    /// MySQL or MariaDB.
    #[cfg(feature = "mysql")]
    MySql(sqlx::MySqlConnection),
    /// A build without PostgreSQL and MySQL: nothing is ever detached.
    #[cfg(not(any(feature = "postgres", feature = "mysql")))]
    #[allow(dead_code)] // Never constructed: no value of it exists.
    None(std::convert::Infallible),
}

/// One pooled connection held by [`Db::connection`]; back to the pool
/// when dropped.
pub struct DbConnection {
    held: Held,
    insert_returning: bool,
}

enum Held {
    #[cfg(feature = "sqlite")]
    Sqlite(tokio::sync::Mutex<sqlx::pool::PoolConnection<sqlx::Sqlite>>),
    /// Used through `&`: tokio-postgres pipelines concurrent statements.
    #[cfg(feature = "postgres")]
    Postgres(postgres::Object),
    #[cfg(feature = "mysql")]
    MySql(tokio::sync::Mutex<sqlx::pool::PoolConnection<sqlx::MySql>>),
    /// A build without any backend: no connection can exist.
    #[cfg(flagon_no_backend)]
    None(std::convert::Infallible),
}

impl std::fmt::Debug for DbConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbConnection")
            .field("dialect", &crate::Connection::dialect(self))
            .finish_non_exhaustive()
    }
}

impl crate::Connection for DbConnection {
    fn dialect(&self) -> Dialect {
        match self.held {
            #[cfg(flagon_no_backend)]
            Held::None(never) => match never {},
            #[cfg(feature = "sqlite")]
            Held::Sqlite(_) => Dialect::Sqlite,
            #[cfg(feature = "postgres")]
            Held::Postgres(_) => Dialect::Postgres,
            #[cfg(feature = "mysql")]
            Held::MySql(_) => Dialect::MySql,
        }
    }

    fn has_insert_returning(&self) -> bool {
        self.insert_returning
    }

    fn in_transaction(&self) -> bool {
        false
    }

    fn fetch_all<'a>(
        &'a self,
        sql: &'a str,
        values: Values,
    ) -> futures_util::future::BoxFuture<'a, Result<Vec<Row>, OrmError>> {
        Box::pin(async move {
            match &self.held {
                #[cfg(flagon_no_backend)]
                Held::None(never) => match *never {},
                #[cfg(feature = "sqlite")]
                Held::Sqlite(conn) => {
                    sqlite::fetch_all(&mut **conn.lock().await, sql, values).await
                }
                #[cfg(feature = "postgres")]
                Held::Postgres(client) => postgres::fetch_all(client, sql, values).await,
                #[cfg(feature = "mysql")]
                Held::MySql(conn) => mysql::fetch_all(&mut **conn.lock().await, sql, values).await,
            }
        })
    }

    fn execute<'a>(
        &'a self,
        sql: &'a str,
        values: Values,
    ) -> futures_util::future::BoxFuture<'a, Result<Executed, OrmError>> {
        Box::pin(async move {
            match &self.held {
                #[cfg(flagon_no_backend)]
                Held::None(never) => match *never {},
                #[cfg(feature = "sqlite")]
                Held::Sqlite(conn) => sqlite::execute(&mut **conn.lock().await, sql, values).await,
                #[cfg(feature = "postgres")]
                Held::Postgres(client) => postgres::execute(client, sql, values).await,
                #[cfg(feature = "mysql")]
                Held::MySql(conn) => mysql::execute(&mut **conn.lock().await, sql, values).await,
            }
        })
    }

    fn execute_unprepared<'a>(
        &'a self,
        sql: &'a str,
    ) -> futures_util::future::BoxFuture<'a, Result<u64, OrmError>> {
        Box::pin(async move {
            match &self.held {
                #[cfg(flagon_no_backend)]
                Held::None(never) => match *never {},
                #[cfg(feature = "sqlite")]
                Held::Sqlite(conn) => {
                    sqlite::execute_unprepared(&mut **conn.lock().await, sql).await
                }
                #[cfg(feature = "postgres")]
                Held::Postgres(client) => postgres::execute_unprepared(client, sql).await,
                #[cfg(feature = "mysql")]
                Held::MySql(conn) => mysql::execute_unprepared(&mut **conn.lock().await, sql).await,
            }
        })
    }

    fn fetch_stream<'a>(
        &'a self,
        sql: String,
        values: Values,
    ) -> futures_util::stream::BoxStream<'a, Result<Row, OrmError>> {
        match &self.held {
            #[cfg(flagon_no_backend)]
            Held::None(never) => match *never {},
            #[cfg(feature = "postgres")]
            Held::Postgres(client) => {
                let client: &deadpool_postgres::ClientWrapper = client;
                postgres::fetch_stream(async move { Ok(client) }, sql, values)
            }
            // The rows of SQLite and MySQL come through the lock: read
            // them all, then hand them out.
            #[cfg(feature = "sqlite")]
            Held::Sqlite(_) => self.fetch_all_as_stream(sql, values),
            #[cfg(feature = "mysql")]
            Held::MySql(_) => self.fetch_all_as_stream(sql, values),
        }
    }
}

impl DbConnection {
    /// The rows of [`Connection::fetch_all`](crate::Connection::fetch_all),
    /// read all at once and handed out as a stream.
    #[cfg(flagon_sqlx)]
    fn fetch_all_as_stream(
        &self,
        sql: String,
        values: Values,
    ) -> futures_util::stream::BoxStream<'_, Result<Row, OrmError>> {
        use futures_util::StreamExt;
        futures_util::stream::once(
            async move { crate::Connection::fetch_all(self, &sql, values).await },
        )
        .flat_map(|result| {
            let rows: Vec<Result<Row, OrmError>> = match result {
                Ok(rows) => rows.into_iter().map(Ok).collect(),
                Err(err) => vec![Err(err)],
            };
            futures_util::stream::iter(rows)
        })
        .boxed()
    }
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
    /// acquire timeout is an [`OrmError::Unavailable`]; the URL of a backend
    /// this build leaves out (see [`Dialect::is_available`]) is an
    /// [`OrmError::InvalidUrl`] naming the Cargo feature to enable.
    pub async fn connect_with(url: &str, options: DbOptions) -> Result<Db, OrmError> {
        let invalid = |message: String| OrmError::InvalidUrl {
            url: redact(url),
            message,
        };
        let Some(dialect) = Dialect::from_url(url) else {
            return Err(invalid(
                "use sqlite://file, postgres://user@host/db or mysql://user@host/db".to_owned(),
            ));
        };
        match dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite => Db::connect_sqlite(url, options, invalid).await,
            #[cfg(feature = "postgres")]
            Dialect::Postgres => Ok(Db {
                pool: Pool::Postgres(postgres::connect(url, &options, invalid).await?),
                insert_returning: true,
                in_memory: false,
            }),
            #[cfg(feature = "mysql")]
            Dialect::MySql => Db::connect_mysql(url, options, invalid).await,
            #[cfg(not(feature = "sqlite"))]
            Dialect::Sqlite => Err(invalid(dialect.unavailable())),
            #[cfg(not(feature = "postgres"))]
            Dialect::Postgres => Err(invalid(dialect.unavailable())),
            #[cfg(not(feature = "mysql"))]
            Dialect::MySql => Err(invalid(dialect.unavailable())),
        }
    }

    /// [`Db::connect_with`] for a `sqlite:` URL.
    #[cfg(feature = "sqlite")]
    async fn connect_sqlite(
        url: &str,
        options: DbOptions,
        invalid: impl Fn(String) -> OrmError,
    ) -> Result<Db, OrmError> {
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
        let pool = with_init_command(
            sqlx::pool::PoolOptions::<sqlx::Sqlite>::new(),
            options.init_command.as_deref(),
        )
        .max_connections(max)
        .acquire_timeout(options.acquire_timeout);
        let pool = if in_memory {
            pool.min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            pool
        };
        Ok(Db {
            pool: Pool::Sqlite(pool.connect_with(connect).await?),
            insert_returning: true,
            in_memory,
        })
    }

    /// [`Db::connect_with`] for a `mysql:` or `mariadb:` URL.
    #[cfg(feature = "mysql")]
    async fn connect_mysql(
        url: &str,
        options: DbOptions,
        invalid: impl Fn(String) -> OrmError,
    ) -> Result<Db, OrmError> {
        let url = url.replacen("mariadb:", "mysql:", 1);
        let connect = sqlx::mysql::MySqlConnectOptions::from_str(&url)
            .map_err(|err| invalid(err.to_string()))?;
        let pool = with_init_command(
            sqlx::pool::PoolOptions::<sqlx::MySql>::new(),
            options.init_command.as_deref(),
        )
        .max_connections(options.max_connections)
        .acquire_timeout(options.acquire_timeout)
        .connect_with(connect)
        .await?;
        // MariaDB or MySQL, and which version: once per pool.
        let version: String = sqlx::query_scalar("SELECT VERSION()")
            .fetch_one(&pool)
            .await?;
        Ok(Db {
            pool: Pool::MySql(pool),
            insert_returning: keys::mysql_has_returning(&version),
            in_memory: false,
        })
    }

    /// The backend's dialect.
    pub fn dialect(&self) -> Dialect {
        match self.pool {
            #[cfg(flagon_no_backend)]
            Pool::None(never) => match never {},
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(_) => Dialect::Sqlite,
            #[cfg(feature = "postgres")]
            Pool::Postgres(_) => Dialect::Postgres,
            #[cfg(feature = "mysql")]
            Pool::MySql(_) => Dialect::MySql,
        }
    }

    /// Whether `INSERT .. RETURNING` reports new keys on this server: on
    /// SQLite and PostgreSQL, and on MariaDB from 10.5 (asked with
    /// `SELECT VERSION()` when the pool connected); not on MySQL.
    pub fn has_insert_returning(&self) -> bool {
        self.insert_returning
    }

    /// Closes every connection.
    pub async fn close(&self) {
        match &self.pool {
            #[cfg(flagon_no_backend)]
            Pool::None(never) => match *never {},
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => pool.close().await,
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => pool.close(),
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => pool.close().await,
        }
    }

    /// Runs SQL with bound values and returns the rows.
    pub async fn fetch_all(&self, sql: &str, values: Values) -> Result<Vec<Row>, OrmError> {
        match &self.pool {
            #[cfg(flagon_no_backend)]
            Pool::None(never) => match *never {},
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => sqlite::fetch_all(pool, sql, values).await,
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => {
                postgres::fetch_all(&*postgres::acquire(pool).await?, sql, values).await
            }
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => mysql::fetch_all(pool, sql, values).await,
        }
    }

    /// Runs SQL with bound values that returns no rows.
    pub async fn execute(&self, sql: &str, values: Values) -> Result<Executed, OrmError> {
        match &self.pool {
            #[cfg(flagon_no_backend)]
            Pool::None(never) => match *never {},
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => sqlite::execute(pool, sql, values).await,
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => {
                postgres::execute(&*postgres::acquire(pool).await?, sql, values).await
            }
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => mysql::execute(pool, sql, values).await,
        }
    }

    /// Runs SQL with bound values and streams the rows as the server sends
    /// them.
    pub fn fetch_stream(
        &self,
        sql: String,
        values: Values,
    ) -> futures_util::stream::BoxStream<'_, Result<Row, OrmError>> {
        match &self.pool {
            #[cfg(flagon_no_backend)]
            Pool::None(never) => match *never {},
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => sqlite::fetch_stream(pool, sql, values),
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => postgres::fetch_stream(postgres::acquire(pool), sql, values),
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => mysql::fetch_stream(pool, sql, values),
        }
    }

    /// Runs SQL without parameters (DDL and scripts).
    pub async fn execute_unprepared(&self, sql: &str) -> Result<u64, OrmError> {
        match &self.pool {
            #[cfg(flagon_no_backend)]
            Pool::None(never) => match *never {},
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => sqlite::execute_unprepared(pool, sql).await,
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => {
                postgres::execute_unprepared(&*postgres::acquire(pool).await?, sql).await
            }
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => mysql::execute_unprepared(pool, sql).await,
        }
    }

    /// SQLite: begins a transaction that takes the database's write lock
    /// at once (`BEGIN IMMEDIATE`), on a connection with foreign keys off
    /// (closed when the transaction ends, unless it is the one connection
    /// of an in-memory database). While another connection holds the
    /// lock (another `migrate`), it waits, however long that takes.
    /// Other backends begin an ordinary transaction.
    pub(crate) async fn begin_locked_without_foreign_keys(
        &self,
    ) -> Result<crate::transaction::Backend, OrmError> {
        match &self.pool {
            #[cfg(flagon_no_backend)]
            Pool::None(never) => match *never {},
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => self.begin_immediate_without_foreign_keys(pool).await,
            #[cfg(feature = "postgres")]
            Pool::Postgres(_) => self.begin().await,
            #[cfg(feature = "mysql")]
            Pool::MySql(_) => self.begin().await,
        }
    }

    /// [`Db::begin_locked_without_foreign_keys`] on SQLite.
    #[cfg(feature = "sqlite")]
    async fn begin_immediate_without_foreign_keys(
        &self,
        pool: &sqlx::SqlitePool,
    ) -> Result<crate::transaction::Backend, OrmError> {
        use crate::transaction::Backend;
        use sqlx::SqlSafeStr;
        let mut told = false;
        loop {
            let mut conn = pool.acquire().await?;
            if !self.in_memory {
                conn.close_on_drop();
            }
            sqlx::query("PRAGMA foreign_keys = OFF")
                .execute(&mut *conn)
                .await?;
            match sqlx::Transaction::begin(conn, Some("BEGIN IMMEDIATE".into_sql_str())).await {
                Ok(tx) => return Ok(Backend::Sqlite(tx)),
                // Each attempt waits out SQLite's busy timeout first.
                Err(err) if sqlite_busy(&err) => {
                    if !told {
                        tracing::info!(
                            target: "flagon::migrate",
                            "another connection holds the database's write lock \
                             (another migrate?); waiting for it"
                        );
                        told = true;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(err) => return Err(err.into()),
            }
        }
    }

    /// SQLite in memory: turns foreign keys back on for the pool's one
    /// connection after [`Db::begin_locked_without_foreign_keys`] (a
    /// file's connection was closed instead).
    pub(crate) async fn restore_foreign_keys(&self) -> Result<(), OrmError> {
        if self.in_memory {
            self.execute_unprepared("PRAGMA foreign_keys = ON").await?;
        }
        Ok(())
    }

    /// A connection of its own, outside the pool's count (PostgreSQL,
    /// MySQL); `None` on SQLite, where a session lock means nothing.
    pub(crate) async fn detach(&self) -> Result<Option<Detached>, OrmError> {
        Ok(match &self.pool {
            #[cfg(flagon_no_backend)]
            Pool::None(never) => match *never {},
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(_) => None,
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => Some(Detached::Postgres(postgres::detach(pool).await?)),
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => Some(Detached::MySql(pool.acquire().await?.detach())),
        })
    }

    /// Takes one connection out of the pool and holds it until the handle
    /// is dropped: a [`Connection`](crate::Connection) whose statements
    /// all run on it, in autocommit mode.
    ///
    /// On PostgreSQL, statements awaited together on the handle are
    /// pipelined on its one connection (sent without waiting for each
    /// other's answers), so independent queries cost about one round
    /// trip; on SQLite and MySQL/MariaDB they run one after another.
    ///
    /// ```no_run
    /// # use flagon_orm::{Model, OrmError};
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "bench")]
    /// # struct World { id: i64, random_number: i32 }
    /// # async fn demo(db: flagon_orm::Db) -> Result<(), OrmError> {
    /// let conn = db.connection().await?;
    /// let conn = &conn;
    /// let worlds = futures_util::future::try_join_all((1..=20).map(|id| async move {
    ///     World::objects().filter(World::ID.eq(id)).get(conn).await
    /// }))
    /// .await?;
    /// # let _ = worlds; Ok(()) }
    /// ```
    ///
    /// While it is held, the connection counts against
    /// [`DbOptions::max_connections`]; an in-memory SQLite database has
    /// only the one.
    pub async fn connection(&self) -> Result<DbConnection, OrmError> {
        let held = match &self.pool {
            #[cfg(flagon_no_backend)]
            Pool::None(never) => match *never {},
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => Held::Sqlite(tokio::sync::Mutex::new(pool.acquire().await?)),
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => Held::Postgres(postgres::acquire(pool).await?),
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => Held::MySql(tokio::sync::Mutex::new(pool.acquire().await?)),
        };
        Ok(DbConnection {
            held,
            insert_returning: self.insert_returning,
        })
    }

    /// Begins a transaction on a pooled connection (what
    /// [`Db::transaction`] runs first).
    pub(crate) async fn begin(&self) -> Result<crate::transaction::Backend, OrmError> {
        use crate::transaction::Backend;
        Ok(match &self.pool {
            #[cfg(flagon_no_backend)]
            Pool::None(never) => match *never {},
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => Backend::Sqlite(pool.begin().await?),
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => Backend::Postgres(std::sync::Arc::new(
                postgres::PgTransaction::begin(pool).await?,
            )),
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => Backend::MySql(pool.begin().await?),
        })
    }
}

/// Whether `err` is SQLite's "database is locked" (`SQLITE_BUSY`, or
/// `SQLITE_LOCKED`, with any extended code).
#[cfg(feature = "sqlite")]
fn sqlite_busy(err: &sqlx::Error) -> bool {
    let Some(code) = err.as_database_error().and_then(|db| db.code()) else {
        return false;
    };
    code.parse::<u32>()
        .is_ok_and(|code| matches!(code & 0xff, 5 | 6))
}

// Every SQL string reaching sqlx here was rendered by sea-query from model
// metadata with each value as a bound parameter, or is DDL or transaction
// control the ORM generated: hence `AssertSqlSafe`.

/// Statement runners for one backend, over any executor of it (a pool, or
/// the connection of a transaction).
#[cfg(flagon_sqlx)]
macro_rules! runners {
    ($module:ident, $db:ty, $row:ident, |$done:ident| $executed:expr) => {
        pub(crate) mod $module {
            use sea_query::Values;

            use super::{bind, Executed};
            use crate::error::OrmError;
            use crate::row::Row;

            /// Runs SQL with bound values and returns the rows.
            pub(crate) async fn fetch_all<'c, E>(
                executor: E,
                sql: &str,
                values: Values,
            ) -> Result<Vec<Row>, OrmError>
            where
                E: sqlx::Executor<'c, Database = $db>,
            {
                tracing::debug!(target: "flagon::sql", "{sql}");
                Ok(
                    bind::$module(sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())), values)?
                        .fetch_all(executor)
                        .await?
                        .into_iter()
                        .map(Row::$row)
                        .collect(),
                )
            }

            /// Runs SQL with bound values; the rows as they arrive.
            pub(crate) fn fetch_stream<'c, E>(
                executor: E,
                sql: String,
                values: Values,
            ) -> futures_util::stream::BoxStream<'c, Result<Row, OrmError>>
            where
                E: sqlx::Executor<'c, Database = $db> + 'c,
            {
                use futures_util::StreamExt;
                tracing::debug!(target: "flagon::sql", "{sql}");
                match bind::$module(sqlx::query(sqlx::AssertSqlSafe(sql)), values) {
                    Ok(query) => query
                        .fetch(executor)
                        .map(|row| row.map(Row::$row).map_err(OrmError::from))
                        .boxed(),
                    Err(err) => futures_util::stream::once(async move { Err(err) }).boxed(),
                }
            }

            /// Runs SQL with bound values that returns no rows.
            pub(crate) async fn execute<'c, E>(
                executor: E,
                sql: &str,
                values: Values,
            ) -> Result<Executed, OrmError>
            where
                E: sqlx::Executor<'c, Database = $db>,
            {
                tracing::debug!(target: "flagon::sql", "{sql}");
                let $done =
                    bind::$module(sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())), values)?
                        .execute(executor)
                        .await?;
                Ok($executed)
            }

            /// Runs SQL without parameters (DDL, scripts, savepoints).
            pub(crate) async fn execute_unprepared<'c, E>(
                executor: E,
                sql: &str,
            ) -> Result<u64, OrmError>
            where
                E: sqlx::Executor<'c, Database = $db>,
            {
                tracing::debug!(target: "flagon::sql", "{sql}");
                Ok(executor
                    .execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())))
                    .await?
                    .rows_affected())
            }
        }
    };
}

#[cfg(feature = "sqlite")]
runners!(sqlite, sqlx::Sqlite, Sqlite, |done| Executed {
    rows_affected: done.rows_affected(),
    last_insert_id: Some(done.last_insert_rowid()),
});
#[cfg(feature = "mysql")]
runners!(mysql, sqlx::MySql, MySql, |done| Executed {
    rows_affected: done.rows_affected(),
    last_insert_id: i64::try_from(done.last_insert_id()).ok(),
});

/// Renders a sea-query statement for `dialect`: `(sql, values)`. A
/// dialect this build has no backend for is refused (only a
/// [`Connection`](crate::Connection) implemented outside the ORM can
/// report one).
pub(crate) fn build<S: sea_query::QueryStatementWriter>(
    dialect: Dialect,
    statement: &S,
) -> Result<(String, Values), OrmError> {
    match dialect {
        #[cfg(feature = "sqlite")]
        Dialect::Sqlite => Ok(statement.build(sea_query::SqliteQueryBuilder)),
        #[cfg(feature = "postgres")]
        Dialect::Postgres => Ok(statement.build(sea_query::PostgresQueryBuilder)),
        #[cfg(feature = "mysql")]
        Dialect::MySql => Ok(statement.build(sea_query::MysqlQueryBuilder)),
        #[cfg(not(feature = "sqlite"))]
        Dialect::Sqlite => Err(unavailable(dialect)),
        #[cfg(not(feature = "postgres"))]
        Dialect::Postgres => Err(unavailable(dialect)),
        #[cfg(not(feature = "mysql"))]
        Dialect::MySql => Err(unavailable(dialect)),
    }
}

/// The error for a statement of a backend this build leaves out.
#[cfg(not(all(feature = "sqlite", feature = "postgres", feature = "mysql")))]
fn unavailable(dialect: Dialect) -> OrmError {
    OrmError::Configuration {
        message: dialect.unavailable(),
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
