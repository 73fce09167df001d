//! `State<T>`: values shared by the whole app.

use http::request::Parts;

use super::FromRequestParts;
use crate::error::Error;

/// A value registered with [`crate::App::state`], cloned for each request.
///
/// Wrap expensive values in an `Arc` (or use types that already are cheap to
/// clone, such as connection pools). Asking for a type that was never
/// registered is a 500 that names the type.
///
/// ```
/// use flagon_web::{App, State, get};
/// use std::sync::Arc;
///
/// #[derive(Clone)]
/// struct Config { greeting: Arc<str> }
///
/// async fn hello(State(config): State<Config>) -> String {
///     config.greeting.to_string()
/// }
///
/// let app = App::new()
///     .state(Config { greeting: "hi".into() })
///     .route("/", get(hello));
/// # let _ = app;
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct State<T>(pub T);

impl<T: Clone + Send + Sync + 'static> FromRequestParts for State<T> {
    async fn from_request_parts(parts: &mut Parts) -> Result<Self, Error> {
        <Option<State<T>> as FromRequestParts>::from_request_parts(parts)
            .await?
            .ok_or_else(|| {
                Error::internal(format!(
                    "no state of type `{}` was registered: add it with App::state(..)",
                    std::any::type_name::<T>()
                ))
            })
    }
}

/// `None` when no state of type `T` was registered.
impl<T: Clone + Send + Sync + 'static> crate::extract::OptionalFromRequestParts for State<T> {
    async fn from_request_parts(parts: &mut Parts) -> Result<Option<Self>, Error> {
        Ok(parts
            .extensions
            .get::<crate::app::RequestContext>()
            .and_then(|ctx| ctx.app.states.get::<T>())
            .cloned()
            .map(State))
    }
}

/// A value a middleware put in the request's extensions, Flask's `g`:
/// a `before_request` hook loads something once (the current user, a
/// tenant) and handlers take it as an argument.
///
/// A missing value is a 500 naming the type: the middleware that should
/// have added it did not run.
///
/// ```
/// use flagon_web::{App, Error, Extension, Request, get};
///
/// #[derive(Clone)]
/// struct Tenant(String);
///
/// async fn find_tenant(mut request: Request) -> Result<Request, Error> {
///     let name = request
///         .headers()
///         .get("x-tenant")
///         .and_then(|v| v.to_str().ok())
///         .ok_or_else(|| Error::bad_request("the x-tenant header is missing"))?
///         .to_owned();
///     request.extensions_mut().insert(Tenant(name));
///     Ok(request)
/// }
///
/// async fn home(Extension(tenant): Extension<Tenant>) -> String {
///     format!("welcome, {}", tenant.0)
/// }
///
/// let app = App::new().route("/", get(home)).before_request(find_tenant);
/// # let _ = app;
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Extension<T>(pub T);

impl<T: Clone + Send + Sync + 'static> FromRequestParts for Extension<T> {
    async fn from_request_parts(parts: &mut Parts) -> Result<Self, Error> {
        parts.extensions.get::<T>().cloned().map(Extension).ok_or_else(|| {
            Error::internal(format!(
                "no request extension of type `{}`: the middleware that adds it did not run for this route",
                std::any::type_name::<T>()
            ))
        })
    }
}

/// `None` when no middleware added a value of type `T`.
impl<T: Clone + Send + Sync + 'static> crate::extract::OptionalFromRequestParts for Extension<T> {
    async fn from_request_parts(parts: &mut Parts) -> Result<Option<Self>, Error> {
        Ok(parts.extensions.get::<T>().cloned().map(Extension))
    }
}
