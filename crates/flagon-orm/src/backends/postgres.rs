//! The PostgreSQL backend, on tokio-postgres with a deadpool pool.
//!
//! Every statement is prepared once per connection, with the types of the
//! values bound to it (as sqlx did: a parameter's type comes from the
//! value, not from what the server would guess), and kept in the
//! connection's statement cache. Rows are decoded straight from the
//! server's binary format. Every function here takes the client by `&`:
//! tokio-postgres pipelines statements sent concurrently on one client, so
//! nothing here serializes them.

use std::error::Error as _;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use deadpool_postgres::{ClientWrapper, Hook, HookError, Manager, ManagerConfig, RecyclingMethod};
use futures_util::stream::{BoxStream, StreamExt, TryStreamExt};
use rust_decimal::Decimal;
use sea_query::{Value, Values};
use tokio_postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
use uuid::Uuid;

use super::{DbOptions, Executed};
use crate::error::{ConstraintKind, OrmError};
use crate::row::Row;

/// The pool.
pub(crate) type Pool = deadpool_postgres::Pool;

/// A connection taken from the pool (back to it when dropped).
pub(crate) type Object = deadpool_postgres::Object;

/// How many statements a connection keeps prepared before it forgets them
/// all and starts over (queries with `IN` lists of every length would
/// otherwise grow the cache, here and on the server, without end).
const STATEMENT_CACHE_CAPACITY: usize = 512;

/// The session settings sqlx gave each connection, kept so that SQL that
/// renders times or floats as text reads the same: UTC, ISO dates.
const SESSION_OPTIONS: &str = "-c TimeZone=UTC -c DateStyle=ISO -c extra_float_digits=2";

/// The pool for `url` with `options`; `invalid` reports a URL it cannot
/// read. Connects once, so that a server that is down or refuses the
/// credentials is an error now rather than on the first query.
pub(crate) async fn connect(
    url: &str,
    options: &DbOptions,
    invalid: impl Fn(String) -> OrmError,
) -> Result<Pool, OrmError> {
    let mut config =
        tokio_postgres::Config::from_str(url).map_err(|err| invalid(err.to_string()))?;
    let session = match config.get_options() {
        Some(own) if !own.is_empty() => format!("{SESSION_OPTIONS} {own}"),
        _ => SESSION_OPTIONS.to_owned(),
    };
    config.options(&session);
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(options.acquire_timeout);
    }
    let manager = Manager::from_config(
        config,
        tokio_postgres::NoTls,
        ManagerConfig {
            // A connection back in the pool is clean: transactions end
            // before it is returned (see `PgTransaction`), and its
            // prepared statements are worth keeping.
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let mut builder = Pool::builder(manager)
        .max_size(usize::try_from(options.max_connections.max(1)).unwrap_or(usize::MAX))
        .wait_timeout(Some(options.acquire_timeout))
        .create_timeout(Some(options.acquire_timeout))
        .runtime(deadpool_postgres::Runtime::Tokio1);
    if let Some(command) = options.init_command.clone() {
        builder = builder.post_create(Hook::async_fn(move |client: &mut ClientWrapper, _| {
            let command = command.clone();
            Box::pin(async move {
                tracing::debug!(target: "flagon::sql", "{command}");
                // The application's own configuration, run as it is.
                client
                    .batch_execute(&command)
                    .await
                    .map_err(HookError::Backend)
            })
        }));
    }
    let pool = builder.build().map_err(|err| OrmError::Unavailable {
        message: err.to_string(),
    })?;
    drop(acquire(&pool).await?);
    Ok(pool)
}

/// A connection from `pool`, waiting at most the acquire timeout.
pub(crate) async fn acquire(pool: &Pool) -> Result<Object, OrmError> {
    pool.get().await.map_err(pool_error)
}

fn pool_error(err: deadpool_postgres::PoolError) -> OrmError {
    use deadpool_postgres::PoolError;
    match err {
        PoolError::Backend(err) | PoolError::PostCreateHook(HookError::Backend(err)) => {
            OrmError::from(err)
        }
        PoolError::Timeout(_) => OrmError::Unavailable {
            message: "pool timed out while waiting for an open connection".to_owned(),
        },
        other => OrmError::Unavailable {
            message: other.to_string(),
        },
    }
}

/// Most parameters whose types [`prepare`] lists without allocating.
const INLINE_TYPES: usize = 8;

/// The types `params` are declared with, in order: in `inline` when they
/// fit (the common case, looked up on every statement run), else in
/// `spilled`.
fn param_types<'a>(
    params: &[Param],
    inline: &'a mut [Type; INLINE_TYPES],
    spilled: &'a mut Vec<Type>,
) -> &'a [Type] {
    if params.len() <= INLINE_TYPES {
        for (slot, param) in inline.iter_mut().zip(params) {
            *slot = param.ty();
        }
        &inline[..params.len()]
    } else {
        spilled.extend(params.iter().map(Param::ty));
        spilled
    }
}

