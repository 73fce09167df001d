//! The TechEmpower tests with axum 0.8 on tokio-postgres and a deadpool
//! pool, written as the fastest Rust entries write them: the baseline of
//! `bench/run.sh`. Reads `PORT` (8080) and `DATABASE_URL`.
//!
//! Per test:
//! - `/db`: one prepared `SELECT` on a pooled connection.
//! - `/queries?queries=N`: one connection, N prepared `SELECT`s (one
//!   statement each, as the rules want) issued together, so that
//!   tokio-postgres pipelines them (all sent before the first answer is
//!   read).
//! - `/updates?queries=N`: the N reads as in `/queries`, then one `UPDATE
//!   .. FROM UNNEST($1, $2)` statement for all the rows (batching the
//!   writes is allowed; tfb batches them too, with `UPDATE .. CASE`).
//! - `/fortunes`: one prepared `SELECT`, the extra fortune added, sorted,
//!   and the page written by hand with HTML escaping.
//!
//! The server is hyper's HTTP/1 connection builder under axum's router,
//! with `TCP_NODELAY` on every connection and pipelined responses flushed
//! together (`pipeline_flush`), as TechEmpower's axum entry serves. The
//! system allocator, as Flagon uses, so that the comparison is between
//! frameworks and not allocators.

use std::fmt::Write as _;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header::{HeaderValue, CONTENT_TYPE, SERVER};
use axum::http::{Request, StatusCode};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::get;
use axum::Router;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use futures_util::future::try_join_all;
use hyper_util::rt::TokioIo;
use rand::Rng;
use serde::{Deserialize, Serialize};
use tokio_postgres::NoTls;
use tower_service::Service;

const SELECT_WORLD: &str = "SELECT id, randomnumber FROM world WHERE id = $1";
const SELECT_FORTUNES: &str = "SELECT id, message FROM fortune";
const UPDATE_WORLDS: &str = "UPDATE world SET randomnumber = new.randomnumber \
     FROM UNNEST($1::integer[], $2::integer[]) AS new (id, randomnumber) \
     WHERE world.id = new.id";

/// Connections in the pool: the same as tfb's `max_connections`.
const POOL_SIZE: usize = 32;

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

/// The `queries` parameter as the rules read it: 1 to 500, and 1 when it
/// is missing or not a number.
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

/// A failure answered with a 500.
struct Failure(String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(err: E) -> Failure {
        Failure(err.to_string())
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (StatusCode::INTERNAL_SERVER_ERROR, self.0).into_response()
    }
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
    server(
        Json(Message {
            message: "Hello, World!",
        })
        .into_response(),
    )
}

async fn db(State(pool): State<Pool>) -> Result<Response, Failure> {
    let client = pool.get().await?;
    let select = client.prepare_cached(SELECT_WORLD).await?;
    let row = client.query_one(&select, &[&random_id()]).await?;
    let world = World {
        id: row.get(0),
        randomnumber: row.get(1),
    };
    Ok(server(Json(world).into_response()))
}

/// `n` random worlds, read with one statement each, all sent at once on
/// `client`'s connection.
async fn worlds(client: &deadpool_postgres::Client, n: usize) -> Result<Vec<World>, Failure> {
    let select = client.prepare_cached(SELECT_WORLD).await?;
    let reads = (0..n).map(|_| {
        let id = random_id();
        let select = &select;
        async move {
            let row = client.query_one(select, &[&id]).await?;
            Ok::<_, tokio_postgres::Error>(World {
                id: row.get(0),
                randomnumber: row.get(1),
            })
        }
    });
    Ok(try_join_all(reads).await?)
}

async fn queries(
    State(pool): State<Pool>,
    Query(params): Query<Params>,
) -> Result<Response, Failure> {
    let client = pool.get().await?;
    let worlds = worlds(&client, count(&params)).await?;
    Ok(server(Json(worlds).into_response()))
}

async fn updates(
    State(pool): State<Pool>,
    Query(params): Query<Params>,
) -> Result<Response, Failure> {
    let client = pool.get().await?;
    let mut worlds = worlds(&client, count(&params)).await?;
    for world in &mut worlds {
        world.randomnumber = random_id();
    }
    // A row read twice gets one number (one UPDATE cannot set a row
    // twice), and rows are written in key order so that concurrent
    // requests lock them in the same order.
    let mut rows: Vec<(i32, i32)> = worlds.iter().map(|w| (w.id, w.randomnumber)).collect();
    rows.sort_unstable_by_key(|row| row.0);
    rows.dedup_by_key(|row| row.0);
    for world in &mut worlds {
        if let Ok(found) = rows.binary_search_by_key(&world.id, |row| row.0) {
            world.randomnumber = rows[found].1;
        }
    }
    let ids: Vec<i32> = rows.iter().map(|row| row.0).collect();
    let numbers: Vec<i32> = rows.iter().map(|row| row.1).collect();
    let update = client.prepare_cached(UPDATE_WORLDS).await?;
    client.execute(&update, &[&ids, &numbers]).await?;
    Ok(server(Json(worlds).into_response()))
}

fn escape(text: &str, out: &mut String) {
    let mut start = 0;
    for (at, byte) in text.bytes().enumerate() {
        let entity = match byte {
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'&' => "&amp;",
            b'"' => "&quot;",
            b'\'' => "&#x27;",
            _ => continue,
        };
        out.push_str(&text[start..at]);
        out.push_str(entity);
        start = at + 1;
    }
    out.push_str(&text[start..]);
}

async fn fortunes(State(pool): State<Pool>) -> Result<Response, Failure> {
    let client = pool.get().await?;
    let select = client.prepare_cached(SELECT_FORTUNES).await?;
    let mut fortunes: Vec<Fortune> = client
        .query(&select, &[])
        .await?
        .iter()
        .map(|row| Fortune {
            id: row.get(0),
            message: row.get(1),
        })
        .collect();
    drop(client);
    fortunes.push(Fortune {
        id: 0,
        message: "Additional fortune added at request time.".to_owned(),
    });
    fortunes.sort_unstable_by(|a, b| a.message.cmp(&b.message));
    let mut page = String::with_capacity(1280);
    page.push_str("<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table><tr><th>id</th><th>message</th></tr>");
    for fortune in &fortunes {
        let _ = write!(page, "<tr><td>{}</td><td>", fortune.id);
        escape(&fortune.message, &mut page);
        page.push_str("</td></tr>");
    }
    page.push_str("</table></body></html>");
    Ok(server(Html(page).into_response()))
}

fn pool(url: &str) -> Pool {
    let config: tokio_postgres::Config = url.parse().expect("DATABASE_URL");
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(POOL_SIZE)
        .build()
        .expect("the pool")
}

#[tokio::main]
async fn main() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let port = std::env::var("PORT").unwrap_or_else(|_| "8080".to_owned());
    let app = Router::new()
        .route("/plaintext", get(plaintext))
        .route("/json", get(json))
        .route("/db", get(db))
        .route("/queries", get(queries))
        .route("/fortunes", get(fortunes))
        .route("/updates", get(updates))
        .with_state(pool(&url));
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
        .await
        .expect("the port");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        // Without TCP_NODELAY, Nagle's algorithm holds back the second of
        // two small writes until the first is acknowledged.
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                    app.clone().call(request.map(Body::new))
                });
            let _ = hyper::server::conn::http1::Builder::new()
                .pipeline_flush(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
