//! `migrate --fake` and `--fake-initial`: recording migrations without
//! running them, and adopting a schema made outside Flagon.

use std::collections::BTreeSet;

use crate::backends::Dialect;
use crate::connection::Connection;
use crate::error::OrmError;

use super::error::MigrationError;
use super::migration::Migration;
use super::operations::{AddField, CreateModel, Operation};
use super::recorder::table_exists;
use super::state::ProjectState;

/// How [`migrate_with`](super::migrate_with) runs the migrations it
/// plans, as Django's `migrate --fake` and `--fake-initial`.
///
/// ```
/// use flagon_orm::migrations::MigrateOptions;
///
/// let options = MigrateOptions::new().fake_initial();
/// assert!(options.fake_initial && !options.fake);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MigrateOptions {
    /// Records each planned migration as applied (or, going backwards, as
    /// not applied) without running any of it. For a schema already
    /// changed by hand; a wrong `--fake` leaves the record and the schema
    /// apart.
    pub fake: bool,
    /// Records an app's initial migration (one that depends on no other
    /// migration of its app) as applied without running it when every
    /// table its `CreateModel` operations make exists with every column,
    /// and every column its `AddField` operations add exists: the way to
    /// adopt tables made outside Flagon. Otherwise it runs as usual (and
    /// fails if some of its tables exist but not all).
    pub fake_initial: bool,
}

impl MigrateOptions {
    /// Runs migrations as usual.
    ///
    /// ```
    /// assert_eq!(flagon_orm::migrations::MigrateOptions::new(), Default::default());
    /// ```
    pub fn new() -> MigrateOptions {
        MigrateOptions::default()
    }

    /// See [`MigrateOptions::fake`](MigrateOptions#structfield.fake).
    ///
    /// ```
    /// assert!(flagon_orm::migrations::MigrateOptions::new().fake().fake);
    /// ```
    pub fn fake(mut self) -> MigrateOptions {
        self.fake = true;
        self
    }

    /// See [`MigrateOptions::fake_initial`](MigrateOptions#structfield.fake_initial).
    ///
    /// ```
    /// assert!(flagon_orm::migrations::MigrateOptions::new().fake_initial().fake_initial);
    /// ```
    pub fn fake_initial(mut self) -> MigrateOptions {
        self.fake_initial = true;
        self
    }
}

/// The names of the columns of `table`, lower-cased (MySQL and SQLite
/// compare column names without case; PostgreSQL folds unquoted ones).
async fn columns(
    db: &(impl Connection + ?Sized),
    table: &str,
) -> Result<BTreeSet<String>, OrmError> {
    let sql = match db.dialect() {
        Dialect::Sqlite => "SELECT name FROM pragma_table_info(?)",
        Dialect::Postgres => {
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1"
        }
        Dialect::MySql => {
            "SELECT CAST(column_name AS CHAR) FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = ?"
        }
    };
    let rows = db
        .fetch_all(sql, sea_query::Values(vec![table.into()]))
        .await?;
    rows.iter()
        .map(|row| row.get::<String>(0).map(|name| name.to_lowercase()))
        .collect()
}

/// Whether `migration`, applied on top of `before`, is an initial
/// migration whose tables and columns all exist already (Django's
/// `detect_soft_applied`): at least one `CreateModel` or `AddField`, every
/// table made there, every column of it and every column added.
pub(crate) async fn soft_applied(
    db: &(impl Connection + ?Sized),
    migration: &Migration,
    before: &ProjectState,
) -> Result<bool, MigrationError> {
    let initial = !migration
        .dependencies
        .iter()
        .any(|(app, _)| *app == migration.app);
    if !initial {
        return Ok(false);
    }
    let app = migration.app.as_str();
    let mut state = before.clone();
    let mut found = false;
    for operation in &migration.operations {
        state.apply(app, operation)?;
        let (table, wanted): (&str, Vec<&str>) = match operation {
            Operation::CreateModel(CreateModel { model }) => (
                &model.table,
                model
                    .fields
                    .iter()
                    .map(|field| field.column.as_str())
                    .collect(),
            ),
            Operation::AddField(AddField { model, field, .. }) => {
                let Some(model) = state.model(app, model) else {
                    return Ok(false);
                };
                (&model.table, vec![field.column.as_str()])
            }
            _ => continue,
        };
        if !table_exists(db, table).await? {
            return Ok(false);
        }
        let existing = columns(db, table).await?;
        if !wanted
            .iter()
            .all(|column| existing.contains(&column.to_lowercase()))
        {
            return Ok(false);
        }
        found = true;
    }
    Ok(found)
}
