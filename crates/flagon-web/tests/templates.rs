//! Templates: autoescaping, inheritance, the request globals, what tests
//! can inspect, missing templates and reloading in debug mode.

use std::path::Path as FsPath;

use flagon_web::testing::{test_settings, TestClient};
use flagon_web::{context, get, render, App, Path, Settings, StatusCode};

fn settings(dir: &FsPath, debug: bool) -> Settings {
    Settings {
        templates_dir: dir.to_owned(),
        debug,
        ..test_settings()
    }
}

fn write(dir: &FsPath, name: &str, text: &str) {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, text).unwrap();
}

#[tokio::test]
async fn html_templates_autoescape_and_text_templates_do_not() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "page.html",
        "<p>{{ name }}</p>{{ trusted|safe }}",
    );
    write(dir.path(), "page.txt", "{{ name }}");
    let app = App::new()
        .settings(settings(dir.path(), false))
        .route(
            "/html",
            get(|| async {
                render(
                    "page.html",
                    context! { name => "<script>alert('x')</script> & co", trusted => "<b>ok</b>" },
                )
            }),
        )
        .route(
            "/text",
            get(|| async { render("page.txt", context! { name => "<b>raw</b>" }) }),
        );
    let client = TestClient::new(app);
    let html = client.get("/html").send().await.text();
    assert_eq!(
        html,
        "<p>&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co</p><b>ok</b>"
    );
    let response = client.get("/text").send().await;
    assert_eq!(response.text(), "<b>raw</b>");
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
}

#[tokio::test]
async fn templates_inherit_blocks() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "base.html",
        "<title>{% block title %}Site{% endblock %}</title><main>{% block body %}{% endblock %}</main>",
    );
    write(
        dir.path(),
        "pages/post.html",
        "{% extends 'base.html' %}{% block title %}{{ post }} - {{ super() }}{% endblock %}\
         {% block body %}<h1>{{ post }}</h1>{% endblock %}",
    );
    let app = App::new().settings(settings(dir.path(), false)).route(
        "/post/<title>",
        get(|Path(title): Path<String>| async move {
            render("pages/post.html", context! { post => title })
        }),
    );
    let client = TestClient::new(app);
    assert_eq!(
        client.get("/post/Hello").send().await.text(),
        "<title>Hello - Site</title><main><h1>Hello</h1></main>"
    );
}

#[tokio::test]
async fn url_for_and_static_globals_build_urls() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "links.txt",
        "{{ url_for('post', id=3) }} {{ url_for('index', page=2) }} {{ static('css/site main.css') }}",
    );
    let app = App::new()
        .settings(settings(dir.path(), false))
        .route("/", get(|| async { "" }).name("index"))
        .route("/post/<int:id>", get(|| async { "" }).name("post"))
        .route("/links", get(|| async { render("links.txt", context! {}) }));
    let client = TestClient::new(app);
    assert_eq!(
        client.get("/links").send().await.text(),
        "/post/3 /?page=2 /static/css/site%20main.css"
    );
}

#[tokio::test]
async fn request_global_describes_the_request() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "req.txt",
        "{{ request.method }}|{{ request.path }}|{{ request.full_path }}|{{ request.url }}|\
         {{ request.endpoint }}|{{ request.host }}|{{ request.is_secure }}|\
         {% for k, v in request.args %}{{ k }}={{ v }};{% endfor %}",
    );
    let app = App::new().settings(settings(dir.path(), false)).route(
        "/items/<int:id>",
        get(|| async { render("req.txt", context! {}) }).name("item"),
    );
    let client = TestClient::new(app).host("localhost:8000");
    assert_eq!(
        client.get("/items/5?sort=asc&q=a%20b").send().await.text(),
        "GET|/items/5|/items/5?sort=asc&q=a%20b|http://localhost:8000/items/5?sort=asc&q=a%20b|\
         item|localhost|False|sort=asc;q=a b;"
    );
}

#[tokio::test]
async fn config_global_shows_settings_but_not_the_secret_key() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "config.txt",
        "debug={{ config.debug }} static={{ config.static_url }} key={{ config.secret_key }} \
         cookie={{ config.session.cookie_name }} all={{ config }}",
    );
    let mut settings = settings(dir.path(), false);
    settings.secret_key =
        flagon_web::settings::Secret::new("super-secret-key-1234567890-abcdefghijkl");
    let app = App::new()
        .settings(settings)
        .route("/", get(|| async { render("config.txt", context! {}) }));
    let client = TestClient::new(app);
    let text = client.get("/").send().await.text();
    assert!(
        text.starts_with("debug=False static=/static key=******** cookie=session "),
        "{text}"
    );
    assert!(!text.contains("super-secret-key"), "{text}");
}

