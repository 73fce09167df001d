//! The request pipeline: one normalised path for layers, hooks and routes;
//! hooks in Flask's order; sessions read only when used; `HEAD` keeps its
//! `Content-Length`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use flagon_web::session::{SessionData, StoreContext};
use flagon_web::testing::{test_settings, TestClient};
use flagon_web::{
    get, render, App, Blueprint, Error, Path, Request, RequestContext, RequestExt, Response,
    Session, SessionStore, StatusCode,
};
use futures_util::future::BoxFuture;

/// The paths that must reach the admin routes only through the guard.
const TRICKY_PATHS: &[&str] = &[
    "/admin/users",
    "/%61dmin/users",
    "/%61%64%6D%69%6E/users",
    "/./admin/users",
    "/public/../admin/users",
    "/%2e/admin/users",
    "/public/%2E%2E/admin/users",
    "/admin/./users",
    "/admin%2Fusers",
    "/adm%69n%2fusers",
];

fn guarded_app(guard: fn(&Request) -> bool) -> App {
    App::new()
        .settings(test_settings())
        .route("/admin/users", get(|| async { "ADMIN USERS" }))
        .route("/admin/<path:rest>", get(|| async { "ADMIN OTHER" }))
        .route(
            "/<name>",
            get(|Path(name): Path<String>| async move { format!("page {name}") }),
        )
        .route(
            "/public/<path:rest>",
            get(|Path(rest): Path<String>| async move { format!("public {rest}") }),
        )
        .before_request(move |request: Request| async move {
            if guard(&request) {
                Err(Error::forbidden("guarded"))
            } else {
                Ok(request)
            }
        })
}

/// For every tricky path: the guard fires exactly when the request would
/// reach an admin route.
async fn guard_and_route_agree(guard: fn(&Request) -> bool) {
    let guarded = TestClient::new(guarded_app(guard));
    let open = TestClient::new(guarded_app(|_| false));
    for path in TRICKY_PATHS {
        let routed = open.get(path).send().await;
        let reaches_admin = routed.text().starts_with("ADMIN");
        let response = guarded.get(path).send().await;
        let blocked = response.status() == StatusCode::FORBIDDEN;
        assert_eq!(
            blocked,
            reaches_admin,
            "{path}: the guard {} but the route answered {:?}",
            if blocked { "fired" } else { "did not fire" },
            routed.text()
        );
        assert!(!response.text().starts_with("ADMIN"), "{path} got through");
    }
}

#[tokio::test]
async fn a_guard_on_the_raw_uri_path_agrees_with_the_router() {
    guard_and_route_agree(|request| request.uri().path().starts_with("/admin/")).await;
}

#[tokio::test]
async fn a_guard_on_the_decoded_path_agrees_with_the_router() {
    guard_and_route_agree(|request| request.path().starts_with("/admin/")).await;
}

#[tokio::test]
async fn the_encoded_forms_of_admin_are_guarded() {
    let client = TestClient::new(guarded_app(|request| {
        request.uri().path().starts_with("/admin")
    }));
    for path in ["/%61dmin/users", "/./admin/users", "/x/../admin/users"] {
        let response = client.get(path).send().await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    // An encoded slash stays inside its segment: one segment `admin/users`.
    let open = TestClient::new(guarded_app(|_| false));
    assert_eq!(
        open.get("/admin%2Fusers").send().await.text(),
        "page admin/users"
    );
}

#[tokio::test]
async fn handlers_and_hooks_see_the_normal_path() {
    let app = App::new().settings(test_settings()).route(
        "/<path:rest>",
        get(|info: RequestContext, request: Request| async move {
            format!("{} {} {}", request.uri(), request.path(), info.path())
        }),
    );
    let client = TestClient::new(app);
    let response = client
        .get("/a/./b/../caf%c3%a9/%7euser%2f?q=%2e")
        .send()
        .await;
    assert_eq!(
        response.text(),
        "/a/caf%C3%A9/~user%2F?q=%2e /a/café/~user%2F /a/café/~user%2F"
    );
    let bad = client.get("/a%zz").send().await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().contains("percent-encoding"), "{}", bad.text());
}

