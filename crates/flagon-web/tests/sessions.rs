//! Sessions (cookie and memory stores), flush and id rotation, the session
//! cookie's attributes, and flash messages.

use flagon_web::testing::{test_settings, TestClient};
use flagon_web::{
    context, get, post, render, App, Flash, MemoryStore, Redirect, Session, Settings, StatusCode,
};

async fn count(session: Session) -> flagon_web::Result<String> {
    let visits: u64 = session.get("visits").unwrap_or(0) + 1;
    session.insert("visits", visits)?;
    Ok(visits.to_string())
}

async fn show(session: Session) -> String {
    let mut keys = session.keys();
    keys.sort();
    format!("keys=[{}]", keys.join(","))
}

async fn logout(session: Session) -> &'static str {
    session.flush();
    "bye"
}

async fn login(session: Session) -> flagon_web::Result<&'static str> {
    session.insert("user", "ann")?;
    session.cycle_id();
    Ok("welcome")
}

fn session_app() -> App {
    App::new()
        .route("/count", get(count))
        .route("/show", get(show))
        .route("/logout", get(logout))
        .route("/login", get(login))
}

#[tokio::test]
async fn counter_persists_with_the_cookie_store() {
    let client = TestClient::new(session_app());
    for expected in ["1", "2", "3"] {
        let response = client.get("/count").send().await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.text(), expected);
    }
    // Another visitor (no cookie) starts over.
    let other = TestClient::new(session_app());
    assert_eq!(other.get("/count").send().await.text(), "1");
}

#[tokio::test]
async fn counter_persists_with_the_memory_store() {
    let store = MemoryStore::new();
    let client = TestClient::new(session_app().session_store(store.clone()));
    for expected in ["1", "2", "3"] {
        assert_eq!(client.get("/count").send().await.text(), expected);
    }
    assert_eq!(store.len(), 1);
    let id = client.cookie("session").expect("a session cookie");
    assert_eq!(id.len(), 32, "{id}");
    assert!(!id.contains("visits"), "the data stays on the server: {id}");
}

#[tokio::test]
async fn a_session_that_is_only_read_sends_no_cookie() {
    let client = TestClient::new(session_app());
    let response = client.get("/show").send().await;
    assert_eq!(response.text(), "keys=[]");
    assert!(
        response
            .header("set-cookie")
            .is_none_or(|c| !c.starts_with("session=")),
        "{:?}",
        response.header("set-cookie")
    );
}

#[tokio::test]
async fn tampered_session_cookie_is_treated_as_no_session() {
    let client = TestClient::new(session_app());
    client.get("/count").send().await;
    assert_eq!(client.get("/count").send().await.text(), "2");
    let cookie = client.cookie("session").expect("a session cookie");
    // Change one character of the signed data (before the signature).
    let mut bytes = cookie.into_bytes();
    bytes[2] = if bytes[2] == b'A' { b'B' } else { b'A' };
    client.set_cookie("session", &String::from_utf8(bytes).unwrap());
    let response = client.get("/show").send().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text(), "keys=[]");
    assert!(response.error().is_none());
    // And counting starts again.
    assert_eq!(client.get("/count").send().await.text(), "1");
}

#[tokio::test]
async fn garbage_session_cookie_is_treated_as_no_session() {
    let store = MemoryStore::new();
    let client = TestClient::new(session_app().session_store(store));
    client.set_cookie("session", "not-a-session-id");
    let response = client.get("/count").send().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text(), "1");
    assert_ne!(
        client.cookie("session").as_deref(),
        Some("not-a-session-id")
    );
}

#[tokio::test]
async fn flush_empties_the_session_and_deletes_the_cookie() {
    let store = MemoryStore::new();
    let client = TestClient::new(session_app().session_store(store.clone()));
    client.get("/count").send().await;
    client.get("/count").send().await;
    let old_id = client.cookie("session").expect("a session cookie");
    assert_eq!(store.len(), 1);
    let response = client.get("/logout").send().await;
    assert_eq!(response.text(), "bye");
    let set_cookie = response.header("set-cookie").unwrap_or_default();
    assert!(set_cookie.starts_with("session="), "{set_cookie}");
    assert!(client.cookie("session").is_none(), "the cookie is removed");
    assert_eq!(store.len(), 0, "the stored session is deleted");
    // The old id is worthless now.
    client.set_cookie("session", &old_id);
    assert_eq!(client.get("/count").send().await.text(), "1");
}

#[tokio::test]
async fn flush_with_the_cookie_store_forgets_the_data() {
    let client = TestClient::new(session_app());
    client.get("/count").send().await;
    client.get("/logout").send().await;
    assert!(client.cookie("session").is_none());
    assert_eq!(client.get("/count").send().await.text(), "1");
}

#[tokio::test]
async fn cycle_id_keeps_data_under_a_new_id_and_forgets_the_old_one() {
    let store = MemoryStore::new();
    let client = TestClient::new(session_app().session_store(store.clone()));
    client.get("/count").send().await;
    let before = client.cookie("session").expect("a session cookie");
    assert_eq!(client.get("/login").send().await.text(), "welcome");
    let after = client.cookie("session").expect("a session cookie");
    assert_ne!(before, after, "the id changed");
    assert_eq!(store.len(), 1, "the old session was deleted");
    assert_eq!(
        client.get("/show").send().await.text(),
        "keys=[user,visits]",
        "the data moved to the new id"
    );
    client.set_cookie("session", &before);
    assert_eq!(client.get("/show").send().await.text(), "keys=[]");
}

