//! Extractors: Path, Query, Form, Json, Multipart, State, headers, raw
//! bodies and optional extractors, with the errors each gives.

use bytes::Bytes;
use flagon_web::testing::{test_settings, MultipartForm, TestClient};
use flagon_web::{
    get, post, App, ErrorReport, Extension, Form, HeaderMap, Json, Method, Multipart, Path, Query,
    Request, Settings, State, StatusCode, Uri,
};
use serde::{Deserialize, Serialize};

fn with_limits(max_body_size: usize, max_upload_size: usize) -> Settings {
    let mut settings = test_settings();
    settings.limits.max_body_size = max_body_size;
    settings.limits.max_upload_size = max_upload_size;
    settings
}

#[derive(Deserialize)]
struct PostKey {
    year: u32,
    slug: String,
}

#[tokio::test]
async fn path_extracts_a_single_value() {
    let app = App::new().route(
        "/n/<int:n>",
        get(|Path(n): Path<u32>| async move { (n * 2).to_string() }),
    );
    let client = TestClient::new(app);
    assert_eq!(client.get("/n/21").send().await.text(), "42");
}

#[tokio::test]
async fn path_extracts_a_tuple_in_route_order() {
    let app = App::new().route(
        "/post/<int:year>/<slug>",
        get(|Path((year, slug)): Path<(u32, String)>| async move { format!("{slug}@{year}") }),
    );
    let client = TestClient::new(app);
    assert_eq!(
        client.get("/post/2024/hello").send().await.text(),
        "hello@2024"
    );
}

#[tokio::test]
async fn path_extracts_a_struct_by_name() {
    let app = App::new().route(
        "/post/<slug>/<int:year>",
        get(|Path(key): Path<PostKey>| async move { format!("{}/{}", key.year, key.slug) }),
    );
    let client = TestClient::new(app);
    assert_eq!(
        client.get("/post/hello/2024").send().await.text(),
        "2024/hello"
    );
}

#[tokio::test]
async fn path_value_that_does_not_parse_is_400_naming_the_parameter() {
    // `<name>` accepts any text, the handler wants a small number.
    let app = App::new().route(
        "/age/<age>",
        get(|Path(age): Path<u8>| async move { age.to_string() }),
    );
    let client = TestClient::new(app);
    let response = client.get("/age/300").send().await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().contains("`age`"), "{}", response.text());
    assert_eq!(client.get("/age/30").send().await.text(), "30");
}

#[derive(Deserialize)]
struct Search {
    q: String,
    page: Option<u32>,
    #[serde(default)]
    tag: Vec<String>,
}

#[tokio::test]
async fn query_is_deserialized() {
    let app = App::new().route(
        "/search",
        get(|Query(search): Query<Search>| async move {
            format!(
                "{} p{} [{}]",
                search.q,
                search.page.unwrap_or(1),
                search.tag.join(",")
            )
        }),
    );
    let client = TestClient::new(app);
    assert_eq!(
        client
            .get("/search?q=rust%20web&page=3&tag=a&tag=b")
            .send()
            .await
            .text(),
        "rust web p3 [a,b]"
    );
    let response = client.get("/search?page=2").send().await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().contains("`q`"), "{}", response.text());
    let response = client.get("/search?q=x&page=two").send().await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().contains("page"), "{}", response.text());
}

#[derive(Deserialize, Serialize)]
struct Login {
    username: String,
    password: String,
}

fn login_app() -> App {
    App::new().route(
        "/login",
        post(|Form(form): Form<Login>| async move {
            format!("{}:{}", form.username, form.password.len())
        }),
    )
}

#[tokio::test]
async fn form_is_deserialized_from_an_urlencoded_body() {
    let client = TestClient::new(login_app()).with_csrf();
    let response = client
        .post("/login")
        .form(&[("username", "ann & bob"), ("password", "s3cret")])
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text());
    assert_eq!(response.text(), "ann & bob:6");
}

#[tokio::test]
async fn form_missing_field_is_400_naming_it() {
    let client = TestClient::new(login_app()).with_csrf();
    let response = client
        .post("/login")
        .form(&[("username", "ann")])
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().contains("password"), "{}", response.text());
}

