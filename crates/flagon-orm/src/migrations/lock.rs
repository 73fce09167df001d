//! The migration lock on PostgreSQL and MySQL/MariaDB: a session lock
//! (`pg_advisory_lock`, `GET_LOCK`) taken on a connection of its own and
//! held while the plan is read and applied, so that replicas that all run
//! `migrate` at start apply each migration once. On SQLite the lock is the
//! migration transaction itself (`BEGIN IMMEDIATE`), see the executor.
//!
//! The lock belongs to the session: if the process dies, the server ends
//! the session and the lock goes with it.

#[cfg(any(feature = "postgres", feature = "mysql"))]
use crate::backends;
use crate::backends::{Db, Detached};
use crate::error::OrmError;

use super::error::MigrationError;

/// The PostgreSQL advisory lock key: "flagon" in ASCII, then "mi". Advisory
/// locks are per database, so databases on one server do not contend.
#[cfg(feature = "postgres")]
const POSTGRES_KEY: i64 = 0x666c_6167_6f6e_6d69;

/// The MySQL lock name. `GET_LOCK` names are server-wide and at most 64
/// characters, so the database's name is folded into a hash.
#[cfg(feature = "mysql")]
const MYSQL_NAME: &str = "CONCAT('flagon_migrate:', MD5(COALESCE(DATABASE(), '')))";

/// How long one `GET_LOCK` call waits before the wait is logged again.
#[cfg(feature = "mysql")]
const MYSQL_WAIT_SECONDS: i64 = 60;

/// A held migration lock. Release it with [`MigrationLock::release`];
/// dropping it closes its connection, which releases it too.
pub(crate) struct MigrationLock {
    conn: Detached,
}

impl MigrationLock {
    /// Takes the lock of `db`'s database, waiting while another process
    /// holds it. `None` on SQLite.
    pub(crate) async fn acquire(db: &Db) -> Result<Option<MigrationLock>, MigrationError> {
        let Some(mut conn) = db.detach().await? else {
            return Ok(None);
        };
        let mut told = false;
        loop {
            if try_lock(&mut conn, told).await? {
                return Ok(Some(MigrationLock { conn }));
            }
            tracing::info!(
                target: "flagon::migrate",
                "another process holds the migration lock (another migrate?); waiting for it"
            );
            told = true;
        }
    }

    /// Releases the lock and closes its connection. A failure is only
    /// logged: closing the connection releases the lock anyway.
    pub(crate) async fn release(self) {
        if let Err(err) = unlock(self.conn).await {
            tracing::warn!(
                target: "flagon::migrate",
                "releasing the migration lock: {err} (closing the connection releases it)"
            );
        }
    }
}

/// One attempt at the lock on `conn`: whether it was taken. Once `wait`
/// is set (the lock was found taken already), it waits for the lock (on
/// MySQL for at most `MYSQL_WAIT_SECONDS`).
#[cfg_attr(
    not(any(feature = "postgres", feature = "mysql")),
    allow(unused_variables)
)]
async fn try_lock(conn: &mut Detached, wait: bool) -> Result<bool, MigrationError> {
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    let failed = |err: OrmError| {
        MigrationError::invalid(format!("could not take the migration lock: {err}"))
    };
    match conn {
        #[cfg(not(any(feature = "postgres", feature = "mysql")))]
        Detached::None(never) => match *never {},
        #[cfg(feature = "postgres")]
        Detached::Postgres(conn) => {
            let sql = if wait {
                "SELECT TRUE FROM (SELECT pg_advisory_lock($1)) AS taken"
            } else {
                "SELECT pg_try_advisory_lock($1)"
            };
            let values = sea_query::Values(vec![POSTGRES_KEY.into()]);
            let rows = backends::postgres::fetch_all(conn, sql, values)
                .await
                .map_err(failed)?;
            Ok(rows.first().and_then(|row| row.get::<bool>(0).ok()) == Some(true))
        }
        #[cfg(feature = "mysql")]
        Detached::MySql(conn) => {
            // 1 taken, 0 timed out, NULL an error (such as no database).
            let sql = format!("SELECT CAST(GET_LOCK({MYSQL_NAME}, ?) AS SIGNED)");
            let wait = if wait { MYSQL_WAIT_SECONDS } else { 0 };
            let values = sea_query::Values(vec![wait.into()]);
            let rows = backends::mysql::fetch_all(&mut *conn, &sql, values)
                .await
                .map_err(failed)?;
            match rows.first().map(|row| row.get::<Option<i64>>(0)) {
                Some(Ok(Some(1))) => Ok(true),
                Some(Ok(Some(_))) => Ok(false),
                _ => Err(MigrationError::invalid(
                    "could not take the migration lock: GET_LOCK returned NULL \
                     (is a database selected in the URL?)",
                )),
            }
        }
    }
}

/// Releases the lock held on `conn` and closes it.
async fn unlock(conn: Detached) -> Result<(), OrmError> {
    match conn {
        #[cfg(not(any(feature = "postgres", feature = "mysql")))]
        Detached::None(never) => match never {},
        #[cfg(feature = "postgres")]
        Detached::Postgres(conn) => {
            let values = sea_query::Values(vec![POSTGRES_KEY.into()]);
            let unlocked =
                backends::postgres::fetch_all(&conn, "SELECT pg_advisory_unlock($1)", values).await;
            // Dropping the client ends its session.
            drop(conn);
            unlocked.map(drop)
        }
        #[cfg(feature = "mysql")]
        Detached::MySql(mut conn) => {
            use sqlx::Connection as _;
            let sql = format!("SELECT RELEASE_LOCK({MYSQL_NAME})");
            let unlocked =
                backends::mysql::fetch_all(&mut conn, &sql, sea_query::Values(Vec::new())).await;
            let closed = conn.close().await.map_err(OrmError::from);
            unlocked.and(closed)
        }
    }
}