#[tokio::test]
async fn csrf_token_global_gives_a_token_and_sets_the_cookie() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "t.txt", "{{ csrf_token() }}");
    let app = App::new()
        .settings(settings(dir.path(), false))
        .route("/", get(|| async { render("t.txt", context! {}) }));
    let client = TestClient::new(app);
    let response = client.get("/").send().await;
    let token = response.text();
    assert_eq!(token.len(), 64, "{token}");
    assert!(token.chars().all(|c| c.is_ascii_alphanumeric()), "{token}");
    let cookie = response.header("set-cookie").unwrap_or_default();
    assert!(cookie.starts_with("csrftoken="), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
}

#[tokio::test]
async fn test_response_shows_the_template_and_its_context() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "list.html",
        "{% for i in items %}{{ i }}{% endfor %}",
    );
    let app = App::new().settings(settings(dir.path(), false)).route(
        "/",
        get(|| async {
            render(
                "list.html",
                context! { title => "Things", items => vec![1, 2] },
            )
        }),
    );
    let client = TestClient::new(app);
    let response = client.get("/").send().await;
    assert_eq!(response.template(), Some("list.html"));
    let context = response.context().expect("a context");
    assert_eq!(context["title"], "Things");
    assert_eq!(context["items"], serde_json::json!([1, 2]));
    assert!(
        context.get("csrf_token").is_none(),
        "the request globals are not part of the handler's context"
    );
    assert_eq!(response.text(), "12");
}

#[tokio::test]
async fn responses_without_a_template_have_none() {
    let client = TestClient::new(App::new().route("/", get(|| async { "plain" })));
    let response = client.get("/").send().await;
    assert_eq!(response.template(), None);
    assert!(response.context().is_none());
}

#[tokio::test]
async fn missing_template_is_500() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::new()
        .settings(settings(dir.path(), false))
        .route("/", get(|| async { render("nope.html", context! {}) }));
    let client = TestClient::new(app);
    let response = client.get("/").send().await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        !response.text().contains("nope.html"),
        "details stay private"
    );
    let chain = response.error().expect("the error").chain().join(" ");
    assert!(chain.contains("`nope.html` not found"), "{chain}");
}

#[tokio::test]
async fn missing_template_in_debug_mode_names_it_and_the_folders() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::new()
        .settings(settings(dir.path(), true))
        .route("/", get(|| async { render("nope.html", context! {}) }));
    let client = TestClient::new(app);
    let response = client.get("/").send().await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let text = response.text();
    assert!(text.contains("nope.html"), "{text}");
    assert!(
        text.contains(&dir.path().display().to_string()),
        "the searched folder is named: {text}"
    );
}

#[tokio::test]
async fn template_syntax_error_is_500() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "broken.html", "{% if %}");
    let app = App::new()
        .settings(settings(dir.path(), false))
        .route("/", get(|| async { render("broken.html", context! {}) }));
    let client = TestClient::new(app);
    assert_eq!(
        client.get("/").send().await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
}

#[tokio::test]
async fn debug_mode_reloads_edited_templates() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "page.html", "version one");
    let app = App::new()
        .settings(settings(dir.path(), true))
        .route("/", get(|| async { render("page.html", context! {}) }));
    let client = TestClient::new(app);
    assert_eq!(client.get("/").send().await.text(), "version one");
    write(dir.path(), "page.html", "version two");
    assert_eq!(client.get("/").send().await.text(), "version two");
}

#[tokio::test]
async fn embedded_templates_take_precedence_over_files() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.html", "from file");
    write(dir.path(), "b.html", "{% include 'a.html' %} and b");
    let app = App::new()
        .settings(settings(dir.path(), false))
        .template("a.html", "embedded {{ 1 + 1 }}")
        .route("/", get(|| async { render("b.html", context! {}) }));
    let client = TestClient::new(app);
    assert_eq!(client.get("/").send().await.text(), "embedded 2 and b");
}

#[tokio::test]
async fn configure_templates_adds_filters() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "shout.txt", "{{ word|shout }}");
    let app = App::new()
        .settings(settings(dir.path(), false))
        .configure_templates(|env| {
            env.add_filter("shout", |value: String| value.to_uppercase() + "!");
        })
        .route(
            "/",
            get(|| async { render("shout.txt", context! { word => "hey" }) }),
        );
    let client = TestClient::new(app);
    assert_eq!(client.get("/").send().await.text(), "HEY!");
}

#[tokio::test]
async fn request_url_is_right_for_an_absolute_form_target() {
    // HTTP/2 requests (and HTTP/1.1 requests through some proxies) carry the
    // scheme and authority in the request target.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "req.txt",
        "{{ request.url }}|{{ request.path }}|{{ request.full_path }}",
    );
    let app = App::new().settings(settings(dir.path(), false)).route(
        "/items/<int:id>",
        get(|| async { render("req.txt", context! {}) }),
    );
    let client = TestClient::new(app);
    let response = client.get("http://localhost/items/5?x=1").send().await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text());
    assert_eq!(
        response.text(),
        "http://localhost/items/5?x=1|/items/5|/items/5?x=1"
    );
}

