//! Templates with minijinja (Jinja2 semantics): loading from the app's and
//! blueprints' folders, autoescaping, reloading in debug mode, and the
//! globals Flask and Django templates expect.
//!
//! Every template sees, besides its context:
//! `url_for(name, **params)`, `static(filename)`, `csrf_token()`,
//! `csrf_input()`, `get_flashed_messages(with_categories=false,
//! category_filter=[])`, `request` (`method`, `path`, `full_path`, `url`,
//! `args`, `endpoint`, `blueprint`, `host`, `is_secure`), `session`,
//! `config` (the settings with the secret keys and `database.url` redacted,
//! and the password of any URL in your own sections; their other values as
//! they are: keep secrets out of what templates print) and `csp_nonce`.
//!
//! [`rows`] and [`row`] pass Rust values whose fields the template reads
//! where it prints them, instead of copying each row into template values
//! first as [`context!`] does:
//!
//! ```
//! use flagon_web::templates::rows;
//! use flagon_web::{context, render, Template};
//!
//! #[derive(serde::Serialize)]
//! struct Fortune {
//!     id: i32,
//!     message: String,
//! }
//!
//! async fn fortunes() -> Template {
//!     let fortunes = vec![Fortune { id: 1, message: "hi".into() }];
//!     render("fortunes.html", context! { fortunes => rows(fortunes) })
//! }
//! ```

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::path::PathBuf;
use std::sync::Arc;

use minijinja::value::{Kwargs, Value};
use minijinja::{AutoEscape, Environment, ErrorKind};
use serde::Serialize;

use crate::body::Body;
use crate::context::RequestContext;
use crate::error::Error;
use crate::response::{IntoResponse, Response};

pub use minijinja::context;

mod rows;
pub use rows::{row, rows};

type Hook = Arc<dyn Fn(&mut Environment<'static>) + Send + Sync>;

/// What the app builder collected for the template environment.
#[derive(Default)]
pub(crate) struct TemplateSetup {
    pub(crate) embedded: Vec<(String, String)>,
    pub(crate) hooks: Vec<Hook>,
}

/// The app's template environment.
pub(crate) struct TemplateEngine {
    /// Built once; in debug mode rebuilt for every render so edits show at once.
    env: Environment<'static>,
    debug: bool,
    dirs: Vec<PathBuf>,
    embedded: Vec<(String, String)>,
    hooks: Vec<Hook>,
}

impl TemplateEngine {
    pub(crate) fn new(
        setup: TemplateSetup,
        dirs: Vec<PathBuf>,
        debug: bool,
    ) -> Result<TemplateEngine, Error> {
        let env = build_env(&dirs, &setup.embedded, &setup.hooks)?;
        Ok(TemplateEngine {
            env,
            debug,
            dirs,
            embedded: setup.embedded,
            hooks: setup.hooks,
        })
    }

    fn env(&self) -> Result<Cow<'_, Environment<'static>>, Error> {
        if self.debug {
            build_env(&self.dirs, &self.embedded, &self.hooks).map(Cow::Owned)
        } else {
            Ok(Cow::Borrowed(&self.env))
        }
    }

    /// Whether a template called `name` exists.
    pub(crate) fn exists(&self, name: &str) -> bool {
        self.env().is_ok_and(|env| env.get_template(name).is_ok())
    }

    /// Renders `name` with `context` plus the request's globals.
    pub(crate) fn render(
        &self,
        name: &str,
        context: &Value,
        scope: Option<&RequestContext>,
    ) -> Result<String, Error> {
        let env = self.env()?;
        let template = env
            .get_template(name)
            .map_err(|err| self.template_error(name, err))?;
        let globals = match scope {
            Some(scope) => request_globals(scope),
            None => Value::UNDEFINED,
        };
        let merged = minijinja::context! { ..context.clone(), ..globals };
        template
            .render(merged)
            .map_err(|err| self.template_error(name, err))
    }

    fn template_error(&self, name: &str, err: minijinja::Error) -> Error {
        if err.kind() == ErrorKind::TemplateNotFound {
            let searched: Vec<String> = self
                .dirs
                .iter()
                .map(|d| format!("{}/", d.display()))
                .collect();
            return Error::internal(format!(
                "template `{name}` not found (searched {}{})",
                searched.join(", "),
                if self.embedded.is_empty() {
                    ""
                } else {
                    " and the embedded templates"
                }
            ));
        }
        Error::internal(TemplateError(format!("{err:#}")))
    }
}

/// A template error with minijinja's source excerpt.
#[derive(Debug)]
struct TemplateError(String);

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TemplateError {}

fn build_env(
    dirs: &[PathBuf],
    embedded: &[(String, String)],
    hooks: &[Hook],
) -> Result<Environment<'static>, Error> {
    let mut env = Environment::new();
    env.set_formatter(markupsafe_formatter);
    env.set_auto_escape_callback(|name| output_format(name).escape);
    let loaders: Vec<_> = dirs.iter().map(minijinja::path_loader).collect();
    env.set_loader(move |name| {
        for loader in &loaders {
            if let Some(source) = loader(name)? {
                return Ok(Some(source));
            }
        }
        Ok(None)
    });
    for (name, source) in embedded {
        env.add_template_owned(name.clone(), source.clone())
            .map_err(|err| Error::internal(TemplateError(format!("{err:#}"))))?;
    }
    for hook in hooks {
        hook(&mut env);
    }
    Ok(env)
}

