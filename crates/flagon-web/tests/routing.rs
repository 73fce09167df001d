//! Routing behaviour: patterns and converters, priorities, named routes and
//! URL building, automatic HEAD/OPTIONS, 405, strict slashes, bad paths and
//! mounted services.

use std::convert::Infallible;
use std::path::Path as FsPath;

use flagon_web::routing::Converter;
use flagon_web::testing::{test_settings, TestClient};
use flagon_web::{get, post, App, Html, Path, Request, RequestContext, Settings, StatusCode};

fn settings_with_templates(dir: &FsPath, debug: bool) -> Settings {
    Settings {
        templates_dir: dir.to_owned(),
        debug,
        ..test_settings()
    }
}

#[tokio::test]
async fn int_parameter_is_parsed() {
    let app = App::new().route(
        "/post/<int:id>",
        get(|Path(id): Path<u64>| async move { format!("post {}", id + 1) }),
    );
    let client = TestClient::new(app);
    let response = client.get("/post/41").send().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text(), "post 42");
    assert_eq!(client.get("/post/abc").send().await.status(), 404);
    assert_eq!(client.get("/post/-1").send().await.status(), 404);
}

#[tokio::test]
async fn untyped_parameter_takes_one_decoded_segment() {
    let app = App::new().route(
        "/hello/<name>",
        get(|Path(name): Path<String>| async move { format!("Hello, {name}!") }),
    );
    let client = TestClient::new(app);
    assert_eq!(client.get("/hello/Ann").send().await.text(), "Hello, Ann!");
    assert_eq!(
        client
            .get("/hello/caf%C3%A9%20au%20lait")
            .send()
            .await
            .text(),
        "Hello, café au lait!"
    );
    assert_eq!(client.get("/hello/a/b").send().await.status(), 404);
    assert_eq!(client.get("/hello/").send().await.status(), 404);
}

#[tokio::test]
async fn str_converter_matches_any_segment() {
    let app = App::new().route(
        "/s/<str:value>",
        get(|Path(value): Path<String>| async move { value }),
    );
    let client = TestClient::new(app);
    assert_eq!(client.get("/s/a-b.c_1").send().await.text(), "a-b.c_1");
    assert_eq!(client.get("/s/x/y").send().await.status(), 404);
}

#[tokio::test]
async fn float_converter_needs_a_decimal_point() {
    let app = App::new().route(
        "/price/<float:amount>",
        get(|Path(amount): Path<f64>| async move { format!("{:.2}", amount * 2.0) }),
    );
    let client = TestClient::new(app);
    assert_eq!(client.get("/price/1.25").send().await.text(), "2.50");
    assert_eq!(client.get("/price/3").send().await.status(), 404);
    assert_eq!(client.get("/price/1.").send().await.status(), 404);
}

#[tokio::test]
async fn slug_converter_accepts_letters_digits_hyphens_underscores() {
    let app = App::new().route(
        "/tag/<slug:tag>",
        get(|Path(tag): Path<String>| async move { tag }),
    );
    let client = TestClient::new(app);
    assert_eq!(
        client.get("/tag/hello-world_2").send().await.text(),
        "hello-world_2"
    );
    assert_eq!(client.get("/tag/hello%20world").send().await.status(), 404);
    assert_eq!(client.get("/tag/a.b").send().await.status(), 404);
}

#[tokio::test]
async fn uuid_converter_accepts_only_hyphenated_uuids() {
    let app = App::new().route(
        "/obj/<uuid:id>",
        get(|Path(id): Path<String>| async move { id }),
    );
    let client = TestClient::new(app);
    let id = "67e55044-10b1-426f-9247-bb680e5fe0c8";
    assert_eq!(client.get(&format!("/obj/{id}")).send().await.text(), id);
    assert_eq!(
        client
            .get("/obj/67e5504410b1426f9247bb680e5fe0c8")
            .send()
            .await
            .status(),
        404
    );
    assert_eq!(client.get("/obj/not-a-uuid").send().await.status(), 404);
}

