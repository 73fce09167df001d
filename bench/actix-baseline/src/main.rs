//! The TechEmpower tests with actix-web 4 on tokio-postgres and a deadpool
//! pool, written as the fastest Rust entries write them: a baseline of
//! `bench/run.sh`. Reads `PORT` (8080) and `DATABASE_URL`.
//!
//! Per test (the same as `bench/axum-baseline`):
//! - `/db`: one prepared `SELECT` on a pooled connection.
//! - `/queries?queries=N`: one connection, N prepared `SELECT`s (one
//!   statement each, as the rules want) issued together, so that
//!   tokio-postgres pipelines them.
//! - `/updates?queries=N`: the N reads as in `/queries`, then one `UPDATE
//!   .. FROM UNNEST($1, $2)` statement for all the rows.
//! - `/fortunes`: one prepared `SELECT`, the extra fortune added, sorted,
//!   and the page written by hand with HTML escaping.
//!
//! One worker per core the process may run on (`available_parallelism`,
//! which follows `taskset`: one under `bench/run.sh`), each with its own
//! pool, `TCP_NODELAY` on every connection, the system allocator.

use std::fmt::Write as _;

use actix_web::body::MessageBody;
use actix_web::http::header::{HeaderValue, CONTENT_TYPE, SERVER};
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpResponse, HttpServer, ResponseError};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use futures_util::future::try_join_all;
use rand::Rng;
use serde::{Deserialize, Serialize};
use tokio_postgres::NoTls;

const SELECT_WORLD: &str = "SELECT id, randomnumber FROM world WHERE id = $1";
const SELECT_FORTUNES: &str = "SELECT id, message FROM fortune";
const UPDATE_WORLDS: &str = "UPDATE world SET randomnumber = new.randomnumber \
     FROM UNNEST($1::integer[], $2::integer[]) AS new (id, randomnumber) \
     WHERE world.id = new.id";

/// Connections in all: the same as tfb's `max_connections`, shared out
/// between the workers.
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
#[derive(Debug)]
struct Failure(String);

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl ResponseError for Failure {}

impl From<tokio_postgres::Error> for Failure {
    fn from(err: tokio_postgres::Error) -> Failure {
        Failure(err.to_string())
    }
}

impl From<deadpool_postgres::PoolError> for Failure {
    fn from(err: deadpool_postgres::PoolError) -> Failure {
        Failure(err.to_string())
    }
}

fn respond<B: MessageBody>(content_type: &'static str, body: B) -> HttpResponse<B> {
    let mut response = HttpResponse::with_body(StatusCode::OK, body);
    let headers = response.headers_mut();
    headers.insert(SERVER, HeaderValue::from_static("actix"));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn json_response(value: &impl Serialize) -> HttpResponse<Vec<u8>> {
    respond(
        "application/json",
        serde_json::to_vec(value).expect("serializable"),
    )
}

async fn plaintext() -> HttpResponse<&'static str> {
    respond("text/plain", "Hello, World!")
}

async fn json() -> HttpResponse<Vec<u8>> {
    json_response(&Message {
        message: "Hello, World!",
    })
}

async fn db(pool: web::Data<Pool>) -> Result<HttpResponse<Vec<u8>>, Failure> {
    let client = pool.get().await?;
    let select = client.prepare_cached(SELECT_WORLD).await?;
    let row = client.query_one(&select, &[&random_id()]).await?;
    let world = World {
        id: row.get(0),
        randomnumber: row.get(1),
    };
    Ok(json_response(&world))
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
    pool: web::Data<Pool>,
    params: web::Query<Params>,
) -> Result<HttpResponse<Vec<u8>>, Failure> {
    let client = pool.get().await?;
    let worlds = worlds(&client, count(&params)).await?;
    Ok(json_response(&worlds))
}

async fn updates(
    pool: web::Data<Pool>,
    params: web::Query<Params>,
) -> Result<HttpResponse<Vec<u8>>, Failure> {
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
    Ok(json_response(&worlds))
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

async fn fortunes(pool: web::Data<Pool>) -> Result<HttpResponse<Vec<u8>>, Failure> {
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
    Ok(respond("text/html; charset=utf-8", page.into_bytes()))
}

fn pool(url: &str, size: usize) -> Pool {
    let config: tokio_postgres::Config = url.parse().expect("DATABASE_URL");
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .build()
        .expect("the pool")
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let port = std::env::var("PORT").unwrap_or_else(|_| "8080".to_owned());
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    // A pool per worker: a connection's task runs on the runtime of the
    // worker that opened it, so that the queries a request sends together
    // reach the connection's task on the same thread and leave in one
    // write (with one pool shared, a worker's queries would cross threads
    // and be written one by one).
    let size = POOL_SIZE.div_ceil(workers);
    HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(pool(&url, size)))
            .route("/plaintext", web::get().to(plaintext))
            .route("/json", web::get().to(json))
            .route("/db", web::get().to(db))
            .route("/queries", web::get().to(queries))
            .route("/fortunes", web::get().to(fortunes))
            .route("/updates", web::get().to(updates))
    })
    .workers(workers)
    .tcp_nodelay(true)
    .bind(("127.0.0.1", port.parse::<u16>().expect("PORT")))?
    .run()
    .await
}
