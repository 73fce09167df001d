//! The server over real sockets on 127.0.0.1: keep-alive, pipelining, h2c,
//! body and header limits, the header-read timeout, graceful shutdown,
//! panic isolation and the host check.
//!
//! Every test is bounded by [`bounded`], so a misbehaving server fails a
//! test instead of hanging it. Time bounds are generous upper limits (the
//! suite runs on loaded two-core machines); lower bounds only rely on
//! timers never firing early.

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use flagon_web::settings::Limits;
use flagon_web::{get, post, App, AppService, ClientAddr, Error, Settings};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Upper bound for a whole test.
const TEST_LIMIT: Duration = Duration::from_secs(30);
/// Upper bound for one step that should take milliseconds.
const STEP_LIMIT: Duration = Duration::from_secs(10);

/// Runs a test body, failing it if it takes longer than [`TEST_LIMIT`].
async fn bounded<F: Future<Output = ()>>(test: F) {
    if tokio::time::timeout(TEST_LIMIT, test).await.is_err() {
        panic!("the test did not finish within {TEST_LIMIT:?}");
    }
}

/// Awaits `future`, failing the test if it takes longer than [`STEP_LIMIT`].
async fn step<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(STEP_LIMIT, future).await {
        Ok(value) => value,
        Err(_) => panic!("{what}: no result within {STEP_LIMIT:?}"),
    }
}

/// The test settings with `limits`.
fn settings(limits: Limits) -> Settings {
    Settings {
        limits,
        ..flagon_web::testing::test_settings()
    }
}

/// A server on an ephemeral loopback port, shut down when dropped.
struct TestServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), Error>>>,
}

impl TestServer {
    async fn start(app: App) -> TestServer {
        let service = match app.build() {
            Ok(service) => service,
            Err(err) => panic!("the app could not be built: {err}"),
        };
        TestServer::serve(service).await
    }

