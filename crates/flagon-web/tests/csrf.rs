//! CSRF protection: tokens from forms and headers, exempt routes, origin
//! checks and the test client's helper.

use flagon_web::testing::{test_settings, MultipartForm, TestClient};
use flagon_web::{context, get, post, render, App, Form, Multipart, Settings, StatusCode};
use serde::Deserialize;

#[derive(Deserialize)]
struct Comment {
    text: String,
}

async fn save(Form(comment): Form<Comment>) -> String {
    format!("saved {}", comment.text)
}

async fn upload(mut form: Multipart) -> flagon_web::Result<String> {
    let mut names = Vec::new();
    while let Some(field) = form.next_field().await? {
        names.push(field.name().unwrap_or("?").to_owned());
    }
    Ok(names.join(","))
}

fn csrf_app(dir: &std::path::Path, settings: Settings) -> App {
    std::fs::write(
        dir.join("form.html"),
        "<form method=\"post\">{{ csrf_input() }}<input name=\"text\"></form>",
    )
    .unwrap();
    std::fs::write(dir.join("token.txt"), "{{ csrf_token() }}").unwrap();
    App::new()
        .settings(Settings {
            templates_dir: dir.to_owned(),
            ..settings
        })
        .route("/form", get(|| async { render("form.html", context! {}) }))
        .route("/token", get(|| async { render("token.txt", context! {}) }))
        .route(
            "/comment",
            post(save).put(save).delete(|| async { "deleted" }),
        )
        .route("/upload", post(upload))
        .route("/webhook", post(|| async { "hooked" }).csrf_exempt())
}

/// The token in `<input type="hidden" name="csrf_token" value="...">`.
fn token_from_form(html: &str) -> String {
    let start = html
        .find("name=\"csrf_token\" value=\"")
        .unwrap_or_else(|| panic!("no csrf input in {html}"))
        + "name=\"csrf_token\" value=\"".len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

#[tokio::test]
async fn post_without_a_token_is_403_saying_why() {
    let dir = tempfile::tempdir().unwrap();
    let client = TestClient::new(csrf_app(dir.path(), test_settings()));
    let response = client.post("/comment").form(&[("text", "hi")]).send().await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let text = response.text();
    assert!(text.contains("CSRF"), "{text}");
    assert!(text.contains("cookie is not set"), "{text}");

    // With the cookie (after a page with a form) but without the token.
    client.get("/form").send().await;
    assert!(client.cookie("csrftoken").is_some());
    let response = client.post("/comment").form(&[("text", "hi")]).send().await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response.text().contains("token is missing"),
        "{}",
        response.text()
    );
}

#[tokio::test]
async fn token_from_a_rendered_form_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let client = TestClient::new(csrf_app(dir.path(), test_settings()));
    let page = client.get("/form").send().await;
    assert_eq!(page.status(), StatusCode::OK, "{}", page.text());
    let token = token_from_form(&page.text());
    assert_eq!(token.len(), 64, "{token}");
    let response = client
        .post("/comment")
        .form(&[("csrf_token", token.as_str()), ("text", "nice post")])
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text());
    assert_eq!(response.text(), "saved nice post");
}

#[tokio::test]
async fn tokens_are_masked_differently_on_every_render() {
    let dir = tempfile::tempdir().unwrap();
    let client = TestClient::new(csrf_app(dir.path(), test_settings()));
    let first = token_from_form(&client.get("/form").send().await.text());
    let second = token_from_form(&client.get("/form").send().await.text());
    assert_ne!(first, second);
    for token in [first, second] {
        let response = client
            .post("/comment")
            .form(&[("csrf_token", token.as_str()), ("text", "x")])
            .send()
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{}", response.text());
    }
}

#[tokio::test]
async fn token_in_the_header_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let client = TestClient::new(csrf_app(dir.path(), test_settings()));
    let token = client.get("/token").send().await.text();
    let response = client
        .put("/comment")
        .header("X-CSRFToken", &token)
        .form(&[("text", "edited")])
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text());
    assert_eq!(response.text(), "saved edited");
    // The bare secret from the cookie also works (as scripts read it).
    let secret = client.cookie("csrftoken").unwrap();
    let response = client
        .delete("/comment")
        .header("X-CSRFToken", &secret)
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text());
}

#[tokio::test]
async fn wrong_token_is_403() {
    let dir = tempfile::tempdir().unwrap();
    let client = TestClient::new(csrf_app(dir.path(), test_settings()));
    client.get("/form").send().await;
    let wrong = "a".repeat(64);
    let response = client
        .post("/comment")
        .form(&[("csrf_token", wrong.as_str()), ("text", "x")])
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().contains("incorrect"), "{}", response.text());
    let response = client
        .post("/comment")
        .header("X-CSRFToken", "not-a-token")
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().contains("format"), "{}", response.text());
}

