//! Transactions in the manner of Django's `atomic`: a closure's work is
//! committed when it returns `Ok` and rolled back when it returns `Err` or
//! panics; nested blocks are savepoints.
//!
//! ```no_run
//! # use flagon_orm::{Model, ModelExt, OrmError};
//! # #[derive(Model, Debug)]
//! # #[model(app = "bank")]
//! # struct Account { id: i64, balance: i64 }
//! # async fn demo(db: flagon_orm::Db) -> Result<(), OrmError> {
//! let moved = db
//!     .transaction(|tx| async move {
//!         let mut from = Account::objects()
//!             .filter(Account::ID.eq(1))
//!             .select_for_update()
//!             .get(&tx)
//!             .await?;
//!         let mut to = Account::objects().filter(Account::ID.eq(2)).get(&tx).await?;
//!         from.balance -= 10;
//!         to.balance += 10;
//!         from.save(&tx).await?;
//!         to.save(&tx).await?;
//!         Ok::<_, OrmError>(10)
//!     })
//!     .await?;
//! # let _ = moved; Ok(()) }
//! ```

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use sea_query::Values;
use tokio::sync::Mutex;

use crate::backends::{self, Db, Dialect, Executed};
use crate::connection::Connection;
use crate::error::OrmError;
use crate::row::Row;

/// The open transaction of one backend, on its own pooled connection.
pub(crate) enum Backend {
    /// SQLite.
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    /// PostgreSQL.
    #[cfg(feature = "postgres")]
    Postgres(Arc<backends::postgres::PgTransaction>),
    /// MySQL or MariaDB.
    #[cfg(feature = "mysql")]
    MySql(sqlx::Transaction<'static, sqlx::MySql>),
    /// A build without any backend: no transaction can exist.
    #[cfg(flagon_no_backend)]
    None(std::convert::Infallible),
}

impl Backend {
    async fn fetch_all(&mut self, sql: &str, values: Values) -> Result<Vec<Row>, OrmError> {
        match self {
            #[cfg(flagon_no_backend)]
            Backend::None(never) => match *never {},
            #[cfg(feature = "sqlite")]
            Backend::Sqlite(tx) => backends::sqlite::fetch_all(&mut **tx, sql, values).await,
            #[cfg(feature = "postgres")]
            Backend::Postgres(tx) => backends::postgres::fetch_all(tx.client(), sql, values).await,
            #[cfg(feature = "mysql")]
            Backend::MySql(tx) => backends::mysql::fetch_all(&mut **tx, sql, values).await,
        }
    }

    async fn execute(&mut self, sql: &str, values: Values) -> Result<Executed, OrmError> {
        match self {
            #[cfg(flagon_no_backend)]
            Backend::None(never) => match *never {},
            #[cfg(feature = "sqlite")]
            Backend::Sqlite(tx) => backends::sqlite::execute(&mut **tx, sql, values).await,
            #[cfg(feature = "postgres")]
            Backend::Postgres(tx) => backends::postgres::execute(tx.client(), sql, values).await,
            #[cfg(feature = "mysql")]
            Backend::MySql(tx) => backends::mysql::execute(&mut **tx, sql, values).await,
        }
    }

    async fn execute_unprepared(&mut self, sql: &str) -> Result<u64, OrmError> {
        match self {
            #[cfg(flagon_no_backend)]
            Backend::None(never) => match *never {},
            #[cfg(feature = "sqlite")]
            Backend::Sqlite(tx) => backends::sqlite::execute_unprepared(&mut **tx, sql).await,
            #[cfg(feature = "postgres")]
            Backend::Postgres(tx) => backends::postgres::execute_unprepared(tx.client(), sql).await,
            #[cfg(feature = "mysql")]
            Backend::MySql(tx) => backends::mysql::execute_unprepared(&mut **tx, sql).await,
        }
    }

