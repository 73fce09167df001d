//! Turning handler return values into HTTP responses.

use std::borrow::Cow;
use std::convert::Infallible;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::StatusCode;

use crate::body::Body;
use crate::error::Error;

/// An HTTP response with Flagon's [`Body`].
pub type Response<B = Body> = http::Response<B>;

/// Anything a handler may return.
///
/// Implemented for strings (`text/plain`), [`Html`], [`crate::Json`],
/// [`Redirect`], [`StatusCode`], `(StatusCode, T)`, `(StatusCode, headers, T)`,
/// `(headers, T)`, `Result<T, E>` where both sides are responses, [`Error`],
/// [`Response`], `()` (an empty 200) and byte buffers
/// (`application/octet-stream`).
///
/// ```
/// use flagon_web::{IntoResponse, StatusCode};
/// let response = (StatusCode::CREATED, [("x-id", "7")], "made").into_response();
/// assert_eq!(response.status(), StatusCode::CREATED);
/// assert_eq!(response.headers()["x-id"], "7");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a Flagon handler",
    note = "return a String, Html, Json, Redirect, (StatusCode, T), Result<T, flagon::Error> or a Response"
)]
pub trait IntoResponse {
    /// Makes the response.
    fn into_response(self) -> Response;
}

fn with_content_type(body: Body, content_type: HeaderValue) -> Response {
    let mut response = Response::new(body);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    response
}

impl<B> IntoResponse for http::Response<B>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<crate::error::BoxError>,
{
    fn into_response(self) -> Response {
        self.map(Body::new)
    }
}

impl IntoResponse for () {
    fn into_response(self) -> Response {
        Response::new(Body::empty())
    }
}

impl IntoResponse for Infallible {
    fn into_response(self) -> Response {
        match self {}
    }
}

impl IntoResponse for StatusCode {
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = self;
        response
    }
}

macro_rules! text_response {
    ($($ty:ty),*) => {$(
        impl IntoResponse for $ty {
            fn into_response(self) -> Response {
                with_content_type(Body::from(self), const { HeaderValue::from_static("text/plain; charset=utf-8") })
            }
        }
    )*};
}
text_response!(&'static str, String, Cow<'static, str>);

macro_rules! bytes_response {
    ($($ty:ty),*) => {$(
        impl IntoResponse for $ty {
            fn into_response(self) -> Response {
                with_content_type(Body::from(self), const { HeaderValue::from_static("application/octet-stream") })
            }
        }
    )*};
}
bytes_response!(Bytes, Vec<u8>, &'static [u8]);

impl<T: IntoResponse, E: IntoResponse> IntoResponse for Result<T, E> {
    fn into_response(self) -> Response {
        match self {
            Ok(value) => value.into_response(),
            Err(err) => err.into_response(),
        }
    }
}

/// Headers that can be added to a response: a [`HeaderMap`] or an array of
/// `(name, value)` pairs.
pub trait IntoResponseHeaders {
    /// Adds the headers to `response`, failing on an invalid name or value.
    fn apply(self, headers: &mut HeaderMap) -> Result<(), Error>;
}

impl IntoResponseHeaders for HeaderMap {
    fn apply(self, headers: &mut HeaderMap) -> Result<(), Error> {
        headers.extend(self);
        Ok(())
    }
}

impl<K, V, const N: usize> IntoResponseHeaders for [(K, V); N]
where
    K: TryInto<HeaderName>,
    K::Error: std::fmt::Display,
    V: TryInto<HeaderValue>,
    V::Error: std::fmt::Display,
{
    fn apply(self, headers: &mut HeaderMap) -> Result<(), Error> {
        for (name, value) in self {
            let name = name
                .try_into()
                .map_err(|err| Error::internal(format!("invalid response header name: {err}")))?;
            let value = value.try_into().map_err(|err| {
                Error::internal(format!("invalid value for response header {name}: {err}"))
            })?;
            headers.insert(name, value);
        }
        Ok(())
    }
}

/// The status replaces the response's, except for an [`Error`]: an error
/// keeps its own status, so its page, handler and status agree.
impl<T: IntoResponse> IntoResponse for (StatusCode, T) {
    fn into_response(self) -> Response {
        let mut response = self.1.into_response();
        if response
            .extensions()
            .get::<crate::error::ErrorReport>()
            .is_none()
        {
            *response.status_mut() = self.0;
        }
        response
    }
}

impl<H: IntoResponseHeaders, T: IntoResponse> IntoResponse for (H, T) {
    fn into_response(self) -> Response {
        let mut response = self.1.into_response();
        match self.0.apply(response.headers_mut()) {
            Ok(()) => response,
            Err(err) => err.into_response(),
        }
    }
}

impl<H: IntoResponseHeaders, T: IntoResponse> IntoResponse for (StatusCode, H, T) {
    fn into_response(self) -> Response {
        let mut response = (self.1, self.2).into_response();
        if response
            .extensions()
            .get::<crate::error::ErrorReport>()
            .is_none()
        {
            *response.status_mut() = self.0;
        }
        response
    }
}

/// An HTML response (`text/html; charset=utf-8`).
///
/// The content is sent as it is: escape user input yourself, or render a
/// template, which escapes for you.
///
/// ```
/// use flagon_web::{Html, IntoResponse};
/// let response = Html("<h1>Hi</h1>").into_response();
/// assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Html<T>(pub T);

impl<T: Into<Body>> IntoResponse for Html<T> {
    fn into_response(self) -> Response {
        with_content_type(
            self.0.into(),
            const { HeaderValue::from_static("text/html; charset=utf-8") },
        )
    }
}

/// A redirect to another URL.
///
/// [`Redirect::to`] answers 303 See Other (the browser follows with a GET,
/// right after a form post), [`Redirect::temporary`] 307 and
/// [`Redirect::permanent`] 308 (both keep the method and body).
///
/// ```
/// use flagon_web::{IntoResponse, Redirect, StatusCode};
/// let response = Redirect::to("/done").into_response();
/// assert_eq!(response.status(), StatusCode::SEE_OTHER);
/// assert_eq!(response.headers()["location"], "/done");
/// ```
#[derive(Clone, Debug)]
pub struct Redirect {
    status: StatusCode,
    location: String,
}

impl Redirect {
    /// 303 See Other.
    pub fn to(location: impl Into<String>) -> Self {
        Redirect {
            status: StatusCode::SEE_OTHER,
            location: location.into(),
        }
    }

    /// 307 Temporary Redirect.
    pub fn temporary(location: impl Into<String>) -> Self {
        Redirect {
            status: StatusCode::TEMPORARY_REDIRECT,
            location: location.into(),
        }
    }

    /// 308 Permanent Redirect.
    pub fn permanent(location: impl Into<String>) -> Self {
        Redirect {
            status: StatusCode::PERMANENT_REDIRECT,
            location: location.into(),
        }
    }

    /// The target URL.
    pub fn location(&self) -> &str {
        &self.location
    }
}

/// Characters escaped in a redirect target: controls (no header injection),
/// space, and what may not appear raw in a URL; non-ASCII is always escaped.
const LOCATION_ESCAPES: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'`');

