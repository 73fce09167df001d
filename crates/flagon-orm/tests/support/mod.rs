//! Test databases: every test runs on SQLite, and on PostgreSQL and
//! MySQL/MariaDB when `FLAGON_TEST_POSTGRES_URL` / `FLAGON_TEST_MYSQL_URL`
//! are set. Each run gets a database of its own, dropped afterwards (even
//! when the test panics). Under `CI`, a missing server URL is a failure.
//! A backend whose feature (`sqlite`, `postgres`, `mysql`) is off is
//! skipped.

#![allow(dead_code)]

use std::future::Future;
use std::panic::AssertUnwindSafe;

use flagon_orm::{Db, DbOptions};
use futures_util::FutureExt;

/// The backends to test on: `(name, admin URL)`. A backend whose Cargo
/// feature is off is left out (compiled out on purpose, so not a failure
/// under CI either), with a note.
fn backends() -> Vec<(&'static str, Option<String>)> {
    let mut backends = Vec::new();
    let mut skipped = Vec::new();
    if cfg!(feature = "sqlite") {
        backends.push(("sqlite", None));
    } else {
        skipped.push("sqlite (its feature is off)".to_owned());
    }
    for (name, variable, compiled) in [
        (
            "postgres",
            "FLAGON_TEST_POSTGRES_URL",
            cfg!(feature = "postgres"),
        ),
        ("mysql", "FLAGON_TEST_MYSQL_URL", cfg!(feature = "mysql")),
    ] {
        if !compiled {
            skipped.push(format!("{name} (its feature is off)"));
            continue;
        }
        match std::env::var(variable) {
            Ok(url) if !url.is_empty() => backends.push((name, Some(url))),
            _ if std::env::var_os("CI").is_some() => {
                panic!("{variable} is not set: under CI every backend must be tested")
            }
            _ => skipped.push(format!("{name} ({variable} is not set)")),
        }
    }
    if !skipped.is_empty() {
        say_once(&format!(
            "note: these database tests SKIPPED the backends {}; set the variables \
             (and enable the features) to test them",
            skipped.join(", ")
        ));
    }
    backends
}

/// Writes `line` once per test binary, past the test harness's capture
/// (which swallows `eprintln!` in passing tests), so a run that skipped a
/// backend says so in its output.
fn say_once(line: &str) {
    use std::io::Write;
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| {
        let _ = writeln!(std::io::stderr(), "\n{line}");
    });
}

/// Drops the test databases a killed run left behind on the server at
/// `admin` (named `flagon_test_<pid>_..` for a process that is gone), once
/// per test binary and backend.
async fn drop_leftovers(backend: &'static str, admin: &Db) {
    static DONE: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    {
        let mut done = DONE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if done.contains(&backend) {
            return;
        }
        done.push(backend);
    }
    let list = if backend == "postgres" {
        "SELECT datname FROM pg_database WHERE datname LIKE 'flagon_test_%'"
    } else {
        "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'flagon_test_%'"
    };
    let Ok(rows) = admin.fetch_all(list, flagon_orm::Values(Vec::new())).await else {
        return;
    };
    for row in rows {
        let Ok(name) = row.get::<String>(0) else {
            continue;
        };
        if leftover(&name) {
            let force = if backend == "postgres" {
                " WITH (FORCE)"
            } else {
                ""
            };
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}{force}"))
                .await;
        }
    }
}

