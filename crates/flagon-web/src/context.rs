//! Per-request state shared by the framework's pieces: the app, the
//! session, cookies, the CSRF secret and what routing found.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use http::request::Parts;
use http::{Method, Uri};

use crate::app::AppShared;
use crate::error::Error;
use crate::extract::FromRequestParts;

/// Values registered with [`crate::App::state`], by type.
#[derive(Default)]
pub(crate) struct StateMap(HashMap<TypeId, Box<dyn Any + Send + Sync>>);

impl StateMap {
    pub(crate) fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        self.0.insert(TypeId::of::<T>(), Box::new(value));
    }

    pub(crate) fn get<T: 'static>(&self) -> Option<&T> {
        self.0
            .get(&TypeId::of::<T>())
            .and_then(|value| value.downcast_ref())
    }
}

/// What routing found for the request.
#[derive(Clone, Debug, Default)]
pub struct RouteInfo {
    /// The route's full name (`blog.detail`), if it has one.
    pub name: Option<Arc<str>>,
    /// The blueprint that registered the route, if any.
    pub blueprint: Option<Arc<str>>,
    /// The route's pattern, such as `/post/<int:id>`.
    pub pattern: Arc<str>,
}

/// What a [`RequestContext`] holds: everything the framework keeps for
/// one request, in one allocation.
#[doc(hidden)]
pub struct ContextData {
    pub(crate) app: Arc<AppShared>,
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    /// The host and port as the client sent them, lower-cased.
    pub(crate) host: crate::security::RequestHost,
    pub(crate) is_secure: bool,
    /// The peer of the connection, as the server saw it ([`crate::ClientAddr`]).
    pub(crate) peer: Option<std::net::SocketAddr>,
    /// The client's address (see [`RequestContext::remote_addr`]).
    pub(crate) remote_addr: Option<std::net::IpAddr>,
    /// Whether errors show their details: the app's `debug` setting, or
    /// for an app mounted in another, the outer app's.
    pub(crate) debug: bool,
    /// The path this app is mounted under in another app (`""` when it is
    /// not), put before every URL it builds.
    pub(crate) script_root: String,
    /// What the client accepts, for error pages (negotiated only when one
    /// is made).
    pub(crate) preference: crate::service::negotiate::Preference,
    pub(crate) session: crate::session::SessionSlot,
    pub(crate) cookies: Mutex<crate::cookies::CookieState>,
    pub(crate) csrf: Mutex<crate::csrf::CsrfState>,
    pub(crate) csp_nonce: Option<String>,
    pub(crate) route: OnceLock<RouteInfo>,
    /// The flash messages once a template took them from the session, kept
    /// for the rest of the request as Flask does.
    pub(crate) flashes: OnceLock<Vec<(String, String)>>,
    /// A copy of the request headers for the app's error handlers, kept
    /// only when the app has some.
    pub(crate) request_headers: Option<http::HeaderMap>,
    /// The response depends on the cookies (the session or the CSRF token
    /// was used): it gets `Vary: Cookie` so shared caches keep it apart.
    pub(crate) varies_by_cookie: std::sync::atomic::AtomicBool,
}

impl ContextData {
    pub(crate) fn authority(&self) -> &str {
        self.host.authority()
    }

    /// Runs `f` on the request's cookie jar.
    pub(crate) fn with_jar<R>(&self, f: impl FnOnce(&mut cookie::CookieJar) -> R) -> R {
        // Each use is a short sequence of jar calls; a poisoned lock still
        // holds a consistent jar.
        let mut state = self.cookies.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut state.jar)
    }

    /// The CSRF secret made during this request, if any, once.
    pub(crate) fn take_new_csrf_secret(&self) -> Option<String> {
        self.with_csrf(crate::csrf::CsrfState::take_new_secret)
    }

    /// Runs `f` on the request's CSRF state (a poisoned lock still holds a
    /// consistent state: each use is one short call).
    pub(crate) fn with_csrf<R>(&self, f: impl FnOnce(&mut crate::csrf::CsrfState) -> R) -> R {
        f(&mut self.csrf.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Notes that the response depends on the request's cookies.
    pub(crate) fn mark_varies_by_cookie(&self) {
        self.varies_by_cookie
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// A fresh masked CSRF token (creating the secret, and so the cookie, if needed).
    pub(crate) fn csrf_token(&self) -> String {
        self.mark_varies_by_cookie();
        self.with_csrf(crate::csrf::CsrfState::token)
    }

    /// Builds a URL as `url_for` does inside this request: `.name` is
    /// relative to the current blueprint, and a true `_external` parameter
    /// makes the URL absolute (scheme and host of this request).
    pub(crate) fn build_url(
        &self,
        name: &str,
        params: &[(String, String)],
    ) -> Result<String, Error> {
        let blueprint = self
            .route
            .get()
            .and_then(|route| route.blueprint.as_deref());
        let path = self.app.url_for_from(blueprint, name, params)?;
        let root = &self.script_root;
        if crate::routing::url::wants_external(params) {
            let scheme = if self.is_secure { "https" } else { "http" };
            Ok(format!("{scheme}://{}{root}{path}", self.authority()))
        } else {
            Ok(format!("{root}{path}"))
        }
    }

    /// The request's session, read from the store on first use; `None`
    /// when sessions are off. When the CSRF secret lives in the session
    /// (`csrf.use_sessions`), loading the session also gives the request
    /// its secret.
    pub(crate) async fn load_session(&self) -> Result<Option<&crate::session::Session>, Error> {
        let store = self.app.session_store.as_deref();
        let session = self.session.load(store, self.app.store_context()).await?;
        if self.app.settings.csrf.use_sessions {
            if let Some(session) = session {
                let secret = session.get::<String>(crate::service::CSRF_SESSION_KEY);
                self.with_csrf(|state| state.adopt_secret(secret.as_deref()));
            }
        }
        Ok(session)
    }

    /// The flash messages for this request: taken from the session on the
    /// first call, the same list on later calls. The session must have
    /// been loaded ([`ContextData::load_session`]); templates are rendered
    /// after it is.
    pub(crate) fn flashes(&self) -> &[(String, String)] {
        self.flashes.get_or_init(|| match self.session.loaded() {
            Some(session) => crate::flash::take_flashes(session),
            None => Vec::new(),
        })
    }
}

/// The request's context (Flask's request context): where the request is
/// in the app (the matched route, its name and blueprint), the client's
/// address, the host, URL building relative to the current blueprint. It
/// is an extractor, and hooks find it with [`RequestContext::of`]. Cloning
/// it is one reference-count increment.
///
/// ```
/// use flagon_web::{RequestContext, Redirect};
///
/// async fn old_home(context: RequestContext) -> flagon_web::Result<Redirect> {
///     Ok(Redirect::permanent(context.url_for("index", [("page", "1")])?))
/// }
/// ```
#[derive(Clone)]
pub struct RequestContext(Arc<ContextData>);

impl std::ops::Deref for RequestContext {
    type Target = ContextData;

    fn deref(&self) -> &ContextData {
        &self.0
    }
}

impl std::fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestContext")
            .field("method", &self.method)
            .field("uri", &self.uri)
            .field("route", &self.route.get())
            .finish()
    }
}

