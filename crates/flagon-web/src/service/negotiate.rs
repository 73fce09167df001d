//! Content negotiation for the framework's own answers (error pages):
//! HTML or problem+json, by the request's `Accept` header (RFC 9110
//! quality values, through `headers-accept`).

use headers_accept::Accept;
use http::header;
use http::HeaderValue;
use mediatype::names::{APPLICATION, HTML, JSON, TEXT};
use mediatype::MediaType;

const TEXT_HTML: MediaType<'static> = MediaType::new(TEXT, HTML);
const APPLICATION_JSON: MediaType<'static> = MediaType::new(APPLICATION, JSON);
/// What an error page can be, HTML first: it wins a tie.
const AVAILABLE: &[MediaType<'static>] = &[TEXT_HTML, APPLICATION_JSON];

/// What negotiation needs of a request, kept until an error page is made
/// (most requests never make one, so nothing is parsed up front).
#[derive(Default)]
pub(crate) struct Preference {
    accept: Option<HeaderValue>,
    content_type: Option<HeaderValue>,
}

impl Preference {
    /// The request's `Accept` and `Content-Type` headers (clones share the
    /// header's bytes).
    pub(crate) fn of(headers: &http::HeaderMap) -> Self {
        Preference {
            accept: headers.get(header::ACCEPT).cloned(),
            content_type: headers.get(header::CONTENT_TYPE).cloned(),
        }
    }

    /// Whether the client prefers JSON to HTML. A client stating no
    /// preference (no `Accept`, or only `*/*`, as `fetch()` and curl send)
    /// gets JSON when it sent JSON; one whose `Accept` cannot be parsed
    /// gets HTML.
    pub(crate) fn wants_json(&self) -> bool {
        let accept = self
            .accept
            .as_ref()
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
            .unwrap_or_default();
        if accept.is_empty() || accept == "*/*" {
            return self.sent_json();
        }
        let Ok(accept) = accept.parse::<Accept>() else {
            return false;
        };
        let json_type = |media: &MediaType<'_>| {
            media.ty == APPLICATION && (media.subty == JSON || media.suffix == Some(JSON))
        };
        // `application/problem+json` and the like count as JSON.
        let problem_json = accept.media_types().any(|media| {
            let media = media.to_ref();
            json_type(&media) && media.subty != JSON
        });
        match accept.negotiate(AVAILABLE) {
            Some(chosen) => *chosen == APPLICATION_JSON,
            None => problem_json,
        }
    }

    fn sent_json(&self) -> bool {
        self.content_type
            .as_ref()
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .map(|media| media.trim().to_ascii_lowercase())
            .is_some_and(|media| media.ends_with("json"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wants_json(accept: Option<&str>, content_type: Option<&str>) -> bool {
        Preference {
            accept: accept.map(|v| HeaderValue::from_str(v).unwrap()),
            content_type: content_type.map(|v| HeaderValue::from_str(v).unwrap()),
        }
        .wants_json()
    }

    #[test]
    fn quality_values_decide() {
        assert!(wants_json(Some("application/json"), None));
        assert!(!wants_json(Some("text/html"), None));
        assert!(!wants_json(
            Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            None
        ));
        assert!(wants_json(Some("text/html;q=0.5, application/json"), None));
        assert!(!wants_json(Some("application/json;q=0.1, text/html"), None));
        assert!(wants_json(Some("application/problem+json"), None));
        assert!(!wants_json(Some("application/json;q=0"), None));
        assert!(
            !wants_json(Some("text/html, application/json"), None),
            "a tie is HTML"
        );
    }

    #[test]
    fn no_preference_follows_what_was_sent() {
        assert!(wants_json(None, Some("application/json; charset=utf-8")));
        assert!(wants_json(Some("*/*"), Some("application/json")));
        assert!(!wants_json(None, Some("application/x-www-form-urlencoded")));
        assert!(!wants_json(None, None));
        assert!(!wants_json(
            Some("not a media type"),
            Some("application/json")
        ));
    }
}
