//! Handlers: async functions of extractors returning a response.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::{BoxFuture, Map};
use futures_util::FutureExt;

use crate::error::{BoxError, Error};
use crate::extract::{FromRequest, FromRequestParts, Request};
use crate::response::{IntoResponse, Response};

/// An async function usable as a route's endpoint.
///
/// Implemented for every `async fn` (or closure returning a future) whose
/// arguments are extractors, at most sixteen, and whose output is an
/// [`IntoResponse`]. The type parameter `T` only keeps the implementations
/// apart; you never name it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a Flagon handler",
    label = "not a handler",
    note = "a handler is an `async fn` whose arguments are extractors (only the last may read the body) and whose return type implements IntoResponse",
    note = "check that every argument implements FromRequestParts, or FromRequest for the last one, and that the future is Send"
)]
pub trait Handler<T>: Clone + Send + Sync + Sized + 'static {
    /// Runs the handler on `request`. Within an app, the response comes
    /// back finished: a template or error it left pending is rendered, so
    /// layers around the route see the final body.
    fn call(self, request: Request) -> BoxFuture<'static, Response>;
}

/// The scope a handler's response is finished with: the request's, unless
/// the request is an error handler's (the `finish` that called it completes
/// that response, and must not run a failing error handler in a loop).
fn finishing_scope(request: &Request) -> Option<crate::context::RequestContext> {
    if request
        .extensions()
        .get::<crate::error::ErrorReport>()
        .is_some()
    {
        return None;
    }
    request
        .extensions()
        .get::<crate::context::RequestContext>()
        .cloned()
}

/// Renders what `response` left pending, when there is a scope.
async fn finished(
    mut response: Response,
    scope: Option<crate::context::RequestContext>,
) -> Response {
    if let Some(scope) = scope {
        crate::service::finish::complete(&mut response, &scope).await;
    }
    response
}

impl<F, Fut, Res> Handler<((),)> for F
where
    F: FnOnce() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Res> + Send + 'static,
    Res: IntoResponse,
{
    fn call(self, request: Request) -> BoxFuture<'static, Response> {
        let scope = finishing_scope(&request);
        Box::pin(async move { finished(self().await.into_response(), scope).await })
    }
}

macro_rules! impl_handler {
    ([$($ty:ident),*], $last:ident) => {
        #[allow(non_snake_case, unused_mut)]
        impl<F, Fut, Res, M, $($ty,)* $last> Handler<(M, $($ty,)* $last,)> for F
        where
            F: FnOnce($($ty,)* $last) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = Res> + Send + 'static,
            Res: IntoResponse,
            $($ty: FromRequestParts + Send + 'static,)*
            $last: FromRequest<M> + Send + 'static,
        {
            fn call(self, request: Request) -> BoxFuture<'static, Response> {
                let scope = finishing_scope(&request);
                Box::pin(async move {
                    let response = async move {
                        let (mut parts, body) = request.into_parts();
                        $(
                            let $ty = match $ty::from_request_parts(&mut parts).await {
                                Ok(value) => value,
                                Err(err) => return err.into_response(),
                            };
                        )*
                        let request = Request::from_parts(parts, body);
                        let $last = match $last::from_request(request).await {
                            Ok(value) => value,
                            Err(err) => return err.into_response(),
                        };
                        self($($ty,)* $last).await.into_response()
                    }
                    .await;
                    finished(response, scope).await
                })
            }
        }
    };
}

impl_handler!([], T1);
impl_handler!([T1], T2);
impl_handler!([T1, T2], T3);
impl_handler!([T1, T2, T3], T4);
impl_handler!([T1, T2, T3, T4], T5);
impl_handler!([T1, T2, T3, T4, T5], T6);
impl_handler!([T1, T2, T3, T4, T5, T6], T7);
impl_handler!([T1, T2, T3, T4, T5, T6, T7], T8);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8], T9);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9], T10);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9, T10], T11);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11], T12);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12], T13);
impl_handler!(
    [T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13],
    T14
);
impl_handler!(
    [T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14],
    T15
);
impl_handler!(
    [T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15],
    T16
);

