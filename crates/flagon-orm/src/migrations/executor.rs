//! Applying and undoing migrations, each in a transaction where the
//! backend has transactional DDL, and recording them.

use crate::backends::{Db, Dialect};
use crate::connection::Connection;

use crate::transaction::Transaction;

use super::ddl::Step;
use super::error::MigrationError;
use super::fake::{self, MigrateOptions};
use super::graph::{label, Direction, MigrationGraph, MigrationKey, Target};
use super::historical::HistoricalApps;
use super::lock::MigrationLock;
use super::migration::Migration;
use super::recorder;
use super::state::ProjectState;

/// What the executor reports as it goes.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Progress {
    /// A migration is about to be applied or undone.
    Start(MigrationKey, Direction),
    /// It was.
    Done(MigrationKey, Direction),
    /// It was recorded as applied (or undone) without running: with
    /// [`MigrateOptions::fake`], or an initial migration whose tables
    /// exist with [`MigrateOptions::fake_initial`].
    Faked(MigrationKey, Direction),
}

/// What the executor does with one planned migration.
enum Action {
    /// Runs its operations.
    Run(Vec<PlannedOperation>),
    /// Only records it.
    Fake,
}

/// One operation's steps, described.
#[derive(Debug)]
struct PlannedOperation {
    description: String,
    steps: Vec<Step>,
    /// The state a `RunRust` step sees (its historical models); kept only
    /// for operations that have Rust steps.
    state: Option<ProjectState>,
}

impl PlannedOperation {
    fn new(description: String, steps: Vec<Step>, state: &ProjectState) -> PlannedOperation {
        let rust = steps.iter().any(|step| matches!(step, Step::Rust(_)));
        PlannedOperation {
            description,
            steps,
            state: rust.then(|| state.clone()),
        }
    }
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
                let steps = operation
                    .database_forwards(app, &states[index], &states[index + 1], dialect)
                    .map_err(|err| naming(migration, &operation.describe(), err))?;
                out.push(PlannedOperation::new(
                    operation.describe(),
                    steps,
                    &states[index],
                ));
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
                let steps = reverse
                    .database_forwards(app, &states[index + 1], &states[index], dialect)
                    .map_err(|err| naming(migration, &operation.describe(), err))?;
                // Undoing, Rust code sees the state after the operation
                // (the same as before it: code does not change the schema).
                out.push(PlannedOperation::new(
                    format!("undo: {}", operation.describe()),
                    steps,
                    &states[index + 1],
                ));
            }
        }
    }
    Ok(out)
}

/// `err`, an operation's SQL that could not be made, naming the
/// migration and the operation (`description`) when it does not.
fn naming(migration: &Migration, description: &str, err: MigrationError) -> MigrationError {
    match err {
        MigrationError::Invalid { message } => MigrationError::invalid(format!(
            "{} ({description}): {message}",
            label(&migration.key())
        )),
        other => other,
    }
}

/// The SQL a migration runs in `direction`, as `sqlmigrate` shows it
/// (Rust code appears as a comment): between `BEGIN;` and `COMMIT;` when
/// it runs in a transaction, and on SQLite with foreign keys off around
/// it and checked before the end (`PRAGMA foreign_key_check;` lists the
/// rows that point nowhere), as the executor runs it, so that rebuilding
/// a table does not cascade to the rows pointing to it.
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
    let sqlite = dialect == Dialect::Sqlite;
    let transaction = migration.atomic && dialect.has_transactional_ddl();
    let mut out = Vec::new();
    if sqlite {
        out.push("PRAGMA foreign_keys = OFF;".to_owned());
    }
    if transaction {
        out.push("BEGIN;".to_owned());
    }
    for operation in planned(migration, &before, direction, dialect)? {
        out.push(format!("-- {}", operation.description));
        for step in operation.steps {
            out.push(match step {
                Step::Sql(sql) => format!("{sql};"),
                Step::Rust(_) => "-- (Rust code, run by the migration)".to_owned(),
            });
        }
    }
    if sqlite {
        out.push("-- Any row listed here points nowhere: roll back.".to_owned());
        out.push("PRAGMA foreign_key_check;".to_owned());
    }
    if transaction {
        out.push("COMMIT;".to_owned());
    }
    if sqlite {
        out.push("PRAGMA foreign_keys = ON;".to_owned());
    }
    Ok(out)
}

/// Runs `operations` on `db`; a failure names the operation and says
/// whether the earlier ones were `rolled_back`.
async fn run_steps(
    db: &(impl Connection + ?Sized),
    migration: &MigrationKey,
    operations: &[PlannedOperation],
    rolled_back: bool,
) -> Result<(), MigrationError> {
    for (index, operation) in operations.iter().enumerate() {
        run_operation(db, migration, index + 1, operation, rolled_back).await?;
    }
    Ok(())
}

