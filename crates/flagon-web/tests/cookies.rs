//! Cookies: plain, signed (tamper-evident) and private (encrypted).

use flagon_web::testing::TestClient;
use flagon_web::{get, App, Cookie, Cookies};

fn cookie_app() -> App {
    App::new()
        .route(
            "/set",
            get(|cookies: Cookies| async move {
                cookies.add(Cookie::build(("plain", "hello")).path("/").build());
                cookies
                    .signed()
                    .add(Cookie::build(("signed", "plan-pro")).path("/").build());
                cookies
                    .private()
                    .add(Cookie::build(("private", "token-xyz")).path("/").build());
                "set"
            }),
        )
        .route(
            "/read",
            get(|cookies: Cookies| async move {
                format!(
                    "plain={:?} signed={:?} private={:?} signed-as-private={:?}",
                    cookies.get("plain"),
                    cookies.signed().get("signed"),
                    cookies.private().get("private"),
                    cookies.private().get("signed"),
                )
            }),
        )
        .route(
            "/forget",
            get(|cookies: Cookies| async move {
                cookies.remove("plain");
                "forgotten"
            }),
        )
}

fn set_cookie_headers(response: &flagon_web::testing::TestResponse) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn plain_cookie_round_trips() {
    let client = TestClient::new(cookie_app());
    let response = client.get("/set").send().await;
    let headers = set_cookie_headers(&response);
    assert!(
        headers.iter().any(|c| c.starts_with("plain=hello")),
        "{headers:?}"
    );
    assert_eq!(client.cookie("plain").as_deref(), Some("hello"));
    let text = client.get("/read").send().await.text();
    assert!(text.contains("plain=Some(\"hello\")"), "{text}");
}

#[tokio::test]
async fn removed_cookie_is_expired_on_the_client() {
    let client = TestClient::new(cookie_app());
    client.get("/set").send().await;
    assert!(client.cookie("plain").is_some());
    let response = client.get("/forget").send().await;
    let headers = set_cookie_headers(&response);
    assert!(
        headers
            .iter()
            .any(|c| c.starts_with("plain=") && c.contains("Max-Age=0")),
        "{headers:?}"
    );
    assert!(client.cookie("plain").is_none());
}

#[tokio::test]
async fn signed_cookie_is_readable_but_tampering_makes_it_absent() {
    let client = TestClient::new(cookie_app());
    client.get("/set").send().await;
    let raw = client.cookie("signed").expect("the signed cookie");
    assert!(
        raw.ends_with("plan-pro"),
        "signed values stay readable: {raw}"
    );
    assert_ne!(raw, "plan-pro", "and carry a signature");
    let text = client.get("/read").send().await.text();
    assert!(text.contains("signed=Some(\"plan-pro\")"), "{text}");
    assert!(text.contains("signed-as-private=None"), "{text}");

    let tampered = raw.replace("plan-pro", "plan-max");
    client.set_cookie("signed", &tampered);
    let text = client.get("/read").send().await.text();
    assert!(text.contains("signed=None"), "{text}");

    client.set_cookie("signed", "plan-pro");
    let text = client.get("/read").send().await.text();
    assert!(
        text.contains("signed=None"),
        "an unsigned value is refused: {text}"
    );
}

#[tokio::test]
async fn private_cookie_is_unreadable_to_the_client_but_readable_by_the_app() {
    let client = TestClient::new(cookie_app());
    let response = client.get("/set").send().await;
    let headers = set_cookie_headers(&response);
    let private = headers
        .iter()
        .find(|c| c.starts_with("private="))
        .expect("a private cookie");
    assert!(!private.contains("token-xyz"), "{private}");
    let raw = client.cookie("private").expect("the private cookie");
    assert!(!raw.contains("token-xyz"), "{raw}");
    let text = client.get("/read").send().await.text();
    assert!(text.contains("private=Some(\"token-xyz\")"), "{text}");

    // A changed ciphertext fails authentication.
    let mut bytes = raw.into_bytes();
    let last = bytes.len() - 3;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    client.set_cookie("private", &String::from_utf8(bytes).unwrap());
    let text = client.get("/read").send().await.text();
    assert!(text.contains("private=None"), "{text}");
}

#[tokio::test]
async fn signed_cookies_from_another_secret_key_are_refused() {
    let client = TestClient::new(cookie_app());
    client.get("/set").send().await;
    let signed = client.cookie("signed").expect("the signed cookie");
    let private = client.cookie("private").expect("the private cookie");
    // test_settings() picks a new random secret key for the second app.
    let other = TestClient::new(cookie_app());
    other.set_cookie("signed", &signed);
    other.set_cookie("private", &private);
    let text = other.get("/read").send().await.text();
    assert!(text.contains("signed=None"), "{text}");
    assert!(text.contains("private=None"), "{text}");
}