#[tokio::test]
async fn form_with_another_content_type_is_415() {
    let client = TestClient::new(login_app()).with_csrf();
    let response = client
        .post("/login")
        .json(&serde_json::json!({"username": "a", "password": "b"}))
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[derive(Debug, Deserialize, Serialize)]
struct NewTodo {
    title: String,
    priority: u8,
}

fn todo_app() -> App {
    App::new().route(
        "/todos",
        post(|Json(todo): Json<NewTodo>| async move {
            (
                StatusCode::CREATED,
                Json(serde_json::json!({"title": todo.title, "priority": todo.priority})),
            )
        }),
    )
}

#[tokio::test]
async fn json_body_is_deserialized() {
    let client = TestClient::new(todo_app()).with_csrf();
    let response = client
        .post("/todos")
        .json(&NewTodo {
            title: "write tests".into(),
            priority: 2,
        })
        .send()
        .await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{}",
        response.text()
    );
    let body: serde_json::Value = response.json();
    assert_eq!(body["title"], "write tests");
    assert_eq!(body["priority"], 2);
}

#[tokio::test]
async fn malformed_json_is_400_saying_where() {
    let client = TestClient::new(todo_app()).with_csrf();
    let response = client
        .post("/todos")
        .header("content-type", "application/json")
        .body("{\"title\": \"x\",\n \"priority\": }")
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let text = response.text();
    assert!(text.contains("line 2") && text.contains("column"), "{text}");
}

#[tokio::test]
async fn json_of_the_wrong_shape_is_422_naming_the_field() {
    let client = TestClient::new(todo_app()).with_csrf();
    let response = client
        .post("/todos")
        .json(&serde_json::json!({"title": "x", "priority": "high"}))
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response.text().contains("`priority`"),
        "{}",
        response.text()
    );
    let response = client
        .post("/todos")
        .json(&serde_json::json!({"priority": 1}))
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().contains("title"), "{}", response.text());
}

#[tokio::test]
async fn json_with_another_content_type_is_415() {
    let client = TestClient::new(todo_app()).with_csrf();
    let response = client
        .post("/todos")
        .header("content-type", "text/plain")
        .body(r#"{"title": "x", "priority": 1}"#)
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(response.text().contains("JSON"), "{}", response.text());
}

async fn upload(mut form: Multipart) -> flagon_web::Result<String> {
    let mut report = Vec::new();
    while let Some(field) = form.next_field().await? {
        let name = field.name().unwrap_or("?").to_owned();
        match field.file_name().map(str::to_owned) {
            Some(file_name) => {
                let content_type = field.content_type().unwrap_or("?").to_owned();
                let data = field.bytes().await?;
                report.push(format!(
                    "{name}: file {file_name} ({content_type}) {} bytes, starts {:?}",
                    data.len(),
                    &data[..data.len().min(4)]
                ));
            }
            None => report.push(format!("{name}: {}", field.text().await?)),
        }
    }
    Ok(report.join("\n"))
}

#[tokio::test]
async fn multipart_reads_text_and_file_fields() {
    let client = TestClient::new(App::new().route("/upload", post(upload))).with_csrf();
    let response = client
        .post("/upload")
        .multipart(MultipartForm::new().text("title", "Holiday").file(
            "photo",
            "beach.jpg",
            "image/jpeg",
            vec![0xff, 0xd8, 1, 2, 3],
        ))
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text());
    assert_eq!(
        response.text(),
        "title: Holiday\nphoto: file beach.jpg (image/jpeg) 5 bytes, starts [255, 216, 1, 2]"
    );
}

#[tokio::test]
async fn multipart_over_the_upload_limit_is_413() {
    let app = App::new()
        .settings(with_limits(1024 * 1024, 1000))
        .route("/upload", post(upload));
    let client = TestClient::new(app).with_csrf();
    let response = client
        .post("/upload")
        .multipart(MultipartForm::new().file(
            "big",
            "big.bin",
            "application/octet-stream",
            vec![7u8; 5000],
        ))
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Under the limit the same route works.
    let response = client
        .post("/upload")
        .multipart(MultipartForm::new().file(
            "small",
            "s.bin",
            "application/octet-stream",
            vec![7u8; 10],
        ))
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text());
}

#[tokio::test]
async fn body_over_the_body_limit_is_413() {
    let app = App::new()
        .settings(with_limits(100, 100))
        .route("/echo", post(|body: String| async move { body }));
    let client = TestClient::new(app).with_csrf();
    let response = client.post("/echo").body("x".repeat(101)).send().await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.text().contains("100"), "{}", response.text());
    let response = client.post("/echo").body("x".repeat(100)).send().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().len(), 100);
}

