//! The HTTP server: hyper 1 with HTTP/1.1 and HTTP/2 (cleartext, by prior
//! knowledge), keep-alive, limits on the request head, timeouts on reading
//! the request head and body ([`incoming`]) and on writing the response,
//! a cap on connections ([`cap`]), graceful shutdown on SIGINT/SIGTERM with
//! a drain deadline, and the responses of pipelined requests sent together
//! ([`coalesce`]).

mod cap;
mod coalesce;
mod incoming;
mod stall;

pub(crate) use incoming::IncomingBody;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::app::App;
use crate::body::Body;
use crate::error::Error;
use crate::service::AppService;

/// How often an idle HTTP/2 connection is pinged, and how long the answer
/// may take before the connection is closed.
const HTTP2_KEEP_ALIVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

/// The address of the client at the other end of the connection, as
/// Flagon's server saw it ([`App::serve`], [`App::run`],
/// [`AppService::serve_listener`]): an extractor.
///
/// Behind a reverse proxy it is the proxy's address; the client's own is
/// [`crate::RequestContext::remote_addr`]. A request that did not come
/// through the server (an app called as a tower `Service`) has one only if
/// the caller put a `ClientAddr` in its extensions, as the
/// [`crate::testing::TestClient`] does and an app does for a service
/// mounted in it; without one, extracting it is a 500 and
/// `Option<ClientAddr>` is `None`.
///
/// ```
/// use flagon_web::{get, App, ClientAddr};
///
/// async fn whoami(ClientAddr(addr): ClientAddr) -> String {
///     format!("you are {}", addr.ip())
/// }
///
/// let app = App::new().route("/whoami", get(whoami));
/// # let _ = app;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

impl crate::extract::FromRequestParts for ClientAddr {
    async fn from_request_parts(parts: &mut http::request::Parts) -> Result<Self, Error> {
        <Option<ClientAddr> as crate::extract::FromRequestParts>::from_request_parts(parts)
            .await?
            .ok_or_else(|| {
                Error::internal(
                    "ClientAddr: the request did not come through Flagon's server, so it has no client address",
                )
            })
    }
}

/// `None` when the request did not come through Flagon's server.
impl crate::extract::OptionalFromRequestParts for ClientAddr {
    async fn from_request_parts(parts: &mut http::request::Parts) -> Result<Option<Self>, Error> {
        let from_context = parts
            .extensions
            .get::<crate::context::RequestContext>()
            .and_then(|context| context.peer);
        Ok(from_context
            .map(ClientAddr)
            .or_else(|| parts.extensions.get::<ClientAddr>().copied()))
    }
}

impl App {
    /// Builds the app and serves it on `addr` until SIGINT or SIGTERM.
    ///
    /// The address given here is the one served on: `FLAGON_ADDR` and the
    /// `addr` setting do not move it (a warning says so when `FLAGON_ADDR`
    /// is set to another address). To let the settings choose, use
    /// [`App::run`]. Outside debug mode, starting without a secret key is
    /// refused.
    ///
    /// ```no_run
    /// # async fn start() -> flagon_web::Result<()> {
    /// use flagon_web::{get, App};
    ///
    /// App::new()
    ///     .route("/", get(|| async { "hello" }))
    ///     .serve("127.0.0.1:8000")
    ///     .await
    /// # }
    /// ```
    pub async fn serve(self, addr: &str) -> Result<(), Error> {
        let service = self.build()?;
        if let Some(ignored) = std::env::var_os("FLAGON_ADDR") {
            if ignored != addr {
                let ignored = ignored.to_string_lossy();
                let message = format!(
                    "FLAGON_ADDR={ignored} is ignored: serve(\"{addr}\") was given an address; \
                     use App::run() to serve on the `addr` setting, which FLAGON_ADDR overrides"
                );
                tracing::warn!(target: "flagon::server", "{message}");
                eprintln!("warning: {message}");
            }
        }
        service.serve(addr).await
    }

    /// Builds the app and serves it on the `addr` setting until SIGINT or
    /// SIGTERM: `FLAGON_ADDR` when set, else `addr` in `flagon.toml`, else
    /// `127.0.0.1:8000`; so an app can be moved without a rebuild
    /// (`FLAGON_ADDR=127.0.0.1:9000 cargo run`). Settings given with
    /// [`App::settings`] are used as they are (their `addr` included).
    ///
    /// ```no_run
    /// # async fn start() -> flagon_web::Result<()> {
    /// use flagon_web::{get, App};
    ///
    /// App::new().route("/", get(|| async { "hello" })).run().await
    /// # }
    /// ```
    pub async fn run(self) -> Result<(), Error> {
        let service = self.build()?;
        let addr = service.settings().addr.clone();
        service.serve(&addr).await
    }
}

