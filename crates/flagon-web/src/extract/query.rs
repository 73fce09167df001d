//! `Query<T>`: the URL's query string.

use http::request::Parts;
use serde::de::DeserializeOwned;

use super::FromRequestParts;
use crate::error::Error;

/// The query string deserialized into `T` (a struct, a map or a list of
/// pairs). A missing or malformed field is a 400 naming it.
///
/// ```
/// use flagon_web::Query;
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Search {
///     q: String,
///     page: Option<u32>,
/// }
///
/// async fn search(Query(search): Query<Search>) -> String {
///     format!("{} (page {})", search.q, search.page.unwrap_or(1))
/// }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts for Query<T> {
    async fn from_request_parts(parts: &mut Parts) -> Result<Self, Error> {
        let query = parts.uri.query().unwrap_or_default();
        parse_urlencoded(query.as_bytes(), "query string").map(Query)
    }
}

/// `None` when the URL has no query string (no `?`).
impl<T: DeserializeOwned + Send> crate::extract::OptionalFromRequestParts for Query<T> {
    async fn from_request_parts(parts: &mut Parts) -> Result<Option<Self>, Error> {
        match parts.uri.query() {
            Some(query) => {
                parse_urlencoded(query.as_bytes(), "query string").map(|q| Some(Query(q)))
            }
            None => Ok(None),
        }
    }
}

/// Deserializes url-encoded `input` (repeated keys fill a `Vec`), naming
/// the failing field in the error.
pub(crate) fn parse_urlencoded<T: DeserializeOwned>(input: &[u8], what: &str) -> Result<T, Error> {
    let deserializer = serde_html_form::Deserializer::new(form_urlencoded::parse(input));
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if path.is_empty() || path == "." {
            Error::bad_request(format!("invalid {what}: {inner}"))
        } else {
            Error::bad_request(format!("invalid {what}: field `{path}`: {inner}"))
        }
    })
}
