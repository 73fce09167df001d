//! The six TFB tests through the test client, on a fresh SQLite database
//! made and filled by the app's migrations, and a database made outside
//! Flagon adopted with `migrate --fake-initial`.

use flagon::orm::migrations::{migrate, migrate_with, MigrateOptions, Progress, Target};
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

#[tokio::test]
async fn fake_initial_adopts_tables_made_as_techempower_makes_them() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let url = format!("sqlite://{}", dir.path().join("tfb.sqlite3").display());
    let db = Db::connect(&url).await.expect("SQLite opens");
    // The tables and columns of TechEmpower's create-postgres.sql
    // (bench/create-postgres.sql), with a few rows. PostgreSQL folds its
    // unquoted `World` and `randomNumber` to lower case; SQLite keeps the
    // case it is given, so the names are written folded here.
    for sql in [
        "CREATE TABLE world (id integer NOT NULL, randomnumber integer NOT NULL DEFAULT 0, \
         PRIMARY KEY (id))",
        "INSERT INTO world (id, randomnumber) VALUES (1, 10), (2, 20), (3, 30)",
        "CREATE TABLE fortune (id integer NOT NULL, message varchar(2048) NOT NULL, \
         PRIMARY KEY (id))",
        "INSERT INTO fortune (id, message) VALUES (1, 'fortune: No such file or directory')",
    ] {
        db.execute_unprepared(sql).await.expect(sql);
    }
    let graph = tfb::apps().graph().expect("the migrations load");
    let mut faked = Vec::new();
    migrate_with(
        &db,
        &graph,
        &Target::All,
        MigrateOptions::new().fake_initial(),
        |progress| {
            if let Progress::Faked((_, name), _) = progress {
                faked.push(name);
            }
        },
    )
    .await
    .expect("the tables are adopted");
    assert_eq!(faked, ["0001_initial"]);
    // The seed migration ran and left the filled tables alone.
    assert_eq!(tfb::World::objects().count(&db).await.expect("count"), 3);
    assert_eq!(tfb::Fortune::objects().count(&db).await.expect("count"), 1);
    let client = TestClient::new(tfb::app(db.clone()));
    let response = client.get("/fortunes").send().await;
    assert_eq!(response.status(), 200);
    assert!(response
        .text()
        .contains("fortune: No such file or directory"));
}