type EndpointFn = dyn Fn(Request) -> BoxFuture<'static, Response> + Send + Sync;

/// A type-erased endpoint: a handler, or any service wrapped in layers.
///
/// It is a [`tower::Service`], so tower layers wrap it, and cloning it is one
/// reference-count increment.
#[derive(Clone)]
pub struct Endpoint(Arc<EndpointFn>);

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Endpoint")
    }
}

impl Endpoint {
    /// An endpoint calling `handler`. Templates and errors the handler
    /// returns are rendered by the handler's future itself (see
    /// [`Handler::call`]), so layers around the endpoint see the final body.
    pub fn from_handler<H: Handler<T>, T: 'static>(handler: H) -> Self {
        Endpoint(Arc::new(move |request: Request| {
            handler.clone().call(request)
        }))
    }

    /// An endpoint calling `f`, for the framework's own wrappers.
    pub(crate) fn from_fn(
        f: impl Fn(Request) -> BoxFuture<'static, Response> + Send + Sync + 'static,
    ) -> Self {
        Endpoint(Arc::new(f))
    }

    /// An endpoint calling a cloneable tower service. A service error
    /// becomes a 500 response.
    pub fn from_service<S>(service: S) -> Self
    where
        S: tower_service::Service<Request> + Clone + Send + Sync + 'static,
        S::Response: IntoResponse,
        S::Error: Into<BoxError>,
        S::Future: Send + 'static,
    {
        Endpoint(Arc::new(move |request| {
            let mut service = service.clone();
            Box::pin(async move {
                if let Err(err) = std::future::poll_fn(|cx| service.poll_ready(cx)).await {
                    return Error::internal(err).into_response();
                }
                match service.call(request).await {
                    Ok(response) => response.into_response(),
                    Err(err) => Error::internal(err).into_response(),
                }
            })
        }))
    }

    /// Runs the endpoint.
    pub fn call(&self, request: Request) -> BoxFuture<'static, Response> {
        (self.0)(request)
    }
}

/// An endpoint takes a request with any body of bytes, so tower layers that
/// wrap the request body (tower-http's `RequestBodyLimitLayer`,
/// `RequestBodyTimeoutLayer`, `RequestDecompressionLayer`) can wrap it. A
/// [`crate::Body`] is passed on as it is; any other body is boxed once.
impl<B> tower_service::Service<http::Request<B>> for Endpoint
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Map<BoxFuture<'static, Response>, fn(Response) -> Result<Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        (self.0)(request.map(crate::body::Body::new))
            .map(Ok as fn(Response) -> Result<Response, Infallible>)
    }
}

/// A tower layer that can wrap Flagon endpoints: any [`tower_layer::Layer`]
/// over [`Endpoint`] whose service takes a [`Request`], answers with
/// something [`IntoResponse`], can be cloned and sent across threads.
/// tower-http's layers and [`crate::middleware::from_fn`] all qualify.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot wrap Flagon endpoints",
    note = "a layer must implement tower::Layer<Endpoint>, and its service must be Clone + Send + Sync, take a Request and answer with an IntoResponse type"
)]
pub trait EndpointLayer: Send + Sync + 'static {
    /// Wraps `endpoint` and erases the resulting service's type again.
    fn wrap(&self, endpoint: Endpoint) -> Endpoint;
}

impl<L> EndpointLayer for L
where
    L: tower_layer::Layer<Endpoint> + Send + Sync + 'static,
    L::Service: tower_service::Service<Request> + Clone + Send + Sync + 'static,
    <L::Service as tower_service::Service<Request>>::Response: IntoResponse,
    <L::Service as tower_service::Service<Request>>::Error: Into<BoxError>,
    <L::Service as tower_service::Service<Request>>::Future: Send + 'static,
{
    fn wrap(&self, endpoint: Endpoint) -> Endpoint {
        Endpoint::from_service(self.layer(endpoint))
    }
}
