//! Regression tests for defects a code review found: each section names the
//! defect and where it was; every test here failed before its fix.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use flagon_web::testing::{test_settings, TestClient};
use flagon_web::{
    get, post, App, Body, Error, File, Method, Multipart, Path, Request, RequestContext, Session,
    StatusCode,
};

// ---------------------------------------------------------------------------
// 1. An error handler that itself fails is called again for its own error:
//    unbounded recursion (service.rs `finish` <-> handler.rs `from_handler`).
//    With a handler that always fails the process dies of a stack overflow.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn failing_error_handler_is_not_reentered() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let app = App::new()
        .route(
            "/boom",
            get(|| async { Err::<String, _>(Error::internal("boom")) }),
        )
        .error_handler(StatusCode::INTERNAL_SERVER_ERROR, move || {
            let counter = counter.clone();
            async move {
                // Fails the first 29 times (say the database behind the error
                // page is down). A handler that always fails never returns:
                // the stack overflows and the whole process aborts.
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                if n < 30 {
                    Err(Error::internal("the error page failed too"))
                } else {
                    Ok(format!("handled after {n} calls"))
                }
            }
        });
    let client = TestClient::new(app);
    let response = client.get("/boom").send().await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the 500 handler was re-entered for its own error (response: {} {})",
        response.status(),
        response.text()
    );
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

// ---------------------------------------------------------------------------
// 2. Open redirect through the strict-slash 308 (service.rs dispatch,
//    Matched::AddSlash): the Location is the raw path plus `/`, so a path
//    starting with `/\` or `//` becomes a protocol-relative URL.
// ---------------------------------------------------------------------------

fn assert_not_offsite(location: Option<&str>) {
    let location = location.expect("a Location header");
    assert!(
        !location.starts_with("//") && !location.starts_with("/\\"),
        "the strict-slash redirect points to another site: Location: {location}"
    );
}

#[tokio::test]
async fn strict_slash_redirect_is_not_an_open_redirect_with_a_backslash() {
    // Any app with a `/<name>/` route (hyper accepts `\` in the target).
    let client = TestClient::new(App::new().route("/<name>/", get(|| async { "page" })));
    let response = client.get("/\\evil.com").send().await;
    assert_not_offsite(response.header("location"));
}

#[tokio::test]
async fn strict_slash_redirect_is_not_an_open_redirect_with_double_slash() {
    // A catch-all `/<path:page>/` (flatpages-style) route.
    let client = TestClient::new(App::new().route("/<path:page>/", get(|| async { "page" })));
    let response = client.get("//evil.com").send().await;
    assert_not_offsite(response.header("location"));
}

// ---------------------------------------------------------------------------
// 3. The CSRF check buffers the whole multipart body (up to
//    limits.max_upload_size, 64 MiB by default) before the handler runs, on
//    every unsafe non-exempt route, for any client that sends its own
//    `csrftoken` cookie (csrf.rs token_from_body / multipart_token).
// ---------------------------------------------------------------------------

/// A POST whose multipart body starts with the CSRF token field and a file
/// field, then stays open (the rest of a large upload still on its way).
fn open_multipart_post(
    path: &str,
) -> (
    Request,
    tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    let secret = "a".repeat(32);
    let first = format!(
        "--XYZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{secret}\r\n\
         --XYZ\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"big.bin\"\r\n\r\nxxxx"
    );
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tx.try_send(Ok(Bytes::from(first))).unwrap();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let mut request = Request::new(Body::from_stream(stream));
    *request.method_mut() = Method::POST;
    *request.uri_mut() = path.parse().unwrap();
    let headers = request.headers_mut();
    headers.insert("host", "localhost".parse().unwrap());
    headers.insert("cookie", format!("csrftoken={secret}").parse().unwrap());
    headers.insert(
        "content-type",
        "multipart/form-data; boundary=XYZ".parse().unwrap(),
    );
    (request, tx)
}

#[tokio::test]
async fn multipart_upload_streams_to_the_handler_with_csrf_on() {
    let service = App::new()
        .settings(test_settings())
        .route(
            "/upload",
            post(|mut form: Multipart| async move {
                let field = form.next_field().await?.expect("a field");
                Ok::<_, Error>(field.name().unwrap_or("?").to_owned())
            }),
        )
        .build()
        .unwrap();
    let (request, _still_sending) = open_multipart_post("/upload");
    let response = tokio::time::timeout(Duration::from_secs(3), service.handle(request)).await;
    assert!(
        response.is_ok(),
        "the handler did not see the first field: the CSRF check is waiting for (and buffering) the whole upload"
    );
}

#[tokio::test]
async fn csrf_check_does_not_buffer_multipart_bodies_for_routes_that_ignore_them() {
    // A route that never reads a body: the token is in the first bytes, yet
    // the check holds the request until the client has sent (and the server
    // has buffered in memory) the entire body.
    let service = App::new()
        .settings(test_settings())
        .route("/ping", post(|| async { "pong" }))
        .build()
        .unwrap();
    let (request, _still_sending) = open_multipart_post("/ping");
    let response = tokio::time::timeout(Duration::from_secs(3), service.handle(request)).await;
    assert!(
        response.is_ok(),
        "the request is held until the whole multipart body is in memory"
    );
}

