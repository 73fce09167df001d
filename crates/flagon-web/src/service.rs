//! The built app as a service: the request pipeline around the router.
//!
//! For each request: validate the host, read cookies, the session and the
//! CSRF secret into the request's scope; run the app's layers around the
//! router; route, check CSRF, run the handler (a panic becomes a 500);
//! render pending templates and errors (through the app's error handlers);
//! save the session, write cookies, add security headers, log one line.

use std::any::Any;
use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use http::header::{self, HeaderValue};
use http::{Method, StatusCode};

use crate::app::AppShared;
use crate::body::Body;
use crate::context::{RequestContext, RequestScope};
use crate::cookies::CookieState;
use crate::csrf::{self, CsrfState};
use crate::error::{BoxError, Error, ErrorReport};
use crate::extract::path::PathParams;
use crate::extract::Request;
use crate::handler::Endpoint;
use crate::response::{IntoResponse, Redirect, Response};
use crate::routing::url::decode_path;
use crate::routing::Matched;
use crate::session::{Session, SessionSlot, StoreContext};
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
            Box::pin(async move { dispatch(&shared, request).await })
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
    /// let service = App::new()
    ///     .route("/post/<int:id>", get(|| async { "" }).name("post"))
    ///     .into_service_with_defaults();
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
                "url_for(\"{name}\"): `_external` needs the request's host; use RequestInfo::url_for inside a request"
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
        // The request line is kept only when it will be logged.
        if !tracing::enabled!(target: "flagon::request", tracing::Level::INFO) {
            return self.handle_inner(request).await;
        }
        let started = Instant::now();
        let method = request.method().clone();
        let uri = request.uri().clone();
        let response = self.handle_inner(request).await;
        tracing::info!(
            target: "flagon::request",
            "{method} {} {} {:.1}ms",
            uri.path(),
            response.status().as_u16(),
            started.elapsed().as_secs_f64() * 1000.0
        );
        response
    }

    async fn handle_inner(&self, request: Request) -> Response {
        let shared = &self.shared;
        let settings = &shared.settings;
        let (mut parts, body) = request.into_parts();
        let mounted = parts.extensions.remove::<Mounted>();
        let host = match &mounted {
            Some(outer) => Ok(outer.host.clone()),
            None => crate::security::validate_host(&parts, settings),
        };
        let (host, host_error) = match host {
            Ok(host) => (host, None),
            Err(err) => (crate::security::RequestHost::empty(), Some(err)),
        };
        let cookies = CookieState::from_headers(&parts.headers);
        let session_cookie = cookies
            .jar
            .get(&settings.session.cookie_name)
            .map(|c| c.value().to_owned());
        let mut early_error = head_too_large(&parts, settings)
            .or(host_error)
            .or_else(|| body_too_large(&parts.headers, settings));
        let outer_session = mounted.as_ref().and_then(|outer| outer.session.clone());
        let session_is_outer = outer_session.is_some() && shared.session_store.is_some();
        let session = match (&shared.session_store, &early_error, outer_session) {
            (Some(_), None, Some(outer)) => SessionSlot::Loaded(outer),
            (Some(store), None, None) => {
                match load_session(shared, store.as_ref(), session_cookie).await {
                    Ok(session) => session,
                    Err(err) => {
                        early_error = Some(err);
                        SessionSlot::Off
                    }
                }
            }
            _ => SessionSlot::Off,
        };
        let csrf_state = if settings.csrf.use_sessions {
            let secret = session
                .if_used()
                .and_then(|s| s.get::<String>(CSRF_SESSION_KEY));
            CsrfState::from_cookie(secret.as_deref())
        } else {
            CsrfState::from_cookie(
                cookies
                    .jar
                    .get(&settings.csrf.cookie_name)
                    .map(|c| c.value()),
            )
        };
        let csp_nonce = (!settings.security.content_security_policy.is_empty()).then(new_nonce);
        let scope = Arc::new(RequestScope {
            app: shared.clone(),
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            host,
            is_secure: mounted.as_ref().map_or_else(
                || crate::security::is_secure(&parts, &settings.security),
                |outer| outer.is_secure,
            ),
            debug: mounted.as_ref().map_or(settings.debug, |outer| outer.debug),
            script_root: mounted.map(|outer| outer.script_root).unwrap_or_default(),
            session_is_outer,
            wants_json: wants_json(&parts.headers),
            session,
            cookies: Mutex::new(cookies),
            csrf: Mutex::new(csrf_state),
            csp_nonce,
            route: OnceLock::new(),
            flashes: OnceLock::new(),
            // Only error handlers need them after the request is consumed.
            request_headers: (!shared.error_handlers.is_empty()).then(|| parts.headers.clone()),
            varies_by_cookie: std::sync::atomic::AtomicBool::new(false),
        });
        let is_head = parts.method == Method::HEAD;
        let mut response = match early_error {
            Some(err) => err.into_response(),
            None => {
                parts.extensions.insert(RequestContext(scope.clone()));
                let request = Request::from_parts(parts, body);
                catch_panics(self.inner.call(request)).await
            }
        };
        finish_response(&mut response, &scope).await;
        if settings.csrf.use_sessions {
            if let Err(err) = keep_csrf_secret_in_session(&scope) {
                response = err.into_response();
                finish_response(&mut response, &scope).await;
            }
        }
        if session_modified(&scope) {
            if let Err(err) = Box::pin(save_session(&scope)).await {
                response = err.into_response();
                finish_response(&mut response, &scope).await;
            }
        }
        write_cookies(&mut response, &scope);
        if scope
            .varies_by_cookie
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            add_vary_cookie(response.headers_mut());
        }
        crate::security::add_fixed_headers(response.headers_mut(), &shared.security_headers);
        crate::security::add_dynamic_headers(
            response.headers_mut(),
            &settings.security,
            scope.is_secure,
            scope.csp_nonce.as_deref(),
        );
        if is_head {
            *response.body_mut() = Body::empty();
        }
        response
    }
}

