//! Blueprints: URL and name prefixes, nesting, template folders and
//! relative URL building.

use std::path::Path as FsPath;

use flagon_web::testing::{test_settings, TestClient};
use flagon_web::{
    context, get, render, App, Blueprint, Path, RequestContext, Settings, StatusCode,
};

fn write(dir: &FsPath, name: &str, text: &str) {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, text).unwrap();
}

fn blog() -> Blueprint {
    Blueprint::new("blog", "/blog")
        .route("/", get(|| async { "all posts" }).name("index"))
        .route(
            "/<int:id>",
            get(|Path(id): Path<u32>| async move { format!("post {id}") }).name("detail"),
        )
}

#[tokio::test]
async fn routes_live_under_the_url_prefix() {
    let app = App::new()
        .route("/", get(|| async { "home" }))
        .blueprint(blog());
    let client = TestClient::new(app);
    assert_eq!(client.get("/blog/").send().await.text(), "all posts");
    assert_eq!(client.get("/blog/7").send().await.text(), "post 7");
    assert_eq!(client.get("/").send().await.text(), "home");
    assert_eq!(
        client.get("/7").send().await.status(),
        StatusCode::NOT_FOUND
    );
    let response = client.get("/blog").send().await;
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(response.header("location"), Some("/blog/"));
}

#[tokio::test]
async fn route_names_get_the_blueprint_prefix() {
    let app = App::new()
        .route("/", get(|| async { "home" }).name("index"))
        .blueprint(blog());
    let client = TestClient::new(app);
    let service = client.service();
    assert_eq!(
        service.url_for("blog.detail", [("id", 3)]).unwrap(),
        "/blog/3"
    );
    assert_eq!(
        service
            .url_for("blog.index", Vec::<(String, String)>::new())
            .unwrap(),
        "/blog/"
    );
    assert_eq!(
        service
            .url_for("index", Vec::<(String, String)>::new())
            .unwrap(),
        "/"
    );
    let err = service.url_for("detail", [("id", 3)]).unwrap_err();
    let text = err.chain().join(" ");
    assert!(text.contains("no route is named `detail`"), "{text}");
    assert!(
        text.contains("blog.detail"),
        "the error suggests the full name: {text}"
    );
}

#[tokio::test]
async fn a_blueprint_may_have_no_url_prefix() {
    let pages =
        Blueprint::new("pages", "").route("/about", get(|| async { "about" }).name("about"));
    let client = TestClient::new(App::new().blueprint(pages));
    assert_eq!(client.get("/about").send().await.text(), "about");
    assert_eq!(
        client
            .service()
            .url_for("pages.about", Vec::<(String, String)>::new())
            .unwrap(),
        "/about"
    );
}

