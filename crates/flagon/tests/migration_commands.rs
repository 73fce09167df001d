//! The migration commands, end to end on SQLite: makemigrations writes
//! Rust, migrate applies and undoes, showmigrations and sqlmigrate report.

use std::path::Path;
use std::process::ExitCode;

use flagon::orm::migrations::prelude::*;
use flagon::orm::migrations::{AppConfig, Apps};
use flagon::prelude::*;
use flagon::settings::Secret;
use flagon::testing::test_settings;

#[derive(Model, Debug)]
#[model(app = "polls")]
struct Question {
    id: i64,
    #[field(max_length = 200)]
    text: String,
    #[field(default = 0)]
    votes: i32,
}

/// The migration `makemigrations` writes for `Question` (as the hello
/// example's compiled migrations show, the writer's output is this code).
fn initial() -> Migration {
    Migration::new("polls", "0001_initial").operation(Operation::create_model(
        ModelState::new("polls", "Question", "polls_question")
            .field(
                FieldState::new("id", FieldKind::BigInteger)
                    .primary_key()
                    .auto(),
            )
            .field(FieldState::new("text", FieldKind::String).max_length(200))
            .field(FieldState::new("votes", FieldKind::Integer).default(0_i64)),
    ))
}

fn add_slug() -> Migration {
    Migration::new("polls", "0002_question_slug")
        .depends_on("polls", "0001_initial")
        .operation(Operation::add_field(
            "Question",
            FieldState::new("slug", FieldKind::Text).null(),
        ))
}

fn app(dir: &Path, migrations: &[fn() -> Migration]) -> App {
    let mut settings = test_settings();
    flagon::DatabaseSettings {
        url: Secret::new(format!("sqlite://{}", dir.join("db.sqlite3").display())),
        ..Default::default()
    }
    .write_to(&mut settings);
    App::new().settings(settings).apps(
        Apps::new().app(
            AppConfig::new("polls")
                .model::<Question>()
                .migrations(migrations)
                .directory(dir.join("migrations")),
        ),
    )
}

async fn run(app: App, args: &[&str]) -> (ExitCode, String) {
    let mut out = Vec::new();
    let mut all = vec!["manage"];
    all.extend_from_slice(args);
    let code = flagon::run_command(app, all, &mut out).await;
    (code, String::from_utf8_lossy(&out).into_owned())
}

#[tokio::test]
async fn makemigrations_writes_the_first_migration_and_then_finds_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let (code, out) = run(app(dir.path(), &[]), &["makemigrations", "--check"]).await;
    assert_eq!(code, ExitCode::FAILURE, "{out}");
    assert!(out.contains("run makemigrations"), "{out}");
    assert!(
        !dir.path().join("migrations").exists(),
        "--check writes nothing"
    );

    let (code, out) = run(app(dir.path(), &[]), &["makemigrations", "--noinput"]).await;
    assert_eq!(code, ExitCode::SUCCESS, "{out}");
    assert!(out.contains("Migrations for 'polls':"), "{out}");
    assert!(out.contains("m0001_initial.rs"), "{out}");
    assert!(out.contains("    - Create model Question"), "{out}");
    assert!(
        out.contains("`.migrations(migrations::MIGRATIONS)`"),
        "{out}"
    );
    let source =
        std::fs::read_to_string(dir.path().join("migrations/m0001_initial.rs")).expect("file");
    let expected_field = r#".field(FieldState::new("votes", FieldKind::Integer).default(0_i64))"#;
    assert!(source.contains(expected_field), "{source}");
    assert!(
        source.contains(r#"Migration::new("polls", "0001_initial")"#),
        "{source}"
    );
    let listing = std::fs::read_to_string(dir.path().join("migrations/mod.rs")).expect("mod.rs");
    assert!(listing.contains("mod m0001_initial;"), "{listing}");

    // Once the migration is compiled in, the models and migrations agree.
    let (code, out) = run(app(dir.path(), &[initial]), &["makemigrations", "--check"]).await;
    assert_eq!(code, ExitCode::SUCCESS, "{out}");
    assert!(out.contains("No changes detected"), "{out}");
}

