//! Sessions kept in the database, on every backend, with the table made by
//! the sessions app's migration.

#[path = "../../flagon-orm/tests/support/mod.rs"]
mod support;

use flagon::orm::migrations::{detect_changes, migrate, Apps, GivenAnswers, Target};
use flagon::prelude::*;
use flagon::testing::{test_settings, TestClient};
use flagon::{DatabaseSessionStore, SessionRecord};

async fn counter(session: Session) -> Result<String> {
    let n: u32 = session.get("n").unwrap_or(0) + 1;
    session.insert("n", n)?;
    Ok(n.to_string())
}

async fn logout(session: Session) -> &'static str {
    session.flush();
    "bye"
}

async fn setup(db: &flagon::orm::Db) -> (flagon::orm::Db, TestClient) {
    let db = db.clone();
    let graph = Apps::new()
        .app(DatabaseSessionStore::app())
        .graph()
        .expect("the sessions app's migrations");
    migrate(&db, &graph, &Target::All, |_| {})
        .await
        .expect("the session table");
    let store = DatabaseSessionStore::new(db.clone());
    let app = App::new()
        .settings(test_settings())
        .database(db.clone())
        .session_store(store)
        .route("/count", get(counter))
        .route("/logout", get(logout));
    (db, TestClient::new(app))
}

#[tokio::test]
async fn sessions_live_in_the_table_under_random_keys() {
    support::on_each_backend(|t| async move {
        let (db, client) = setup(&t.db).await;
        assert_eq!(client.get("/count").send().await.text(), "1");
        assert_eq!(client.get("/count").send().await.text(), "2");
        let key = client.cookie("session").expect("a session cookie");
        assert_eq!(key.len(), 32);
        let record = SessionRecord::objects()
            .get(&db)
            .await
            .expect("one stored session");
        assert_eq!(record.session_key, key);
        assert_eq!(record.session_data, r#"{"n":2}"#);
        t
    })
    .await;
}

#[tokio::test]
async fn unknown_keys_start_a_new_session_with_a_fresh_key() {
    support::on_each_backend(|t| async move {
        let (db, client) = setup(&t.db).await;
        client.set_cookie("session", "chosen-by-the-client");
        assert_eq!(client.get("/count").send().await.text(), "1");
        let key = client.cookie("session").expect("a session cookie");
        assert_ne!(key, "chosen-by-the-client");
        assert_eq!(SessionRecord::objects().count(&db).await.unwrap(), 1);
        t
    })
    .await;
}

#[tokio::test]
async fn flush_deletes_the_row_and_expired_sessions_are_ignored() {
    support::on_each_backend(|t| async move {
        let (db, client) = setup(&t.db).await;
        client.get("/count").send().await;
        client.get("/logout").send().await;
        assert_eq!(SessionRecord::objects().count(&db).await.unwrap(), 0);
        assert!(client.cookie("session").is_none(), "the cookie is removed");

        client.get("/count").send().await;
        SessionRecord::objects()
            .update(
                &db,
                [SessionRecord::EXPIRE_DATE.set(chrono::Utc::now() - chrono::Duration::hours(1))],
            )
            .await
            .unwrap();
        assert_eq!(
            client.get("/count").send().await.text(),
            "1",
            "an expired session starts over"
        );
        let store = DatabaseSessionStore::new(db.clone());
        assert_eq!(store.clear_expired().await.unwrap(), 1);
        assert_eq!(SessionRecord::objects().count(&db).await.unwrap(), 1);
        t
    })
    .await;
}

#[test]
fn the_migration_matches_the_session_model() {
    let apps = Apps::new().app(DatabaseSessionStore::app());
    let graph = apps.graph().expect("graph");
    let changes = detect_changes(
        &graph.final_state().expect("state"),
        &apps.models_state(),
        &mut GivenAnswers::default(),
    )
    .expect("changes");
    assert!(changes.is_empty(), "{changes:?}");
}

#[tokio::test]
async fn requests_that_do_not_use_the_session_work_while_its_database_is_down() {
    support::on_each_backend(|t| async move {
        let graph = Apps::new()
            .app(DatabaseSessionStore::app())
            .graph()
            .expect("the sessions app's migrations");
        migrate(&t.db, &graph, &Target::All, |_| {})
            .await
            .expect("the session table");
        let static_dir = tempfile::tempdir().expect("a folder for static files");
        std::fs::write(static_dir.path().join("site.css"), "p{}").expect("a static file");
        let settings = Settings {
            static_dir: static_dir.path().to_owned(),
            ..test_settings()
        };
        let app = App::new()
            .settings(settings)
            .session_store(DatabaseSessionStore::new(t.db.clone()))
            .route("/count", get(counter))
            .route("/health", get(|| async { "ok" }));
        let client = TestClient::new(app);
        assert_eq!(client.get("/count").send().await.text(), "1");
        assert!(client.cookie("session").is_some());
        // The database stops: every query on its pool fails from now on.
        t.db.close().await;
        assert_eq!(client.get("/health").send().await.text(), "ok");
        assert_eq!(client.get("/static/site.css").send().await.text(), "p{}");
        assert_eq!(
            client.get("/missing").send().await.status(),
            StatusCode::NOT_FOUND
        );
        let count = client.get("/count").send().await;
        assert!(
            count.status().is_server_error(),
            "a route using the session reports the database: {}",
            count.status()
        );
        t
    })
    .await;
}
