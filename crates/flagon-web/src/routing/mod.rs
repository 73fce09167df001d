//! Routing: patterns, converters, method dispatch and URL building.
//!
//! Routes use the syntax Flask and Django share: `/post/<int:id>`, `<name>`
//! (a `str` segment) and the converters `str`, `int`, `float`, `slug`,
//! `uuid` and `path`, plus any registered with [`crate::App::converter`].
//! Matching walks a tree: static segments beat converters, typed converters
//! beat `str`, and a converter that rejects a segment lets the next candidate
//! try. No regular expressions are involved.

use std::collections::HashMap;

use http::Method;

use crate::error::{BoxError, Error};
use crate::extract::Request;
use crate::handler::{Endpoint, EndpointLayer, Handler};
use crate::response::IntoResponse;

pub mod converters;
pub(crate) mod pattern;
pub(crate) mod tree;
pub(crate) mod url;

pub use converters::Converter;
use pattern::Pattern;
use tree::{Node, Params};

/// The handlers of one route, by HTTP method, with the route's options.
///
/// Made with [`get`], [`post`] and their siblings, chained for more methods:
///
/// ```
/// use flagon_web::{App, get};
///
/// async fn show() -> &'static str { "the form" }
/// async fn submit() -> &'static str { "thanks" }
///
/// let app = App::new().route("/contact", get(show).post(submit).name("contact"));
/// # let _ = app;
/// ```
///
/// Each method takes one handler: `get(a).get(b)` is refused when the app
/// is built, naming the route and the method.
#[derive(Clone, Default)]
pub struct MethodRouter {
    pub(crate) endpoints: Vec<(Method, Endpoint)>,
    pub(crate) name: Option<String>,
    pub(crate) csrf_exempt: bool,
    /// Methods given a handler more than once, reported when the app is built.
    pub(crate) repeated: Vec<Method>,
}

impl std::fmt::Debug for MethodRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MethodRouter")
            .field(
                "methods",
                &self.endpoints.iter().map(|(m, _)| m).collect::<Vec<_>>(),
            )
            .field("name", &self.name)
            .field("csrf_exempt", &self.csrf_exempt)
            .field("repeated", &self.repeated)
            .finish()
    }
}

