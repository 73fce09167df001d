//! The TechEmpower fortunes page (twelve rows plus one added, sorted by
//! message, an HTML table with escaping) rendered four ways: a hand-built
//! `String` with escaping (what `bench/axum-baseline` does), minijinja on
//! its own with the rows serialized into values, and Flagon's template path
//! as a whole request through `AppService::handle` (a handler returning
//! `render("fortunes.html", context! { fortunes })`, and with
//! `context! { fortunes => rows(fortunes) }`), next to a request
//! answering a plain string (what every request costs without a template).
//! Every variant clones the rows, adds one and sorts them, as a handler
//! does with what the database returned.
//!
//! `cargo bench -p flagon-web --bench templates`

use std::sync::LazyLock;

use criterion::{criterion_group, criterion_main, Criterion};
use flagon_web::http::{header, Method, Request as HttpRequest};
use flagon_web::routing::get;
use flagon_web::templates::rows;
use flagon_web::{context, render, App, AppService, Body, Settings};
use serde::Serialize;

const TEMPLATE: &str = "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table><tr><th>id</th><th>message</th></tr>{% for fortune in fortunes %}<tr><td>{{ fortune.id }}</td><td>{{ fortune.message }}</td></tr>{% endfor %}</table></body></html>";

const MESSAGES: [&str; 12] = [
    "fortune: No such file or directory",
    "A computer scientist is someone who fixes things that aren't broken.",
    "After enough decimal places, nobody gives a damn.",
    "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1",
    "A computer program does what you tell it to do, not what you want it to do.",
    "Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen",
    "Any program that runs right is obsolete.",
    "A list is only as strong as its weakest link. — Donald Knuth",
    "Feature: A bug with seniority.",
    "Computers make very fast, very accurate mistakes.",
    "<script>alert(\"This should not be displayed in a browser alert box.\");</script>",
    "フレームワークのベンチマーク",
];

#[derive(Clone, Serialize)]
struct Fortune {
    id: i32,
    message: String,
}

static ROWS: LazyLock<Vec<Fortune>> = LazyLock::new(|| {
    (1..)
        .zip(MESSAGES)
        .map(|(id, message)| Fortune {
            id,
            message: message.to_owned(),
        })
        .collect()
});

/// What a fortunes handler holds after its query: the rows, one more, sorted.
fn loaded() -> Vec<Fortune> {
    let mut fortunes = ROWS.clone();
    fortunes.push(Fortune {
        id: 0,
        message: "Additional fortune added at request time.".to_owned(),
    });
    fortunes.sort_by(|a, b| a.message.cmp(&b.message));
    fortunes
}

fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
}

/// `bench/axum-baseline`'s page.
fn hand_built(fortunes: &[Fortune]) -> String {
    let mut page = String::with_capacity(2048);
    page.push_str("<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table><tr><th>id</th><th>message</th></tr>");
    for fortune in fortunes {
        page.push_str("<tr><td>");
        page.push_str(&fortune.id.to_string());
        page.push_str("</td><td>");
        escape(&fortune.message, &mut page);
        page.push_str("</td></tr>");
    }
    page.push_str("</table></body></html>");
    page
}

fn app() -> AppService {
    App::new()
        .settings(Settings {
            debug: false,
            secret_key: flagon_web::settings::Secret::new(
                "bench-secret-key-bench-secret-key-bench-secret-key",
            ),
            ..Settings::default()
        })
        .template("fortunes.html", TEMPLATE)
        .route("/baseline", get(|| async { "ok" }))
        .route(
            "/fortunes",
            get(|| async {
                let fortunes = loaded();
                render("fortunes.html", context! { fortunes })
            }),
        )
        .route(
            "/fortunes-rows",
            get(|| async {
                let fortunes = loaded();
                render("fortunes.html", context! { fortunes => rows(fortunes) })
            }),
        )
        .build()
        .expect("the app builds")
}

fn request(uri: &str) -> flagon_web::Request {
    HttpRequest::builder()
        .method(Method::GET)
        .uri(uri)
        .header(header::HOST, "127.0.0.1:8000")
        .body(Body::empty())
        .expect("a request")
}

fn benches(c: &mut Criterion) {
    let expected = hand_built(&loaded());

    c.bench_function("fortunes: hand-built String (axum baseline)", |b| {
        b.iter(|| hand_built(&loaded()))
    });

    let mut env = minijinja::Environment::new();
    env.add_template("fortunes.html", TEMPLATE)
        .expect("the template");
    c.bench_function("fortunes: minijinja alone, serde values", |b| {
        b.iter(|| {
            let fortunes = loaded();
            env.get_template("fortunes.html")
                .expect("the template")
                .render(minijinja::context! { fortunes })
                .expect("the page")
        })
    });

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let service = app();
    for uri in ["/fortunes", "/fortunes-rows"] {
        let page = runtime.block_on(async {
            let response = service.handle(request(uri)).await;
            let body = http_body_util::BodyExt::collect(response.into_body())
                .await
                .expect("the page")
                .to_bytes();
            String::from_utf8(body.to_vec()).expect("UTF-8")
        });
        assert_eq!(page, expected, "{uri} renders the hand-built page");
    }
    for (name, uri) in [
        ("fortunes: Flagon request, a string answer", "/baseline"),
        ("fortunes: Flagon request, render + context!", "/fortunes"),
        (
            "fortunes: Flagon request, render + context! + rows()",
            "/fortunes-rows",
        ),
    ] {
        c.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| {
                let service = service.clone();
                async move {
                    let response = service.handle(request(uri)).await;
                    assert!(response.status().is_success(), "{uri}");
                    response
                }
            })
        });
    }
}

criterion_group!(templates, benches);
criterion_main!(templates);
