//! Micro-benchmarks of the web core's hot pieces, each through the public
//! API: a request handled by an app with a 200-route table (static, typed
//! and `path` routes), `url_for`, template rendering, form and query-string
//! parsing, the CSRF check, and decoding a session cookie. The pieces are
//! measured as whole requests through `AppService::handle`; the `baseline`
//! row (one route, a string answer) is what every request costs, so the
//! difference is the piece's own cost.
//!
//! `cargo bench -p flagon-web --bench web`

use criterion::{criterion_group, criterion_main, Criterion};
use flagon_web::http::{header, Method, Request as HttpRequest};
use flagon_web::routing::get;
use flagon_web::{context, post, render, App, AppService, Body, Form, Query, Session, Settings};
use serde::Deserialize;

fn settings() -> Settings {
    Settings {
        debug: false,
        secret_key: flagon_web::settings::Secret::new(
            "bench-secret-key-bench-secret-key-bench-secret-key",
        ),
        ..Settings::default()
    }
}

#[derive(Deserialize)]
struct Signup {
    name: String,
    email: String,
    age: u32,
}

#[derive(Deserialize)]
struct Search {
    q: String,
    page: u32,
}

fn app() -> AppService {
    let mut app =
        App::new()
            .settings(settings())
            .template(
                "page.html",
                "<ul>{% for item in items %}<li>{{ item }}</li>{% endfor %}</ul>",
            )
            .template("form.html", "{{ csrf_token() }}")
            .route("/form", get(|| async { render("form.html", context! {}) }))
            .route("/baseline", get(|| async { "ok" }))
            .route(
                "/page",
                get(|| async {
                    render(
                        "page.html",
                        context! { items => vec!["a <b>", "c & d", "e"] },
                    )
                }),
            )
            .route(
                "/signup",
                post(|Form(form): Form<Signup>| async move {
                    format!("{}{}{}", form.name, form.email, form.age)
                })
                .csrf_exempt(),
            )
            .route(
                "/protected",
                post(|Form(form): Form<Signup>| async move { form.name }),
            )
            .route(
                "/search",
                get(|Query(search): Query<Search>| async move {
                    format!("{}{}", search.q, search.page)
                }),
            )
            .route(
                "/visits",
                get(|session: Session| async move {
                    let visits: u32 = session.get("visits").unwrap_or(0);
                    visits.to_string()
                }),
            )
            .route(
                "/count",
                get(|session: Session| async move {
                    let _ = session.insert("visits", 7_u32);
                    "ok"
                }),
            );
    for i in 0..67 {
        app = app
            .route(&format!("/static/page{i}/about"), get(|| async { "ok" }))
            .route(
                &format!("/items{i}/<int:id>"),
                get(|| async { "ok" }).name(format!("item{i}")),
            )
            .route(&format!("/files{i}/<path:rest>"), get(|| async { "ok" }));
    }
    app.build().expect("the app builds")
}

fn request(
    method: Method,
    uri: &str,
    cookie: Option<&str>,
    form: Option<&str>,
) -> flagon_web::Request {
    let mut builder = HttpRequest::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "127.0.0.1:8000");
    if let Some(cookie) = cookie {
        builder = builder.header(header::COOKIE, cookie);
    }
    let body = match form {
        Some(form) => {
            builder = builder.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Body::from(form.to_owned())
        }
        None => Body::empty(),
    };
    builder.body(body).expect("a request")
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let service = app();
    let call =
        |method: Method, uri: &'static str, cookie: Option<String>, form: Option<&'static str>| {
            let service = service.clone();
            move || {
                let request = request(method.clone(), uri, cookie.as_deref(), form);
                let service = service.clone();
                async move {
                    let response = service.handle(request).await;
                    assert!(
                        response.status().is_success(),
                        "{uri}: {}",
                        response.status()
                    );
                    response
                }
            }
        };

    c.bench_function("baseline: one route, a string answer", |b| {
        b.to_async(&runtime)
            .iter(call(Method::GET, "/baseline", None, None))
    });
    c.bench_function("route 200 routes: static", |b| {
        b.to_async(&runtime)
            .iter(call(Method::GET, "/static/page60/about", None, None))
    });
    c.bench_function("route 200 routes: typed <int:id>", |b| {
        b.to_async(&runtime)
            .iter(call(Method::GET, "/items60/12345", None, None))
    });
    c.bench_function("route 200 routes: <path:rest>", |b| {
        b.to_async(&runtime)
            .iter(call(Method::GET, "/files60/a/b/c.txt", None, None))
    });
    c.bench_function("url_for in a 200-route app", |b| {
        b.iter(|| service.url_for("item60", [("id", "42")]).expect("a URL"))
    });
    c.bench_function("template render (a loop, escaping)", |b| {
        b.to_async(&runtime)
            .iter(call(Method::GET, "/page", None, None))
    });
    c.bench_function("form parsing (3 fields)", |b| {
        b.to_async(&runtime).iter(call(
            Method::POST,
            "/signup",
            None,
            Some("name=Ann+Lee&email=ann%40example.com&age=42"),
        ))
    });
    c.bench_function("query-string parsing (2 fields)", |b| {
        b.to_async(&runtime)
            .iter(call(Method::GET, "/search?q=rust+web&page=3", None, None))
    });

    // A session cookie and a CSRF cookie + token, as a browser holds them.
    let (session_cookie, csrf_cookie, token) = runtime.block_on(async {
        let response = service
            .handle(request(Method::GET, "/count", None, None))
            .await;
        let session = set_cookie(&response, "session");
        let form = service
            .handle(request(Method::GET, "/form", None, None))
            .await;
        let cookie_name = service.settings().csrf.cookie_name.clone();
        let csrf = set_cookie(&form, &cookie_name);
        let body = http_body_util::BodyExt::collect(form.into_body())
            .await
            .expect("the page")
            .to_bytes();
        let token = String::from_utf8_lossy(&body).trim().to_owned();
        (session, csrf, token)
    });
    let csrf_form: &'static str =
        Box::leak(format!("csrf_token={token}&name=Ann&email=a%40b.c&age=1").into_boxed_str());
    c.bench_function("session cookie decode (signed cookie store)", |b| {
        b.to_async(&runtime).iter(call(
            Method::GET,
            "/visits",
            Some(session_cookie.clone()),
            None,
        ))
    });
    c.bench_function("CSRF check (cookie + form token)", |b| {
        b.to_async(&runtime).iter(call(
            Method::POST,
            "/protected",
            Some(csrf_cookie.clone()),
            Some(csrf_form),
        ))
    });
}

fn set_cookie(response: &flagon_web::Response, name: &str) -> String {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .and_then(|value| value.split(';').next())
        .expect("the cookie is set")
        .to_owned()
}

criterion_group!(web, benches);
criterion_main!(web);
