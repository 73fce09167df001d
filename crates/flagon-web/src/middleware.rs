//! Middleware is tower: [`from_fn`] turns an async function into a layer,
//! and Flask's `before_request`, `after_request` and `teardown_request`
//! are thin helpers over it.

use std::convert::Infallible;
use std::future::Future;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;

use crate::extract::Request;
use crate::handler::Endpoint;
use crate::response::{IntoResponse, Response};

/// The rest of the stack, handed to a [`from_fn`] middleware.
#[derive(Clone, Debug)]
pub struct Next {
    inner: Endpoint,
}

impl Next {
    /// Runs the rest of the stack (other middleware, then the handler).
    pub async fn run(self, request: Request) -> Response {
        self.inner.call(request).await
    }
}

/// A layer running an async function around the request: it receives the
/// request and [`Next`], and returns the response.
///
/// ```
/// use flagon_web::middleware::{from_fn, Next};
/// use flagon_web::{App, Request, Response, get};
///
/// async fn timing(request: Request, next: Next) -> Response {
///     let started = std::time::Instant::now();
///     let mut response = next.run(request).await;
///     let took = format!("{}us", started.elapsed().as_micros());
///     if let Ok(value) = took.parse() {
///         response.headers_mut().insert("x-took", value);
///     }
///     response
/// }
///
/// let app = App::new().route("/", get(|| async { "hi" })).layer(from_fn(timing));
/// # let _ = app;
/// ```
pub fn from_fn<F, Fut, Out>(f: F) -> FromFnLayer<F>
where
    F: Fn(Request, Next) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Out> + Send + 'static,
    Out: IntoResponse,
{
    FromFnLayer { f }
}

/// The layer made by [`from_fn`].
#[derive(Clone, Debug)]
pub struct FromFnLayer<F> {
    f: F,
}

impl<F: Clone> tower_layer::Layer<Endpoint> for FromFnLayer<F> {
    type Service = FromFn<F>;

    fn layer(&self, inner: Endpoint) -> FromFn<F> {
        FromFn {
            f: self.f.clone(),
            inner,
        }
    }
}

/// The service made by [`FromFnLayer`].
#[derive(Clone, Debug)]
pub struct FromFn<F> {
    f: F,
    inner: Endpoint,
}

impl<F, Fut, Out> tower_service::Service<Request> for FromFn<F>
where
    F: Fn(Request, Next) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Out> + Send + 'static,
    Out: IntoResponse,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let future = (self.f)(
            request,
            Next {
                inner: self.inner.clone(),
            },
        );
        Box::pin(async move { Ok(future.await.into_response()) })
    }
}

/// Flask's `before_request`: `f` runs before the handler and either passes
/// the request on (`Ok`) or answers in its place (`Err`).
///
/// ```
/// use flagon_web::middleware::before_request;
/// use flagon_web::{App, Error, Request, get};
///
/// async fn require_key(request: Request) -> Result<Request, Error> {
///     if request.headers().contains_key("x-api-key") {
///         Ok(request)
///     } else {
///         Err(Error::forbidden("send an x-api-key header"))
///     }
/// }
///
/// let app = App::new().route("/", get(|| async { "secret" })).layer(before_request(require_key));
/// # let _ = app;
/// ```
pub fn before_request<F, Fut, E>(
    f: F,
) -> FromFnLayer<
    impl Fn(Request, Next) -> BoxFuture<'static, Response> + Clone + Send + Sync + 'static,
>
where
    F: Fn(Request) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Request, E>> + Send + 'static,
    E: IntoResponse + Send + 'static,
{
    hook_layer(f, run_before)
}

async fn run_before<F, Fut, E>(f: F, request: Request, next: Endpoint) -> Response
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = Result<Request, E>>,
    E: IntoResponse,
{
    match f(request).await {
        Ok(request) => next.call(request).await,
        Err(response) => response.into_response(),
    }
}

/// Flask's `after_request`: `f` receives every response (errors included)
/// and returns the one to send.
///
/// ```
/// use flagon_web::middleware::after_request;
/// use flagon_web::{App, Response, get};
///
/// async fn no_cache(mut response: Response) -> Response {
///     response.headers_mut().insert("cache-control", "no-store".parse().unwrap());
///     response
/// }
///
/// let app = App::new().route("/", get(|| async { "fresh" })).layer(after_request(no_cache));
/// # let _ = app;
/// ```
pub fn after_request<F, Fut>(
    f: F,
) -> FromFnLayer<
    impl Fn(Request, Next) -> BoxFuture<'static, Response> + Clone + Send + Sync + 'static,