impl Endpoint {
    pub(crate) fn from_fn(
        f: impl Fn(Request) -> BoxFuture<'static, Response> + Send + Sync + 'static,
    ) -> Self {
        Endpoint::from_arc(Arc::new(f))
    }
}

/// The session key holding the CSRF secret when `csrf.use_sessions` is on.
pub(crate) const CSRF_SESSION_KEY: &str = "_csrf_secret";

/// Stores a CSRF secret made during this request in the session (instead
/// of the cookie, which `write_cookies` then does not send).
fn keep_csrf_secret_in_session(scope: &RequestScope) -> Result<(), Error> {
    let Some(secret) = scope.take_new_csrf_secret() else {
        return Ok(());
    };
    match scope.session.get() {
        Some(session) => session.insert(CSRF_SESSION_KEY, secret),
        None => Ok(()),
    }
}

/// Marks a request an app passes to a service mounted in it (which may be
/// another app): the outer app faces the client, so it has checked the host
/// against its `allowed_hosts`, and its view of HTTPS and its debug setting
/// hold for the mounted app too.
///
/// A mounted Flagon app also shares the outer app's session (one cookie,
/// one session), and builds its URLs under the mount's prefix.
#[derive(Clone)]
struct Mounted {
    is_secure: bool,
    debug: bool,
    /// The outer app's validated host.
    host: crate::security::RequestHost,
    /// Where the mounted app lives: the outer app's own root plus the
    /// mount prefix (WSGI's `SCRIPT_NAME`).
    script_root: String,
    session: Option<Session>,
}

