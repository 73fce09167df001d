//! Where MySQL 8 differs from MariaDB: defaults of TEXT, BLOB and JSON
//! columns (MySQL 8 takes them only as expressions, `DEFAULT ('..')`) and
//! indexes on them (neither server indexes them whole; MariaDB makes a
//! UNIQUE one with a hash, MySQL 8 refuses it). The SQL is checked as
//! rendered for MySQL, and run on SQLite, PostgreSQL and MariaDB (whose
//! test sessions use MySQL 8's `sql_mode`, see `support`).

mod support;

use flagon_orm::migrations::prelude::*;
use flagon_orm::migrations::{
    applied, migrate, migration_sql, table_exists, Direction, MigrationError, MigrationGraph,
    Target,
};
use flagon_orm::{Db, Dialect, Model};
use support::on_each_backend;

fn id() -> FieldState {
    FieldState::new("id", FieldKind::BigInteger)
        .primary_key()
        .auto()
}

/// A table of titles, to which 0002 adds TEXT and JSON columns with
/// defaults, and 0003 changes one.
fn texts_0001() -> Migration {
    Migration::new("texts", "0001_initial").operation(Operation::create_model(
        ModelState::new("texts", "Note", "texts_note")
            .field(id())
            .field(FieldState::new("title", FieldKind::String).max_length(20)),
    ))
}

fn texts_0002() -> Migration {
    Migration::new("texts", "0002_defaults")
        .depends_on("texts", "0001_initial")
        .operation(Operation::add_field(
            "Note",
            FieldState::new("body", FieldKind::Text).default("it's \\ here"),
        ))
        .operation(Operation::add_field(
            "Note",
            FieldState::new("data", FieldKind::Json).default("{}"),
        ))
        .operation(
            Operation::add_field(
                "Note",
                FieldState::new("extra", FieldKind::Text).default("later"),
            )
            .one_off_default("once"),
        )
        .operation(Operation::add_field(
            "Note",
            FieldState::new("code", FieldKind::String)
                .max_length(10)
                .default("v"),
        ))
}

fn texts_0003() -> Migration {
    Migration::new("texts", "0003_changed")
        .depends_on("texts", "0002_defaults")
        .operation(Operation::alter_field(
            "Note",
            FieldState::new("body", FieldKind::Text).default("changed"),
        ))
}

fn texts() -> MigrationGraph {
    MigrationGraph::new([texts_0001(), texts_0002(), texts_0003()]).expect("a sound graph")
}

fn key(app: &str, name: &str) -> (String, String) {
    (app.to_owned(), name.to_owned())
}

/// The SQL of migration `name` of `app` in `graph` on `dialect`, as one text.
fn sql_of(graph: &MigrationGraph, app: &str, name: &str, dialect: Dialect) -> String {
    migration_sql(graph, &key(app, name), Direction::Forwards, dialect)
        .unwrap_or_else(|err| panic!("{dialect:?}: {err}"))
        .join("\n")
}

async fn strings(db: &Db, sql: &str) -> Vec<String> {
    db.fetch_all(sql, sea_query::Values(Vec::new()))
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"))
        .iter()
        .map(|row| row.get::<String>(0).expect("a string"))
        .collect()
}

#[derive(Model, Debug)]
#[model(app = "texts")]
struct Page {
    id: i64,
    #[field(default = "draft")]
    body: String,
    #[field(max_length = 10, default = "v")]
    code: String,
}

