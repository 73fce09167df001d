//! The hello example: the smallest app, and a guestbook kept in the
//! database: a model and its migrations, a template, a form with
//! validation, a session counter and flash messages.

use chrono::{DateTime, Utc};
use flagon::orm::migrations::{AppConfig, Apps};
use flagon::prelude::*;
use serde::{Deserialize, Serialize};

mod migrations;

/// One signature in the guestbook.
#[derive(Model, Clone, Debug, Serialize)]
#[model(app = "guestbook", ordering = ["id"])]
pub struct Entry {
    /// The row's key.
    pub id: i64,
    /// Who signed.
    #[field(max_length = 80)]
    pub name: String,
    /// What they wrote.
    #[field(max_length = 500)]
    pub message: String,
    /// When.
    pub signed_at: DateTime<Utc>,
}

/// The signing form.
#[derive(Debug, Deserialize)]
struct Signature {
    name: String,
    message: String,
}

/// The project's apps, for the management commands.
pub fn apps() -> Apps {
    Apps::new().app(
        AppConfig::new("guestbook")
            .model::<Entry>()
            .migrations(migrations::MIGRATIONS)
            .directory(concat!(env!("CARGO_MANIFEST_DIR"), "/src/migrations")),
    )
}

async fn hello(Path(name): Path<String>) -> String {
    format!("Hello, {name}!")
}

async fn guestbook(session: Session, db: Db) -> Result<Template> {
    let visits: u32 = session.get("visits").unwrap_or(0) + 1;
    session.insert("visits", visits)?;
    let entries = Entry::objects().all(&db).await?;
    Ok(render(
        "guestbook.html",
        context! { entries => entries, visits => visits },
    ))
}

async fn sign(flash: Flash, db: Db, Form(form): Form<Signature>) -> Result<Redirect> {
    let mut entry = Entry {
        id: 0,
        name: form.name.trim().to_owned(),
        message: form.message.trim().to_owned(),
        signed_at: Utc::now(),
    };
    if entry.name.is_empty() || entry.message.is_empty() {
        flash.error("Please give both your name and a message.")?;
        return Ok(Redirect::to("/guestbook"));
    }
    match entry.save(&db).await {
        Ok(()) => flash.success(format!("Thank you for signing, {}!", entry.name))?,
        Err(OrmError::Validation { field, message, .. }) => {
            flash.error(format!("Please fix the {field}: {message}."))?
        }
        Err(err) => return Err(err.into()),
    }
    Ok(Redirect::to("/guestbook"))
}

/// The app on database `db`: `/`, `/hello/<name>` and `/guestbook` (GET
/// shows, POST signs).
pub fn app(db: flagon::orm::Db) -> App {
    App::new()
        .root(env!("CARGO_MANIFEST_DIR"))
        .database(db)
        .apps(apps())
        .route("/", get(|| async { "Hello, world!" }).name("index"))
        .route("/hello/<name>", get(hello).name("hello"))
        .route("/guestbook", get(guestbook).post(sign).name("guestbook"))
}

/// The app on the database its settings name (`[database] url`, by default
/// `db.sqlite3` in the current folder).
pub async fn app_from_settings() -> Result<App> {
    let settings = Settings::load_from_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")))?;
    let db = flagon::connect_database(&settings).await?;
    Ok(app(db))
}