/// Routes the request and runs the matched endpoint.
async fn dispatch(shared: &AppShared, mut request: Request) -> Response {
    let Some(context) = request.extensions().get::<RequestContext>().cloned() else {
        return Error::internal("the request has no scope").into_response();
    };
    // A clone shares the URI's bytes: no copy of the path.
    let uri = request.uri().clone();
    let path = uri.path();
    let method = request.method().clone();
    let query = uri.query();
    let found = with_segments(path, |segments| {
        let matched = shared.router.find(path, segments, &method);
        // The redirect's target, built while the segments are at hand.
        let slash_target = matches!(matched, Matched::AddSlash)
            .then(|| crate::routing::url::with_trailing_slash(segments, query));
        (matched, slash_target)
    });
    let (matched, slash_target) = match found {
        Ok(found) => found,
        Err(err) => return err.into_response(),
    };
    let mut response = match matched {
        Matched::Route {
            route,
            endpoint,
            params,
        } => {
            let _ = context.route.set(route.info.clone());
            request.extensions_mut().insert(PathParams(params));
            if shared.settings.csrf.enabled
                && csrf::needs_check(&method)
                && !route.methods.csrf_exempt
            {
                // Boxed: only unsafe methods pay for the check's state.
                request = match Box::pin(csrf::check(&context, request)).await {
                    Ok(request) => request,
                    Err(err) => return err.into_response(),
                };
            }
            catch_panics(endpoint.call(request)).await
        }
        Matched::MethodNotAllowed { allow } => {
            let allow_value = allow
                .iter()
                .map(Method::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            let allow_value = HeaderValue::from_str(&allow_value)
                .unwrap_or_else(|_| HeaderValue::from_static("GET"));
            if method == Method::OPTIONS {
                let mut response = StatusCode::OK.into_response();
                response.headers_mut().insert(header::ALLOW, allow_value);
                response
            } else {
                Error::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    format!("The method {method} is not allowed for this URL."),
                )
                .with_header(header::ALLOW, allow_value)
                .into_response()
            }
        }
        Matched::AddSlash => {
            let location = format!(
                "{}{}",
                context.script_root,
                slash_target.unwrap_or_default()
            );
            Redirect::permanent(location).into_response()
        }
        Matched::Mount { prefix, service } => {
            let rest = &path[prefix.len()..];
            let rest = if rest.is_empty() { "/" } else { rest };
            let target = match request.uri().query() {
                Some(query) => format!("{rest}?{query}"),
                None => rest.to_owned(),
            };
            // Keep the scheme and authority (HTTP/2 carries the host there).
            let mut uri = http::Uri::builder();
            if let Some(scheme) = request.uri().scheme() {
                uri = uri.scheme(scheme.clone());
            }
            if let Some(authority) = request.uri().authority() {
                uri = uri.authority(authority.clone());
            }
            match uri.path_and_query(target).build() {
                Ok(uri) => *request.uri_mut() = uri,
                Err(_) => return Error::bad_request("invalid URL").into_response(),
            }
            request.extensions_mut().remove::<RequestContext>();
            request.extensions_mut().insert(Mounted {
                is_secure: context.is_secure,
                debug: context.debug,
                host: context.host.clone(),
                script_root: format!("{}{prefix}", context.script_root),
                session: context.session.get().cloned(),
            });
            return catch_panics(service.call(request)).await;
        }
        Matched::NotFound => Error::not_found().into_response(),
    };
    finish_response(&mut response, &context.0).await;
    response
}

/// Calls `f` with the path's segments (percent-decoded), split on the
/// stack when there are at most 16 of them.
fn with_segments<R>(path: &str, f: impl FnOnce(&[&str]) -> R) -> Result<R, Error> {
    if path.contains('%') {
        let decoded = decode_path(path)?;
        let segments: Vec<&str> = decoded.iter().map(|s| s.as_ref()).collect();
        return Ok(f(&segments));
    }
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let mut on_stack = [""; 16];
    let mut count = 0;
    for segment in trimmed.split('/') {
        let Some(slot) = on_stack.get_mut(count) else {
            return Ok(f(&trimmed.split('/').collect::<Vec<_>>()));
        };
        *slot = segment;
        count += 1;
    }
    Ok(f(&on_stack[..count]))
}

/// Renders what the handler left pending: a template, or an error (through
/// the app's error handler for its status, if any). Idempotent.
/// [`finish`] with its asynchronous part (error handlers), which few
/// responses need, boxed: the request's future then carries none of its
/// state, and moving that future costs less on every request.
pub(crate) async fn finish_response(response: &mut Response, scope: &Arc<RequestScope>) {
    crate::templates::render_pending(response, scope);
    if response.extensions().get::<ErrorReport>().is_some() {
        Box::pin(finish(response, scope)).await;
    }
}

/// Whether the request changed its session (so that it must be saved).
fn session_modified(scope: &RequestScope) -> bool {
    scope
        .session
        .if_used()
        .is_some_and(|session| session.state().modified)
}