    async fn commit(self) -> Result<(), OrmError> {
        match self {
            #[cfg(flagon_no_backend)]
            Backend::None(never) => match never {},
            #[cfg(feature = "sqlite")]
            Backend::Sqlite(tx) => {
                tracing::debug!(target: "flagon::sql", "COMMIT");
                tx.commit().await?
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres(tx) => tx.commit().await?,
            #[cfg(feature = "mysql")]
            Backend::MySql(tx) => {
                tracing::debug!(target: "flagon::sql", "COMMIT");
                tx.commit().await?
            }
        }
        Ok(())
    }

    async fn rollback(self) -> Result<(), OrmError> {
        match self {
            #[cfg(flagon_no_backend)]
            Backend::None(never) => match never {},
            #[cfg(feature = "sqlite")]
            Backend::Sqlite(tx) => {
                tracing::debug!(target: "flagon::sql", "ROLLBACK");
                tx.rollback().await?
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres(tx) => tx.rollback().await?,
            #[cfg(feature = "mysql")]
            Backend::MySql(tx) => {
                tracing::debug!(target: "flagon::sql", "ROLLBACK");
                tx.rollback().await?
            }
        }
        Ok(())
    }
}

/// Whether `err`, from a statement, leaves the transaction unable to
/// commit what it did: on PostgreSQL any database error aborts the whole
/// transaction (up to the innermost savepoint); on MySQL/MariaDB a deadlock
/// rolls the whole transaction back.
fn spoils(dialect: Dialect, err: &OrmError) -> bool {
    match (dialect, err) {
        (Dialect::Postgres, OrmError::Integrity { .. }) => true,
        #[cfg(feature = "postgres")]
        (Dialect::Postgres, OrmError::Postgres(err)) => err.as_db_error().is_some(),
        #[cfg(feature = "mysql")]
        (Dialect::MySql, OrmError::Database(sqlx::Error::Database(db))) => {
            db.code().as_deref() == Some("40001")
        }
        _ => false,
    }
}

/// Work to run once the transaction has committed.
type CommitHook = Box<dyn FnOnce() -> BoxFuture<'static, ()> + Send>;

/// The state every handle on one transaction shares.
struct State {
    /// The transaction; `None` once it was committed or rolled back.
    backend: Option<Backend>,
    /// The savepoints open, innermost last.
    savepoints: Vec<u64>,
    /// The hooks [`Transaction::on_commit`] registered, in order, each
    /// with the savepoint whose block registered it (`None`: the
    /// outermost): rolling back to a savepoint drops its hooks.
    hooks: Vec<(Option<u64>, CommitHook)>,
    /// A statement failed in a way that spoils the transaction (see
    /// [`spoils`]); cleared by rolling back to a savepoint.
    spoiled: bool,
}

impl State {
    /// The transaction, if the handle on `savepoint` (`None`: the outermost
    /// block) may still use it.
    fn backend(&mut self, savepoint: Option<u64>) -> Result<&mut Backend, OrmError> {
        let open = savepoint.is_none_or(|id| self.savepoints.contains(&id));
        match &mut self.backend {
            Some(backend) if open => Ok(backend),
            _ => Err(OrmError::Transaction {
                message: "this transaction handle was used after its block ended; \
                          run the query inside the transaction's closure"
                    .to_owned(),
            }),
        }
    }

    /// Notes a statement's failure; hands its result on.
    fn note<T>(&mut self, dialect: Dialect, result: Result<T, OrmError>) -> Result<T, OrmError> {
        if let Err(err) = &result {
            if spoils(dialect, err) {
                self.spoiled = true;
            }
        }
        result
    }
}

struct Shared {
    dialect: Dialect,
    /// The pool's [`Db::has_insert_returning`].
    insert_returning: bool,
    state: Mutex<State>,
}

/// Unique savepoint numbers, for the process.
static SAVEPOINTS: AtomicU64 = AtomicU64::new(1);

fn savepoint_name(id: u64) -> String {
    format!("flagon_sp_{id}")
}

/// An open transaction, as handed to the closure of [`Db::transaction`]
/// (or a savepoint, as handed to that of [`Transaction::transaction`]).
///
/// Pass `&tx` wherever a [`Connection`] goes: query sets, `save`,
/// `delete`, `refresh`, `schema::create_table`. Every statement runs on the
/// transaction's one connection: one at a time on SQLite and MySQL/MariaDB;
/// on PostgreSQL, statements awaited together (`try_join`) are pipelined
/// on it. The handle is cheap to
/// clone; once its block has ended (committed or rolled back), using it is
/// an [`OrmError::Transaction`].
///
/// On MySQL/MariaDB, DDL (such as `schema::create_table`) commits the
/// transaction implicitly: keep schema changes out of transactions there.
#[derive(Clone)]
pub struct Transaction {
    shared: Arc<Shared>,
    /// The savepoint this handle's block is, or `None` for the outermost.
    savepoint: Option<u64>,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("dialect", &self.shared.dialect)
            .field("savepoint", &self.savepoint)
            .finish_non_exhaustive()
    }
}

/// Runs `f` with `handle`, catching a panic (in the call or the future).
async fn run_caught<F, Fut, T, E>(
    f: F,
    handle: Transaction,
) -> Result<Result<T, E>, Box<dyn std::any::Any + Send>>
where
    F: FnOnce(Transaction) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    AssertUnwindSafe(async move { f(handle).await })
        .catch_unwind()
        .await
}

impl Db {
    /// Runs `f` inside a transaction, as Django's `atomic` does: the work is
    /// committed when `f` returns `Ok`, and rolled back when it returns
    /// `Err` or panics (the panic then carries on, after the rollback).
    ///
    /// `f` gets a [`Transaction`] handle to run its queries on; its error
    /// type is any `E: From<OrmError>`, so a handler can use its own.
    /// Nest with [`Transaction::transaction`] (a savepoint).
    ///
    /// ```no_run
    /// # use flagon_orm::{Model, ModelExt, OrmError};
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "polls")]
    /// # struct Choice { id: i64, #[field(max_length = 200)] text: String }
    /// # async fn demo(db: flagon_orm::Db) -> Result<(), OrmError> {
    /// let count = db
    ///     .transaction(|tx| async move {
    ///         Choice { id: 0, text: "Yes".into() }.save(&tx).await?;
    ///         Choice { id: 0, text: "No".into() }.save(&tx).await?;
    ///         Choice::objects().count(&tx).await
    ///     })
    ///     .await?;
    /// # let _ = count; Ok(()) }
    /// ```
    ///
    /// A failed commit is an error (`E::from` an [`OrmError`]). So is a
    /// closure that returns `Ok` after a statement spoiled the transaction
    /// (on PostgreSQL, any failed statement; on MySQL/MariaDB, a deadlock):
    /// it is rolled back and the result is an [`OrmError::Transaction`].
    /// Run statements that may fail, and that you mean to recover from, in
    /// a nested transaction.
    ///
    /// If the returned future is dropped before it finishes, the
    /// transaction is rolled back when the connection is next used.
    pub async fn transaction<F, Fut, T, E>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(Transaction) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: From<OrmError>,
    {
        tracing::debug!(target: "flagon::sql", "BEGIN");
        let backend = self.begin().await?;
        self.run_transaction(backend, f).await
    }

    /// Like [`Db::transaction`], holding SQLite's write lock from the start
    /// (`BEGIN IMMEDIATE`, waiting while another connection holds it), on a
    /// connection that does not enforce foreign keys (`PRAGMA foreign_keys
    /// = OFF`, which only works outside a transaction): what migrations
    /// need, to run one at a time and to rebuild a table other tables point
    /// to without cascading. The connection is closed afterwards rather
    /// than returned to the pool (an in-memory database's one connection
    /// gets its foreign keys back instead). `f` should check the keys
    /// itself before it returns (`PRAGMA foreign_key_check`).
    pub(crate) async fn locked_transaction_without_foreign_keys<F, Fut, T, E>(
        &self,
        f: F,
    ) -> Result<T, E>
    where
        F: FnOnce(Transaction) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: From<OrmError>,
    {
        tracing::debug!(target: "flagon::sql", "PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE");
        let backend = self.begin_locked_without_foreign_keys().await?;
        let result = self.run_transaction(backend, f).await;
        self.restore_foreign_keys().await?;
        result
    }

    async fn run_transaction<F, Fut, T, E>(&self, backend: Backend, f: F) -> Result<T, E>
    where
        F: FnOnce(Transaction) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: From<OrmError>,
    {
        let tx = Transaction {
            shared: Arc::new(Shared {
                dialect: self.dialect(),
                insert_returning: self.has_insert_returning(),
                state: Mutex::new(State {
                    backend: Some(backend),
                    savepoints: Vec::new(),
                    hooks: Vec::new(),
                    spoiled: false,
                }),
            }),
            savepoint: None,
        };
        match run_caught(f, tx.clone()).await {
            Ok(Ok(value)) => {
                let hooks = tx.commit().await?;
                for hook in hooks {
                    hook().await;
                }
                Ok(value)
            }
            Ok(Err(err)) => {
                tx.rollback().await;
                Err(err)
            }
            Err(panic) => {
                tx.rollback().await;
                std::panic::resume_unwind(panic)
            }
        }
    }
}