/// Whether test database `name` belongs to a process that has ended.
fn leftover(name: &str) -> bool {
    let Some(pid) = name
        .strip_prefix("flagon_test_")
        .and_then(|rest| rest.split('_').next())
        .and_then(|pid| pid.parse::<u32>().ok())
    else {
        return false;
    };
    pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// MySQL 8's default `sql_mode`, with what sqlx adds on connecting:
/// `PIPES_AS_CONCAT` (its `SET sql_mode`; `NO_ENGINE_SUBSTITUTION` is
/// among the defaults) and `IGNORE_SPACE` (the server sets it for sqlx's
/// `CLIENT_IGNORE_SPACE` capability). The MySQL-protocol test server is
/// MariaDB, whose own default lacks `ONLY_FULL_GROUP_BY`,
/// `NO_ZERO_IN_DATE` and `NO_ZERO_DATE`: every test session runs under
/// this instead, so that the ORM's queries are checked against MySQL 8's
/// rules. MariaDB applies `ONLY_FULL_GROUP_BY` to `GROUP BY` at least as
/// strictly (it does not see columns that depend on a grouped primary
/// key), but not to `SELECT DISTINCT .. ORDER BY` (MySQL 8's error 3065),
/// which the PostgreSQL runs check instead.
pub const MYSQL8_SQL_MODE: &str = "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,\
NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,PIPES_AS_CONCAT,IGNORE_SPACE";

/// The pool settings of the test databases on `backend`: a few
/// connections, and on MySQL/MariaDB the session `sql_mode` of MySQL 8
/// ([`MYSQL8_SQL_MODE`]).
pub fn db_options(backend: &str) -> DbOptions {
    DbOptions {
        max_connections: 4,
        init_command: (backend == "mysql")
            .then(|| format!("SET SESSION sql_mode = '{MYSQL8_SQL_MODE}'")),
        ..DbOptions::default()
    }
}

/// A fresh database on one backend.
pub struct TestDb {
    /// Which backend: "sqlite", "postgres" or "mysql".
    pub backend: &'static str,
    /// The connection to the fresh database.
    pub db: Db,
    /// Its URL, to open more pools on it (with [`db_options`]).
    pub url: String,
    admin_url: Option<String>,
    name: String,
    _dir: Option<tempfile::TempDir>,
}

fn unique_name() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "flagon_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

impl TestDb {
    async fn create(backend: &'static str, admin_url: Option<String>) -> TestDb {
        let name = unique_name();
        let options = db_options(backend);
        match &admin_url {
            None => {
                let dir = tempfile::tempdir().expect("a temporary folder");
                let url = format!("sqlite://{}", dir.path().join("test.sqlite3").display());
                let db = Db::connect_with(&url, options).await.expect("SQLite opens");
                TestDb {
                    backend,
                    db,
                    url,
                    admin_url,
                    name,
                    _dir: Some(dir),
                }
            }
            Some(admin) => {
                let admin_db = Db::connect(admin)
                    .await
                    .unwrap_or_else(|err| panic!("{backend} at {admin}: {err}"));
                drop_leftovers(backend, &admin_db).await;
                admin_db
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .unwrap_or_else(|err| panic!("creating the {backend} test database: {err}"));
                admin_db.close().await;
                let url = with_database(admin, &name);
                let db = Db::connect_with(&url, options).await.unwrap_or_else(|err| {
                    panic!("connecting to the {backend} test database: {err}")
                });
                TestDb {
                    backend,
                    db,
                    url,
                    admin_url,
                    name,
                    _dir: None,
                }
            }
        }
    }

    async fn drop_database(self) {
        self.db.close().await;
        if let Some(admin) = &self.admin_url {
            if let Ok(admin_db) = Db::connect(admin).await {
                let force = if self.backend == "postgres" {
                    " WITH (FORCE)"
                } else {
                    ""
                };
                let _ = admin_db
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {}{force}", self.name))
                    .await;
                admin_db.close().await;
            }
        }
    }
}

/// Runs `test` once per backend, each time on a fresh database that is
/// dropped afterwards; a panic is re-raised after the cleanup, naming the
/// backend.
pub async fn on_each_backend<F, Fut>(test: F)
where
    F: Fn(TestDb) -> Fut,
    Fut: Future<Output = TestDb>,
{
    on_backends(&["sqlite", "postgres", "mysql"], test).await;
}

/// [`on_each_backend`] for a test that only applies to some backends
/// (what it checks does not exist on the others, as row locks on SQLite).
pub async fn on_backends<F, Fut>(only: &[&str], test: F)
where
    F: Fn(TestDb) -> Fut,
    Fut: Future<Output = TestDb>,
{
    for (backend, admin_url) in backends() {
        if !only.contains(&backend) {
            continue;
        }
        let test_db = TestDb::create(backend, admin_url.clone()).await;
        let name = test_db.name.clone();
        let outcome = AssertUnwindSafe(test(test_db)).catch_unwind().await;
        match outcome {
            Ok(test_db) => test_db.drop_database().await,
            Err(panic) => {
                // The database moved into the test: drop it by name.
                if let Some(admin) = admin_url {
                    if let Ok(admin_db) = Db::connect(&admin).await {
                        let force = if backend == "postgres" {
                            " WITH (FORCE)"
                        } else {
                            ""
                        };
                        let _ = admin_db
                            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}{force}"))
                            .await;
                    }
                }
                eprintln!("the test failed on the {backend} backend");
                std::panic::resume_unwind(panic);
            }
        }
    }
}