#[tokio::test]
async fn path_converter_spans_segments() {
    let app = App::new()
        .route(
            "/files/<path:rest>",
            get(|Path(rest): Path<String>| async move { format!("file {rest}") }),
        )
        .route(
            "/wiki/<path:page>/edit",
            get(|Path(page): Path<String>| async move { format!("edit {page}") }),
        );
    let client = TestClient::new(app);
    assert_eq!(
        client.get("/files/a/b/c.txt").send().await.text(),
        "file a/b/c.txt"
    );
    assert_eq!(
        client.get("/wiki/guides/intro/edit").send().await.text(),
        "edit guides/intro"
    );
    assert_eq!(client.get("/files/").send().await.status(), 404);
}

/// Even numbers only, to test user-defined converters.
struct Even;

impl Converter for Even {
    fn matches(&self, segment: &str) -> bool {
        segment.parse::<u64>().is_ok_and(|n| n % 2 == 0)
    }

    fn weight(&self) -> u32 {
        30
    }
}

#[tokio::test]
async fn user_defined_converter_is_used_in_routes() {
    let app = App::new()
        .converter("even", Even)
        .route(
            "/n/<even:n>",
            get(|Path(n): Path<u64>| async move { format!("even {n}") }),
        )
        .route(
            "/n/<int:n>",
            get(|Path(n): Path<u64>| async move { format!("odd {n}") }),
        );
    let client = TestClient::new(app);
    assert_eq!(client.get("/n/4").send().await.text(), "even 4");
    assert_eq!(client.get("/n/7").send().await.text(), "odd 7");
    assert_eq!(client.get("/n/x").send().await.status(), 404);
}

#[tokio::test]
async fn static_segment_beats_converter() {
    let app = App::new()
        .route("/user/<name>", get(|| async { "by name" }))
        .route("/user/me", get(|| async { "me" }));
    let client = TestClient::new(app);
    assert_eq!(client.get("/user/me").send().await.text(), "me");
    assert_eq!(client.get("/user/bob").send().await.text(), "by name");
}

#[tokio::test]
async fn typed_converter_beats_str() {
    // Registered str first, so registration order cannot explain the result.
    let app = App::new()
        .route("/user/<name>", get(|| async { "str" }))
        .route("/user/<int:id>", get(|| async { "int" }));
    let client = TestClient::new(app);
    assert_eq!(client.get("/user/42").send().await.text(), "int");
    assert_eq!(client.get("/user/ann").send().await.text(), "str");
}

#[tokio::test]
async fn converter_mismatch_falls_through_to_the_next_route() {
    let app = App::new()
        .route("/item/<int:id>/edit", get(|| async { "edit by id" }))
        .route(
            "/item/<slug>/view",
            get(|Path(slug): Path<String>| async move { format!("view {slug}") }),
        );
    let client = TestClient::new(app);
    assert_eq!(client.get("/item/12/view").send().await.text(), "view 12");
    assert_eq!(
        client.get("/item/12/edit").send().await.text(),
        "edit by id"
    );
    let response = client.get("/item/abc/edit").send().await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn nothing_matching_is_404() {
    let app = App::new().route("/", get(|| async { "home" }));
    let client = TestClient::new(app);
    let response = client.get("/nowhere").send().await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.text().contains("Not Found"), "{}", response.text());
}

#[tokio::test]
async fn request_info_url_for_builds_named_urls() {
    let app = App::new()
        .route("/user/<name>/<int:id>", get(|| async { "" }).name("user"))
        .route(
            "/",
            get(|info: RequestContext| async move {
                let url = info.url_for("user", [("name", "a b/c"), ("id", "7"), ("tab", "x&y")])?;
                let missing = info
                    .url_for("user", [("name", "x")])
                    .map_err(|err| err.chain().join(" "))
                    .unwrap_err();
                let unknown = info
                    .url_for("nope", Vec::<(String, String)>::new())
                    .map_err(|err| err.chain().join(" "))
                    .unwrap_err();
                Ok::<_, flagon_web::Error>(format!("{url}\n{missing}\n{unknown}"))
            }),
        );
    let client = TestClient::new(app);
    let text = client.get("/").send().await.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "/user/a%20b%2Fc/7?tab=x%26y");
    assert!(lines[1].contains("missing parameter `id`"), "{text}");
    assert!(lines[2].contains("no route is named `nope`"), "{text}");
}

