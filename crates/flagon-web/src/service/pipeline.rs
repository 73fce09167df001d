//! What every request goes through, in order:
//!
//! 1. Checks made before anything runs: the head's size, the `Host`
//!    header, a declared body over the limit, and the path's normal form
//!    ([`super::normalize`]). A failure is answered at once.
//! 2. The request's context ([`RequestScope`]): host, cookies, the CSRF
//!    secret, and a session slot read from its store only on first use.
//! 3. The app's layers, then its hooks (in Flask's order), around the
//!    router ([`super::dispatch`]). A panic becomes a 500.
//! 4. The end: the response finished ([`super::finish::complete`]), the
//!    session saved ([`super::session_io`]), cookies, `Vary` and security
//!    headers written, the body of a `HEAD` response dropped.

use std::sync::{Arc, Mutex, OnceLock};

use http::header;
use http::Method;

use crate::app::AppShared;
use crate::context::{ContextData, RequestContext};
use crate::cookies::CookieState;
use crate::csrf::CsrfState;
use crate::error::Error;
use crate::extract::Request;
use crate::handler::Endpoint;
use crate::response::{IntoResponse, Response};
use crate::session::SessionSlot;

use super::dispatch::Mounted;
use super::finish;
use super::limits::{body_too_large, head_too_large};
use super::negotiate::Preference;
use super::normalize::normalize_path;
use super::session_io;

/// Answers one request with the app `shared`, whose layers, hooks and
/// router are `inner`.
pub(super) async fn run(
    shared: &Arc<AppShared>,
    inner: &Endpoint,
    request: Request,
    peer: Option<std::net::SocketAddr>,
) -> Response {
    let settings = &shared.settings;
    let (mut parts, body) = request.into_parts();
    let (outer, script_root) = match parts.extensions.remove::<Mounted>() {
        Some(Mounted { outer, script_root }) => (Some(outer), script_root),
        None => (None, String::new()),
    };
    let outer = outer.as_ref();
    let host = match outer {
        Some(outer) => Ok(outer.host.clone()),
        None => crate::security::validate_host(&parts, settings),
    };
    let (host, host_error) = match host {
        Ok(host) => (host, None),
        Err(err) => (crate::security::RequestHost::empty(), Some(err)),
    };
    let mut early_error = head_too_large(&parts, settings)
        .or(host_error)
        .or_else(|| body_too_large(&parts.headers, settings));
    if early_error.is_none() && outer.is_none() {
        // A mounted app's path was normalised by the app it is mounted in.
        if let Err(err) = normalize_uri(&mut parts.uri) {
            early_error = Some(err);
        }
    }
    let cookies = CookieState::from_headers(&parts.headers);
    let session = match (&shared.session_store, outer) {
        (None, _) => SessionSlot::Off,
        (Some(_), Some(outer)) if outer.session.is_on() => SessionSlot::Outer(outer.clone()),
        (Some(_), _) => SessionSlot::lazy(
            cookies
                .jar
                .get(&settings.session.cookie_name)
                .map(|c| c.value().to_owned()),
        ),
    };
    // A secret kept in the session is adopted when the session is loaded.
    let csrf_cookie = (!settings.csrf.use_sessions)
        .then(|| cookies.jar.get(&settings.csrf.cookie_name))
        .flatten();
    let csrf_state = CsrfState::from_cookie(csrf_cookie.map(|c| c.value()));
    let csp_nonce = (!settings.security.content_security_policy.is_empty()).then(new_nonce);
    let scope = RequestContext::new(ContextData {
        app: shared.clone(),
        method: parts.method.clone(),
        uri: parts.uri.clone(),
        host,
        is_secure: outer.map_or_else(
            || crate::security::is_secure(&parts, &settings.security),
            |outer| outer.is_secure,
        ),
        remote_addr: match outer {
            Some(outer) => outer.remote_addr,
            None => crate::security::client_ip(
                &parts.headers,
                peer.map(|addr| addr.ip()),
                &settings.security,
            ),
        },
        peer,
        debug: outer.map_or(settings.debug, |outer| outer.debug),
        script_root,
        preference: Preference::of(&parts.headers),
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
            parts.extensions.insert(scope.clone());
            let request = Request::from_parts(parts, body);
            // The app is the task's current app while its layers and
            // handlers run: errors converted with `?` read its policy.
            let call = crate::error::policy::scope(shared.clone(), inner.call(request));
            finish::catch_panics(call).await
        }
    };
    finish::complete(&mut response, &scope).await;
    if let Some(err) = session_io::persist(&scope).await {
        response = err.into_response();
        finish::complete(&mut response, &scope).await;
    }
    seal(&mut response, &scope, is_head);
    response
}

/// Rewrites the request's URI into its normal form (see
/// [`super::normalize`]); the query is kept as it is.
fn normalize_uri(uri: &mut http::Uri) -> Result<(), Error> {
    let Some(path) = normalize_path(uri.path())? else {
        return Ok(());
    };
    let path_and_query = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    let mut uri_parts = std::mem::take(uri).into_parts();
    uri_parts.path_and_query = Some(
        path_and_query
            .parse()
            .map_err(|_| Error::bad_request("the URL path cannot be normalised"))?,
    );
    *uri = http::Uri::from_parts(uri_parts)
        .map_err(|_| Error::bad_request("the URL path cannot be normalised"))?;
    Ok(())
}

/// The last step of every request: cookies (a new CSRF secret, the
/// session's), `Vary: Cookie` when the response depends on them, the
/// security headers, and no body for `HEAD` (its `Content-Length` kept, as
/// it would have been for `GET`).
fn seal(response: &mut Response, scope: &RequestContext, is_head: bool) {
    session_io::write_cookies(response, scope);
    if scope
        .varies_by_cookie
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        session_io::add_vary_cookie(response.headers_mut());
    }
    let settings = &scope.app.settings;
    crate::security::add_fixed_headers(response.headers_mut(), &scope.app.security_headers);
    crate::security::add_dynamic_headers(
        response.headers_mut(),
        &settings.security,
        scope.is_secure,
        scope.csp_nonce.as_deref(),
    );
    if is_head {
        let exact = http_body::Body::size_hint(response.body()).exact();
        if let Some(length) = exact {
            if !response.headers().contains_key(header::CONTENT_LENGTH) {
                response
                    .headers_mut()
                    .insert(header::CONTENT_LENGTH, http::HeaderValue::from(length));
            }
        }
        *response.body_mut() = crate::body::Body::empty();
    }
}

fn new_nonce() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    crate::signing::b64(&bytes)
}