/// Per-request globals: functions that need the request (URLs, CSRF,
/// flashes) and the `request`, `session` and `config` objects.
fn request_globals(scope: &RequestContext) -> Value {
    Value::from_object(RequestGlobals(scope.clone()))
}

/// The request's globals, each built only when a template reads it (a
/// page that never reads `session` does not vary by cookie, and none pays
/// for globals it does not use).
struct RequestGlobals(RequestContext);

impl std::fmt::Debug for RequestGlobals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestGlobals")
    }
}

const GLOBAL_NAMES: &[&str] = &[
    "url_for",
    "static",
    "csrf_token",
    "csrf_input",
    "get_flashed_messages",
    "request",
    "session",
    "config",
    "csp_nonce",
];

impl minijinja::value::Object for RequestGlobals {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let scope = &self.0;
        Some(match key.as_str()? {
            "url_for" => url_for_global(scope),
            "static" => static_global(scope),
            "csrf_token" => {
                let scope = scope.clone();
                Value::from_function(move || -> String { scope.csrf_token() })
            }
            "csrf_input" => csrf_input_global(scope),
            "get_flashed_messages" => flashes_global(scope),
            "request" => Value::from_serialize(RequestView::new(scope)),
            "session" => session_global(scope),
            "config" => scope.app.template_config.clone(),
            "csp_nonce" => Value::from(scope.csp_nonce.clone().unwrap_or_default()),
            _ => return None,
        })
    }

    fn enumerate(self: &Arc<Self>) -> minijinja::value::Enumerator {
        minijinja::value::Enumerator::Str(GLOBAL_NAMES)
    }
}

fn url_for_global(scope: &RequestContext) -> Value {
    let url_scope = scope.clone();
    Value::from_function(
        move |name: String, kwargs: Kwargs| -> Result<String, minijinja::Error> {
            let mut params = Vec::new();
            for key in kwargs.args() {
                let value: Value = kwargs.get(key)?;
                params.push((key.to_owned(), value.to_string()));
            }
            url_scope.build_url(&name, &params).map_err(url_error)
        },
    )
}

fn static_global(scope: &RequestContext) -> Value {
    let static_scope = scope.clone();
    Value::from_function(
        move |filename: String| -> Result<String, minijinja::Error> {
            static_scope
                .build_url("static", &[("filename".to_owned(), filename)])
                .map_err(url_error)
        },
    )
}

