//! # flagon-web
//!
//! The small core of [Flagon](https://github.com/flagon-rs/flagon): what
//! Flask is to Python, in Rust. Routing with converters and reverse URLs,
//! typed extractors, responses, tower middleware, minijinja templates,
//! static files, sessions and flash messages, CSRF protection, security
//! headers, settings, helpful errors, an HTTP/1.1 and HTTP/2 server, and a
//! test client.
//!
//! ```no_run
//! use flagon_web::{App, Path, get};
//!
//! async fn hello(Path(name): Path<String>) -> String {
//!     format!("Hello, {name}!")
//! }
//!
//! #[tokio::main]
//! async fn main() -> flagon_web::Result<()> {
//!     App::new()
//!         .route("/", get(|| async { "Hello, world!" }))
//!         .route("/hello/<name>", get(hello).name("hello"))
//!         .serve("127.0.0.1:8000")
//!         .await
//! }
//! ```
//!
//! Most users depend on the `flagon` facade crate, which re-exports all of
//! this and adds the ORM, auth and admin.

pub mod app;
pub mod blueprint;
pub mod body;
pub mod context;
pub mod cookies;
mod csrf;
pub mod error;
mod error_page;
pub mod extract;
mod file;
pub mod flash;
pub mod handler;
pub mod middleware;
pub mod response;
pub mod routing;
mod security;
mod server;
pub mod service;
pub mod session;
pub mod settings;
pub mod signing;
mod static_files;
pub mod templates;
pub mod testing;

pub use app::App;
pub use blueprint::Blueprint;
pub use body::Body;
pub use context::{RequestContext, RouteInfo};
pub use cookie::Cookie;
pub use cookies::Cookies;
pub use error::{abort, BoxError, Error, ErrorReport, Result};
pub use error_page::RenderedError;
pub use extract::form::Form;
pub use extract::json::Json;
pub use extract::multipart::{Field, Multipart};
pub use extract::path::{Path, PathParams};
pub use extract::query::Query;
pub use extract::state::{Extension, State};
pub use extract::{
    FromRequest, FromRequestParts, OptionalFromRequest, OptionalFromRequestParts, Request,
    RequestExt,
};
pub use file::File;
pub use flash::Flash;
pub use handler::{Endpoint, EndpointLayer, Handler};
pub use http::{self, header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
pub use response::{redirect, Html, IntoResponse, Redirect, Response, Stream};
pub use routing::{any_of, delete, get, head, options, patch, post, put, MethodRouter};
pub use server::{shutdown_signal, ClientAddr};
pub use service::AppService;
pub use session::{CookieStore, MemoryStore, Session, SessionStore};
pub use settings::Settings;
pub use signing::Keys;
pub use templates::{context, render, Template, Templates};