/// Records the order in which hooks run.
#[derive(Clone, Default)]
struct Trail(Arc<Mutex<Vec<String>>>);

impl Trail {
    fn push(&self, step: impl Into<String>) {
        self.0.lock().unwrap().push(step.into());
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn before(
    trail: &Trail,
    name: &'static str,
) -> impl Fn(Request) -> BoxFuture<'static, Result<Request, Error>> + Clone + Send + Sync + 'static
{
    let trail = trail.clone();
    move |request| {
        trail.push(format!("before {name}"));
        Box::pin(async move { Ok(request) })
    }
}

fn after(
    trail: &Trail,
    name: &'static str,
) -> impl Fn(Response) -> BoxFuture<'static, Response> + Clone + Send + Sync + 'static {
    let trail = trail.clone();
    move |response| {
        trail.push(format!("after {name}"));
        Box::pin(async move { response })
    }
}

fn teardown(
    trail: &Trail,
    name: &'static str,
) -> impl Fn(&Response) + Clone + Send + Sync + 'static {
    let trail = trail.clone();
    move |_| trail.push(format!("teardown {name}"))
}

#[tokio::test]
async fn hooks_run_in_flasks_order_on_the_app_and_on_blueprints() {
    let trail = Trail::default();
    let handler_trail = trail.clone();
    let blueprint = Blueprint::new("bp", "/bp")
        .route(
            "/",
            get(move || {
                let trail = handler_trail.clone();
                async move {
                    trail.push("handler");
                    "ok"
                }
            }),
        )
        .before_request(before(&trail, "bp1"))
        .after_request(after(&trail, "bp1"))
        .before_request(before(&trail, "bp2"))
        .after_request(after(&trail, "bp2"))
        .before_request(before(&trail, "bp3"))
        .after_request(after(&trail, "bp3"));
    let app = App::new()
        .settings(test_settings())
        .blueprint(blueprint)
        .before_request(before(&trail, "app1"))
        .after_request(after(&trail, "app1"))
        .before_request(before(&trail, "app2"))
        .after_request(after(&trail, "app2"))
        .before_request(before(&trail, "app3"))
        .after_request(after(&trail, "app3"))
        .teardown_request(teardown(&trail, "app1"))
        .teardown_request(teardown(&trail, "app2"));
    let client = TestClient::new(app);
    assert_eq!(client.get("/bp/").send().await.text(), "ok");
    // Flask: before_request in registration order, the app's before the
    // blueprint's; after_request in reverse, the blueprint's first.
    let expected = [
        "before app1",
        "before app2",
        "before app3",
        "before bp1",
        "before bp2",
        "before bp3",
        "handler",
        "after bp3",
        "after bp2",
        "after bp1",
        "after app3",
        "after app2",
        "after app1",
        "teardown app2",
        "teardown app1",
    ];
    assert_eq!(trail.take(), expected);
}

/// A session store whose database is down: every call fails, and counts.
#[derive(Clone, Default)]
struct DownStore {
    calls: Arc<AtomicUsize>,
}

impl SessionStore for DownStore {
    fn load<'a>(
        &'a self,
        _cookie: &'a str,
        _ctx: StoreContext<'a>,
    ) -> BoxFuture<'a, Result<Option<SessionData>, Error>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async {
            Err(Error::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the session database is down",
            ))
        })
    }

    fn save<'a>(
        &'a self,
        _cookie: Option<&'a str>,
        _data: &'a SessionData,
        _ctx: StoreContext<'a>,
    ) -> BoxFuture<'a, Result<String, Error>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async {
            Err(Error::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the session database is down",
            ))
        })
    }

    fn delete<'a>(
        &'a self,
        _cookie: &'a str,
        _ctx: StoreContext<'a>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async {
            Err(Error::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the session database is down",
            ))
        })
    }
}

