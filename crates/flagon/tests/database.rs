//! The web core and the ORM together, on every backend: the Db extractor,
//! a missing row as a 404, a database that is gone as a 503, values
//! `full_clean` refuses as a 400, and the database setting.

#[path = "../../flagon-orm/tests/support/mod.rs"]
mod support;

use flagon::prelude::*;
use flagon::settings::Secret;
use flagon::testing::{test_settings, TestClient};
use serde::Serialize;

#[derive(Model, Serialize, Debug, Clone)]
#[model(app = "notes")]
struct Note {
    id: i64,
    #[field(max_length = 100)]
    title: String,
}

async fn show(Path(id): Path<i64>, db: Db) -> Result<Json<Note>> {
    Ok(Json(
        Note::objects().filter(Note::ID.eq(id)).get(&db).await?,
    ))
}

async fn create(db: Db, Json(title): Json<String>) -> Result<(StatusCode, Json<Note>)> {
    let mut note = Note { id: 0, title };
    note.save(&db).await?;
    Ok((StatusCode::CREATED, Json(note)))
}

async fn create_checked(db: Db, Json(title): Json<String>) -> Result<(StatusCode, Json<Note>)> {
    let mut note = Note { id: 0, title };
    note.full_clean(&db).await?;
    note.save(&db).await?;
    Ok((StatusCode::CREATED, Json(note)))
}

async fn database(db: &flagon::orm::Db) -> flagon::orm::Db {
    flagon::orm::schema::create_table(db, Note::META)
        .await
        .expect("the notes table");
    db.clone()
}

fn app(db: flagon::orm::Db) -> App {
    App::new()
        .settings(test_settings())
        .database(db)
        .route("/notes", post(create).csrf_exempt())
        .route("/notes/checked", post(create_checked).csrf_exempt())
        .route("/notes/<int:id>", get(show))
}

#[tokio::test]
async fn handlers_query_through_the_db_extractor() {
    support::on_each_backend(|t| async move {
        let client = TestClient::new(app(database(&t.db).await));
        let created = client.post("/notes").json("First").send().await;
        assert_eq!(created.status(), StatusCode::CREATED, "{}", created.text());
        let id = created.json::<serde_json::Value>()["id"]
            .as_i64()
            .expect("an id");
        let shown = client.get(&format!("/notes/{id}")).send().await;
        assert_eq!(shown.json::<serde_json::Value>()["title"], "First");
        t
    })
    .await;
}

#[tokio::test]
async fn a_missing_row_is_a_404() {
    support::on_each_backend(|t| async move {
        let client = TestClient::new(app(database(&t.db).await));
        let response = client
            .get("/notes/999")
            .header("accept", "application/json")
            .send()
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let chain = response.error().expect("an error").chain().join(" ");
        assert!(
            chain.contains("Note matching the query does not exist"),
            "{chain}"
        );
        t
    })
    .await;
}

