//! The one place a response is finished, and panics caught.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use http::header;
use http::StatusCode;

use crate::body::Body;
use crate::context::RequestContext;
use crate::error::{Error, ErrorReport};
use crate::extract::Request;
use crate::response::{IntoResponse, Response};

/// Finishes `response`: renders the template it left pending (with the
/// request's session read first, as templates read it synchronously), and
/// gives an error its status (the app's classifiers), its handler (the
/// app's error handler for that status) and its page (HTML or
/// problem+json). Idempotent: the handler's endpoint calls it (so layers
/// around a route see the final body), routing calls it for what it
/// answers itself, and the pipeline for what its layers answer.
///
/// The asynchronous parts, which few responses need, are boxed: the
/// request's future then carries none of their state, and moving that
/// future costs less on every request.
pub(crate) async fn complete(response: &mut Response, scope: &RequestContext) {
    if crate::templates::has_pending(response)
        && scope.session.is_on()
        && scope.session.loaded().is_none()
    {
        if let Err(err) = Box::pin(scope.load_session()).await {
            *response = err.into_response();
        }
    }
    crate::templates::render_pending(response, scope);
    if response.extensions().get::<ErrorReport>().is_some() {
        Box::pin(handle_error(response, scope)).await;
    }
}

/// Classifies the error in `response`, runs the app's handler for its
/// status, and renders its page.
async fn handle_error(response: &mut Response, scope: &RequestContext) {
    let Some(mut report) = response.extensions().get::<ErrorReport>().cloned() else {
        return;
    };
    if let Some(status) = classify(&report.0, &scope.app) {
        let reclassified = Error::from_status(status).with_source(Reclassified(report.0.clone()));
        let reclassified = if status == StatusCode::NOT_FOUND {
            reclassified.with_message(Error::not_found().message().to_owned())
        } else {
            reclassified
        };
        *response.status_mut() = status;
        report = ErrorReport(Arc::new(reclassified));
        response.extensions_mut().insert(report.clone());
    }
    if let Some(handler) = scope.app.error_handlers.get(&report.0.status()) {
        let mut request = Request::new(Body::empty());
        *request.method_mut() = scope.method.clone();
        *request.uri_mut() = scope.uri.clone();
        if let Some(headers) = &scope.request_headers {
            *request.headers_mut() = headers.clone();
        }
        request.extensions_mut().insert(scope.clone());
        request.extensions_mut().insert(report.clone());
        let mut handled = catch_panics(handler.call(request)).await;
        crate::templates::render_pending(&mut handled, scope);
        if let Some(allow) = response.headers().get(header::ALLOW).cloned() {
            handled.headers_mut().entry(header::ALLOW).or_insert(allow);
        }
        if handled.extensions().get::<ErrorReport>().is_none() {
            handled
                .extensions_mut()
                .insert(crate::error_page::RenderedError(report.0.clone()));
        }
        *response = handled;
    }
    crate::error_page::render(response, Some(scope));
}

/// The status the app's classifiers give a 500's causes, if any.
fn classify(error: &Error, app: &crate::app::AppShared) -> Option<StatusCode> {
    if error.status() != StatusCode::INTERNAL_SERVER_ERROR || app.error_statuses.is_empty() {
        return None;
    }
    app.classified_status(error.source()?)
}

/// An error given another status by [`crate::App::error_status`]: the
/// original, kept as the cause.
#[derive(Debug)]
struct Reclassified(Arc<Error>);

impl std::fmt::Display for Reclassified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.chain().first() {
            Some(cause) => f.write_str(cause),
            None => f.write_str(self.0.message()),
        }
    }
}

impl std::error::Error for Reclassified {}

/// Runs a handler future, turning a panic into a 500.
pub(super) async fn catch_panics(future: impl std::future::Future<Output = Response>) -> Response {
    match AssertUnwindSafe(future).catch_unwind().await {
        Ok(response) => response,
        Err(payload) => Error::internal(format!(
            "the handler panicked: {}",
            panic_message(&*payload)
        ))
        .into_response(),
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}