macro_rules! method_functions {
    ($($(#[$doc:meta])* $fn_name:ident => $method:ident,)*) => {
        $(
            $(#[$doc])*
            pub fn $fn_name<H: Handler<T>, T: 'static>(handler: H) -> MethodRouter {
                MethodRouter::default().on(Method::$method, handler)
            }
        )*
        impl MethodRouter {
            $(
                $(#[$doc])*
                pub fn $fn_name<H: Handler<T>, T: 'static>(self, handler: H) -> MethodRouter {
                    self.on(Method::$method, handler)
                }
            )*
        }
    };
}

method_functions! {
    /// Routes `GET` (and `HEAD`, answered from `GET` without a body) to `handler`.
    get => GET,
    /// Routes `POST` to `handler`.
    post => POST,
    /// Routes `PUT` to `handler`.
    put => PUT,
    /// Routes `PATCH` to `handler`.
    patch => PATCH,
    /// Routes `DELETE` to `handler`.
    delete => DELETE,
    /// Routes `HEAD` to `handler` (otherwise `GET` answers it).
    head => HEAD,
    /// Routes `OPTIONS` to `handler` (otherwise it is answered with `Allow`).
    options => OPTIONS,
}

/// Routes the methods in `methods` to `handler`.
///
/// ```
/// use flagon_web::{any_of, Method};
/// let route = any_of([Method::GET, Method::POST], || async { "either" });
/// # let _ = route;
/// ```
pub fn any_of<H: Handler<T>, T: 'static>(
    methods: impl IntoIterator<Item = Method>,
    handler: H,
) -> MethodRouter {
    let mut router = MethodRouter::default();
    for method in methods {
        router = router.on(method, handler.clone());
    }
    router
}

impl MethodRouter {
    /// Routes `method` to `handler`.
    pub fn on<H: Handler<T>, T: 'static>(self, method: Method, handler: H) -> Self {
        self.with_endpoint(method, Endpoint::from_handler(handler))
    }

    /// Routes `method` to a tower service.
    pub fn on_service<S>(self, method: Method, service: S) -> Self
    where
        S: tower_service::Service<Request> + Clone + Send + Sync + 'static,
        S::Response: IntoResponse,
        S::Error: Into<BoxError>,
        S::Future: Send + 'static,
    {
        self.with_endpoint(method, Endpoint::from_service(service))
    }

    /// Adds `endpoint` for `method`, noting a method given twice (an error
    /// when the app is built: the first handler would silently be lost).
    fn with_endpoint(mut self, method: Method, endpoint: Endpoint) -> Self {
        if self
            .endpoints
            .iter()
            .any(|(existing, _)| *existing == method)
        {
            if !self.repeated.contains(&method) {
                self.repeated.push(method.clone());
            }
            self.endpoints.retain(|(existing, _)| *existing != method);
        }
        self.endpoints.push((method, endpoint));
        self
    }

    /// Names the route for [`crate::RequestContext::url_for`] and `url_for` in templates.
    /// Inside a blueprint the blueprint's name is prefixed (`blog.detail`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Turns off the CSRF check for this route (for webhooks and APIs that
    /// authenticate by other means than cookies).
    pub fn csrf_exempt(mut self) -> Self {
        self.csrf_exempt = true;
        self
    }

    /// Wraps every handler of this route in a tower layer.
    pub fn layer(mut self, layer: impl EndpointLayer) -> Self {
        for (_, endpoint) in &mut self.endpoints {
            *endpoint = layer.wrap(endpoint.clone());
        }
        self
    }

    /// The methods this route answers, with `HEAD` when `GET` is there and
    /// `OPTIONS` always, as in an `Allow` header.
    pub(crate) fn allowed(&self, allow: &mut Vec<Method>) {
        for (method, _) in &self.endpoints {
            if !allow.contains(method) {
                allow.push(method.clone());
            }
            if *method == Method::GET && !allow.contains(&Method::HEAD) {
                allow.push(Method::HEAD);
            }
        }
        if !allow.contains(&Method::OPTIONS) {
            allow.push(Method::OPTIONS);
        }
    }

    /// Which endpoint answers `method`: its own, or `GET` for `HEAD`.
    fn endpoint_index(&self, method: &Method) -> Option<usize> {
        let find = |wanted: &Method| self.endpoints.iter().position(|(m, _)| m == wanted);
        find(method).or_else(|| {
            if *method == Method::HEAD {
                find(&Method::GET)
            } else {
                None
            }
        })
    }
}

/// A route registered on the app: its pattern, handlers and options.
pub(crate) struct RouteEntry {
    pub(crate) pattern: Pattern,
    pub(crate) methods: MethodRouter,
    /// The full name, blueprint prefix included.
    pub(crate) name: Option<String>,
    /// What [`RouteInfo`](crate::RouteInfo) reports: the name and the
    /// pattern, shared so that each request gets them without a copy.
    pub(crate) info: crate::context::RouteInfo,
}

/// What the router decided for a request.
pub(crate) enum Matched<'a> {
    /// A route and the handler for the request's method.
    Route {
        route: &'a RouteEntry,
        endpoint: &'a Endpoint,
        params: Params,
    },
    /// The path matched but no route takes the method: 405, or the
    /// automatic answer to `OPTIONS`.
    MethodNotAllowed {
        allow: Vec<Method>,
    },
    /// The path matches only with a trailing slash: redirect there (308).
    AddSlash,
    /// A mounted service owns the path.
    Mount {
        prefix: &'a str,
        service: &'a Endpoint,
    },
    NotFound,
}

/// The compiled route table shared by every request.
#[derive(Default)]
pub(crate) struct Router {
    root: Node,
    pub(crate) routes: Vec<RouteEntry>,
    names: HashMap<String, usize>,
    mounts: Vec<(String, Endpoint)>,
}

