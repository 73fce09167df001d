//! tower-http's request-body layers on an app, a blueprint and a route:
//! an endpoint takes the body types they produce.

use std::io::Write;
use std::time::Duration;

use flagon_web::testing::{test_settings, TestClient};
use flagon_web::{get, post, App, Blueprint, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;

async fn echo(body: String) -> String {
    format!("got {body}")
}

#[tokio::test]
async fn a_body_limit_layer_refuses_bodies_over_its_limit() {
    let blueprint = Blueprint::new("bp", "/bp")
        .route("/echo", post(echo))
        .layer(RequestBodyLimitLayer::new(4));
    let app = App::new()
        .settings(test_settings())
        .route("/echo", post(echo))
        .route("/small", post(echo).layer(RequestBodyLimitLayer::new(2)))
        .blueprint(blueprint)
        .layer(RequestBodyLimitLayer::new(8));
    let client = TestClient::new(app).with_csrf();
    assert_eq!(
        client.post("/echo").body("short").send().await.text(),
        "got short"
    );
    for (path, body) in [
        ("/echo", "much too long"),
        ("/bp/echo", "12345"),
        ("/small", "123"),
    ] {
        let response = client.post(path).body(body).send().await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
    }
}

#[tokio::test]
async fn a_body_limit_layer_stops_a_chunked_body_over_its_limit() {
    let app = App::new()
        .settings(test_settings())
        .route("/echo", post(echo).csrf_exempt())
        .layer(RequestBodyLimitLayer::new(8));
    let (addr, stop) = serve(app).await;
    let answer = exchange(
        addr,
        b"POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n",
        None,
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let _ = stop.send(());
}

#[tokio::test]
async fn a_body_timeout_layer_answers_a_stalled_body_with_408() {
    let app = App::new()
        .settings(test_settings())
        .route("/echo", post(echo).csrf_exempt())
        .layer(RequestBodyTimeoutLayer::new(Duration::from_millis(200)));
    let (addr, stop) = serve(app).await;
    // Ten bytes announced, three sent, then nothing.
    let answer = exchange(
        addr,
        b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nabc",
        Some(Duration::from_secs(5)),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let _ = stop.send(());
}

#[tokio::test]
async fn a_decompression_layer_hands_handlers_the_decompressed_body() {
    let app = App::new()
        .settings(test_settings())
        .route("/echo", post(echo))
        .route("/plain", get(|| async { "plain" }))
        .layer(RequestDecompressionLayer::new());
    let client = TestClient::new(app).with_csrf();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(b"hello, compressed world").unwrap();
    let gzipped = encoder.finish().unwrap();
    let response = client
        .post("/echo")
        .header("content-encoding", "gzip")
        .body(gzipped)
        .send()
        .await;
    assert_eq!(response.text(), "got hello, compressed world");
    let bad = client
        .post("/echo")
        .header("content-encoding", "gzip")
        .body("not gzip at all")
        .send()
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(client.get("/plain").send().await.text(), "plain");
}

async fn serve(app: App) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let service = app.build().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(service.serve_listener(listener, async {
        let _ = stopped.await;
    }));
    (addr, stop)
}

/// Sends `request` and reads the answer until the server closes the
/// connection or `wait` (default 5 s) passes.
async fn exchange(addr: std::net::SocketAddr, request: &[u8], wait: Option<Duration>) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let wait = wait.unwrap_or(Duration::from_secs(5));
    let _ = tokio::time::timeout(wait, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buf[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    String::from_utf8_lossy(&answer).into_owned()
}
