//! Static files: content types, caching headers, conditional and range
//! requests, no escaping the folder, and blueprint static folders.

use std::path::{Path as FsPath, PathBuf};

use flagon_web::testing::{test_settings, TestClient};
use flagon_web::{context, get, render, App, Blueprint, Settings, StatusCode};

struct Site {
    _root: tempfile::TempDir,
    root: PathBuf,
}

/// `<root>/static/{app.css, js/app.js, data.txt}`, `<root>/secret.txt`,
/// `<root>/Cargo.toml` and `<root>/admin_static/admin.js`.
fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    std::fs::create_dir_all(root.join("static/js")).unwrap();
    std::fs::create_dir_all(root.join("admin_static")).unwrap();
    std::fs::create_dir_all(root.join("templates")).unwrap();
    std::fs::write(root.join("static/app.css"), "body { color: red }").unwrap();
    std::fs::write(root.join("static/js/app.js"), "console.log(1)").unwrap();
    std::fs::write(root.join("static/data.txt"), "0123456789").unwrap();
    std::fs::write(root.join("secret.txt"), "TOP SECRET").unwrap();
    std::fs::write(root.join("Cargo.toml"), "[package] SECRET").unwrap();
    std::fs::write(root.join("admin_static/admin.js"), "admin()").unwrap();
    Site { _root: dir, root }
}

fn settings(root: &FsPath) -> Settings {
    Settings {
        static_dir: root.join("static"),
        templates_dir: root.join("templates"),
        ..test_settings()
    }
}

fn client(site: &Site) -> TestClient {
    TestClient::new(App::new().settings(settings(&site.root)))
}

#[tokio::test]
async fn files_are_served_with_their_content_type() {
    let site = site();
    let client = client(&site);
    let response = client.get("/static/app.css").send().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text(), "body { color: red }");
    assert!(
        response
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/css")),
        "{:?}",
        response.header("content-type")
    );
    let response = client.get("/static/js/app.js").send().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .header("content-type")
            .is_some_and(|t| t.contains("javascript")),
        "{:?}",
        response.header("content-type")
    );
    // The framework's security headers are added to static files too.
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
}

#[tokio::test]
async fn files_have_etag_and_last_modified() {
    let site = site();
    let client = client(&site);
    let response = client.get("/static/app.css").send().await;
    let etag = response.header("etag").expect("an ETag");
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    assert!(response.header("last-modified").is_some());
}

#[tokio::test]
async fn if_none_match_with_the_etag_is_304() {
    let site = site();
    let client = client(&site);
    let first = client.get("/static/app.css").send().await;
    let etag = first.header("etag").expect("an ETag").to_owned();
    let response = client
        .get("/static/app.css")
        .header("if-none-match", &etag)
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert!(response.bytes().is_empty());
    let response = client
        .get("/static/app.css")
        .header("if-none-match", "\"something-else\"")
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn if_modified_since_is_honoured() {
    let site = site();
    let client = client(&site);
    let first = client.get("/static/app.css").send().await;
    let modified = first.header("last-modified").unwrap().to_owned();
    let response = client
        .get("/static/app.css")
        .header("if-modified-since", &modified)
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn range_request_is_206_with_the_slice() {
    let site = site();
    let client = client(&site);
    let response = client
        .get("/static/data.txt")
        .header("range", "bytes=2-5")
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(response.text(), "2345");
    assert_eq!(response.header("content-range"), Some("bytes 2-5/10"));
    let response = client
        .get("/static/data.txt")
        .header("range", "bytes=50-60")
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::RANGE_NOT_SATISFIABLE);
}

#[tokio::test]
async fn head_gives_headers_without_the_file() {
    let site = site();
    let client = client(&site);
    let response = client.head("/static/data.txt").send().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.bytes().is_empty());
    assert_eq!(response.header("content-length"), Some("10"));
}

#[tokio::test]
async fn dot_dot_does_not_escape_the_folder() {
    let site = site();
    let client = client(&site);
    for path in [
        "/static/../Cargo.toml",
        "/static/../secret.txt",
        "/static/js/../../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E/Cargo.toml",
        "/static/..%2fsecret.txt",
        "/static/js%2f..%2f..%2fsecret.txt",
        "/static/%2e%2e%5csecret.txt",
    ] {
        let response = client.get(path).send().await;
        let text = response.text();
        assert!(!text.contains("SECRET"), "{path} leaked: {text}");
        assert!(
            response.status().is_client_error(),
            "{path}: {}",
            response.status()
        );
    }
}

#[tokio::test]
async fn absolute_paths_do_not_escape_the_folder() {
    let site = site();
    let client = client(&site);
    let secret = site.root.join("secret.txt");
    let encoded = secret.display().to_string().replace('/', "%2F");
    for path in [
        format!("/static/{encoded}"),
        format!("/static/{}", secret.display()),
        format!("/static//{}", secret.display()),
    ] {
        let response = client.get(&path).send().await;
        assert!(!response.text().contains("SECRET"), "{path} leaked");
        assert!(response.status().is_client_error(), "{path}");
    }
}

#[tokio::test]
async fn missing_file_is_404() {
    let site = site();
    let client = client(&site);
    let response = client.get("/static/nope.css").send().await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = client.get("/static/js").send().await;
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "folders are not listed"
    );
}

#[tokio::test]
async fn static_files_can_be_turned_off() {
    let site = site();
    let client = TestClient::new(
        App::new()
            .settings(settings(&site.root))
            .without_static_files(),
    );
    assert_eq!(
        client.get("/static/app.css").send().await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn static_url_setting_moves_the_files() {
    let site = site();
    let client = TestClient::new(App::new().settings(Settings {
        static_url: "/assets/".into(),
        ..settings(&site.root)
    }));
    assert_eq!(
        client.get("/assets/app.css").send().await.text(),
        "body { color: red }"
    );
    assert_eq!(
        client.get("/static/app.css").send().await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        client
            .service()
            .url_for("static", [("filename", "app.css")])
            .unwrap(),
        "/assets/app.css"
    );
}

#[tokio::test]
async fn blueprint_static_folder_is_served_under_its_prefix() {
    let site = site();
    std::fs::write(
        site.root.join("templates/page.txt"),
        "{{ url_for('admin.static', filename='admin.js') }} {{ static('app.css') }}",
    )
    .unwrap();
    let admin = Blueprint::new("admin", "/admin")
        .static_folder(site.root.join("admin_static"))
        .route("/", get(|| async { render("page.txt", context! {}) }));
    let client = TestClient::new(App::new().settings(settings(&site.root)).blueprint(admin));
    let response = client.get("/admin/static/admin.js").send().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text(), "admin()");
    assert!(response.header("etag").is_some());
    assert_eq!(
        client
            .get("/admin/static/../secret.txt")
            .send()
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        client.get("/admin/static/app.css").send().await.status(),
        StatusCode::NOT_FOUND,
        "the blueprint serves its own folder only"
    );
    assert_eq!(
        client.get("/admin/").send().await.text(),
        "/admin/static/admin.js /static/app.css"
    );
}
