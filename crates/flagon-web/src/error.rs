//! The one error type: every failure carries the HTTP status it answers with.

use std::backtrace::{Backtrace, BacktraceStatus};
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::body::Body;
use crate::response::{IntoResponse, Response};

/// A boxed error that can cross threads.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error that is also an HTTP response.
///
/// Every error has a status. Errors made with [`Error::new`] and the helpers
/// (`not_found`, `bad_request`, ...) carry a message meant for the client.
/// Any other error converts with `?` into a 500 whose details (the error
/// chain and a backtrace) are shown only in debug mode and logged always.
///
/// ```
/// use flagon_web::{Error, StatusCode};
///
/// fn find(id: u32) -> flagon_web::Result<&'static str> {
///     match id {
///         1 => Ok("first"),
///         _ => Err(Error::not_found().with_message(format!("no post with id {id}"))),
///     }
/// }
/// assert_eq!(find(2).unwrap_err().status(), StatusCode::NOT_FOUND);
///
/// fn parse(input: &str) -> flagon_web::Result<i32> {
///     Ok(input.parse::<i32>()?) // a ParseIntError becomes a 500
/// }
/// assert_eq!(parse("x").unwrap_err().status(), StatusCode::INTERNAL_SERVER_ERROR);
/// ```
///
/// `Error` deliberately does not implement [`std::error::Error`]: that is
/// what lets `?` convert any error into it.
pub struct Error(Box<Inner>);

struct Inner {
    status: StatusCode,
    message: Cow<'static, str>,
    source: Option<BoxError>,
    headers: Option<HeaderMap>,
    backtrace: Option<Backtrace>,
}

impl Error {
    /// An error with a status and a message shown to the client.
    pub fn new(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Error(Box::new(Inner {
            status,
            message: message.into(),
            source: None,
            headers: None,
            backtrace: None,
        }))
    }

    /// An error with a status and its standard reason phrase as message.
    pub fn from_status(status: StatusCode) -> Self {
        Error::new(status, status.canonical_reason().unwrap_or("Error"))
    }

    /// 400 Bad Request with a message naming what was wrong.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(StatusCode::BAD_REQUEST, message)
    }

    /// 403 Forbidden with a message saying why.
    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(StatusCode::FORBIDDEN, message)
    }

    /// 404 Not Found.
    pub fn not_found() -> Self {
        Error::new(
            StatusCode::NOT_FOUND,
            "The requested URL was not found on the server.",
        )
    }

    /// 422 Unprocessable Content: the request was well formed but its content
    /// was not what the handler expects.
    pub fn unprocessable(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    /// 413 Content Too Large for a body over `limit` bytes.
    pub fn payload_too_large(limit: usize) -> Self {
        Error::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("The request body is larger than the limit of {limit} bytes."),
        )
        .with_header(http::header::CONNECTION, HeaderValue::from_static("close"))
    }

    /// 500 Internal Server Error wrapping `source`; its details stay private.
    pub fn internal(source: impl Into<BoxError>) -> Self {
        let mut error = Error::from_status(StatusCode::INTERNAL_SERVER_ERROR);
        error.0.source = Some(source.into());
        // Server errors are rare and their cause is what one needs to see:
        // capture (the stack walk) always; symbols are resolved only when
        // the backtrace is printed.
        error.0.backtrace = Some(Backtrace::force_capture());
        error
    }

    /// An error converted with `?`: a 500 whose backtrace is captured
    /// unless the app will answer it with a 4xx (its `error_status`
    /// classifiers say so, as the ORM's does for a missing row) outside
    /// debug mode: a client who asks for missing rows must not cost the
    /// server a stack walk each time.
    fn converted(source: BoxError) -> Self {
        let capture = policy::current().is_none_or(|policy| {
            policy.debug || !policy.answers_with_client_error(source.as_ref())
        });
        let mut error = Error::from_status(StatusCode::INTERNAL_SERVER_ERROR);
        error.0.source = Some(source);
        if capture {
            error.0.backtrace = Some(Backtrace::force_capture());
        }
        error
    }

    /// Replaces the message shown to the client.
    pub fn with_message(mut self, message: impl Into<Cow<'static, str>>) -> Self {
        self.0.message = message.into();
        self
    }

    /// Attaches the underlying cause (shown in debug mode and logs only).
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.0.source = Some(source.into());
        self
    }

    /// Adds a header to the response this error becomes.
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.0
            .headers
            .get_or_insert_with(HeaderMap::new)
            .append(name, value);
        self
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    /// The message shown to the client.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The underlying cause, if any.
    pub fn source(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.0.source.as_deref()
    }

    /// The causes from the outermost to the innermost, as text.
    pub fn chain(&self) -> Vec<String> {
        let mut chain = Vec::new();
        let mut next: Option<&(dyn std::error::Error + 'static)> =
            self.0.source.as_deref().map(|e| e as _);
        while let Some(err) = next {
            chain.push(err.to_string());
            next = err.source();
        }
        chain
    }

    /// The backtrace captured when an internal error was made, if one was:
    /// [`Error::internal`] captures one, and so does an error converted
    /// with `?`, unless the app answers it with a 4xx outside debug mode
    /// (an error a client can cause must be cheap). The stack is walked
    /// when the error is made; its symbols are resolved only when the
    /// backtrace is printed.
    pub fn backtrace(&self) -> Option<&Backtrace> {
        self.0
            .backtrace
            .as_ref()
            .filter(|bt| bt.status() == BacktraceStatus::Captured)
    }

    /// Whether the status is a server error (5xx), whose details stay private.
    pub fn is_server_error(&self) -> bool {
        self.0.status.is_server_error()
    }
}

