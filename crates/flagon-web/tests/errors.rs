//! Error pages: HTML or problem+json, debug details, production privacy,
//! the app's error templates and handlers, and panics.

use std::path::Path as FsPath;

use flagon_web::testing::{test_settings, TestClient};
use flagon_web::{
    context, get, post, render, App, Error, ErrorReport, Html, Json, RequestContext, Settings,
    StatusCode,
};

fn settings(dir: &FsPath, debug: bool) -> Settings {
    Settings {
        templates_dir: dir.to_owned(),
        debug,
        ..test_settings()
    }
}

/// An error with a cause, to see the chain.
#[derive(Debug)]
struct DbError {
    source: std::io::Error,
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("query failed: password hunter2 rejected")
    }
}

impl std::error::Error for DbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

async fn broken() -> Result<&'static str, Error> {
    Err(Error::internal(DbError {
        source: std::io::Error::new(std::io::ErrorKind::ConnectionReset, "socket closed early"),
    }))
}

async fn teapot() -> Result<&'static str, Error> {
    Err(Error::new(StatusCode::IM_A_TEAPOT, "I only brew <tea>"))
}

fn error_app(dir: &FsPath, debug: bool) -> App {
    App::new()
        .settings(settings(dir, debug))
        .route("/broken", get(broken))
        .route("/teapot", get(teapot))
        .route(
            "/panic",
            get(|| async {
                if true {
                    panic!("kaboom in the handler");
                }
                "unreachable"
            }),
        )
        .route("/ok", get(|| async { "fine" }))
}

#[tokio::test]
async fn browsers_get_an_html_error_page() {
    let dir = tempfile::tempdir().unwrap();
    let client = TestClient::new(error_app(dir.path(), false));
    let response = client
        .get("/teapot")
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::IM_A_TEAPOT);
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let text = response.text();
    assert!(text.contains("<!doctype html>"), "{text}");
    assert!(text.contains("I only brew &lt;tea&gt;"), "{text}");
}

#[tokio::test]
async fn json_clients_get_problem_json() {
    let dir = tempfile::tempdir().unwrap();
    let client = TestClient::new(error_app(dir.path(), false));
    let response = client
        .get("/teapot")
        .header("accept", "application/json")
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::IM_A_TEAPOT);
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json")
    );
    let problem: serde_json::Value = response.json();
    assert_eq!(problem["status"], 418);
    assert_eq!(problem["title"], "I'm a teapot");
    assert_eq!(problem["detail"], "I only brew <tea>");

    let response = client
        .get("/missing")
        .header("accept", "application/json")
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let problem: serde_json::Value = response.json();
    assert_eq!(problem["status"], 404);
}

#[tokio::test]
async fn a_json_request_body_without_accept_gets_problem_json() {
    let dir = tempfile::tempdir().unwrap();
    let app = error_app(dir.path(), false).route(
        "/items",
        post(|Json(_): Json<serde_json::Value>| async { "made" }).csrf_exempt(),
    );
    let client = TestClient::new(app);
    let response = client
        .post("/items")
        .json(&[1, 2])
        .body("{oops")
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json")
    );
}

#[tokio::test]
async fn debug_page_shows_the_error_chain() {
    let dir = tempfile::tempdir().unwrap();
    let client = TestClient::new(error_app(dir.path(), true));
    let response = client.get("/broken").send().await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let text = response.text();
    assert!(
        text.contains("query failed: password hunter2 rejected"),
        "{text}"
    );
    assert!(text.contains("socket closed early"), "{text}");
    assert!(text.contains("/broken"), "the request is described: {text}");
    assert!(text.contains("debug mode"), "{text}");

    let response = client
        .get("/broken")
        .header("accept", "application/json")
        .send()
        .await;
    let problem: serde_json::Value = response.json();
    assert_eq!(
        problem["causes"],
        serde_json::json!([
            "query failed: password hunter2 rejected",
            "socket closed early"
        ])
    );
}

#[tokio::test]
async fn production_hides_server_error_details() {
    let dir = tempfile::tempdir().unwrap();
    let client = TestClient::new(error_app(dir.path(), false));
    let response = client.get("/broken").send().await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let text = response.text();
    assert!(text.contains("Internal Server Error"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!text.contains("socket closed"), "{text}");
    let response = client
        .get("/broken")
        .header("accept", "application/json")
        .send()
        .await;
    let text = response.text();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!text.contains("causes"), "{text}");
    // The test can still see what went wrong.
    let error = response.error().expect("the error");
    assert!(error.chain().join(" ").contains("hunter2"));
}

