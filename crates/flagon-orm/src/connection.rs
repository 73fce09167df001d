//! What queries run on: the pooled [`Db`] or an open [`Transaction`](crate::Transaction).
//!
//! Every terminal method of a [`QuerySet`](crate::QuerySet), every
//! [`ModelExt`](crate::ModelExt) method and
//! [`schema::create_table`](crate::schema::create_table) take
//! `&impl Connection`, so the same code runs in autocommit mode (`&db`) or
//! inside a transaction (`&tx`):
//!
//! ```no_run
//! # use flagon_orm::{Connection, Model, ModelExt, OrmError};
//! # #[derive(Model, Debug)]
//! # #[model(app = "polls")]
//! # struct Question { id: i64, votes: i32 }
//! async fn vote(db: &impl Connection, id: i64) -> Result<(), OrmError> {
//!     let mut question = Question::objects().filter(Question::ID.eq(id)).get(db).await?;
//!     question.votes += 1;
//!     question.save(db).await
//! }
//! # async fn demo(db: flagon_orm::Db) -> Result<(), OrmError> {
//! vote(&db, 1).await?;
//! db.transaction(|tx| async move { vote(&tx, 1).await }).await?;
//! # Ok(()) }
//! ```

use std::ops::Deref;

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use sea_query::Values;

use crate::backends::{Db, Dialect, Executed};
use crate::error::OrmError;
use crate::row::Row;
use futures_util::StreamExt;

/// A place to run SQL: a [`Db`] (each statement on a pooled connection, in
/// autocommit mode) or a [`Transaction`](crate::Transaction) (every
/// statement on the transaction's one connection).
///
/// Anything that dereferences to a `Connection` (`&Db`, `Arc<Db>`, the web
/// layer's `Db` extractor) is one too.
///
/// The SQL given to these methods is run as it is: pass only SQL the ORM
/// rendered or that you wrote, with every outside value bound in `values`.
pub trait Connection: Send + Sync {
    /// The backend's dialect.
    fn dialect(&self) -> Dialect;

    /// Whether `INSERT .. RETURNING` reports the keys the database gave
    /// (what [`QuerySet::bulk_create`](crate::QuerySet::bulk_create) reads
    /// them with): on SQLite and PostgreSQL, and on MariaDB from 10.5; not
    /// on MySQL. [`Db`] and [`Transaction`](crate::Transaction) know their
    /// server; this default goes by the dialect alone, so it is false on
    /// MySQL and MariaDB (keys are then read without `RETURNING`).
    fn has_insert_returning(&self) -> bool {
        self.dialect().has_returning()
    }

    /// Whether statements run inside a transaction (so row locks, as taken
    /// by [`QuerySet::select_for_update`](crate::QuerySet::select_for_update),
    /// last until it ends).
    fn in_transaction(&self) -> bool;

    /// Runs SQL with bound values and returns the rows.
    fn fetch_all<'a>(
        &'a self,
        sql: &'a str,
        values: Values,
    ) -> BoxFuture<'a, Result<Vec<Row>, OrmError>>;

    /// Runs SQL with bound values that returns no rows.
    fn execute<'a>(
        &'a self,
        sql: &'a str,
        values: Values,
    ) -> BoxFuture<'a, Result<Executed, OrmError>>;

    /// Runs SQL without parameters (DDL and scripts).
    fn execute_unprepared<'a>(&'a self, sql: &'a str) -> BoxFuture<'a, Result<u64, OrmError>>;

    /// Runs SQL with bound values and hands the rows out one by one. This
    /// default reads them all first; [`Db`] streams them from the server.
    fn fetch_stream<'a>(
        &'a self,
        sql: String,
        values: Values,
    ) -> BoxStream<'a, Result<Row, OrmError>> {
        Box::pin(
            futures_util::stream::once(async move { self.fetch_all(&sql, values).await }).flat_map(
                |result| {
                    let rows: Vec<Result<Row, OrmError>> = match result {
                        Ok(rows) => rows.into_iter().map(Ok).collect(),
                        Err(err) => vec![Err(err)],
                    };
                    futures_util::stream::iter(rows)
                },
            ),
        )
    }
}