#[tokio::test]
async fn declared_content_length_over_the_limits_is_413_at_once() {
    let app = App::new()
        .settings(with_limits(100, 200))
        .route("/echo", post(|| async { "handler ran" }).csrf_exempt());
    let client = TestClient::new(app);
    let response = client
        .post("/echo")
        .header("content-length", "1000000")
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(!response.text().contains("handler ran"));
}

#[derive(Clone)]
struct Greeting(&'static str);

#[derive(Clone)]
struct NeverRegistered;

#[tokio::test]
async fn state_is_shared_with_handlers() {
    let app = App::new()
        .state(Greeting("bonjour"))
        .route("/", get(|State(g): State<Greeting>| async move { g.0 }));
    let client = TestClient::new(app);
    assert_eq!(client.get("/").send().await.text(), "bonjour");
}

#[tokio::test]
async fn missing_state_is_500_naming_the_type() {
    let app = App::new()
        .settings(Settings {
            debug: true,
            ..test_settings()
        })
        .route(
            "/",
            get(|State(_): State<NeverRegistered>| async move { "unreachable" }),
        );
    let client = TestClient::new(app);
    let response = client.get("/").send().await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        response.text().contains("NeverRegistered"),
        "{}",
        response.text()
    );
}

#[tokio::test]
async fn headers_method_and_uri_are_extractors() {
    let app = App::new().route(
        "/h",
        get(|headers: HeaderMap, method: Method, uri: Uri| async move {
            format!(
                "{} {} {}",
                method,
                uri,
                headers
                    .get("x-trace")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("none")
            )
        }),
    );
    let client = TestClient::new(app);
    assert_eq!(
        client
            .get("/h?a=1")
            .header("x-trace", "abc")
            .send()
            .await
            .text(),
        "GET /h?a=1 abc"
    );
}

#[tokio::test]
async fn raw_request_gives_everything() {
    let app = App::new().route(
        "/raw",
        post(|request: Request| async move {
            let method = request.method().clone();
            let kind = request
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let body = request.into_body().to_bytes(1024).await?;
            Ok::<_, flagon_web::Error>(format!(
                "{method} {kind} {}",
                String::from_utf8_lossy(&body)
            ))
        }),
    );
    let client = TestClient::new(app).with_csrf();
    let response = client
        .post("/raw")
        .header("content-type", "text/csv")
        .body("a,b")
        .send()
        .await;
    assert_eq!(response.text(), "POST text/csv a,b");
}

#[tokio::test]
async fn bytes_and_string_read_the_body() {
    let app = App::new()
        .route(
            "/bytes",
            post(|body: Bytes| async move { format!("{} bytes", body.len()) }),
        )
        .route(
            "/string",
            post(|body: String| async move { body.to_uppercase() }),
        );
    let client = TestClient::new(app).with_csrf();
    assert_eq!(
        client
            .post("/bytes")
            .body(vec![0u8, 159, 146, 150])
            .send()
            .await
            .text(),
        "4 bytes"
    );
    assert_eq!(
        client.post("/string").body("hello").send().await.text(),
        "HELLO"
    );
    let response = client
        .post("/string")
        .body(vec![0u8, 159, 146, 150])
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().contains("UTF-8"), "{}", response.text());
}

#[derive(Deserialize)]
struct Page {
    page: u32,
}

#[tokio::test]
async fn an_optional_extractor_is_none_only_when_the_thing_is_absent() {
    let app = App::new().route(
        "/list",
        get(|query: Option<Query<Page>>| async move {
            match query {
                Some(Query(p)) => format!("page {}", p.page),
                None => "first page".to_owned(),
            }
        }),
    );
    let client = TestClient::new(app);
    assert_eq!(client.get("/list?page=4").send().await.text(), "page 4");
    assert_eq!(client.get("/list").send().await.text(), "first page");
    // Present but malformed: the 400 it would be without the Option.
    let response = client.get("/list?page=x").send().await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().contains("page"), "{}", response.text());
    let response = client.get("/list?").send().await;
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "an empty query is present"
    );
}