impl Transaction {
    /// The backend's dialect.
    pub fn dialect(&self) -> Dialect {
        self.shared.dialect
    }

    /// Runs `hook` after the outermost transaction commits (Django's
    /// `transaction.on_commit`): for work that must not happen if the
    /// writes are rolled back, such as sending the email about them.
    /// Hooks run in the order they were registered, once the commit has
    /// succeeded, before [`Db::transaction`] returns. If the transaction
    /// rolls back, they are dropped; a hook registered in a nested block
    /// that rolls back to its savepoint is dropped with it. A hook that
    /// panics carries the panic out of `Db::transaction` (the writes stay
    /// committed), as an exception in a Django hook does.
    ///
    /// ```no_run
    /// # use flagon_orm::{Model, ModelExt, OrmError};
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "shop")]
    /// # struct Order { id: i64, #[field(max_length = 100)] email: String }
    /// # async fn send_receipt(email: String) {}
    /// # async fn demo(db: flagon_orm::Db) -> Result<(), OrmError> {
    /// db.transaction(|tx| async move {
    ///     let mut order = Order { id: 0, email: "ann@example.com".into() };
    ///     order.save(&tx).await?;
    ///     let email = order.email.clone();
    ///     tx.on_commit(move || send_receipt(email)).await?;
    ///     Ok::<_, OrmError>(())
    /// })
    /// .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// A handle whose block has ended cannot register a hook (it would
    /// never run): that is an [`OrmError::Transaction`].
    pub async fn on_commit<F, Fut>(&self, hook: F) -> Result<(), OrmError>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut state = self.shared.state.lock().await;
        state.backend(self.savepoint)?;
        state
            .hooks
            .push((self.savepoint, Box::new(move || Box::pin(hook()))));
        Ok(())
    }

    /// Runs `f` in a nested transaction: a savepoint, released when `f`
    /// returns `Ok` and rolled back to when it returns `Err` or panics (the
    /// panic then carries on). A rolled-back savepoint undoes only its own
    /// work: the enclosing transaction stays usable, as with a nested
    /// Django `atomic` block.
    ///
    /// ```no_run
    /// # use flagon_orm::{Model, ModelExt, OrmError};
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "polls")]
    /// # struct Tag { id: i64, #[field(max_length = 50, unique)] name: String }
    /// # async fn demo(db: flagon_orm::Db) -> Result<(), OrmError> {
    /// db.transaction(|tx| async move {
    ///     Tag { id: 0, name: "rust".into() }.save(&tx).await?;
    ///     // A duplicate undoes only the savepoint, even on PostgreSQL.
    ///     let _ = tx
    ///         .transaction(|sp| async move { Tag { id: 0, name: "rust".into() }.save(&sp).await })
    ///         .await;
    ///     Ok::<_, OrmError>(())
    /// })
    /// .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// A savepoint whose closure returns `Ok` after a statement in it
    /// spoiled the transaction (see [`Db::transaction`]) is rolled back and
    /// the result is an [`OrmError::Transaction`].
    pub async fn transaction<F, Fut, T, E>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(Transaction) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: From<OrmError>,
    {
        let id = SAVEPOINTS.fetch_add(1, Ordering::Relaxed);
        {
            let mut state = self.shared.state.lock().await;
            let backend = state.backend(self.savepoint)?;
            let result = backend
                .execute_unprepared(&format!("SAVEPOINT {}", savepoint_name(id)))
                .await;
            state.note(self.shared.dialect, result)?;
            state.savepoints.push(id);
        }
        let inner = Transaction {
            shared: Arc::clone(&self.shared),
            savepoint: Some(id),
        };
        match run_caught(f, inner).await {
            Ok(Ok(value)) => {
                self.release(id).await?;
                Ok(value)
            }
            Ok(Err(err)) => {
                self.rollback_to(id).await;
                Err(err)
            }
            Err(panic) => {
                self.rollback_to(id).await;
                std::panic::resume_unwind(panic)
            }
        }
    }

    /// Commits the outermost transaction (rolling it back instead if it
    /// was spoiled); the commit hooks to run now.
    async fn commit(&self) -> Result<Vec<CommitHook>, OrmError> {
        let mut state = self.shared.state.lock().await;
        state.savepoints.clear();
        let hooks = std::mem::take(&mut state.hooks);
        let backend = state.backend.take().ok_or_else(|| OrmError::Transaction {
            message: "the transaction had already ended".to_owned(),
        })?;
        if state.spoiled {
            if let Err(err) = backend.rollback().await {
                tracing::warn!("rolling back a spoiled transaction failed: {err}");
            }
            return Err(spoiled_error("transaction"));
        }
        backend.commit().await?;
        Ok(hooks.into_iter().map(|(_, hook)| hook).collect())
    }

    /// Rolls the outermost transaction back; a failure is logged (the
    /// connection is then closed rather than reused mid-transaction).
    async fn rollback(&self) {
        let mut state = self.shared.state.lock().await;
        state.savepoints.clear();
        state.hooks.clear();
        if let Some(backend) = state.backend.take() {
            if let Err(err) = backend.rollback().await {
                tracing::warn!("rolling back a transaction failed: {err}");
            }
        }
    }

    /// Releases savepoint `id` (rolling back to it instead if a statement
    /// spoiled the transaction).
    async fn release(&self, id: u64) -> Result<(), OrmError> {
        let mut state = self.shared.state.lock().await;
        if state.spoiled {
            drop(state);
            self.rollback_to(id).await;
            return Err(spoiled_error("savepoint"));
        }
        let dialect = self.shared.dialect;
        let backend = state.backend(Some(id))?;
        let result = backend
            .execute_unprepared(&format!("RELEASE SAVEPOINT {}", savepoint_name(id)))
            .await;
        match state.note(dialect, result) {
            Ok(_) => {
                // The savepoint's hooks now belong to the enclosing block.
                let ended = ended_from(&state.savepoints, id);
                let parent = parent_of(&state.savepoints, id);
                for (owner, _) in &mut state.hooks {
                    if owner.is_some_and(|owner| ended.contains(&owner)) {
                        *owner = parent;
                    }
                }
                truncate_at(&mut state.savepoints, id);
                Ok(())
            }
            Err(err) => {
                drop(state);
                self.rollback_to(id).await;
                Err(err)
            }
        }
    }

    /// Rolls back to savepoint `id` and releases it; a failure is logged
    /// (the enclosing transaction then stays spoiled, and cannot commit).
    async fn rollback_to(&self, id: u64) {
        let mut state = self.shared.state.lock().await;
        let name = savepoint_name(id);
        if let Ok(backend) = state.backend(Some(id)) {
            let result = async {
                backend
                    .execute_unprepared(&format!("ROLLBACK TO SAVEPOINT {name}"))
                    .await?;
                backend
                    .execute_unprepared(&format!("RELEASE SAVEPOINT {name}"))
                    .await
            }
            .await;
            match result {
                Ok(_) => state.spoiled = false,
                Err(err) => {
                    tracing::warn!("rolling back to savepoint {name} failed: {err}");
                    state.spoiled = true;
                }
            }
        }
        // The work of the savepoint (and of those inside it) is undone:
        // so are its hooks.
        let ended = ended_from(&state.savepoints, id);
        state
            .hooks
            .retain(|(owner, _)| !owner.is_some_and(|owner| ended.contains(&owner)));
        truncate_at(&mut state.savepoints, id);
    }
}

