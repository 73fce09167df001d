//! Cookies: plain, signed (readable, tamper-proof) and private (encrypted).

use cookie::{Cookie, CookieJar};
use http::header::{HeaderMap, HeaderValue, COOKIE, SET_COOKIE};
use http::request::Parts;

use crate::context::RequestContext;
use crate::error::Error;
use crate::extract::FromRequestParts;

/// The request's cookies and those to send back, parsed once per request.
#[derive(Default)]
pub(crate) struct CookieState {
    pub(crate) jar: CookieJar,
}

impl CookieState {
    pub(crate) fn from_headers(headers: &HeaderMap) -> CookieState {
        let mut jar = CookieJar::new();
        for value in headers.get_all(COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            for cookie in Cookie::split_parse_encoded(text.to_owned()).flatten() {
                jar.add_original(cookie);
            }
        }
        CookieState { jar }
    }
}

/// Appends a `Set-Cookie` header for every change made to `jar`.
pub(crate) fn write_delta(jar: &CookieJar, headers: &mut HeaderMap) {
    for cookie in jar.delta() {
        if let Ok(value) = HeaderValue::from_str(&cookie.encoded().to_string()) {
            headers.append(SET_COOKIE, value);
        }
    }
}

/// The request's cookies; cookies added or removed are sent with the response.
///
/// ```
/// use flagon_web::{Cookie, Cookies};
///
/// async fn remember(cookies: Cookies) -> String {
///     let theme = cookies.get("theme").unwrap_or_else(|| "light".into());
///     cookies.add(Cookie::build(("theme", theme.clone())).path("/").build());
///     // Signed: readable by the visitor, but changes are detected.
///     cookies.signed().add(Cookie::new("plan", "pro"));
///     // Private: encrypted and signed.
///     let token = cookies.private().get("token");
///     format!("{theme} {token:?}")
/// }
/// ```
#[derive(Clone)]
pub struct Cookies {
    context: RequestContext,
}

impl std::fmt::Debug for Cookies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cookies")
    }
}

impl FromRequestParts for Cookies {
    async fn from_request_parts(parts: &mut Parts) -> Result<Self, Error> {
        Ok(Cookies {
            context: RequestContext::from_parts(parts)?,
        })
    }
}

impl Cookies {
    fn with_jar<R>(&self, f: impl FnOnce(&mut CookieJar) -> R) -> R {
        self.context.with_jar(f)
    }

    /// The value of cookie `name`.
    pub fn get(&self, name: &str) -> Option<String> {
        self.with_jar(|jar| jar.get(name).map(|c| c.value().to_owned()))
    }

    /// Sets a cookie on the response.
    pub fn add(&self, cookie: Cookie<'static>) {
        self.with_jar(|jar| jar.add(cookie));
    }

    /// Deletes cookie `name` (with path `/`) on the client.
    pub fn remove(&self, name: &str) {
        let removal = Cookie::build(name.to_owned()).path("/").build();
        self.with_jar(|jar| jar.remove(removal));
    }

    /// Cookies signed with the secret key.
    pub fn signed(&self) -> SignedCookies<'_> {
        SignedCookies { cookies: self }
    }

    /// Cookies encrypted and signed with the secret key.
    pub fn private(&self) -> PrivateCookies<'_> {
        PrivateCookies { cookies: self }
    }
}

/// Signed cookies: the visitor can read them, a changed one reads as absent.
#[derive(Debug)]
pub struct SignedCookies<'a> {
    cookies: &'a Cookies,
}

impl SignedCookies<'_> {
    /// The verified value of cookie `name` (the current key or a fallback).
    pub fn get(&self, name: &str) -> Option<String> {
        let keys = &self.cookies.context.app.keys.cookie;
        self.cookies.with_jar(|jar| {
            keys.iter()
                .find_map(|key| jar.signed(key).get(name))
                .map(|c| c.value().to_owned())
        })
    }

    /// Sets a signed cookie.
    pub fn add(&self, cookie: Cookie<'static>) {
        let keys = &self.cookies.context.app.keys.cookie;
        self.cookies.with_jar(|jar| {
            if let Some(key) = keys.first() {
                jar.signed_mut(key).add(cookie)
            }
        });
    }
}

/// Private cookies: encrypted, so the visitor can neither read nor change them.
#[derive(Debug)]
pub struct PrivateCookies<'a> {
    cookies: &'a Cookies,
}

impl PrivateCookies<'_> {
    /// The decrypted value of cookie `name`.
    pub fn get(&self, name: &str) -> Option<String> {
        let keys = &self.cookies.context.app.keys.cookie;
        self.cookies.with_jar(|jar| {
            keys.iter()
                .find_map(|key| jar.private(key).get(name))
                .map(|c| c.value().to_owned())
        })
    }

    /// Sets a private cookie.
    pub fn add(&self, cookie: Cookie<'static>) {
        let keys = &self.cookies.context.app.keys.cookie;
        self.cookies.with_jar(|jar| {
            if let Some(key) = keys.first() {
                jar.private_mut(key).add(cookie)
            }
        });
    }
}
