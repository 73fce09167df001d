//! Test databases: every test runs on SQLite, and on PostgreSQL and
//! MySQL/MariaDB when `FLAGON_TEST_POSTGRES_URL` / `FLAGON_TEST_MYSQL_URL`
//! are set. Each run gets a database of its own, dropped afterwards (even
//! when the test panics). Under `CI`, a missing server URL is a failure.

#![allow(dead_code)]

use std::future::Future;
use std::panic::AssertUnwindSafe;

use flagon_orm::{Db, DbOptions};
use futures_util::FutureExt;

/// The backends to test on: `(name, admin URL)`.
fn backends() -> Vec<(&'static str, Option<String>)> {
    let mut backends = vec![("sqlite", None)];
    for (name, variable) in [
        ("postgres", "FLAGON_TEST_POSTGRES_URL"),
        ("mysql", "FLAGON_TEST_MYSQL_URL"),
    ] {
        match std::env::var(variable) {
            Ok(url) if !url.is_empty() => backends.push((name, Some(url))),
            _ if std::env::var_os("CI").is_some() => {
                panic!("{variable} is not set: under CI every backend must be tested")
            }
            _ => eprintln!("note: {variable} is not set; skipping the {name} backend"),
        }
    }
    backends
}

/// A fresh database on one backend.
pub struct TestDb {
    /// Which backend: "sqlite", "postgres" or "mysql".
    pub backend: &'static str,
    /// The connection to the fresh database.
    pub db: Db,
    /// Its URL, to open more pools on it.
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
        let options = DbOptions {
            max_connections: 4,
            ..DbOptions::default()
        };
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
    for (backend, admin_url) in backends() {
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