impl Transaction {
    /// On PostgreSQL, the transaction's connection, once this handle is
    /// known to be usable: statements run on it without holding the
    /// state's lock, so statements sent together are pipelined.
    /// `None` on the other backends, whose connections take one statement
    /// at a time.
    #[cfg(feature = "postgres")]
    async fn postgres(&self) -> Result<Option<Arc<backends::postgres::PgTransaction>>, OrmError> {
        if self.shared.dialect != Dialect::Postgres {
            return Ok(None);
        }
        let mut state = self.shared.state.lock().await;
        match state.backend(self.savepoint)? {
            Backend::Postgres(tx) => Ok(Some(Arc::clone(tx))),
            #[cfg(feature = "sqlite")]
            Backend::Sqlite(_) => Ok(None),
            #[cfg(feature = "mysql")]
            Backend::MySql(_) => Ok(None),
        }
    }

    /// Notes a failed statement's effect on the transaction (see
    /// [`spoils`]); hands the result on.
    #[cfg(feature = "postgres")]
    async fn note<T>(&self, result: Result<T, OrmError>) -> Result<T, OrmError> {
        if result.is_ok() {
            return result;
        }
        self.shared
            .state
            .lock()
            .await
            .note(self.shared.dialect, result)
    }
}

/// Savepoint `id` and those inside it.
fn ended_from(savepoints: &[u64], id: u64) -> Vec<u64> {
    match savepoints.iter().position(|open| *open == id) {
        Some(position) => savepoints[position..].to_vec(),
        None => vec![id],
    }
}