pub(crate) async fn finish(response: &mut Response, scope: &Arc<RequestScope>) {
    crate::templates::render_pending(response, scope);
    let Some(mut report) = response.extensions().get::<ErrorReport>().cloned() else {
        return;
    };
    if let Some(status) = classify(&report.0, &scope.app.error_statuses) {
        let reclassified = Error::from_status(status).with_source(Reclassified(report.0.clone()));
        let reclassified = if status == StatusCode::NOT_FOUND {
            reclassified.with_message(Error::not_found().message().to_owned())
        } else {
            reclassified
        };
        *response.status_mut() = status;
        report = ErrorReport(Arc::new(reclassified));
        response.extensions_mut().insert(report.clone());
    }
    if let Some(handler) = scope.app.error_handlers.get(&report.0.status()) {
        let mut request = Request::new(Body::empty());
        *request.method_mut() = scope.method.clone();
        *request.uri_mut() = scope.uri.clone();
        if let Some(headers) = &scope.request_headers {
            *request.headers_mut() = headers.clone();
        }
        request
            .extensions_mut()
            .insert(RequestContext(scope.clone()));
        request.extensions_mut().insert(report.clone());
        let mut handled = catch_panics(handler.call(request)).await;
        crate::templates::render_pending(&mut handled, scope);
        if let Some(allow) = response.headers().get(header::ALLOW).cloned() {
            handled.headers_mut().entry(header::ALLOW).or_insert(allow);
        }
        if handled.extensions().get::<ErrorReport>().is_none() {
            handled
                .extensions_mut()
                .insert(crate::error_page::RenderedError(report.0.clone()));
        }
        *response = handled;
    }
    crate::error_page::render(response, Some(scope));
}

/// The status the app's classifiers give a 500's causes, if any.
fn classify(error: &Error, classifiers: &[crate::app::ErrorStatus]) -> Option<StatusCode> {
    if error.status() != StatusCode::INTERNAL_SERVER_ERROR || classifiers.is_empty() {
        return None;
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = error.source().map(|e| e as _);
    while let Some(err) = cause {
        if let Some(status) = classifiers.iter().find_map(|classify| classify(err)) {
            return Some(status);
        }
        cause = err.source();
    }
    None
}

/// An error given another status by [`crate::App::error_status`]: the
/// original, kept as the cause.
#[derive(Debug)]
struct Reclassified(Arc<Error>);

impl std::fmt::Display for Reclassified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.chain().first() {
            Some(cause) => f.write_str(cause),
            None => f.write_str(self.0.message()),
        }
    }
}

impl std::error::Error for Reclassified {}

/// Runs a handler future, turning a panic into a 500.
async fn catch_panics(future: BoxFuture<'static, Response>) -> Response {
    match AssertUnwindSafe(future).catch_unwind().await {
        Ok(response) => response,
        Err(payload) => Error::internal(format!(
            "the handler panicked: {}",
            panic_message(&*payload)
        ))
        .into_response(),
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

fn wants_json(headers: &http::HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if accept.contains("json") {
        return !accept.contains("text/html");
    }
    // No preference (none, or `*/*` as fetch() and curl send): answer a
    // JSON request in JSON. Browsers always name text/html.
    let no_preference = accept.trim().is_empty() || accept.trim() == "*/*";
    no_preference
        && crate::extract::media_type(headers).is_some_and(|media| media.ends_with("json"))
}

/// A request head over the `max_headers` or `max_header_size` limit: 431,
/// closing the connection as hyper does for the heads it refuses itself.
///
/// The server's protocol layer enforces these too, but hyper's HTTP/1 size
/// limit cannot go below its 8 KiB buffer minimum and HTTP/2 has no header
/// count limit; this check holds the settings for every request. The size
/// counted (request line and `name:value` lines) is never more than the
/// bytes the client sent.
fn head_too_large(parts: &http::request::Parts, settings: &Settings) -> Option<Error> {
    let limits = &settings.limits;
    // `GET /path HTTP/1.1\r\n`, then `name:value\r\n` per field, then `\r\n`.
    let target = parts.uri.path_and_query().map_or(1, |pq| pq.as_str().len());
    let request_line = parts.method.as_str().len() + " ".len() + target + " HTTP/1.1\r\n".len();
    let size = parts
        .headers
        .iter()
        .fold(request_line + 2, |size, (name, value)| {
            size + name.as_str().len() + value.len() + 3
        });
    let message = if parts.headers.len() > limits.max_headers {
        format!(
            "The request has more than {} header fields.",
            limits.max_headers
        )
    } else if size > limits.max_header_size {
        format!(
            "The request head is larger than the limit of {} bytes.",
            limits.max_header_size
        )
    } else {
        return None;
    };
    Some(
        Error::new(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, message)
            .with_header(header::CONNECTION, HeaderValue::from_static("close")),
    )
}

/// A declared body larger than anything the app would read: 413 at once.
fn body_too_large(headers: &http::HeaderMap, settings: &Settings) -> Option<Error> {
    let limit = settings
        .limits
        .max_body_size
        .max(settings.limits.max_upload_size);
    let length: u64 = headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (length > limit as u64).then(|| Error::payload_too_large(limit))
}

fn new_nonce() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    crate::keys::b64(&bytes)
}

fn store_context(shared: &AppShared) -> StoreContext<'_> {
    StoreContext {
        keys: &shared.keys,
        max_age: shared.settings.session.max_age,
    }
}