fn csrf_input_global(scope: &RequestContext) -> Value {
    let input_scope = scope.clone();
    Value::from_function(move || -> Value {
        let field = &input_scope.app.settings.csrf.field_name;
        Value::from_safe_string(format!(
            r#"<input type="hidden" name="{}" value="{}">"#,
            html_escape(field),
            input_scope.csrf_token()
        ))
    })
}

fn flashes_global(scope: &RequestContext) -> Value {
    let flash_scope = scope.clone();
    Value::from_function(move |kwargs: Kwargs| -> Result<Value, minijinja::Error> {
        let with_categories: bool = kwargs
            .get::<Option<bool>>("with_categories")?
            .unwrap_or(false);
        let filter: Vec<String> = kwargs
            .get::<Option<Vec<String>>>("category_filter")?
            .unwrap_or_default();
        kwargs.assert_all_used()?;
        let messages = flash_scope
            .flashes()
            .iter()
            .filter(|(category, _)| filter.is_empty() || filter.contains(category));
        Ok(if with_categories {
            Value::from_serialize(messages.collect::<Vec<_>>())
        } else {
            Value::from_serialize(messages.map(|(_, message)| message).collect::<Vec<_>>())
        })
    })
}

fn session_global(scope: &RequestContext) -> Value {
    match scope.session.loaded() {
        Some(session) => {
            // A page that shows the session depends on the session cookie.
            scope.mark_varies_by_cookie();
            let mut data = session.state().data.clone();
            // The unmasked CSRF secret must never reach a page.
            data.remove(crate::service::CSRF_SESSION_KEY);
            Value::from_serialize(&data)
        }
        None => Value::from(()),
    }
}

/// A URL that cannot be built, as a template error naming the cause.
fn url_error(err: Error) -> minijinja::Error {
    minijinja::Error::new(ErrorKind::InvalidOperation, err.chain().join(": "))
}

/// Escapes HTML as Jinja2's markupsafe does (`& < > " '`), leaving `/`
/// alone so URLs read naturally in the page source. In one pass, straight
/// into the output: a string is written in runs between the characters
/// that need an entity, and any other value is escaped as it is formatted,
/// with no intermediate `String`.
fn markupsafe_formatter(
    out: &mut minijinja::Output<'_>,
    state: &minijinja::State<'_, '_>,
    value: &Value,
) -> Result<(), minijinja::Error> {
    let plain = value.is_undefined() || value.is_none() || value.is_safe();
    if state.auto_escape() == AutoEscape::Html && !plain {
        match value.as_str() {
            Some(text) => write_html_escaped(out, text),
            None => write!(HtmlEscaping(out), "{value}"),
        }
        .map_err(minijinja::Error::from)
    } else {
        minijinja::escape_formatter(out, state, value)
    }
}

/// Writes `text` to `out` with `& < > " '` replaced by their entities,
/// copying the runs between them whole.
fn write_html_escaped<W: fmt::Write + ?Sized>(out: &mut W, text: &str) -> fmt::Result {
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut at = 0;
    while at < bytes.len() {
        let entity = ENTITIES[usize::from(ESCAPED[usize::from(bytes[at])])];
        if !entity.is_empty() {
            // The escaped characters are ASCII: `at` is a character boundary.
            if start < at {
                out.write_str(&text[start..at])?;
            }
            out.write_str(entity)?;
            start = at + 1;
        }
        at += 1;
    }
    out.write_str(&text[start..])
}

/// For each byte, its index in [`ENTITIES`] (0: written as it is).
const ESCAPED: [u8; 256] = {
    let mut table = [0; 256];
    table[b'&' as usize] = 1;
    table[b'<' as usize] = 2;
    table[b'>' as usize] = 3;
    table[b'"' as usize] = 4;
    table[b'\'' as usize] = 5;
    table
};

const ENTITIES: [&str; 6] = ["", "&amp;", "&lt;", "&gt;", "&quot;", "&#x27;"];