#[tokio::test]
async fn production_uses_the_apps_error_templates() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("404.html"),
        "<h1>Lost: {{ status }} {{ title }}</h1><p>{{ message }}</p><small>{{ request.path }}</small>",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("500.html"),
        "<h1>Sorry ({{ status }})</h1><p>{{ message }}</p>",
    )
    .unwrap();
    let client = TestClient::new(error_app(dir.path(), false));
    let response = client.get("/no/such/page").send().await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.text(),
        "<h1>Lost: 404 Not Found</h1><p>The requested URL was not found on the server.</p>\
         <small>/no/such/page</small>"
    );
    let response = client.get("/broken").send().await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        response.text(),
        "<h1>Sorry (500)</h1><p>Internal Server Error</p>"
    );
    // A status without a template gets the plain page.
    let response = client.get("/teapot").send().await;
    assert!(
        response.text().contains("I only brew"),
        "{}",
        response.text()
    );
}

#[tokio::test]
async fn debug_mode_shows_details_instead_of_the_error_templates() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("500.html"), "Sorry").unwrap();
    let client = TestClient::new(error_app(dir.path(), true));
    let text = client.get("/broken").send().await.text();
    assert!(text.contains("hunter2"), "{text}");
}

async fn not_found(report: ErrorReport, info: RequestContext) -> (StatusCode, Html<String>) {
    let _ = info.host();
    (
        StatusCode::NOT_FOUND,
        Html(format!(
            "<h1>Custom 404</h1><p>{} / {}</p>",
            report.0.status().as_u16(),
            report.0.message()
        )),
    )
}

#[tokio::test]
async fn error_handler_answers_its_status_with_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let app = error_app(dir.path(), false)
        .error_handler(StatusCode::NOT_FOUND, not_found)
        .error_handler(StatusCode::IM_A_TEAPOT, |report: ErrorReport| async move {
            Json(serde_json::json!({"error": report.0.message()}))
        });
    let client = TestClient::new(app);
    let response = client.get("/nowhere").send().await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.text(),
        "<h1>Custom 404</h1><p>404 / The requested URL was not found on the server.</p>"
    );
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        response.error().map(|e| e.status()),
        Some(StatusCode::NOT_FOUND)
    );
    let response = client.get("/teapot").send().await;
    assert_eq!(response.text(), r#"{"error":"I only brew <tea>"}"#);
}

#[tokio::test]
async fn error_handler_can_render_a_template() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("oops.html"), "Oops: {{ code }}").unwrap();
    let app = error_app(dir.path(), false).error_handler(
        StatusCode::INTERNAL_SERVER_ERROR,
        |report: ErrorReport| async move {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                render("oops.html", context! { code => report.0.status().as_u16() }),
            )
        },
    );
    let client = TestClient::new(app);
    let response = client.get("/broken").send().await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.text(), "Oops: 500");
}

#[tokio::test]
async fn error_handler_keeps_the_allow_header_of_a_405() {
    let dir = tempfile::tempdir().unwrap();
    let app = error_app(dir.path(), false)
        .error_handler(StatusCode::METHOD_NOT_ALLOWED, || async {
            (StatusCode::METHOD_NOT_ALLOWED, "no such method here")
        });
    let client = TestClient::new(app).with_csrf();
    let response = client.delete("/ok").send().await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.text(), "no such method here");
    assert!(
        response.header("allow").is_some_and(|a| a.contains("GET")),
        "{:?}",
        response.header("allow")
    );
}

#[tokio::test]
async fn panicking_handler_is_500_and_the_app_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let client = TestClient::new(error_app(dir.path(), false));
    let response = client.get("/panic").send().await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!response.text().contains("kaboom"), "{}", response.text());
    let chain = response.error().expect("the error").chain().join(" ");
    assert!(chain.contains("kaboom in the handler"), "{chain}");
    let response = client.get("/ok").send().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text(), "fine");
}

#[tokio::test]
async fn panic_message_is_on_the_debug_page() {
    let dir = tempfile::tempdir().unwrap();
    let client = TestClient::new(error_app(dir.path(), true));
    let text = client.get("/panic").send().await.text();
    assert!(text.contains("kaboom in the handler"), "{text}");
}

#[tokio::test]
async fn client_error_messages_are_shown_in_production() {
    let dir = tempfile::tempdir().unwrap();
    let client = TestClient::new(error_app(dir.path(), false));
    let response = client.post("/ok").send().await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(
        response.text().contains("The method POST is not allowed"),
        "{}",
        response.text()
    );
}

