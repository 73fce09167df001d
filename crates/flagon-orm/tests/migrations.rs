//! Migrations against real databases: applied step by step with the data
//! kept, undone, failing cleanly, and matching the models in the end.

mod support;

use std::collections::BTreeSet;

use flagon_orm::migrations::prelude::*;
use flagon_orm::migrations::{
    applied, detect_changes, migrate, migration_sql, table_exists, write_migration, AppConfig,
    Apps, Direction, GivenAnswers, MigrationError, MigrationGraph, Target,
};
use flagon_orm::{Db, Dialect, Model, ModelExt};
use support::on_each_backend;

fn m0001() -> Migration {
    Migration::new("library", "0001_initial")
        .operation(Operation::create_model(
            ModelState::new("library", "Author", "library_author")
                .field(
                    FieldState::new("id", FieldKind::BigInteger)
                        .primary_key()
                        .auto(),
                )
                .field(
                    FieldState::new("name", FieldKind::String)
                        .max_length(100)
                        .unique(),
                ),
        ))
        .operation(Operation::create_model(
            ModelState::new("library", "Book", "library_book")
                .field(
                    FieldState::new("id", FieldKind::BigInteger)
                        .primary_key()
                        .auto(),
                )
                .field(
                    FieldState::new("title", FieldKind::String)
                        .max_length(200)
                        .index(),
                )
                .field(FieldState::new("pages", FieldKind::Integer).null()),
        ))
}

fn m0002() -> Migration {
    Migration::new("library", "0002_book_fields")
        .depends_on("library", "0001_initial")
        .operation(Operation::add_field(
            "Book",
            FieldState::new("rating", FieldKind::Integer).default(0),
        ))
        .operation(
            Operation::add_field(
                "Book",
                FieldState::new("isbn", FieldKind::String).max_length(20),
            )
            .one_off_default("unknown"),
        )
}

fn m0003() -> Migration {
    Migration::new("library", "0003_changes")
        .depends_on("library", "0002_book_fields")
        .operation(Operation::rename_field("Book", "title", "name"))
        .operation(
            Operation::alter_field("Book", FieldState::new("pages", FieldKind::Integer))
                .one_off_default(1),
        )
        .operation(Operation::alter_field(
            "Book",
            FieldState::new("rating", FieldKind::BigInteger).default(0),
        ))
}

fn m0004() -> Migration {
    Migration::new("library", "0004_more")
        .depends_on("library", "0003_changes")
        .operation(Operation::remove_field("Book", "isbn"))
        .operation(Operation::add_constraint(
            "Book",
            ConstraintState::unique("library_book_name_pages_uniq", &["name", "pages"]),
        ))
        .operation(Operation::add_index(
            "Book",
            IndexState::new("library_book_rating_pages_idx", &["rating", "pages"]),
        ))
        .operation(Operation::rename_model("Author", "Writer"))
}