#[tokio::test]
async fn a_removed_field_is_flagged_and_a_possible_rename_noted() {
    let dir = tempfile::tempdir().expect("dir");
    // The migrations have `slug`; the model does not.
    let (code, out) = run(
        app(dir.path(), &[initial, add_slug]),
        &["makemigrations", "--dry-run"],
    )
    .await;
    assert_eq!(code, ExitCode::SUCCESS, "{out}");
    assert!(
        out.contains(
            "    - Remove field slug from Question  (destructive: the column and its data are dropped)"
        ),
        "{out}"
    );
    assert!(out.contains("m0003_remove_question_slug.rs"), "{out}");
    assert!(
        !dir.path().join("migrations").exists(),
        "--dry-run writes nothing"
    );

    let (code, out) = run(
        app(dir.path(), &[initial]),
        &["makemigrations", "--rename", "nonsense"],
    )
    .await;
    assert_eq!(code, ExitCode::FAILURE);
    assert!(out.contains("is not a rename"), "{out}");
}

#[tokio::test]
async fn migrate_applies_shows_and_undoes() {
    let dir = tempfile::tempdir().expect("dir");
    let migrations: &[fn() -> Migration] = &[initial, add_slug];

    let (code, out) = run(app(dir.path(), migrations), &["showmigrations"]).await;
    assert_eq!(code, ExitCode::SUCCESS, "{out}");
    assert_eq!(out, "polls\n [ ] 0001_initial\n [ ] 0002_question_slug\n");

    let (code, out) = run(app(dir.path(), migrations), &["migrate", "--plan"]).await;
    assert_eq!(code, ExitCode::SUCCESS, "{out}");
    assert!(
        out.contains("  Apply polls.0001_initial\n    - Create model Question"),
        "{out}"
    );

    let (code, out) = run(app(dir.path(), migrations), &["migrate", "polls", "0001"]).await;
    assert_eq!(code, ExitCode::SUCCESS, "{out}");
    assert!(out.contains("  Applying polls.0001_initial... OK"), "{out}");
    assert!(!out.contains("0002"), "{out}");

    let (code, out) = run(app(dir.path(), migrations), &["migrate"]).await;
    assert_eq!(code, ExitCode::SUCCESS, "{out}");
    assert!(
        out.contains("  Applying polls.0002_question_slug... OK"),
        "{out}"
    );
    assert!(out.contains("not yet reflected in a migration"), "{out}");

    let (_, out) = run(app(dir.path(), migrations), &["showmigrations", "polls"]).await;
    assert_eq!(out, "polls\n [X] 0001_initial\n [X] 0002_question_slug\n");

    let (code, out) = run(app(dir.path(), migrations), &["migrate"]).await;
    assert_eq!(code, ExitCode::SUCCESS, "{out}");
    assert!(out.contains("No migrations to apply."), "{out}");

    let (code, out) = run(app(dir.path(), migrations), &["migrate", "polls", "zero"]).await;
    assert_eq!(code, ExitCode::SUCCESS, "{out}");
    assert!(
        out.contains(
            "  Unapplying polls.0002_question_slug... OK\n  Unapplying polls.0001_initial... OK"
        ),
        "{out}"
    );
    let (_, out) = run(app(dir.path(), migrations), &["showmigrations"]).await;
    assert_eq!(out, "polls\n [ ] 0001_initial\n [ ] 0002_question_slug\n");

    let (code, out) = run(app(dir.path(), migrations), &["migrate", "blog"]).await;
    assert_eq!(code, ExitCode::FAILURE);
    assert!(out.contains("no app is registered as `blog`"), "{out}");
    let (code, out) = run(app(dir.path(), migrations), &["migrate", "polls", "0007"]).await;
    assert_eq!(code, ExitCode::FAILURE);
    assert!(
        out.contains("app polls has no migration named `0007`"),
        "{out}"
    );
}

#[tokio::test]
async fn sqlmigrate_prints_the_sql_in_a_transaction() {
    let dir = tempfile::tempdir().expect("dir");
    let (code, out) = run(
        app(dir.path(), &[initial, add_slug]),
        &["sqlmigrate", "polls", "0002"],
    )
    .await;
    assert_eq!(code, ExitCode::SUCCESS, "{out}");
    assert_eq!(
        out,
        "PRAGMA foreign_keys = OFF;\nBEGIN;\n-- Add field slug to Question\nALTER TABLE \"polls_question\" ADD COLUMN \"slug\" text NULL;\n\
         -- Any row listed here points nowhere: roll back.\nPRAGMA foreign_key_check;\nCOMMIT;\nPRAGMA foreign_keys = ON;\n"
    );
    let (code, out) = run(
        app(dir.path(), &[initial, add_slug]),
        &["sqlmigrate", "polls", "0002", "--backwards"],
    )
    .await;
    assert_eq!(code, ExitCode::SUCCESS, "{out}");
    assert!(
        out.contains("CREATE TABLE \"new__polls_question\""),
        "{out}"
    );
    assert!(
        !dir.path().join("db.sqlite3").exists(),
        "sqlmigrate does not connect"
    );
}

