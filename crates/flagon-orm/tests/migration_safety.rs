//! Migrations a team can run in production: two replicas migrating at
//! once apply each migration once; SQLite table rebuilds never cascade;
//! MySQL/MariaDB alter paths around foreign keys apply with rows kept.

mod support;

use std::time::Duration;

use flagon_orm::migrations::prelude::*;
use flagon_orm::migrations::{
    applied, detect_changes, migrate, migration_sql, Direction, GivenAnswers, MigrationGraph,
    ProjectState, Target,
};
use flagon_orm::{Db, Dialect};
use support::{on_backends, on_each_backend};

async fn ints(db: &Db, sql: &str) -> Vec<i64> {
    db.fetch_all(sql, sea_query::Values(Vec::new()))
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"))
        .iter()
        .map(|row| match row.get::<i64>(0) {
            Ok(value) => value,
            Err(_) => i64::from(row.get::<i32>(0).expect("an integer")),
        })
        .collect()
}

async fn strings(db: &Db, sql: &str) -> Vec<String> {
    db.fetch_all(sql, sea_query::Values(Vec::new()))
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"))
        .iter()
        .map(|row| row.get::<String>(0).expect("a string"))
        .collect()
}

async fn run(db: &Db, graph: &MigrationGraph, target: Target, b: &str) {
    migrate(db, graph, &target, |_| {})
        .await
        .unwrap_or_else(|err| panic!("{b}: migrating to {target:?}: {err}"));
}

fn id(kind: FieldKind) -> FieldState {
    FieldState::new("id", kind).primary_key().auto()
}

// ---------------------------------------------------------------------
// 11: a migration lock, and (app, name) recorded once.

fn race_0001() -> Migration {
    Migration::new("race", "0001_initial").operation(Operation::create_model(
        ModelState::new("race", "Log", "race_log")
            .field(id(FieldKind::BigInteger))
            .field(FieldState::new("note", FieldKind::String).max_length(50)),
    ))
}

/// Gives the other migrator time to start while this one runs.
fn pause(_: HistoricalApps<'_>) -> BoxFuture<'_, Result<(), OrmError>> {
    Box::pin(async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        Ok(())
    })
}

fn race_0002() -> Migration {
    Migration::new("race", "0002_data")
        .depends_on("race", "0001_initial")
        .operation(Operation::run_sql(
            "INSERT INTO race_log (note) VALUES ('second')",
        ))
        .operation(Operation::run_rust(pause))
}

fn race_0003() -> Migration {
    Migration::new("race", "0003_more")
        .depends_on("race", "0002_data")
        .operation(Operation::add_field(
            "Log",
            FieldState::new("level", FieldKind::Integer).default(0),
        ))
        .operation(Operation::run_sql(
            "INSERT INTO race_log (note) VALUES ('third')",
        ))
}

fn race_graph() -> MigrationGraph {
    MigrationGraph::new([race_0001(), race_0002(), race_0003()]).expect("graph")
}

#[tokio::test]
async fn two_migrators_at_once_apply_each_migration_once() {
    on_each_backend(|t| async move {
        let b = t.backend;
        // A second replica: a pool of its own on the same database.
        let other = Db::connect_with(&t.url, support::db_options(b))
            .await
            .unwrap_or_else(|err| panic!("{b}: a second pool: {err}"));
        let graph = race_graph();
        let (first, second) = tokio::join!(
            migrate(&t.db, &graph, &Target::All, |_| {}),
            migrate(&other, &graph, &Target::All, |_| {}),
        );
        let first = first.unwrap_or_else(|err| panic!("{b}: the first migrator: {err}"));
        let second = second.unwrap_or_else(|err| panic!("{b}: the second migrator: {err}"));
        let mut names: Vec<String> = first
            .iter()
            .chain(&second)
            .map(|((_, name), _)| name.clone())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["0001_initial", "0002_data", "0003_more"],
            "{b}: each migration applied by exactly one migrator"
        );
        assert_eq!(
            strings(&t.db, "SELECT note FROM race_log ORDER BY id").await,
            ["second", "third"],
            "{b}: each data step ran once"
        );
        assert_eq!(
            ints(&t.db, "SELECT count(*) FROM flagon_migrations").await,
            [3],
            "{b}"
        );
        // Nothing is left to do, for either.
        assert!(migrate(&other, &graph, &Target::All, |_| {})
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"))
            .is_empty());
        other.close().await;
        t
    })
    .await;
}