impl AppService {
    /// Serves the app on `addr` until SIGINT or SIGTERM.
    pub async fn serve(self, addr: &str) -> Result<(), Error> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|err| Error::internal(format!("cannot listen on {addr}: {err}")))?;
        let local = listener.local_addr()?;
        let scheme_note = if self.settings().debug {
            " (debug mode: never use it in production)"
        } else {
            ""
        };
        tracing::info!(target: "flagon::server", "serving on http://{local}{scheme_note}");
        eprintln!("Flagon serving on http://{local}{scheme_note} (Ctrl-C to stop)");
        self.serve_listener(listener, shutdown_signal()).await
    }

    /// Serves connections from `listener` until `shutdown` completes, then
    /// stops accepting, lets requests in flight finish within the
    /// `limits.shutdown_timeout` setting, closes the connections still open,
    /// and returns. Dropping the returned future closes every connection too.
    pub async fn serve_listener(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), Error> {
        let limits = self.settings().limits.clone();
        let body_read_timeout = limits.body_read_timeout;
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .max_headers(limits.max_headers)
            .max_buf_size(limits.max_header_size.max(8192))
            // No `pipeline_flush`: `coalesce` gathers the responses of
            // pipelined requests instead (hyper's setting drops them when a
            // connection closes with request bytes unread, and lifts the cap
            // on its write buffer).
            .keep_alive(true);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_header_list_size(u32::try_from(limits.max_header_size).unwrap_or(u32::MAX))
            // Ping idle HTTP/2 peers so that connections of vanished clients
            // are closed instead of held forever.
            .keep_alive_interval(Some(HTTP2_KEEP_ALIVE_INTERVAL))
            .keep_alive_timeout(HTTP2_KEEP_ALIVE_INTERVAL);
        let builder = Arc::new(builder);
        let graceful = GracefulShutdown::new();
        // Owns the connection tasks, so that none outlives the server.
        let mut connections = JoinSet::new();
        let mut cap = cap::ConnectionCap::new(limits.max_connections);
        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                Some(_) = connections.join_next(), if !connections.is_empty() => continue,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        // Out of file descriptors and the like: wait a little, keep serving.
                        tracing::warn!(target: "flagon::server", "accept failed: {err}");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let Some(place) = cap.admit() else {
                cap.refuse(stream, peer, &mut connections);
                continue;
            };
            let _ = stream.set_nodelay(true);
            // The first request must be in, body included, by then.
            let first_deadline =
                tokio::time::Instant::now().checked_add(limits.header_read_timeout);
            let service = self.clone();
            let started = Arc::new(AtomicBool::new(false));
            let seen = started.clone();
            let hyper_service = hyper::service::service_fn(
                move |request: http::Request<hyper::body::Incoming>| {
                    let first = !seen.swap(true, Ordering::Relaxed);
                    // What is left of the first-request deadline binds the
                    // reading of its body.
                    let budget = first_deadline.filter(|_| first).map(|deadline| {
                        deadline.saturating_duration_since(tokio::time::Instant::now())
                    });
                    let request = request.map(|incoming| {
                        Body::from_incoming(IncomingBody::new(incoming, body_read_timeout, budget))
                    });
                    let service = service.clone();
                    async move { Ok::<_, Infallible>(service.handle_from(request, Some(peer)).await) }
                },
            );
            let builder = builder.clone();
            let timeout = limits.header_read_timeout;
            let (reader, writer) = stream.into_split();
            let (io, outgoing) = coalesce::coalescing(reader, writer, limits.write_timeout);
            let connection = graceful.watch(
                builder
                    .serve_connection_with_upgrades(TokioIo::new(io), hyper_service)
                    .into_owned(),
            );
            let connection = coalesce::Coalesced::new(connection, outgoing);
            connections.spawn(async move {
                serve_connection(connection, started, timeout, peer).await;
                drop(place);
            });
        }
        drop(listener);
        tracing::info!(target: "flagon::server", "shutting down: waiting for requests in flight");
        tokio::select! {
            () = graceful.shutdown() => tracing::info!(target: "flagon::server", "all connections closed"),
            () = tokio::time::sleep(limits.shutdown_timeout) => tracing::warn!(
                target: "flagon::server",
                "shutdown deadline of {:?} passed; dropping the connections still open",
                limits.shutdown_timeout
            ),
        }
        connections.shutdown().await;
        Ok(())
    }
}

/// Drives one connection. Before its first request is complete the client
/// gets `timeout` in all (hyper's own timeout covers later request heads),
/// so a client that trickles its first bytes cannot hold the connection:
/// a connection with no request head by then is dropped here, and the
/// first request's body fails to read past it ([`IncomingBody`], which
/// counts only the time spent waiting on the client, so that a handler
/// that reads the body late is not held against it).
async fn serve_connection<C, E>(
    connection: C,
    started: Arc<AtomicBool>,
    timeout: std::time::Duration,
    peer: SocketAddr,
) where
    C: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    tokio::pin!(connection);
    let result = tokio::select! {
        result = &mut connection => result,
        () = tokio::time::sleep(timeout) => {
            if !started.load(Ordering::Relaxed) {
                tracing::debug!(target: "flagon::server", %peer, "closing a connection that sent no request within {timeout:?}");
                return;
            }
            connection.await
        }
    };
    if let Err(err) = result {
        tracing::debug!(target: "flagon::server", %peer, "connection ended with an error: {err}");
    }
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
