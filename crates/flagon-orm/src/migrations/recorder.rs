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

/// A row of `flagon_migrations`. `(app, name)` is unique, so a migration
/// cannot be recorded twice.
#[derive(crate::Model, Debug, Clone)]
#[model(app = "flagon", table = "flagon_migrations", unique_together = [["app", "name"]])]
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
        // SQLite compares table names without case, as its own lookups do.
        Dialect::Sqlite => {
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE"
        }
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

/// Whether `table` has an index (or unique constraint) called `index`.
async fn index_exists(
    db: &(impl Connection + ?Sized),
    table: &str,
    index: &str,
) -> Result<bool, OrmError> {
    let sql = match db.dialect() {
        Dialect::Sqlite => {
            "SELECT 1 FROM sqlite_master WHERE type = 'index' \
             AND tbl_name = ? COLLATE NOCASE AND name = ? COLLATE NOCASE"
        }
        Dialect::Postgres => {
            "SELECT 1 FROM pg_indexes \
             WHERE schemaname = current_schema() AND tablename = $1 AND indexname = $2"
        }
        Dialect::MySql => {
            "SELECT 1 FROM information_schema.statistics \
             WHERE table_schema = DATABASE() AND table_name = ? AND index_name = ?"
        }
    };
    let values = sea_query::Values(vec![table.into(), index.into()]);
    Ok(!db.fetch_all(sql, values).await?.is_empty())
}

/// Creates `flagon_migrations` if it does not exist, and gives a table an
/// earlier Flagon made its unique `(app, name)` index: rows recorded twice
/// (by two `migrate` runs at once, before there was a lock) are kept once.
/// Run it with the migration lock held.
pub async fn ensure_table(db: &(impl Connection + ?Sized)) -> Result<(), MigrationError> {
    let state = ModelState::from_meta(AppliedMigration::META);
    let table = AppliedMigration::META.table;
    if !table_exists(db, table).await? {
        let statements = ddl::create_model(&state, &super::ProjectState::new(), db.dialect())?;
        for statement in statements {
            db.execute_unprepared(&statement).await?;
        }
        return Ok(());
    }
    for constraint in &state.constraints {
        if index_exists(db, table, &constraint.name).await? {
            continue;
        }
        let dedupe = match db.dialect() {
            Dialect::Sqlite => format!(
                "DELETE FROM {table} WHERE id NOT IN (SELECT min(id) FROM {table} GROUP BY app, name)"
            ),
            Dialect::Postgres => format!(
                "DELETE FROM {table} AS dup USING {table} AS kept \
                 WHERE dup.app = kept.app AND dup.name = kept.name AND dup.id > kept.id"
            ),
            Dialect::MySql => format!(
                "DELETE dup FROM {table} AS dup JOIN {table} AS kept \
                 ON dup.app = kept.app AND dup.name = kept.name AND dup.id > kept.id"
            ),
        };
        db.execute_unprepared(&dedupe).await?;
        db.execute_unprepared(&ddl::create_constraint(&state, constraint, db.dialect())?)
            .await?;
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
