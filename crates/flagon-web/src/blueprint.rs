//! Blueprints: routes, templates, static files and middleware bundled under
//! a URL prefix and a name prefix.

use std::path::PathBuf;

use crate::extract::Request;
use crate::handler::{Endpoint, EndpointLayer};
use crate::response::IntoResponse;
use crate::routing::pattern::Pattern;
use crate::routing::MethodRouter;

type LayerFn = Box<dyn Fn(Endpoint) -> Endpoint + Send + Sync>;

/// A group of routes registered together, Flask's blueprint and Django's
/// app in one: its routes live under `url_prefix`, their names under
/// `name.` (so `url_for("blog.detail")`), it may bring a `templates` folder
/// and a `static` folder (served at `<prefix>/static/...`, named
/// `blog.static`), and its layers wrap only its own routes.
///
/// ```
/// use flagon_web::{App, Blueprint, get};
///
/// let blog = Blueprint::new("blog", "/blog")
///     .route("/", get(|| async { "all posts" }).name("index"))
///     .route("/<int:id>", get(|| async { "one post" }).name("detail"));
///
/// let app = App::new().blueprint(blog);
/// # let _ = app;
/// ```
pub struct Blueprint {
    name: String,
    url_prefix: String,
    routes: Vec<(String, MethodRouter)>,
    layers: Vec<LayerFn>,
    hooks: Vec<LayerFn>,
    template_folder: Option<PathBuf>,
    static_folder: Option<PathBuf>,
    children: Vec<Blueprint>,
}

impl std::fmt::Debug for Blueprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blueprint")
            .field("name", &self.name)
            .field("url_prefix", &self.url_prefix)
            .field(
                "routes",
                &self.routes.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// One blueprint's routes, fully prefixed, ready for the router.
pub(crate) struct Registration {
    pub(crate) name: String,
    pub(crate) routes: Vec<(String, MethodRouter)>,
    pub(crate) template_folder: Option<PathBuf>,
}

impl Blueprint {
    /// A blueprint named `name` (used as the route-name prefix) mounted at
    /// `url_prefix` (`""` for none).
    pub fn new(name: &str, url_prefix: &str) -> Self {
        Blueprint {
            name: name.to_owned(),
            url_prefix: url_prefix.trim_end_matches('/').to_owned(),
            routes: Vec::new(),
            layers: Vec::new(),
            hooks: Vec::new(),
            template_folder: None,
            static_folder: None,
            children: Vec::new(),
        }
    }

    /// Adds a route, relative to the blueprint's prefix.
    pub fn route(mut self, path: &str, methods: MethodRouter) -> Self {
        self.routes.push((path.to_owned(), methods));
        self
    }

    /// Searches `folder` for templates after the app's own folder.
    pub fn template_folder(mut self, folder: impl Into<PathBuf>) -> Self {
        self.template_folder = Some(folder.into());
        self
    }

    /// Serves `folder` at `<prefix>/static/<path:filename>`, named `<name>.static`.
    pub fn static_folder(mut self, folder: impl Into<PathBuf>) -> Self {
        self.static_folder = Some(folder.into());
        self
    }

    /// Nests another blueprint: its prefix goes under this one's, its name
    /// becomes `parent.child`, and this blueprint's layers wrap it too.
    pub fn blueprint(mut self, child: Blueprint) -> Self {
        self.children.push(child);
        self
    }

    /// Wraps this blueprint's routes (not the rest of the app) in a tower layer.
    pub fn layer(mut self, layer: impl EndpointLayer) -> Self {
        self.layers
            .push(Box::new(move |endpoint| layer.wrap(endpoint)));
        self
    }

    /// Runs `f` before this blueprint's handlers (Flask's
    /// `Blueprint.before_request`): see [`crate::middleware::before_request`].
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

    /// Runs `f` on this blueprint's responses (Flask's
    /// `Blueprint.after_request`): see [`crate::middleware::after_request`].
    pub fn after_request<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(crate::response::Response) -> Fut + Clone + Send + Sync + 'static,
        Fut: std::future::Future<Output = crate::response::Response> + Send + 'static,
    {
        self.hooks
            .push(Box::new(crate::middleware::hooks::after(f)));
        self
    }

    /// Replays the blueprint (and its children) as prefixed registrations.
    /// Relative folders are resolved with `resolve` (against the app's root).
    pub(crate) fn flatten(
        self,
        resolve: &dyn Fn(&std::path::Path) -> PathBuf,
    ) -> Vec<Registration> {
        let mut out = Vec::new();
        self.flatten_into("", "", &[], resolve, &mut out);
        out
    }

    fn flatten_into(
        self,
        parent_name: &str,
        parent_prefix: &str,
        outer: &[&LayerFn],
        resolve: &dyn Fn(&std::path::Path) -> PathBuf,
        out: &mut Vec<Registration>,
    ) {
        let name = if parent_name.is_empty() {
            self.name.clone()
        } else {
            format!("{parent_name}.{}", self.name)
        };
        let prefix = format!("{parent_prefix}{}", self.url_prefix);
        // This blueprint's hooks (the first registered outermost, as Flask
        // runs them), then its layers, then those of the blueprints around it.
        let own: Vec<&LayerFn> = self.hooks.iter().collect();
        let own_layers: Vec<&LayerFn> = self.layers.iter().collect();
        let layers: Vec<&LayerFn> = crate::app::hooks_then_layers(own, own_layers)
            .into_iter()
            .chain(outer.iter().copied())
            .collect();
        let wrap = |mut methods: MethodRouter| {
            for (_, endpoint) in &mut methods.endpoints {
                for layer in &layers {
                    *endpoint = layer(endpoint.clone());
                }
            }
            methods
        };
        let mut routes: Vec<(String, MethodRouter)> = self
            .routes
            .into_iter()
            .map(|(path, methods)| (Pattern::prefixed(&prefix, &path), wrap(methods)))
            .collect();
        if let Some(folder) = &self.static_folder {
            routes.push((
                format!("{prefix}/static/<path:filename>"),
                wrap(crate::static_files::static_route(&resolve(folder))),
            ));
        }
        out.push(Registration {
            name: name.clone(),
            routes,
            template_folder: self.template_folder.as_deref().map(resolve),
        });
        for child in self.children {
            child.flatten_into(&name, &prefix, &layers, resolve, out);
        }
    }
}
