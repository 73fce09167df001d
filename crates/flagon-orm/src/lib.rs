//! # flagon-orm
//!
//! Flagon's model layer, in the manner of Django's ORM: models derived from
//! structs, typed field constants, lazy query sets compiled to
//! parameterized SQL for SQLite, PostgreSQL and MySQL/MariaDB (through
//! sea-query, with sqlx for SQLite and MySQL/MariaDB and tokio-postgres
//! for PostgreSQL), instance methods, and transactions
//! ([`Db::transaction`], with savepoints for nested blocks).
//!
//! It does not depend on the web layer; the `flagon` facade wires it in.
//!
//! ## Cargo features
//!
//! One per backend, so that an app links only the drivers it uses:
//! `sqlite` (on by default; sqlx with SQLite bundled), `postgres`
//! (tokio-postgres with deadpool) and `mysql` (sqlx; MySQL and MariaDB).
//! [`Db::connect`] refuses the URL of a backend left out with an
//! [`OrmError::InvalidUrl`] naming the feature to enable
//! ([`Dialect::is_available`] tells beforehand). Without any of them the
//! crate compiles but opens no database.

// A build without any backend feature compiles (so that the facade can be
// checked without one) but can open no database: every pool, connection and
// row type is empty there, and the code that would use them unreachable.
#![cfg_attr(
    flagon_no_backend,
    allow(unreachable_code, unused_variables, unused_imports, dead_code)
)]

// The derive refers to `::flagon_orm` even inside this crate's own tests.
#[allow(unused_extern_crates)]
extern crate self as flagon_orm;

pub mod backends;
mod condition_sql;
pub mod connection;
pub mod deferred;
pub mod error;
pub mod field;
mod instance;
pub mod many_to_many;
pub mod migrations;
pub mod model;
pub mod query;
pub mod relation;
pub mod row;
pub mod schema;
mod transaction;
pub mod validation;
pub mod value;

pub use backends::{Db, DbConnection, DbOptions, Dialect, Executed};
pub use connection::Connection;
pub use deferred::Deferred;
pub use error::{ConstraintKind, OrmError};
pub use field::Field;
pub use flagon_macros::Model;
pub use instance::ModelExt;
pub use many_to_many::ManyToMany;
pub use model::{ConstraintMeta, FieldDefault, FieldKind, FieldMeta, Model, ModelMeta};
pub use query::condition::{Assignment, Condition, Order};
pub use query::QuerySet;
pub use query::{aggregate, annotate::Annotated, expr::F, functions};
pub use relation::{ForeignKey, OnDelete, OneToOne, Relation, RelationKind};
pub use row::Row;
pub use transaction::Transaction;
pub use validation::{ValidationError, ValidationErrors};
pub use value::{Decimal, FieldType, Uuid, Value, Values};

/// Items the derive macro's generated code uses; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use chrono;
}
