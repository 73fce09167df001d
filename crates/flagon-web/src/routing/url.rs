//! Percent-decoding request paths and building URLs from patterns.

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use super::pattern::{Pattern, Segment};
use crate::error::Error;

/// Characters escaped in a path segment: everything but RFC 3986's
/// unreserved characters and the sub-delimiters that are safe in a path.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Percent-encodes one path segment.
pub(crate) fn encode_segment(segment: &str) -> String {
    utf8_percent_encode(segment, SEGMENT).to_string()
}

/// Splits a raw request path into percent-decoded segments.
///
/// Malformed escapes (`%zz`, a trailing `%4`) and escapes that decode to
/// invalid UTF-8 are a 400.
pub(crate) fn decode_path(path: &str) -> Result<Vec<std::borrow::Cow<'_, str>>, Error> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    trimmed.split('/').map(decode_segment).collect()
}

fn decode_segment(segment: &str) -> Result<std::borrow::Cow<'_, str>, Error> {
    if !segment.contains('%') {
        return Ok(std::borrow::Cow::Borrowed(segment));
    }
    let bytes = segment.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let valid = bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !valid {
                return Err(Error::bad_request(format!(
                    "malformed percent-encoding in the URL path segment `{segment}`"
                )));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .map(|decoded| std::borrow::Cow::Owned(decoded.into_owned()))
        .map_err(|_| Error::bad_request("the URL path is not valid UTF-8 once percent-decoded"))
}

/// The strict-slash redirect target: the decoded `segments` encoded again
/// with a trailing `/`, and `query` kept.
///
/// Rebuilding from the segments (instead of echoing the raw path) escapes
/// `\`, and a leading `//` is written `/%2F`, so the target can never be
/// read as another host (`//evil.com/`, `/\evil.com/`).
pub(crate) fn with_trailing_slash(segments: &[&str], query: Option<&str>) -> String {
    let mut location = String::from("/");
    for segment in segments {
        location.push_str(&encode_segment(segment));
        location.push('/');
    }
    if let Some(rest) = location.strip_prefix("//") {
        location = format!("/%2F{rest}");
    }
    if let Some(query) = query {
        location.push('?');
        location.push_str(query);
    }
    location
}

/// `url_for` parameters as owned `(name, value)` strings.
pub(crate) fn owned_params<K: Into<String>, V: ToString>(
    params: impl IntoIterator<Item = (K, V)>,
) -> Vec<(String, String)> {
    params
        .into_iter()
        .map(|(key, value)| (key.into(), value.to_string()))
        .collect()
}

/// Whether `params` ask for an absolute URL (`_external` set to a true value).
pub(crate) fn wants_external(params: &[(String, String)]) -> bool {
    params
        .iter()
        .any(|(key, value)| key == "_external" && matches!(value.as_str(), "true" | "True" | "1"))
}