    async fn serve(service: AppService) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (shutdown, signal) = oneshot::channel::<()>();
        let task = tokio::spawn(service.serve_listener(listener, async move {
            let _ = signal.await;
        }));
        TestServer {
            addr,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    async fn connect(&self) -> Client {
        Client {
            stream: step("connect", TcpStream::connect(self.addr))
                .await
                .unwrap(),
            buf: Vec::new(),
        }
    }

    /// Completes the shutdown future given to `serve_listener`.
    fn trigger_shutdown(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }

    /// Waits (up to `limit`) for `serve_listener` to return.
    async fn join(&mut self, limit: Duration) -> Result<(), Error> {
        let task = self.task.take().expect("the server was already joined");
        match tokio::time::timeout(limit, task).await {
            Ok(Ok(result)) => result,
            Ok(Err(err)) => panic!("the server task failed: {err}"),
            Err(_) => panic!("serve_listener did not return within {limit:?}"),
        }
    }
}

/// A response read off the wire.
#[derive(Debug)]
struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An HTTP/1.1 client on a raw TCP connection, which writes exactly the
/// bytes it is given and parses the responses itself.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    async fn send(&mut self, bytes: &[u8]) {
        step("write", self.stream.write_all(bytes)).await.unwrap();
    }

    /// Reads more bytes into the buffer; `false` at end of stream.
    async fn fill(&mut self) -> std::io::Result<bool> {
        let mut chunk = [0u8; 8192];
        let n = self.stream.read(&mut chunk).await?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    async fn fill_or_fail(&mut self) {
        match self.fill().await {
            Ok(true) => {}
            Ok(false) => panic!(
                "the connection closed mid-response; got {:?}",
                String::from_utf8_lossy(&self.buf)
            ),
            Err(err) => panic!("reading failed: {err}"),
        }
    }

    async fn read_response(&mut self) -> RawResponse {
        step("read a response", self.read_response_inner()).await
    }

    async fn read_response_inner(&mut self) -> RawResponse {
        let head_end = loop {
            if let Some(at) = find(&self.buf, b"\r\n\r\n") {
                break at;
            }
            self.fill_or_fail().await;
        };
        let head = String::from_utf8(self.buf[..head_end].to_vec()).expect("the head is UTF-8");
        self.buf.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.splitn(3, ' ');
        assert_eq!(
            parts.next(),
            Some("HTTP/1.1"),
            "status line {status_line:?}"
        );
        let status: u16 = parts
            .next()
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let headers: Vec<(String, String)> = lines
            .map(|line| {
                let (name, value) = line
                    .split_once(':')
                    .unwrap_or_else(|| panic!("bad header line {line:?}"));
                (name.trim().to_owned(), value.trim().to_owned())
            })
            .collect();
        let mut response = RawResponse {
            status,
            headers,
            body: Vec::new(),
        };
        let chunked = response
            .header("transfer-encoding")
            .is_some_and(|te| te.eq_ignore_ascii_case("chunked"));
        if chunked {
            loop {
                let line_end = loop {
                    if let Some(at) = find(&self.buf, b"\r\n") {
                        break at;
                    }
                    self.fill_or_fail().await;
                };
                let size_line = String::from_utf8_lossy(&self.buf[..line_end]).into_owned();
                let size_text = size_line.split(';').next().unwrap_or_default().trim();
                let size = usize::from_str_radix(size_text, 16)
                    .unwrap_or_else(|_| panic!("bad chunk size line {size_line:?}"));
                self.buf.drain(..line_end + 2);
                if size == 0 {
                    // No trailers are expected: just the final CRLF.
                    while self.buf.len() < 2 {
                        self.fill_or_fail().await;
                    }
                    assert_eq!(&self.buf[..2], b"\r\n", "trailers are not expected");
                    self.buf.drain(..2);
                    break;
                }
                while self.buf.len() < size + 2 {
                    self.fill_or_fail().await;
                }
                response.body.extend_from_slice(&self.buf[..size]);
                self.buf.drain(..size + 2);
            }
        } else if let Some(length) = response.header("content-length") {
            let length: usize = length.parse().expect("a numeric content-length");
            while self.buf.len() < length {
                self.fill_or_fail().await;
            }
            response.body = self.buf.drain(..length).collect();
        } else if !(status < 200 || status == 204 || status == 304) {
            // Delimited by the end of the connection.
            while let Ok(true) = self.fill().await {}
            response.body = std::mem::take(&mut self.buf);
        }
        response
    }

    /// Waits until the server closes the connection (end of stream or a
    /// reset), failing the test if that takes longer than `limit`. Returns
    /// any bytes that arrived first.
    async fn closed_within(&mut self, limit: Duration) -> Vec<u8> {
        let wait = async {
            loop {
                match self.fill().await {
                    Ok(true) => continue,
                    Ok(false) => break,
                    Err(err) if is_reset(&err) => break,
                    Err(err) => panic!("reading failed: {err}"),
                }
            }
        };
        if tokio::time::timeout(limit, wait).await.is_err() {
            panic!("the server did not close the connection within {limit:?}");
        }
        std::mem::take(&mut self.buf)
    }
}

fn is_reset(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
    )
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// A `GET` request for `path` with an allowed `Host`.
fn get_request(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n")
}

fn hello_app(limits: Limits) -> App {
    App::new()
        .settings(settings(limits))
        .route("/", get(|| async { "hello" }))
        .route("/other", get(|| async { "other" }))
}