#[tokio::test]
async fn app_service_url_for_builds_named_urls() {
    let app = App::new()
        .route("/post/<int:id>", get(|| async { "" }).name("post"))
        .route("/files/<path:name>", get(|| async { "" }).name("file"));
    let client = TestClient::new(app);
    let service = client.service();
    assert_eq!(service.url_for("post", [("id", 3)]).unwrap(), "/post/3");
    assert_eq!(
        service
            .url_for("file", [("name", "docs/read me.txt"), ("_anchor", "top")])
            .unwrap(),
        "/files/docs/read%20me.txt#top"
    );
    let err = service.url_for("post", [("id", "seven")]).unwrap_err();
    assert!(
        err.chain().join(" ").contains("`int` converter"),
        "{:?}",
        err
    );
    let err = service
        .url_for("missing", Vec::<(String, String)>::new())
        .unwrap_err();
    assert!(err.chain().join(" ").contains("`missing`"), "{:?}", err);
}

#[tokio::test]
async fn url_for_never_builds_a_protocol_relative_url_from_a_path_value() {
    let app = App::new().route(
        "/<path:p>",
        get(|Path(p): Path<String>| async move { p }).name("page"),
    );
    let client = TestClient::new(app);
    let url = client
        .service()
        .url_for("page", [("p", "/evil.com/x")])
        .unwrap();
    assert_eq!(url, "/%2Fevil.com/x");
    // The built URL leads back to the same value.
    assert_eq!(client.get(&url).send().await.text(), "/evil.com/x");
}

#[tokio::test]
async fn url_for_in_templates_encodes_and_adds_query() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("links.txt"),
        "{{ url_for('user', name='a b/c', page=2, q='x&y') }}",
    )
    .unwrap();
    let app = App::new()
        .settings(settings_with_templates(dir.path(), false))
        .route("/user/<name>", get(|| async { "" }).name("user"))
        .route(
            "/links",
            get(|| async { flagon_web::render("links.txt", flagon_web::context! {}) }),
        );
    let client = TestClient::new(app);
    let response = client.get("/links").send().await;
    assert_eq!(response.status(), 200, "{}", response.text());
    assert_eq!(response.text(), "/user/a%20b%2Fc?page=2&q=x%26y");
}

#[tokio::test]
async fn url_for_in_templates_with_unknown_name_is_500_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.html"), "{{ url_for('nope') }}").unwrap();
    let app = App::new()
        .settings(settings_with_templates(dir.path(), true))
        .route(
            "/bad",
            get(|| async { flagon_web::render("bad.html", flagon_web::context! {}) }),
        );
    let client = TestClient::new(app);
    let response = client.get("/bad").send().await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        response.text().contains("no route is named `nope`"),
        "{}",
        response.text()
    );
}

#[tokio::test]
async fn url_for_in_templates_with_missing_parameter_is_500_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.html"), "{{ url_for('post') }}").unwrap();
    let app = App::new()
        .settings(settings_with_templates(dir.path(), false))
        .route("/post/<int:id>", get(|| async { "" }).name("post"))
        .route(
            "/bad",
            get(|| async { flagon_web::render("bad.html", flagon_web::context! {}) }),
        );
    let client = TestClient::new(app);
    let response = client.get("/bad").send().await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let error = response.error().expect("the 500 keeps its error");
    let chain = error.chain().join(" ");
    assert!(chain.contains("missing parameter `id`"), "{chain}");
    // Production pages do not show the details.
    assert!(!response.text().contains("missing parameter"));
}