// ---------------------------------------------------------------------------
// 4. Over HTTP/2 every request to a mounted Flagon app is a 400: the mount
//    rewrites the URI to origin-form, dropping the `:authority`, and h2
//    requests carry no Host header (service.rs Matched::Mount +
//    security.rs request_host).
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mounted_app_answers_over_http2() {
    use http_body_util::{BodyExt, Empty};
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let api = App::new()
        .route("/status", get(|| async { "api ok" }))
        .settings(test_settings())
        .build()
        .unwrap();
    let service = App::new()
        .settings(test_settings())
        .route("/", get(|| async { "outer ok" }))
        .mount("/api", api)
        .build()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(service.serve_listener(listener, async move {
        let _ = stopped.await;
    }));
    let result = tokio::time::timeout(Duration::from_secs(20), async {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http2::handshake::<_, _, Empty<Bytes>>(
            TokioExecutor::new(),
            TokioIo::new(stream),
        )
        .await
        .unwrap();
        tokio::spawn(connection);
        let mut answers = Vec::new();
        for path in ["/", "/api/status"] {
            let request = http::Request::get(format!("http://localhost{path}"))
                .body(Empty::new())
                .unwrap();
            let response = sender.send_request(request).await.unwrap();
            let status = response.status();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            answers.push((path, status, String::from_utf8_lossy(&body).into_owned()));
        }
        answers
    })
    .await;
    let _ = stop.send(());
    let _ = server.await;
    let answers = result.expect("the h2 exchange finished in time");
    assert_eq!(answers[0].1, StatusCode::OK, "{:?}", answers[0]);
    assert_eq!(
        answers[1].1,
        StatusCode::OK,
        "the mounted app refused an HTTP/2 request: {}",
        answers[1].2
    );
    assert_eq!(answers[1].2, "api ok");
}

// ---------------------------------------------------------------------------
// 5. A mounted app does not know its prefix: its strict-slash redirect and
//    url_for drop it (service.rs Matched::AddSlash, context.rs url_for).
// ---------------------------------------------------------------------------

fn mounted_api() -> App {
    let api = App::new()
        .route("/items/", get(|| async { "items" }).name("items"))
        .route(
            "/link",
            get(|info: RequestContext| async move {
                info.url_for("items", Vec::<(String, String)>::new())
            }),
        )
        .settings(test_settings())
        .build()
        .unwrap();
    App::new().mount("/api", api)
}

#[tokio::test]
async fn strict_slash_redirect_in_a_mounted_app_keeps_the_prefix() {
    let client = TestClient::new(mounted_api());
    let response = client.get("/api/items").send().await;
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(response.header("location"), Some("/api/items/"));
}

#[tokio::test]
async fn url_for_in_a_mounted_app_includes_the_prefix() {
    let client = TestClient::new(mounted_api());
    let response = client.get("/api/link").send().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text(), "/api/items/");
}

// ---------------------------------------------------------------------------
// 6. With `session.domain` set, deleting the session cookie (flush, clear)
//    sends a removal cookie without that Domain, which does not remove the
//    browser's cookie. With the default CookieStore the old signed cookie
//    stays valid: logout does not log out (service.rs save_session).
// ---------------------------------------------------------------------------

#[tokio::test]
async fn session_removal_cookie_carries_the_configured_domain() {
    let mut settings = test_settings();
    settings.session.domain = Some("example.com".into());
    settings.allowed_hosts = vec![".example.com".into()];
    let app = App::new()
        .settings(settings)
        .route(
            "/login",
            get(|session: Session| async move {
                session.insert("user", "ann")?;
                Ok::<_, Error>("in")
            }),
        )
        .route(
            "/logout",
            get(|session: Session| async move {
                session.flush();
                "out"
            }),
        );
    let client = TestClient::new(app).host("www.example.com");
    let login = client.get("/login").send().await;
    let set = login.header("set-cookie").unwrap_or_default().to_owned();
    assert!(set.contains("Domain=example.com"), "{set}");
    let logout = client.get("/logout").send().await;
    let removal = logout.header("set-cookie").unwrap_or_default();
    assert!(removal.starts_with("session=;"), "{removal}");
    assert!(
        removal.contains("Domain=example.com"),
        "the browser keeps the Domain=example.com session cookie: {removal}"
    );
}