>
where
    F: Fn(Response) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    hook_layer(f, run_after)
}

async fn run_after<F, Fut>(f: F, request: Request, next: Endpoint) -> Response
where
    F: Fn(Response) -> Fut,
    Fut: Future<Output = Response>,
{
    f(next.call(request).await).await
}

/// Flask's `teardown_request`: `f` is called after every request, even one
/// whose handler panicked (it then sees the 500), to release resources or
/// record metrics. It cannot change the response.
///
/// ```
/// use flagon_web::middleware::teardown_request;
/// use flagon_web::{App, get};
///
/// let app = App::new()
///     .route("/", get(|| async { "hi" }))
///     .layer(teardown_request(|response| {
///         eprintln!("finished with {}", response.status());
///     }));
/// # let _ = app;
/// ```
pub fn teardown_request<F>(
    f: F,
) -> FromFnLayer<
    impl Fn(Request, Next) -> BoxFuture<'static, Response> + Clone + Send + Sync + 'static,
>
where
    F: Fn(&Response) + Clone + Send + Sync + 'static,
{
    hook_layer(f, run_teardown)
}

async fn run_teardown<F: Fn(&Response)>(f: F, request: Request, next: Endpoint) -> Response {
    use futures_util::FutureExt;
    let response = match std::panic::AssertUnwindSafe(next.call(request))
        .catch_unwind()
        .await
    {
        Ok(response) => response,
        Err(_) => crate::error::Error::internal("the handler panicked").into_response(),
    };
    f(&response);
    response
}

/// A hook as a `from_fn` layer: `run` runs the hook `f` around the rest
/// of the stack.
fn hook_layer<F, R, Fut>(
    f: F,
    run: R,
) -> FromFnLayer<
    impl Fn(Request, Next) -> BoxFuture<'static, Response> + Clone + Send + Sync + 'static,
>
where
    F: Clone + Send + Sync + 'static,
    R: Fn(F, Request, Endpoint) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    from_fn(
        move |request: Request, next: Next| -> BoxFuture<'static, Response> {
            Box::pin(run(f.clone(), request, next.inner))
        },
    )
}

/// The app's and blueprints' own `before_request`, `after_request` and
/// `teardown_request`: the same as the layers above, wrapping the endpoint
/// directly. A request then makes one boxed future per hook instead of
/// three (tower's service, `from_fn`'s future and the hook's).
pub(crate) mod hooks {
    use super::*;

    /// Wraps endpoints so that `run` runs the hook `f` around them.
    fn wrapper<F, R, Fut>(f: F, run: R) -> impl Fn(Endpoint) -> Endpoint + Send + Sync + 'static
    where
        F: Clone + Send + Sync + 'static,
        R: Fn(F, Request, Endpoint) -> Fut + Copy + Send + Sync + 'static,
        Fut: Future<Output = Response> + Send + 'static,
    {
        move |next: Endpoint| {
            let f = f.clone();
            Endpoint::from_fn(move |request| Box::pin(run(f.clone(), request, next.clone())))
        }
    }

    /// [`super::before_request`] as an endpoint wrapper.
    pub(crate) fn before<F, Fut, E>(f: F) -> impl Fn(Endpoint) -> Endpoint + Send + Sync + 'static
    where
        F: Fn(Request) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<Request, E>> + Send + 'static,
        E: IntoResponse + Send + 'static,
    {
        wrapper(f, run_before)
    }

    /// [`super::after_request`] as an endpoint wrapper.
    pub(crate) fn after<F, Fut>(f: F) -> impl Fn(Endpoint) -> Endpoint + Send + Sync + 'static
    where
        F: Fn(Response) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Response> + Send + 'static,
    {
        wrapper(f, run_after)
    }

    /// [`super::teardown_request`] as an endpoint wrapper.
    pub(crate) fn teardown<F>(f: F) -> impl Fn(Endpoint) -> Endpoint + Send + Sync + 'static
    where
        F: Fn(&Response) + Clone + Send + Sync + 'static,
    {
        wrapper(f, run_teardown)
    }
}