/// A writer that HTML-escapes what is formatted into it.
struct HtmlEscaping<'a, W: ?Sized>(&'a mut W);

impl<W: fmt::Write + ?Sized> fmt::Write for HtmlEscaping<'_, W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        write_html_escaped(self.0, text)
    }
}

/// Escapes `& < > " '` for HTML text and attribute values.
pub(crate) fn html_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + text.len() / 8);
    // Writing to a `String` cannot fail.
    let _ = write_html_escaped(&mut escaped, text);
    escaped
}

/// The `request` object templates see.
#[derive(Serialize)]
struct RequestView {
    method: String,
    path: String,
    full_path: String,
    url: String,
    args: Vec<(String, String)>,
    endpoint: Option<String>,
    blueprint: Option<String>,
    host: String,
    is_secure: bool,
}

impl RequestView {
    fn new(scope: &RequestContext) -> Self {
        // Decoded, as Flask's `request.path`; `url` keeps the raw target.
        let path = percent_encoding::percent_decode_str(scope.uri.path())
            .decode_utf8_lossy()
            .into_owned();
        let query = scope.uri.query().unwrap_or_default();
        let full_path = format!("{path}?{query}");
        let scheme = if scope.is_secure { "https" } else { "http" };
        let route = scope.route.get();
        // Only the path and query: HTTP/2 (and absolute-form HTTP/1.1)
        // targets also carry a scheme and authority.
        let target = scope
            .uri
            .path_and_query()
            .map_or(path.as_str(), |target| target.as_str());
        RequestView {
            method: scope.method.to_string(),
            url: format!("{scheme}://{}{target}", scope.authority()),
            args: form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
            endpoint: route.and_then(|r| r.name.as_deref().map(str::to_owned)),
            blueprint: route.and_then(|r| r.blueprint.as_deref().map(str::to_owned)),
            host: scope.host.host().to_owned(),
            is_secure: scope.is_secure,
            path,
            full_path,
        }
    }
}

/// A template to render as the response, Flask's `render_template`.
///
/// Rendering happens once the handler returns, with the request's globals
/// (`url_for`, `csrf_input`, `get_flashed_messages`, `request`, ...).
///
/// The template's name decides both the response's `Content-Type` and the
/// autoescaping. A trailing `.j2`, `.jinja` or `.jinja2` is ignored, then
/// the extension, in any case:
///
/// | extension | content type | escaping |
/// | --- | --- | --- |
/// | `.html`, `.htm` | `text/html` | HTML |
/// | `.xhtml` | `application/xhtml+xml` | HTML |
/// | `.xml` | `application/xml` | HTML |
/// | `.svg` | `image/svg+xml` | HTML |
/// | `.json` | `application/json` | JSON (values print as JSON literals) |
/// | `.json5`, `.yaml`, `.yml` | `application/json5`, `application/yaml` | JSON |
/// | `.js`, `.mjs` | `text/javascript` | JSON |
/// | `.css` | `text/css` | none |
/// | `.txt`, `.md`, any other, none | `text/plain` | none |
///
/// So `page.HTML` and `page.html.j2` are escaped HTML pages, and `page.j2`
/// or `notes` plain text. Mark trusted markup with `|safe`.
///
/// ```
/// use flagon_web::{context, render, Template};
///
/// async fn index() -> Template {
///     render("index.html", context! { title => "Home", items => vec!["a", "b"] })
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Template {
    name: String,
    context: Value,
}

/// Renders template `name` with `context` (any serializable value, usually
/// made with [`context!`]).
pub fn render(name: &str, context: impl Serialize) -> Template {
    Template {
        name: name.to_owned(),
        context: Value::from_serialize(context),
    }
}

/// A template waiting to be rendered, in a response's extensions.
#[derive(Clone, Debug)]
pub(crate) struct PendingTemplate(pub(crate) Arc<Template>);

/// The template that produced a response, kept for tests
/// ([`crate::testing::TestResponse::template`]).
#[derive(Clone, Debug)]
pub struct RenderedTemplate {
    /// The template's name.
    pub name: String,
    /// The context the handler passed (without the request globals).
    pub context: Value,
}

