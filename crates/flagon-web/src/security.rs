//! Host validation, HTTPS detection and the security headers.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::request::Parts;

use crate::error::Error;
use crate::settings::{SecuritySettings, Settings};

/// The request's host, as `(authority, host without port)`, lower-cased.
///
/// The `Host` header is used, or for HTTP/2 the `:authority`; a missing,
/// repeated or malformed host, or one not in `allowed_hosts`, is a 400
/// naming it.
pub(crate) fn validate_host(parts: &Parts, settings: &Settings) -> Result<RequestHost, Error> {
    let host = request_host(parts)?;
    if !host_allowed(host.host(), &settings.allowed_hosts) {
        // The hint names the configuration: shown in debug mode only.
        return Err(
            Error::bad_request(format!("invalid Host header {:?}", host.authority())).with_source(
                format!(
                    "add {:?} to allowed_hosts (FLAGON_ALLOWED_HOSTS) if this app should answer it",
                    host.host()
                ),
            ),
        );
    }
    Ok(host)
}

/// A request's validated host: `host[:port]` lower-cased. It shares the
/// bytes of the `Host` header (no copy) unless that needed lower-casing.
#[derive(Clone, Debug)]
pub(crate) struct RequestHost {
    authority: HeaderValue,
    /// The length of the host part (without `:port`).
    host_len: usize,
}

impl RequestHost {
    /// No host (a request refused before its host was read).
    pub(crate) fn empty() -> Self {
        RequestHost {
            authority: HeaderValue::from_static(""),
            host_len: 0,
        }
    }

    /// The host and port as the client sent them, lower-cased.
    pub(crate) fn authority(&self) -> &str {
        // Checked to be visible ASCII when it was made.
        self.authority.to_str().unwrap_or_default()
    }

    /// The host without its port, lower-cased.
    pub(crate) fn host(&self) -> &str {
        self.authority().get(..self.host_len).unwrap_or_default()
    }
}

/// The request's host from `Host` (or the HTTP/2 `:authority`),
/// lower-cased; a missing or malformed host is a 400.
fn request_host(parts: &Parts) -> Result<RequestHost, Error> {
    // RFC 9110 7.2: a request with several Host fields is a 400; which one
    // counts is ambiguous (a proxy may have read the other).
    // One lookup of the header for both questions.
    let mut hosts = parts.headers.get_all(header::HOST).iter();
    let first = hosts.next();
    if hosts.next().is_some() {
        return Err(Error::bad_request(
            "the request has more than one Host header",
        ));
    }
    let value = first
        .filter(|value| value.to_str().is_ok())
        .cloned()
        .or_else(|| {
            parts
                .uri
                .authority()
                .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
        })
        .ok_or_else(|| Error::bad_request("the request has no Host header"))?;
    // Visible ASCII (checked above) stays so when lower-cased.
    let authority = if value.as_bytes().iter().any(u8::is_ascii_uppercase) {
        HeaderValue::from_bytes(&value.as_bytes().to_ascii_lowercase()).unwrap_or(value)
    } else {
        value
    };
    let text = authority.to_str().unwrap_or_default();
    let host_len = split_host(text)
        .ok_or_else(|| Error::bad_request(format!("invalid Host header {text:?}")))?
        .len();
    Ok(RequestHost {
        authority,
        host_len,
    })
}

/// The host part of `host[:port]` or `[v6]:port`, if well formed.
fn split_host(authority: &str) -> Option<&str> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')?;
        (&authority[..=end], &authority[end + 1..])
    } else {
        match authority.rsplit_once(':') {
            Some((host, _)) => (host, &authority[host.len()..]),
            None => (authority, ""),
        }
    };
    let port_ok = port.is_empty()
        || (port.len() > 1
            && port.starts_with(':')
            && port[1..].bytes().all(|b| b.is_ascii_digit()));
    let host_ok = !host.is_empty()
        && host.bytes().all(|b| {
            matches!(b, b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'[' | b']' | b':')
        });
    (port_ok && host_ok).then_some(host)
}

/// Django's matching: exact names, `.example.com` for the domain and its
/// subdomains, `*` for any host.
fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let host = host.trim_end_matches('.');
    // Compared ignoring ASCII case, without lower-casing copies per request.
    let ends_with = |suffix: &str| {
        host.len() >= suffix.len()
            && host
                .as_bytes()
                .get(host.len() - suffix.len()..)
                .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix.as_bytes()))
    };
    allowed.iter().any(|pattern| {
        if pattern == "*" {
            return true;
        }
        match pattern.strip_prefix('.') {
            Some(domain) => host.eq_ignore_ascii_case(domain) || ends_with(pattern),
            None => host.eq_ignore_ascii_case(pattern),
        }
    })
}