#[tokio::test]
async fn token_from_another_visitor_is_403() {
    let dir = tempfile::tempdir().unwrap();
    let client = TestClient::new(csrf_app(dir.path(), test_settings()));
    let token = token_from_form(&client.get("/form").send().await.text());
    client.remove_cookie("csrftoken");
    client.get("/form").send().await; // a new secret
    let response = client
        .post("/comment")
        .form(&[("csrf_token", token.as_str()), ("text", "x")])
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn token_in_a_multipart_body_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let client = TestClient::new(csrf_app(dir.path(), test_settings()));
    let token = token_from_form(&client.get("/form").send().await.text());
    let response = client
        .post("/upload")
        .multipart(MultipartForm::new().text("csrf_token", &token).file(
            "doc",
            "a.txt",
            "text/plain",
            "hello",
        ))
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text());
    assert_eq!(response.text(), "csrf_token,doc");
}

#[tokio::test]
async fn exempt_route_needs_no_token() {
    let dir = tempfile::tempdir().unwrap();
    let client = TestClient::new(csrf_app(dir.path(), test_settings()));
    let response = client.post("/webhook").body("{}").send().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text(), "hooked");
}

#[tokio::test]
async fn origin_of_another_site_is_403_even_with_a_valid_token() {
    let dir = tempfile::tempdir().unwrap();
    let client = TestClient::new(csrf_app(dir.path(), test_settings())).with_csrf();
    let response = client
        .post("/comment")
        .header("origin", "https://evil.example")
        .form(&[("text", "x")])
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().contains("Origin"), "{}", response.text());
    let response = client
        .post("/comment")
        .header("origin", "http://localhost")
        .form(&[("text", "x")])
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text());
}

#[tokio::test]
async fn trusted_origins_may_post() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings();
    settings.csrf.trusted_origins = vec!["https://app.example.com".into()];
    let client = TestClient::new(csrf_app(dir.path(), settings)).with_csrf();
    let response = client
        .post("/comment")
        .header("origin", "https://app.example.com")
        .form(&[("text", "x")])
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text());
}

#[tokio::test]
async fn https_request_without_origin_or_referer_is_403() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings();
    settings.security.secure_proxy_ssl_header = "X-Forwarded-Proto: https".into();
    let client = TestClient::new(csrf_app(dir.path(), settings)).with_csrf();
    let response = client
        .post("/comment")
        .header("x-forwarded-proto", "https")
        .form(&[("text", "x")])
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().contains("Referer"), "{}", response.text());
    let response = client
        .post("/comment")
        .header("x-forwarded-proto", "https")
        .header("referer", "https://localhost/form")
        .form(&[("text", "x")])
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text());
}

#[tokio::test]
async fn test_client_with_csrf_sends_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let client = TestClient::new(csrf_app(dir.path(), test_settings())).with_csrf();
    let response = client
        .post("/comment")
        .form(&[("text", "first")])
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text());
    assert_eq!(response.text(), "saved first");
    assert_eq!(
        client.delete("/comment").send().await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn safe_methods_are_not_checked() {
    let dir = tempfile::tempdir().unwrap();
    let client = TestClient::new(csrf_app(dir.path(), test_settings()));
    assert_eq!(client.get("/form").send().await.status(), StatusCode::OK);
    assert_eq!(client.head("/form").send().await.status(), StatusCode::OK);
}

#[tokio::test]
async fn csrf_can_be_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings();
    settings.csrf.enabled = false;
    let client = TestClient::new(csrf_app(dir.path(), settings));
    let response = client.post("/comment").form(&[("text", "x")]).send().await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text());
}

#[tokio::test]
async fn csrf_failures_go_through_the_403_error_handler() {
    let dir = tempfile::tempdir().unwrap();
    let app = csrf_app(dir.path(), test_settings()).error_handler(
        StatusCode::FORBIDDEN,
        |report: flagon_web::ErrorReport| async move {
            (
                StatusCode::FORBIDDEN,
                format!("custom page: {}", report.0.message()),
            )
        },
    );
    let client = TestClient::new(app);
    let response = client.post("/comment").form(&[("text", "x")]).send().await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let text = response.text();
    assert!(
        text.starts_with("custom page: CSRF verification failed"),
        "{text}"
    );
}

fn session_settings() -> Settings {
    let mut settings = test_settings();
    settings.csrf.use_sessions = true;
    settings
}