/// A statement of `sql` for `params`, prepared on `client` once and cached.
async fn prepare(
    client: &ClientWrapper,
    sql: &str,
    params: &[Param],
) -> Result<tokio_postgres::Statement, OrmError> {
    let mut inline: [Type; INLINE_TYPES] = std::array::from_fn(|_| Type::BOOL);
    let mut spilled = Vec::new();
    let types = param_types(params, &mut inline, &mut spilled);
    // A statement found in the cache is ready at once; one the server had
    // to prepare waited. Only then can the cache have grown, so only then
    // is it counted (counting walks every statement it holds).
    let mut waited = false;
    let mut prepared = std::pin::pin!(client.prepare_typed_cached(sql, types));
    let statement = std::future::poll_fn(|cx| {
        let poll = std::future::Future::poll(prepared.as_mut(), cx);
        waited |= poll.is_pending();
        poll
    })
    .await?;
    if waited && client.statement_cache.size() > STATEMENT_CACHE_CAPACITY {
        client.statement_cache.clear();
    }
    Ok(statement)
}

/// Forgets the cached statement of `sql` for `params` if `err` says the
/// server can no longer run it as prepared (its table changed since, as a
/// migration does): the next run prepares it afresh.
fn forget_stale(client: &ClientWrapper, sql: &str, params: &[Param], err: &tokio_postgres::Error) {
    let stale = err.as_db_error().is_some_and(|db| {
        *db.code() == tokio_postgres::error::SqlState::FEATURE_NOT_SUPPORTED
            && db.message().contains("cached plan")
    });
    if stale {
        let mut inline: [Type; INLINE_TYPES] = std::array::from_fn(|_| Type::BOOL);
        let mut spilled = Vec::new();
        client
            .statement_cache
            .remove(sql, param_types(params, &mut inline, &mut spilled));
    }
}

/// Runs SQL with bound values and returns the rows.
pub(crate) async fn fetch_all(
    client: &ClientWrapper,
    sql: &str,
    values: Values,
) -> Result<Vec<Row>, OrmError> {
    tracing::debug!(target: "flagon::sql", "{sql}");
    let params = params(values)?;
    let statement = prepare(client, sql, &params).await?;
    let rows = async {
        let rows = client.query_raw(&statement, params.iter()).await?;
        rows.map_ok(Row::Postgres).try_collect().await
    }
    .await;
    rows.map_err(|err| {
        forget_stale(client, sql, &params, &err);
        OrmError::from(err)
    })
}

/// Runs SQL with bound values that returns no rows.
pub(crate) async fn execute(
    client: &ClientWrapper,
    sql: &str,
    values: Values,
) -> Result<Executed, OrmError> {
    tracing::debug!(target: "flagon::sql", "{sql}");
    let params = params(values)?;
    let statement = prepare(client, sql, &params).await?;
    match client.execute_raw(&statement, params.iter()).await {
        Ok(rows_affected) => Ok(Executed {
            rows_affected,
            last_insert_id: None,
        }),
        Err(err) => {
            forget_stale(client, sql, &params, &err);
            Err(err.into())
        }
    }
}

/// Runs SQL without parameters (DDL, scripts, transaction control) in the
/// simple query protocol: several statements may follow each other. The
/// rows the last one changed.
pub(crate) async fn execute_unprepared(client: &ClientWrapper, sql: &str) -> Result<u64, OrmError> {
    tracing::debug!(target: "flagon::sql", "{sql}");
    let messages = client.simple_query(sql).await?;
    Ok(messages
        .iter()
        .filter_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::CommandComplete(rows) => Some(*rows),
            _ => None,
        })
        .next_back()
        .unwrap_or(0))
}

