//! CSRF protection in Django's manner.
//!
//! A random secret lives in the `csrftoken` cookie. Pages embed a *masked*
//! token (a fresh random mask plus the secret shifted by it), so the token in
//! the HTML changes on every render and cannot be recovered by compression
//! side channels (BREACH). POST, PUT, PATCH and DELETE requests must send a
//! token that unmasks to the cookie's secret, in the `csrf_token` form field
//! or the `X-CSRFToken` header, and, when they carry an `Origin` header (or
//! over HTTPS, a `Referer`), come from the site itself or a trusted origin.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::StreamExt;
use http::{header, HeaderMap, Method};
use rand::distributions::{Alphanumeric, DistString};
use rand::Rng;
use subtle::ConstantTimeEq;

use crate::body::Body;
use crate::context::RequestContext;
use crate::error::{BoxError, Error};
use crate::extract::{media_type, Request};

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// Length of the secret; a masked token is twice as long.
pub(crate) const SECRET_LEN: usize = 32;

/// The CSRF secret for one request.
#[derive(Default)]
pub(crate) struct CsrfState {
    /// The secret from the cookie, if it had a valid one, or a new one.
    secret: Option<String>,
    /// The secret is new and must be sent as a cookie.
    pub(crate) send_cookie: bool,
}

impl CsrfState {
    pub(crate) fn from_cookie(value: Option<&str>) -> CsrfState {
        CsrfState {
            secret: value.filter(|v| is_valid_secret(v)).map(str::to_owned),
            send_cookie: false,
        }
    }

    /// Takes the secret kept in the session (`csrf.use_sessions`), once
    /// the session is loaded, unless the request already has one.
    pub(crate) fn adopt_secret(&mut self, value: Option<&str>) {
        if self.secret.is_none() {
            self.secret = value.filter(|v| is_valid_secret(v)).map(str::to_owned);
        }
    }

    /// A masked token for a page, creating the secret if there is none.
    pub(crate) fn token(&mut self) -> String {
        let secret = match &self.secret {
            Some(secret) => secret.clone(),
            None => {
                let secret = Alphanumeric.sample_string(&mut rand::rngs::OsRng, SECRET_LEN);
                self.secret = Some(secret.clone());
                self.send_cookie = true;
                secret
            }
        };
        mask(&secret)
    }

    pub(crate) fn secret(&self) -> Option<&str> {
        self.secret.as_deref()
    }

    /// The secret made during this request, handed out once so that it is
    /// stored (as a cookie, or in the session) exactly once.
    pub(crate) fn take_new_secret(&mut self) -> Option<String> {
        if std::mem::take(&mut self.send_cookie) {
            self.secret.clone()
        } else {
            None
        }
    }
}

fn is_valid_secret(value: &str) -> bool {
    value.len() == SECRET_LEN && value.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn index(byte: u8) -> usize {
    ALPHABET.iter().position(|&c| c == byte).unwrap_or(0)
}

/// `mask + (secret shifted by mask)`, both in the 62-character alphabet.
pub(crate) fn mask(secret: &str) -> String {
    let mut rng = rand::rngs::OsRng;
    let mask: Vec<u8> = (0..SECRET_LEN)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())])
        .collect();
    let cipher: Vec<u8> = secret
        .bytes()
        .zip(&mask)
        .map(|(s, &m)| ALPHABET[(index(s) + index(m)) % ALPHABET.len()])
        .collect();
    let mut token = String::with_capacity(SECRET_LEN * 2);
    token.extend(mask.iter().map(|&b| b as char));
    token.extend(cipher.iter().map(|&b| b as char));
    token
}

/// The secret a token stands for: a masked token is unmasked, a bare secret
/// (as JavaScript reads it from the cookie) is taken as it is.
pub(crate) fn unmask(token: &str) -> Option<String> {
    if !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    match token.len() {
        SECRET_LEN => Some(token.to_owned()),
        len if len == SECRET_LEN * 2 => {
            let (mask, cipher) = token.as_bytes().split_at(SECRET_LEN);
            Some(
                cipher
                    .iter()
                    .zip(mask)
                    .map(|(&c, &m)| {
                        ALPHABET[(index(c) + ALPHABET.len() - index(m)) % ALPHABET.len()] as char
                    })
                    .collect(),
            )
        }
        _ => None,
    }
}

