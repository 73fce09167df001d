//! The application: routes, blueprints, middleware and settings, built
//! into a shared, immutable [`AppService`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use http::StatusCode;

use crate::blueprint::Blueprint;
use crate::context::StateMap;
use crate::error::{BoxError, Error};
use crate::extract::Request;
use crate::handler::{Endpoint, EndpointLayer, Handler};
use crate::response::IntoResponse;
use crate::routing::converters::ConverterRegistry;
use crate::routing::pattern::Pattern;
use crate::routing::{MethodRouter, RouteEntry, Router};
use crate::service::AppService;
use crate::session::SessionStore;
use crate::settings::Settings;
use crate::signing::Keys;
use crate::templates::{TemplateEngine, TemplateSetup};

pub(crate) use crate::context::RequestContext;

type LayerFn = Box<dyn FnOnce(Endpoint) -> Endpoint + Send + Sync>;

/// Decides the HTTP status of an error that reached the app as a 500.
pub(crate) type ErrorStatus =
    Arc<dyn Fn(&(dyn std::error::Error + 'static)) -> Option<StatusCode> + Send + Sync>;

/// A Flagon application under construction.
///
/// ```
/// use flagon_web::{App, Path, get};
///
/// async fn hello(Path(name): Path<String>) -> String {
///     format!("Hello, {name}!")
/// }
///
/// let app = App::new()
///     .route("/", get(|| async { "Hello, world!" }).name("index"))
///     .route("/hello/<name>", get(hello).name("hello"));
/// // app.serve("127.0.0.1:8000").await, or App::test_client for tests.
/// # let _ = app;
/// ```
pub struct App {
    settings: Option<Settings>,
    routes: Vec<(String, MethodRouter)>,
    blueprints: Vec<Blueprint>,
    mounts: Vec<(String, Endpoint)>,
    layers: Vec<LayerFn>,
    hooks: Vec<LayerFn>,
    teardowns: Vec<LayerFn>,
    states: StateMap,
    converters: ConverterRegistry,
    error_handlers: HashMap<StatusCode, Endpoint>,
    error_statuses: Vec<ErrorStatus>,
    session_store: Option<Arc<dyn SessionStore>>,
    sessions_enabled: bool,
    templates: TemplateSetup,
    static_files: bool,
    root: Option<PathBuf>,
}

impl Default for App {
    fn default() -> Self {
        App::new()
    }
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field(
                "routes",
                &self.routes.iter().map(|(path, _)| path).collect::<Vec<_>>(),
            )
            .field("blueprints", &self.blueprints.len())
            .finish()
    }
}

/// The built app, shared by every request.
pub(crate) struct AppShared {
    pub(crate) settings: Settings,
    pub(crate) router: Router,
    pub(crate) states: StateMap,
    pub(crate) keys: Keys,
    pub(crate) session_store: Option<Arc<dyn SessionStore>>,
    pub(crate) templates: TemplateEngine,
    pub(crate) error_handlers: HashMap<StatusCode, Endpoint>,
    pub(crate) error_statuses: Vec<ErrorStatus>,
    /// The security headers every response gets, parsed once.
    pub(crate) security_headers: Vec<(http::HeaderName, http::HeaderValue)>,
    /// The settings as the templates' `config` global, converted once.
    pub(crate) template_config: minijinja::Value,
}

impl AppShared {
    /// The status the app's `error_status` classifiers give `error` or the
    /// first of its causes they recognise.
    pub(crate) fn classified_status(
        &self,
        error: &(dyn std::error::Error + 'static),
    ) -> Option<StatusCode> {
        let mut cause = Some(error);
        while let Some(err) = cause {
            if let Some(status) = self
                .error_statuses
                .iter()
                .find_map(|classify| classify(err))
            {
                return Some(status);
            }
            cause = err.source();
        }
        None
    }

    /// What a session store needs besides the cookie.
    pub(crate) fn store_context(&self) -> crate::session::StoreContext<'_> {
        crate::session::StoreContext {
            keys: &self.keys,
            max_age: self.settings.session.max_age,
        }
    }

    /// Builds a URL; `.name` is relative to `blueprint`.
    pub(crate) fn url_for_from(
        &self,
        blueprint: Option<&str>,
        name: &str,
        params: &[(String, String)],
    ) -> Result<String, Error> {
        match (name.strip_prefix('.'), blueprint) {
            (Some(local), Some(blueprint)) => {
                self.router.url_for(&format!("{blueprint}.{local}"), params)
            }
            (Some(local), None) => self.router.url_for(local, params),
            (None, _) => self.router.url_for(name, params),
        }
    }
}

impl App {
    /// An empty app. Settings are read from `flagon.toml` (in the app's
    /// [`App::root`], else the current directory) and `FLAGON_*` variables
    /// when it is built, unless given with [`App::settings`].
    pub fn new() -> Self {
        App {
            settings: None,
            routes: Vec::new(),
            blueprints: Vec::new(),
            mounts: Vec::new(),
            layers: Vec::new(),
            hooks: Vec::new(),
            teardowns: Vec::new(),
            states: StateMap::default(),
            converters: ConverterRegistry::default(),
            error_handlers: HashMap::new(),
            error_statuses: Vec::new(),
            session_store: None,
            sessions_enabled: true,
            templates: TemplateSetup::default(),
            static_files: true,
            root: None,
        }
    }

    /// The folder `flagon.toml` and relative template and static folders
    /// are found in (Flask's `root_path`); by default the current directory. Examples and
    /// tests pass `env!("CARGO_MANIFEST_DIR")` so they run from anywhere.
    ///
    /// ```
    /// let app = flagon_web::App::new().root(env!("CARGO_MANIFEST_DIR"));
    /// # let _ = app;
    /// ```
    pub fn root(mut self, folder: impl Into<PathBuf>) -> Self {
        self.root = Some(folder.into());
        self
    }

    pub(crate) fn has_settings(&self) -> bool {
        self.settings.is_some()
    }

    /// Uses these settings instead of reading `flagon.toml` and the environment.
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = Some(settings);
        self
    }

    /// Adds a route. The pattern is checked when the app is built.
    pub fn route(mut self, path: &str, methods: MethodRouter) -> Self {
        self.routes.push((path.to_owned(), methods));
        self
    }

    /// Registers a blueprint: its routes (under its prefix and name), its
    /// templates and static files, and its middleware.
    pub fn blueprint(mut self, blueprint: Blueprint) -> Self {
        self.blueprints.push(blueprint);
        self
    }

    /// Mounts any tower service under `prefix`: requests to `prefix` and
    /// below go to it with the prefix removed from their path. A mounted
    /// Flagon app answers the hosts this app allows, and this app's debug
    /// setting and HTTPS detection hold for it.
    ///
    /// ```
    /// use flagon_web::{App, get};
    /// # use flagon_web::testing::test_settings;
    ///
    /// # fn main() -> flagon_web::Result<()> {
    /// let api = App::new()
    ///     # .settings(test_settings())
    ///     .route("/status", get(|| async { "ok" }))
    ///     .build()?;
    /// let app = App::new().mount("/api", api);
    /// # let _ = app;
    /// # Ok(())
    /// # }
    /// ```
    pub fn mount<S>(mut self, prefix: &str, service: S) -> Self
    where
        S: tower_service::Service<Request> + Clone + Send + Sync + 'static,
        S::Response: IntoResponse,
        S::Error: Into<BoxError>,
        S::Future: Send + 'static,
    {
        self.mounts.push((
            prefix.trim_end_matches('/').to_owned(),
            Endpoint::from_service(service),
        ));
        self
    }

    /// Wraps routing and every handler in a tower layer. App layers run
    /// after the host check and with the session loaded, but before routing
    /// (so [`crate::RequestContext::route`] is not known yet) and before the
    /// CSRF check; what they answer still gets the security headers and the
    /// session and cookies written. As in tower and axum, the last layer
    /// added runs first; the app's hooks (`before_request`, ...) run inside
    /// all of its layers.
    pub fn layer(mut self, layer: impl EndpointLayer) -> Self {
        self.layers
            .push(Box::new(move |endpoint| layer.wrap(endpoint)));
        self
    }

    /// Flask's `before_request`, for the whole app: see
    /// [`crate::middleware::before_request`].
    pub fn before_request<F, Fut, E>(mut self, f: F) -> Self
    where
        F: Fn(Request) -> Fut + Clone + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Request, E>> + Send + 'static,
        E: IntoResponse + Send + 'static,
    {
        self.hooks
            .push(Box::new(crate::middleware::hooks::before(f)));
        self
    }

    /// Flask's `after_request`, for the whole app: see
    /// [`crate::middleware::after_request`].
    pub fn after_request<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(crate::response::Response) -> Fut + Clone + Send + Sync + 'static,
        Fut: std::future::Future<Output = crate::response::Response> + Send + 'static,
    {
        self.hooks
            .push(Box::new(crate::middleware::hooks::after(f)));
        self
    }

    /// Flask's `teardown_request`, for the whole app: see
    /// [`crate::middleware::teardown_request`]. Teardown functions run
    /// outside the app's layers (they see what a layer answers, or a
    /// layer's panic as a 500), the last registered first.
    pub fn teardown_request<F>(mut self, f: F) -> Self
    where
        F: Fn(&crate::response::Response) + Clone + Send + Sync + 'static,
    {
        self.teardowns
            .push(Box::new(crate::middleware::hooks::teardown(f)));
        self
    }

    /// Registers a value handlers read with [`crate::State`].
    pub fn state<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.states.insert(value);
        self
    }

    /// The value of type `T` registered with [`App::state`], if any (for
    /// extensions that configure themselves from the app, such as the
    /// management commands).
    ///
    /// ```
    /// # use flagon_web::App;
    /// let app = App::new().state(42_u32);
    /// assert_eq!(app.get_state::<u32>(), Some(&42));
    /// assert_eq!(app.get_state::<i8>(), None);
    /// ```
    pub fn get_state<T: Clone + Send + Sync + 'static>(&self) -> Option<&T> {
        self.states.get::<T>()
    }

    /// Registers a URL converter usable as `<name:param>` in routes.
    pub fn converter(mut self, name: &str, converter: impl crate::routing::Converter) -> Self {
        self.converters.insert(name, Arc::new(converter));
        self
    }

    /// Answers errors with `status` (raised by handlers, extractors or the
    /// framework, such as 404) with `handler`, Flask's `errorhandler`. The
    /// handler takes extractors like any other; [`crate::ErrorReport`] gives it
    /// the error.
    ///
    /// ```
    /// use flagon_web::{App, ErrorReport, Html, StatusCode};
    ///
    /// async fn not_found(report: ErrorReport) -> (StatusCode, Html<String>) {
    ///     (StatusCode::NOT_FOUND, Html(format!("<h1>Lost?</h1><p>{}</p>", report.0.message())))
    /// }
    ///
    /// let app = App::new().error_handler(StatusCode::NOT_FOUND, not_found);
    /// # let _ = app;
    /// ```
    pub fn error_handler<H: Handler<T>, T: 'static>(
        mut self,
        status: StatusCode,
        handler: H,
    ) -> Self {
        self.error_handlers
            .insert(status, Endpoint::from_handler(handler));
        self
    }

    /// Gives errors of other libraries their HTTP status. An error that
    /// reaches the app as a 500 (converted with `?`) is shown to `classify`
    /// with each of its causes; the first status it names is the answer.
    /// The ORM registers one turning "does not exist" into 404 and "the
    /// database is unavailable" into 503.
    ///
    /// ```
    /// use flagon_web::{App, StatusCode};
    ///
    /// let app = App::new().error_status(|err| {
    ///     err.downcast_ref::<std::num::ParseIntError>()
    ///         .map(|_| StatusCode::BAD_REQUEST)
    /// });
    /// # let _ = app;
    /// ```
    pub fn error_status(
        mut self,
        classify: impl Fn(&(dyn std::error::Error + 'static)) -> Option<StatusCode>
            + Send
            + Sync
            + 'static,
    ) -> Self {
        self.error_statuses.push(Arc::new(classify));
        self
    }

    /// Stores sessions in `store` instead of the signed cookie.
    pub fn session_store(mut self, store: impl SessionStore) -> Self {
        self.session_store = Some(Arc::new(store));
        self.sessions_enabled = true;
        self
    }

    /// Turns sessions (and so flash messages) off, for pure APIs.
    pub fn without_sessions(mut self) -> Self {
        self.sessions_enabled = false;
        self
    }

    /// Does not serve the app's `static/` folder.
    pub fn without_static_files(mut self) -> Self {
        self.static_files = false;
        self
    }

    /// Adds a template from a string, for example one embedded with
    /// `include_str!` into a release binary. Such templates take precedence
    /// over files of the same name.
    ///
    /// ```
    /// let app = flagon_web::App::new()
    ///     .template("hello.html", "<p>Hello {{ name }}</p>");
    /// # let _ = app;
    /// ```
    pub fn template(mut self, name: &str, source: &str) -> Self {
        self.templates
            .embedded
            .push((name.to_owned(), source.to_owned()));
        self
    }

    /// Customizes the template environment (filters, tests, globals).
    ///
    /// ```
    /// let app = flagon_web::App::new().configure_templates(|env| {
    ///     env.add_filter("shout", |value: String| value.to_uppercase());
    /// });
    /// # let _ = app;
    /// ```
    pub fn configure_templates(
        mut self,
        setup: impl Fn(&mut minijinja::Environment<'static>) + Send + Sync + 'static,
    ) -> Self {
        self.templates.hooks.push(Arc::new(setup));
        self
    }

    /// Builds the app into a service, reading the settings if none were given.
    ///
    /// Outside debug mode an app without a secret key is refused; there is
    /// no way around that (no builder that turns on debug mode or invents a
    /// key behind your back):
    ///
    /// ```
    /// use flagon_web::{App, Settings};
    /// let err = App::new().settings(Settings::default()).build().unwrap_err();
    /// assert!(err.chain().join(" ").contains("secret key"), "{err}");
    /// ```
    ///
    /// ```compile_fail
    /// let service = flagon_web::App::new().into_service_with_defaults();
    /// ```
    pub fn build(mut self) -> Result<AppService, Error> {
        let settings = match (self.settings.take(), &self.root) {
            (Some(settings), _) => settings,
            (None, Some(root)) => Settings::load_from_dir(root)?,
            (None, None) => Settings::load()?,
        };
        self.build_with(settings)
    }

    pub(crate) fn build_with(self, mut settings: Settings) -> Result<AppService, Error> {
        let config_error = |msg: String| Error::internal(msg);
        let root = self.root.clone();
        let resolve = |path: &std::path::Path| match &root {
            Some(root) if path.is_relative() => root.join(path),
            _ => path.to_owned(),
        };
        settings.templates_dir = resolve(&settings.templates_dir);
        settings.static_dir = resolve(&settings.static_dir);
        let mut router = Router::default();
        let mut template_dirs: Vec<PathBuf> = vec![settings.templates_dir.clone()];
        let add = |router: &mut Router,
                   path: &str,
                   methods: MethodRouter,
                   blueprint: Option<Arc<str>>| {
            let pattern = Pattern::parse(path, &self.converters)?;
            let name = methods.name.clone().map(|name| match &blueprint {
                Some(prefix) => format!("{prefix}.{name}"),
                None => name,
            });
            let info = crate::context::RouteInfo {
                name: name.as_deref().map(Arc::from),
                blueprint,
                pattern: Arc::from(pattern.source.as_str()),
            };
            router.add(RouteEntry {
                pattern,
                methods,
                name,
                info,
            })
        };
        for (path, methods) in self.routes {
            add(&mut router, &path, methods, None).map_err(config_error)?;
        }
        if self.static_files {
            let route = crate::static_files::static_route(&settings.static_dir);
            let path = format!(
                "{}/<path:filename>",
                settings.static_url.trim_end_matches('/')
            );
            add(&mut router, &path, route, None).map_err(config_error)?;
        }
        for blueprint in self.blueprints {
            for registration in blueprint.flatten(&resolve) {
                let name: Arc<str> = Arc::from(registration.name.as_str());
                for (path, methods) in registration.routes {
                    add(&mut router, &path, methods, Some(name.clone())).map_err(config_error)?;
                }
                if let Some(dir) = registration.template_folder {
                    template_dirs.push(dir);
                }
            }
        }
        for (prefix, service) in self.mounts {
            if !prefix.starts_with('/') || prefix.len() < 2 {
                return Err(Error::internal(format!(
                    "mount prefix {prefix:?} must start with `/` and name a path below the root, such as \"/api\""
                )));
            }
            router.mount(prefix, service);
        }
        let keys = Keys::from_settings(&settings)?;
        let templates = TemplateEngine::new(self.templates, template_dirs, settings.debug)?;
        settings.check()?;
        if settings.csrf.use_sessions && !self.sessions_enabled {
            return Err(Error::internal(
                "csrf.use_sessions keeps the CSRF secret in the session, but sessions are turned off (App::without_sessions)",
            ));
        }
        let session_store = if self.sessions_enabled {
            Some(
                self.session_store
                    .unwrap_or_else(|| Arc::new(crate::session::CookieStore::new())),
            )
        } else {
            None
        };
        let security_headers = crate::security::fixed_headers(&settings.security);
        let template_config = minijinja::Value::from_serialize(&settings);
        let shared = Arc::new(AppShared {
            security_headers,
            template_config,
            settings,
            router,
            states: self.states,
            keys,
            session_store,
            templates,
            error_handlers: self.error_handlers,
            error_statuses: self.error_statuses,
        });
        // Teardown functions see every response, the layers' too, and run
        // in reverse order of registration, as in Flask.
        let mut wrappers = hooks_then_layers(self.hooks, self.layers);
        wrappers.extend(self.teardowns.into_iter().rev());
        Ok(AppService::new(shared, wrappers))
    }
}

/// The order in which wrappers are applied around the router (the last
/// applied runs first): the hooks, so that the first registered is the
/// outermost (Flask runs `before_request` functions in registration order
/// and `after_request` functions in reverse), then the tower layers, each
/// wrapping what came before (tower's and axum's order: the last added runs
/// first).
pub(crate) fn hooks_then_layers<T>(hooks: Vec<T>, layers: Vec<T>) -> Vec<T> {
    hooks.into_iter().rev().chain(layers).collect()
}
