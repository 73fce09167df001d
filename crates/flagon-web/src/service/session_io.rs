//! The session and cookies at the end of a request: the CSRF secret kept
//! in the session when `csrf.use_sessions` is on, the session saved if it
//! changed (its id rotated if asked), and the cookies written.
//!
//! Reading the session is lazy ([`crate::session::SessionSlot`]): it
//! happens where the session is first used, not here.

use http::header::{self, HeaderValue};

use crate::context::RequestContext;
use crate::error::Error;
use crate::response::Response;

/// Saves what the request changed: a new CSRF secret into the session (when
/// it lives there) and the session into its store. An error here replaces
/// the response.
pub(super) async fn persist(scope: &RequestContext) -> Option<Error> {
    if scope.app.settings.csrf.use_sessions {
        if let Err(err) = keep_csrf_secret_in_session(scope).await {
            return Some(err);
        }
    }
    let modified = scope
        .session
        .loaded()
        .filter(|session| session.state().modified);
    if let Some(session) = modified {
        if let Err(err) = Box::pin(save_session(scope, session)).await {
            return Some(err);
        }
    }
    None
}

/// The session key holding the CSRF secret when `csrf.use_sessions` is on.
pub(crate) const CSRF_SESSION_KEY: &str = "_csrf_secret";

/// Stores a CSRF secret made during this request in the session (instead
/// of the cookie, which `write_cookies` then does not send).
async fn keep_csrf_secret_in_session(scope: &RequestContext) -> Result<(), Error> {
    let Some(secret) = scope.take_new_csrf_secret() else {
        return Ok(());
    };
    match scope.load_session().await? {
        Some(session) => session.insert(CSRF_SESSION_KEY, secret),
        None => Ok(()),
    }
}

/// Saves `session`, which the request changed, into the app's store.
async fn save_session(
    scope: &RequestContext,
    session: &crate::session::Session,
) -> Result<(), Error> {
    let Some(store) = &scope.app.session_store else {
        return Ok(());
    };
    if scope.session.is_outer() {
        // The app this one is mounted in saves the shared session.
        return Ok(());
    }
    let (data, mut cookie, cycle) = {
        let state = session.state();
        (state.data.clone(), state.cookie.clone(), state.cycle)
    };
    let ctx = scope.app.store_context();
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
pub(super) fn add_vary_cookie(headers: &mut http::HeaderMap) {
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

pub(super) fn write_cookies(response: &mut Response, scope: &RequestContext) {
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