#[tokio::test]
async fn an_existing_migrations_table_gets_its_unique_key() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let db = &t.db;
        let graph = race_graph();
        run(db, &graph, Target::Named("race".into(), "0001".into()), b).await;
        // The table as earlier versions made it: no unique (app, name), and
        // a migration recorded twice by two runs at once.
        let drop = match b {
            "mysql" => "DROP INDEX flagon_migrations_app_name_uniq ON flagon_migrations",
            _ => "DROP INDEX flagon_migrations_app_name_uniq",
        };
        db.execute_unprepared(drop)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let twice = "INSERT INTO flagon_migrations (app, name, applied) \
                     SELECT app, name, applied FROM flagon_migrations";
        db.execute_unprepared(twice)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));

        run(db, &graph, Target::All, b).await;
        assert_eq!(
            strings(db, "SELECT name FROM flagon_migrations ORDER BY name, id").await,
            ["0001_initial", "0002_data", "0003_more"],
            "{b}: the duplicate row is gone"
        );
        assert!(
            db.execute_unprepared(twice).await.is_err(),
            "{b}: (app, name) is unique now"
        );
        assert_eq!(applied(db).await.expect("applied").len(), 3, "{b}");
        t
    })
    .await;
}

// ---------------------------------------------------------------------
// 14: SQLite table rebuilds never cascade.

fn keep_0001() -> Migration {
    Migration::new("keep", "0001_initial")
        .operation(Operation::create_model(
            ModelState::new("keep", "Parent", "keep_parent")
                .field(id(FieldKind::BigInteger))
                .field(FieldState::new("name", FieldKind::String).max_length(50)),
        ))
        .operation(Operation::create_model(
            ModelState::new("keep", "Child", "keep_child")
                .field(id(FieldKind::BigInteger))
                .field(
                    FieldState::new("parent", FieldKind::BigInteger)
                        .column("parent_id")
                        .index()
                        .references("keep", "Parent", OnDelete::Cascade),
                ),
        ))
}

fn longer_name(length: u32) -> Operation {
    Operation::alter_field(
        "Parent",
        FieldState::new("name", FieldKind::String).max_length(length),
    )
}

/// An atomic rebuild of the parent table (on SQLite).
fn keep_0002() -> Migration {
    Migration::new("keep", "0002_atomic")
        .depends_on("keep", "0001_initial")
        .operation(longer_name(100))
}

/// The same, not atomic.
fn keep_0003() -> Migration {
    Migration::new("keep", "0003_not_atomic")
        .depends_on("keep", "0002_atomic")
        .operation(longer_name(150))
        .non_atomic()
}

fn keep_graph() -> MigrationGraph {
    MigrationGraph::new([keep_0001(), keep_0002(), keep_0003()]).expect("graph")
}

#[tokio::test]
async fn rebuilding_a_table_keeps_the_rows_pointing_to_it() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let db = &t.db;
        let graph = keep_graph();
        run(db, &graph, Target::Named("keep".into(), "0001".into()), b).await;
        db.execute_unprepared("INSERT INTO keep_parent (id, name) VALUES (1, 'a'), (2, 'b')")
            .await
            .expect("parents");
        db.execute_unprepared("INSERT INTO keep_child (parent_id) VALUES (1), (1), (2)")
            .await
            .expect("children");
        let children = "SELECT parent_id FROM keep_child ORDER BY id";

        run(db, &graph, Target::Named("keep".into(), "0002".into()), b).await;
        assert_eq!(ints(db, children).await, [1, 1, 2], "{b}: atomic rebuild");
        run(db, &graph, Target::All, b).await;
        assert_eq!(
            ints(db, children).await,
            [1, 1, 2],
            "{b}: non-atomic rebuild"
        );
        // And back: rebuilt twice more.
        run(db, &graph, Target::Named("keep".into(), "0001".into()), b).await;
        assert_eq!(ints(db, children).await, [1, 1, 2], "{b}: undone");

        // The keys still hold, and still cascade.
        assert!(
            db.execute_unprepared("INSERT INTO keep_child (parent_id) VALUES (99)")
                .await
                .is_err(),
            "{b}: foreign keys are on again"
        );
        db.execute_unprepared("DELETE FROM keep_parent WHERE id = 1")
            .await
            .expect("delete");
        assert_eq!(ints(db, children).await, [2], "{b}: the cascade is intact");
        t
    })
    .await;
}

