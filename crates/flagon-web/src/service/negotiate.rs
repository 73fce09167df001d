//! Content negotiation for the framework's own answers (error pages).

use http::header;

/// Whether the client prefers JSON to HTML.
pub(super) fn wants_json(headers: &http::HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if accept.contains("json") {
        return !accept.contains("text/html");
    }
    // No preference (none, or `*/*` as fetch() and curl send): answer a
    // JSON request in JSON. Browsers always name text/html.
    let no_preference = accept.trim().is_empty() || accept.trim() == "*/*";
    no_preference
        && crate::extract::media_type(headers).is_some_and(|media| media.ends_with("json"))
}
