//! # Flagon
//!
//! A web framework for Rust with Flask's small, flexible core and Django's
//! batteries. This facade crate is what applications depend on: it
//! re-exports the web core ([`flagon_web`]) and, as they land, the ORM,
//! auth and admin.
//!
//! ```no_run
//! use flagon::prelude::*;
//!
//! async fn hello(Path(name): Path<String>) -> String {
//!     format!("Hello, {name}!")
//! }
//!
//! #[tokio::main]
//! async fn main() -> flagon::Result<()> {
//!     flagon::init_logging();
//!     App::new()
//!         .route("/", get(|| async { "Hello, world!" }))
//!         .route("/hello/<name>", get(hello).name("hello"))
//!         .serve("127.0.0.1:8000")
//!         .await
//! }
//! ```
//!
//! Start with the [`prelude`]; the guide is in the repository's `docs/`.
//!
//! ## Cargo features
//!
//! On by default: `cli`, the management commands ([`manage`],
//! [`run_command`]: `migrate`, `makemigrations`, `runserver`, `dbshell`, ..,
//! on clap), `logging`, [`init_logging`] (a tracing subscriber that
//! prints to stderr), and `sqlite`, the SQLite backend. An app that neither
//! parses a command line nor wants Flagon's log output turns them off with
//! `default-features = false`.
//!
//! The database backends are features too, so that an app links only the
//! drivers it uses: `sqlite` (sqlx, with SQLite bundled), `postgres`
//! (tokio-postgres and deadpool) and `mysql` (sqlx; MySQL and MariaDB).
//! Enable those the `[database]` url may name:
//!
//! ```toml
//! [dependencies]
//! flagon = { version = "0.1", features = ["postgres"] }
//! # PostgreSQL alone, without SQLite:
//! # flagon = { version = "0.1", default-features = false, features = ["cli", "logging", "postgres"] }
//! ```
//!
//! A url of a backend left out is refused when the app connects, with an
//! error naming the feature to enable.

pub use flagon_web::*;

/// The ORM: models, query sets, the database handle (see [`flagon_orm`]).
pub use flagon_orm as orm;

mod database;
#[cfg(feature = "logging")]
mod logging;
#[cfg(feature = "cli")]
mod manage;
mod session_store;
pub use database::{connect_database, AppExt, DatabaseSettings, Db};
#[cfg(feature = "cli")]
pub use manage::{manage, run as run_command};
pub use session_store::{DatabaseSessionStore, SessionRecord};

#[doc = include_str!("../../../docs/guide.md")]
pub mod guide {}
#[cfg(feature = "logging")]
pub use logging::init_logging;

/// The names most handlers and apps need, in one import.
///
/// ```
/// use flagon::prelude::*;
///
/// async fn index(session: Session) -> Result<Html<String>> {
///     let visits: u32 = session.get("visits").unwrap_or(0) + 1;
///     session.insert("visits", visits)?;
///     Ok(Html(format!("<p>Visit {visits}</p>")))
/// }
///
/// let app = App::new().route("/", get(index).name("index"));
/// # let _ = app;
/// ```
pub mod prelude {
    pub use crate::database::{AppExt, Db};
    pub use flagon_orm::{Model, ModelExt, OrmError};
    pub use flagon_web::middleware::{
        after_request, before_request, from_fn, teardown_request, Next,
    };
    pub use flagon_web::{
        abort, any_of, context, delete, get, head, options, patch, post, put, redirect, render,
        App, Blueprint, Cookie, Cookies, Error, ErrorReport, Extension, File, Flash, Form, Html,
        IntoResponse, Json, Method, Multipart, Path, Query, Redirect, Request, RequestContext,
        RequestExt, Response, Result, Session, Settings, State, StatusCode, Template, Templates,
    };
}