#[tokio::test]
async fn a_non_atomic_migration_that_breaks_keys_is_refused_and_names_itself() {
    on_backends(&["sqlite"], |t| async move {
        let db = &t.db;
        let graph = MigrationGraph::new([
            keep_0001(),
            Migration::new("keep", "0002_orphan")
                .depends_on("keep", "0001_initial")
                .operation(Operation::run_sql(
                    "INSERT INTO keep_child (parent_id) VALUES (42)",
                ))
                .non_atomic(),
        ])
        .expect("graph");
        let err = migrate(db, &graph, &Target::All, |_| {})
            .await
            .expect_err("a row points nowhere");
        let text = err.to_string();
        assert!(text.contains("keep.0002_orphan"), "{text}");
        assert!(text.contains("not atomic"), "{text}");
        assert_eq!(applied(db).await.expect("applied").len(), 1);
        t
    })
    .await;
}

#[tokio::test]
async fn a_non_atomic_migration_keeps_the_operations_before_a_failed_one_whole() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let db = &t.db;
        let initial = Migration::new("keep", "0001_initial").operation(Operation::create_model(
            ModelState::new("keep", "Parent", "keep_parent")
                .field(id(FieldKind::BigInteger))
                .field(
                    FieldState::new("name", FieldKind::String)
                        .max_length(50)
                        .null(),
                ),
        ));
        let tighten = Migration::new("keep", "0002_tighten")
            .depends_on("keep", "0001_initial")
            .operation(Operation::run_sql(
                "INSERT INTO keep_parent (id, name) VALUES (2, 'b')",
            ))
            // NULLs are left: the rebuild's copy (SQLite) or the ALTER fails.
            .operation(Operation::alter_field(
                "Parent",
                FieldState::new("name", FieldKind::String).max_length(50),
            ))
            .non_atomic();
        let graph = MigrationGraph::new([initial, tighten]).expect("graph");
        run(db, &graph, Target::Named("keep".into(), "0001".into()), b).await;
        db.execute_unprepared("INSERT INTO keep_parent (id, name) VALUES (1, NULL)")
            .await
            .expect("a row");
        let err = migrate(db, &graph, &Target::All, |_| {})
            .await
            .expect_err("NULLs in a NOT NULL column");
        let text = err.to_string();
        assert!(
            text.contains("keep.0002_tighten failed at operation 2 (Alter field name on Parent)"),
            "{b}: {text}"
        );
        assert!(text.contains("stay applied"), "{b}: {text}");
        assert_eq!(
            ints(db, "SELECT id FROM keep_parent ORDER BY id").await,
            [1, 2],
            "{b}: the first operation stays, the rows are there"
        );
        assert!(
            !flagon_orm::migrations::table_exists(db, "new__keep_parent")
                .await
                .expect("query"),
            "{b}: no half-rebuilt table"
        );
        assert_eq!(applied(db).await.expect("applied").len(), 1, "{b}");
        t
    })
    .await;
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn an_in_memory_database_keeps_its_tables_and_keys_after_migrating() {
    let db = Db::connect("sqlite::memory:").await.expect("SQLite");
    run(&db, &keep_graph(), Target::All, "sqlite").await;
    db.execute_unprepared("INSERT INTO keep_parent (id, name) VALUES (1, 'a')")
        .await
        .expect("the table is still there");
    assert!(
        db.execute_unprepared("INSERT INTO keep_child (parent_id) VALUES (99)")
            .await
            .is_err(),
        "foreign keys are on again"
    );
}

