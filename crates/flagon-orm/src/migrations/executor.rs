//! Applying and undoing migrations, each in a transaction where the
//! backend has transactional DDL, and recording them.

use crate::backends::{Db, Dialect};
use crate::connection::Connection;

use super::ddl::{self, Step};
use super::error::MigrationError;
use super::graph::{label, Direction, MigrationGraph, MigrationKey, Target};
use super::migration::Migration;
use super::recorder;
use super::state::ProjectState;

/// What the executor reports as it goes.
#[derive(Clone, Debug)]
pub enum Progress {
    /// A migration is about to be applied or undone.
    Start(MigrationKey, Direction),
    /// It was.
    Done(MigrationKey, Direction),
}

/// One operation's steps, described.
#[derive(Debug)]
struct PlannedOperation {
    description: String,
    steps: Vec<Step>,
}

/// The steps of each operation of `migration` in `direction`, given the
/// state before the migration was applied.
fn planned(
    migration: &Migration,
    before: &ProjectState,
    direction: Direction,
    dialect: Dialect,
) -> Result<Vec<PlannedOperation>, MigrationError> {
    let app = migration.app.as_str();
    // The state before each operation, and after the last.
    let mut states = vec![before.clone()];
    for operation in &migration.operations {
        let mut next = states[states.len() - 1].clone();
        next.apply(app, operation).map_err(|err| {
            MigrationError::invalid(format!(
                "{}: {} ({err})",
                label(&migration.key()),
                operation.describe()
            ))
        })?;
        states.push(next);
    }
    let mut out = Vec::new();
    match direction {
        Direction::Forwards => {
            for (index, operation) in migration.operations.iter().enumerate() {
                out.push(PlannedOperation {
                    description: operation.describe(),
                    steps: ddl::operation_steps(
                        app,
                        operation,
                        &states[index],
                        &states[index + 1],
                        dialect,
                    )?,
                });
            }
        }
        Direction::Backwards => {
            for (index, operation) in migration.operations.iter().enumerate().rev() {
                let reverse = operation.reverse(app, &states[index])?.ok_or_else(|| {
                    MigrationError::Irreversible {
                        migration: label(&migration.key()),
                        operation: operation.describe(),
                    }
                })?;
                out.push(PlannedOperation {
                    description: format!("undo: {}", operation.describe()),
                    steps: ddl::operation_steps(
                        app,
                        &reverse,
                        &states[index + 1],
                        &states[index],
                        dialect,
                    )?,
                });
            }
        }
    }
    Ok(out)
}

/// The SQL a migration runs in `direction`, as `sqlmigrate` shows it
/// (Rust code appears as a comment).
pub fn migration_sql(
    graph: &MigrationGraph,
    key: &MigrationKey,
    direction: Direction,
    dialect: Dialect,
) -> Result<Vec<String>, MigrationError> {
    let migration = graph
        .get(key)
        .ok_or_else(|| MigrationError::graph(format!("no migration {}", label(key))))?;
    // The state before it: everything it depends on, and their dependencies.
    let mut ancestors = graph.ancestors(key);
    ancestors.remove(key);
    let before = graph.state(&ancestors)?;
    let mut out = Vec::new();
    for operation in planned(migration, &before, direction, dialect)? {
        out.push(format!("-- {}", operation.description));
        for step in operation.steps {
            out.push(match step {
                Step::Sql(sql) => format!("{sql};"),
                Step::Rust(_) => "-- (Rust code, run by the migration)".to_owned(),
            });
        }
    }
    Ok(out)
}

async fn run_steps(
    db: &(impl Connection + ?Sized),
    migration: &MigrationKey,
    operations: &[PlannedOperation],
) -> Result<(), MigrationError> {
    let rolled_back = db.in_transaction() && db.dialect().has_transactional_ddl();
    for (position, operation) in operations.iter().enumerate() {
        for step in &operation.steps {
            let result = match step {
                Step::Sql(sql) => db.execute_unprepared(sql).await.map(|_| ()),
                Step::Rust(code) => {
                    let conn: &dyn Connection = &crate::connection::DynRef(db);
                    (code.0)(conn).await
                }
            };
            if let Err(source) = result {
                return Err(MigrationError::Failed {
                    migration: label(migration),
                    position: position + 1,
                    operation: operation.description.clone(),
                    rolled_back,
                    source: Box::new(source),
                });
            }
        }
    }
    Ok(())
}

