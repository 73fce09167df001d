//! `migrate --fake` and `--fake-initial` (issue 11, item 12) on every
//! backend: recording without running, and adopting tables made outside
//! Flagon (the TechEmpower `world` and `fortune`).

mod support;

use flagon_orm::migrations::prelude::*;
use flagon_orm::migrations::{
    applied, migrate, migrate_with, table_exists, MigrateOptions, MigrationGraph, Progress, Target,
};
use support::on_each_backend;

fn initial() -> Migration {
    Migration::new("tfb", "0001_initial")
        .operation(Operation::create_model(
            ModelState::new("tfb", "Fortune", "fortune")
                .field(FieldState::new("id", FieldKind::Integer).primary_key())
                .field(FieldState::new("message", FieldKind::String).max_length(2048)),
        ))
        .operation(Operation::create_model(
            ModelState::new("tfb", "World", "world")
                .field(FieldState::new("id", FieldKind::Integer).primary_key())
                .field(FieldState::new("random_number", FieldKind::Integer).column("randomnumber")),
        ))
}

fn rank() -> Migration {
    Migration::new("tfb", "0002_world_rank")
        .depends_on("tfb", "0001_initial")
        .operation(Operation::add_field(
            "World",
            FieldState::new("rank", FieldKind::Integer).default(3),
        ))
}

fn graph() -> MigrationGraph {
    MigrationGraph::new([initial(), rank()]).expect("a graph")
}

fn names(keys: &std::collections::BTreeSet<(String, String)>) -> Vec<&str> {
    keys.iter().map(|(_, name)| name.as_str()).collect()
}

#[tokio::test]
async fn fake_records_without_running_and_unrecords_backwards() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let graph = graph();
        let mut faked = Vec::new();
        migrate_with(
            &t.db,
            &graph,
            &Target::All,
            MigrateOptions::new().fake(),
            |progress| {
                if let Progress::Faked(key, _) = progress {
                    faked.push(key.1);
                }
            },
        )
        .await
        .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(faked, ["0001_initial", "0002_world_rank"], "{b}");
        let done = applied(&t.db).await.expect("applied");
        assert_eq!(names(&done), ["0001_initial", "0002_world_rank"], "{b}");
        assert!(
            !table_exists(&t.db, "world").await.expect("a query"),
            "{b}: nothing ran"
        );

        // Backwards: the record goes, nothing runs (there is no table to drop).
        migrate_with(
            &t.db,
            &graph,
            &Target::Zero("tfb".into()),
            MigrateOptions::new().fake(),
            |_| {},
        )
        .await
        .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert!(applied(&t.db).await.expect("applied").is_empty(), "{b}");
        migrate(&t.db, &graph, &Target::All, |_| {})
            .await
            .unwrap_or_else(|err| panic!("{b}: a real run after the fake ones: {err}"));
        assert!(table_exists(&t.db, "world").await.expect("a query"), "{b}");
        t
    })
    .await;
}

#[tokio::test]
async fn fake_initial_adopts_existing_tables_and_applies_the_rest() {
    on_each_backend(|t| async move {
        let b = t.backend;
        // The benchmark's own scripts made these (note the column's case).
        for sql in [
            "CREATE TABLE world (id integer NOT NULL PRIMARY KEY, randomNumber integer NOT NULL DEFAULT 0)",
            "CREATE TABLE fortune (id integer NOT NULL PRIMARY KEY, message varchar(2048) NOT NULL)",
            "INSERT INTO world (id, randomNumber) VALUES (1, 42)",
        ] {
            t.db.execute_unprepared(sql).await.expect("the outside schema");
        }
        let graph = graph();
        // Without --fake-initial, creating the tables fails.
        assert!(
            migrate(&t.db, &graph, &Target::All, |_| {}).await.is_err(),
            "{b}: the tables exist"
        );
        let mut report = Vec::new();
        migrate_with(
            &t.db,
            &graph,
            &Target::All,
            MigrateOptions::new().fake_initial(),
            |progress| match progress {
                Progress::Faked(key, _) => report.push(format!("faked {}", key.1)),
                Progress::Done(key, _) => report.push(format!("applied {}", key.1)),
                _ => {}
            },
        )
        .await
        .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(report, ["faked 0001_initial", "applied 0002_world_rank"], "{b}");
        let rows = t
            .db
            .fetch_all(
                "SELECT randomnumber, rank FROM world",
                sea_query::Values(Vec::new()),
            )
            .await
            .expect("the row");
        assert_eq!(rows[0].get::<i32>(0).expect("a number"), 42, "{b}");
        assert_eq!(rows[0].get::<i32>(1).expect("a number"), 3, "{b}");
        t
    })
    .await;
}

#[tokio::test]
async fn fake_initial_runs_the_migration_when_a_table_or_column_is_missing() {
    on_each_backend(|t| async move {
        let b = t.backend;
        // `world` lacks its number column: not the schema of 0001.
        t.db.execute_unprepared("CREATE TABLE world (id integer NOT NULL PRIMARY KEY)")
            .await
            .expect("a table");
        t.db.execute_unprepared(
            "CREATE TABLE fortune (id integer NOT NULL PRIMARY KEY, message varchar(2048) NOT NULL)",
        )
        .await
        .expect("a table");
        let err = migrate_with(
            &t.db,
            &graph(),
            &Target::All,
            MigrateOptions::new().fake_initial(),
            |_| {},
        )
        .await
        .expect_err("0001 runs, and finds its tables there");
        assert!(err.to_string().contains("0001_initial"), "{b}: {err}");
        assert!(applied(&t.db).await.expect("applied").is_empty(), "{b}");

        // No table at all: 0001 runs as usual.
        t.db.execute_unprepared("DROP TABLE world").await.expect("drop");
        t.db.execute_unprepared("DROP TABLE fortune").await.expect("drop");
        let mut faked = false;
        migrate_with(
            &t.db,
            &graph(),
            &Target::All,
            MigrateOptions::new().fake_initial(),
            |progress| faked |= matches!(progress, Progress::Faked(..)),
        )
        .await
        .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert!(!faked, "{b}");
        assert!(table_exists(&t.db, "world").await.expect("a query"), "{b}");
        t
    })
    .await;
}

#[tokio::test]
async fn a_table_exists_exactly_when_the_database_finds_it_by_that_name() {
    // A table made outside Flagon with capitals (TechEmpower's `World`):
    // SQLite finds it by any case, PostgreSQL folds the unquoted name to
    // lower case (and Flagon quotes its names), MariaDB on Linux keeps
    // names apart by case. Whatever the database does, `table_exists`
    // (what `--fake-initial` asks) must agree with Flagon's own quoted
    // reads.
    on_each_backend(|t| async move {
        let b = t.backend;
        t.db.execute_unprepared("CREATE TABLE Shouty (id INTEGER)")
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        for name in ["Shouty", "shouty", "SHOUTY"] {
            let found = flagon_orm::migrations::table_exists(&t.db, name)
                .await
                .unwrap_or_else(|err| panic!("{b}: {err}"));
            let readable =
                t.db.execute_unprepared(&if b == "mysql" {
                    format!("SELECT id FROM `{name}`")
                } else {
                    format!("SELECT id FROM \"{name}\"")
                })
                .await
                .is_ok();
            assert_eq!(found, readable, "{b}: {name}");
        }
        t
    })
    .await;
}
