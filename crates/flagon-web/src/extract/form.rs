//! `Form<T>`: an url-encoded form body.

use serde::de::DeserializeOwned;

use super::query::parse_urlencoded;
use super::{body_limit, media_type, FromRequest, Request};
use crate::error::Error;

/// An `application/x-www-form-urlencoded` body deserialized into `T`.
///
/// For `GET` and `HEAD` requests the query string is read instead, as HTML
/// forms with `method="get"` send it. A missing or malformed field is a 400
/// naming it; a body of another content type is a 415.
///
/// ```
/// use flagon_web::Form;
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Login {
///     username: String,
///     password: String,
/// }
///
/// async fn login(Form(form): Form<Login>) -> String {
///     format!("hello {}", form.username)
/// }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Form<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest for Form<T> {
    async fn from_request(request: Request) -> Result<Self, Error> {
        if request.method() == http::Method::GET || request.method() == http::Method::HEAD {
            let query = request.uri().query().unwrap_or_default();
            return parse_urlencoded(query.as_bytes(), "form data").map(Form);
        }
        match media_type(request.headers()).as_deref() {
            Some("application/x-www-form-urlencoded") => {}
            other => {
                return Err(Error::new(
                    http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    format!(
                        "expected a form body (Content-Type: application/x-www-form-urlencoded), got {}",
                        other.unwrap_or("no Content-Type")
                    ),
                ))
            }
        }
        let limit = body_limit(&request);
        let bytes = request.into_body().to_bytes(limit).await?;
        parse_urlencoded(&bytes, "form data").map(Form)
    }
}

/// `None` when no form was sent: no query string on `GET`/`HEAD`, no
/// `Content-Type` otherwise.
impl<T: DeserializeOwned + Send> crate::extract::OptionalFromRequest for Form<T> {
    async fn from_request(request: Request) -> Result<Option<Self>, Error> {
        let absent =
            if request.method() == http::Method::GET || request.method() == http::Method::HEAD {
                request.uri().query().is_none()
            } else {
                !crate::extract::has_content_type(&request)
            };
        if absent {
            return Ok(None);
        }
        <Form<T> as FromRequest>::from_request(request)
            .await
            .map(Some)
    }
}