/// Runs one migration's operations and records it, in a transaction when
/// the migration is atomic.
async fn run_one(
    db: &Db,
    migration: &Migration,
    operations: Vec<PlannedOperation>,
    direction: Direction,
) -> Result<(), MigrationError> {
    let key = migration.key();
    if migration.atomic && db.dialect() == Dialect::Sqlite {
        // Rebuilding a table must not cascade to the rows pointing to it:
        // keys are checked once, before the commit.
        db.transaction_without_foreign_keys(|tx| async move {
            run_steps(&tx, &key, &operations).await?;
            check_foreign_keys(&tx, &key).await?;
            record(&tx, &key, direction).await?;
            Ok::<_, MigrationError>(())
        })
        .await
    } else if migration.atomic {
        db.transaction(|tx| async move {
            run_steps(&tx, &key, &operations).await?;
            record(&tx, &key, direction).await?;
            Ok::<_, MigrationError>(())
        })
        .await
    } else {
        run_steps(db, &key, &operations).await?;
        record(db, &key, direction).await?;
        Ok(())
    }
}

/// SQLite: fails if the migration left rows whose foreign keys point nowhere.
async fn check_foreign_keys(
    db: &(impl Connection + ?Sized),
    key: &MigrationKey,
) -> Result<(), MigrationError> {
    let rows = db
        .fetch_all("PRAGMA foreign_key_check", sea_query::Values(Vec::new()))
        .await?;
    if let Some(row) = rows.first() {
        let table: String = row.get(0).unwrap_or_default();
        let parent: String = row.get(2).unwrap_or_default();
        return Err(MigrationError::invalid(format!(
            "migration {} leaves {} row(s) whose foreign keys point nowhere \
             (first: table {table}, pointing to {parent}); it was rolled back",
            label(key),
            rows.len()
        )));
    }
    Ok(())
}

async fn record(
    db: &(impl Connection + ?Sized),
    key: &MigrationKey,
    direction: Direction,
) -> Result<(), crate::OrmError> {
    match direction {
        Direction::Forwards => recorder::record_applied(db, key).await,
        Direction::Backwards => recorder::record_unapplied(db, key).await,
    }
}

/// Brings `db` to `target`, applying or undoing migrations in order, and
/// returns what was done. Each migration runs in its own transaction where
/// the backend allows it: one that fails is rolled back (on SQLite and
/// PostgreSQL) and stops the run, with an error naming the operation.
///
/// Everything is planned before anything runs, so a migration that does
/// not fit its state, or one that cannot be undone, fails before any SQL.
pub async fn migrate(
    db: &Db,
    graph: &MigrationGraph,
    target: &Target,
    mut progress: impl FnMut(Progress),
) -> Result<Vec<(MigrationKey, Direction)>, MigrationError> {
    recorder::ensure_table(db).await?;
    let mut applied = recorder::read_applied(db).await?;
    let plan = graph.plan(target, &applied)?;
    // Plan every step first.
    let mut prepared = Vec::new();
    let mut simulated = applied.clone();
    for (key, direction) in &plan {
        let migration = graph
            .get(key)
            .ok_or_else(|| MigrationError::graph(format!("no migration {}", label(key))))?;
        let operations = match direction {
            Direction::Forwards => {
                let before = graph.state(&simulated)?;
                simulated.insert(key.clone());
                planned(migration, &before, *direction, db.dialect())?
            }
            Direction::Backwards => {
                simulated.remove(key);
                let before = graph.state(&simulated)?;
                planned(migration, &before, *direction, db.dialect())?
            }
        };
        prepared.push((migration, *direction, operations));
    }
    let mut done = Vec::new();
    for (migration, direction, operations) in prepared {
        let key = migration.key();
        progress(Progress::Start(key.clone(), direction));
        run_one(db, migration, operations, direction).await?;
        match direction {
            Direction::Forwards => applied.insert(key.clone()),
            Direction::Backwards => applied.remove(&key),
        };
        progress(Progress::Done(key.clone(), direction));
        done.push((key, direction));
    }
    Ok(done)
}

/// The migrations of `graph` that `db` has not applied, in order.
pub async fn unapplied(
    db: &Db,
    graph: &MigrationGraph,
) -> Result<Vec<MigrationKey>, MigrationError> {
    let applied = recorder::applied(db).await?;
    Ok(graph
        .ordered()
        .map(Migration::key)
        .filter(|key| !applied.contains(key))
        .collect())
}