/// Runs the steps of `operation`, the one at `position` (from 1).
async fn run_operation(
    db: &(impl Connection + ?Sized),
    migration: &MigrationKey,
    position: usize,
    operation: &PlannedOperation,
    rolled_back: bool,
) -> Result<(), MigrationError> {
    for step in &operation.steps {
        let result = match step {
            Step::Sql(sql) => db.execute_unprepared(sql).await.map(|_| ()),
            Step::Rust(code) => {
                let conn: &dyn Connection = &crate::connection::DynRef(db);
                let empty = ProjectState::new();
                let state = operation.state.as_ref().unwrap_or(&empty);
                (code.0)(HistoricalApps::new(conn, state)).await
            }
        };
        if let Err(source) = result {
            return Err(MigrationError::Failed {
                migration: label(migration),
                position,
                operation: operation.description.clone(),
                rolled_back,
                source: Box::new(source),
            });
        }
    }
    Ok(())
}

/// Where migrations run while the lock is held.
#[derive(Clone, Copy)]
enum Runner<'a> {
    /// PostgreSQL and MySQL: the pool (the lock is a session lock held on
    /// a connection of its own).
    Pool(&'a Db),
    /// SQLite: the transaction that holds the write lock, on a connection
    /// with foreign keys off; each atomic migration is a savepoint in it.
    Locked(&'a Transaction),
}

/// Runs one migration's operations and records it, in a transaction (or a
/// savepoint) when the migration is atomic.
async fn run_one(
    runner: Runner<'_>,
    migration: &Migration,
    operations: Vec<PlannedOperation>,
    direction: Direction,
) -> Result<(), MigrationError> {
    let key = migration.key();
    match runner {
        // Keys are checked once the migration's steps are done: a table
        // rebuild must not cascade to the rows pointing to it.
        Runner::Locked(tx) if migration.atomic => {
            tx.transaction(|savepoint| async move {
                run_steps(&savepoint, &key, &operations, true).await?;
                check_foreign_keys(&savepoint, &key, true).await?;
                record(&savepoint, migration, direction).await?;
                Ok::<_, MigrationError>(())
            })
            .await
        }
        Runner::Locked(tx) => {
            // Not atomic: the operations before a failed one stay, but each
            // is whole (no table is left half rebuilt).
            for (index, operation) in operations.iter().enumerate() {
                let key = &key;
                tx.transaction(|savepoint| async move {
                    run_operation(&savepoint, key, index + 1, operation, false).await
                })
                .await?;
            }
            check_foreign_keys(tx, &key, false).await?;
            record(tx, migration, direction).await?;
            Ok(())
        }
        Runner::Pool(db) if migration.atomic => {
            let rolled_back = db.dialect().has_transactional_ddl();
            db.transaction(|tx| async move {
                run_steps(&tx, &key, &operations, rolled_back).await?;
                record(&tx, migration, direction).await?;
                Ok::<_, MigrationError>(())
            })
            .await
        }
        Runner::Pool(db) => {
            run_steps(db, &key, &operations, false).await?;
            record(db, migration, direction).await?;
            Ok(())
        }
    }
}

/// SQLite: fails if the migration left rows whose foreign keys point
/// nowhere (and so was `rolled_back`, if atomic).
async fn check_foreign_keys(
    db: &(impl Connection + ?Sized),
    key: &MigrationKey,
    rolled_back: bool,
) -> Result<(), MigrationError> {
    let rows = db
        .fetch_all("PRAGMA foreign_key_check", sea_query::Values(Vec::new()))
        .await?;
    if let Some(row) = rows.first() {
        let table: String = row.get(0).unwrap_or_default();
        let parent: String = row.get(2).unwrap_or_default();
        return Err(MigrationError::invalid(format!(
            "migration {} leaves {} row(s) whose foreign keys point nowhere \
             (first: table {table}, pointing to {parent}); {}",
            label(key),
            rows.len(),
            if rolled_back {
                "it was rolled back"
            } else {
                "it is not atomic, so its changes stay: fix the rows, then migrate again"
            }
        )));
    }
    Ok(())
}

/// Records `migration` as applied or not; a squashed one with the
/// migrations it replaces.
async fn record(
    db: &(impl Connection + ?Sized),
    migration: &Migration,
    direction: Direction,
) -> Result<(), crate::OrmError> {
    for key in std::iter::once(migration.key()).chain(migration.replaces.iter().cloned()) {
        match direction {
            Direction::Forwards => recorder::record_applied(db, &key).await?,
            Direction::Backwards => recorder::record_unapplied(db, &key).await?,
        }
    }
    Ok(())
}

/// Brings `db` to `target`, applying or undoing migrations in order, and
/// returns what was done. Each migration runs in its own transaction where
/// the backend allows it: one that fails is rolled back (on SQLite and
/// PostgreSQL) and stops the run, with an error naming the operation.
///
/// Everything is planned before anything runs, so a migration that does
/// not fit its state, or one that cannot be undone, fails before any SQL.
///
/// The run holds a lock on the database, taken before the applied
/// migrations are read: a PostgreSQL advisory lock or a MySQL `GET_LOCK`
/// on a connection of its own, or on SQLite the write lock of one
/// transaction (`BEGIN IMMEDIATE`) that the whole run happens in, each
/// migration a savepoint of it, committed at the end (so on SQLite,
/// [`Progress::Done`] means done in that transaction). A second `migrate`
/// started meanwhile (another replica at start) waits, then finds the
/// migrations applied and does nothing.
pub async fn migrate(
    db: &Db,
    graph: &MigrationGraph,
    target: &Target,
    progress: impl FnMut(Progress),
) -> Result<Vec<(MigrationKey, Direction)>, MigrationError> {
    migrate_with(db, graph, target, MigrateOptions::new(), progress).await
}

/// [`migrate`], faking what `options` says: `--fake` records the planned
/// migrations (or, backwards, removes their records) without running
/// them; `--fake-initial` records an initial migration whose tables and
/// columns all exist already, and runs the rest. A faked migration is
/// reported with [`Progress::Faked`].
///
/// ```no_run
/// use flagon_orm::migrations::{migrate_with, MigrateOptions, MigrationGraph, Target};
///
/// # async fn demo(db: flagon_orm::Db, graph: MigrationGraph) -> Result<(), flagon_orm::migrations::MigrationError> {
/// // The `world` and `fortune` tables were made by the benchmark's own
/// // scripts: adopt them, then apply what comes after.
/// migrate_with(&db, &graph, &Target::All, MigrateOptions::new().fake_initial(), |_| {}).await?;
/// # Ok(()) }
/// ```
pub async fn migrate_with(
    db: &Db,
    graph: &MigrationGraph,
    target: &Target,
    options: MigrateOptions,
    mut progress: impl FnMut(Progress),
) -> Result<Vec<(MigrationKey, Direction)>, MigrationError> {
    let progress = &mut progress;
    if db.dialect() == Dialect::Sqlite {
        // PRAGMA foreign_keys cannot change inside a transaction: it is off
        // for the whole run, and each migration checks the keys at its end.
        // The outer result commits what the migrations before a failed one did.
        return db
            .locked_transaction_without_foreign_keys(|tx| async move {
                Ok::<_, MigrationError>(
                    migrate_locked(Runner::Locked(&tx), graph, target, options, progress).await,
                )
            })
            .await?;
    }
    let lock = MigrationLock::acquire(db).await?;
    let outcome = migrate_locked(Runner::Pool(db), graph, target, options, progress).await;
    if let Some(lock) = lock {
        lock.release().await;
    }
    outcome
}

/// [`migrate`], once the lock is held.
async fn migrate_locked(
    runner: Runner<'_>,
    graph: &MigrationGraph,
    target: &Target,
    options: MigrateOptions,
    progress: &mut impl FnMut(Progress),
) -> Result<Vec<(MigrationKey, Direction)>, MigrationError> {
    let (conn, dialect): (&dyn Connection, Dialect) = match runner {
        Runner::Pool(db) => (db, db.dialect()),
        Runner::Locked(tx) => (tx, tx.dialect()),
    };
    recorder::ensure_table(conn).await?;
    let applied = graph.applied_view(&recorder::read_applied(conn).await?)?;
    let plan = graph.plan(target, &applied)?;
    // Plan every step first.
    let mut prepared = Vec::new();
    let mut simulated = applied;
    for (key, direction) in &plan {
        let migration = graph
            .get(key)
            .ok_or_else(|| MigrationError::graph(format!("no migration {}", label(key))))?;
        let before = match direction {
            Direction::Forwards => graph.state(&simulated)?,
            Direction::Backwards => {
                let mut without = simulated.clone();
                without.remove(key);
                graph.state(&without)?
            }
        };
        let fake = options.fake
            || (options.fake_initial
                && *direction == Direction::Forwards
                && fake::soft_applied(conn, migration, &before).await?);
        let action = if fake {
            Action::Fake
        } else {
            Action::Run(planned(migration, &before, *direction, dialect)?)
        };
        match direction {
            Direction::Forwards => simulated.insert(key.clone()),
            Direction::Backwards => simulated.remove(key),
        };
        prepared.push((migration, *direction, action));
    }
    let mut done = Vec::new();
    for (migration, direction, action) in prepared {
        let key = migration.key();
        progress(Progress::Start(key.clone(), direction));
        match action {
            Action::Run(operations) => {
                run_one(runner, migration, operations, direction).await?;
                progress(Progress::Done(key.clone(), direction));
            }
            Action::Fake => {
                record(conn, migration, direction).await?;
                progress(Progress::Faked(key.clone(), direction));
            }
        }
        done.push((key, direction));
    }
    Ok(done)
}

/// The migrations of `graph` that `db` has not applied, in order.
pub async fn unapplied(
    db: &Db,
    graph: &MigrationGraph,
) -> Result<Vec<MigrationKey>, MigrationError> {
    let applied = graph.applied_view(&recorder::applied(db).await?)?;
    Ok(graph
        .ordered()
        .map(Migration::key)
        .filter(|key| !applied.contains(key))
        .collect())
}
