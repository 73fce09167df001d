//! The six TFB tests through the test client, on a fresh SQLite database
//! made and filled by the app's migrations.

use flagon::orm::migrations::{migrate, Target};
use flagon::orm::{Db, Model};
use flagon::testing::TestClient;
use serde_json::Value;

async fn client() -> (TestClient, Db, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let url = format!("sqlite://{}", dir.path().join("tfb.sqlite3").display());
    let db = Db::connect(&url).await.expect("SQLite opens");
    let graph = tfb::apps().graph().expect("the migrations load");
    migrate(&db, &graph, &Target::All, |_| {})
        .await
        .expect("the migrations apply");
    (TestClient::new(tfb::app(db.clone())), db, dir)
}

#[tokio::test]
async fn plaintext_and_json() {
    let (client, _db, _dir) = client().await;
    let response = client.get("/plaintext").send().await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.header("server"), Some("flagon"));
    assert!(response
        .header("content-type")
        .is_some_and(|v| v.starts_with("text/plain")));
    assert_eq!(response.text(), "Hello, World!");
    let response = client.get("/json").send().await;
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.text(), r#"{"message":"Hello, World!"}"#);
}

#[tokio::test]
async fn db_and_queries_read_random_worlds() {
    let (client, db, _dir) = client().await;
    assert_eq!(
        tfb::World::objects().count(&db).await.expect("count"),
        10_000
    );
    let world: Value = client.get("/db").send().await.json();
    let id = world["id"].as_i64().expect("an id");
    assert!((1..=10_000).contains(&id), "{world}");
    assert!(world["randomNumber"].as_i64().is_some(), "{world}");
    for (query, expected) in [("3", 3), ("0", 1), ("abc", 1), ("501", 500), ("", 1)] {
        let worlds: Value = client
            .get(&format!("/queries?queries={query}"))
            .send()
            .await
            .json();
        assert_eq!(
            worlds.as_array().map(Vec::len),
            Some(expected),
            "queries={query}"
        );
    }
    let worlds: Value = client.get("/queries").send().await.json();
    assert_eq!(worlds.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn fortunes_are_sorted_escaped_and_include_the_added_one() {
    let (client, _db, _dir) = client().await;
    let response = client.get("/fortunes").send().await;
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let page = response.text();
    assert_eq!(page.matches("<tr><td>").count(), 13, "{page}");
    assert!(page.contains("<td>0</td><td>Additional fortune added at request time.</td>"));
    assert!(
        page.contains("&lt;script&gt;alert(&quot;This should not be displayed"),
        "{page}"
    );
    assert!(page.contains("フレームワークのベンチマーク"));
    let script = page.find("&lt;script&gt;").expect("escaped");
    let added = page.find("Additional fortune").expect("added");
    let last = page.find("フレームワーク").expect("unicode last");
    assert!(script < added && added < last, "sorted by message");
}

#[tokio::test]
async fn updates_store_the_new_numbers() {
    let (client, db, _dir) = client().await;
    let worlds: Value = client.get("/updates?queries=5").send().await.json();
    let worlds = worlds.as_array().expect("an array").clone();
    assert_eq!(worlds.len(), 5);
    for world in worlds {
        let id = i32::try_from(world["id"].as_i64().expect("id")).expect("small");
        let stored = tfb::World::objects()
            .filter(tfb::World::ID.eq(id))
            .get(&db)
            .await
            .expect("the row");
        assert_eq!(
            i64::from(stored.random_number),
            world["randomNumber"].as_i64().expect("n")
        );
    }
}