#[tokio::test]
async fn head_is_answered_by_get_without_a_body() {
    let app = App::new().route("/page", get(|| async { ([("x-from", "get")], "a body") }));
    let client = TestClient::new(app);
    let response = client.head("/page").send().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.header("x-from"), Some("get"));
    assert!(response.bytes().is_empty(), "{:?}", response.text());
}

#[tokio::test]
async fn options_is_answered_with_allow() {
    let app = App::new().route("/thing", get(|| async { "" }).post(|| async { "" }));
    let client = TestClient::new(app);
    let response = client.options("/thing").send().await;
    assert_eq!(response.status(), StatusCode::OK);
    let allow = response.header("allow").unwrap_or_default();
    for method in ["GET", "HEAD", "POST", "OPTIONS"] {
        assert!(allow.contains(method), "{allow}");
    }
    assert!(!allow.contains("DELETE"), "{allow}");
}

#[tokio::test]
async fn wrong_method_is_405_with_allow() {
    let app = App::new().route("/only-get", get(|| async { "" }));
    let client = TestClient::new(app);
    let response = client.delete("/only-get").send().await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let allow = response.header("allow").unwrap_or_default();
    assert!(allow.contains("GET") && allow.contains("HEAD"), "{allow}");
    assert!(!allow.contains("DELETE"), "{allow}");
}

#[tokio::test]
async fn missing_trailing_slash_redirects_with_308_keeping_the_query() {
    let app = App::new().route("/about/", get(|| async { "about" }));
    let client = TestClient::new(app);
    let response = client.get("/about?lang=fr&x=1").send().await;
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(response.header("location"), Some("/about/?lang=fr&x=1"));
    let response = client.get("/about").send().await;
    assert_eq!(response.header("location"), Some("/about/"));
    assert_eq!(client.get("/about/").send().await.text(), "about");
}

#[tokio::test]
async fn extra_trailing_slash_is_404() {
    let app = App::new().route("/about", get(|| async { "about" }));
    let client = TestClient::new(app);
    assert_eq!(client.get("/about").send().await.status(), 200);
    assert_eq!(
        client.get("/about/").send().await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn malformed_percent_encoding_is_400() {
    let app = App::new().route("/<name>", get(|| async { "matched" }));
    let client = TestClient::new(app);
    let response = client.get("/a%zz").send().await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response.text().contains("percent-encoding"),
        "{}",
        response.text()
    );
}

#[tokio::test]
async fn invalid_utf8_in_path_is_400() {
    let app = App::new().route("/<name>", get(|| async { "matched" }));
    let client = TestClient::new(app);
    let response = client.get("/%FF").send().await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().contains("UTF-8"), "{}", response.text());
}

#[tokio::test]
async fn mounted_app_sees_paths_without_the_prefix() {
    let api = App::new()
        .route(
            "/status",
            get(|request: Request| async move { format!("api status at {}", request.uri()) }),
        )
        .route("/", get(|| async { "api root" }))
        .settings(test_settings())
        .build()
        .unwrap();
    let app = App::new()
        .route("/status", get(|| async { "outer status" }))
        .mount("/api", api);
    let client = TestClient::new(app);
    assert_eq!(
        client.get("/api/status?x=1").send().await.text(),
        "api status at /status?x=1"
    );
    assert_eq!(client.get("/api").send().await.text(), "api root");
    assert_eq!(client.get("/status").send().await.text(), "outer status");
    // A path that merely starts with the prefix text is not under it.
    assert_eq!(client.get("/apistatus").send().await.status(), 404);
}

#[tokio::test]
async fn mounted_tower_service_sees_paths_without_the_prefix() {
    let service = tower::service_fn(|request: Request| async move {
        Ok::<_, Infallible>(Html(format!(
            "{} {}",
            request.method(),
            request.uri().path()
        )))
    });
    let app = App::new()
        .route("/", post(|| async { "root" }))
        .mount("/svc/", service);
    let client = TestClient::new(app);
    let response = client.get("/svc/deep/path").send().await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text(), "GET /deep/path");
    assert_eq!(client.get("/svc").send().await.text(), "GET /");
}