/// Runs SQL with bound values on the connection `client` resolves to; the
/// rows as the server sends them. The connection is held until the stream
/// is dropped.
pub(crate) fn fetch_stream<'a, C, F>(
    client: F,
    sql: String,
    values: Values,
) -> BoxStream<'a, Result<Row, OrmError>>
where
    C: std::ops::Deref<Target = ClientWrapper> + Send + 'a,
    F: std::future::Future<Output = Result<C, OrmError>> + Send + 'a,
{
    tracing::debug!(target: "flagon::sql", "{sql}");
    futures_util::stream::once(async move {
        let client = client.await?;
        let params = params(values)?;
        let statement = prepare(&client, &sql, &params).await?;
        let rows = client
            .query_raw(&statement, params.iter())
            .await
            .inspect_err(|err| forget_stale(&client, &sql, &params, err))?;
        // The connection goes with the stream, so it stays out of the pool
        // until the last row.
        Ok::<_, OrmError>(rows.map(move |row| {
            let _held = &client;
            row.map(Row::Postgres).map_err(OrmError::from)
        }))
    })
    .try_flatten()
    .boxed()
}

/// A value bound to a statement, with the type it is sent as.
#[derive(Debug)]
pub(crate) enum Param {
    Bool(Option<bool>),
    SmallInt(Option<i16>),
    Int(Option<i32>),
    BigInt(Option<i64>),
    Float(Option<f32>),
    Double(Option<f64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
    Json(Option<serde_json::Value>),
    Date(Option<NaiveDate>),
    Time(Option<NaiveTime>),
    Timestamp(Option<NaiveDateTime>),
    TimestampTz(Option<DateTime<Utc>>),
    Uuid(Option<Uuid>),
    Decimal(Option<Decimal>),
}

impl Param {
    /// The type the parameter is declared with when the statement is
    /// prepared (typed even when NULL).
    fn ty(&self) -> Type {
        match self {
            Param::Bool(_) => Type::BOOL,
            Param::SmallInt(_) => Type::INT2,
            Param::Int(_) => Type::INT4,
            Param::BigInt(_) => Type::INT8,
            Param::Float(_) => Type::FLOAT4,
            Param::Double(_) => Type::FLOAT8,
            Param::Text(_) => Type::TEXT,
            Param::Bytes(_) => Type::BYTEA,
            Param::Json(_) => Type::JSONB,
            Param::Date(_) => Type::DATE,
            Param::Time(_) => Type::TIME,
            Param::Timestamp(_) => Type::TIMESTAMP,
            Param::TimestampTz(_) => Type::TIMESTAMPTZ,
            Param::Uuid(_) => Type::UUID,
            Param::Decimal(_) => Type::NUMERIC,
        }
    }
}

impl ToSql for Param {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Param::Bool(v) => v.to_sql_checked(ty, out),
            Param::SmallInt(v) => v.to_sql_checked(ty, out),
            Param::Int(v) => v.to_sql_checked(ty, out),
            Param::BigInt(v) => v.to_sql_checked(ty, out),
            Param::Float(v) => v.to_sql_checked(ty, out),
            Param::Double(v) => v.to_sql_checked(ty, out),
            Param::Text(v) => v.to_sql_checked(ty, out),
            Param::Bytes(v) => v.to_sql_checked(ty, out),
            Param::Json(v) => v.to_sql_checked(ty, out),
            Param::Date(v) => v.to_sql_checked(ty, out),
            Param::Time(v) => v.to_sql_checked(ty, out),
            Param::Timestamp(v) => v.to_sql_checked(ty, out),
            Param::TimestampTz(v) => v.to_sql_checked(ty, out),
            Param::Uuid(v) => v.to_sql_checked(ty, out),
            Param::Decimal(v) => v.to_sql_checked(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        // Each value checks its own type, in `to_sql`.
        true
    }