impl Router {
    /// Adds a route, refusing what would leave a handler unreachable: a
    /// method given twice on one route, or a method already answered by a
    /// route of the same shape (the same pattern up to parameter names).
    pub(crate) fn add(&mut self, entry: RouteEntry) -> Result<(), String> {
        let source = &entry.pattern.source;
        if let Some(method) = entry.methods.repeated.first() {
            return Err(format!(
                "route `{source}` is given {method} twice (as in `get(a).get(b)`), so one handler would be lost; \
                 each method takes one handler"
            ));
        }
        for existing in self
            .routes
            .iter()
            .filter(|r| r.pattern.same_shape(&entry.pattern))
        {
            let Some(method) = entry
                .methods
                .endpoints
                .iter()
                .map(|(method, _)| method)
                .find(|method| existing.methods.endpoints.iter().any(|(m, _)| m == *method))
            else {
                continue;
            };
            let first = &existing.pattern.source;
            return Err(if first == source {
                format!("route `{source}` is registered twice for {method}")
            } else {
                format!(
                    "routes `{first}` and `{source}` have the same shape and both answer {method}: \
                     the second would never be reached (give them different methods, or a \
                     static segment or converter that tells them apart)"
                )
            });
        }
        if let Some(name) = &entry.name {
            if self.names.contains_key(name) {
                return Err(format!(
                    "two routes are named `{name}`; route names must be unique"
                ));
            }
            self.names.insert(name.clone(), self.routes.len());
        }
        self.root.insert(&entry.pattern, self.routes.len());
        self.routes.push(entry);
        Ok(())
    }

    pub(crate) fn mount(&mut self, prefix: String, service: Endpoint) {
        self.mounts.push((prefix, service));
        // Longest prefix first, so `/api/v2` wins over `/api`.
        self.mounts
            .sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
    }

    /// Matches a decoded path (as its segments) and method.
    pub(crate) fn find<'a>(
        &'a self,
        raw_path: &'a str,
        segments: &[&str],
        method: &Method,
    ) -> Matched<'a> {
        for (prefix, service) in &self.mounts {
            if raw_path == prefix
                || (raw_path.starts_with(prefix.as_str())
                    && raw_path.as_bytes().get(prefix.len()) == Some(&b'/'))
            {
                return Matched::Mount { prefix, service };
            }
        }
        let mut found: Option<(usize, usize, Params)> = None;
        let mut allow: Vec<Method> = Vec::new();
        self.root.search(segments, &mut |routes, params| {
            for &index in routes {
                let methods = &self.routes[index].methods;
                if let Some(position) = methods.endpoint_index(method) {
                    let owned = params
                        .iter()
                        .map(|(name, value)| (name.clone(), (*value).to_owned()));
                    found = Some((index, position, owned.collect()));
                    return true;
                }
                methods.allowed(&mut allow);
            }
            false
        });
        if let Some((index, position, params)) = found {
            let route = &self.routes[index];
            return Matched::Route {
                route,
                endpoint: &route.methods.endpoints[position].1,
                params,
            };
        }
        if !allow.is_empty() {
            return Matched::MethodNotAllowed { allow };
        }
        // Werkzeug's strict slashes: `/about/` is declared, `/about` asked.
        if segments.last().is_some_and(|last| !last.is_empty()) {
            let mut with_slash = segments.to_vec();
            with_slash.push("");
            let mut exists = false;
            self.root.search(&with_slash, &mut |_, _| {
                exists = true;
                true
            });
            if exists {
                return Matched::AddSlash;
            }
        }
        Matched::NotFound
    }

    /// The route named `name`.
    pub(crate) fn named(&self, name: &str) -> Option<&RouteEntry> {
        self.names.get(name).map(|&index| &self.routes[index])
    }

    /// All route names, sorted (for error messages and the routes command).
    pub(crate) fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.names.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// Builds the URL of route `name` from `params` (extra parameters go to
    /// the query string).
    pub(crate) fn url_for(&self, name: &str, params: &[(String, String)]) -> Result<String, Error> {
        let route = self.named(name).ok_or_else(|| {
            let close: Vec<&str> = self
                .names()
                .into_iter()
                .filter(|candidate| candidate.ends_with(name) || name.ends_with(candidate))
                .collect();
            let hint = if close.is_empty() {
                String::new()
            } else {
                format!(" (did you mean {}?)", close.join(", "))
            };
            Error::internal(format!("url_for: no route is named `{name}`{hint}"))
        })?;
        url::build(&route.pattern, params)
            .map_err(|msg| Error::internal(format!("url_for(\"{name}\"): {msg}")))
    }
}
