//! One path for everyone: the request path is normalised once, before any
//! layer, hook or the router sees it.
//!
//! Without this, the router (which matches percent-decoded segments) and a
//! hook checking `request.uri().path()` could disagree: `GET /%61dmin/users`
//! would route to `/admin/users` while passing a hook that guards paths
//! starting with `/admin`. So the pipeline rewrites the request's URI into
//! the form RFC 3986 (section 6.2.2) calls equivalent:
//!
//! - percent-encoded *unreserved* characters (`A-Z a-z 0-9 - . _ ~`) are
//!   decoded (`/%61dmin` is `/admin`), and the hex digits of the escapes
//!   that remain are upper-cased (`%2f` is `%2F`);
//! - dot segments are removed (`/a/./b` is `/a/b`, `/a/b/../c` is `/a/c`,
//!   and nothing climbs above the root);
//! - a malformed escape (`%zz`) or a path that is not UTF-8 once decoded is
//!   a 400 before anything runs.
//!
//! What stays encoded is what would change the path's meaning if decoded:
//! `%2F` inside a segment stays part of that segment (a route parameter can
//! hold a `/`; it never splits a segment), as do `%25`, `%3F` and the
//! non-ASCII escapes. The router matches the percent-decoded segments of
//! this normalised path, and [`crate::RequestContext::path`] gives hooks the
//! same path decoded (Flask's `request.path`, except that `%2F` and `%25`
//! stay encoded so that its segments are the router's): a guard on a
//! prefix of it covers every route below that prefix, and nothing else.

use std::borrow::Cow;

use crate::error::Error;

/// The normal form of `path`, or `None` when it is already normal (the
/// common case, which allocates nothing).
pub(crate) fn normalize_path(path: &str) -> Result<Option<String>, Error> {
    // Two memchr scans settle the common case: nothing to decode, no dots.
    if !path.contains('%') && (!path.contains('.') || !has_dot_segment(path)) {
        return Ok(None);
    }
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let mut segments: Vec<Cow<'_, str>> = Vec::new();
    let mut pieces = trimmed.split('/').peekable();
    while let Some(raw) = pieces.next() {
        let is_last = pieces.peek().is_none();
        let segment = normalize_escapes(raw)?;
        match segment.as_ref() {
            "." => {}
            ".." => {
                segments.pop();
            }
            _ => {
                segments.push(segment);
                continue;
            }
        }
        // `/a/.` and `/a/b/..` name a folder: keep the trailing slash.
        if is_last {
            segments.push(Cow::Borrowed(""));
        }
    }
    let mut normal = String::with_capacity(path.len());
    for segment in &segments {
        normal.push('/');
        normal.push_str(segment);
    }
    if normal.is_empty() {
        normal.push('/');
    }
    Ok((normal != path).then_some(normal))
}

/// The path percent-decoded as routing sees it: every escape decoded
/// except an encoded slash (`%2F`) and percent sign (`%25`), which stay
/// as they are so that the path's segments are the router's (`/a%2Fb` is
/// one segment, `a/b`, and a guard on the prefix `/a/` must not match it).
/// `path` must be normalised (its escapes valid, decoding to UTF-8).
pub(crate) fn decoded_path(path: &str) -> Cow<'_, str> {
    if !path.contains('%') {
        return Cow::Borrowed(path);
    }
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = (bytes[i] == b'%')
            .then(|| {
                let high = hex_value(*bytes.get(i + 1)?)?;
                let low = hex_value(*bytes.get(i + 2)?)?;
                Some(high * 16 + low)
            })
            .flatten();
        match escape {
            Some(byte) if byte != b'/' && byte != b'%' => {
                out.push(byte);
                i += 3;
            }
            Some(_) => {
                out.extend_from_slice(b"%");
                out.push(bytes[i + 1].to_ascii_uppercase());
                out.push(bytes[i + 2].to_ascii_uppercase());
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    match String::from_utf8(out) {
        Ok(decoded) => Cow::Owned(decoded),
        Err(err) => Cow::Owned(String::from_utf8_lossy(err.as_bytes()).into_owned()),
    }
}

/// Whether some segment of `path` is `.` or `..` (a byte scan: it runs on
/// every request).
fn has_dot_segment(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.iter().enumerate().any(|(i, &byte)| {
        byte == b'.'
            && (i == 0 || bytes[i - 1] == b'/')
            && match bytes.get(i + 1) {
                None | Some(b'/') => true,
                Some(b'.') => matches!(bytes.get(i + 2), None | Some(b'/')),
                Some(_) => false,
            }
    })
}

/// Decodes the unreserved characters of one segment and upper-cases the
/// hex digits of the other escapes; checks that the whole decodes to UTF-8.
fn normalize_escapes(segment: &str) -> Result<Cow<'_, str>, Error> {
    if !segment.contains('%') {
        return Ok(Cow::Borrowed(segment));
    }
    let bytes = segment.as_bytes();
    let mut out = String::with_capacity(segment.len());
    let mut decoded = Vec::with_capacity(segment.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            out.push(char::from(bytes[i]));
            decoded.push(bytes[i]);
            i += 1;
            continue;
        }
        let (Some(high), Some(low)) = (
            bytes.get(i + 1).and_then(|b| hex_value(*b)),
            bytes.get(i + 2).and_then(|b| hex_value(*b)),
        ) else {
            return Err(Error::bad_request(format!(
                "malformed percent-encoding in the URL path segment `{segment}`: `%` must be followed by two hex digits"
            )));
        };
        let byte = high * 16 + low;
        decoded.push(byte);
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX_UPPER[usize::from(high)]));
            out.push(char::from(HEX_UPPER[usize::from(low)]));
        }
        i += 3;
    }
    if std::str::from_utf8(&decoded).is_err() {
        return Err(Error::bad_request(
            "the URL path is not valid UTF-8 once percent-decoded",
        ));
    }
    Ok(Cow::Owned(out))
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