#[tokio::test]
async fn one_path_may_be_registered_twice_for_different_methods() {
    let app = App::new()
        .route("/thing", get(|| async { "got" }))
        .route("/thing", post(|| async { "posted" }).csrf_exempt());
    let client = TestClient::new(app);
    assert_eq!(client.get("/thing").send().await.text(), "got");
    assert_eq!(client.post("/thing").send().await.text(), "posted");
    let response = client.put("/thing").send().await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let allow = response.header("allow").unwrap_or_default();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");

    let err = App::new()
        .settings(test_settings())
        .route("/thing", get(|| async { "a" }))
        .route("/thing", get(|| async { "b" }))
        .build()
        .expect_err("the same method twice is refused");
    assert!(
        err.chain().join(" ").contains("registered twice"),
        "{err:?}"
    );
}

#[tokio::test]
async fn one_method_twice_on_one_route_is_a_build_error() {
    let err = App::new()
        .settings(test_settings())
        .route(
            "/thing/<int:id>",
            get(|| async { "a" })
                .post(|| async { "p" })
                .get(|| async { "b" }),
        )
        .build()
        .expect_err("get(a).get(b) is refused");
    let text = err.chain().join(" ");
    assert!(
        text.contains("`/thing/<int:id>`") && text.contains("GET twice"),
        "{text}"
    );
}

#[tokio::test]
async fn routes_of_the_same_shape_with_a_common_method_are_a_build_error() {
    let err = App::new()
        .settings(test_settings())
        .route("/a/<int:x>", get(|| async { "x" }))
        .route("/a/<int:y>", get(|| async { "y" }).post(|| async { "" }))
        .build()
        .expect_err("the second route could never answer GET");
    let text = err.chain().join(" ");
    assert!(
        text.contains("`/a/<int:x>`") && text.contains("`/a/<int:y>`") && text.contains("GET"),
        "{text}"
    );
    // `str` and `string` are one converter.
    let err = App::new()
        .settings(test_settings())
        .route("/u/<name>/edit", get(|| async { "" }))
        .route("/u/<string:who>/edit", get(|| async { "" }))
        .build()
        .expect_err("same shape");
    assert!(err.chain().join(" ").contains("same shape"), "{err:?}");
    // A blueprint's route is compared with the app's.
    let blog = flagon_web::Blueprint::new("blog", "/blog").route("/<int:id>", get(|| async { "" }));
    let err = App::new()
        .settings(test_settings())
        .route("/blog/<int:post>", get(|| async { "" }))
        .blueprint(blog)
        .build()
        .expect_err("same shape across a blueprint");
    assert!(
        err.chain().join(" ").contains("`/blog/<int:id>`"),
        "{err:?}"
    );
}

#[tokio::test]
async fn routes_of_the_same_shape_may_differ_by_method_or_converter() {
    let app = App::new()
        .route("/a/<int:x>", get(|| async { "int" }))
        .route("/a/<int:y>", post(|| async { "posted" }).csrf_exempt())
        .route("/a/<x>", get(|| async { "str" }))
        .route("/a/<int:x>/<int:y>", get(|| async { "two" }));
    let client = TestClient::new(app);
    assert_eq!(client.get("/a/1").send().await.text(), "int");
    assert_eq!(client.post("/a/1").send().await.text(), "posted");
    assert_eq!(client.get("/a/b").send().await.text(), "str");
    assert_eq!(client.get("/a/1/2").send().await.text(), "two");
}

#[tokio::test]
async fn bad_patterns_are_refused_when_the_app_is_built() {
    for (pattern, reason) in [
        ("no-slash", "must start with `/`"),
        ("/<nope:x>", "unknown converter `nope`"),
        ("/<a>/<a>", "appears twice"),
        ("/file-<id>", "exactly one"),
        ("//<host>", "a single `/`"),
    ] {
        let err = App::new()
            .settings(test_settings())
            .route(pattern, get(|| async { "" }))
            .build()
            .expect_err(pattern);
        let text = err.chain().join(" ");
        assert!(text.contains(reason), "{pattern}: {text}");
    }
}

