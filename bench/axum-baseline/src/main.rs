//! The six TechEmpower tests with axum and sqlx, written as directly as
//! possible: the baseline of `bench/run.sh`. Reads `PORT` and `DATABASE_URL`.

use axum::extract::{Query, State};
use axum::http::header::{HeaderValue, CONTENT_TYPE, SERVER};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

#[derive(Serialize)]
struct World {
    id: i32,
    #[serde(rename = "randomNumber")]
    randomnumber: i32,
}

struct Fortune {
    id: i32,
    message: String,
}

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

#[derive(Deserialize)]
struct Params {
    queries: Option<String>,
}

fn count(params: &Params) -> usize {
    params
        .queries
        .as_deref()
        .and_then(|q| q.parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, 500)
}

fn random_id() -> i32 {
    rand::thread_rng().gen_range(1..=10_000)
}

fn server(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(SERVER, HeaderValue::from_static("axum"));
    response
}

async fn plaintext() -> Response {
    server(([(CONTENT_TYPE, "text/plain")], "Hello, World!").into_response())
}

async fn json() -> Response {
    server(Json(Message { message: "Hello, World!" }).into_response())
}

async fn world(pool: &PgPool) -> World {
    let (id, randomnumber) =
        sqlx::query_as::<_, (i32, i32)>("SELECT id, randomnumber FROM world WHERE id = $1")
            .bind(random_id())
            .fetch_one(pool)
            .await
            .expect("a world");
    World { id, randomnumber }
}

async fn db(State(pool): State<PgPool>) -> Response {
    server(Json(world(&pool).await).into_response())
}

async fn queries(State(pool): State<PgPool>, Query(params): Query<Params>) -> Response {
    let mut worlds = Vec::with_capacity(count(&params));
    for _ in 0..count(&params) {
        worlds.push(world(&pool).await);
    }
    server(Json(worlds).into_response())
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

async fn fortunes(State(pool): State<PgPool>) -> Response {
    let mut fortunes: Vec<Fortune> =
        sqlx::query_as::<_, (i32, String)>("SELECT id, message FROM fortune")
            .fetch_all(&pool)
            .await
            .expect("fortunes")
            .into_iter()
            .map(|(id, message)| Fortune { id, message })
            .collect();
    fortunes.push(Fortune {
        id: 0,
        message: "Additional fortune added at request time.".to_owned(),
    });
    fortunes.sort_by(|a, b| a.message.cmp(&b.message));
    let mut page = String::with_capacity(2048);
    page.push_str("<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table><tr><th>id</th><th>message</th></tr>");
    for fortune in &fortunes {
        page.push_str("<tr><td>");
        page.push_str(&fortune.id.to_string());
        page.push_str("</td><td>");
        escape(&fortune.message, &mut page);
        page.push_str("</td></tr>");
    }
    page.push_str("</table></body></html>");
    server(Html(page).into_response())
}

async fn updates(State(pool): State<PgPool>, Query(params): Query<Params>) -> Response {
    let mut worlds = Vec::with_capacity(count(&params));
    for _ in 0..count(&params) {
        let mut world = world(&pool).await;
        world.randomnumber = random_id();
        sqlx::query("UPDATE world SET randomnumber = $1 WHERE id = $2")
            .bind(world.randomnumber)
            .bind(world.id)
            .execute(&pool)
            .await
            .expect("an update");
        worlds.push(world);
    }
    server(Json(worlds).into_response())
}

#[tokio::main]
async fn main() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let port = std::env::var("PORT").unwrap_or_else(|_| "8080".to_owned());
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(32)
        .connect(&url)
        .await
        .expect("the database");
    let app = Router::new()
        .route("/plaintext", get(plaintext))
        .route("/json", get(json))
        .route("/db", get(db))
        .route("/queries", get(queries))
        .route("/fortunes", get(fortunes))
        .route("/updates", get(updates))
        .with_state(pool);
    // TCP_NODELAY, as Flagon's server sets it and as any tuned axum app
    // does: without it, Nagle's algorithm holds back the second of two
    // small writes (pipelined responses) until the first is acknowledged.
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
        .await
        .expect("the port")
        .tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
    axum::serve(listener, app).await.expect("serving");
}
