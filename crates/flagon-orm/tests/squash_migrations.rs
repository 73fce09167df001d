//! `squashmigrations` (issue 11, item 12) on every backend: the squashed
//! migration's reduced operations, the graph using it when none or all
//! of the replaced migrations are applied, and a partial state refused.

mod support;

use std::collections::BTreeSet;

use flagon_orm::migrations::prelude::*;
use flagon_orm::migrations::{
    applied, migrate, squash, unapplied, CreateModel, Direction, MigrationGraph, Target,
};
use support::on_each_backend;

fn key_field() -> FieldState {
    FieldState::new("id", FieldKind::BigInteger)
        .primary_key()
        .auto()
}

fn m0001() -> Migration {
    Migration::new("lib", "0001_initial").operation(Operation::create_model(
        ModelState::new("lib", "Author", "lib_author")
            .field(key_field())
            .field(FieldState::new("name", FieldKind::String).max_length(50)),
    ))
}

fn m0002() -> Migration {
    Migration::new("lib", "0002_author_age_book")
        .depends_on("lib", "0001_initial")
        .operation(Operation::add_field(
            "Author",
            FieldState::new("age", FieldKind::Integer).default(0),
        ))
        .operation(Operation::create_model(
            ModelState::new("lib", "Book", "lib_book")
                .field(key_field())
                .field(FieldState::new("title", FieldKind::String).max_length(100)),
        ))
}

fn m0003() -> Migration {
    Migration::new("lib", "0003_changes")
        .depends_on("lib", "0002_author_age_book")
        .operation(Operation::create_model(
            ModelState::new("lib", "Draft", "lib_draft").field(key_field()),
        ))
        .operation(Operation::add_field(
            "Book",
            FieldState::new("author", FieldKind::BigInteger)
                .column("author_id")
                .references("lib", "Author", OnDelete::Cascade),
        ))
        .operation(Operation::delete_model("Draft"))
        .operation(Operation::rename_field("Book", "title", "name"))
}

fn m0004() -> Migration {
    Migration::new("lib", "0004_data")
        .depends_on("lib", "0003_changes")
        .operation(
            Operation::run_sql("INSERT INTO lib_author (name, age) VALUES ('Anonymous', 1)")
                .reverse_sql("DELETE FROM lib_author WHERE name = 'Anonymous'"),
        )
}

fn originals() -> Vec<Migration> {
    vec![m0001(), m0002(), m0003(), m0004()]
}

/// The squashed migration of 0001..0003, as `squashmigrations lib 0003`
/// writes it.
fn squashed() -> Migration {
    let graph = MigrationGraph::new(originals()).expect("a graph");
    squash(&graph, "lib", None, "0003").expect("a squash")
}

/// The originals and the squashed migration, as the app has them after
/// `squashmigrations`.
fn with_squashed() -> MigrationGraph {
    let mut migrations = originals();
    migrations.push(squashed());
    MigrationGraph::new(migrations).expect("a graph")
}

fn names(keys: &BTreeSet<(String, String)>) -> Vec<&str> {
    keys.iter().map(|(_, name)| name.as_str()).collect()
}

#[test]
fn the_squashed_operations_are_reduced_and_build_the_same_state() {
    let squashed = squashed();
    assert_eq!(squashed.name, "0001_initial_squashed_0003_changes");
    assert!(squashed.dependencies.is_empty());
    assert_eq!(names(&squashed.replaces.iter().cloned().collect()).len(), 3);
    // CreateModel + AddField merged, CreateModel + DeleteModel gone, the
    // rename folded into the Book it renames.
    let described: Vec<String> = squashed
        .operations
        .iter()
        .map(Operation::describe)
        .collect();
    assert_eq!(described, ["Create model Author", "Create model Book"]);
    let Operation::CreateModel(CreateModel { model: book, .. }) = &squashed.operations[1] else {
        panic!("{described:?}");
    };
    let fields: Vec<&str> = book
        .fields
        .iter()
        .map(|field| field.name.as_str())
        .collect();
    assert_eq!(fields, ["id", "name", "author"]);
    let before = MigrationGraph::new(originals()).expect("a graph");
    assert_eq!(
        with_squashed().final_state().expect("a state"),
        before.final_state().expect("a state")
    );
    // 0004 now follows the squashed migration.
    let graph = with_squashed();
    let order: Vec<String> = graph.ordered().map(|m| m.name.clone()).collect();
    assert_eq!(order, ["0001_initial_squashed_0003_changes", "0004_data"]);
}

