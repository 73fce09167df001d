//! The hello example, driven through the test client as a visitor would,
//! on a fresh SQLite database migrated with the example's own migrations.

use std::process::ExitCode;

use flagon::orm::migrations::{migrate, Target};
use flagon::orm::Db;
use flagon::testing::TestClient;

/// The app on a new, migrated database (the folder goes when dropped).
async fn app() -> (flagon::App, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let url = format!("sqlite://{}", dir.path().join("db.sqlite3").display());
    let db = Db::connect(&url).await.expect("SQLite opens");
    let graph = hello::apps().graph().expect("the migrations load");
    migrate(&db, &graph, &Target::All, |_| {})
        .await
        .expect("the migrations apply");
    (hello::app(db), dir)
}

#[tokio::test]
async fn index_and_hello_answer() {
    let (app, _dir) = app().await;
    let client = TestClient::new(app);
    let response = client.get("/").send().await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text(), "Hello, world!");
    let response = client.get("/hello/Ferris").send().await;
    assert_eq!(response.text(), "Hello, Ferris!");
}

#[tokio::test]
async fn guestbook_counts_visits_in_the_session() {
    let (app, _dir) = app().await;
    let client = TestClient::new(app);
    let first = client.get("/guestbook").send().await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.template(), Some("guestbook.html"));
    assert_eq!(first.context().unwrap()["visits"], 1);
    let second = client.get("/guestbook").send().await;
    assert_eq!(second.context().unwrap()["visits"], 2);
    assert!(second.text().contains("opened this page 2 times"));
}

#[tokio::test]
async fn signing_flashes_a_thank_you_and_lists_the_entry() {
    let (app, _dir) = app().await;
    let client = TestClient::new(app).follow_redirects(true);
    let form = client.get("/guestbook").send().await.text();
    let token = form
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form carries a CSRF token")
        .to_owned();
    let response = client
        .post("/guestbook")
        .form(&[
            ("csrf_token", token.as_str()),
            ("name", "Ann <3"),
            ("message", "Lovely"),
        ])
        .send()
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.redirects().len(), 1);
    let page = response.text();
    assert!(page.contains("Thank you for signing, Ann &lt;3!"), "{page}");
    assert!(
        page.contains("<strong>Ann &lt;3</strong>: Lovely"),
        "{page}"
    );
    let again = client.get("/guestbook").send().await.text();
    assert!(!again.contains("Thank you"), "a flash message shows once");
}

#[tokio::test]
async fn an_empty_signature_is_refused_with_a_message() {
    let (app, _dir) = app().await;
    let client = TestClient::new(app).follow_redirects(true).with_csrf();
    let response = client
        .post("/guestbook")
        .form(&[("name", " "), ("message", "hi")])
        .send()
        .await;
    assert!(response
        .text()
        .contains("Please give both your name and a message."));
    assert!(response.text().contains("Nobody has signed yet"));
}

#[tokio::test]
async fn posting_without_the_csrf_token_is_forbidden() {
    let (app, _dir) = app().await;
    let client = TestClient::new(app);
    let response = client
        .post("/guestbook")
        .form(&[("name", "a"), ("message", "b")])
        .send()
        .await;
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn the_stylesheet_is_served() {
    let (app, _dir) = app().await;
    let client = TestClient::new(app);
    let response = client.get("/static/style.css").send().await;
    assert_eq!(response.status(), 200);
    assert!(response
        .header("content-type")
        .unwrap()
        .starts_with("text/css"));
}

#[tokio::test]
async fn signatures_are_kept_in_the_database_and_checked() {
    let (app, _dir) = app().await;
    let client = TestClient::new(app).follow_redirects(true).with_csrf();
    let long = "x".repeat(81);
    let response = client
        .post("/guestbook")
        .form(&[("name", long.as_str()), ("message", "hi")])
        .send()
        .await;
    let page = response.text();
    assert!(
        page.contains(
            "Please fix the name: ensure this value has at most 80 characters (it has 81)."
        ),
        "{page}"
    );
    assert!(
        page.contains("Nobody has signed yet"),
        "nothing was written"
    );
    for name in ["Ann", "Bob"] {
        client
            .post("/guestbook")
            .form(&[("name", name), ("message", "hello")])
            .send()
            .await;
    }
    let page = client.get("/guestbook").send().await.text();
    let ann = page.find("<strong>Ann</strong>").expect("Ann is listed");
    let bob = page.find("<strong>Bob</strong>").expect("Bob is listed");
    assert!(ann < bob, "entries are in signing order");
}

#[tokio::test]
async fn the_models_match_the_committed_migrations() {
    let (app, _dir) = app().await;
    let mut out = Vec::new();
    let code = flagon::run_command(app, ["hello", "makemigrations", "--check"], &mut out).await;
    let out = String::from_utf8_lossy(&out);
    assert_eq!(code, ExitCode::SUCCESS, "{out}");
    assert!(out.contains("No changes detected"), "{out}");
}