/// The savepoint enclosing `id` (`None`: the outermost block).
fn parent_of(savepoints: &[u64], id: u64) -> Option<u64> {
    let position = savepoints.iter().position(|open| *open == id)?;
    position.checked_sub(1).map(|parent| savepoints[parent])
}

/// Ends savepoint `id` and any inside it.
fn truncate_at(savepoints: &mut Vec<u64>, id: u64) {
    if let Some(position) = savepoints.iter().position(|open| *open == id) {
        savepoints.truncate(position);
    }
}

fn spoiled_error(what: &str) -> OrmError {
    OrmError::Transaction {
        message: format!(
            "a statement failed inside this {what} and the database cannot commit the rest, \
             so it was rolled back; return the error, or run the statement that may fail in \
             a nested transaction"
        ),
    }
}

impl Connection for Transaction {
    fn dialect(&self) -> Dialect {
        self.shared.dialect
    }

    fn has_insert_returning(&self) -> bool {
        self.shared.insert_returning
    }

    fn in_transaction(&self) -> bool {
        true
    }

    fn fetch_all<'a>(
        &'a self,
        sql: &'a str,
        values: Values,
    ) -> BoxFuture<'a, Result<Vec<Row>, OrmError>> {
        Box::pin(async move {
            #[cfg(feature = "postgres")]
            if let Some(tx) = self.postgres().await? {
                let result = backends::postgres::fetch_all(tx.client(), sql, values).await;
                return self.note(result).await;
            }
            let mut state = self.shared.state.lock().await;
            let result = state.backend(self.savepoint)?.fetch_all(sql, values).await;
            state.note(self.shared.dialect, result)
        })
    }

    fn execute<'a>(
        &'a self,
        sql: &'a str,
        values: Values,
    ) -> BoxFuture<'a, Result<Executed, OrmError>> {
        Box::pin(async move {
            #[cfg(feature = "postgres")]
            if let Some(tx) = self.postgres().await? {
                let result = backends::postgres::execute(tx.client(), sql, values).await;
                return self.note(result).await;
            }
            let mut state = self.shared.state.lock().await;
            let result = state.backend(self.savepoint)?.execute(sql, values).await;
            state.note(self.shared.dialect, result)
        })
    }

    fn execute_unprepared<'a>(&'a self, sql: &'a str) -> BoxFuture<'a, Result<u64, OrmError>> {
        Box::pin(async move {
            #[cfg(feature = "postgres")]
            if let Some(tx) = self.postgres().await? {
                let result = backends::postgres::execute_unprepared(tx.client(), sql).await;
                return self.note(result).await;
            }
            let mut state = self.shared.state.lock().await;
            let result = state.backend(self.savepoint)?.execute_unprepared(sql).await;
            state.note(self.shared.dialect, result)
        })
    }
}
