//! Extractors: typed values a handler takes from the request.
//!
//! A handler's arguments are extractors. Those that read only the request
//! head implement [`FromRequestParts`] and may come in any order; the one that
//! consumes the body implements [`FromRequest`] and must come last. A failing
//! extractor answers with the [`Error`] it returns (a 4xx naming what was
//! wrong); the handler is not called.

use std::future::Future;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, Method, Uri};

use crate::body::Body;
use crate::error::Error;

pub mod form;
pub mod json;
pub mod multipart;
pub mod path;
pub mod query;
pub mod state;

/// An HTTP request with Flagon's [`Body`].
pub type Request<B = Body> = http::Request<B>;

/// Extracts a value from the request head (method, URI, headers, extensions).
///
/// ```
/// use flagon_web::extract::FromRequestParts;
/// use flagon_web::Error;
/// use http::request::Parts;
///
/// /// The caller's API key, from the `x-api-key` header.
/// struct ApiKey(String);
///
/// impl FromRequestParts for ApiKey {
///     async fn from_request_parts(parts: &mut Parts) -> Result<Self, Error> {
///         parts
///             .headers
///             .get("x-api-key")
///             .and_then(|v| v.to_str().ok())
///             .map(|v| ApiKey(v.to_owned()))
///             .ok_or_else(|| Error::forbidden("the x-api-key header is missing"))
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an extractor that reads the request head",
    note = "only the last argument of a handler may consume the body (Json, Form, Multipart, String, Bytes, Request)"
)]
pub trait FromRequestParts: Sized {
    /// Extracts the value, or fails with a response-ready error.
    fn from_request_parts(parts: &mut Parts) -> impl Future<Output = Result<Self, Error>> + Send;
}

/// Extracts a value from the whole request, consuming its body.
///
/// Every [`FromRequestParts`] type is also a `FromRequest` (through the
/// marker parameter `M`), so any extractor can be a handler's last argument.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a Flagon extractor",
    note = "handler arguments must implement FromRequestParts (any position) or FromRequest (last position)"
)]
pub trait FromRequest<M = private::ViaRequest>: Sized {
    /// Extracts the value, or fails with a response-ready error.
    fn from_request(request: Request) -> impl Future<Output = Result<Self, Error>> + Send;
}

/// The decoded path of a request, for hooks and middleware, which receive
/// the [`Request`] itself (its context in the app is
/// [`crate::RequestContext::of`]).
///
/// ```
/// use flagon_web::extract::RequestExt;
/// use flagon_web::{App, Error, Request, get};
///
/// async fn staff_only(request: Request) -> Result<Request, Error> {
///     // `/%61dmin/` and `/./admin/` are `/admin/` here, as for the router.
///     if request.path().starts_with("/admin/") && !request.headers().contains_key("x-staff") {
///         return Err(Error::forbidden("staff only"));
///     }
///     Ok(request)
/// }
///
/// let app = App::new()
///     .route("/admin/users", get(|| async { "users" }))
///     .before_request(staff_only);
/// # let _ = app;
/// ```
pub trait RequestExt {
    /// The path percent-decoded (Flask's `request.path`), as the router
    /// matches it. Inside an app the request's URI has been normalised
    /// first: escapes of unreserved characters decoded (`%61` is `a`), the
    /// other escapes' hex digits upper-cased, and `.`/`..` segments
    /// removed, so `request.uri().path()` and this path name the same
    /// route. An encoded slash (`%2F`) and percent sign (`%25`) stay
    /// encoded: the router keeps `%2F` inside its segment (`/a%2Fb` is one
    /// segment, `a/b`), and so a guard on `/a/` must not match it.
    fn path(&self) -> std::borrow::Cow<'_, str>;
}

impl<B> RequestExt for http::Request<B> {
    fn path(&self) -> std::borrow::Cow<'_, str> {
        crate::service::normalize::decoded_path(self.uri().path())
    }
}

/// Marker types that keep the blanket implementations apart.
pub mod private {
    /// The extractor reads the whole request.
    #[derive(Debug)]
    pub enum ViaRequest {}
    /// The extractor reads the head only.
    #[derive(Debug)]
    pub enum ViaParts {}
}

impl<T: FromRequestParts> FromRequest<private::ViaParts> for T {
    async fn from_request(request: Request) -> Result<Self, Error> {
        let (mut parts, _body) = request.into_parts();
        T::from_request_parts(&mut parts).await
    }
}