impl Connection for Db {
    fn dialect(&self) -> Dialect {
        Db::dialect(self)
    }

    fn has_insert_returning(&self) -> bool {
        Db::has_insert_returning(self)
    }

    fn in_transaction(&self) -> bool {
        false
    }

    fn fetch_all<'a>(
        &'a self,
        sql: &'a str,
        values: Values,
    ) -> BoxFuture<'a, Result<Vec<Row>, OrmError>> {
        Box::pin(Db::fetch_all(self, sql, values))
    }

    fn execute<'a>(
        &'a self,
        sql: &'a str,
        values: Values,
    ) -> BoxFuture<'a, Result<Executed, OrmError>> {
        Box::pin(Db::execute(self, sql, values))
    }

    fn execute_unprepared<'a>(&'a self, sql: &'a str) -> BoxFuture<'a, Result<u64, OrmError>> {
        Box::pin(Db::execute_unprepared(self, sql))
    }

    fn fetch_stream<'a>(
        &'a self,
        sql: String,
        values: Values,
    ) -> BoxStream<'a, Result<Row, OrmError>> {
        Db::fetch_stream(self, sql, values)
    }
}

/// References, smart pointers and wrappers (such as the web layer's `Db`
/// extractor) run on what they point to.
impl<T> Connection for T
where
    T: Deref + Send + Sync,
    T::Target: Connection,
{
    fn dialect(&self) -> Dialect {
        (**self).dialect()
    }

    fn has_insert_returning(&self) -> bool {
        (**self).has_insert_returning()
    }

    fn in_transaction(&self) -> bool {
        (**self).in_transaction()
    }

    fn fetch_all<'a>(
        &'a self,
        sql: &'a str,
        values: Values,
    ) -> BoxFuture<'a, Result<Vec<Row>, OrmError>> {
        (**self).fetch_all(sql, values)
    }

    fn execute<'a>(
        &'a self,
        sql: &'a str,
        values: Values,
    ) -> BoxFuture<'a, Result<Executed, OrmError>> {
        (**self).execute(sql, values)
    }

    fn execute_unprepared<'a>(&'a self, sql: &'a str) -> BoxFuture<'a, Result<u64, OrmError>> {
        (**self).execute_unprepared(sql)
    }

    fn fetch_stream<'a>(
        &'a self,
        sql: String,
        values: Values,
    ) -> BoxStream<'a, Result<Row, OrmError>> {
        (**self).fetch_stream(sql, values)
    }
}

/// A `?Sized` connection as a `dyn Connection`.
pub(crate) struct DynRef<'a, C: ?Sized>(pub &'a C);

impl<C: Connection + ?Sized> Connection for DynRef<'_, C> {
    fn dialect(&self) -> Dialect {
        self.0.dialect()
    }

    fn has_insert_returning(&self) -> bool {
        self.0.has_insert_returning()
    }

    fn in_transaction(&self) -> bool {
        self.0.in_transaction()
    }

    fn fetch_all<'a>(
        &'a self,
        sql: &'a str,
        values: Values,
    ) -> BoxFuture<'a, Result<Vec<Row>, OrmError>> {
        self.0.fetch_all(sql, values)
    }

    fn execute<'a>(
        &'a self,
        sql: &'a str,
        values: Values,
    ) -> BoxFuture<'a, Result<Executed, OrmError>> {
        self.0.execute(sql, values)
    }

    fn execute_unprepared<'a>(&'a self, sql: &'a str) -> BoxFuture<'a, Result<u64, OrmError>> {
        self.0.execute_unprepared(sql)
    }

    fn fetch_stream<'a>(
        &'a self,
        sql: String,
        values: Values,
    ) -> BoxStream<'a, Result<Row, OrmError>> {
        self.0.fetch_stream(sql, values)
    }
}