async fn load_session(
    shared: &AppShared,
    store: &dyn crate::session::SessionStore,
    cookie: Option<String>,
) -> Result<SessionSlot, Error> {
    let Some(cookie) = cookie else {
        return Ok(SessionSlot::New(OnceLock::new()));
    };
    match store.load(&cookie, store_context(shared)).await? {
        Some(data) => Ok(SessionSlot::Loaded(Session::new(data, Some(cookie)))),
        None => Ok(SessionSlot::New(OnceLock::new())),
    }
}

async fn save_session(scope: &RequestScope) -> Result<(), Error> {
    let (Some(session), Some(store)) = (scope.session.if_used(), &scope.app.session_store) else {
        return Ok(());
    };
    if scope.session_is_outer {
        // The app this one is mounted in saves the shared session.
        return Ok(());
    }
    let (data, mut cookie, cycle) = {
        let state = session.state();
        if !state.modified {
            return Ok(());
        }
        (state.data.clone(), state.cookie.clone(), state.cycle)
    };
    let ctx = store_context(&scope.app);
    if cycle || data.is_empty() {
        if let Some(old) = cookie.take() {
            store.delete(&old, ctx).await?;
        }
    }
    let settings = &scope.app.settings.session;
    if data.is_empty() {
        // An emptied session: tell the browser to drop the cookie it sent.
        // The removal must name the same path and domain as the cookie set,
        // or the browser keeps the old one.
        let mut removal =
            cookie::Cookie::build(settings.cookie_name.clone()).path(settings.path.clone());
        if let Some(domain) = &settings.domain {
            removal = removal.domain(domain.clone());
        }
        scope.with_jar(|jar| {
            if jar.get(&settings.cookie_name).is_some() {
                jar.remove(removal.build());
            }
        });
        return Ok(());
    }
    let value = store.save(cookie.as_deref(), &data, ctx).await?;
    let max_age = i64::try_from(settings.max_age.as_secs()).unwrap_or(i64::MAX);
    let mut builder = cookie::Cookie::build((settings.cookie_name.clone(), value))
        .path(settings.path.clone())
        .http_only(true)
        .secure(settings.secure)
        .same_site(settings.same_site.into())
        .max_age(cookie::time::Duration::seconds(max_age));
    if let Some(domain) = &settings.domain {
        builder = builder.domain(domain.clone());
    }
    scope.with_jar(|jar| jar.add(builder.build()));
    Ok(())
}

/// Adds `Cookie` to the `Vary` header unless it is there already.
fn add_vary_cookie(headers: &mut http::HeaderMap) {
    let present = headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|name| name.trim().eq_ignore_ascii_case("cookie") || name.trim() == "*");
    if !present {
        headers.append(header::VARY, HeaderValue::from_static("Cookie"));
    }
}

fn write_cookies(response: &mut Response, scope: &RequestScope) {
    let csrf = &scope.app.settings.csrf;
    let new_secret = scope.take_new_csrf_secret();
    scope.with_jar(|jar| {
        if let Some(secret) = new_secret {
            jar.add(
                cookie::Cookie::build((csrf.cookie_name.clone(), secret))
                    .path("/")
                    .secure(csrf.cookie_secure)
                    .same_site(cookie::SameSite::Lax)
                    .max_age(cookie::time::Duration::days(364))
                    .build(),
            );
        }
        crate::cookies::write_delta(jar, response.headers_mut());
    });
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
