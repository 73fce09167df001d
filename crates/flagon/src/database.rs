//! The glue between the web core and the ORM: the `[database]` settings, the
//! `Db` extractor, and ORM errors as HTTP statuses.

use std::ops::Deref;
use std::time::Duration;

use flagon_orm::{DbOptions, OrmError};
use flagon_web::extract::FromRequestParts;
use flagon_web::http::request::Parts;
use flagon_web::settings::{redact_url_password, Secret};
use flagon_web::{App, Error, Settings, State, StatusCode};
use serde::Deserialize;

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

/// The `[database]` settings section: which database the ORM connects to
/// and how its pool behaves.
///
/// ```toml
/// # flagon.toml
/// [database]
/// url = "postgres://app@db.internal/app"   # better: FLAGON_DATABASE__URL
/// max_connections = 20
/// acquire_timeout = "3s"
/// ```
///
/// Each key has its `FLAGON_DATABASE__*` variable (`FLAGON_DATABASE__URL`).
/// The old top-level `database_url`, `database_max_connections` and
/// `database_acquire_timeout` (and `FLAGON_DATABASE_URL`) are still read,
/// with a warning. The URL is a [`Secret`]: `Debug` shows it without its
/// password, and the templates' `config` not at all.
///
/// ```
/// use flagon::{DatabaseSettings, Settings};
///
/// let settings = Settings::from_toml("[database]\nurl = 'postgres://app:pw@db/app'").unwrap();
/// let database = DatabaseSettings::from_settings(&settings).unwrap();
/// assert_eq!(database.url.expose(), "postgres://app:pw@db/app");
/// assert_eq!(database.max_connections, 10);
/// assert!(!format!("{database:?}").contains("pw"));
/// ```
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// The database: `sqlite://db.sqlite3` (the default, a file in the
    /// current directory), `postgres://user:password@host/db` or
    /// `mysql://user:password@host/db`.
    pub url: Secret,
    /// Most pooled connections open at once. Default 10.
    pub max_connections: u32,
    /// How long a request waits for a pooled connection (or a database that
    /// is down) before failing with 503. Default 5 s; seconds or a number
    /// with a unit (`500ms`, `2s`).
    #[serde(with = "flagon_web::settings::duration")]
    pub acquire_timeout: Duration,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: Secret::new("sqlite://db.sqlite3"),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &redact_url_password(self.url.expose()))
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .finish()
    }
}

impl DatabaseSettings {
    /// The `[database]` section of `settings` (the defaults where it says
    /// nothing); an error names a key of the wrong type or an unknown one.
    pub fn from_settings(settings: &Settings) -> Result<DatabaseSettings, Error> {
        settings.section("database")
    }

    /// Writes this into the `[database]` section of `settings`, for tests
    /// and programs that choose the database in code.
    ///
    /// ```
    /// use flagon::{DatabaseSettings, Settings};
    /// use flagon::settings::Secret;
    ///
    /// let mut settings = Settings::default();
    /// DatabaseSettings { url: Secret::new("sqlite::memory:"), ..Default::default() }
    ///     .write_to(&mut settings);
    /// let database = DatabaseSettings::from_settings(&settings).unwrap();
    /// assert_eq!(database.url.expose(), "sqlite::memory:");
    /// ```
    pub fn write_to(&self, settings: &mut Settings) {
        let mut section = toml::Table::new();
        section.insert("url".into(), self.url.expose().into());
        section.insert(
            "max_connections".into(),
            i64::from(self.max_connections).into(),
        );
        section.insert(
            "acquire_timeout".into(),
            flagon_web::settings::duration::format(self.acquire_timeout).into(),
        );
        settings
            .extra
            .insert("database".into(), toml::Value::Table(section));
    }

    /// Connects to this database.
    pub async fn connect(&self) -> Result<flagon_orm::Db, OrmError> {
        let options = DbOptions {
            max_connections: self.max_connections,
            acquire_timeout: self.acquire_timeout,
            ..DbOptions::default()
        };
        flagon_orm::Db::connect_with(self.url.expose(), options).await
    }
}

/// Connects to the database the settings' `[database]` section names
/// ([`DatabaseSettings`]).
///
/// ```no_run
/// # async fn demo() -> flagon::Result<()> {
/// let settings = flagon::Settings::load()?;
/// let db = flagon::connect_database(&settings).await?;
/// # let _ = db; Ok(()) }
/// ```
pub async fn connect_database(settings: &Settings) -> Result<flagon_orm::Db, OrmError> {
    let database =
        DatabaseSettings::from_settings(settings).map_err(|err| OrmError::Configuration {
            message: err.chain().join(": "),
        })?;
    database.connect().await
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
        // `full_clean` refused what the client sent.
        OrmError::Invalid(_) => Some(StatusCode::BAD_REQUEST),
        _ => None,
    }
}
