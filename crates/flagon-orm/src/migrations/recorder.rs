//! The `flagon_migrations` table: which migrations a database has applied.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::backends::Dialect;
use crate::connection::Connection;
use crate::error::OrmError;
use crate::instance::ModelExt;
use crate::model::Model;

use super::ddl;
use super::error::MigrationError;
use super::graph::MigrationKey;
use super::state::ModelState;

/// A row of `flagon_migrations`.
#[derive(crate::Model, Debug, Clone)]
#[model(app = "flagon", table = "flagon_migrations")]
pub struct AppliedMigration {
    /// The row's key.
    pub id: i64,
    /// The migration's app.
    #[field(max_length = 255)]
    pub app: String,
    /// The migration's name.
    #[field(max_length = 255)]
    pub name: String,
    /// When it was applied.
    pub applied: DateTime<Utc>,
}

/// Whether `table` exists in the database `db` is connected to.
pub async fn table_exists(db: &(impl Connection + ?Sized), table: &str) -> Result<bool, OrmError> {
    let sql = match db.dialect() {
        Dialect::Sqlite => "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
        Dialect::Postgres => {
            "SELECT 1 FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = $1"
        }
        Dialect::MySql => {
            "SELECT 1 FROM information_schema.tables \
             WHERE table_schema = DATABASE() AND table_name = ?"
        }
    };
    let values = sea_query::Values(vec![table.into()]);
    Ok(!db.fetch_all(sql, values).await?.is_empty())
}

/// Creates `flagon_migrations` if it does not exist.
pub async fn ensure_table(db: &(impl Connection + ?Sized)) -> Result<(), MigrationError> {
    if table_exists(db, AppliedMigration::META.table).await? {
        return Ok(());
    }
    let state = ModelState::from_meta(AppliedMigration::META);
    let statements = ddl::create_model(&state, &super::ProjectState::new(), db.dialect())?;
    for statement in statements {
        db.execute_unprepared(&statement).await?;
    }
    Ok(())
}

/// The migrations `db` has applied (none if the table does not exist).
pub async fn applied(db: &(impl Connection + ?Sized)) -> Result<BTreeSet<MigrationKey>, OrmError> {
    if !table_exists(db, AppliedMigration::META.table).await? {
        return Ok(BTreeSet::new());
    }
    read_applied(db).await
}

/// The migrations recorded in `flagon_migrations`, which must exist.
pub(crate) async fn read_applied(
    db: &(impl Connection + ?Sized),
) -> Result<BTreeSet<MigrationKey>, OrmError> {
    Ok(AppliedMigration::objects()
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.app, row.name))
        .collect())
}

/// Records `key` as applied.
pub(crate) async fn record_applied(
    db: &(impl Connection + ?Sized),
    key: &MigrationKey,
) -> Result<(), OrmError> {
    let mut row = AppliedMigration {
        id: 0,
        app: key.0.clone(),
        name: key.1.clone(),
        applied: Utc::now(),
    };
    row.save(db).await
}

/// Records `key` as no longer applied.
pub(crate) async fn record_unapplied(
    db: &(impl Connection + ?Sized),
    key: &MigrationKey,
) -> Result<(), OrmError> {
    AppliedMigration::objects()
        .filter(AppliedMigration::APP.eq(key.0.clone()))
        .filter(AppliedMigration::NAME.eq(key.1.clone()))
        .delete(db)
        .await?;
    Ok(())
}