/// Builds a URL from `pattern`, taking parameters from `params`; those the
/// pattern does not use become the query string, `_anchor` the fragment, and
/// `_external` is left to the caller, who knows the request's host.
///
/// Values are percent-encoded per segment; a `path` value keeps its
/// slashes except a leading one, written `%2F` so that no value can make
/// the URL start with `//` (a link to another host).
pub(crate) fn build(pattern: &Pattern, params: &[(String, String)]) -> Result<String, String> {
    let mut url = String::with_capacity(pattern.source.len() + 16);
    let mut used = Vec::new();
    for segment in &pattern.segments {
        url.push('/');
        match segment {
            Segment::Static(text) => url.push_str(&encode_segment(text)),
            Segment::Param {
                name,
                converter_name,
                converter,
            } => {
                let value = params
                    .iter()
                    .find(|(key, _)| key == &**name)
                    .map(|(_, value)| value)
                    .ok_or_else(|| {
                        format!("missing parameter `{name}` for route `{}`", pattern.source)
                    })?;
                if !converter.matches(value) {
                    return Err(format!(
                        "the value {value:?} for parameter `{name}` does not match the `{converter_name}` converter of route `{}`",
                        pattern.source
                    ));
                }
                let dot_segment = |part: &str| part == "." || part == "..";
                let has_dots = if converter.spans_segments() {
                    value.split('/').any(dot_segment)
                } else {
                    dot_segment(value)
                };
                if has_dots {
                    return Err(format!(
                        "the value {value:?} for parameter `{name}` has a `.` or `..` segment, which clients remove from URLs"
                    ));
                }
                if converter.spans_segments() {
                    // A leading `/` is written `%2F`: as a bare `/` it would
                    // make an empty segment, and under `/<path:p>` the URL
                    // `//evil.com/x`, which browsers read as another host.
                    // Encoded, the URL still routes back to the same value
                    // (Werkzeug strips such slashes instead, losing it).
                    let rest = match value.strip_prefix('/') {
                        Some(rest) => {
                            url.push_str("%2F");
                            rest
                        }
                        None => value,
                    };
                    let encoded: Vec<String> = rest.split('/').map(encode_segment).collect();
                    url.push_str(&encoded.join("/"));
                } else {
                    url.push_str(&encode_segment(value));
                }
                used.push(&**name);
            }
        }
    }
    let mut anchor = None;
    let mut query = form_urlencoded::Serializer::new(String::new());
    let mut has_query = false;
    for (key, value) in params {
        if key == "_anchor" {
            anchor = Some(value);
        } else if key == "_external" {
            continue;
        } else if !used.contains(&key.as_str()) {
            query.append_pair(key, value);
            has_query = true;
        }
    }
    if has_query {
        url.push('?');
        url.push_str(&query.finish());
    }
    if let Some(anchor) = anchor {
        url.push('#');
        url.push_str(&utf8_percent_encode(anchor, SEGMENT).to_string());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::super::converters::ConverterRegistry;
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn decodes_segments_and_rejects_bad_escapes() {
        let segments = decode_path("/hello%20world/caf%C3%A9").unwrap();
        assert_eq!(segments, ["hello world", "café"]);
        assert_eq!(
            decode_path("/a%zz").unwrap_err().status(),
            http::StatusCode::BAD_REQUEST
        );
        assert_eq!(
            decode_path("/a%4").unwrap_err().status(),
            http::StatusCode::BAD_REQUEST
        );
        assert_eq!(
            decode_path("/%FF%FE").unwrap_err().status(),
            http::StatusCode::BAD_REQUEST
        );
        assert_eq!(decode_path("/").unwrap(), [""]);
    }

    #[test]
    fn builds_urls_encoding_values_and_extra_query() {
        let converters = ConverterRegistry::default();
        let pattern = Pattern::parse("/user/<name>/<int:id>", &converters).unwrap();
        let url = build(
            &pattern,
            &pairs(&[("name", "a b/c"), ("id", "7"), ("page", "2 & 3")]),
        )
        .unwrap();
        assert_eq!(url, "/user/a%20b%2Fc/7?page=2+%26+3");
        let err = build(&pattern, &pairs(&[("name", "x")])).unwrap_err();
        assert!(err.contains("missing parameter `id`"), "{err}");
        let err = build(&pattern, &pairs(&[("name", "x"), ("id", "seven")])).unwrap_err();
        assert!(err.contains("does not match the `int` converter"), "{err}");
    }

    #[test]
    fn trailing_slash_targets_stay_on_this_site() {
        assert_eq!(with_trailing_slash(&["about"], Some("a=1")), "/about/?a=1");
        assert_eq!(with_trailing_slash(&["\\evil.com"], None), "/%5Cevil.com/");
        assert_eq!(
            with_trailing_slash(&["", "evil.com"], None),
            "/%2Fevil.com/"
        );
        assert_eq!(with_trailing_slash(&["a b", "c/d"], None), "/a%20b/c%2Fd/");
    }

    #[test]
    fn dot_segments_are_refused() {
        let converters = ConverterRegistry::default();
        let pattern = Pattern::parse("/u/<name>", &converters).unwrap();
        assert!(build(&pattern, &pairs(&[("name", "..")])).is_err());
        assert!(build(&pattern, &pairs(&[("name", "...")])).is_ok());
        let files = Pattern::parse("/f/<path:p>", &converters).unwrap();
        assert!(build(&files, &pairs(&[("p", "a/../b")])).is_err());
    }

    #[test]
    fn path_parameters_keep_their_slashes() {
        let converters = ConverterRegistry::default();
        let pattern = Pattern::parse("/static/<path:filename>", &converters).unwrap();
        let url = build(
            &pattern,
            &pairs(&[("filename", "css/site main.css"), ("_anchor", "top")]),
        )
        .unwrap();
        assert_eq!(url, "/static/css/site%20main.css#top");
    }

    #[test]
    fn a_leading_slash_in_a_path_value_cannot_make_a_protocol_relative_url() {
        let converters = ConverterRegistry::default();
        let root = Pattern::parse("/<path:p>", &converters).unwrap();
        let build_root = |value: &str| build(&root, &pairs(&[("p", value)])).unwrap();
        assert_eq!(build_root("/evil.com/x"), "/%2Fevil.com/x");
        assert_eq!(build_root("//evil.com"), "/%2F/evil.com");
        assert_eq!(build_root("evil.com/x"), "/evil.com/x");
        let files = Pattern::parse("/files/<path:p>", &converters).unwrap();
        assert_eq!(
            build(&files, &pairs(&[("p", "/etc/x")])).unwrap(),
            "/files/%2Fetc/x"
        );
        for value in ["/evil.com/x", "//evil.com", "///a", "/\\evil.com"] {
            let url = build_root(value);
            assert!(!url.starts_with("//"), "{value:?} built {url:?}");
            assert!(!url.starts_with("/\\"), "{value:?} built {url:?}");
            // The URL routes back to the same value.
            let segments = decode_path(&url).unwrap();
            assert_eq!(segments.join("/"), value, "{url}");
        }
    }
}