fn hex_value(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normal(path: &str) -> String {
        normalize_path(path)
            .unwrap()
            .unwrap_or_else(|| path.to_owned())
    }

    #[test]
    fn dot_segments_are_found_by_the_byte_scan() {
        for path in ["/.", "/..", "/./a", "/a/../b", "/a/.", "/a/..", ".", ".."] {
            assert!(has_dot_segment(path), "{path}");
        }
        for path in [
            "/",
            "/a",
            "/.a",
            "/a.",
            "/..a",
            "/a../b",
            "/.well-known",
            "/...",
            "/a/...",
        ] {
            assert!(!has_dot_segment(path), "{path}");
        }
    }

    #[test]
    fn normal_paths_are_left_alone_without_allocating() {
        for path in ["/", "/admin/users", "/.well-known/x", "/a..b/c.", "//a"] {
            assert_eq!(normalize_path(path).unwrap(), None, "{path}");
        }
    }

    #[test]
    fn unreserved_escapes_are_decoded_and_others_upper_cased() {
        assert_eq!(normal("/%61dmin/users"), "/admin/users");
        assert_eq!(normal("/%41%7a%30-%2d%5F%7E"), "/Az0--_~");
        assert_eq!(normal("/a%2fb"), "/a%2Fb");
        assert_eq!(normal("/caf%c3%a9"), "/caf%C3%A9");
        assert_eq!(normal("/100%25"), "/100%25");
        assert_eq!(normal("/a%20b"), "/a%20b");
    }

    #[test]
    fn dot_segments_are_removed_without_climbing_above_the_root() {
        assert_eq!(normal("/./admin"), "/admin");
        assert_eq!(normal("/a/./b"), "/a/b");
        assert_eq!(normal("/a/b/../c"), "/a/c");
        assert_eq!(normal("/a/b/.."), "/a/");
        assert_eq!(normal("/a/."), "/a/");
        assert_eq!(normal("/../../admin"), "/admin");
        assert_eq!(normal("/.."), "/");
        assert_eq!(normal("/%2e%2E/admin"), "/admin");
        assert_eq!(normal("/public/%2e%2e/admin"), "/admin");
    }

    #[test]
    fn malformed_escapes_and_bad_utf8_are_400() {
        for path in ["/a%zz", "/a%4", "/%", "/%FF%FE"] {
            let err = normalize_path(path).unwrap_err();
            assert_eq!(err.status(), http::StatusCode::BAD_REQUEST, "{path}");
        }
    }

    #[test]
    fn the_decoded_path_keeps_encoded_slashes_and_percents() {
        assert_eq!(decoded_path("/admin/users"), "/admin/users");
        assert_eq!(decoded_path("/a%2Fb/caf%C3%A9"), "/a%2Fb/café");
        assert_eq!(decoded_path("/100%25/%2f"), "/100%25/%2F");
        assert_eq!(decoded_path("/a%20b"), "/a b");
    }
}
