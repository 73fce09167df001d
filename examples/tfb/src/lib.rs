//! The six TechEmpower Framework Benchmarks tests, written with Flagon's
//! own router, ORM and templates as the guide teaches: `/plaintext`,
//! `/json`, `/db`, `/queries?queries=N`, `/fortunes` and
//! `/updates?queries=N`.

use flagon::orm::migrations::{AppConfig, Apps};
use flagon::orm::Connection;
use flagon::prelude::*;
use flagon::templates::rows;
use futures_util::future::try_join_all;
use rand::Rng;
use serde::{Deserialize, Serialize};

mod migrations;

/// A row of the `world` table.
#[derive(Model, Debug, Clone, Serialize)]
#[model(app = "tfb", table = "world")]
pub struct World {
    /// 1 to 10,000.
    #[field(primary_key)]
    pub id: i32,
    /// A number from 1 to 10,000.
    #[field(db_column = "randomnumber")]
    #[serde(rename = "randomNumber")]
    pub random_number: i32,
}

/// A row of the `fortune` table.
#[derive(Model, Debug, Clone, Serialize)]
#[model(app = "tfb", table = "fortune")]
pub struct Fortune {
    /// Its key.
    #[field(primary_key)]
    pub id: i32,
    /// The fortune.
    #[field(max_length = 2048)]
    pub message: String,
}

/// The app's models and migrations (`tfb migrate` creates and fills the
/// tables on SQLite or PostgreSQL).
pub fn apps() -> Apps {
    Apps::new().app(
        AppConfig::new("tfb")
            .model::<World>()
            .model::<Fortune>()
            .migrations(migrations::MIGRATIONS)
            .directory(concat!(env!("CARGO_MANIFEST_DIR"), "/src/migrations")),
    )
}

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

#[derive(Deserialize)]
struct Queries {
    queries: Option<String>,
}

impl Queries {
    /// The `queries` parameter as the TFB rules read it: 1 to 500, and 1
    /// when it is missing or not a number.
    fn count(&self) -> usize {
        self.queries
            .as_deref()
            .and_then(|text| text.parse::<usize>().ok())
            .unwrap_or(1)
            .clamp(1, 500)
    }
}

fn random_id() -> i32 {
    rand::thread_rng().gen_range(1..=10_000)
}

async fn plaintext() -> &'static str {
    "Hello, World!"
}

async fn json() -> Json<Message> {
    Json(Message {
        message: "Hello, World!",
    })
}

async fn find_world(db: &(impl Connection + ?Sized)) -> Result<World> {
    Ok(World::objects()
        .filter(World::ID.eq(random_id()))
        .get(db)
        .await?)
}

/// `count` random worlds, each its own query, awaited together on one
/// held connection: on PostgreSQL they are pipelined (sent without
/// waiting for each other's answers), so they cost about one round trip.
async fn find_worlds(db: &Db, count: usize) -> Result<Vec<World>> {
    let conn = db.connection().await?;
    let conn = &conn;
    try_join_all((0..count).map(|_| find_world(conn))).await
}

async fn single_query(db: Db) -> Result<Json<World>> {
    Ok(Json(find_world(&*db).await?))
}

async fn queries(db: Db, Query(queries): Query<Queries>) -> Result<Json<Vec<World>>> {
    Ok(Json(find_worlds(&db, queries.count()).await?))
}

async fn fortunes(db: Db) -> Result<Template> {
    let mut fortunes = Fortune::objects().all(&db).await?;
    fortunes.push(Fortune {
        id: 0,
        message: "Additional fortune added at request time.".to_owned(),
    });
    fortunes.sort_by(|a, b| a.message.cmp(&b.message));
    // `rows` lets the template read each row's fields where it prints
    // them, instead of copying every row into a map of template values.
    Ok(render(
        "fortunes.html",
        context! { fortunes => rows(fortunes) },
    ))
}

async fn updates(db: Db, Query(queries): Query<Queries>) -> Result<Json<Vec<World>>> {
    let mut worlds = find_worlds(&db, queries.count()).await?;
    for world in &mut worlds {
        world.random_number = random_id();
    }
    // One row read twice gets one number; rows are written in key order,
    // so that concurrent requests lock them in the same order.
    let mut sorted = worlds.clone();
    sorted.sort_by_key(|world| world.id);
    sorted.dedup_by_key(|world| world.id);
    for world in &mut worlds {
        if let Ok(found) = sorted.binary_search_by_key(&world.id, |w| w.id) {
            world.random_number = sorted[found].random_number;
        }
    }
    World::objects()
        .bulk_update(&db, &sorted, &["random_number"])
        .await?;
    Ok(Json(worlds))
}

/// The app on database `db`.
pub fn app(db: flagon::orm::Db) -> App {
    App::new()
        .root(env!("CARGO_MANIFEST_DIR"))
        .database(db)
        .apps(apps())
        .route("/plaintext", get(plaintext))
        .route("/json", get(json))
        .route("/db", get(single_query))
        .route("/queries", get(queries))
        .route("/fortunes", get(fortunes))
        .route("/updates", get(updates))
        .after_request(|mut response: Response| async move {
            response
                .headers_mut()
                .insert("server", flagon::http::HeaderValue::from_static("flagon"));
            response
        })
}

/// The settings: `flagon.toml`, then `DATABASE_URL` and `FLAGON_*`.
pub fn settings() -> Result<Settings> {
    let mut settings = Settings::load_from_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")))?;
    if let Ok(url) = std::env::var("DATABASE_URL") {
        let mut database = flagon::DatabaseSettings::from_settings(&settings)?;
        database.url = flagon::settings::Secret::new(url);
        database.write_to(&mut settings);
    }
    Ok(settings)
}