impl<E> From<E> for Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn from(err: E) -> Self {
        Error::converted(Box::new(err))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.0.status, self.0.message)?;
        for cause in self.chain() {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

/// Readable when `main` returns the error: an internal error (a failed
/// start, say) shows its cause first; any other shows its status and
/// message. Further causes follow, one per line.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chain = self.chain().into_iter();
        let generic = Some(self.0.message.as_ref()) == self.0.status.canonical_reason();
        match chain.next() {
            Some(cause) if generic => write!(f, "{cause}")?,
            Some(cause) => {
                write!(f, "{} {}", self.0.status.as_u16(), self.0.message)?;
                write!(f, "\n\nCaused by:\n    {cause}")?;
            }
            None => write!(f, "{} {}", self.0.status.as_u16(), self.0.message)?,
        }
        let rest: Vec<String> = chain.collect();
        if !rest.is_empty() {
            if generic {
                write!(f, "\n\nCaused by:")?;
            }
            for cause in rest {
                write!(f, "\n    {cause}")?;
            }
        }
        Ok(())
    }
}

/// The app answering the current request, as errors converted with `?`
/// need to know it: a task-local set around the app's request future.
pub(crate) mod policy {
    use std::sync::Arc;

    use crate::app::AppShared;

    tokio::task_local! {
        static CURRENT: Arc<AppShared>;
    }

    /// Runs `future` with `app` as the current app.
    pub(crate) fn scope<F: std::future::Future>(
        app: Arc<AppShared>,
        future: F,
    ) -> tokio::task::futures::TaskLocalFuture<Arc<AppShared>, F> {
        CURRENT.scope(app, future)
    }

    /// The current app's error policy, inside a request.
    pub(crate) fn current() -> Option<Policy> {
        CURRENT
            .try_with(|app| Policy {
                debug: app.settings.debug,
                app: app.clone(),
            })
            .ok()
    }

    pub(crate) struct Policy {
        pub(crate) debug: bool,
        app: Arc<AppShared>,
    }

    impl Policy {
        /// Whether the app's classifiers give `error` (or one of its
        /// causes) a 4xx status.
        pub(crate) fn answers_with_client_error(
            &self,
            error: &(dyn std::error::Error + Send + Sync + 'static),
        ) -> bool {
            !self.app.error_statuses.is_empty()
                && self
                    .app
                    .classified_status(error)
                    .is_some_and(|status| status.is_client_error())
        }
    }
}

/// Flask's `abort(status)`: an error answering with `status` and its
/// standard reason phrase.
///
/// ```
/// use flagon_web::{abort, StatusCode};
///
/// fn only_admins(is_admin: bool) -> flagon_web::Result<()> {
///     if !is_admin {
///         return Err(abort(StatusCode::FORBIDDEN));
///     }
///     Ok(())
/// }
/// assert_eq!(only_admins(false).unwrap_err().status(), StatusCode::FORBIDDEN);
/// ```
pub fn abort(status: StatusCode) -> Error {
    Error::from_status(status)
}

/// The error a response was made from, kept in the response's extensions so
/// the app can render it for the client (HTML or JSON, debug or production)
/// and apply its error handlers.
///
/// It is also an extractor for error handlers ([`crate::App::error_handler`]).
#[derive(Clone, Debug)]
pub struct ErrorReport(pub Arc<Error>);

impl crate::extract::FromRequestParts for ErrorReport {
    async fn from_request_parts(parts: &mut http::request::Parts) -> Result<Self, Error> {
        parts
            .extensions
            .get::<ErrorReport>()
            .cloned()
            .ok_or_else(|| Error::internal("ErrorReport can only be extracted in an error handler"))
    }
}

/// `None` outside an error handler.
impl crate::extract::OptionalFromRequestParts for ErrorReport {
    async fn from_request_parts(parts: &mut http::request::Parts) -> Result<Option<Self>, Error> {
        Ok(parts.extensions.get::<ErrorReport>().cloned())
    }
}

impl IntoResponse for Error {
    fn into_response(mut self) -> Response {
        let headers = self.0.headers.take();
        let status = self.0.status;
        let mut response = Response::new(Body::from(format!(
            "{} {}\n",
            status.as_u16(),
            self.0.message
        )));
        *response.status_mut() = status;
        if let Some(headers) = headers {
            response.headers_mut().extend(headers);
        }
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response
            .extensions_mut()
            .insert(ErrorReport(Arc::new(self)));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_error_converts_into_a_500_with_its_chain() {
        let err: Error = "x".parse::<u8>().unwrap_err().into();
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(err.message(), "Internal Server Error");
        assert_eq!(
            err.chain(),
            vec!["invalid digit found in string".to_string()]
        );
    }

    #[test]
    fn debug_output_leads_with_the_cause() {
        let startup = Error::internal("cannot listen on 127.0.0.1:80: permission denied");
        assert_eq!(
            format!("{startup:?}"),
            "cannot listen on 127.0.0.1:80: permission denied"
        );
        let client = Error::bad_request("field `name` is missing");
        assert_eq!(format!("{client:?}"), "400 field `name` is missing");
        let wrapped = Error::forbidden("no access").with_source(std::io::Error::other("denied"));
        assert_eq!(
            format!("{wrapped:?}"),
            "403 no access\n\nCaused by:\n    denied"
        );
    }

    #[test]
    fn error_response_keeps_status_headers_and_report() {
        let response = Error::payload_too_large(10).into_response();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(response.headers()["connection"], "close");
        assert!(response.extensions().get::<ErrorReport>().is_some());
    }
}