async fn panics() -> &'static str {
    panic!("the handler exploded (this panic is expected by the test)")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_serves_two_requests_on_one_connection() {
    bounded(async {
        let server = TestServer::start(hello_app(Limits::default())).await;
        let mut client = server.connect().await;

        client.send(get_request("/").as_bytes()).await;
        let first = client.read_response().await;
        assert_eq!(first.status, 200);
        assert_eq!(first.text(), "hello");
        assert_ne!(first.header("connection"), Some("close"));

        client.send(get_request("/other").as_bytes()).await;
        let second = client.read_response().await;
        assert_eq!(second.status, 200);
        assert_eq!(second.text(), "other");
        assert_ne!(second.header("connection"), Some("close"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_are_answered_in_order() {
    bounded(async {
        let app = hello_app(Limits::default()).route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                "slow"
            }),
        );
        let server = TestServer::start(app).await;
        let mut client = server.connect().await;

        // Both requests in one write: the slow one first.
        let both = format!("{}{}", get_request("/slow"), get_request("/other"));
        client.send(both.as_bytes()).await;
        let first = client.read_response().await;
        let second = client.read_response().await;
        assert_eq!((first.status, first.text().as_str()), (200, "slow"));
        assert_eq!((second.status, second.text().as_str()), (200, "other"));

        // The connection is still usable afterwards.
        client.send(get_request("/").as_bytes()).await;
        assert_eq!(client.read_response().await.text(), "hello");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_prior_knowledge_serves_several_streams() {
    bounded(async {
        let server = TestServer::start(hello_app(Limits::default())).await;
        let stream = step("connect", TcpStream::connect(server.addr))
            .await
            .unwrap();
        let (mut sender, connection) = step(
            "h2 handshake",
            hyper::client::conn::http2::handshake::<_, _, Empty<Bytes>>(
                TokioExecutor::new(),
                TokioIo::new(stream),
            ),
        )
        .await
        .expect("the h2c handshake succeeds");
        let connection = tokio::spawn(connection);

        for (path, expected) in [("/", "hello"), ("/other", "other"), ("/", "hello")] {
            let request = http::Request::get(format!("http://localhost{path}"))
                .body(Empty::<Bytes>::new())
                .unwrap();
            let response = step("h2 request", sender.send_request(request))
                .await
                .expect("the h2 request succeeds");
            assert_eq!(response.version(), http::Version::HTTP_2);
            assert_eq!(response.status(), 200);
            let body = step("h2 body", response.into_body().collect())
                .await
                .unwrap()
                .to_bytes();
            assert_eq!(&body[..], expected.as_bytes());
        }

        // Two streams in flight at once on the same connection.
        let request = |path: &str| {
            http::Request::get(format!("http://localhost{path}"))
                .body(Empty::<Bytes>::new())
                .unwrap()
        };
        let mut other_sender = sender.clone();
        let (a, b) = step(
            "two concurrent h2 streams",
            futures_util::future::join(
                sender.send_request(request("/")),
                other_sender.send_request(request("/other")),
            ),
        )
        .await;
        assert_eq!(a.unwrap().status(), 200);
        assert_eq!(b.unwrap().status(), 200);

        drop((sender, other_sender));
        let _ = step("h2 connection end", connection).await;
    })
    .await;
}

fn echo_app(limit: usize) -> App {
    App::new()
        .settings(settings(Limits {
            max_body_size: limit,
            max_upload_size: limit,
            ..Limits::default()
        }))
        .route(
            "/echo",
            post(|body: String| async move { format!("got {} bytes", body.len()) }).csrf_exempt(),
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_body_over_the_limit_is_413_without_reading_it() {
    bounded(async {
        let server = TestServer::start(echo_app(1024)).await;
        let mut client = server.connect().await;
        // Only the head is sent: the server must answer without the body.
        client
            .send(
                b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n\
                  Content-Length: 10000000\r\n\r\n",
            )
            .await;
        let response = client.read_response().await;
        assert_eq!(response.status, 413);
        assert_eq!(response.header("connection"), Some("close"));
        let rest = client.closed_within(STEP_LIMIT).await;
        assert!(rest.is_empty(), "unexpected bytes after the 413: {rest:?}");

        // A body within the limit is read as usual.
        let mut client = server.connect().await;
        client
            .send(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello")
            .await;
        let response = client.read_response().await;
        assert_eq!(
            (response.status, response.text().as_str()),
            (200, "got 5 bytes")
        );
    })
    .await;
}

/// A chunked body of `chunks` chunks of `size` bytes each.
fn chunked_post(chunks: usize, size: usize) -> Vec<u8> {
    let mut request =
        b"POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..chunks {
        request.extend_from_slice(format!("{size:x}\r\n").as_bytes());
        request.extend(std::iter::repeat_n(b'x', size));
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_body_over_the_limit_is_413() {
    bounded(async {
        let server = TestServer::start(echo_app(1024)).await;

        // Within the limit: 4 × 200 bytes.
        let mut client = server.connect().await;
        client.send(&chunked_post(4, 200)).await;
        let response = client.read_response().await;
        assert_eq!(
            (response.status, response.text().as_str()),
            (200, "got 800 bytes")
        );

        // Over the limit while the handler reads it: 8 × 512 bytes.
        let mut client = server.connect().await;
        client.send(&chunked_post(8, 512)).await;
        let response = client.read_response().await;
        assert_eq!(response.status, 413);
        assert_eq!(response.header("connection"), Some("close"));
        client.closed_within(STEP_LIMIT).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_headers_is_431() {
    bounded(async {
        let server = TestServer::start(hello_app(Limits {
            max_headers: 10,
            ..Limits::default()
        }))
        .await;

        // Within the limit: Host and 8 more.
        let mut client = server.connect().await;
        let mut request = String::from("GET / HTTP/1.1\r\nHost: localhost\r\n");
        for i in 0..8 {
            request.push_str(&format!("X-Header-{i}: {i}\r\n"));
        }
        request.push_str("\r\n");
        client.send(request.as_bytes()).await;
        assert_eq!(client.read_response().await.status, 200);

        let mut client = server.connect().await;
        let mut request = String::from("GET / HTTP/1.1\r\nHost: localhost\r\n");
        for i in 0..20 {
            request.push_str(&format!("X-Header-{i}: {i}\r\n"));
        }
        request.push_str("\r\n");
        client.send(request.as_bytes()).await;
        assert_eq!(client.read_response().await.status, 431);
        client.closed_within(STEP_LIMIT).await;
    })
    .await;
}

/// A `GET /` whose head is about `size` bytes, in one large header.
fn request_with_head_of(size: usize) -> Vec<u8> {
    let mut request = b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: ".to_vec();
    let padding = size.saturating_sub(request.len() + 4);
    request.extend(std::iter::repeat_n(b'a', padding));
    request.extend_from_slice(b"\r\n\r\n");
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_block_over_the_limit_is_431() {
    bounded(async {
        // The default limit (16 KiB) and a small one.
        for limit in [16 * 1024, 1024] {
            let server = TestServer::start(hello_app(Limits {
                max_header_size: limit,
                ..Limits::default()
            }))
            .await;

            let mut client = server.connect().await;
            client.send(&request_with_head_of(limit - 100)).await;
            let response = client.read_response().await;
            assert_eq!(response.status, 200, "a head under the limit of {limit}");

            let mut client = server.connect().await;
            client.send(&request_with_head_of(limit + 1000)).await;
            let response = client.read_response().await;
            assert_eq!(response.status, 431, "a head over the limit of {limit}");
            client.closed_within(STEP_LIMIT).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_count_limit_holds_over_http2() {
    bounded(async {
        let server = TestServer::start(hello_app(Limits {
            max_headers: 10,
            ..Limits::default()
        }))
        .await;
        let stream = step("connect", TcpStream::connect(server.addr))
            .await
            .unwrap();
        let (mut sender, connection) = step(
            "h2 handshake",
            hyper::client::conn::http2::handshake::<_, _, Empty<Bytes>>(
                TokioExecutor::new(),
                TokioIo::new(stream),
            ),
        )
        .await
        .expect("the h2c handshake succeeds");
        tokio::spawn(connection);

        for (count, status) in [(8, 200), (20, 431)] {
            let mut request = http::Request::get("http://localhost/");
            for i in 0..count {
                request = request.header(format!("x-header-{i}"), i);
            }
            let request = request.body(Empty::<Bytes>::new()).unwrap();
            let response = step("h2 request", sender.send_request(request))
                .await
                .expect("the h2 request succeeds");
            assert_eq!(response.status(), status, "{count} headers");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_read_timeout_drops_stalled_clients_only() {
    bounded(async {
        let timeout = Duration::from_millis(300);
        let server = TestServer::start(hello_app(Limits {
            header_read_timeout: timeout,
            ..Limits::default()
        }))
        .await;

        // One client sends part of a head and stalls; another sends nothing.
        let started = Instant::now();
        let mut stalled = server.connect().await;
        stalled.send(b"GET / HTTP/1.1\r\nHost: loca").await;
        let mut silent = server.connect().await;

        // Meanwhile a third client is served as usual.
        let mut client = server.connect().await;
        client.send(get_request("/").as_bytes()).await;
        let response = client.read_response().await;
        assert_eq!((response.status, response.text().as_str()), (200, "hello"));

        let rest = stalled.closed_within(STEP_LIMIT).await;
        assert!(rest.is_empty(), "the stalled client got {rest:?}");
        let rest = silent.closed_within(STEP_LIMIT).await;
        assert!(rest.is_empty(), "the silent client got {rest:?}");
        // Timers never fire early, and the server's started after `started`.
        let elapsed = started.elapsed();
        assert!(elapsed >= timeout, "dropped after only {elapsed:?}");

        // The server still serves new connections.
        let mut client = server.connect().await;
        client.send(get_request("/other").as_bytes()).await;
        assert_eq!(client.read_response().await.text(), "other");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_requests_in_flight() {
    bounded(async {
        let (entered, mut entered_rx) = mpsc::channel::<()>(1);
        // A drain deadline far longer than the test may take.
        let app = hello_app(Limits {
            shutdown_timeout: Duration::from_secs(600),
            ..Limits::default()
        })
        .route(
            "/slow",
            get(move || async move {
                let _ = entered.send(()).await;
                tokio::time::sleep(Duration::from_millis(300)).await;
                "slow done"
            }),
        );
        let mut server = TestServer::start(app).await;

        // An idle keep-alive connection, and a request in flight.
        let mut idle = server.connect().await;
        idle.send(get_request("/").as_bytes()).await;
        assert_eq!(idle.read_response().await.status, 200);
        let mut busy = server.connect().await;
        busy.send(get_request("/slow").as_bytes()).await;
        step("the slow handler starts", entered_rx.recv())
            .await
            .expect("the slow handler ran");

        server.trigger_shutdown();

        // The listener goes away: new connections are refused.
        step("new connections are refused", async {
            loop {
                match TcpStream::connect(server.addr).await {
                    Err(err) if err.kind() == std::io::ErrorKind::ConnectionRefused => break,
                    // Queued by the kernel just before the listener closed
                    // (then reset with it): try again.
                    Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                    Err(err) if is_reset(&err) => {
                        tokio::time::sleep(Duration::from_millis(10)).await
                    }
                    Err(err) => panic!("connecting failed oddly: {err}"),
                }
            }
        })
        .await;

        // The request in flight completes, then its connection closes.
        let response = busy.read_response().await;
        assert_eq!(
            (response.status, response.text().as_str()),
            (200, "slow done")
        );
        busy.closed_within(STEP_LIMIT).await;
        // The idle connection is closed without a response.
        let rest = idle.closed_within(STEP_LIMIT).await;
        assert!(rest.is_empty(), "the idle connection got {rest:?}");

        // Everything closed: serve_listener returns (within STEP_LIMIT)
        // without waiting for the 600 s drain deadline.
        server.join(STEP_LIMIT).await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_deadline_drops_requests_still_running() {
    bounded(async {
        let deadline = Duration::from_millis(200);
        let (entered, mut entered_rx) = mpsc::channel::<()>(1);
        let app = App::new()
            .settings(settings(Limits {
                shutdown_timeout: deadline,
                ..Limits::default()
            }))
            .route(
                "/endless",
                get(move || async move {
                    let _ = entered.send(()).await;
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    "too late"
                }),
            );
        let mut server = TestServer::start(app).await;
        let mut busy = server.connect().await;
        busy.send(get_request("/endless").as_bytes()).await;
        step("the handler starts", entered_rx.recv())
            .await
            .expect("the handler ran");

        let triggered = Instant::now();
        server.trigger_shutdown();
        server.join(STEP_LIMIT).await.unwrap();
        let elapsed = triggered.elapsed();
        assert!(elapsed >= deadline, "returned after only {elapsed:?}");
        assert!(
            elapsed < Duration::from_secs(5),
            "returned after {elapsed:?}"
        );

        // The connection still open is dropped, not left running.
        let rest = busy.closed_within(Duration::from_secs(5)).await;
        assert!(rest.is_empty(), "the dropped request got {rest:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_is_a_500_and_the_server_goes_on() {
    bounded(async {
        let app = hello_app(Limits::default()).route("/panic", get(panics));
        let server = TestServer::start(app).await;

        let mut client = server.connect().await;
        client.send(get_request("/panic").as_bytes()).await;
        let response = client.read_response().await;
        assert_eq!(response.status, 500);
        assert!(
            !response.text().contains("exploded"),
            "the panic message leaked"
        );

        // The same connection goes on.
        client.send(get_request("/").as_bytes()).await;
        let response = client.read_response().await;
        assert_eq!((response.status, response.text().as_str()), (200, "hello"));

        // So do new connections, and a second panic.
        let mut client = server.connect().await;
        client.send(get_request("/panic").as_bytes()).await;
        assert_eq!(client.read_response().await.status, 500);
        let mut client = server.connect().await;
        client.send(get_request("/other").as_bytes()).await;
        assert_eq!(client.read_response().await.text(), "other");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_host_is_400() {
    bounded(async {
        let server = TestServer::start(hello_app(Limits::default())).await;
        let mut client = server.connect().await;
        client
            .send(b"GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n")
            .await;
        let response = client.read_response().await;
        assert_eq!(response.status, 400);
        assert!(!response.text().contains("hello"));

        // An allowed host, with a port, on the same connection.
        client
            .send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n")
            .await;
        let response = client.read_response().await;
        assert_eq!((response.status, response.text().as_str()), (200, "hello"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_see_the_client_address() {
    bounded(async {
        let app = hello_app(Limits::default()).route(
            "/whoami",
            get(|ClientAddr(addr): ClientAddr| async move { addr.to_string() }),
        );
        let server = TestServer::start(app).await;
        let mut client = server.connect().await;
        let local = client.stream.local_addr().unwrap();
        for _ in 0..2 {
            client.send(get_request("/whoami").as_bytes()).await;
            let response = client.read_response().await;
            assert_eq!(response.status, 200, "{}", response.text());
            assert_eq!(response.text(), local.to_string());
        }
    })
    .await;
}

/// The variable that turns [`serve_child_process`] into a server.
const CHILD_ADDR_VAR: &str = "SERVER_TEST_CHILD_ADDR";

/// Not a test by itself: the child process of
/// `an_explicit_serve_address_wins_over_flagon_addr`, which runs this test
/// binary again with [`CHILD_ADDR_VAR`] set; without it, it does nothing.
#[test]
fn serve_child_process() {
    let Ok(addr) = std::env::var(CHILD_ADDR_VAR) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime
        .block_on(hello_app(Limits::default()).serve(&addr))
        .unwrap();
}

/// Kills the child process if the test fails half-way.
struct ChildGuard(std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback address with a port that was free a moment ago.
fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// A blocking `GET /` on a connection of its own.
fn blocking_get(addr: SocketAddr) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(&addr, STEP_LIMIT)?;
    stream.set_read_timeout(Some(STEP_LIMIT))?;
    stream.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

#[test]
fn an_explicit_serve_address_wins_over_flagon_addr() {
    let explicit = free_addr();
    let from_env = free_addr();
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["serve_child_process", "--exact", "--nocapture"])
        .env(CHILD_ADDR_VAR, explicit.to_string())
        .env("FLAGON_ADDR", from_env.to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the test binary runs again");
    let mut child = ChildGuard(child);

    let deadline = Instant::now() + Duration::from_secs(20);
    let response = loop {
        match blocking_get(explicit) {
            Ok(response) => break response,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(err) => panic!("nothing answered on the address given to serve: {err}"),
        }
    };
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        blocking_get(from_env).is_err(),
        "the server also answered on FLAGON_ADDR"
    );

    let _ = child.0.kill();
    let _ = child.0.wait();
    let mut printed = String::new();
    if let Some(mut stderr) = child.0.stderr.take() {
        use std::io::Read;
        stderr.read_to_string(&mut printed).unwrap();
    }
    assert!(
        printed.contains(&format!("FLAGON_ADDR={from_env} is ignored")),
        "no warning about the ignored FLAGON_ADDR in {printed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_dropped_after_the_write_timeout() {
    bounded(async {
        const BIG: usize = 32 * 1024 * 1024;
        let timeout = Duration::from_millis(300);
        let app = App::new()
            .settings(settings(Limits {
                write_timeout: timeout,
                // Far longer than the test: an idle keep-alive connection
                // must not be what closes it.
                header_read_timeout: Duration::from_secs(600),
                ..Limits::default()
            }))
            .route("/big", get(|| async { vec![b'x'; BIG] }));
        let server = TestServer::start(app).await;
        // A small receive window, so that the sockets fill up soon.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let stream = step("connect", socket.connect(server.addr)).await.unwrap();
        let mut client = Client {
            stream,
            buf: Vec::new(),
        };
        client.send(get_request("/big").as_bytes()).await;
        // Read nothing for a while: the server gives up on the response.
        tokio::time::sleep(timeout * 4).await;
        let received = client.closed_within(STEP_LIMIT).await;
        assert!(
            received.starts_with(b"HTTP/1.1 200"),
            "{:?}",
            String::from_utf8_lossy(&received[..received.len().min(200)])
        );
        assert!(
            received.len() < BIG,
            "the whole response arrived ({} bytes): the connection was not dropped",
            received.len()
        );

        // The server goes on.
        let mut client = server.connect().await;
        client.send(get_request("/big").as_bytes()).await;
        let response = client.read_response().await;
        assert_eq!((response.status, response.body.len()), (200, BIG));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_is_answered_408_after_the_body_read_timeout() {
    bounded(async {
        let timeout = Duration::from_millis(300);
        let server = TestServer::start(echo_app(1024).settings(settings(Limits {
            body_read_timeout: timeout,
            // Far longer than the test: only the body timeout may end it.
            header_read_timeout: Duration::from_secs(600),
            ..Limits::default()
        })))
        .await;
        let mut client = server.connect().await;
        let started = Instant::now();
        client
            .send(
                b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n\
                  Content-Length: 100\r\n\r\n0123456789",
            )
            .await;
        let response = client.read_response().await;
        assert_eq!(response.status, 408, "{}", response.text());
        assert!(
            response.text().contains("limits.body_read_timeout"),
            "{}",
            response.text()
        );
        assert_eq!(response.header("connection"), Some("close"));
        client.closed_within(STEP_LIMIT).await;
        let elapsed = started.elapsed();
        assert!(elapsed >= timeout, "answered after only {elapsed:?}");

        // The server goes on.
        let mut client = server.connect().await;
        client
            .send(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello")
            .await;
        let response = client.read_response().await;
        assert_eq!(
            (response.status, response.text().as_str()),
            (200, "got 5 bytes")
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_request_whose_body_trickles_is_cut_off_at_the_deadline() {
    bounded(async {
        let deadline = Duration::from_secs(1);
        let server = TestServer::start(echo_app(1024).settings(settings(Limits {
            header_read_timeout: deadline,
            // Each byte comes well within the body read timeout.
            body_read_timeout: Duration::from_secs(600),
            ..Limits::default()
        })))
        .await;
        // Before connecting: the server's clock starts when it accepts.
        let started = Instant::now();
        let stream = step("connect", TcpStream::connect(server.addr))
            .await
            .unwrap();
        let (mut reader, mut writer) = stream.into_split();
        // The head at once, then the body a byte at a time: 100 bytes
        // would take 25 s.
        let trickle = tokio::spawn(async move {
            writer
                .write_all(
                    b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n\
                      Content-Length: 100\r\n\r\n",
                )
                .await?;
            for _ in 0..100 {
                tokio::time::sleep(Duration::from_millis(250)).await;
                writer.write_all(b"x").await?;
            }
            Ok::<_, std::io::Error>(())
        });
        let mut received = Vec::new();
        let closed = tokio::time::timeout(STEP_LIMIT, async {
            let mut chunk = [0u8; 1024];
            loop {
                match reader.read(&mut chunk).await {
                    Ok(0) => break,
                    Ok(n) => received.extend_from_slice(&chunk[..n]),
                    Err(err) if is_reset(&err) => break,
                    Err(err) => panic!("reading failed: {err}"),
                }
            }
        })
        .await;
        let elapsed = started.elapsed();
        trickle.abort();
        assert!(
            closed.is_ok(),
            "the connection was still open after {STEP_LIMIT:?}"
        );
        // A 408 (a reset may also swallow it: the client is still sending).
        let text = String::from_utf8_lossy(&received);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 408"),
            "{text}"
        );
        assert!(elapsed >= deadline, "cut off after only {elapsed:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_over_the_cap_is_answered_503() {
    bounded(async {
        let server = TestServer::start(hello_app(Limits {
            max_connections: 2,
            ..Limits::default()
        }))
        .await;
        let mut held = Vec::new();
        for _ in 0..2 {
            let mut client = server.connect().await;
            client.send(get_request("/").as_bytes()).await;
            assert_eq!(client.read_response().await.status, 200);
            held.push(client);
        }

        let mut refused = server.connect().await;
        refused.send(get_request("/").as_bytes()).await;
        let response = refused.read_response().await;
        assert_eq!(response.status, 503, "{}", response.text());
        assert_eq!(response.header("connection"), Some("close"));
        refused.closed_within(STEP_LIMIT).await;
        // The connections held are still served.
        held[0].send(get_request("/other").as_bytes()).await;
        assert_eq!(held[0].read_response().await.text(), "other");

        // Once one closes, a new connection is served.
        drop(held.pop());
        step("a connection served after one closed", async {
            loop {
                let mut client = server.connect().await;
                client.send(get_request("/").as_bytes()).await;
                let response = client.read_response().await;
                if response.status == 200 {
                    break;
                }
                // The server has not seen the close yet.
                assert_eq!(response.status, 503);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
    })
    .await;
}
