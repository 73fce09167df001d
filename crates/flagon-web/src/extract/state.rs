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
        parts
            .extensions
            .get::<crate::app::RequestContext>()
            .and_then(|ctx| ctx.app.states.get::<T>())
            .cloned()
            .map(State)
            .ok_or_else(|| {
                Error::internal(format!(
                    "no state of type `{}` was registered: add it with App::state(..)",
                    std::any::type_name::<T>()
                ))
            })
    }
}