#[tokio::test]
async fn production_mode_keeps_templates_it_has_loaded() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "page.html", "version one");
    let app = App::new()
        .settings(settings(dir.path(), false))
        .route("/", get(|| async { render("page.html", context! {}) }));
    let client = TestClient::new(app);
    assert_eq!(client.get("/").send().await.text(), "version one");
    write(dir.path(), "page.html", "version two");
    assert_eq!(client.get("/").send().await.text(), "version one");
}

#[tokio::test]
async fn request_path_is_decoded_and_url_is_not() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "path.txt",
        "{{ request.path }}|{{ request.url }}",
    );
    let app = App::new().settings(settings(dir.path(), false)).route(
        "/items/<name>",
        get(|| async { render("path.txt", context! {}) }),
    );
    let client = TestClient::new(app);
    assert_eq!(
        client
            .get("/items/caf%C3%A9%20au%20lait")
            .send()
            .await
            .text(),
        "/items/café au lait|http://localhost/items/caf%C3%A9%20au%20lait"
    );
}

#[tokio::test]
async fn templates_render_to_a_string_with_the_globals() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "mail.txt",
        "Hi {{ name }}, see {{ url_for('home', _external=true) }}",
    );
    let app = App::new()
        .settings(settings(dir.path(), false))
        .route("/", get(|| async { "home" }).name("home"))
        .route(
            "/preview",
            get(|templates: flagon_web::Templates| async move {
                templates.render("mail.txt", context! { name => "Ann" })
            }),
        )
        .route(
            "/broken",
            get(|templates: flagon_web::Templates| async move {
                templates.render("missing.txt", context! {})
            }),
        );
    let client = TestClient::new(app);
    let response = client.get("/preview").send().await;
    assert_eq!(response.text(), "Hi Ann, see http://localhost/");
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        client.get("/broken").send().await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
}

/// Renders `name` with `value` and returns the content type and the body.
async fn render_one(name: &'static str, source: &str, value: &'static str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), name, source);
    let app = App::new().settings(settings(dir.path(), false)).route(
        "/",
        get(move || async move { render(name, context! { v => value }) }),
    );
    let response = TestClient::new(app).get("/").send().await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{name}: {}",
        response.text()
    );
    let content_type = response
        .header("content-type")
        .unwrap_or_default()
        .to_owned();
    (content_type, response.text())
}

#[tokio::test]
async fn the_content_type_and_the_escaping_come_from_the_same_extension() {
    let script = "<script>alert(1)</script>";
    let escaped = "&lt;script&gt;alert(1)&lt;/script&gt;";
    for (name, content_type, body) in [
        ("page.HTML", "text/html; charset=utf-8", escaped),
        ("page.html.j2", "text/html; charset=utf-8", escaped),
        ("page.Htm.JINJA", "text/html; charset=utf-8", escaped),
        ("page.svg", "image/svg+xml; charset=utf-8", escaped),
        (
            "page.xhtml",
            "application/xhtml+xml; charset=utf-8",
            escaped,
        ),
        ("page.xml", "application/xml; charset=utf-8", escaped),
        ("noext", "text/plain; charset=utf-8", script),
        ("page.j2", "text/plain; charset=utf-8", script),
        ("page.jinja", "text/plain; charset=utf-8", script),
        ("notes.md", "text/plain; charset=utf-8", script),
        ("page.unknown", "text/plain; charset=utf-8", script),
    ] {
        let rendered = render_one(name, "{{ v }}", script).await;
        assert_eq!(
            rendered,
            (content_type.to_owned(), body.to_owned()),
            "{name}"
        );
    }
}

#[tokio::test]
async fn json_templates_escape_values_as_json() {
    let rendered = render_one("data.json", "{\"v\": {{ v }}}", "</script>\"").await;
    assert_eq!(rendered.0, "application/json");
    let parsed: serde_json::Value = serde_json::from_str(&rendered.1).unwrap();
    assert_eq!(parsed["v"], "</script>\"");
}

#[tokio::test]
async fn config_global_never_shows_the_database_url() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "config.txt",
        "url={{ config.database.url }} all={{ config }}",
    );
    for variable in ["FLAGON_DATABASE__URL", "FLAGON_DATABASE_URL"] {
        let mut settings = flagon_web::Settings::from_sources(
            None,
            FsPath::new("flagon.toml"),
            [(
                variable.to_owned(),
                "postgres://app:dbpassword@db.internal/app".to_owned(),
            )],
        )
        .unwrap();
        settings.templates_dir = dir.path().to_owned();
        settings.allowed_hosts = test_settings().allowed_hosts;
        let app = App::new()
            .settings(Settings {
                debug: true,
                ..settings
            })
            .route("/", get(|| async { render("config.txt", context! {}) }));
        let text = TestClient::new(app).get("/").send().await.text();
        assert!(text.starts_with("url=******** "), "{variable}: {text}");
        assert!(!text.contains("dbpassword"), "{variable}: {text}");
        assert!(!text.contains("db.internal"), "{variable}: {text}");
    }
}