/// Methods that change state and so need a token.
pub(crate) fn needs_check(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// Checks an unsafe request; on success returns it (its body re-buffered if
/// the token had to be read from a form).
pub(crate) async fn check(scope: &RequestContext, request: Request) -> Result<Request, Error> {
    let settings = &scope.app.settings.csrf;
    check_origin(scope, request.headers())?;
    if settings.use_sessions {
        scope.load_session().await?;
    }
    let secret = scope.with_csrf(|state| state.secret().map(str::to_owned));
    let Some(secret) = secret else {
        let reason = if settings.use_sessions {
            "the session holds no CSRF secret. It is made when a page with a form (csrf_input) is shown; the session may have expired or been flushed"
        } else {
            "the CSRF cookie is not set. Browsers send it after a page with a form (csrf_input) was shown; scripts must send the token in the X-CSRFToken header"
        };
        return Err(rejected(reason));
    };
    let header_token = request
        .headers()
        .get(settings.header_name.as_str())
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (request, token) = match header_token {
        Some(token) => (request, Some(token)),
        None => token_from_body(scope, request).await?,
    };
    let Some(token) = token else {
        return Err(rejected("the CSRF token is missing: add {{ csrf_input() }} inside the form, or send the X-CSRFToken header"));
    };
    match unmask(token.trim()) {
        Some(candidate) if bool::from(candidate.as_bytes().ct_eq(secret.as_bytes())) => Ok(request),
        Some(_) => Err(rejected(
            "the CSRF token is incorrect (the page may be stale: reload it and try again)",
        )),
        None => Err(rejected("the CSRF token has the wrong format")),
    }
}

fn rejected(reason: &str) -> Error {
    Error::forbidden(format!(
        "CSRF verification failed. Request aborted: {reason}."
    ))
}

/// Django's origin checks: an `Origin` header must name this site or a
/// trusted origin; over HTTPS without `Origin`, the `Referer` must.
fn check_origin(scope: &RequestContext, headers: &HeaderMap) -> Result<(), Error> {
    let trusted = &scope.app.settings.csrf.trusted_origins;
    let scheme = if scope.is_secure { "https" } else { "http" };
    let own = format!("{scheme}://{}", scope.authority());
    let allowed = |origin: &str| {
        let origin = origin.trim_end_matches('/');
        origin.eq_ignore_ascii_case(&own)
            || trusted
                .iter()
                .any(|t| t.trim_end_matches('/').eq_ignore_ascii_case(origin))
    };
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("null");
        if !allowed(origin) {
            return Err(rejected(&format!("the request's Origin ({origin}) does not match this site ({own}) or csrf.trusted_origins")));
        }
        return Ok(());
    }
    if scope.is_secure {
        let Some(referer) = headers.get(header::REFERER).and_then(|v| v.to_str().ok()) else {
            return Err(rejected(
                "an HTTPS request without Origin must send a Referer header",
            ));
        };
        let referer_origin = referer.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
        if !allowed(&referer_origin) {
            return Err(rejected(&format!(
                "the Referer ({referer}) does not match this site ({own})"
            )));
        }
    }
    Ok(())
}