#[tokio::test]
async fn nested_blueprints_join_prefixes_and_names() {
    let users = Blueprint::new("users", "/users").route(
        "/<int:id>",
        get(|Path(id): Path<u32>, info: RequestContext| async move {
            let route = info.route().cloned().unwrap_or_default();
            format!(
                "user {id} name={} blueprint={} pattern={}",
                route.name.unwrap_or_default(),
                route.blueprint.as_deref().unwrap_or_default(),
                route.pattern
            )
        })
        .name("detail"),
    );
    let admin = Blueprint::new("admin", "/admin")
        .route("/", get(|| async { "dashboard" }).name("index"))
        .blueprint(users);
    let client = TestClient::new(App::new().blueprint(admin));
    assert_eq!(client.get("/admin/").send().await.text(), "dashboard");
    assert_eq!(
        client.get("/admin/users/5").send().await.text(),
        "user 5 name=admin.users.detail blueprint=admin.users pattern=/admin/users/<int:id>"
    );
    assert_eq!(
        client
            .service()
            .url_for("admin.users.detail", [("id", 9)])
            .unwrap(),
        "/admin/users/9"
    );
    assert_eq!(
        client.get("/users/5").send().await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn relative_url_for_in_a_handler_uses_the_current_blueprint() {
    let shop = Blueprint::new("shop", "/shop")
        .route("/item/<int:id>", get(|| async { "" }).name("item"))
        .route(
            "/",
            get(|info: RequestContext| async move { info.url_for(".item", [("id", 4)]) }),
        );
    let app = App::new()
        .route("/item/<int:id>", get(|| async { "" }).name("item"))
        .route(
            "/",
            get(|info: RequestContext| async move { info.url_for(".item", [("id", 4)]) }),
        )
        .blueprint(shop);
    let client = TestClient::new(app);
    assert_eq!(client.get("/shop/").send().await.text(), "/shop/item/4");
    assert_eq!(client.get("/").send().await.text(), "/item/4");
}

#[tokio::test]
async fn blueprint_template_folder_is_searched_after_the_apps() {
    let dir = tempfile::tempdir().unwrap();
    let app_templates = dir.path().join("templates");
    let blog_templates = dir.path().join("blog_templates");
    write(
        &app_templates,
        "layout.html",
        "<main>{% block body %}{% endblock %}</main>",
    );
    write(
        &blog_templates,
        "blog/index.html",
        "{% extends 'layout.html' %}{% block body %}blog index {{ n }}{% endblock %}",
    );
    write(
        &blog_templates,
        "blog/overridden.html",
        "from the blueprint",
    );
    write(&app_templates, "blog/overridden.html", "from the app");
    let blog = Blueprint::new("blog", "/blog")
        .template_folder(&blog_templates)
        .route(
            "/",
            get(|| async { render("blog/index.html", context! { n => 3 }) }),
        )
        .route(
            "/o",
            get(|| async { render("blog/overridden.html", context! {}) }),
        );
    let app = App::new()
        .settings(Settings {
            templates_dir: app_templates,
            ..test_settings()
        })
        .blueprint(blog);
    let client = TestClient::new(app);
    let response = client.get("/blog/").send().await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text());
    assert_eq!(response.text(), "<main>blog index 3</main>");
    assert_eq!(response.template(), Some("blog/index.html"));
    assert_eq!(client.get("/blog/o").send().await.text(), "from the app");
}

#[tokio::test]
async fn relative_url_for_in_a_blueprint_template() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "links.txt",
        "{{ url_for('.detail', id=2) }} {{ url_for('.index') }} {{ url_for('index') }} \
         {{ request.blueprint }} {{ request.endpoint }}",
    );
    let blog = blog().route(
        "/links",
        get(|| async { render("links.txt", context! {}) }).name("links"),
    );
    let app = App::new()
        .settings(Settings {
            templates_dir: dir.path().to_owned(),
            ..test_settings()
        })
        .route("/", get(|| async { "home" }).name("index"))
        .route("/links", get(|| async { render("links.txt", context! {}) }))
        .blueprint(blog);
    let client = TestClient::new(app);
    let response = client.get("/blog/links").send().await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text());
    assert_eq!(response.text(), "/blog/2 /blog/ / blog blog.links");
    // Outside a blueprint `.detail` is looked up among the app's own routes.
    let response = client.get("/links").send().await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let chain = response.error().expect("the error").chain().join(" ");
    assert!(chain.contains("`detail`"), "{chain}");
}

#[tokio::test]
async fn duplicate_route_names_are_refused_at_build() {
    let result = App::new()
        .settings(test_settings())
        .route("/a", get(|| async { "" }).name("same"))
        .route("/b", get(|| async { "" }).name("same"))
        .build();
    let err = result.expect_err("a build error");
    assert!(err.chain().join(" ").contains("`same`"), "{err:?}");
    // The same local name in two blueprints is fine.
    let result = App::new()
        .settings(test_settings())
        .blueprint(Blueprint::new("a", "/a").route("/", get(|| async { "" }).name("index")))
        .blueprint(Blueprint::new("b", "/b").route("/", get(|| async { "" }).name("index")))
        .build();
    assert!(result.is_ok());
}

#[tokio::test]
async fn url_prefix_may_hold_a_parameter() {
    let user = Blueprint::new("user", "/u/<name>").route(
        "/posts/<int:id>",
        get(|Path((name, id)): Path<(String, u32)>| async move { format!("{name}#{id}") })
            .name("post"),
    );
    let client = TestClient::new(App::new().blueprint(user));
    assert_eq!(client.get("/u/ann/posts/3").send().await.text(), "ann#3");
    assert_eq!(
        client
            .service()
            .url_for("user.post", [("name", "bob smith"), ("id", "4")])
            .unwrap(),
        "/u/bob%20smith/posts/4"
    );
}

#[tokio::test]
async fn blueprint_routes_join_their_prefix_with_one_slash() {
    let blog = Blueprint::new("blog", "/blog")
        .route("edit", get(|| async { "edit" }))
        .route("", get(|| async { "index" }));
    let client = TestClient::new(App::new().blueprint(blog));
    assert_eq!(client.get("/blog/edit").send().await.text(), "edit");
    assert_eq!(client.get("/blog").send().await.text(), "index");
    assert_eq!(
        client.get("/blogedit").send().await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_mount_prefix_must_be_a_path() {
    for prefix in ["api", "/"] {
        let inner = App::new().settings(test_settings()).build().unwrap();
        let result = App::new()
            .settings(test_settings())
            .mount(prefix, inner)
            .build();
        let message = result.unwrap_err().chain().join(" ");
        assert!(message.contains("mount prefix"), "{prefix}: {message}");
    }
}
