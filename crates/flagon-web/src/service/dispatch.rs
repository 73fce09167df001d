//! Routing, and what a match leads to: a route's endpoint (after the CSRF
//! check on unsafe methods), 405 with `Allow`, the automatic `OPTIONS`,
//! the strict-slash redirect, or a mounted service (its prefix taken off
//! the path).

use http::header::{self, HeaderValue};
use http::{Method, StatusCode};

use crate::app::AppShared;
use crate::context::RequestContext;
use crate::csrf;
use crate::error::Error;
use crate::extract::path::PathParams;
use crate::extract::Request;
use crate::response::{IntoResponse, Redirect, Response};
use crate::routing::url::decode_path;
use crate::routing::Matched;

use super::finish::{catch_panics, complete};

/// Marks a request an app passes to a service mounted in it (which may be
/// another app): the outer app faces the client, so it has checked the host
/// against its `allowed_hosts`, and its view of HTTPS and its debug setting
/// hold for the mounted app too.
///
/// A mounted Flagon app also shares the outer app's session (one cookie,
/// one session), and builds its URLs under the mount's prefix.
#[derive(Clone)]
pub(super) struct Mounted {
    /// The outer app's request context: its validated host, HTTPS, client
    /// address and debug setting hold for the mounted app, whose session
    /// it shares (when both have sessions on).
    pub(super) outer: RequestContext,
    /// Where the mounted app lives: the outer app's own root plus the
    /// mount prefix (WSGI's `SCRIPT_NAME`).
    pub(super) script_root: String,
}

/// Routes the request and runs the matched endpoint.
pub(super) async fn dispatch(shared: &AppShared, mut request: Request) -> Response {
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
            // The mounted service (a Flagon app or any other) finds the
            // peer here.
            if let Some(peer) = context.peer {
                request
                    .extensions_mut()
                    .insert(crate::server::ClientAddr(peer));
            }
            request.extensions_mut().insert(Mounted {
                script_root: format!("{}{prefix}", context.script_root),
                outer: context.clone(),
            });
            return catch_panics(service.call(request)).await;
        }
        Matched::NotFound => Error::not_found().into_response(),
    };
    complete(&mut response, &context).await;
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