    to_sql_checked!();
}

/// `values` as statement parameters (in a vector allocated once, at its
/// size: collecting the `Result`s would grow it from empty).
pub(crate) fn params(values: Values) -> Result<Vec<Param>, OrmError> {
    let mut params = Vec::with_capacity(values.0.len());
    for value in values.0 {
        params.push(param(value)?);
    }
    Ok(params)
}

fn param(value: Value) -> Result<Param, OrmError> {
    Ok(match value {
        Value::Bool(v) => Param::Bool(v),
        Value::TinyInt(v) => Param::SmallInt(v.map(i16::from)),
        Value::SmallInt(v) => Param::SmallInt(v),
        Value::Int(v) => Param::Int(v),
        Value::BigInt(v) => Param::BigInt(v),
        Value::TinyUnsigned(v) => Param::SmallInt(v.map(i16::from)),
        Value::SmallUnsigned(v) => Param::Int(v.map(i32::from)),
        Value::Unsigned(v) => Param::BigInt(v.map(i64::from)),
        Value::BigUnsigned(v) => Param::BigInt(v.map(i64::try_from).transpose().map_err(|_| {
            super::bind::unsupported("an unsigned 64-bit value larger than i64::MAX")
        })?),
        Value::Float(v) => Param::Float(v),
        Value::Double(v) => Param::Double(v),
        Value::String(v) => Param::Text(v),
        Value::Char(v) => Param::Text(v.map(String::from)),
        Value::Bytes(v) => Param::Bytes(v),
        Value::Json(v) => Param::Json(v.map(|json| *json)),
        Value::ChronoDate(v) => Param::Date(v),
        Value::ChronoTime(v) => Param::Time(v),
        Value::ChronoDateTime(v) => Param::Timestamp(v),
        Value::ChronoDateTimeUtc(v) => Param::TimestampTz(v),
        Value::Uuid(v) => Param::Uuid(v),
        Value::Decimal(v) => Param::Decimal(v),
        other => return Err(super::bind::unsupported(&format!("{other:?}"))),
    })
}

/// Whether a column is NULL, whatever its type.
struct Nullness(bool);

impl<'a> FromSql<'a> for Nullness {
    fn from_sql(_: &Type, _: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Nullness(false))
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Nullness(true))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Whether column `index` of `row` is NULL.
pub(crate) fn is_null(row: &tokio_postgres::Row, index: usize) -> Result<bool, OrmError> {
    row.try_get::<_, Nullness>(index)
        .map(|nullness| nullness.0)
        .map_err(|err| decode_error(index, &err))
}

/// Column `index` of `row` as `T`.
pub(crate) fn get<'a, T: FromSql<'a>>(
    row: &'a tokio_postgres::Row,
    index: usize,
) -> Result<T, OrmError> {
    row.try_get::<_, T>(index)
        .map_err(|err| decode_error(index, &err))
}

fn decode_error(index: usize, err: &tokio_postgres::Error) -> OrmError {
    // tokio-postgres says "error deserializing column N" and keeps what
    // went wrong as the source.
    let message = match err.source() {
        Some(source) => source.to_string(),
        None => err.to_string(),
    };
    OrmError::Decode {
        column: index.to_string(),
        message,
    }
}

/// What a tokio-postgres error means for the ORM: a broken or refused
/// connection is [`OrmError::Unavailable`]; a constraint the server
/// enforced is [`OrmError::Integrity`] with the constraint's name.
pub(crate) fn error(err: tokio_postgres::Error) -> OrmError {
    use tokio_postgres::error::SqlState;
    if let Some(db) = err.as_db_error() {
        let kind = match *db.code() {
            SqlState::UNIQUE_VIOLATION => ConstraintKind::Unique,
            SqlState::FOREIGN_KEY_VIOLATION => ConstraintKind::ForeignKey,
            SqlState::NOT_NULL_VIOLATION => ConstraintKind::NotNull,
            SqlState::CHECK_VIOLATION => ConstraintKind::Check,
            SqlState::STRING_DATA_RIGHT_TRUNCATION => ConstraintKind::TooLong,
            _ => return OrmError::Postgres(err),
        };
        return OrmError::Integrity {
            kind,
            constraint: db.constraint().map(str::to_owned),
            message: db.message().to_owned(),
        };
    }
    let io = err
        .source()
        .is_some_and(|source| source.downcast_ref::<std::io::Error>().is_some());
    if err.is_closed() || io {
        return OrmError::Unavailable {
            message: err.to_string(),
        };
    }
    OrmError::Postgres(err)
}

/// The open transaction of one pooled connection. Statements of the
/// transaction run on its connection through `&self`, concurrently if they
/// are sent so (tokio-postgres pipelines them). A transaction that is
/// dropped before it commits or rolls back (its future dropped) is rolled
/// back before the connection returns to the pool, or the connection is
/// closed.
pub(crate) struct PgTransaction {
    client: Option<Object>,
    /// Committed or rolled back.
    ended: AtomicBool,
}

impl PgTransaction {
    /// Begins a transaction on a connection of `pool`.
    pub(crate) async fn begin(pool: &Pool) -> Result<PgTransaction, OrmError> {
        let tx = PgTransaction {
            client: Some(acquire(pool).await?),
            ended: AtomicBool::new(true),
        };
        execute_unprepared(tx.client(), "BEGIN").await?;
        tx.ended.store(false, Ordering::Release);
        Ok(tx)
    }