#[tokio::test]
async fn a_broken_error_template_falls_back_to_the_plain_page() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("500.html"), "{{ 1 / }}").unwrap();
    std::fs::write(dir.path().join("404.html"), "{{ url_for('nope') }}").unwrap();
    let client = TestClient::new(error_app(dir.path(), false));
    let response = client.get("/broken").send().await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        response.text().contains("<h1>Internal Server Error</h1>"),
        "{}",
        response.text()
    );
    let response = client.get("/nowhere").send().await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(
        response.text().contains("<h1>Not Found</h1>"),
        "{}",
        response.text()
    );
}

#[tokio::test]
async fn scripts_sending_json_with_accept_any_get_problem_json() {
    // fetch() and curl send `Accept: */*` unless told otherwise.
    let dir = tempfile::tempdir().unwrap();
    let app = error_app(dir.path(), false).route(
        "/items",
        post(|Json(_): Json<serde_json::Value>| async { "made" }).csrf_exempt(),
    );
    let client = TestClient::new(app);
    let response = client
        .post("/items")
        .header("accept", "*/*")
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json")
    );
    // A browser posting a form still gets HTML.
    let response = client
        .post("/items")
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .form(&[("a", "b")])
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
}

#[tokio::test]
async fn error_handlers_see_the_request_headers() {
    let app = App::new().error_handler(
        StatusCode::NOT_FOUND,
        |headers: flagon_web::HeaderMap| async move {
            let agent = headers
                .get("user-agent")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("nobody")
                .to_owned();
            (StatusCode::NOT_FOUND, format!("not here, {agent}"))
        },
    );
    let client = TestClient::new(app);
    let response = client
        .get("/missing")
        .header("user-agent", "probe/1")
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.text(), "not here, probe/1");
}

#[tokio::test]
async fn error_status_gives_library_errors_their_status() {
    let app = App::new()
        .error_status(|err| {
            err.downcast_ref::<std::num::ParseIntError>()
                .map(|_| StatusCode::BAD_REQUEST)
        })
        .route(
            "/n/<raw>",
            get(
                |flagon_web::Path(raw): flagon_web::Path<String>| async move {
                    let n: i32 = raw.parse()?;
                    Ok::<_, Error>(n.to_string())
                },
            ),
        )
        .route(
            "/other",
            get(|| async { Err::<String, _>(Error::internal("still a 500")) }),
        );
    let client = TestClient::new(app);
    assert_eq!(client.get("/n/12").send().await.text(), "12");
    let response = client.get("/n/twelve").send().await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let chain = response.error().unwrap().chain().join(" ");
    assert!(
        chain.contains("invalid digit"),
        "the cause is kept: {chain}"
    );
    assert_eq!(
        client.get("/other").send().await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
}

/// A library error the app answers with 404 (as the ORM's "does not exist").
#[derive(Debug)]
struct MissingRow;

impl std::fmt::Display for MissingRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no such row")
    }
}

impl std::error::Error for MissingRow {}

#[derive(Debug)]
struct Broken;

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("broken")
    }
}

impl std::error::Error for Broken {}

/// An app whose handlers report whether converting an error with `?`
/// captured a backtrace.
fn backtrace_app(debug: bool) -> App {
    async fn converted<E: std::error::Error + Send + Sync + 'static>(err: E) -> String {
        let error: flagon_web::Error = err.into();
        format!("backtrace={}", error.backtrace().is_some())
    }
    App::new()
        .settings(flagon_web::Settings {
            debug,
            ..test_settings()
        })
        .error_status(|err| {
            err.downcast_ref::<MissingRow>()
                .map(|_| StatusCode::NOT_FOUND)
        })
        .route("/missing", get(|| converted(MissingRow)))
        .route("/broken", get(|| converted(Broken)))
        .route(
            "/answer",
            get(|| async { Err::<&str, flagon_web::Error>(MissingRow.into()) }),
        )
}

#[tokio::test]
async fn errors_a_client_can_cause_capture_no_backtrace_in_production() {
    let client = TestClient::new(backtrace_app(false));
    assert_eq!(
        client.get("/missing").send().await.text(),
        "backtrace=false"
    );
    assert_eq!(client.get("/broken").send().await.text(), "backtrace=true");
    assert_eq!(
        client.get("/answer").send().await.status(),
        StatusCode::NOT_FOUND
    );
    let debug = TestClient::new(backtrace_app(true));
    assert_eq!(debug.get("/missing").send().await.text(), "backtrace=true");
    // Outside a request nothing says what the status will be: captured.
    let outside: flagon_web::Error = MissingRow.into();
    assert!(outside.backtrace().is_some());
}