#[tokio::test]
async fn a_request_that_never_touches_the_session_never_reads_the_store() {
    let store = DownStore::default();
    let static_dir =
        std::env::temp_dir().join(format!("flagon-lazy-session-{}", std::process::id()));
    std::fs::create_dir_all(&static_dir).unwrap();
    std::fs::write(static_dir.join("app.css"), "body{}").unwrap();
    let settings = flagon_web::Settings {
        static_dir: static_dir.clone(),
        ..test_settings()
    };
    let app = App::new()
        .settings(settings)
        .session_store(store.clone())
        .template("page.html", "<p>{{ session.user }}</p>")
        .route("/plain", get(|| async { "plain" }))
        .route(
            "/api",
            get(|| async { flagon_web::Json(serde_json::json!({"ok": true})) }),
        )
        .route(
            "/visit",
            get(|session: Session| async move { format!("{:?}", session.get::<String>("user")) }),
        )
        .route(
            "/page",
            get(|| async { render("page.html", flagon_web::context! {}) }),
        );
    let client = TestClient::new(app);
    client.set_cookie("session", "some-session-id");
    assert_eq!(client.get("/plain").send().await.text(), "plain");
    assert_eq!(client.get("/api").send().await.status(), StatusCode::OK);
    assert_eq!(client.get("/static/app.css").send().await.text(), "body{}");
    assert_eq!(
        client.get("/nowhere").send().await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(store.calls.load(Ordering::SeqCst), 0, "the store was read");

    // A route that uses the session (or a template that may read it) gets
    // the store's error.
    let visit = client.get("/visit").send().await;
    assert_eq!(visit.status(), StatusCode::SERVICE_UNAVAILABLE);
    let page = client.get("/page").send().await;
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(store.calls.load(Ordering::SeqCst), 2);
    let _ = std::fs::remove_dir_all(static_dir);
}

#[tokio::test]
async fn head_keeps_the_content_length_of_get() {
    let app = App::new()
        .settings(test_settings())
        .route("/text", get(|| async { "twelve bytes" }))
        .template("page.html", "<p>{{ 40 + 2 }}</p>")
        .route(
            "/page",
            get(|| async { render("page.html", flagon_web::context! {}) }),
        );
    let client = TestClient::new(app);
    for path in ["/text", "/page"] {
        let got = client.get(path).send().await;
        let head = client.head(path).send().await;
        assert_eq!(head.status(), StatusCode::OK);
        assert!(head.bytes().is_empty(), "{path}: HEAD has a body");
        assert_eq!(
            head.header("content-length"),
            Some(got.bytes().len().to_string().as_str()),
            "{path}"
        );
    }
}

#[tokio::test]
async fn head_keeps_the_content_length_over_a_socket() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let service = App::new()
        .settings(test_settings())
        .route("/text", get(|| async { "twelve bytes" }))
        .build()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(service.serve_listener(listener, async {
        let _ = stopped.await;
    }));
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"HEAD /text HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_string(&mut answer),
    )
    .await
    .expect("the server answered")
    .unwrap();
    let lower = answer.to_ascii_lowercase();
    assert!(lower.starts_with("http/1.1 200"), "{answer}");
    assert!(lower.contains("content-length: 12\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\n"), "HEAD sent a body: {answer}");
    let _ = stop.send(());
    let _ = server.await;
}

#[tokio::test]
async fn handlers_see_the_client_address_honouring_only_a_trusted_proxy_header() {
    let whoami = || {
        get(|info: RequestContext| async move {
            info.remote_addr()
                .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
        })
    };
    let direct = TestClient::new(App::new().settings(test_settings()).route("/", whoami()))
        .client_addr("192.0.2.7:4321".parse().unwrap());
    let spoofed = direct
        .get("/")
        .header("x-forwarded-for", "203.0.113.1")
        .send()
        .await;
    assert_eq!(
        spoofed.text(),
        "192.0.2.7",
        "no proxy is trusted by default"
    );

    let mut settings = test_settings();
    settings.security.client_ip_header = "X-Forwarded-For".into();
    let proxied = TestClient::new(App::new().settings(settings).route("/", whoami()))
        .client_addr("10.0.0.2:80".parse().unwrap());
    let response = proxied
        .get("/")
        .header("x-forwarded-for", "203.0.113.1, 198.51.100.4")
        .send()
        .await;
    assert_eq!(response.text(), "198.51.100.4", "the entry the proxy added");
    assert_eq!(
        proxied.get("/").send().await.text(),
        "10.0.0.2",
        "no header: the peer"
    );
}
