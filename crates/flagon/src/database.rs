//! The glue between the web core and the ORM: the database setting, the
//! `Db` extractor, and ORM errors as HTTP statuses.

use std::ops::Deref;

use flagon_orm::{DbOptions, OrmError};
use flagon_web::extract::FromRequestParts;
use flagon_web::http::request::Parts;
use flagon_web::{App, Error, Settings, State, StatusCode};

/// The app's database, as a handler argument.
///
/// It dereferences to [`flagon_orm::Db`], so `&db` goes wherever a
/// database handle is expected. Register the database with
/// [`AppExt::database`].
///
/// ```
/// use flagon::prelude::*;
///
/// async fn count(db: Db) -> Result<String> {
///     let rows = db.execute_unprepared("SELECT 1").await?;
///     Ok(rows.to_string())
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Db(pub flagon_orm::Db);

impl Deref for Db {
    type Target = flagon_orm::Db;

    fn deref(&self) -> &flagon_orm::Db {
        &self.0
    }
}

impl FromRequestParts for Db {
    async fn from_request_parts(parts: &mut Parts) -> Result<Self, Error> {
        match State::<Db>::from_request_parts(parts).await {
            Ok(State(db)) => Ok(db),
            Err(_) => Err(Error::internal(
                "no database is registered: connect one (flagon::connect_database) and add it with App::database",
            )),
        }
    }
}

/// `None` when no database is registered.
impl flagon_web::OptionalFromRequestParts for Db {
    async fn from_request_parts(parts: &mut Parts) -> Result<Option<Self>, Error> {
        Ok(
            <Option<State<Db>> as FromRequestParts>::from_request_parts(parts)
                .await?
                .map(|State(db)| db),
        )
    }
}

/// Connects to the database the settings name (`database_url`,
/// `database_max_connections`, `database_acquire_timeout`).
///
/// ```no_run
/// # async fn demo() -> flagon::Result<()> {
/// let settings = flagon::Settings::load()?;
/// let db = flagon::connect_database(&settings).await?;
/// # let _ = db; Ok(()) }
/// ```
pub async fn connect_database(settings: &Settings) -> Result<flagon_orm::Db, OrmError> {
    let options = DbOptions {
        max_connections: settings.database_max_connections,
        acquire_timeout: settings.database_acquire_timeout,
    };
    flagon_orm::Db::connect_with(&settings.database_url, options).await
}

/// ORM additions to [`App`].
pub trait AppExt {
    /// Registers `db` for the [`Db`] extractor, and answers ORM errors that
    /// reach the app with their HTTP meaning: "does not exist" is a 404,
    /// "the database is unavailable" a 503.
    fn database(self, db: flagon_orm::Db) -> App;

    /// Registers the project's apps (their models and migrations) for the
    /// management commands: `makemigrations`, `migrate`, `showmigrations`,
    /// `sqlmigrate`, and the warning `runserver` gives about unapplied
    /// migrations.
    ///
    /// ```
    /// use flagon::orm::migrations::{AppConfig, Apps};
    /// use flagon::prelude::*;
    ///
    /// #[derive(Model, Debug)]
    /// #[model(app = "polls")]
    /// struct Question { id: i64, #[field(max_length = 200)] text: String }
    ///
    /// let app = App::new().apps(Apps::new().app(
    ///     AppConfig::new("polls")
    ///         .model::<Question>()
    ///         .directory(concat!(env!("CARGO_MANIFEST_DIR"), "/src/polls/migrations")),
    /// ));
    /// # let _ = app;
    /// ```
    fn apps(self, apps: flagon_orm::migrations::Apps) -> App;
}

impl AppExt for App {
    fn database(self, db: flagon_orm::Db) -> App {
        self.state(Db(db)).error_status(orm_error_status)
    }

    fn apps(self, apps: flagon_orm::migrations::Apps) -> App {
        self.state(apps)
    }
}

/// The HTTP status of an ORM error, where it has one.
fn orm_error_status(error: &(dyn std::error::Error + 'static)) -> Option<StatusCode> {
    match error.downcast_ref::<OrmError>()? {
        OrmError::DoesNotExist { .. } => Some(StatusCode::NOT_FOUND),
        OrmError::Unavailable { .. } => Some(StatusCode::SERVICE_UNAVAILABLE),
        _ => None,
    }
}