fn double_ratings(apps: HistoricalApps<'_>) -> BoxFuture<'_, Result<(), OrmError>> {
    Box::pin(async move {
        apps.connection()
            .execute_unprepared("UPDATE library_book SET rating = pages * 2")
            .await?;
        Ok(())
    })
}

fn clear_ratings(apps: HistoricalApps<'_>) -> BoxFuture<'_, Result<(), OrmError>> {
    Box::pin(async move {
        apps.connection()
            .execute_unprepared("UPDATE library_book SET rating = 0")
            .await?;
        Ok(())
    })
}

fn m0005() -> Migration {
    Migration::new("library", "0005_data")
        .depends_on("library", "0004_more")
        .operation(Operation::run_rust(double_ratings).backward(clear_ratings))
        .operation(
            Operation::run_sql("INSERT INTO library_writer (name) VALUES ('Anonymous')")
                .reverse_sql("DELETE FROM library_writer WHERE name = 'Anonymous'"),
        )
}

const MIGRATIONS: &[fn() -> Migration] = &[m0001, m0002, m0003, m0004, m0005];

/// The models as the migrations leave them.
#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "library", unique_together = [["name", "pages"]], indexes = [["rating", "pages"]])]
struct Book {
    id: i64,
    #[field(max_length = 200, index)]
    name: String,
    pages: i32,
    #[field(default = 0)]
    rating: i64,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "library")]
struct Writer {
    id: i64,
    #[field(max_length = 100, unique)]
    name: String,
}

fn apps() -> Apps {
    Apps::new().app(
        AppConfig::new("library")
            .model::<Book>()
            .model::<Writer>()
            .migrations(MIGRATIONS),
    )
}

fn to(name: &str) -> Target {
    Target::Named("library".into(), name.into())
}

async fn run(db: &Db, graph: &MigrationGraph, target: Target) -> Vec<String> {
    migrate(db, graph, &target, &mut |_| {})
        .await
        .unwrap_or_else(|err| panic!("migrating to {target:?}: {err}"))
        .into_iter()
        .map(|((_, name), direction)| match direction {
            Direction::Forwards => format!("+{name}"),
            Direction::Backwards => format!("-{name}"),
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

#[tokio::test]
async fn migrations_apply_step_by_step_keeping_data_and_undo() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let db = &t.db;
        let graph = apps().graph().expect("a sound graph");

        assert_eq!(run(db, &graph, to("0001")).await, ["+0001_initial"]);
        db.execute_unprepared(
            "INSERT INTO library_book (title, pages) VALUES ('Dune', 412), ('Emma', NULL)",
        )
        .await
        .expect("rows");

        assert_eq!(run(db, &graph, to("0002")).await, ["+0002_book_fields"]);
        assert_eq!(
            strings(db, "SELECT isbn FROM library_book ORDER BY id").await,
            ["unknown", "unknown"],
            "{b}: the one-off default fills existing rows"
        );
        assert_eq!(
            ints(db, "SELECT rating FROM library_book ORDER BY id").await,
            [0, 0]
        );
        // The one-off default is not kept; the field's own default is.
        let no_isbn = db
            .execute_unprepared("INSERT INTO library_book (title, pages) VALUES ('X', 1)")
            .await;
        assert!(no_isbn.is_err() || b == "mysql", "{b}: isbn has no default");
        db.execute_unprepared("DELETE FROM library_book WHERE title = 'X'")
            .await
            .expect("cleanup");

        assert_eq!(run(db, &graph, to("0003")).await, ["+0003_changes"]);
        assert_eq!(
            strings(db, "SELECT name FROM library_book ORDER BY id").await,
            ["Dune", "Emma"],
            "{b}: the renamed column keeps its data"
        );
        assert_eq!(
            ints(db, "SELECT pages FROM library_book ORDER BY id").await,
            [412, 1],
            "{b}: NULLs got the one-off value"
        );

        assert_eq!(
            run(db, &graph, Target::All).await,
            ["+0004_more", "+0005_data"]
        );
        assert!(table_exists(db, "library_writer").await.expect("query"));
        assert!(!table_exists(db, "library_author").await.expect("query"));
        assert!(
            db.fetch_all(
                "SELECT isbn FROM library_book",
                sea_query::Values(Vec::new())
            )
            .await
            .is_err(),
            "{b}: isbn is gone"
        );

        // The models read and write the migrated tables.
        let books = Book::objects()
            .order_by(Book::ID.asc())
            .all(db)
            .await
            .expect("books");
        let pairs: Vec<(String, i32, i64)> = books
            .iter()
            .map(|b| (b.name.clone(), b.pages, b.rating))
            .collect();
        assert_eq!(pairs, [("Dune".into(), 412, 824), ("Emma".into(), 1, 2)]);
        let writers = Writer::objects().all(db).await.expect("writers");
        assert_eq!(writers.len(), 1);
        let mut twin = Book {
            id: 0,
            name: "Dune".into(),
            pages: 412,
            rating: 0,
        };
        let err = twin.save(db).await.expect_err("unique together");
        assert!(matches!(err, OrmError::Integrity { .. }), "{b}: {err:?}");
        let mut writer = Writer {
            id: 0,
            name: "Anonymous".into(),
        };
        assert!(
            writer.save(db).await.is_err(),
            "{b}: the unique index moved with the table"
        );

        // The migrations match the models.
        let changes = detect_changes(
            &graph.final_state().expect("state"),
            &apps().models_state(),
            &mut GivenAnswers::default(),
        )
        .expect("changes");
        assert!(changes.is_empty(), "{b}: {changes:?}");

        // Undo back to the first migration: data and names come back.
        assert_eq!(
            run(db, &graph, to("0001")).await,
            [
                "-0005_data",
                "-0004_more",
                "-0003_changes",
                "-0002_book_fields"
            ]
        );
        assert_eq!(
            strings(db, "SELECT title FROM library_book ORDER BY id").await,
            ["Dune", "Emma"]
        );
        assert!(table_exists(db, "library_author").await.expect("query"));
        assert!(strings(db, "SELECT name FROM library_author")
            .await
            .is_empty());
        let recorded = applied(db).await.expect("applied");
        assert_eq!(
            recorded,
            BTreeSet::from([("library".to_owned(), "0001_initial".to_owned())])
        );

        // Forwards again, then all the way back.
        assert_eq!(run(db, &graph, Target::All).await.len(), 4);
        assert_eq!(
            run(db, &graph, Target::Zero("library".into())).await.len(),
            5
        );
        assert!(!table_exists(db, "library_book").await.expect("query"));
        assert!(applied(db).await.expect("applied").is_empty());
        assert!(run(db, &graph, Target::Zero("library".into()))
            .await
            .is_empty());
        t
    })
    .await;
}

fn bad() -> Migration {
    Migration::new("broken", "0001_initial")
        .operation(Operation::create_model(
            ModelState::new("broken", "Thing", "broken_thing").field(
                FieldState::new("id", FieldKind::BigInteger)
                    .primary_key()
                    .auto(),
            ),
        ))
        .operation(Operation::run_sql("INSERT INTO no_such_table VALUES (1)"))
}

#[tokio::test]
async fn a_failing_migration_names_the_operation_and_leaves_nothing() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let graph = MigrationGraph::new([bad()]).expect("graph");
        let err = migrate(&t.db, &graph, &Target::All, &mut |_| {})
            .await
            .expect_err("the SQL fails");
        let MigrationError::Failed {
            migration,
            position,
            operation,
            rolled_back,
            ..
        } = &err
        else {
            panic!("{b}: {err:?}")
        };
        assert_eq!(
            (migration.as_str(), *position, operation.as_str()),
            ("broken.0001_initial", 2, "Run SQL")
        );
        assert_eq!(*rolled_back, b != "mysql", "{b}");
        assert!(err.to_string().contains("operation 2 (Run SQL)"), "{err}");
        if b != "mysql" {
            assert!(
                !table_exists(&t.db, "broken_thing").await.expect("query"),
                "{b}: the first operation was rolled back"
            );
        }
        assert!(applied(&t.db).await.expect("applied").is_empty());
        t
    })
    .await;
}