impl IntoResponse for Template {
    fn into_response(self) -> Response {
        let format = output_format(&self.name);
        let mut response = Response::new(Body::empty());
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(format.content_type),
        );
        response
            .extensions_mut()
            .insert(PendingTemplate(Arc::new(self)));
        response
    }
}

/// What a template produces: the `Content-Type` of the response it
/// renders and how the values it prints are escaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OutputFormat {
    pub(crate) content_type: &'static str,
    pub(crate) escape: AutoEscape,
}

/// Template suffixes that say "this is a template", not what it produces.
const TEMPLATE_SUFFIXES: [&str; 3] = [".j2", ".jinja", ".jinja2"];

const PLAIN_TEXT: OutputFormat = OutputFormat {
    content_type: "text/plain; charset=utf-8",
    escape: AutoEscape::None,
};

/// The output formats by extension (lower case). Every format served as
/// markup a browser runs (HTML, XHTML, XML, SVG) is HTML-escaped; the ones
/// minijinja escapes as JSON keep that (their values print as JSON
/// literals).
const OUTPUT_FORMATS: &[(&[&str], OutputFormat)] = &[
    (
        &["html", "htm"],
        OutputFormat {
            content_type: "text/html; charset=utf-8",
            escape: AutoEscape::Html,
        },
    ),
    (
        &["xhtml"],
        OutputFormat {
            content_type: "application/xhtml+xml; charset=utf-8",
            escape: AutoEscape::Html,
        },
    ),
    (
        &["xml"],
        OutputFormat {
            content_type: "application/xml; charset=utf-8",
            escape: AutoEscape::Html,
        },
    ),
    (
        &["svg"],
        OutputFormat {
            content_type: "image/svg+xml; charset=utf-8",
            escape: AutoEscape::Html,
        },
    ),
    (
        &["json"],
        OutputFormat {
            content_type: "application/json",
            escape: AutoEscape::Json,
        },
    ),
    (
        &["json5"],
        OutputFormat {
            content_type: "application/json5",
            escape: AutoEscape::Json,
        },
    ),
    (
        &["js", "mjs"],
        OutputFormat {
            content_type: "text/javascript; charset=utf-8",
            escape: AutoEscape::Json,
        },
    ),
    (
        &["yaml", "yml"],
        OutputFormat {
            content_type: "application/yaml",
            escape: AutoEscape::Json,
        },
    ),
    (
        &["css"],
        OutputFormat {
            content_type: "text/css; charset=utf-8",
            escape: AutoEscape::None,
        },
    ),
    (&["txt", "md"], PLAIN_TEXT),
];

/// The output format of the template called `name`: the one place that
/// decides both the response's content type and the autoescaping, so the
/// two cannot disagree (a page served as HTML is always HTML-escaped).
///
/// A trailing `.j2`, `.jinja` or `.jinja2` is ignored, then the extension
/// of the file name decides, ignoring case. Unknown extensions and names
/// without one are plain text, not escaped.
pub(crate) fn output_format(name: &str) -> OutputFormat {
    let mut name = name.rsplit('/').next().unwrap_or(name);
    for suffix in TEMPLATE_SUFFIXES {
        let cut = name.len().saturating_sub(suffix.len());
        if cut > 0
            && name
                .get(cut..)
                .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix))
        {
            name = &name[..cut];
            break;
        }
    }
    let Some((_, extension)) = name.rsplit_once('.') else {
        return PLAIN_TEXT;
    };
    OUTPUT_FORMATS
        .iter()
        .find(|(extensions, _)| {
            extensions
                .iter()
                .any(|known| known.eq_ignore_ascii_case(extension))
        })
        .map_or(PLAIN_TEXT, |(_, format)| *format)
}