#[tokio::test]
async fn without_registered_apps_the_commands_say_how_to_register() {
    let (code, out) = run(App::new().settings(test_settings()), &["migrate"]).await;
    assert_eq!(code, ExitCode::FAILURE);
    assert!(out.contains("no apps are registered"), "{out}");
}

#[tokio::test]
async fn check_warns_about_models_without_migrations() {
    let dir = tempfile::tempdir().expect("dir");
    let (_, out) = run(app(dir.path(), &[]), &["check"]).await;
    assert!(
        out.contains("the models of polls have changes no migration makes"),
        "{out}"
    );
}

#[tokio::test]
async fn migrate_fake_records_and_fake_initial_adopts_existing_tables() {
    let dir = tempfile::tempdir().expect("dir");
    let migrations: &[fn() -> Migration] = &[initial, add_slug];

    let (code, out) = run(app(dir.path(), migrations), &["migrate", "--fake"]).await;
    assert_eq!(code, ExitCode::SUCCESS, "{out}");
    assert!(
        out.contains(
            "  Applying polls.0001_initial... FAKED\n  Applying polls.0002_question_slug... FAKED"
        ),
        "{out}"
    );
    let (_, out) = run(app(dir.path(), migrations), &["showmigrations"]).await;
    assert_eq!(out, "polls\n [X] 0001_initial\n [X] 0002_question_slug\n");
    let (code, out) = run(
        app(dir.path(), migrations),
        &["migrate", "polls", "zero", "--fake"],
    )
    .await;
    assert_eq!(code, ExitCode::SUCCESS, "{out}");
    assert!(
        out.contains("  Unapplying polls.0002_question_slug... FAKED"),
        "{out}"
    );

    // A table made outside Flagon: --fake-initial adopts it, then 0002 runs.
    let db = flagon::orm::Db::connect(&format!(
        "sqlite://{}",
        dir.path().join("db.sqlite3").display()
    ))
    .await
    .expect("the database");
    db.execute_unprepared(
        "CREATE TABLE polls_question (id integer PRIMARY KEY AUTOINCREMENT, \
         text varchar(200) NOT NULL, votes integer NOT NULL DEFAULT 0)",
    )
    .await
    .expect("the outside table");
    db.close().await;
    let (code, out) = run(app(dir.path(), migrations), &["migrate"]).await;
    assert_eq!(code, ExitCode::FAILURE, "the table exists: {out}");
    let (code, out) = run(app(dir.path(), migrations), &["migrate", "--fake-initial"]).await;
    assert_eq!(code, ExitCode::SUCCESS, "{out}");
    assert!(
        out.contains(
            "  Applying polls.0001_initial... FAKED\n  Applying polls.0002_question_slug... OK"
        ),
        "{out}"
    );
}

fn add_note() -> Migration {
    Migration::new("polls", "0002_question_note")
        .depends_on("polls", "0001_initial")
        .operation(Operation::add_field(
            "Question",
            FieldState::new("note", FieldKind::Text).null(),
        ))
}

/// The migration `makemigrations --merge` writes for the two branches.
fn merge_branches() -> Migration {
    Migration::new("polls", "0003_merge_0002_question_note_0002_question_slug")
        .depends_on("polls", "0002_question_note")
        .depends_on("polls", "0002_question_slug")
}