/// Reads the token from a form body and puts the body back on the request.
///
/// An url-encoded body is read whole (at most `limits.max_body_size`, as
/// the `Form` extractor would). A multipart body is read only as far as the
/// token field, which must come before any file (as `csrf_input()` at the
/// top of a form puts it), and at most `limits.max_body_size` of it: the
/// handler then streams the whole body, the bytes already read first.
async fn token_from_body(
    scope: &RequestContext,
    request: Request,
) -> Result<(Request, Option<String>), Error> {
    let field = scope.app.settings.csrf.field_name.as_str();
    let limit = scope.app.settings.limits.max_body_size;
    match media_type(request.headers()).as_deref() {
        Some("application/x-www-form-urlencoded") => {
            let (parts, body) = request.into_parts();
            let bytes = body.to_bytes(limit).await?;
            let token = form_urlencoded::parse(&bytes)
                .find(|(key, _)| *key == field)
                .map(|(_, value)| value.into_owned());
            Ok((Request::from_parts(parts, Body::from(bytes)), token))
        }
        Some("multipart/form-data") => {
            let (parts, body) = request.into_parts();
            let boundary = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| multer::parse_boundary(v).ok());
            let Some(boundary) = boundary else {
                return Ok((Request::from_parts(parts, body), None));
            };
            let (body, token) = multipart_token(body, boundary, field, limit).await;
            Ok((Request::from_parts(parts, body), token))
        }
        _ => Ok((request, None)),
    }
}

/// Reads multipart fields until the token field, a file, the end, or
/// `limit` bytes; returns a body replaying what was read, then the rest.
async fn multipart_token(
    body: Body,
    boundary: String,
    field: &str,
    limit: usize,
) -> (Body, Option<String>) {
    let state = Arc::new(Mutex::new(Tee {
        body: Some(body),
        seen: Vec::new(),
        total: 0,
    }));
    let mut multipart = multer::Multipart::new(
        TeeStream {
            state: state.clone(),
            limit,
        },
        boundary,
    );
    let mut token = None;
    while let Ok(Some(part)) = multipart.next_field().await {
        if part.name() == Some(field) {
            token = part.text().await.ok();
            break;
        }
        if part.file_name().is_some() {
            break;
        }
    }
    drop(multipart);
    let (seen, rest) = {
        let mut tee = state.lock().unwrap_or_else(|p| p.into_inner());
        (std::mem::take(&mut tee.seen), tee.body.take())
    };
    let replay = futures_util::stream::iter(seen.into_iter().map(Ok::<_, BoxError>));
    let body = match rest {
        Some(rest) => Body::from_stream(replay.chain(http_body_util::BodyDataStream::new(rest))),
        None => Body::from_stream(replay),
    };
    (body, token)
}

/// The body being read for the token, and a copy of every chunk read.
struct Tee {
    body: Option<Body>,
    seen: Vec<Bytes>,
    total: usize,
}

/// Feeds the body to the multipart parser, keeping what it reads.
struct TeeStream {
    state: Arc<Mutex<Tee>>,
    limit: usize,
}

impl futures_util::Stream for TeeStream {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        use http_body::Body as _;
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Tee { body, seen, total } = &mut *guard;
        if *total >= self.limit {
            // Past the pre-read limit the parser is told the body ends: a
            // token already read still counts, the rest stays for the handler.
            return Poll::Ready(None);
        }
        let Some(body) = body.as_mut() else {
            return Poll::Ready(None);
        };
        loop {
            return match Pin::new(&mut *body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => {
                        seen.push(data.clone());
                        *total += data.len();
                        Poll::Ready(Some(Ok(data)))
                    }
                    // Trailers carry no form data.
                    Err(_) => continue,
                },
                Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(std::io::Error::other(err)))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_tokens_differ_but_unmask_to_the_secret() {
        let mut state = CsrfState::default();
        let first = state.token();
        let second = state.token();
        assert_ne!(first, second);
        assert_eq!(first.len(), 64);
        let secret = state.secret().unwrap().to_owned();
        assert_eq!(unmask(&first).unwrap(), secret);
        assert_eq!(unmask(&second).unwrap(), secret);
        assert!(state.send_cookie);
    }

    #[test]
    fn bare_secret_is_accepted_and_junk_is_not() {
        let secret = "a".repeat(32);
        assert_eq!(unmask(&secret).unwrap(), secret);
        assert!(unmask("short").is_none());
        assert!(unmask(&"!".repeat(64)).is_none());
    }

    #[test]
    fn cookie_secret_must_be_well_formed() {
        assert!(CsrfState::from_cookie(Some("bad")).secret().is_none());
        let good = "b".repeat(32);
        assert_eq!(
            CsrfState::from_cookie(Some(&good)).secret(),
            Some(good.as_str())
        );
    }
}