#[tokio::test]
async fn secret_in_the_session_when_use_sessions_is_on() {
    let dir = tempfile::tempdir().unwrap();
    let client = TestClient::new(csrf_app(dir.path(), session_settings()));
    let response = client.post("/comment").form(&[("text", "hi")]).send().await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response.text().contains("session holds no CSRF secret"),
        "{}",
        response.text()
    );

    let token = token_from_form(&client.get("/form").send().await.text());
    assert!(
        client.cookie("csrftoken").is_none(),
        "no CSRF cookie in session mode"
    );
    assert!(
        client.cookie("session").is_some(),
        "the secret is kept in the session"
    );
    let response = client
        .post("/comment")
        .form(&[("csrf_token", token.as_str()), ("text", "kept")])
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text());
    assert_eq!(response.text(), "saved kept");

    // A token of another session does not pass.
    let other = TestClient::new(csrf_app(dir.path(), session_settings()));
    let foreign = token_from_form(&other.get("/form").send().await.text());
    let response = client
        .post("/comment")
        .form(&[("csrf_token", foreign.as_str()), ("text", "x")])
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn use_sessions_without_sessions_is_refused_at_build() {
    let result = App::new()
        .settings(session_settings())
        .without_sessions()
        .build();
    let message = result.unwrap_err().chain().join(" ");
    assert!(message.contains("csrf.use_sessions"), "{message}");
}

#[tokio::test]
async fn a_large_upload_after_the_token_reaches_the_handler_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings();
    settings.limits.max_body_size = 1024;
    let app = csrf_app(dir.path(), settings).route(
        "/checksum",
        post(|mut form: Multipart| async move {
            let mut sizes = Vec::new();
            while let Some(field) = form.next_field().await? {
                let name = field.name().unwrap_or("?").to_owned();
                let bytes = field.bytes().await?;
                let sum: u64 = bytes.iter().map(|b| u64::from(*b)).sum();
                sizes.push(format!("{name}:{}:{sum}", bytes.len()));
            }
            Ok::<_, flagon_web::Error>(sizes.join(","))
        }),
    );
    let client = TestClient::new(app);
    let token = token_from_form(&client.get("/form").send().await.text());
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let expected: u64 = data.iter().map(|b| u64::from(*b)).sum();
    let response = client
        .post("/checksum")
        .multipart(
            MultipartForm::new()
                .text("csrf_token", &token)
                .text("title", "big")
                .file("doc", "big.bin", "application/octet-stream", data),
        )
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text());
    assert_eq!(
        response.text(),
        format!(
            "csrf_token:64:{},title:3:{},doc:200000:{expected}",
            token.bytes().map(u64::from).sum::<u64>(),
            "big".bytes().map(u64::from).sum::<u64>()
        )
    );
}

#[tokio::test]
async fn a_multipart_token_after_a_file_is_not_looked_for() {
    let dir = tempfile::tempdir().unwrap();
    let client = TestClient::new(csrf_app(dir.path(), test_settings()));
    let token = token_from_form(&client.get("/form").send().await.text());
    let response = client
        .post("/upload")
        .multipart(
            MultipartForm::new()
                .file("doc", "a.txt", "text/plain", "hello")
                .text("csrf_token", &token),
        )
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response.text().contains("token is missing"),
        "{}",
        response.text()
    );
}

#[tokio::test]
async fn a_multipart_token_past_the_pre_read_limit_is_not_found() {
    // The check reads at most about `max_body_size` of a multipart body
    // (whole chunks): a token further in is not looked for.
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings();
    settings.limits.max_body_size = 1024;
    let service = csrf_app(dir.path(), settings).build().unwrap();
    let secret = "s".repeat(32);
    let body = format!(
        "--XYZ\r\nContent-Disposition: form-data; name=\"notes\"\r\n\r\n{}\r\n\
         --XYZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{secret}\r\n--XYZ--\r\n",
        "n".repeat(5000)
    );
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = body
        .into_bytes()
        .chunks(256)
        .map(|chunk| Ok(bytes::Bytes::copy_from_slice(chunk)))
        .collect();
    let mut request = flagon_web::Request::new(flagon_web::Body::from_stream(
        futures_util::stream::iter(chunks),
    ));
    *request.method_mut() = flagon_web::Method::POST;
    *request.uri_mut() = "/upload".parse().unwrap();
    let headers = request.headers_mut();
    headers.insert("host", "localhost".parse().unwrap());
    headers.insert("cookie", format!("csrftoken={secret}").parse().unwrap());
    headers.insert(
        "content-type",
        "multipart/form-data; boundary=XYZ".parse().unwrap(),
    );
    let response = service.handle(request).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}
