//! Sessions kept in the database.

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

async fn setup() -> (flagon::orm::Db, TestClient) {
    let db = flagon::orm::Db::connect("sqlite::memory:")
        .await
        .expect("SQLite in memory");
    let store = DatabaseSessionStore::new(db.clone());
    store.create_table().await.expect("the session table");
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
    let (db, client) = setup().await;
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
}

#[tokio::test]
async fn unknown_keys_start_a_new_session_with_a_fresh_key() {
    let (db, client) = setup().await;
    client.set_cookie("session", "chosen-by-the-client");
    assert_eq!(client.get("/count").send().await.text(), "1");
    let key = client.cookie("session").expect("a session cookie");
    assert_ne!(key, "chosen-by-the-client");
    assert_eq!(SessionRecord::objects().count(&db).await.unwrap(), 1);
}

#[tokio::test]
async fn flush_deletes_the_row_and_expired_sessions_are_ignored() {
    let (db, client) = setup().await;
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
}
