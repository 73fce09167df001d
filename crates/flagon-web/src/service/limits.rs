//! Limits checked before anything runs: the request head's size and
//! field count, and a declared body larger than the app would read.

use http::header::{self, HeaderValue};
use http::StatusCode;

use crate::error::Error;
use crate::settings::Settings;

/// A request head over the `max_headers` or `max_header_size` limit: 431,
/// closing the connection as hyper does for the heads it refuses itself.
///
/// The server's protocol layer enforces these too, but hyper's HTTP/1 size
/// limit cannot go below its 8 KiB buffer minimum and HTTP/2 has no header
/// count limit; this check holds the settings for every request. The size
/// counted (request line and `name:value` lines) is never more than the
/// bytes the client sent.
pub(super) fn head_too_large(parts: &http::request::Parts, settings: &Settings) -> Option<Error> {
    let limits = &settings.limits;
    // `GET /path HTTP/1.1\r\n`, then `name:value\r\n` per field, then `\r\n`.
    let target = parts.uri.path_and_query().map_or(1, |pq| pq.as_str().len());
    let request_line = parts.method.as_str().len() + " ".len() + target + " HTTP/1.1\r\n".len();
    let size = parts
        .headers
        .iter()
        .fold(request_line + 2, |size, (name, value)| {
            size + name.as_str().len() + value.len() + 3
        });
    let message = if parts.headers.len() > limits.max_headers {
        format!(
            "The request has more than {} header fields.",
            limits.max_headers
        )
    } else if size > limits.max_header_size {
        format!(
            "The request head is larger than the limit of {} bytes.",
            limits.max_header_size
        )
    } else {
        return None;
    };
    Some(
        Error::new(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, message)
            .with_header(header::CONNECTION, HeaderValue::from_static("close")),
    )
}

/// A declared body larger than anything the app would read: 413 at once.
pub(super) fn body_too_large(headers: &http::HeaderMap, settings: &Settings) -> Option<Error> {
    let limit = settings
        .limits
        .max_body_size
        .max(settings.limits.max_upload_size);
    let length: u64 = headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (length > limit as u64).then(|| Error::payload_too_large(limit))
}
