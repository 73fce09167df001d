//! What handlers may return and the responses that makes.

use flagon_web::testing::{test_settings, TestClient};
use flagon_web::{
    context, get, render, App, Error, File, HeaderMap, HeaderValue, Html, Json, Redirect, Settings,
    StatusCode, Stream,
};

#[tokio::test]
async fn static_str_is_plain_text() {
    let client = TestClient::new(App::new().route("/", get(|| async { "hi there" })));
    let response = client.get("/").send().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(response.text(), "hi there");
}

#[tokio::test]
async fn string_is_plain_text() {
    let client = TestClient::new(App::new().route("/", get(|| async { format!("{}-{}", 1, 2) })));
    let response = client.get("/").send().await;
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(response.text(), "1-2");
}

#[tokio::test]
async fn html_is_sent_as_is() {
    let client = TestClient::new(
        App::new().route("/", get(|| async { Html("<h1>Hi & bye</h1>".to_owned()) })),
    );
    let response = client.get("/").send().await;
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(response.text(), "<h1>Hi & bye</h1>");
}

#[derive(serde::Serialize)]
struct Todo {
    id: u32,
    title: &'static str,
    done: bool,
}

#[tokio::test]
async fn json_is_serialized() {
    let client = TestClient::new(App::new().route(
        "/todo",
        get(|| async {
            Json(Todo {
                id: 7,
                title: "ship",
                done: false,
            })
        }),
    ));
    let response = client.get("/todo").send().await;
    assert_eq!(response.header("content-type"), Some("application/json"));
    let value: serde_json::Value = response.json();
    assert_eq!(
        value,
        serde_json::json!({"id": 7, "title": "ship", "done": false})
    );
}

#[tokio::test]
async fn redirects_have_the_right_status_and_location() {
    let app = App::new()
        .route("/to", get(|| async { Redirect::to("/done") }))
        .route(
            "/temporary",
            get(|| async { Redirect::temporary("/elsewhere?x=1") }),
        )
        .route(
            "/permanent",
            get(|| async { Redirect::permanent("https://example.com/new") }),
        )
        .route("/done", get(|| async { "done" }));
    let client = TestClient::new(app);
    let cases = [
        ("/to", StatusCode::SEE_OTHER, "/done"),
        (
            "/temporary",
            StatusCode::TEMPORARY_REDIRECT,
            "/elsewhere?x=1",
        ),
        (
            "/permanent",
            StatusCode::PERMANENT_REDIRECT,
            "https://example.com/new",
        ),
    ];
    for (path, status, location) in cases {
        let response = client.get(path).send().await;
        assert_eq!(response.status(), status, "{path}");
        assert_eq!(response.header("location"), Some(location), "{path}");
    }
    let followed = client.get("/to").follow_redirects(true).send().await;
    assert_eq!(followed.text(), "done");
    assert_eq!(followed.url(), "/done");
    assert_eq!(
        followed.redirects(),
        &[(StatusCode::SEE_OTHER, "/done".to_owned())]
    );
}

#[tokio::test]
async fn status_and_body_tuple_sets_the_status() {
    let client =
        TestClient::new(App::new().route("/", get(|| async { (StatusCode::ACCEPTED, "queued") })));
    let response = client.get("/").send().await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(response.text(), "queued");
}

#[tokio::test]
async fn status_headers_and_body_tuple_sets_all_three() {
    let app = App::new()
        .route(
            "/array",
            get(|| async {
                (
                    StatusCode::CREATED,
                    [("x-id", "7"), ("location", "/item/7")],
                    "made",
                )
            }),
        )
        .route(
            "/map",
            get(|| async {
                let mut headers = HeaderMap::new();
                headers.insert("x-map", HeaderValue::from_static("yes"));
                (
                    StatusCode::IM_A_TEAPOT,
                    headers,
                    Json(serde_json::json!({"ok": true})),
                )
            }),
        );
    let client = TestClient::new(app);
    let response = client.get("/array").send().await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.header("x-id"), Some("7"));
    assert_eq!(response.header("location"), Some("/item/7"));
    assert_eq!(response.text(), "made");
    let response = client.get("/map").send().await;
    assert_eq!(response.status(), StatusCode::IM_A_TEAPOT);
    assert_eq!(response.header("x-map"), Some("yes"));
    assert_eq!(response.header("content-type"), Some("application/json"));
}

async fn maybe(flagon_web::Path(n): flagon_web::Path<i32>) -> Result<String, Error> {
    if n < 0 {
        Err(Error::bad_request("n must not be negative"))
    } else {
        Ok(format!("n = {n}"))
    }
}