/// The app's templates, for rendering to a string inside a handler (an
/// email body, a fragment for a JSON answer), with the same globals as a
/// rendered page.
///
/// ```
/// use flagon_web::{context, Json, Templates};
///
/// async fn preview(templates: Templates) -> flagon_web::Result<Json<String>> {
///     let html = templates.render("mail/welcome.html", context! { name => "Ann" })?;
///     Ok(Json(html))
/// }
/// ```
#[derive(Clone)]
pub struct Templates {
    scope: RequestContext,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Templates")
    }
}

impl crate::extract::FromRequestParts for Templates {
    async fn from_request_parts(parts: &mut http::request::Parts) -> Result<Self, Error> {
        let context = crate::context::RequestContext::from_parts(parts)?;
        // Templates read the session synchronously (`session`, flashes, a
        // CSRF secret kept in it): read it from its store first.
        context.load_session().await?;
        Ok(Templates { scope: context })
    }
}

impl Templates {
    /// Renders template `name` with `context` to a string.
    pub fn render(&self, name: &str, context: impl Serialize) -> Result<String, Error> {
        self.scope
            .app
            .templates
            .render(name, &Value::from_serialize(context), Some(&self.scope))
    }
}

/// Whether `response` holds a template still to render.
pub(crate) fn has_pending(response: &Response) -> bool {
    response.extensions().get::<PendingTemplate>().is_some()
}