// ---------------------------------------------------------------------------
// 7. A mounted Flagon app with sessions overwrites the outer app's session
//    cookie (same cookie name, its own key): using the session under the
//    mount logs the visitor out of the outer app.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn mounted_app_does_not_clobber_the_outer_session() {
    let api = App::new()
        .route(
            "/touch",
            get(|session: Session| async move {
                session.insert("api_visits", 1)?;
                Ok::<_, Error>("touched")
            }),
        )
        .settings(test_settings())
        .build()
        .unwrap();
    let app = App::new()
        .route(
            "/login",
            get(|session: Session| async move {
                session.insert("user", "ann")?;
                Ok::<_, Error>("in")
            }),
        )
        .route(
            "/who",
            get(
                |session: Session| async move { session.get::<String>("user").unwrap_or_default() },
            ),
        )
        .mount("/api", api);
    let client = TestClient::new(app);
    client.get("/login").send().await;
    assert_eq!(client.get("/who").send().await.text(), "ann");
    assert_eq!(client.get("/api/touch").send().await.text(), "touched");
    assert_eq!(
        client.get("/who").send().await.text(),
        "ann",
        "the mounted app replaced the outer app's session cookie"
    );
}

// ---------------------------------------------------------------------------
// 8. The `path` converter joins segments[..end] anew for every candidate end
//    (routing/tree.rs search): was quadratic in the number of segments; the
//    spans are now slices of one joined string (see the tree's unit tests).
// ---------------------------------------------------------------------------

#[tokio::test]
async fn many_segments_against_a_path_converter_still_answer() {
    let app = App::new().without_static_files().route(
        "/w/<path:page>/edit",
        get(|Path(page): Path<String>| async move { page.len().to_string() }),
    );
    let client = TestClient::new(app);
    let path = format!("/w{}", "/a".repeat(8000));
    assert_eq!(
        client.get(&path).send().await.status(),
        StatusCode::NOT_FOUND
    );
    let response = client.get(&format!("{path}/edit")).send().await;
    assert_eq!(response.text(), (8000 * 2 - 1).to_string());
}

// ---------------------------------------------------------------------------
// 9. Static files: ServeDir's own non-404 failures pass through as empty
//    500s, bypassing the error pages and handlers; a long URL (> PATH_MAX)
//    is enough (static_files.rs serve_file).
// ---------------------------------------------------------------------------

#[tokio::test]
async fn overlong_static_path_is_a_rendered_404_not_an_empty_500() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("static")).unwrap();
    std::fs::write(dir.path().join("static/app.css"), "x").unwrap();
    let settings = flagon_web::Settings {
        static_dir: dir.path().join("static"),
        ..test_settings()
    };
    let client = TestClient::new(App::new().settings(settings));
    let path = format!("/static{}", "/a".repeat(3000));
    let response = client.get(&path).send().await;
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "body: {:?}",
        response.text()
    );
    assert!(response.error().is_some(), "not rendered as an error page");
}

// ---------------------------------------------------------------------------
// 10. File::open_in: a NUL byte in the name (from the URL, `%00`) is a 500
//     (logged with a backtrace) instead of the promised 404 (file.rs).
// ---------------------------------------------------------------------------

#[tokio::test]
async fn open_in_with_a_nul_byte_is_404() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "a").unwrap();
    let folder = dir.path().to_owned();
    let app = App::new().route(
        "/download/<name>",
        get(move |Path(name): Path<String>| {
            let folder = folder.clone();
            async move { File::open_in(folder, &name).await }
        }),
    );
    let client = TestClient::new(app);
    let response = client.get("/download/a.txt%00.png").send().await;
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "{:?}",
        response.error()
    );
}

// ---------------------------------------------------------------------------
// 11. Path<Struct> naming a field the route does not have is answered as a
//     400 (the client's fault) instead of a 500 like the tuple/arity
//     mismatch (extract/path.rs: `de::Error::custom` is always `client`).
// ---------------------------------------------------------------------------

#[tokio::test]
async fn path_struct_field_missing_from_the_route_is_a_500() {
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct PostKey {
        year: u32,
        slug: String,
    }
    let app = App::new().route(
        "/post/<int:year>",
        get(|Path(key): Path<PostKey>| async move { key.year.to_string() }),
    );
    let client = TestClient::new(app);
    let response = client.get("/post/2024").send().await;
    assert_eq!(
        response.status(),
        StatusCode::INTERNAL_SERVER_ERROR,
        "{:?}",
        response.error()
    );
}

// ---------------------------------------------------------------------------
// 12. is_secure trusts the scheme of the request target, which a client on a
//     plain connection chooses (absolute-form HTTP/1.1, `:scheme` in h2c)
//     (security.rs is_secure).
// ---------------------------------------------------------------------------

#[tokio::test]
async fn client_chosen_https_scheme_does_not_make_a_plain_request_secure() {
    let mut settings = test_settings();
    settings.security.hsts_seconds = 3600;
    let app = App::new().settings(settings).route(
        "/",
        get(|info: RequestContext| async move { info.is_secure().to_string() }),
    );
    let client = TestClient::new(app);
    // `GET https://localhost/ HTTP/1.1` sent over plain TCP.
    let response = client.get("https://localhost/").send().await;
    assert_eq!(response.text(), "false");
    assert_eq!(response.header("strict-transport-security"), None);
}