#[test]
fn sqlmigrate_shows_the_pragmas_sqlite_needs() {
    let graph = keep_graph();
    for (name, transaction) in [("0002_atomic", true), ("0003_not_atomic", false)] {
        let key = ("keep".to_owned(), name.to_owned());
        let lines = migration_sql(&graph, &key, Direction::Forwards, Dialect::Sqlite).expect("sql");
        assert_eq!(
            lines.first().map(String::as_str),
            Some("PRAGMA foreign_keys = OFF;")
        );
        assert_eq!(
            lines.last().map(String::as_str),
            Some("PRAGMA foreign_keys = ON;")
        );
        assert!(
            lines.contains(&"PRAGMA foreign_key_check;".to_owned()),
            "{lines:?}"
        );
        assert_eq!(
            lines.contains(&"BEGIN;".to_owned()),
            transaction,
            "{lines:?}"
        );
        assert_eq!(
            lines.contains(&"COMMIT;".to_owned()),
            transaction,
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|line| line.starts_with(r#"CREATE TABLE "new__keep_parent""#)),
            "{lines:?}"
        );
        let postgres =
            migration_sql(&graph, &key, Direction::Forwards, Dialect::Postgres).expect("sql");
        assert!(!postgres.iter().any(|line| line.contains("PRAGMA")));
        assert_eq!(postgres.contains(&"BEGIN;".to_owned()), transaction);
    }
}

// ---------------------------------------------------------------------
// 15: alter paths around foreign keys.

fn author_field(build: impl FnOnce(FieldState) -> FieldState, kind: FieldKind) -> FieldState {
    build(
        FieldState::new("author", kind)
            .column("author_id")
            .references("alter", "Author", OnDelete::Cascade),
    )
}

fn alter_0001() -> Migration {
    Migration::new("alter", "0001_initial")
        .operation(Operation::create_model(
            ModelState::new("alter", "Author", "alter_author")
                .field(id(FieldKind::Integer))
                .field(FieldState::new("name", FieldKind::String).max_length(50))
                .field(
                    FieldState::new("mentor", FieldKind::Integer)
                        .column("mentor_id")
                        .null()
                        .index()
                        .references("alter", "Author", OnDelete::SetNull),
                ),
        ))
        .operation(Operation::create_model(
            ModelState::new("alter", "Book", "alter_book")
                .field(id(FieldKind::BigInteger))
                .field(FieldState::new("title", FieldKind::String).max_length(50))
                .field(author_field(FieldState::index, FieldKind::Integer)),
        ))
}

fn alter_step(name: &str, after: &str, operation: Operation) -> Migration {
    Migration::new("alter", name)
        .depends_on("alter", after)
        .operation(operation)
}

fn alter_graph() -> MigrationGraph {
    MigrationGraph::new([
        alter_0001(),
        // A foreign key becomes a one-to-one.
        alter_step(
            "0002_one_to_one",
            "0001_initial",
            Operation::alter_field("Book", author_field(FieldState::unique, FieldKind::Integer)),
        ),
        // And back to an indexed foreign key.
        alter_step(
            "0003_many_to_one",
            "0002_one_to_one",
            Operation::alter_field("Book", author_field(FieldState::index, FieldKind::Integer)),
        ),
        // Its index dropped, then added again.
        alter_step(
            "0004_no_index",
            "0003_many_to_one",
            Operation::alter_field("Book", author_field(|f| f, FieldKind::Integer)),
        ),
        alter_step(
            "0005_index",
            "0004_no_index",
            Operation::alter_field("Book", author_field(FieldState::index, FieldKind::Integer)),
        ),
        // The key others point to (and one of its own fields) widened.
        alter_step(
            "0006_big_key",
            "0005_index",
            Operation::alter_field("Author", id(FieldKind::BigInteger)),
        ),
    ])
    .expect("graph")
}

#[tokio::test]
async fn foreign_key_alter_paths_apply_keeping_rows() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let db = &t.db;
        let graph = alter_graph();
        let to = |name: &str| Target::Named("alter".into(), name.into());
        run(db, &graph, to("0001"), b).await;
        db.execute_unprepared(
            "INSERT INTO alter_author (id, name, mentor_id) VALUES (1, 'Ann', NULL), (2, 'Bob', 1)",
        )
        .await
        .expect("authors");
        db.execute_unprepared(
            "INSERT INTO alter_book (title, author_id) VALUES ('A', 1), ('B', 2)",
        )
        .await
        .expect("books");
        let books = "SELECT author_id FROM alter_book ORDER BY id";
        let mentors = "SELECT mentor_id FROM alter_author WHERE mentor_id IS NOT NULL";
        let orphan = "INSERT INTO alter_book (title, author_id) VALUES ('X', 999)";

        run(db, &graph, to("0002"), b).await;
        assert_eq!(ints(db, books).await, [1, 2], "{b}: one-to-one");
        assert!(
            db.execute_unprepared("INSERT INTO alter_book (title, author_id) VALUES ('C', 1)")
                .await
                .is_err(),
            "{b}: one book per author"
        );
        assert!(
            db.execute_unprepared(orphan).await.is_err(),
            "{b}: still a key"
        );

        for step in ["0003", "0004", "0005"] {
            run(db, &graph, to(step), b).await;
            assert_eq!(ints(db, books).await, [1, 2], "{b}: {step}");
            assert_eq!(ints(db, mentors).await, [1], "{b}: {step}");
            assert!(db.execute_unprepared(orphan).await.is_err(), "{b}: {step}");
        }
        db.execute_unprepared("INSERT INTO alter_book (title, author_id) VALUES ('C', 1)")
            .await
            .unwrap_or_else(|err| panic!("{b}: many books per author again: {err}"));

        run(db, &graph, to("0006"), b).await;
        // New statements: PostgreSQL refuses to run a prepared statement
        // whose result type changed.
        let books = "SELECT author_id FROM alter_book ORDER BY id, title";
        let mentors = "SELECT mentor_id FROM alter_author WHERE mentor_id > 0";
        assert_eq!(ints(db, books).await, [1, 2, 1], "{b}: rows kept");
        assert_eq!(ints(db, mentors).await, [1], "{b}: rows kept");
        assert!(
            db.execute_unprepared(orphan).await.is_err(),
            "{b}: still a key"
        );
        // Past the range of a 32-bit key, in the key and the columns
        // pointing to it.
        db.execute_unprepared(
            "INSERT INTO alter_author (id, name, mentor_id) VALUES (3000000000, 'Big', 3000000000)",
        )
        .await
        .unwrap_or_else(|err| panic!("{b}: a 64-bit key: {err}"));
        db.execute_unprepared(
            "INSERT INTO alter_book (title, author_id) VALUES ('Big', 3000000000)",
        )
        .await
        .unwrap_or_else(|err| panic!("{b}: a 64-bit foreign key: {err}"));
        if b == "postgres" {
            // The identity sequence is 64-bit too.
            db.execute_unprepared(
                "ALTER TABLE alter_author ALTER COLUMN id RESTART WITH 3000000001",
            )
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        }
        db.execute_unprepared("INSERT INTO alter_author (name) VALUES ('Next')")
            .await
            .unwrap_or_else(|err| panic!("{b}: the key is still assigned: {err}"));
        assert!(
            ints(db, "SELECT id FROM alter_author WHERE name = 'Next'").await[0] > 2,
            "{b}"
        );

        // Undo it all, with the rows that fit.
        db.execute_unprepared("DELETE FROM alter_book WHERE title IN ('Big', 'C')")
            .await
            .expect("cleanup");
        db.execute_unprepared("DELETE FROM alter_author WHERE id > 2")
            .await
            .expect("cleanup");
        if b == "postgres" {
            // The sequence narrows with the key: it must fit.
            db.execute_unprepared("ALTER TABLE alter_author ALTER COLUMN id RESTART WITH 10")
                .await
                .unwrap_or_else(|err| panic!("{b}: {err}"));
        }
        run(db, &graph, to("0001"), b).await;
        let books = "SELECT author_id FROM alter_book ORDER BY title";
        let mentors = "SELECT mentor_id FROM alter_author WHERE mentor_id >= 0";
        assert_eq!(ints(db, books).await, [1, 2], "{b}: undone");
        assert_eq!(ints(db, mentors).await, [1], "{b}: undone");
        run(db, &graph, Target::Zero("alter".into()), b).await;
        t
    })
    .await;
}