fn one_way() -> Migration {
    Migration::new("oneway", "0001_initial")
        .operation(Operation::create_model(
            ModelState::new("oneway", "Log", "oneway_log").field(
                FieldState::new("id", FieldKind::BigInteger)
                    .primary_key()
                    .auto(),
            ),
        ))
        .operation(Operation::run_sql("INSERT INTO oneway_log (id) VALUES (7)"))
}

#[tokio::test]
async fn an_irreversible_migration_is_refused_before_anything_runs() {
    on_each_backend(|t| async move {
        let graph = MigrationGraph::new([one_way()]).expect("graph");
        migrate(&t.db, &graph, &Target::All, &mut |_| {})
            .await
            .expect("applies");
        let err = migrate(&t.db, &graph, &Target::Zero("oneway".into()), &mut |_| {})
            .await
            .expect_err("cannot undo");
        assert!(
            matches!(err, MigrationError::Irreversible { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("Run SQL"), "{err}");
        assert!(table_exists(&t.db, "oneway_log").await.expect("query"));
        assert_eq!(applied(&t.db).await.expect("applied").len(), 1);
        t
    })
    .await;
}

#[test]
fn the_graph_orders_by_dependency_and_rejects_bad_ones() {
    let graph = MigrationGraph::new([m0002(), m0001()]).expect("graph");
    let names: Vec<&str> = graph.ordered().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["0001_initial", "0002_book_fields"]);

    let err = MigrationGraph::new([m0002()]).expect_err("missing dependency");
    assert!(
        err.to_string().contains(
            "library.0002_book_fields depends on library.0001_initial, which does not exist"
        ),
        "{err}"
    );

    let a = Migration::new("x", "0001_a").depends_on("x", "0002_b");
    let b = Migration::new("x", "0002_b").depends_on("x", "0001_a");
    let err = MigrationGraph::new([a, b]).expect_err("cycle");
    assert!(
        err.to_string().contains("cycle: x.0001_a, x.0002_b"),
        "{err}"
    );

    let two = MigrationGraph::new([
        m0001(),
        Migration::new("library", "0002_a").depends_on("library", "0001_initial"),
        Migration::new("library", "0002_b").depends_on("library", "0001_initial"),
    ])
    .expect("graph");
    let err = two.leaf("library").expect_err("conflict");
    assert!(
        err.to_string()
            .contains("conflicting migrations in app library"),
        "{err}"
    );
    let err = two.resolve("library", "0002").expect_err("ambiguous");
    assert!(err.to_string().contains("0002_a, 0002_b"), "{err}");
    let err = two.resolve("library", "0009").expect_err("unknown");
    assert!(
        err.to_string().contains("no migration named `0009`"),
        "{err}"
    );

    let wrong_app = Apps::new().app(AppConfig::new("shelf").model::<Book>());
    let err = wrong_app.graph().expect_err("model of another app");
    assert!(
        err.to_string().contains("belongs to app `library`"),
        "{err}"
    );
}

#[test]
fn sqlmigrate_shows_each_backends_sql() {
    let graph = apps().graph().expect("graph");
    let key = ("library".to_owned(), "0003_changes".to_owned());
    let postgres =
        migration_sql(&graph, &key, Direction::Forwards, Dialect::Postgres).expect("sql");
    assert!(postgres.contains(&"-- Rename field title on Book to name".to_owned()));
    assert!(postgres
        .contains(&r#"ALTER TABLE "library_book" RENAME COLUMN "title" TO "name";"#.to_owned()));
    assert!(postgres
        .contains(&r#"UPDATE "library_book" SET "pages" = 1 WHERE "pages" IS NULL;"#.to_owned()));
    let sqlite = migration_sql(&graph, &key, Direction::Forwards, Dialect::Sqlite).expect("sql");
    assert!(sqlite
        .iter()
        .any(|line| line.starts_with(r#"CREATE TABLE "new__library_book""#)));
    let mysql = migration_sql(&graph, &key, Direction::Backwards, Dialect::MySql).expect("sql");
    assert!(mysql.contains(&"-- undo: Rename field title on Book to name".to_owned()));
    assert!(
        mysql.contains(&"ALTER TABLE `library_book` RENAME COLUMN `name` TO `title`;".to_owned())
    );
    let data = ("library".to_owned(), "0005_data".to_owned());
    let lines = migration_sql(&graph, &data, Direction::Forwards, Dialect::Sqlite).expect("sql");
    assert!(lines.contains(&"-- (Rust code, run by the migration)".to_owned()));
}

#[test]
fn the_writer_adds_files_and_lists_them() {
    let dir = tempfile::tempdir().expect("dir");
    let folder = dir.path().join("migrations");
    let first = write_migration(&folder, &m0001(), "flagon::orm").expect("written");
    assert!(first.ends_with("m0001_initial.rs"));
    write_migration(&folder, &m0002(), "flagon::orm").expect("written");
    let listing = std::fs::read_to_string(folder.join("mod.rs")).expect("mod.rs");
    // rustfmt may have laid it out: compare without whitespace.
    let compact: String = listing.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(
        compact.contains("modm0001_initial;modm0002_book_fields;"),
        "{listing}"
    );
    assert!(
        compact.contains(
            "pubconstMIGRATIONS:&[fn()->flagon::orm::migrations::Migration]=&[m0001_initial::migration,m0002_book_fields::migration,];"
        ) || compact.contains(
            "pubconstMIGRATIONS:&[fn()->flagon::orm::migrations::Migration]=&[m0001_initial::migration,m0002_book_fields::migration];"
        ),
        "{listing}"
    );
    let source = std::fs::read_to_string(folder.join("m0002_book_fields.rs")).expect("file");
    assert!(
        source.contains("use flagon::orm::migrations::prelude::*;"),
        "{source}"
    );
    assert!(
        source.contains(r#".depends_on("library", "0001_initial")"#),
        "{source}"
    );
    assert!(
        source.contains(r#".one_off_default("unknown")"#),
        "{source}"
    );
    assert!(
        source.contains("//! - Add field rating to Book"),
        "{source}"
    );

    let err = write_migration(&folder, &m0002(), "flagon::orm").expect_err("exists");
    assert!(err.to_string().contains("exists already"), "{err}");
    assert_eq!(
        std::fs::read_to_string(folder.join("mod.rs")).expect("mod.rs"),
        listing,
        "a refused write leaves the listing alone"
    );
}