/// MySQL 8.0.13+ takes a default on a TEXT, BLOB or JSON column only in
/// parentheses, as Django writes it; the migration SQL does so on MySQL
/// (VARCHAR defaults, and other backends, keep the plain literal), and
/// restates such a column (`MODIFY`) rather than `ALTER COLUMN .. SET
/// DEFAULT`. Run, the parenthesised form fills existing rows (MariaDB
/// takes both forms: there, this test's database part passes either way).
#[tokio::test]
async fn text_json_defaults_are_expressions_on_mysql_and_fill_rows() {
    let graph = texts();
    let mysql = sql_of(&graph, "texts", "0002_defaults", Dialect::MySql);
    assert!(
        mysql.contains("`body` longtext NOT NULL DEFAULT ('it''s \\\\ here')"),
        "{mysql}"
    );
    assert!(
        mysql.contains("`data` json NOT NULL DEFAULT ('{}')"),
        "{mysql}"
    );
    assert!(
        mysql.contains("`extra` longtext NOT NULL DEFAULT ('once')"),
        "{mysql}"
    );
    assert!(
        mysql.contains("MODIFY `extra` longtext NOT NULL DEFAULT ('later')"),
        "{mysql}"
    );
    assert!(!mysql.contains("ALTER COLUMN"), "{mysql}");
    assert!(
        mysql.contains("`code` varchar(10) NOT NULL DEFAULT 'v'"),
        "{mysql}"
    );
    let changed = sql_of(&graph, "texts", "0003_changed", Dialect::MySql);
    assert!(
        changed.contains("MODIFY `body` longtext NOT NULL DEFAULT ('changed')"),
        "{changed}"
    );
    let postgres = sql_of(&graph, "texts", "0002_defaults", Dialect::Postgres);
    assert!(
        postgres.contains(r#""body" text NOT NULL DEFAULT 'it''s \ here'"#),
        "{postgres}"
    );
    let table =
        flagon_orm::schema::create_table_sql(Page::META, Dialect::MySql).expect("the table's SQL");
    assert!(
        table[0].contains("`body` longtext NOT NULL DEFAULT ('draft')")
            && table[0].contains("`code` varchar(10) NOT NULL DEFAULT 'v'"),
        "{table:?}"
    );

    on_each_backend(|t| async move {
        let b = t.backend;
        let db = &t.db;
        let graph = texts();
        let to = |name: &str| Target::Named("texts".into(), name.into());
        migrate(db, &graph, &to("0001_initial"), |_| {})
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        db.execute_unprepared("INSERT INTO texts_note (title) VALUES ('a'), ('b')")
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        migrate(db, &graph, &to("0002_defaults"), |_| {})
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let filled = strings(
            db,
            "SELECT body || '|' || extra || '|' || code FROM texts_note ORDER BY id",
        )
        .await;
        assert_eq!(
            filled,
            ["it's \\ here|once|v", "it's \\ here|once|v"],
            "{b}: the defaults fill the rows there were"
        );
        migrate(db, &graph, &Target::All, |_| {})
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        db.execute_unprepared("INSERT INTO texts_note (title) VALUES ('c')")
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let new = strings(
            db,
            "SELECT body || '|' || extra FROM texts_note WHERE title = 'c'",
        )
        .await;
        assert_eq!(new, ["changed|later"], "{b}: the fields' own defaults");
        let read_data = match b {
            "postgres" => "SELECT data::text FROM texts_note WHERE title = 'c'",
            "mysql" => "SELECT CAST(data AS CHAR) FROM texts_note WHERE title = 'c'",
            _ => "SELECT data FROM texts_note WHERE title = 'c'",
        };
        let data = strings(db, read_data).await;
        assert_eq!(data, ["{}"], "{b}");
        migrate(db, &graph, &Target::Zero("texts".into()), |_| {})
            .await
            .unwrap_or_else(|err| panic!("{b}: undoing: {err}"));
        assert!(!table_exists(db, "texts_note").await.expect("query"), "{b}");
        t
    })
    .await;
}

/// A model of `field` beside an ordinary table, in one migration of app
/// `docs`: on MySQL the whole migration must be refused before its first
/// table is made.
fn docs_with(field: FieldState) -> MigrationGraph {
    let migration = Migration::new("docs", "0001_initial")
        .operation(Operation::create_model(
            ModelState::new("docs", "Shelf", "docs_shelf")
                .field(id())
                .field(FieldState::new("name", FieldKind::String).max_length(40)),
        ))
        .operation(Operation::create_model(
            ModelState::new("docs", "Doc", "docs_doc")
                .field(id())
                .field(field),
        ));
    MigrationGraph::new([migration]).expect("a sound graph")
}

/// A `unique` or `index` flag on a TEXT column (a `String` without
/// `max_length`) applies on SQLite and PostgreSQL; on MySQL and MariaDB
/// it is refused alike, naming the model and field and what to do, when
/// the migration is planned: nothing of it runs. (MariaDB alone made the
/// unique index, with a hash, and refused the plain one with error 1170
/// after the migration's first table was made.)
#[tokio::test]
async fn indexes_on_text_are_refused_on_mysql_before_any_sql() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let db = &t.db;
        let flags = [
            ("unique", FieldState::new("body", FieldKind::Text).unique()),
            ("index", FieldState::new("body", FieldKind::Text).index()),
        ];
        for (flag, field) in flags {
            let graph = docs_with(field);
            let outcome = migrate(db, &graph, &Target::All, |_| {}).await;
            if b != "mysql" {
                outcome.unwrap_or_else(|err| panic!("{b}: {flag}: {err}"));
                migrate(db, &graph, &Target::Zero("docs".into()), |_| {})
                    .await
                    .unwrap_or_else(|err| panic!("{b}: undoing: {err}"));
                continue;
            }
            let err = outcome.expect_err("refused on MySQL");
            assert!(
                matches!(err, MigrationError::Invalid { .. }),
                "{flag}: {err:?}"
            );
            let message = err.to_string();
            for needle in ["docs.0001_initial", "docs.Doc.body", "`max_length`", flag] {
                assert!(message.contains(needle), "{flag}: {needle}: {message}");
            }
            assert!(
                !table_exists(db, "docs_shelf").await.expect("query"),
                "{flag}: nothing ran"
            );
            assert!(applied(db).await.expect("applied").is_empty(), "{flag}");
        }
        t
    })
    .await;
}

#[derive(Model, Debug)]
#[model(app = "docs")]
struct Article {
    id: i64,
    #[field(unique)]
    slug: String,
}