#[test]
fn widening_a_key_widens_the_keys_pointing_to_it_in_one_operation() {
    let mut before = ProjectState::new();
    alter_0001().apply(&mut before).expect("state");
    let mut after = before.clone();
    alter_graph()
        .get(&("alter".to_owned(), "0006_big_key".to_owned()))
        .expect("0006")
        .apply(&mut after)
        .expect("state");
    let book = after.model("alter", "Book").expect("Book");
    assert_eq!(
        book.get_field("author").expect("author").kind,
        FieldKind::BigInteger,
        "the state follows the key"
    );
    let author = after.model("alter", "Author").expect("Author");
    assert_eq!(
        author.get_field("mentor").expect("mentor").kind,
        FieldKind::BigInteger
    );

    // What the models would say: the key and the keys pointing to it.
    let mut wanted = before.clone();
    for model in wanted.models.values_mut() {
        for field in &mut model.fields {
            if field.name == "author"
                || field.name == "mentor"
                || model.name == "Author" && field.name == "id"
            {
                field.kind = FieldKind::BigInteger;
            }
        }
    }
    let changes = detect_changes(&before, &wanted, &mut GivenAnswers::default()).expect("changes");
    let operations: Vec<String> = changes.apps["alter"]
        .iter()
        .map(Operation::describe)
        .collect();
    assert_eq!(operations, ["Alter field id on Author"], "one operation");
    assert_eq!(wanted, after);
}
