//! Migrations, in the manner of Django's: the schema follows the models.
//!
//! - Each app's migrations are Rust source in its `migrations` module,
//!   written by `makemigrations` and compiled into the binary.
//! - The [autodetector](detect_changes) compares the state the existing
//!   migrations build ([`MigrationGraph::final_state`]) with the state the
//!   models describe ([`Apps::models_state`]) and returns the
//!   [operations](Operation) between them. It asks a [`Questioner`] about
//!   renames rather than guessing.
//! - The [executor](migrate) applies or undoes migrations up to a
//!   [`Target`], each in a transaction where the backend has transactional
//!   DDL (SQLite and PostgreSQL), recording them in `flagon_migrations`.
//!
//! The facade's management commands (`makemigrations`, `migrate`,
//! `showmigrations`, `sqlmigrate`) are built on these pieces.
//!
//! ```no_run
//! use flagon_orm::migrations::{migrate, AppConfig, Apps, Target};
//! # use flagon_orm::Model;
//! # #[derive(Model, Debug)]
//! # #[model(app = "polls")]
//! # struct Question { id: i64 }
//! # mod migrations { pub const MIGRATIONS: &[fn() -> flagon_orm::migrations::Migration] = &[]; }
//!
//! # async fn demo(db: flagon_orm::Db) -> Result<(), flagon_orm::migrations::MigrationError> {
//! let apps = Apps::new().app(
//!     AppConfig::new("polls")
//!         .model::<Question>()
//!         .migrations(migrations::MIGRATIONS),
//! );
//! let graph = apps.graph()?;
//! migrate(&db, &graph, &Target::All, &mut |_| {}).await?;
//! # Ok(()) }
//! ```

mod apps;
mod autodetect;
pub(crate) mod ddl;
mod error;
mod executor;
mod fake;
mod graph;
mod historical;
mod lock;
mod migration;
mod operations;
mod recorder;
mod squash;
mod state;
mod writer;

pub use apps::{AppConfig, Apps};
pub use autodetect::{app_dependencies, detect_changes, Changes, GivenAnswers, Questioner, Rename};
pub use ddl::{RustStep, Step};
pub use error::MigrationError;
pub use executor::{migrate, migrate_with, migration_sql, unapplied, Progress};
pub use fake::MigrateOptions;
pub use graph::{Direction, MigrationGraph, MigrationKey, Target};
pub use historical::{HistoricalApps, HistoricalModel, Record, RecordQuery};
pub use migration::Migration;
pub use operations::{
    AddConstraint, AddField, AlterField, AlterModelTable, CreateModel, DeleteModel, Operation,
    RemoveConstraint, RemoveField, RemoveIndex, RenameField, RenameModel, RunRust, RunSql,
    RustCode, RustFn,
};
pub use recorder::{applied, table_exists, AppliedMigration};
pub use squash::{reduce_operations, squash};
pub use state::{
    index_name, ConstraintState, FieldState, IndexState, ModelState, ProjectState, RelationState,
};
pub use writer::{migration_source, module_name, next_name, write_migration};

/// What a migration file needs, in one import.
pub mod prelude {
    pub use super::{
        ConstraintState, FieldState, HistoricalApps, IndexState, Migration, ModelState, Operation,
        Record, RustFn,
    };
    pub use crate::connection::Connection;
    pub use crate::error::OrmError;
    pub use crate::model::{FieldDefault, FieldKind};
    pub use crate::relation::OnDelete;
    pub use futures_util::future::BoxFuture;
}
