//! Middleware: before/after/teardown hooks, `from_fn`, tower layers on the
//! app, on blueprints and on single routes, and their order.

use std::sync::{Arc, Mutex};

use flagon_web::middleware::{from_fn, Next};
use flagon_web::response::Response;
use flagon_web::testing::TestClient;
use flagon_web::{
    get, App, Blueprint, Error, HeaderMap, HeaderValue, IntoResponse, Request, StatusCode,
};
use tower_http::set_header::SetResponseHeaderLayer;

type Log = Arc<Mutex<Vec<String>>>;

fn log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}

fn entries(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

async fn require_key(request: Request) -> Result<Request, Error> {
    if request.headers().contains_key("x-api-key") {
        Ok(request)
    } else {
        Err(Error::forbidden("send an x-api-key header"))
    }
}

#[tokio::test]
async fn before_request_can_short_circuit() {
    let calls = log();
    let handler_calls = calls.clone();
    let app = App::new()
        .route(
            "/",
            get(move || {
                let calls = handler_calls.clone();
                async move {
                    calls.lock().unwrap().push("handler".into());
                    "secret"
                }
            }),
        )
        .before_request(require_key);
    let client = TestClient::new(app);
    let response = client.get("/").send().await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response.text().contains("send an x-api-key header"),
        "{}",
        response.text()
    );
    assert!(entries(&calls).is_empty(), "the handler did not run");
    let response = client.get("/").header("x-api-key", "k").send().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text(), "secret");
    assert_eq!(entries(&calls), ["handler"]);
}

#[tokio::test]
async fn before_request_can_change_the_request() {
    let app = App::new()
        .route(
            "/",
            get(|headers: HeaderMap| async move {
                headers
                    .get("x-user")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("anonymous")
                    .to_owned()
            }),
        )
        .before_request(|mut request: Request| async move {
            request
                .headers_mut()
                .insert("x-user", HeaderValue::from_static("ann"));
            Ok::<_, Error>(request)
        });
    let client = TestClient::new(app);
    assert_eq!(client.get("/").send().await.text(), "ann");
}

#[tokio::test]
async fn after_request_sees_every_response() {
    let app = App::new()
        .route("/", get(|| async { "hello" }))
        .after_request(|mut response: Response| async move {
            let status = response.status().as_u16().to_string();
            if let Ok(value) = HeaderValue::from_str(&status) {
                response.headers_mut().insert("x-seen-status", value);
            }
            response
                .headers_mut()
                .insert("cache-control", HeaderValue::from_static("no-store"));
            response
        });
    let client = TestClient::new(app);
    let response = client.get("/").send().await;
    assert_eq!(response.text(), "hello");
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(response.header("x-seen-status"), Some("200"));
    let response = client.get("/missing").send().await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.header("x-seen-status"), Some("404"));
}

#[tokio::test]
async fn teardown_request_sees_the_500_of_a_panicking_handler() {
    let seen = log();
    let recorder = seen.clone();
    let app = App::new()
        .route(
            "/panic",
            get(|| async {
                if true {
                    panic!("boom");
                }
                "unreachable"
            }),
        )
        .route("/ok", get(|| async { "ok" }))
        .teardown_request(move |response: &Response| {
            recorder
                .lock()
                .unwrap()
                .push(response.status().as_u16().to_string());
        });
    let client = TestClient::new(app);
    let response = client.get("/panic").send().await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(entries(&seen), ["500"]);
    assert_eq!(client.get("/ok").send().await.text(), "ok");
    assert_eq!(entries(&seen), ["500", "200"]);
}

#[tokio::test]
async fn teardown_request_sees_a_panicking_middleware_as_500() {
    let seen = log();
    let recorder = seen.clone();
    let app = App::new()
        .route("/", get(|| async { "ok" }))
        .layer(from_fn(|request: Request, next: Next| async move {
            if request.uri().query() == Some("explode") {
                panic!("middleware exploded");
            }
            next.run(request).await
        }))
        .teardown_request(move |response: &Response| {
            recorder
                .lock()
                .unwrap()
                .push(response.status().as_u16().to_string());
        });
    let client = TestClient::new(app);
    let response = client.get("/?explode").send().await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(entries(&seen), ["500"]);
    assert_eq!(client.get("/").send().await.text(), "ok");
}

async fn timing(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&format!("seen {path}")) {
        response.headers_mut().insert("x-middleware", value);
    }
    response
}

#[tokio::test]
async fn from_fn_wraps_the_handler() {
    let app = App::new()
        .route("/a", get(|| async { "a" }))
        .layer(from_fn(timing));
    let client = TestClient::new(app);
    let response = client.get("/a").send().await;
    assert_eq!(response.text(), "a");
    assert_eq!(response.header("x-middleware"), Some("seen /a"));
}

#[tokio::test]
async fn from_fn_may_answer_itself() {
    let app = App::new()
        .route("/", get(|| async { "handler" }))
        .layer(from_fn(|request: Request, next: Next| async move {
            if request.headers().contains_key("x-maintenance") {
                (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance").into_response()
            } else {
                next.run(request).await
            }
        }));
    let client = TestClient::new(app);
    let response = client.get("/").header("x-maintenance", "1").send().await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.text(), "down for maintenance");
    assert_eq!(client.get("/").send().await.text(), "handler");
}