impl FromRequestParts for RequestContext {
    async fn from_request_parts(parts: &mut Parts) -> Result<Self, Error> {
        RequestContext::from_parts(parts)
    }
}

/// `None` outside a Flagon app.
impl crate::extract::OptionalFromRequestParts for RequestContext {
    async fn from_request_parts(parts: &mut Parts) -> Result<Option<Self>, Error> {
        Ok(parts.extensions.get::<RequestContext>().cloned())
    }
}

impl RequestContext {
    /// A context holding `data`, for the pipeline.
    pub(crate) fn new(data: ContextData) -> Self {
        RequestContext(Arc::new(data))
    }

    /// The context of a request's head, or a 500 naming the cause.
    pub(crate) fn from_parts(parts: &Parts) -> Result<RequestContext, Error> {
        parts
            .extensions
            .get::<RequestContext>()
            .cloned()
            .ok_or_else(|| {
                Error::internal(
                    "this extractor needs a Flagon App: the request did not come through one",
                )
            })
    }

    /// The context of `request`, when it is going through a Flagon app
    /// (hooks and middleware receive the request itself).
    ///
    /// ```
    /// use flagon_web::{Error, Request, RequestContext};
    ///
    /// async fn only_https(request: Request) -> Result<Request, Error> {
    ///     match RequestContext::of(&request) {
    ///         Some(info) if !info.is_secure() => Err(Error::forbidden("use https")),
    ///         _ => Ok(request),
    ///     }
    /// }
    /// ```
    pub fn of<B>(request: &http::Request<B>) -> Option<RequestContext> {
        request.extensions().get::<RequestContext>().cloned()
    }

    /// The request's path, percent-decoded: Flask's `request.path`, and
    /// what the router matched. The app normalises the path before any
    /// layer, hook or route sees it (`/%61dmin` is `/admin`, `/a/./b` is
    /// `/a/b`; see [`crate::extract::RequestExt::path`]), so a guard on a
    /// prefix of this path covers every route below that prefix.
    pub fn path(&self) -> std::borrow::Cow<'_, str> {
        crate::service::normalize::decoded_path(self.uri.path())
    }

    /// The matched route, once routing has run.
    pub fn route(&self) -> Option<&RouteInfo> {
        self.route.get()
    }

    /// The host the request was sent to (without a port).
    pub fn host(&self) -> &str {
        self.host.host()
    }

    /// The client's IP address (Flask's `request.remote_addr`): the peer
    /// of the connection, or behind a reverse proxy the address it passes
    /// in the header named by the `security.client_ip_header` setting
    /// (`X-Forwarded-For`, counted `security.trusted_proxies` from the
    /// right). `None` when the request did not come through a socket (a
    /// service called directly).
    pub fn remote_addr(&self) -> Option<std::net::IpAddr> {
        self.remote_addr
    }

    /// Whether the request came over HTTPS (as far as the settings let us
    /// know behind a proxy).
    pub fn is_secure(&self) -> bool {
        self.is_secure
    }

    /// Builds the URL of the route `name` with `params`; parameters the
    /// route does not take become the query string, `_anchor` the fragment,
    /// and `_external = true` makes the URL absolute (for emails and feeds).
    /// A name starting with `.` is looked up in the current blueprint.
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
        self.build_url(name, &params)
    }
}
