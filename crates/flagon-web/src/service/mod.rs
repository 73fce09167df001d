//! The built app as a service, and the request's path through it.
//!
//! - `pipeline`: what every request goes through: the checks made before
//!   anything runs (host, limits, the path's normal form), the request's
//!   context, the app's layers and hooks around the router, and the end of
//!   the request (session saved, cookies and security headers written).
//! - `dispatch`: routing, and what a match leads to (a route's endpoint
//!   after the CSRF check, 405, the automatic `OPTIONS`, the strict-slash
//!   redirect, a mounted service).
//! - `finish`: the one place a response is finished: a pending template
//!   rendered, an error given its status, handler and page; panics caught.
//! - `session_io`: reading and saving the session, the CSRF secret kept
//!   in it, and the cookies written at the end.
//! - `normalize`: the path's normal form, seen alike by layers, hooks
//!   and the router.
//! - `limits`, `negotiate`: the head and body limits checked up front,
//!   and whether the client prefers JSON.

mod dispatch;
pub(crate) mod finish;
mod limits;
pub(crate) mod negotiate;
pub(crate) mod normalize;
mod pipeline;
pub(crate) mod session_io;

pub(crate) use session_io::CSRF_SESSION_KEY;

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::Method;

use crate::app::AppShared;
use crate::body::Body;
use crate::error::{BoxError, Error};
use crate::extract::Request;
use crate::handler::Endpoint;
use crate::response::Response;
use crate::settings::Settings;
/// A built [`crate::App`]: a cheap-to-clone tower [`tower::Service`] that
/// answers requests. Serve it, mount it in another app, or test it.
#[derive(Clone)]
pub struct AppService {
    shared: Arc<AppShared>,
    inner: Endpoint,
}

impl std::fmt::Debug for AppService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppService")
            .field("routes", &self.shared.router.routes.len())
            .finish()
    }
}

impl AppService {
    pub(crate) fn new(
        shared: Arc<AppShared>,
        layers: Vec<Box<dyn FnOnce(Endpoint) -> Endpoint + Send + Sync>>,
    ) -> Self {
        let router_shared = shared.clone();
        let mut inner = Endpoint::from_fn(move |request| {
            let shared = router_shared.clone();
            Box::pin(async move { dispatch::dispatch(&shared, request).await })
        });
        for layer in layers {
            inner = layer(inner);
        }
        AppService { shared, inner }
    }

    /// The settings the app was built with.
    pub fn settings(&self) -> &Settings {
        &self.shared.settings
    }

    /// Builds the URL of the route `name` (outside a request).
    ///
    /// ```
    /// use flagon_web::{App, get};
    /// use flagon_web::testing::test_settings;
    ///
    /// let service = App::new()
    ///     .settings(test_settings())
    ///     .route("/post/<int:id>", get(|| async { "" }).name("post"))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(service.url_for("post", [("id", "3")]).unwrap(), "/post/3");
    /// assert!(service.url_for("nope", [("id", "3")]).is_err());
    /// ```
    pub fn url_for<K, V>(
        &self,
        name: &str,
        params: impl IntoIterator<Item = (K, V)>,
    ) -> Result<String, Error>
    where
        K: Into<String>,
        V: ToString,
    {
        let params = crate::routing::url::owned_params(params);
        if crate::routing::url::wants_external(&params) {
            return Err(Error::internal(format!(
                "url_for(\"{name}\"): `_external` needs the request's host; use RequestContext::url_for inside a request"
            )));
        }
        self.shared.url_for_from(None, name, &params)
    }

    /// The routes as `(methods, pattern, name)`, for the `routes` command.
    pub fn routes(&self) -> Vec<(Vec<Method>, String, Option<String>)> {
        self.shared
            .router
            .routes
            .iter()
            .map(|route| {
                let mut methods = Vec::new();
                route.methods.allowed(&mut methods);
                (methods, route.pattern.source.clone(), route.name.clone())
            })
            .collect()
    }

    /// Answers one request.
    pub async fn handle(&self, request: Request) -> Response {
        self.handle_from(request, None).await
    }

    /// Answers one request that Flagon's server read from `peer`.
    pub(crate) async fn handle_from(
        &self,
        request: Request,
        peer: Option<std::net::SocketAddr>,
    ) -> Response {
        // The server passes the peer; a request from elsewhere (the test
        // client, the app this one is mounted in) may carry it instead.
        let peer = peer.or_else(|| {
            request
                .extensions()
                .get::<crate::server::ClientAddr>()
                .map(|addr| addr.0)
        });
        // The request line is kept only when it will be logged.
        if !tracing::enabled!(target: "flagon::request", tracing::Level::INFO) {
            return pipeline::run(&self.shared, &self.inner, request, peer).await;
        }
        let started = Instant::now();
        let client = crate::security::client_ip(
            request.headers(),
            peer.map(|addr| addr.ip()),
            &self.shared.settings.security,
        );
        let method = request.method().clone();
        let uri = request.uri().clone();
        let response = pipeline::run(&self.shared, &self.inner, request, peer).await;
        let client = client.map_or_else(|| "-".to_owned(), |ip| ip.to_string());
        tracing::info!(
            target: "flagon::request",
            "{client} {method} {} {} {:.1}ms",
            uri.path(),
            response.status().as_u16(),
            started.elapsed().as_secs_f64() * 1000.0
        );
        response
    }
}

impl<B> tower_service::Service<http::Request<B>> for AppService
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let service = self.clone();
        Box::pin(async move { Ok(service.handle(request.map(Body::new)).await) })
    }
}