#[tokio::test]
async fn app_layer_can_be_a_tower_http_layer() {
    let app =
        App::new()
            .route("/", get(|| async { "hi" }))
            .layer(SetResponseHeaderLayer::overriding(
                flagon_web::header::CACHE_CONTROL,
                HeaderValue::from_static("max-age=60"),
            ));
    let client = TestClient::new(app);
    let response = client.get("/").send().await;
    assert_eq!(response.text(), "hi");
    assert_eq!(response.header("cache-control"), Some("max-age=60"));
    let response = client.get("/nope").send().await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.header("cache-control"), Some("max-age=60"));
}

fn tag(
    name: &'static str,
    log: Log,
) -> impl Fn(Request, Next) -> futures_util::future::BoxFuture<'static, Response>
       + Clone
       + Send
       + Sync
       + 'static {
    move |request: Request, next: Next| {
        let log = log.clone();
        Box::pin(async move {
            log.lock().unwrap().push(format!("{name} in"));
            let response = next.run(request).await;
            log.lock().unwrap().push(format!("{name} out"));
            response
        })
    }
}

#[tokio::test]
async fn the_last_app_layer_added_runs_first() {
    let order = log();
    let app = App::new()
        .route("/", get(|| async { "x" }))
        .layer(from_fn(tag("first", order.clone())))
        .layer(from_fn(tag("second", order.clone())));
    let client = TestClient::new(app);
    client.get("/").send().await;
    assert_eq!(
        entries(&order),
        ["second in", "first in", "first out", "second out"]
    );
}

#[tokio::test]
async fn blueprint_layers_wrap_only_the_blueprints_routes() {
    let api = Blueprint::new("api", "/api")
        .route("/items", get(|| async { "items" }))
        .layer(SetResponseHeaderLayer::overriding(
            flagon_web::header::HeaderName::from_static("x-api"),
            HeaderValue::from_static("1"),
        ))
        .before_request(require_key);
    let app = App::new()
        .route("/", get(|| async { "home" }))
        .blueprint(api);
    let client = TestClient::new(app);
    let response = client.get("/").send().await;
    assert_eq!(response.text(), "home");
    assert_eq!(response.header("x-api"), None);
    let response = client.get("/api/items").send().await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = client
        .get("/api/items")
        .header("x-api-key", "k")
        .send()
        .await;
    assert_eq!(response.text(), "items");
    assert_eq!(response.header("x-api"), Some("1"));
}

#[tokio::test]
async fn parent_blueprint_layers_wrap_nested_blueprints() {
    let order = log();
    let child = Blueprint::new("child", "/child")
        .route("/", get(|| async { "child" }))
        .layer(from_fn(tag("child", order.clone())));
    let parent = Blueprint::new("parent", "/parent")
        .route("/", get(|| async { "parent" }))
        .layer(from_fn(tag("parent", order.clone())))
        .blueprint(child);
    let client = TestClient::new(App::new().blueprint(parent));
    assert_eq!(client.get("/parent/child/").send().await.text(), "child");
    assert_eq!(
        entries(&order),
        ["parent in", "child in", "child out", "parent out"]
    );
    order.lock().unwrap().clear();
    assert_eq!(client.get("/parent/").send().await.text(), "parent");
    assert_eq!(entries(&order), ["parent in", "parent out"]);
}

#[tokio::test]
async fn route_layer_wraps_only_that_route() {
    let app = App::new()
        .route(
            "/wrapped",
            get(|| async { "wrapped" })
                .post(|| async { "posted" })
                .csrf_exempt()
                .layer(from_fn(timing)),
        )
        .route("/plain", get(|| async { "plain" }));
    let client = TestClient::new(app);
    let response = client.get("/wrapped").send().await;
    assert_eq!(response.text(), "wrapped");
    assert_eq!(response.header("x-middleware"), Some("seen /wrapped"));
    let response = client.post("/wrapped").send().await;
    assert_eq!(response.text(), "posted");
    assert_eq!(response.header("x-middleware"), Some("seen /wrapped"));
    let response = client.get("/plain").send().await;
    assert_eq!(response.header("x-middleware"), None);
}

async fn uppercase(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    let bytes = body.to_bytes(1 << 20).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).to_uppercase();
    Response::from_parts(parts, flagon_web::Body::from(text))
}

#[tokio::test]
async fn layers_see_rendered_templates_and_errors() {
    let app = App::new()
        .template("t.html", "rendered {{ 2 * 21 }}")
        .route(
            "/t",
            get(|| async { flagon_web::render("t.html", flagon_web::context! {}) })
                .layer(from_fn(uppercase)),
        )
        .route(
            "/e",
            get(|| async { Err::<&str, _>(Error::bad_request("bad input")) })
                .layer(from_fn(uppercase)),
        );
    let client = TestClient::new(app);
    assert_eq!(client.get("/t").send().await.text(), "RENDERED 42");
    let response = client.get("/e").send().await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let text = response.text();
    assert!(text.contains("<!DOCTYPE HTML>"), "{text}");
    assert!(text.contains("BAD INPUT"), "{text}");
}