#[tokio::test]
async fn optional_body_extractors_are_none_without_a_body_and_4xx_when_malformed() {
    let app = App::new()
        .route(
            "/json",
            post(|body: Option<Json<Page>>| async move {
                match body {
                    Some(Json(p)) => format!("page {}", p.page),
                    None => "no body".to_owned(),
                }
            }),
        )
        .route(
            "/form",
            post(|body: Option<Form<Page>>| async move {
                match body {
                    Some(Form(p)) => format!("page {}", p.page),
                    None => "no form".to_owned(),
                }
            }),
        )
        .route(
            "/state",
            get(
                |state: Option<State<u64>>,
                 ext: Option<Extension<String>>,
                 report: Option<ErrorReport>| async move {
                    format!("{} {} {}", state.is_some(), ext.is_some(), report.is_some())
                },
            ),
        );
    let client = TestClient::new(app).with_csrf();
    assert_eq!(client.post("/json").send().await.text(), "no body");
    assert_eq!(
        client
            .post("/json")
            .json(&serde_json::json!({"page": 2}))
            .send()
            .await
            .text(),
        "page 2"
    );
    let malformed = client
        .post("/json")
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await;
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let wrong_shape = client
        .post("/json")
        .json(&serde_json::json!({"page": "x"}))
        .send()
        .await;
    assert_eq!(wrong_shape.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let wrong_type = client
        .post("/json")
        .header("content-type", "text/plain")
        .body("hi")
        .send()
        .await;
    assert_eq!(wrong_type.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    assert_eq!(client.post("/form").send().await.text(), "no form");
    assert_eq!(
        client
            .post("/form")
            .form(&[("page", "3")])
            .send()
            .await
            .text(),
        "page 3"
    );
    assert_eq!(
        client
            .post("/form")
            .form(&[("page", "x")])
            .send()
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        client.get("/state").send().await.text(),
        "false false false"
    );
}

#[tokio::test]
async fn result_extractor_hands_the_error_to_the_handler() {
    let app = App::new().route(
        "/list",
        get(|query: Result<Query<Page>, flagon_web::Error>| async move {
            match query {
                Ok(Query(p)) => format!("page {}", p.page),
                Err(err) => format!("{} {}", err.status().as_u16(), err.message()),
            }
        }),
    );
    let client = TestClient::new(app);
    assert_eq!(client.get("/list?page=2").send().await.text(), "page 2");
    let text = client.get("/list?page=x").send().await.text();
    assert!(text.starts_with("400 ") && text.contains("page"), "{text}");
}

#[tokio::test]
async fn form_on_get_reads_the_query_string() {
    let app = App::new().route(
        "/search",
        get(|Form(search): Form<Search>| async move { search.q }),
    );
    let client = TestClient::new(app);
    assert_eq!(client.get("/search?q=hello").send().await.text(), "hello");
    assert_eq!(
        client.get("/search").send().await.status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn multipart_with_another_content_type_is_415() {
    let client = TestClient::new(App::new().route("/upload", post(upload))).with_csrf();
    let response = client.post("/upload").form(&[("title", "x")]).send().await;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(response.text().contains("multipart"), "{}", response.text());
}

#[tokio::test]
async fn path_arity_mismatch_is_a_server_error() {
    let app = App::new().route(
        "/pair/<int:a>/<int:b>",
        get(|Path(a): Path<u32>| async move { a.to_string() }),
    );
    let client = TestClient::new(app);
    let response = client.get("/pair/1/2").send().await;
    assert_eq!(response.status(), 500);
    let chain = response.error().unwrap().chain().join(" ");
    assert!(chain.contains("the route has 2 path parameters"), "{chain}");
}

#[tokio::test]
async fn extension_carries_values_from_middleware() {
    #[derive(Clone)]
    struct User(String);
    async fn load_user(
        mut request: flagon_web::Request,
    ) -> Result<flagon_web::Request, flagon_web::Error> {
        let name = request
            .headers()
            .get("x-user")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("anonymous")
            .to_owned();
        request.extensions_mut().insert(User(name));
        Ok(request)
    }
    let app = App::new()
        .route(
            "/me",
            get(|flagon_web::Extension(user): flagon_web::Extension<User>| async move { user.0 }),
        )
        .before_request(load_user);
    let client = TestClient::new(app);
    assert_eq!(
        client
            .get("/me")
            .header("x-user", "ann")
            .send()
            .await
            .text(),
        "ann"
    );
    assert_eq!(client.get("/me").send().await.text(), "anonymous");

    let without = App::new().route(
        "/me",
        get(|flagon_web::Extension(user): flagon_web::Extension<User>| async move { user.0 }),
    );
    let response = TestClient::new(without).get("/me").send().await;
    assert_eq!(response.status(), 500);
    let chain = response.error().unwrap().chain().join(" ");
    assert!(chain.contains("User"), "{chain}");
}