/// An extractor that can be absent: `Option<T>` is then an extractor too,
/// `None` only when the thing is absent (no query string, no such state or
/// extension, sessions off, not an error handler, ...). Malformed input is
/// still the 4xx it would be without the `Option`, as in axum 0.8: a
/// handler taking `Option<Query<Search>>` answers `?page=x` with a 400
/// rather than running as if no query had been sent.
///
/// ```
/// use flagon_web::{Query, get, App};
/// use flagon_web::testing::{test_settings, TestClient};
///
/// #[derive(serde::Deserialize)]
/// struct Page { page: u32 }
///
/// async fn list(page: Option<Query<Page>>) -> String {
///     match page {
///         Some(Query(Page { page })) => format!("page {page}"),
///         None => "first page".to_owned(),
///     }
/// }
///
/// # tokio_test_block(async {
/// let client = TestClient::new(App::new().settings(test_settings()).route("/", get(list)));
/// assert_eq!(client.get("/").send().await.text(), "first page");
/// assert_eq!(client.get("/?page=2").send().await.text(), "page 2");
/// assert_eq!(client.get("/?page=x").send().await.status(), 400);
/// # });
/// # fn tokio_test_block(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
/// # }
/// ```
///
/// An extractor that is never absent has no `Option` form:
///
/// ```compile_fail
/// use flagon_web::{get, Cookies};
/// async fn handler(cookies: Option<Cookies>) -> &'static str { "" }
/// let _ = get(handler);
/// ```
pub trait OptionalFromRequestParts: Sized {
    /// `Ok(None)` when absent, `Err` when present but malformed.
    fn from_request_parts(
        parts: &mut Parts,
    ) -> impl Future<Output = Result<Option<Self>, Error>> + Send;
}

/// A body extractor that can be absent (no `Content-Type`, so no body of
/// its kind was sent): `Option<T>` is then a last handler argument, and a
/// body of the wrong type or malformed is still a 4xx.
///
/// ```
/// use flagon_web::{Json, post, App};
/// use flagon_web::testing::{test_settings, TestClient};
///
/// async fn note(body: Option<Json<serde_json::Value>>) -> String {
///     match body {
///         Some(Json(value)) => format!("got {value}"),
///         None => "no body".to_owned(),
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let app = App::new().settings(test_settings()).route("/", post(note));
/// let client = TestClient::new(app).with_csrf();
/// assert_eq!(client.post("/").send().await.text(), "no body");
/// assert_eq!(client.post("/").json(&1).send().await.text(), "got 1");
/// let bad = client.post("/").header("content-type", "application/json").body("{").send().await;
/// assert_eq!(bad.status(), 400);
/// # });
/// ```
pub trait OptionalFromRequest<M = private::ViaRequest>: Sized {
    /// `Ok(None)` when absent, `Err` when present but malformed.
    fn from_request(request: Request) -> impl Future<Output = Result<Option<Self>, Error>> + Send;
}

impl<T: OptionalFromRequestParts + Send> FromRequestParts for Option<T> {
    async fn from_request_parts(parts: &mut Parts) -> Result<Self, Error> {
        T::from_request_parts(parts).await
    }
}

impl<T: OptionalFromRequest + Send> FromRequest for Option<T> {
    async fn from_request(request: Request) -> Result<Self, Error> {
        T::from_request(request).await
    }
}

/// Whether the request declares a body type (no `Content-Type`: an
/// optional body extractor is absent).
pub(crate) fn has_content_type(request: &Request) -> bool {
    request.headers().contains_key(http::header::CONTENT_TYPE)
}

impl<T: FromRequestParts + Send> FromRequestParts for Result<T, Error> {
    async fn from_request_parts(parts: &mut Parts) -> Result<Self, Error> {
        Ok(T::from_request_parts(parts).await)
    }
}

impl FromRequestParts for Method {
    async fn from_request_parts(parts: &mut Parts) -> Result<Self, Error> {
        Ok(parts.method.clone())
    }
}

impl FromRequestParts for Uri {
    async fn from_request_parts(parts: &mut Parts) -> Result<Self, Error> {
        Ok(parts.uri.clone())
    }
}

impl FromRequestParts for HeaderMap {
    async fn from_request_parts(parts: &mut Parts) -> Result<Self, Error> {
        Ok(parts.headers.clone())
    }
}

impl FromRequest for Request {
    async fn from_request(request: Request) -> Result<Self, Error> {
        Ok(request)
    }
}

impl FromRequest for Body {
    async fn from_request(request: Request) -> Result<Self, Error> {
        Ok(request.into_body())
    }
}

impl FromRequest for Bytes {
    async fn from_request(request: Request) -> Result<Self, Error> {
        let limit = body_limit(&request);
        request.into_body().to_bytes(limit).await
    }
}

impl FromRequest for String {
    async fn from_request(request: Request) -> Result<Self, Error> {
        let bytes = Bytes::from_request(request).await?;
        String::from_utf8(bytes.into()).map_err(|err| {
            Error::bad_request(format!("the request body is not valid UTF-8: {err}"))
        })
    }
}

/// The buffered-body limit in force for this request (from the app's
/// settings, or the default outside an app).
pub(crate) fn body_limit<B>(request: &http::Request<B>) -> usize {
    request
        .extensions()
        .get::<crate::app::RequestContext>()
        .map_or(crate::settings::Limits::default().max_body_size, |ctx| {
            ctx.app.settings.limits.max_body_size
        })
}

/// The value of the request's `Content-Type` without parameters, lower-cased.
pub(crate) fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(http::header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next()?.trim().to_ascii_lowercase();
    Some(essence)
}
