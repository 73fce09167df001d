//! Security headers, Host validation, HTTPS detection and the CSP nonce.

use flagon_web::testing::{test_settings, TestClient};
use flagon_web::{context, get, render, App, Error, Settings, StatusCode};

fn app() -> App {
    App::new()
        .route("/", get(|| async { "home" }))
        .route(
            "/framed",
            get(|| async { ([("x-frame-options", "SAMEORIGIN")], "may be framed") }),
        )
        .route(
            "/fail",
            get(|| async { Err::<&str, _>(Error::bad_request("nope")) }),
        )
}

#[tokio::test]
async fn default_security_headers_are_present() {
    let client = TestClient::new(app());
    let response = client.get("/").send().await;
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(response.header("x-frame-options"), Some("DENY"));
    assert_eq!(response.header("referrer-policy"), Some("same-origin"));
    assert_eq!(
        response.header("cross-origin-opener-policy"),
        Some("same-origin")
    );
    assert_eq!(response.header("strict-transport-security"), None);
    assert_eq!(response.header("content-security-policy"), None);
}

#[tokio::test]
async fn security_headers_are_on_errors_and_404s_too() {
    let client = TestClient::new(app());
    for path in ["/fail", "/missing"] {
        let response = client.get(path).send().await;
        assert!(response.status().is_client_error());
        assert_eq!(
            response.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(response.header("x-frame-options"), Some("DENY"), "{path}");
    }
}

#[tokio::test]
async fn a_header_set_by_the_response_is_kept() {
    let client = TestClient::new(app());
    let response = client.get("/framed").send().await;
    assert_eq!(response.header("x-frame-options"), Some("SAMEORIGIN"));
    let all: Vec<_> = response
        .headers()
        .get_all("x-frame-options")
        .iter()
        .collect();
    assert_eq!(all.len(), 1);
}

#[tokio::test]
async fn security_headers_follow_the_settings() {
    let mut settings = test_settings();
    settings.security.frame_options = String::new();
    settings.security.referrer_policy = "no-referrer".into();
    settings.security.hsts_seconds = 3600;
    settings.security.hsts_include_subdomains = true;
    settings.security.secure_proxy_ssl_header = "X-Forwarded-Proto: https".into();
    let client = TestClient::new(app().settings(settings));
    let response = client.get("/").send().await;
    assert_eq!(response.header("x-frame-options"), None);
    assert_eq!(response.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(
        response.header("strict-transport-security"),
        None,
        "HSTS only over HTTPS"
    );
    let response = client
        .get("/")
        .header("x-forwarded-proto", "https")
        .send()
        .await;
    assert_eq!(
        response.header("strict-transport-security"),
        Some("max-age=3600; includeSubDomains")
    );
}

#[tokio::test]
async fn unknown_host_is_400() {
    let client = TestClient::new(app()).host("evil.example");
    let response = client.get("/").send().await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let text = response.text();
    assert!(text.contains("evil.example"), "{text}");
    assert!(
        !text.contains("allowed_hosts"),
        "production does not show configuration: {text}"
    );
    assert!(!text.contains("home"));

    let debug = flagon_web::Settings {
        debug: true,
        ..flagon_web::testing::test_settings()
    };
    let client = TestClient::new(
        App::new()
            .settings(debug)
            .route("/", get(|| async { "home" })),
    )
    .host("evil.example");
    let text = client.get("/").send().await.text();
    assert!(
        text.contains("allowed_hosts"),
        "debug mode says how to fix it: {text}"
    );
}

#[tokio::test]
async fn loopback_hosts_with_ports_are_allowed_by_default() {
    for host in ["localhost:8000", "127.0.0.1", "[::1]:8080", "LOCALHOST"] {
        let client = TestClient::new(app()).host(host);
        assert_eq!(client.get("/").send().await.text(), "home", "{host}");
    }
}

#[tokio::test]
async fn allowed_hosts_patterns_match_domains_and_subdomains() {
    let settings = Settings {
        allowed_hosts: vec!["example.com".into(), ".example.org".into()],
        ..test_settings()
    };
    let cases = [
        ("example.com", true),
        ("www.example.com", false),
        ("example.org", true),
        ("www.example.org:8443", true),
        ("a.b.example.org", true),
        ("badexample.org", false),
        ("localhost", false),
        ("example.com:abc", false),
    ];
    for (host, allowed) in cases {
        let client = TestClient::new(app().settings(settings.clone())).host(host);
        let status = client.get("/").send().await.status();
        assert_eq!(status == StatusCode::OK, allowed, "{host}: {status}");
        if !allowed {
            assert_eq!(status, StatusCode::BAD_REQUEST, "{host}");
        }
    }
}

#[tokio::test]
async fn wildcard_allows_any_host() {
    let settings = Settings {
        allowed_hosts: vec!["*".into()],
        ..test_settings()
    };
    let client = TestClient::new(app().settings(settings)).host("anything.test");
    assert_eq!(client.get("/").send().await.status(), StatusCode::OK);
}

#[tokio::test]
async fn csp_nonce_is_fresh_and_matches_the_template() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("page.html"),
        "<script nonce=\"{{ csp_nonce }}\">go()</script>",
    )
    .unwrap();
    let mut settings = Settings {
        templates_dir: dir.path().to_owned(),
        ..test_settings()
    };
    settings.security.content_security_policy =
        "default-src 'self'; script-src 'nonce-{nonce}'".into();
    let app = App::new()
        .settings(settings)
        .route("/", get(|| async { render("page.html", context! {}) }));
    let client = TestClient::new(app);
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let response = client.get("/").send().await;
        let policy = response
            .header("content-security-policy")
            .expect("a CSP header")
            .to_owned();
        let nonce = policy
            .strip_prefix("default-src 'self'; script-src 'nonce-")
            .and_then(|rest| rest.strip_suffix('\''))
            .unwrap_or_else(|| panic!("unexpected policy {policy}"))
            .to_owned();
        assert!(nonce.len() >= 16, "{nonce}");
        assert_eq!(
            response.text(),
            format!("<script nonce=\"{nonce}\">go()</script>")
        );
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1], "a new nonce per response");
}

#[tokio::test]
async fn two_host_headers_are_a_400() {
    let client = TestClient::new(app());
    // The client sends `Host: localhost`; a second one makes the host ambiguous.
    for second in ["localhost", "evil.com"] {
        let response = client.get("/").header("host", second).send().await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{second}");
        let text = response.text();
        assert!(text.contains("more than one Host header"), "{text}");
        assert!(!text.contains("home"), "{text}");
    }
    assert_eq!(client.get("/").send().await.status(), StatusCode::OK);
}