/// The message of what `migrations` (app `docs`, in order) does on MySQL:
/// the planning error of the last one.
fn refusal(migrations: Vec<Migration>) -> String {
    let last = migrations.last().map(|m| m.name.clone()).expect("one");
    let graph = MigrationGraph::new(migrations).expect("a sound graph");
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        migration_sql(&graph, &key("docs", &last), Direction::Forwards, dialect)
            .unwrap_or_else(|err| panic!("{dialect:?} indexes text: {err}"));
    }
    match migration_sql(
        &graph,
        &key("docs", &last),
        Direction::Forwards,
        Dialect::MySql,
    ) {
        Ok(sql) => panic!("MySQL: expected a refusal, got {sql:?}"),
        Err(err) => err.to_string(),
    }
}

/// Every way to index a TEXT, BLOB or JSON column is refused on MySQL
/// (and allowed elsewhere): the fields' flags, a primary key, `indexes`,
/// `unique_together`, an `AlterField` that turns an indexed VARCHAR into
/// TEXT, and `schema::create_table_sql` of a model.
#[test]
fn every_index_on_text_blob_or_json_is_refused_on_mysql() {
    let doc = |fields: Vec<FieldState>| {
        let model = ModelState::new("docs", "Doc", "docs_doc").field(id());
        fields.into_iter().fold(model, ModelState::field)
    };
    let create = |model: ModelState| {
        Migration::new("docs", "0001_initial").operation(Operation::create_model(model))
    };
    let second = |operation: Operation| {
        Migration::new("docs", "0002_more")
            .depends_on("docs", "0001_initial")
            .operation(operation)
    };
    let text = || FieldState::new("body", FieldKind::Text);
    let cases = [
        (
            vec![create(doc(vec![
                FieldState::new("data", FieldKind::Json).index()
            ]))],
            vec!["docs.Doc.data", "JSON", "remove `index`"],
        ),
        (
            vec![create(doc(vec![
                FieldState::new("blob", FieldKind::Bytes).unique()
            ]))],
            vec!["docs.Doc.blob", "BLOB", "remove `unique`"],
        ),
        (
            vec![create(ModelState::new("docs", "Doc", "docs_doc").field(
                FieldState::new("code", FieldKind::Text).primary_key(),
            ))],
            vec!["docs.Doc.code", "primary key", "`max_length`"],
        ),
        (
            vec![
                create(
                    ModelState::new("docs", "Code", "docs_code")
                        .field(FieldState::new("code", FieldKind::Text).primary_key()),
                ),
                second(Operation::create_model(doc(vec![FieldState::new(
                    "code",
                    FieldKind::Text,
                )
                .references("docs", "Code", OnDelete::Cascade)]))),
            ],
            vec![
                "docs.Doc.code",
                "foreign key",
                "a `String` key needs a `max_length`",
            ],
        ),
        (
            vec![
                create(doc(vec![text()])),
                second(Operation::add_index(
                    "Doc",
                    IndexState::new("docs_doc_body_idx", &["body"]),
                )),
            ],
            vec![
                "docs.0002_more",
                "docs.Doc.body",
                "index `docs_doc_body_idx`",
            ],
        ),
        (
            vec![
                create(doc(vec![text(), FieldState::new("n", FieldKind::Integer)])),
                second(Operation::add_constraint(
                    "Doc",
                    ConstraintState::unique("docs_doc_n_body_uniq", &["n", "body"]),
                )),
            ],
            vec!["docs.Doc.body", "unique constraint `docs_doc_n_body_uniq`"],
        ),
        (
            vec![
                create(doc(vec![FieldState::new("body", FieldKind::String)
                    .max_length(100)
                    .unique()])),
                second(Operation::alter_field("Doc", text().unique())),
            ],
            vec!["docs.Doc.body", "TEXT", "`max_length`", "remove `unique`"],
        ),
        (
            vec![
                create(doc(vec![text()])),
                second(Operation::alter_field("Doc", text().index())),
            ],
            vec!["docs.Doc.body", "remove `index`"],
        ),
    ];
    for (migrations, needles) in cases {
        let message = refusal(migrations);
        for needle in needles {
            assert!(message.contains(needle), "{needle}: {message}");
        }
    }
    // A VARCHAR is indexed as before.
    let fine = MigrationGraph::new([create(doc(vec![FieldState::new(
        "body",
        FieldKind::String,
    )
    .max_length(100)
    .unique()]))])
    .expect("a sound graph");
    migration_sql(
        &fine,
        &key("docs", "0001_initial"),
        Direction::Forwards,
        Dialect::MySql,
    )
    .expect("a VARCHAR takes an index");
    let err = flagon_orm::schema::create_table_sql(Article::META, Dialect::MySql)
        .expect_err("a unique TEXT");
    let message = err.to_string();
    assert!(
        message.contains("docs.Article.slug") && message.contains("`max_length`"),
        "{message}"
    );
    flagon_orm::schema::create_table_sql(Article::META, Dialect::Postgres)
        .expect("PostgreSQL indexes text");
}
