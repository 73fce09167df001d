//! The web core and the ORM together, on every backend: the Db extractor,
//! a missing row as a 404, a database that is gone as a 503, and the
//! database setting.

#[path = "../../flagon-orm/tests/support/mod.rs"]
mod support;

use flagon::prelude::*;
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
    let settings = Settings {
        database_url: format!("sqlite://{}", dir.join("app.sqlite3").display()),
        ..test_settings()
    };
    let db = flagon::connect_database(&settings)
        .await
        .expect("the file database opens");
    assert_eq!(db.dialect(), flagon::orm::Dialect::Sqlite);
    assert!(dir.join("app.sqlite3").exists());
    let bad = Settings {
        database_url: "oracle://nope".to_owned(),
        ..test_settings()
    };
    let err = flagon::connect_database(&bad).await.unwrap_err();
    assert!(err.to_string().contains("invalid database_url"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("flagon-db-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    dir
}
