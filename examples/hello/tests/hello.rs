//! The hello example, driven through the test client as a visitor would.

use flagon::testing::TestClient;

#[tokio::test]
async fn index_and_hello_answer() {
    let client = TestClient::new(hello::app());
    let response = client.get("/").send().await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text(), "Hello, world!");
    let response = client.get("/hello/Ferris").send().await;
    assert_eq!(response.text(), "Hello, Ferris!");
}

#[tokio::test]
async fn guestbook_counts_visits_in_the_session() {
    let client = TestClient::new(hello::app());
    let first = client.get("/guestbook").send().await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.template(), Some("guestbook.html"));
    assert_eq!(first.context().unwrap()["visits"], 1);
    let second = client.get("/guestbook").send().await;
    assert_eq!(second.context().unwrap()["visits"], 2);
    assert!(second.text().contains("opened this page 2 times"));
}

#[tokio::test]
async fn signing_flashes_a_thank_you_and_lists_the_entry() {
    let client = TestClient::new(hello::app()).follow_redirects(true);
    let form = client.get("/guestbook").send().await.text();
    let token = form
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form carries a CSRF token")
        .to_owned();
    let response = client
        .post("/guestbook")
        .form(&[
            ("csrf_token", token.as_str()),
            ("name", "Ann <3"),
            ("message", "Lovely"),
        ])
        .send()
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.redirects().len(), 1);
    let page = response.text();
    assert!(page.contains("Thank you for signing, Ann &lt;3!"), "{page}");
    assert!(
        page.contains("<strong>Ann &lt;3</strong>: Lovely"),
        "{page}"
    );
    let again = client.get("/guestbook").send().await.text();
    assert!(!again.contains("Thank you"), "a flash message shows once");
}

#[tokio::test]
async fn an_empty_signature_is_refused_with_a_message() {
    let client = TestClient::new(hello::app())
        .follow_redirects(true)
        .with_csrf();
    let response = client
        .post("/guestbook")
        .form(&[("name", " "), ("message", "hi")])
        .send()
        .await;
    assert!(response
        .text()
        .contains("Please give both your name and a message."));
    assert!(response.text().contains("Nobody has signed yet"));
}

#[tokio::test]
async fn posting_without_the_csrf_token_is_forbidden() {
    let client = TestClient::new(hello::app());
    let response = client
        .post("/guestbook")
        .form(&[("name", "a"), ("message", "b")])
        .send()
        .await;
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn the_stylesheet_is_served() {
    let client = TestClient::new(hello::app());
    let response = client.get("/static/style.css").send().await;
    assert_eq!(response.status(), 200);
    assert!(response
        .header("content-type")
        .unwrap()
        .starts_with("text/css"));
}