    /// The transaction's connection.
    pub(crate) fn client(&self) -> &ClientWrapper {
        self.client
            .as_ref()
            .expect("a transaction keeps its connection until dropped")
    }

    /// Commits.
    pub(crate) async fn commit(&self) -> Result<(), OrmError> {
        execute_unprepared(self.client(), "COMMIT").await?;
        self.ended.store(true, Ordering::Release);
        Ok(())
    }

    /// Rolls back.
    pub(crate) async fn rollback(&self) -> Result<(), OrmError> {
        execute_unprepared(self.client(), "ROLLBACK").await?;
        self.ended.store(true, Ordering::Release);
        Ok(())
    }
}

impl Drop for PgTransaction {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        if self.ended.load(Ordering::Acquire) {
            return;
        }
        let guard = UnfinishedRollback(Some(client));
        // Without a runtime to roll back on, the guard closes the connection.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let mut guard = guard;
                let Some(client) = guard.0.as_ref() else {
                    return;
                };
                tracing::debug!(target: "flagon::sql", "ROLLBACK");
                if client.batch_execute("ROLLBACK").await.is_ok() {
                    // Rolled back: the connection goes back to the pool.
                    drop(guard.0.take());
                }
                // Otherwise the guard closes it.
            });
        }
    }
}

/// A connection whose transaction is being rolled back. Dropped before the
/// ROLLBACK has succeeded (it failed, there was no runtime to run it on,
/// or the runtime it was spawned on stopped before running it), it takes the connection out of the pool,
/// which closes it and so ends the transaction on the server; otherwise
/// the pool would hand out a connection still inside the transaction.
struct UnfinishedRollback(Option<deadpool_postgres::Object>);

impl Drop for UnfinishedRollback {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            drop(deadpool_postgres::Object::take(client));
        }
    }
}

/// A connection of its own, outside the pool (the migration lock's).
pub(crate) async fn detach(pool: &Pool) -> Result<ClientWrapper, OrmError> {
    Ok(deadpool_postgres::Object::take(acquire(pool).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_keep_the_values_order_and_refuse_what_cannot_be_bound() {
        let params = params(Values(vec![
            Value::Int(Some(7)),
            Value::String(None),
            Value::BigUnsigned(Some(9)),
        ]))
        .unwrap();
        assert_eq!(
            params.iter().map(Param::ty).collect::<Vec<_>>(),
            [Type::INT4, Type::TEXT, Type::INT8]
        );
        assert!(matches!(params[0], Param::Int(Some(7))));
        assert!(matches!(params[2], Param::BigInt(Some(9))));
        assert!(super::params(Values(vec![Value::BigUnsigned(Some(u64::MAX))])).is_err());
        assert!(super::params(Values(Vec::new())).unwrap().is_empty());
    }

    #[test]
    fn param_types_are_listed_in_order_inline_or_spilled() {
        let few = [
            Param::Int(Some(1)),
            Param::Text(None),
            Param::Bool(Some(true)),
        ];
        let mut inline: [Type; INLINE_TYPES] = std::array::from_fn(|_| Type::BOOL);
        let mut spilled = Vec::new();
        assert_eq!(
            param_types(&few, &mut inline, &mut spilled),
            [Type::INT4, Type::TEXT, Type::BOOL]
        );
        assert!(spilled.is_empty());

        let none: [Param; 0] = [];
        assert!(param_types(&none, &mut inline, &mut spilled).is_empty());

        let many: Vec<Param> = (0..INLINE_TYPES + 1)
            .map(|n| {
                if n % 2 == 0 {
                    Param::BigInt(Some(1))
                } else {
                    Param::Uuid(None)
                }
            })
            .collect();
        let expected: Vec<Type> = many.iter().map(Param::ty).collect();
        assert_eq!(param_types(&many, &mut inline, &mut spilled), expected);
    }
}