#[tokio::test]
async fn result_answers_with_either_side() {
    let client = TestClient::new(App::new().route("/n/<n>", get(maybe)));
    let ok = client.get("/n/3").send().await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.text(), "n = 3");
    let err = client.get("/n/-3").send().await;
    assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    assert!(
        err.text().contains("n must not be negative"),
        "{}",
        err.text()
    );
    assert_eq!(
        err.error().map(|e| e.message()),
        Some("n must not be negative")
    );
}

#[tokio::test]
async fn stream_sends_chunks_in_order() {
    let client = TestClient::new(App::new().route(
        "/events",
        get(|| async {
            let chunks = futures_util::stream::iter(
                ["data: 1\n\n", "data: 2\n\n", "data: 3\n\n"].map(Ok::<_, std::io::Error>),
            );
            Stream::new("text/event-stream", chunks)
        }),
    ));
    let response = client.get("/events").send().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.header("content-type"), Some("text/event-stream"));
    assert_eq!(response.text(), "data: 1\n\ndata: 2\n\ndata: 3\n\n");
}

#[tokio::test]
async fn file_is_sent_with_type_length_and_attachment_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.csv");
    std::fs::write(&path, "a,b\n1,2\n").unwrap();
    let missing = dir.path().join("missing.csv");
    let app = App::new()
        .route(
            "/inline",
            get({
                let path = path.clone();
                move || async move { File::open(path).await }
            }),
        )
        .route(
            "/download",
            get({
                let path = path.clone();
                move || async move {
                    Ok::<_, Error>(File::open(path).await?.attachment("résumé 2024.csv"))
                }
            }),
        )
        .route(
            "/missing",
            get(move || async move { File::open(missing).await }),
        );
    let client = TestClient::new(app);
    let response = client.get("/inline").send().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.header("content-type"), Some("text/csv"));
    assert_eq!(response.header("content-length"), Some("8"));
    assert_eq!(response.header("content-disposition"), None);
    assert_eq!(response.text(), "a,b\n1,2\n");

    let response = client.get("/download").send().await;
    let disposition = response.header("content-disposition").unwrap_or_default();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(
        disposition.contains("filename=\"r_sum__2024.csv\""),
        "{disposition}"
    );
    assert!(
        disposition.contains("filename*=UTF-8''r%C3%A9sum%C3%A9%202024%2Ecsv"),
        "{disposition}"
    );
    assert_eq!(response.text(), "a,b\n1,2\n");

    assert_eq!(
        client.get("/missing").send().await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn render_uses_a_template_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hello.html"),
        "<p>Hello {{ name }}, you have {{ items|length }} items</p>",
    )
    .unwrap();
    let app = App::new()
        .settings(Settings {
            templates_dir: dir.path().to_owned(),
            ..test_settings()
        })
        .route(
            "/",
            get(|| async {
                render(
                    "hello.html",
                    context! { name => "Ann", items => vec![1, 2, 3] },
                )
            }),
        );
    let client = TestClient::new(app);
    let response = client.get("/").send().await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text());
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(response.text(), "<p>Hello Ann, you have 3 items</p>");
    assert_eq!(response.template(), Some("hello.html"));
}

#[tokio::test]
async fn status_code_alone_is_an_empty_response() {
    let client = TestClient::new(App::new().route("/", get(|| async { StatusCode::NO_CONTENT })));
    let response = client.get("/").send().await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.bytes().is_empty());
}

#[tokio::test]
async fn abort_answers_with_the_status() {
    let app = App::new().route(
        "/admin",
        get(|| async { Err::<&str, _>(flagon_web::abort(StatusCode::FORBIDDEN)) }),
    );
    let response = TestClient::new(app).get("/admin").send().await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().contains("Forbidden"), "{}", response.text());
}

#[tokio::test]
async fn files_from_a_folder_cannot_escape_it() {
    let root = tempfile::tempdir().unwrap();
    let uploads = root.path().join("uploads");
    std::fs::create_dir(&uploads).unwrap();
    std::fs::write(uploads.join("report.txt"), "numbers").unwrap();
    std::fs::write(root.path().join("secret.txt"), "do not serve").unwrap();
    let folder = uploads.clone();
    let app = App::new().route(
        "/download/<path:name>",
        get(move |flagon_web::Path(name): flagon_web::Path<String>| {
            let folder = folder.clone();
            async move { File::open_in(&folder, &name).await }
        }),
    );
    let client = TestClient::new(app);
    let response = client.get("/download/report.txt").send().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text(), "numbers");
    for path in [
        "/download/../secret.txt",
        "/download/%2e%2e/secret.txt",
        "/download/a/%2e%2e/%2e%2e/secret.txt",
    ] {
        let response = client.get(path).send().await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(!response.text().contains("do not serve"), "{path}");
    }
    let absolute = format!("/download/{}", root.path().join("secret.txt").display());
    assert_eq!(
        client.get(&absolute).send().await.status(),
        StatusCode::NOT_FOUND
    );
}
