//! `Json<T>`: JSON request bodies and responses.

use bytes::{BufMut, BytesMut};
use http::header::{self, HeaderValue};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{body_limit, media_type, FromRequest, Request};
use crate::body::Body;
use crate::error::Error;
use crate::response::{IntoResponse, Response};

/// A JSON body: as an extractor it reads and deserializes the request body;
/// as a response it serializes `T` with `Content-Type: application/json`.
///
/// Malformed JSON is a 400 saying where (line and column); JSON of the wrong
/// shape is a 422 naming the field; another content type is a 415.
///
/// ```
/// use flagon_web::Json;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Deserialize)]
/// struct NewTodo { title: String }
///
/// #[derive(Serialize)]
/// struct Todo { id: u64, title: String }
///
/// async fn create(Json(new): Json<NewTodo>) -> Json<Todo> {
///     Json(Todo { id: 1, title: new.title })
/// }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest for Json<T> {
    async fn from_request(request: Request) -> Result<Self, Error> {
        let is_json = media_type(request.headers()).is_some_and(|media| {
            media == "application/json"
                || (media.starts_with("application/") && media.ends_with("+json"))
        });
        if !is_json {
            return Err(Error::new(
                http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "expected a JSON body (Content-Type: application/json)",
            ));
        }
        let limit = body_limit(&request);
        let bytes = request.into_body().to_bytes(limit).await?;
        parse_json(&bytes).map(Json)
    }
}

/// `None` when the request has no `Content-Type` (no body was sent); a
/// body of another type is still a 415, and malformed JSON a 400.
impl<T: DeserializeOwned + Send> crate::extract::OptionalFromRequest for Json<T> {
    async fn from_request(request: Request) -> Result<Option<Self>, Error> {
        if !crate::extract::has_content_type(&request) {
            return Ok(None);
        }
        <Json<T> as FromRequest>::from_request(request)
            .await
            .map(Some)
    }
}

/// Deserializes JSON, telling syntax errors (400) from shape errors (422).
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data if path.is_empty() || path == "." => {
                Error::unprocessable(format!("invalid JSON body: {inner}"))
            }
            serde_json::error::Category::Data => {
                Error::unprocessable(format!("invalid JSON body: field `{path}`: {inner}"))
            }
            _ => Error::bad_request(format!("malformed JSON body: {inner}")),
        }
    })?;
    deserializer
        .end()
        .map_err(|err| Error::bad_request(format!("malformed JSON body: {err}")))?;
    Ok(value)
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        let mut buffer = BytesMut::with_capacity(128).writer();
        match serde_json::to_writer(&mut buffer, &self.0) {
            Ok(()) => {
                let mut response = Response::new(Body::from(buffer.into_inner().freeze()));
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    const { HeaderValue::from_static("application/json") },
                );
                response
            }
            Err(err) => Error::internal(err).into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct User {
        name: String,
        age: u8,
    }

    #[test]
    fn syntax_error_is_400_with_position() {
        let err = parse_json::<User>(b"{\"name\": ").unwrap_err();
        assert_eq!(err.status(), http::StatusCode::BAD_REQUEST);
        assert!(err.message().contains("line 1"), "{}", err.message());
    }

    #[test]
    fn wrong_shape_is_422_naming_the_field() {
        let err = parse_json::<User>(br#"{"name": "a", "age": "old"}"#).unwrap_err();
        assert_eq!(err.status(), http::StatusCode::UNPROCESSABLE_ENTITY);
        assert!(err.message().contains("`age`"), "{}", err.message());
        let err = parse_json::<User>(br#"{"name": "a"}"#).unwrap_err();
        assert!(
            err.message().contains("missing field `age`"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn trailing_garbage_is_400() {
        let err = parse_json::<User>(br#"{"name": "a", "age": 3} x"#).unwrap_err();
        assert_eq!(err.status(), http::StatusCode::BAD_REQUEST);
    }
}
