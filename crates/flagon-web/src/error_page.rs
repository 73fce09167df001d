//! Rendering errors for the client: problem+json for JSON clients, HTML for
//! browsers; a detailed page in debug mode, the app's `404.html` /
//! `500.html` templates (or a plain page) in production.

use std::sync::Arc;

use http::header::{HeaderValue, CONTENT_TYPE};
use serde::Serialize;

use crate::body::Body;
use crate::context::RequestContext;
use crate::error::{Error, ErrorReport};
use crate::response::Response;
use crate::templates::html_escape as escape;

/// The error a response was rendered from, kept for tests and logging.
#[derive(Clone, Debug)]
pub struct RenderedError(pub Arc<Error>);

/// Replaces the body of an error response with the page the client should see.
pub(crate) fn render(response: &mut Response, scope: Option<&RequestContext>) {
    let Some(ErrorReport(error)) = response.extensions_mut().remove::<ErrorReport>() else {
        return;
    };
    log(&error, scope);
    let debug = scope.is_some_and(|s| s.debug);
    let wants_json = scope.is_some_and(|s| s.preference.wants_json());
    let (content_type, body) = if wants_json {
        ("application/problem+json", problem_json(&error, debug))
    } else if debug {
        ("text/html; charset=utf-8", debug_page(&error, scope))
    } else {
        ("text/html; charset=utf-8", production_page(&error, scope))
    };
    *response.body_mut() = Body::from(body);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().remove(http::header::CONTENT_LENGTH);
    response.extensions_mut().insert(RenderedError(error));
}

fn log(error: &Error, scope: Option<&RequestContext>) {
    let (method, uri) = scope.map_or((String::new(), String::new()), |s| {
        (s.method.to_string(), s.uri.to_string())
    });
    if error.is_server_error() {
        let backtrace = error
            .backtrace()
            .map(|bt| format!("\n{bt}"))
            .unwrap_or_default();
        tracing::error!(target: "flagon::error", %method, %uri, status = error.status().as_u16(), "{error}{backtrace}");
    } else {
        tracing::debug!(target: "flagon::error", %method, %uri, status = error.status().as_u16(), "{error}");
    }
}

/// The message the client may see: server errors keep their details private
/// outside debug mode.
fn public_message(error: &Error, debug: bool) -> String {
    if error.is_server_error() && !debug {
        error
            .status()
            .canonical_reason()
            .unwrap_or("Internal Server Error")
            .to_owned()
    } else {
        error.message().to_owned()
    }
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    title: &'a str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    causes: Vec<String>,
}

fn problem_json(error: &Error, debug: bool) -> String {
    let problem = Problem {
        kind: "about:blank",
        title: error.status().canonical_reason().unwrap_or("Error"),
        status: error.status().as_u16(),
        detail: public_message(error, debug),
        causes: if debug { error.chain() } else { Vec::new() },
    };
    serde_json::to_string(&problem)
        .unwrap_or_else(|_| format!("{{\"status\":{}}}", error.status().as_u16()))
}

fn production_page(error: &Error, scope: Option<&RequestContext>) -> String {
    let status = error.status();
    let title = status.canonical_reason().unwrap_or("Error");
    let message = public_message(error, false);
    if let Some(scope) = scope {
        let name = format!("{}.html", status.as_u16());
        if scope.app.templates.exists(&name) {
            let context = minijinja::Value::from_serialize(minijinja::context! {
                status => status.as_u16(),
                title => title,
                message => &message,
            });
            match scope.app.templates.render(&name, &context, Some(scope)) {
                Ok(html) => return html,
                Err(err) => {
                    tracing::error!(target: "flagon::error", "the error template {name} failed: {err}")
                }
            }
        }
    }
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{code} {title}</title></head>\n<body>\n<h1>{title}</h1>\n<p>{message}</p>\n</body>\n</html>\n",
        code = status.as_u16(),
        title = escape(title),
        message = escape(&message),
    )
}

fn debug_page(error: &Error, scope: Option<&RequestContext>) -> String {
    let status = error.status();
    let title = status.canonical_reason().unwrap_or("Error");
    let mut page = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{code} {title}</title>\n\
         <style>body{{font:15px/1.5 system-ui,sans-serif;margin:2rem;color:#222}}h1{{color:#a40000}}\
         pre{{background:#f6f6f6;padding:1rem;overflow:auto}}table{{border-collapse:collapse}}\
         td,th{{text-align:left;padding:.2rem .8rem;border-bottom:1px solid #ddd}}</style></head>\n<body>\n\
         <h1>{code} {title}</h1>\n<p><strong>{message}</strong></p>\n",
        code = status.as_u16(),
        title = escape(title),
        message = escape(error.message()),
    );
    let chain = error.chain();
    if !chain.is_empty() {
        page.push_str("<h2>Error chain</h2>\n<ol>\n");
        for cause in &chain {
            page.push_str(&format!("<li><pre>{}</pre></li>\n", escape(cause)));
        }
        page.push_str("</ol>\n");
    }
    if let Some(scope) = scope {
        page.push_str("<h2>Request</h2>\n<table>\n");
        let route = scope.route.get();
        let rows = [
            ("Method", scope.method.to_string()),
            ("URL", scope.uri.to_string()),
            ("Host", scope.authority().to_owned()),
            (
                "Route",
                route
                    .map(|r| r.pattern.to_string())
                    .unwrap_or_else(|| "(none matched)".into()),
            ),
            (
                "Endpoint",
                route
                    .and_then(|r| r.name.as_deref().map(str::to_owned))
                    .unwrap_or_default(),
            ),
        ];
        for (name, value) in rows {
            page.push_str(&format!(
                "<tr><th>{name}</th><td>{}</td></tr>\n",
                escape(&value)
            ));
        }
        page.push_str("</table>\n");
    }
    match error.backtrace() {
        Some(backtrace) => page.push_str(&format!(
            "<h2>Backtrace</h2>\n<pre>{}</pre>\n",
            escape(&backtrace.to_string())
        )),
        None if error.is_server_error() => page
            .push_str("<p>No backtrace: this error was made with <code>Error::new</code>.</p>\n"),
        None => {}
    }
    page.push_str("<p><small>You see this page because debug mode is on. Never turn it on in production.</small></p>\n</body>\n</html>\n");
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_json_hides_server_details_outside_debug() {
        let error = Error::internal("database password is hunter2");
        let public = problem_json(&error, false);
        assert!(!public.contains("hunter2"), "{public}");
        assert!(public.contains("\"status\":500"));
        let debug = problem_json(&error, true);
        assert!(debug.contains("hunter2"));
    }

    #[test]
    fn client_errors_keep_their_message_and_pages_escape() {
        let error = Error::bad_request("field <b> is wrong");
        let page = production_page(&error, None);
        assert!(page.contains("field &lt;b&gt; is wrong"), "{page}");
        let debug = debug_page(&Error::internal("boom <x>"), None);
        assert!(debug.contains("boom &lt;x&gt;"));
    }
}
