//! Migrations a team can run in production: MySQL/MariaDB alter paths
//! around foreign keys apply with rows kept.

mod support;

use flagon_orm::migrations::prelude::*;
use flagon_orm::migrations::{
    detect_changes, migrate, GivenAnswers, MigrationGraph, ProjectState, Target,
};
use flagon_orm::Db;
use support::on_each_backend;

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

async fn run(db: &Db, graph: &MigrationGraph, target: Target, b: &str) {
    migrate(db, graph, &target, |_| {})
        .await
        .unwrap_or_else(|err| panic!("{b}: migrating to {target:?}: {err}"));
}

fn id(kind: FieldKind) -> FieldState {
    FieldState::new("id", kind).primary_key().auto()
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