/// Whether the request came over HTTPS, as the configured proxy header says
/// (`X-Forwarded-Proto: https`); Flagon's server itself speaks plain HTTP.
pub(crate) fn is_secure(parts: &Parts, settings: &SecuritySettings) -> bool {
    // The scheme in the request target is the client's word (the server
    // speaks plain HTTP), so only a trusted proxy header counts.
    let Some((name, value)) = settings.secure_proxy_ssl_header.split_once(':') else {
        return false;
    };
    parts
        .headers
        .get(name.trim())
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(value.trim()))
}

/// The client's address: from the trusted proxy header when one is
/// configured (`security.client_ip_header`, the entry
/// `security.trusted_proxies` from the right), else the peer's address.
/// A configured header that is missing or malformed falls back to the
/// peer (the proxy itself, when it did not add one).
pub(crate) fn client_ip(
    headers: &http::HeaderMap,
    peer: Option<std::net::IpAddr>,
    settings: &SecuritySettings,
) -> Option<std::net::IpAddr> {
    if settings.client_ip_header.is_empty() {
        return peer;
    }
    let hops = settings.trusted_proxies.max(1);
    let mut entries: Vec<&str> = Vec::new();
    for value in headers.get_all(settings.client_ip_header.as_str()) {
        let Ok(value) = value.to_str() else {
            return peer;
        };
        entries.extend(value.split(',').map(str::trim));
    }
    let Some(index) = entries.len().checked_sub(hops) else {
        return peer;
    };
    entries
        .get(index)
        .and_then(|entry| parse_ip(entry))
        .or(peer)
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `::1`,
/// `[::1]:5678`.
fn parse_ip(entry: &str) -> Option<std::net::IpAddr> {
    if let Ok(ip) = entry.parse() {
        return Some(ip);
    }
    entry
        .parse::<std::net::SocketAddr>()
        .ok()
        .map(|addr| addr.ip())
}

/// Adds the configured security headers the response does not set itself.
#[cfg(test)]
pub(crate) fn add_headers(
    headers: &mut HeaderMap,
    settings: &SecuritySettings,
    is_secure: bool,
    nonce: Option<&str>,
) {
    add_fixed_headers(headers, &fixed_headers(settings));
    add_dynamic_headers(headers, settings, is_secure, nonce);
}

/// The headers that are the same on every response (nosniff, frame
/// options, referrer and opener policies), parsed once when the app is
/// built; a value that is not a valid header value is left out.
pub(crate) fn fixed_headers(settings: &SecuritySettings) -> Vec<(HeaderName, HeaderValue)> {
    let mut out = Vec::new();
    let mut push = |name: HeaderName, value: &str| {
        if value.is_empty() {
            return;
        }
        if let Ok(value) = HeaderValue::from_str(value) {
            out.push((name, value));
        }
    };
    if settings.content_type_nosniff {
        push(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    }
    push(header::X_FRAME_OPTIONS, &settings.frame_options);
    push(header::REFERRER_POLICY, &settings.referrer_policy);
    push(
        HeaderName::from_static("cross-origin-opener-policy"),
        &settings.cross_origin_opener_policy,
    );
    out
}

/// Adds `fixed` where the response did not set the header itself.
pub(crate) fn add_fixed_headers(headers: &mut HeaderMap, fixed: &[(HeaderName, HeaderValue)]) {
    headers.reserve(fixed.len());
    for (name, value) in fixed {
        // One lookup per header (`contains_key` then `insert` hash twice).
        if let http::header::Entry::Vacant(slot) = headers.entry(name) {
            slot.insert(value.clone());
        }
    }
}

/// Adds the headers that depend on the request: HSTS over HTTPS, and the
/// CSP with its nonce.
pub(crate) fn add_dynamic_headers(
    headers: &mut HeaderMap,
    settings: &SecuritySettings,
    is_secure: bool,
    nonce: Option<&str>,
) {
    let mut set = |name: HeaderName, value: &str| {
        if value.is_empty() || headers.contains_key(&name) {
            return;
        }
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    if is_secure && settings.hsts_seconds > 0 {
        let mut value = format!("max-age={}", settings.hsts_seconds);
        if settings.hsts_include_subdomains {
            value.push_str("; includeSubDomains");
        }
        if settings.hsts_preload {
            value.push_str("; preload");
        }
        set(header::STRICT_TRANSPORT_SECURITY, &value);
    }
    if !settings.content_security_policy.is_empty() {
        let policy = settings
            .content_security_policy
            .replace("{nonce}", nonce.unwrap_or_default());
        set(header::CONTENT_SECURITY_POLICY, &policy);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_ip_comes_from_the_trusted_header_only_when_configured() {
        let peer = Some("10.0.0.9".parse().unwrap());
        let mut headers = http::HeaderMap::new();
        headers.append("x-forwarded-for", "6.6.6.6, 1.2.3.4".parse().unwrap());
        headers.append("x-forwarded-for", "5.6.7.8:443".parse().unwrap());
        let mut settings = SecuritySettings::default();
        assert_eq!(
            client_ip(&headers, peer, &settings),
            peer,
            "not configured: the peer"
        );
        settings.client_ip_header = "X-Forwarded-For".into();
        assert_eq!(
            client_ip(&headers, peer, &settings),
            Some("5.6.7.8".parse().unwrap())
        );
        settings.trusted_proxies = 2;
        assert_eq!(
            client_ip(&headers, peer, &settings),
            Some("1.2.3.4".parse().unwrap())
        );
        settings.trusted_proxies = 4;
        assert_eq!(
            client_ip(&headers, peer, &settings),
            peer,
            "fewer entries than proxies"
        );
        headers.insert("x-real-ip", "[::1]:80".parse().unwrap());
        settings.client_ip_header = "X-Real-IP".into();
        settings.trusted_proxies = 1;
        assert_eq!(
            client_ip(&headers, peer, &settings),
            Some("::1".parse().unwrap())
        );
        headers.insert("x-real-ip", "not an address".parse().unwrap());
        assert_eq!(client_ip(&headers, peer, &settings), peer);
    }

    fn parts(host: &str) -> Parts {
        http::Request::builder()
            .uri("/")
            .header("host", host)
            .body(())
            .unwrap()
            .into_parts()
            .0
    }

    #[test]
    fn the_host_is_lower_cased_and_split_from_its_port() {
        let settings = Settings::default();
        let host = validate_host(&parts("LocalHost:8000"), &settings).unwrap();
        assert_eq!(host.authority(), "localhost:8000");
        assert_eq!(host.host(), "localhost");
        let host = validate_host(&parts("[::1]:80"), &settings).unwrap();
        assert_eq!((host.authority(), host.host()), ("[::1]:80", "[::1]"));
    }

    #[test]
    fn loopback_names_are_allowed_by_default_on_any_port() {
        let settings = Settings::default();
        for host in [
            "localhost",
            "localhost:8000",
            "127.0.0.1:9000",
            "[::1]:80",
            "LOCALHOST",
        ] {
            assert!(validate_host(&parts(host), &settings).is_ok(), "{host}");
        }
        let err = validate_host(&parts("evil.com"), &settings).unwrap_err();
        assert_eq!(err.status(), http::StatusCode::BAD_REQUEST);
        assert!(err.message().contains("evil.com"));
    }

    #[test]
    fn subdomain_patterns_and_malformed_hosts() {
        let settings = Settings {
            allowed_hosts: vec![".example.com".into()],
            ..Settings::default()
        };
        assert!(validate_host(&parts("example.com"), &settings).is_ok());
        assert!(validate_host(&parts("www.example.com:443"), &settings).is_ok());
        assert!(validate_host(&parts("badexample.com"), &settings).is_err());
        assert!(validate_host(&parts("example.com:abc"), &settings).is_err());
        assert!(validate_host(&parts("exa mple.com"), &settings).is_err());
    }

    #[test]
    fn headers_are_added_unless_already_set() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("SAMEORIGIN"),
        );
        let settings = SecuritySettings {
            hsts_seconds: 60,
            content_security_policy: "script-src 'nonce-{nonce}'".into(),
            ..SecuritySettings::default()
        };
        add_headers(&mut headers, &settings, true, Some("abc"));
        assert_eq!(headers["x-frame-options"], "SAMEORIGIN");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["strict-transport-security"], "max-age=60");
        assert_eq!(headers["content-security-policy"], "script-src 'nonce-abc'");
        let mut plain = HeaderMap::new();
        add_headers(&mut plain, &settings, false, Some("abc"));
        assert!(
            !plain.contains_key("strict-transport-security"),
            "HSTS only over HTTPS"
        );
    }

    #[test]
    fn two_host_headers_are_refused() {
        let mut two = parts("localhost");
        two.headers
            .append(header::HOST, HeaderValue::from_static("evil.com"));
        let err = validate_host(&two, &Settings::default()).unwrap_err();
        assert_eq!(err.status(), http::StatusCode::BAD_REQUEST);
        assert!(err.message().contains("more than one Host"), "{err}");
    }
}