#[tokio::test]
async fn session_cookie_is_http_only_and_same_site_lax() {
    let client = TestClient::new(session_app());
    let response = client.get("/count").send().await;
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("session="))
        .expect("a session cookie")
        .to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn session_cookie_is_secure_when_configured() {
    let mut settings = test_settings();
    settings.session.secure = true;
    settings.session.cookie_name = "sid".into();
    let client = TestClient::new(session_app().settings(settings));
    let response = client.get("/count").send().await;
    let cookie = response.header("set-cookie").unwrap_or_default();
    assert!(cookie.starts_with("sid="), "{cookie}");
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn flash_messages_are_shown_once_with_categories() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<ul>{% for category, message in get_flashed_messages(with_categories=true) %}\
         <li class=\"{{ category }}\">{{ message }}</li>{% endfor %}</ul>",
    )
    .unwrap();
    let app = App::new()
        .settings(Settings {
            templates_dir: dir.path().to_owned(),
            ..test_settings()
        })
        .route("/", get(|| async { render("index.html", context! {}) }))
        .route(
            "/save",
            post(|flash: Flash| async move {
                flash.success("Saved <b>.")?;
                flash.error("Check the date.")?;
                Ok::<_, flagon_web::Error>(Redirect::to("/"))
            }),
        );
    let client = TestClient::new(app).with_csrf().follow_redirects(true);
    let response = client.post("/save").send().await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text());
    assert_eq!(response.url(), "/");
    assert_eq!(
        response.text(),
        "<ul><li class=\"success\">Saved &lt;b&gt;.</li><li class=\"error\">Check the date.</li></ul>"
    );
    assert_eq!(client.get("/").send().await.text(), "<ul></ul>");
}

#[tokio::test]
async fn flash_messages_can_be_filtered_by_category() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("errors.txt"),
        "{{ get_flashed_messages(category_filter=['error'])|join('|') }}",
    )
    .unwrap();
    let app = App::new()
        .settings(Settings {
            templates_dir: dir.path().to_owned(),
            ..test_settings()
        })
        .route(
            "/errors",
            get(|| async { render("errors.txt", context! {}) }),
        )
        .route(
            "/flash",
            get(|flash: Flash| async move {
                flash.info("fyi")?;
                flash.error("e1")?;
                flash.push("plain")?;
                flash.error("e2")?;
                Ok::<_, flagon_web::Error>("queued")
            }),
        );
    let client = TestClient::new(app);
    client.get("/flash").send().await;
    assert_eq!(client.get("/errors").send().await.text(), "e1|e2");
}

#[tokio::test]
async fn flash_messages_can_be_read_twice_in_one_page() {
    // Flask keeps the messages for the rest of the request once taken, so
    // a layout can show errors and the other categories separately.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("page.txt"),
        "errors={{ get_flashed_messages(category_filter=['error'])|join('|') }} \
         info={{ get_flashed_messages(category_filter=['info'])|join('|') }} \
         all={{ get_flashed_messages()|length }}",
    )
    .unwrap();
    let app = App::new()
        .settings(Settings {
            templates_dir: dir.path().to_owned(),
            ..test_settings()
        })
        .route("/page", get(|| async { render("page.txt", context! {}) }))
        .route(
            "/flash",
            get(|flash: Flash| async move {
                flash.info("fyi")?;
                flash.error("bad")?;
                Ok::<_, flagon_web::Error>("queued")
            }),
        );
    let client = TestClient::new(app);
    client.get("/flash").send().await;
    assert_eq!(
        client.get("/page").send().await.text(),
        "errors=bad info=fyi all=2"
    );
    assert_eq!(
        client.get("/page").send().await.text(),
        "errors= info= all=0",
        "shown once"
    );
}

#[tokio::test]
async fn templates_see_the_session_and_flashes_of_the_same_request() {
    let app = App::new()
        .template(
            "me.html",
            "{{ session.user }} {{ get_flashed_messages()|join(',') }}",
        )
        .route(
            "/me",
            get(|session: Session, flash: Flash| async move {
                session.insert("user", "ann")?;
                flash.push("hello")?;
                Ok::<_, flagon_web::Error>(render("me.html", context! {}))
            }),
        );
    let client = TestClient::new(app);
    assert_eq!(client.get("/me").send().await.text(), "ann hello");
}

#[tokio::test]
async fn pages_using_the_session_vary_by_cookie() {
    let app = App::new()
        .route(
            "/count",
            get(|session: Session| async move {
                let n: u32 = session.get("n").unwrap_or(0) + 1;
                session.insert("n", n)?;
                Ok::<_, flagon_web::Error>(n.to_string())
            }),
        )
        .route("/plain", get(|| async { "same for all" }));
    let client = TestClient::new(app);
    assert_eq!(
        client.get("/count").send().await.header("vary"),
        Some("Cookie")
    );
    assert_eq!(client.get("/plain").send().await.header("vary"), None);
}

#[tokio::test]
async fn the_csrf_secret_never_shows_in_the_session_global() {
    let mut settings = test_settings();
    settings.csrf.use_sessions = true;
    let app = App::new()
        .settings(settings)
        .template(
            "s.txt",
            "{{ csrf_token() | length }}|{{ session | tojson }}",
        )
        .route("/", get(|| async { render("s.txt", context! {}) }));
    let client = TestClient::new(app);
    let first = client.get("/").send().await.text();
    assert!(first.starts_with("64|"), "{first}");
    let second = client.get("/").send().await.text();
    assert!(!second.contains("_csrf_secret"), "{second}");
}