#[tokio::test]
async fn makemigrations_merge_joins_conflicting_leaves_or_says_there_is_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let linear: &[fn() -> Migration] = &[initial, add_slug];
    let (code, out) = run(app(dir.path(), linear), &["makemigrations", "--merge"]).await;
    assert_eq!(code, ExitCode::FAILURE, "{out}");
    assert!(out.contains("no conflicts to merge"), "{out}");

    // Two branches, each adding a field after 0001.
    let branched: &[fn() -> Migration] = &[initial, add_slug, add_note];
    let (code, out) = run(app(dir.path(), branched), &["migrate"]).await;
    assert_eq!(code, ExitCode::FAILURE, "{out}");
    assert!(out.contains("makemigrations --merge"), "{out}");
    let (code, out) = run(app(dir.path(), branched), &["makemigrations", "--merge"]).await;
    assert_eq!(code, ExitCode::SUCCESS, "{out}");
    assert!(out.contains("Merging polls"), "{out}");
    assert!(
        out.contains("  Branch 0002_question_note\n    - Add field note to Question"),
        "{out}"
    );
    let file = dir
        .path()
        .join("migrations/m0003_merge_0002_question_note_0002_question_slug.rs");
    let source = std::fs::read_to_string(&file).expect("the merge migration");
    assert!(
        source.contains(r#".depends_on("polls", "0002_question_note")"#)
            && source.contains(r#".depends_on("polls", "0002_question_slug")"#),
        "{source}"
    );
    let listing = std::fs::read_to_string(dir.path().join("migrations/mod.rs")).expect("mod.rs");
    assert!(
        listing.contains("m0003_merge_0002_question_note_0002_question_slug::migration"),
        "{listing}"
    );

    // With the merge compiled in, both branches apply.
    let merged: &[fn() -> Migration] = &[initial, add_slug, add_note, merge_branches];
    let (code, out) = run(app(dir.path(), merged), &["migrate"]).await;
    assert_eq!(code, ExitCode::SUCCESS, "{out}");
    assert!(
        out.contains("Applying polls.0003_merge_0002_question_note_0002_question_slug... OK"),
        "{out}"
    );
    let (code, out) = run(app(dir.path(), merged), &["makemigrations", "--merge"]).await;
    assert_eq!(code, ExitCode::FAILURE, "{out}");
    assert!(out.contains("no conflicts to merge"), "{out}");
}

#[tokio::test]
async fn squashmigrations_writes_a_replacing_migration_that_showmigrations_counts() {
    let dir = tempfile::tempdir().expect("dir");
    let migrations: &[fn() -> Migration] = &[initial, add_slug];
    let (code, out) = run(app(dir.path(), migrations), &["migrate"]).await;
    assert_eq!(code, ExitCode::SUCCESS, "{out}");

    let (code, out) = run(
        app(dir.path(), migrations),
        &["squashmigrations", "polls", "0002"],
    )
    .await;
    assert_eq!(code, ExitCode::SUCCESS, "{out}");
    assert!(
        out.contains(
            "Will squash the following migrations:\n - 0001_initial\n - 0002_question_slug\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("Optimized from 2 operations to 1 operations."),
        "{out}"
    );
    let file = dir
        .path()
        .join("migrations/m0001_initial_squashed_0002_question_slug.rs");
    let source = std::fs::read_to_string(&file).expect("the squashed migration");
    assert!(
        source.contains(r#".replaces("polls", "0001_initial")"#)
            && source.contains(r#".replaces("polls", "0002_question_slug")"#)
            && source.contains(r#"FieldState::new("slug", FieldKind::Text).null()"#),
        "{source}"
    );

    // The squashed migration compiled in: it counts as applied here.
    fn squashed() -> Migration {
        Migration::new("polls", "0001_initial_squashed_0002_question_slug")
            .replaces("polls", "0001_initial")
            .replaces("polls", "0002_question_slug")
            .operation(Operation::create_model(
                ModelState::new("polls", "Question", "polls_question")
                    .field(
                        FieldState::new("id", FieldKind::BigInteger)
                            .primary_key()
                            .auto(),
                    )
                    .field(FieldState::new("text", FieldKind::String).max_length(200))
                    .field(FieldState::new("votes", FieldKind::Integer).default(0_i64))
                    .field(FieldState::new("slug", FieldKind::Text).null()),
            ))
    }
    let with_squashed: &[fn() -> Migration] = &[initial, add_slug, squashed];
    let (_, out) = run(app(dir.path(), with_squashed), &["showmigrations"]).await;
    assert_eq!(
        out,
        "polls\n [X] 0001_initial_squashed_0002_question_slug\n"
    );
    let (code, out) = run(app(dir.path(), with_squashed), &["migrate"]).await;
    assert_eq!(code, ExitCode::SUCCESS, "{out}");
    assert!(out.contains("No migrations to apply."), "{out}");

    // Squashing the squashed range again is refused.
    let (code, out) = run(
        app(dir.path(), with_squashed),
        &["squashmigrations", "polls", "0001_initial_squashed"],
    )
    .await;
    assert_eq!(code, ExitCode::FAILURE, "{out}");
    assert!(out.contains("is a squashed migration already"), "{out}");
}