fn data(apps: HistoricalApps<'_>) -> BoxFuture<'_, Result<(), OrmError>> {
    Box::pin(async move {
        let _ = apps;
        Ok(())
    })
}

#[test]
fn rust_code_and_squashed_migrations_are_refused() {
    let with_rust = Migration::new("lib", "0002_data")
        .depends_on("lib", "0001_initial")
        .operation(Operation::run_rust(data));
    let graph = MigrationGraph::new([m0001(), with_rust]).expect("a graph");
    let err = squash(&graph, "lib", None, "0002").expect_err("Rust code");
    assert!(
        err.to_string().contains("lib.0002_data runs Rust code"),
        "{err}"
    );
    let err = squash(&with_squashed(), "lib", None, "0004").expect_err("squashed already");
    assert!(
        err.to_string().contains("is a squashed migration already"),
        "{err}"
    );
    let graph = MigrationGraph::new(originals()).expect("a graph");
    let err = squash(&graph, "lib", Some("0003"), "0002").expect_err("backwards");
    assert!(err.to_string().contains("does not come before"), "{err}");
}

#[tokio::test]
async fn from_zero_the_squashed_migration_runs_and_records_what_it_replaces() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let graph = with_squashed();
        let done = migrate(&t.db, &graph, &Target::All, |_| {})
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let done: Vec<&str> = done.iter().map(|((_, name), _)| name.as_str()).collect();
        assert_eq!(
            done,
            ["0001_initial_squashed_0003_changes", "0004_data"],
            "{b}"
        );
        let recorded = applied(&t.db).await.expect("applied");
        assert_eq!(
            names(&recorded),
            [
                "0001_initial",
                "0001_initial_squashed_0003_changes",
                "0002_author_age_book",
                "0003_changes",
                "0004_data"
            ],
            "{b}"
        );
        t.db.execute_unprepared("INSERT INTO lib_book (name, author_id) VALUES ('A book', 1)")
            .await
            .unwrap_or_else(|err| panic!("{b}: the squashed schema: {err}"));
        t.db.execute_unprepared("DELETE FROM lib_book")
            .await
            .expect("a delete");
        // A build without the squashed migration sees everything applied.
        let old = MigrationGraph::new(originals()).expect("a graph");
        assert!(
            unapplied(&t.db, &old).await.expect("a plan").is_empty(),
            "{b}"
        );
        // Undone, the records of the replaced migrations go too.
        let undone = migrate(&t.db, &graph, &Target::Zero("lib".into()), |_| {})
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert!(
            undone.iter().all(|(_, d)| *d == Direction::Backwards),
            "{b}"
        );
        assert!(applied(&t.db).await.expect("applied").is_empty(), "{b}");
        t
    })
    .await;
}

#[tokio::test]
async fn with_all_replaced_applied_the_squashed_migration_counts_as_applied() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let old = MigrationGraph::new(originals()).expect("a graph");
        migrate(
            &t.db,
            &old,
            &Target::Named("lib".into(), "0003".into()),
            |_| {},
        )
        .await
        .unwrap_or_else(|err| panic!("{b}: {err}"));
        let graph = with_squashed();
        // Only 0004 is left; the squashed migration does not run.
        let done = migrate(&t.db, &graph, &Target::All, |_| {})
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let done: Vec<&str> = done.iter().map(|((_, name), _)| name.as_str()).collect();
        assert_eq!(done, ["0004_data"], "{b}");
        assert!(
            unapplied(&t.db, &graph).await.expect("a plan").is_empty(),
            "{b}"
        );
        t
    })
    .await;
}

#[tokio::test]
async fn a_partly_applied_range_is_refused_clearly() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let old = MigrationGraph::new(originals()).expect("a graph");
        migrate(
            &t.db,
            &old,
            &Target::Named("lib".into(), "0002".into()),
            |_| {},
        )
        .await
        .unwrap_or_else(|err| panic!("{b}: {err}"));
        let err = migrate(&t.db, &with_squashed(), &Target::All, |_| {})
            .await
            .expect_err("0003 is not applied");
        let text = err.to_string();
        assert!(
            text.contains("has applied 0001_initial, 0002_author_age_book but not 0003_changes")
                && text.contains("stands for all of its migrations or none"),
            "{b}: {text}"
        );
        // Nothing ran.
        assert_eq!(applied(&t.db).await.expect("applied").len(), 2, "{b}");
        t
    })
    .await;
}