impl IntoResponse for Redirect {
    fn into_response(self) -> Response {
        let location =
            percent_encoding::utf8_percent_encode(&self.location, LOCATION_ESCAPES).to_string();
        match HeaderValue::try_from(location) {
            Ok(location) => {
                let mut response = Response::new(Body::empty());
                *response.status_mut() = self.status;
                response.headers_mut().insert(header::LOCATION, location);
                response
            }
            Err(_) => Error::internal("redirect target is not a valid header value (percent-encode it, for example with url_for)")
                .into_response(),
        }
    }
}

/// Flask's `redirect(url)`: a 303 redirect to `location`.
///
/// ```
/// use flagon_web::redirect;
/// let target = redirect("/login");
/// assert_eq!(target.location(), "/login");
/// ```
pub fn redirect(location: impl Into<String>) -> Redirect {
    Redirect::to(location)
}

/// A streamed response body with a content type.
///
/// ```
/// use flagon_web::Stream;
/// let chunks = futures_util::stream::iter(["a", "b"].map(Ok::<_, std::io::Error>));
/// let response = Stream::new("text/plain", chunks);
/// # let _ = response;
/// ```
pub struct Stream {
    content_type: HeaderValue,
    body: Body,
}

impl Stream {
    /// Streams `chunks` as they come, with `content_type`.
    pub fn new<S>(content_type: &'static str, chunks: S) -> Self
    where
        S: futures_util::TryStream + Send + 'static,
        S::Ok: Into<Bytes>,
        S::Error: Into<crate::error::BoxError>,
    {
        Stream {
            content_type: HeaderValue::from_static(content_type),
            body: Body::from_stream(chunks),
        }
    }
}

impl IntoResponse for Stream {
    fn into_response(self) -> Response {
        let mut response = Response::new(self.body);
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, self.content_type);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_plain_text() {
        let response = "hi".into_response();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"],
            "text/plain; charset=utf-8"
        );
    }

    #[test]
    fn result_picks_its_side() {
        let ok: Result<&str, Error> = Ok("fine");
        assert_eq!(ok.into_response().status(), StatusCode::OK);
        let err: Result<&str, Error> = Err(Error::not_found());
        assert_eq!(err.into_response().status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn redirect_targets_are_percent_encoded() {
        let response = Redirect::to("/café?q=a b\r\nSet-Cookie: x").into_response();
        assert_eq!(
            response.headers()["location"],
            "/caf%C3%A9?q=a%20b%0D%0ASet-Cookie:%20x"
        );
    }

    #[test]
    fn a_status_tuple_keeps_an_error_status() {
        let response = (StatusCode::OK, Error::not_found()).into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let response = (StatusCode::CREATED, "made").into_response();
        assert_eq!(response.status(), StatusCode::CREATED);
    }

    #[test]
    fn invalid_header_in_tuple_is_a_500() {
        let response = ([("bad name", "x")], "body").into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn status_tuple_does_not_mask_an_error() {
        let response = (StatusCode::OK, [("bad name", "x")], "body").into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