#[tokio::test]
async fn a_database_that_is_gone_is_a_503() {
    let db = flagon::orm::Db::connect("sqlite::memory:")
        .await
        .expect("SQLite in memory");
    let db = database(&db).await;
    db.close().await;
    let client = TestClient::new(app(db));
    let response = client.get("/notes/1").send().await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn too_long_values_are_refused_before_writing() {
    support::on_each_backend(|t| async move {
        let client = TestClient::new(app(database(&t.db).await));
        let response = client.post("/notes").json(&"x".repeat(101)).send().await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let chain = response.error().expect("an error").chain().join(" ");
        assert!(chain.contains("Note.title"), "{chain}");
        t
    })
    .await;
}

#[tokio::test]
async fn values_full_clean_refuses_are_a_400() {
    support::on_each_backend(|t| async move {
        let client = TestClient::new(app(database(&t.db).await));
        let response = client.post("/notes/checked").json("").send().await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let chain = response.error().expect("an error").chain().join(" ");
        assert!(
            chain.contains("title: This field cannot be blank."),
            "{chain}"
        );
        let created = client.post("/notes/checked").json("Fine").send().await;
        assert_eq!(created.status(), StatusCode::CREATED, "{}", created.text());
        t
    })
    .await;
}

#[tokio::test]
async fn without_a_database_the_extractor_says_what_to_do() {
    let app = App::new()
        .settings(test_settings())
        .route("/notes/<int:id>", get(show));
    let response = TestClient::new(app).get("/notes/1").send().await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let chain = response.error().expect("an error").chain().join(" ");
    assert!(chain.contains("App::database"), "{chain}");
}

#[tokio::test]
async fn the_database_setting_picks_the_backend() {
    let dir = tempfile_dir();
    let settings = Settings::from_sources(
        Some(&format!(
            "[database]\nurl = 'sqlite://{}'\nmax_connections = 2\nacquire_timeout = '1500ms'",
            dir.join("app.sqlite3").display()
        )),
        std::path::Path::new("flagon.toml"),
        Vec::new(),
    )
    .unwrap();
    let database = flagon::DatabaseSettings::from_settings(&settings).unwrap();
    assert_eq!(database.max_connections, 2);
    assert_eq!(
        database.acquire_timeout,
        std::time::Duration::from_millis(1500)
    );
    let db = flagon::connect_database(&settings)
        .await
        .expect("the file database opens");
    assert_eq!(db.dialect(), flagon::orm::Dialect::Sqlite);
    assert!(dir.join("app.sqlite3").exists());
    let mut bad = test_settings();
    flagon::DatabaseSettings {
        url: Secret::new("oracle://nope"),
        ..Default::default()
    }
    .write_to(&mut bad);
    let err = flagon::connect_database(&bad).await.unwrap_err();
    assert!(err.to_string().contains("invalid database url"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_database_section_is_read_from_the_environment_and_checked() {
    let dir = tempfile_dir();
    let url = format!("sqlite://{}", dir.join("env.sqlite3").display());
    let settings = Settings::from_sources(
        None,
        std::path::Path::new("flagon.toml"),
        vec![
            ("FLAGON_DATABASE__URL".to_owned(), url.clone()),
            (
                "FLAGON_DATABASE__MAX_CONNECTIONS".to_owned(),
                "3".to_owned(),
            ),
        ],
    )
    .unwrap();
    let database = flagon::DatabaseSettings::from_settings(&settings).unwrap();
    assert_eq!(
        (database.url.expose(), database.max_connections),
        (url.as_str(), 3)
    );
    // The deprecated name still works.
    let old = Settings::from_sources(
        None,
        std::path::Path::new("flagon.toml"),
        vec![("FLAGON_DATABASE_URL".to_owned(), url.clone())],
    )
    .unwrap();
    let database = flagon::DatabaseSettings::from_settings(&old).unwrap();
    assert_eq!(database.url.expose(), url);
    // A key of the wrong type, or an unknown one, is an error naming it.
    for (toml, named) in [
        ("[database]\nmax_connections = 'many'", "max_connections"),
        ("[database]\nurll = 'sqlite://x'", "urll"),
        ("[database]\nacquire_timeout = '1e30s'", "invalid duration"),
    ] {
        let settings = Settings::from_toml(toml).unwrap();
        let err = flagon::connect_database(&settings).await.unwrap_err();
        assert!(
            matches!(err, flagon::orm::OrmError::Configuration { .. }),
            "{toml}: {err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains("[database]") && text.contains(named),
            "{toml}: {text}"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn database_settings_never_show_the_password() {
    let settings =
        Settings::from_toml("[database]\nurl = 'postgres://app:dbpassword@db.internal/app'")
            .unwrap();
    let database = flagon::DatabaseSettings::from_settings(&settings).unwrap();
    for shown in [
        format!("{database:?}"),
        format!("{database:#?}"),
        format!("{settings:?}"),
        format!("{:?}", database.url),
    ] {
        assert!(!shown.contains("dbpassword"), "{shown}");
    }
    assert!(
        format!("{database:?}").contains("postgres://app:********@db.internal/app"),
        "{database:?}"
    );
}

/// A folder of its own for each call: tests run at once, and each removes
/// its folder when done.
fn tempfile_dir() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("flagon-db-test-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    dir
}