#[tokio::test]
async fn explicit_head_and_options_handlers_win() {
    let app = App::new().route(
        "/r",
        get(|| async { "get" })
            .head(|| async { ([("x-head", "own")], "") })
            .options(|| async { ([("allow", "GET")], "custom options") }),
    );
    let client = TestClient::new(app);
    let response = client.head("/r").send().await;
    assert_eq!(response.header("x-head"), Some("own"));
    let response = client.options("/r").send().await;
    assert_eq!(response.text(), "custom options");
    assert_eq!(response.header("allow"), Some("GET"));
}

#[tokio::test]
async fn mounted_app_answers_the_outer_apps_hosts() {
    let api = App::new()
        .route("/status", get(|| async { "api ok" }))
        .settings(test_settings())
        .build()
        .unwrap();
    let app = App::new()
        .settings(Settings {
            allowed_hosts: vec!["example.com".into()],
            ..test_settings()
        })
        .mount("/api", api);
    let client = TestClient::new(app).host("example.com");
    let response = client.get("/api/status").send().await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text());
    assert_eq!(response.text(), "api ok");
    // The outer app still refuses other hosts, for the mounted app too.
    let client = client.host("evil.example");
    assert_eq!(
        client.get("/api/status").send().await.status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn mounted_app_follows_the_outer_apps_debug_setting() {
    // The mounted app is built in debug mode; served by a production app
    // it must not show error details.
    let api = App::new()
        .route(
            "/fail",
            get(|| async { Err::<&str, _>(flagon_web::Error::internal("db password hunter2")) }),
        )
        .settings(Settings {
            debug: true,
            ..test_settings()
        })
        .build()
        .unwrap();
    let client = TestClient::new(App::new().mount("/api", api));
    let response = client.get("/api/fail").send().await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!response.text().contains("hunter2"), "{}", response.text());
}

#[tokio::test]
async fn mounted_app_sees_https_as_the_outer_app_does() {
    let api = App::new()
        .route(
            "/save",
            post(|info: RequestContext| async move { format!("secure={}", info.is_secure()) }),
        )
        .settings(test_settings())
        .build()
        .unwrap();
    let mut settings = test_settings();
    settings.security.secure_proxy_ssl_header = "X-Forwarded-Proto: https".into();
    let client = TestClient::new(App::new().settings(settings).mount("/api", api)).with_csrf();
    // A browser behind the TLS proxy posts with its https Origin.
    let response = client
        .post("/api/save")
        .header("x-forwarded-proto", "https")
        .header("origin", "https://localhost")
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text());
    assert_eq!(response.text(), "secure=true");
}

#[tokio::test]
async fn external_urls_use_the_request_scheme_and_host() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("links.txt"),
        "{{ url_for('post', id=3, _external=true, _anchor='c') }}|{{ url_for('post', id=4) }}",
    )
    .unwrap();
    let app = App::new()
        .settings(settings_with_templates(dir.path(), false))
        .route("/post/<int:id>", get(|| async { "" }).name("post"))
        .route(
            "/links",
            get(|| async { flagon_web::render("links.txt", flagon_web::context! {}) }),
        )
        .route(
            "/rust",
            get(|info: RequestContext| async move {
                info.url_for("post", [("id", "5"), ("_external", "true")])
            }),
        );
    let client = TestClient::new(app).host("localhost:8000");
    let response = client.get("/links").send().await;
    assert_eq!(
        response.text(),
        "http://localhost:8000/post/3#c|/post/4",
        "{}",
        response.text()
    );
    let response = client.get("/rust").send().await;
    assert_eq!(response.text(), "http://localhost:8000/post/5");
    let outside = client
        .service()
        .url_for("post", [("id", "1"), ("_external", "true")]);
    let message = outside.unwrap_err().chain().join(" ");
    assert!(message.contains("needs the request's host"), "{message}");
}