/// Renders a pending template in `response`, if there is one.
pub(crate) fn render_pending(response: &mut Response, scope: &RequestContext) {
    let Some(PendingTemplate(template)) = response.extensions_mut().remove::<PendingTemplate>()
    else {
        return;
    };
    match scope
        .app
        .templates
        .render(&template.name, &template.context, Some(scope))
    {
        Ok(html) => {
            *response.body_mut() = Body::from(html);
            // Usually the only reference left: moved, not copied.
            let Template { name, context } = Arc::unwrap_or_clone(template);
            response
                .extensions_mut()
                .insert(RenderedTemplate { name, context });
        }
        Err(err) => {
            let mut error_response = err.into_response();
            std::mem::swap(response, &mut error_response);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_markupsafe() {
        let setup = TemplateSetup {
            embedded: vec![("u.html".into(), "{{ u }}|{{ n }}|{{ none }}".into())],
            hooks: Vec::new(),
        };
        let templates = TemplateEngine::new(setup, Vec::new(), false).unwrap();
        let ctx =
            Value::from_serialize(minijinja::context! { u => "/a?b=1&c='2'", n => 3, none => () });
        assert_eq!(
            templates.render("u.html", &ctx, None).unwrap(),
            "/a?b=1&amp;c=&#x27;2&#x27;|3|None"
        );
    }

    #[test]
    fn escaping_is_one_pass_over_any_value() {
        let setup = TemplateSetup {
            embedded: vec![(
                "e.html".into(),
                "{{ a }}|{{ b }}|{{ l }}|{{ m }}|{{ s }}|{{ a|safe }}".into(),
            )],
            hooks: Vec::new(),
        };
        let templates = TemplateEngine::new(setup, Vec::new(), false).unwrap();
        let ctx = Value::from_serialize(minijinja::context! {
            a => "<é&'\">",
            b => "plain — ünïcode",
            l => vec!["<x>", "y"],
            m => minijinja::context! { k => "&" },
            s => Value::from_safe_string("<b>safe</b>".into()),
        });
        assert_eq!(
            templates.render("e.html", &ctx, None).unwrap(),
            "&lt;é&amp;&#x27;&quot;&gt;|plain — ünïcode|[&quot;&lt;x&gt;&quot;, &quot;y&quot;]\
             |{&quot;k&quot;: &quot;&amp;&quot;}|<b>safe</b>|<é&'\">"
        );
        assert_eq!(html_escape(""), "");
        assert_eq!(html_escape("a<b"), "a&lt;b");
    }

    #[test]
    fn html_is_autoescaped_and_text_is_not() {
        let setup = TemplateSetup {
            embedded: vec![
                ("a.html".into(), "{{ v }}".into()),
                ("a.txt".into(), "{{ v }}".into()),
            ],
            hooks: Vec::new(),
        };
        let templates = TemplateEngine::new(setup, Vec::new(), false).unwrap();
        let ctx = Value::from_serialize(minijinja::context! { v => "<b>" });
        assert_eq!(templates.render("a.html", &ctx, None).unwrap(), "&lt;b&gt;");
        assert_eq!(templates.render("a.txt", &ctx, None).unwrap(), "<b>");
    }

    #[test]
    fn output_formats_by_name() {
        let html = ("text/html; charset=utf-8", AutoEscape::Html);
        let plain = ("text/plain; charset=utf-8", AutoEscape::None);
        let json = ("application/json", AutoEscape::Json);
        for (name, (content_type, escape)) in [
            ("page.html", html),
            ("page.htm", html),
            ("page.HTML", html),
            ("page.Htm", html),
            ("page.html.j2", html),
            ("page.html.J2", html),
            ("page.html.jinja", html),
            ("page.html.JINJA", html),
            ("page.html.jinja2", html),
            ("emails/welcome.html", html),
            (
                "page.xhtml",
                ("application/xhtml+xml; charset=utf-8", AutoEscape::Html),
            ),
            (
                "page.XHTML.j2",
                ("application/xhtml+xml; charset=utf-8", AutoEscape::Html),
            ),
            (
                "feed.xml",
                ("application/xml; charset=utf-8", AutoEscape::Html),
            ),
            (
                "icon.svg",
                ("image/svg+xml; charset=utf-8", AutoEscape::Html),
            ),
            (
                "icon.SVG.jinja",
                ("image/svg+xml; charset=utf-8", AutoEscape::Html),
            ),
            ("data.json", json),
            ("data.JSON.j2", json),
            ("data.json5", ("application/json5", AutoEscape::Json)),
            ("data.yaml", ("application/yaml", AutoEscape::Json)),
            ("data.yml", ("application/yaml", AutoEscape::Json)),
            (
                "app.js",
                ("text/javascript; charset=utf-8", AutoEscape::Json),
            ),
            (
                "app.mjs",
                ("text/javascript; charset=utf-8", AutoEscape::Json),
            ),
            ("site.css", ("text/css; charset=utf-8", AutoEscape::None)),
            ("notes.txt", plain),
            ("notes.md", plain),
            ("notes.MD", plain),
            ("page.unknown", plain),
            ("page.j2", plain),
            ("page.jinja", plain),
            ("noext", plain),
            ("mail.v2/noext", plain),
            (".j2", plain),
            ("page.html.bak", plain),
            ("page.", plain),
            ("", plain),
        ] {
            assert_eq!(
                output_format(name),
                OutputFormat {
                    content_type,
                    escape
                },
                "{name:?}"
            );
        }
    }

    #[test]
    fn missing_template_names_the_folders() {
        let templates = TemplateEngine::new(
            TemplateSetup::default(),
            vec![PathBuf::from("nowhere")],
            false,
        )
        .unwrap();
        let err = templates
            .render("x.html", &Value::UNDEFINED, None)
            .unwrap_err();
        let text = err.chain().join(" ");
        assert!(
            text.contains("`x.html` not found") && text.contains("nowhere/"),
            "{text}"
        );
    }

    #[test]
    fn inheritance_works_from_folders() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("base.html"),
            "<main>{% block body %}{% endblock %}</main>",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("page.html"),
            "{% extends 'base.html' %}{% block body %}hi {{ n }}{% endblock %}",
        )
        .unwrap();
        let templates =
            TemplateEngine::new(TemplateSetup::default(), vec![dir.path().to_owned()], false)
                .unwrap();
        let ctx = Value::from_serialize(minijinja::context! { n => 1 });
        assert_eq!(
            templates.render("page.html", &ctx, None).unwrap(),
            "<main>hi 1</main>"
        );
    }
}
