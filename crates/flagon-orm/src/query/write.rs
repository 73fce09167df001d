//! Writing many rows at once, and finding or making one: `bulk_create`,
//! `get_or_create`, `update_or_create`; reading a large result as a
//! stream; and models from SQL of your own (`raw`).

use futures_util::stream::{BoxStream, StreamExt};
use sea_query::{Expr, ExprTrait, Query};

use super::QuerySet;
use crate::backends;
use crate::connection::Connection;
use crate::error::{ConstraintKind, OrmError};
use crate::instance::{is_unsaved_key, validate, ModelExt};
use crate::model::Model;
use crate::value::Value;

/// The most parameters one statement carries: under SQLite's 32766 and
/// the 65535 of PostgreSQL and MySQL.
const MAX_PARAMETERS: usize = 30_000;

impl<M: Model> QuerySet<M> {
    /// Inserts `objects` with as few statements as the backend's limit on
    /// parameters allows, after checking every value (a bad one writes
    /// nothing). Automatic keys are stored in the objects: read back with
    /// `RETURNING` on SQLite, PostgreSQL and MariaDB ≥ 10.5. MySQL has no
    /// `RETURNING`: inside a transaction the keys of each statement are
    /// its first key and the next ones `@@auto_increment_increment` apart;
    /// on a pool each row is inserted on its own, so run a large
    /// `bulk_create` on MySQL in a transaction.
    ///
    /// Objects that carry their key are inserted with it, and on
    /// PostgreSQL the key's identity sequence is then moved past the
    /// largest (never back), so later automatic keys do not collide.
    ///
    /// Not wrapped in a transaction: run it in one for all or nothing when
    /// it takes several statements.
    ///
    /// ```no_run
    /// # use flagon_orm::Model;
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "polls")]
    /// # struct Choice { id: i64, #[field(max_length = 200)] text: String }
    /// # async fn demo(db: flagon_orm::Db) -> Result<(), flagon_orm::OrmError> {
    /// let mut choices: Vec<Choice> = ["Yes", "No"]
    ///     .iter()
    ///     .map(|text| Choice { id: 0, text: text.to_string() })
    ///     .collect();
    /// Choice::objects().bulk_create(&db, &mut choices).await?;
    /// assert!(choices.iter().all(|choice| choice.id > 0));
    /// # Ok(()) }
    /// ```
    pub async fn bulk_create(
        &self,
        db: &(impl Connection + ?Sized),
        objects: &mut [M],
    ) -> Result<(), OrmError> {
        self.bulk_create_in_batches(db, objects, usize::MAX).await
    }

    /// [`bulk_create`](QuerySet::bulk_create) with at most `batch_size`
    /// rows per statement (Django's `batch_size`).
    pub async fn bulk_create_in_batches(
        &self,
        db: &(impl Connection + ?Sized),
        objects: &mut [M],
        batch_size: usize,
    ) -> Result<(), OrmError> {
        for object in objects.iter() {
            crate::instance::refuse_unread(object, "bulk_create", None)?;
        }
        crate::instance::set_auto_now_all(objects, true);
        let rows: Vec<Vec<Value>> = objects.iter().map(Model::values).collect();
        for values in &rows {
            validate::<M>(db.dialect(), values)?;
        }
        // Objects whose automatic key is not set yet are inserted without
        // the key column; the others with theirs (as Django splits them).
        let pk = M::META.primary_key();
        let pk_index = M::META.primary_key_index();
        let (unkeyed, keyed): (Vec<usize>, Vec<usize>) = (0..rows.len())
            .partition(|&i| pk.auto && rows[i].get(pk_index).is_some_and(is_unsaved_key));
        for (indices, auto) in [(keyed, false), (unkeyed, true)] {
            if !indices.is_empty() {
                insert_batches(db, objects, &rows, &indices, auto, batch_size).await?;
            }
        }
        Ok(())
    }

    /// Writes the named fields of `objects` (each found by its primary
    /// key) with one `UPDATE .. SET field = CASE key WHEN .. END` statement
    /// per batch, as Django's `bulk_update`; returns the rows changed.
    /// Values are checked first, so a bad one writes nothing; an unknown
    /// field, or the primary key, is an error naming it.
    ///
    /// ```no_run
    /// # use flagon_orm::Model;
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "tfb")]
    /// # struct World { id: i64, random_number: i32 }
    /// # async fn demo(db: flagon_orm::Db, mut worlds: Vec<World>) -> Result<(), flagon_orm::OrmError> {
    /// for world in &mut worlds {
    ///     world.random_number += 1;
    /// }
    /// World::objects().bulk_update(&db, &worlds, &["random_number"]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn bulk_update(
        &self,
        db: &(impl Connection + ?Sized),
        objects: &[M],
        fields: &[&str],
    ) -> Result<u64, OrmError> {
        let pk = M::META.primary_key();
        let pk_index = M::META.primary_key_index();
        let mut chosen = Vec::with_capacity(fields.len());
        for name in fields {
            let index = M::META
                .fields
                .iter()
                .position(|field| field.name == *name)
                .ok_or_else(|| OrmError::Schema {
                    message: format!("{} has no field `{name}` to update", M::META.name),
                })?;
            if index == pk_index {
                return Err(OrmError::Schema {
                    message: format!(
                        "bulk_update finds rows by {}.{}: it cannot change it",
                        M::META.name,
                        pk.name
                    ),
                });
            }
            chosen.push(index);
        }
        if objects.is_empty() || chosen.is_empty() {
            return Ok(0);
        }
        for object in objects {
            crate::instance::refuse_unread(object, "bulk_update", Some(fields))?;
        }
        let rows: Vec<Vec<Value>> = objects.iter().map(Model::values).collect();
        for values in &rows {
            for &index in &chosen {
                let field = &M::META.fields[index];
                crate::instance::validate_field(db.dialect(), M::META, field, &values[index])?;
            }
        }
        let per_statement = (MAX_PARAMETERS / (1 + 2 * chosen.len())).max(1);
        let dialect = db.dialect();
        let mut changed = 0;
        for batch in rows.chunks(per_statement) {
            // The text of a batch of plain values depends only on its
            // shape: rendered once, then kept.
            let shape = super::sql_cache::UpdateShape::of(
                std::any::TypeId::of::<M>(),
                dialect,
                &chosen,
                pk_index,
                batch,
            );
            let (sql, values) = super::sql_cache::cached(
                shape.map(super::sql_cache::Key::BulkUpdate),
                || super::sql_cache::update_values(&chosen, pk_index, batch),
                || backends::build(dialect, &bulk_update_statement(M::META, &chosen, batch)),
            )?;
            changed += db.execute(&sql, values).await?.rows_affected;
        }
        Ok(changed)
    }

    /// The one matching row, or a new one made by `make` and saved:
    /// `(object, created)`, as Django's `get_or_create`. If another writer
    /// inserts the row between the two (a unique violation), the row is
    /// read again.
    ///
    /// On PostgreSQL inside a transaction, a failed insert spoils the
    /// transaction: run the call in a nested one (`tx.transaction(..)`).
    pub async fn get_or_create(
        &self,
        db: &(impl Connection + ?Sized),
        make: impl FnOnce() -> M,
    ) -> Result<(M, bool), OrmError> {
        match self.get(db).await {
            Ok(found) => return Ok((found, false)),
            Err(OrmError::DoesNotExist { .. }) => {}
            Err(err) => return Err(err),
        }
        let mut object = make();
        // A plain INSERT: a row a concurrent writer just made is never
        // overwritten, and its unique key sends us back to read it.
        match object.insert(db).await {
            Ok(()) => Ok((object, true)),
            Err(OrmError::Integrity {
                kind: ConstraintKind::Unique,
                constraint,
                message,
            }) => match self.get(db).await {
                Ok(found) => Ok((found, false)),
                Err(_) => Err(OrmError::Integrity {
                    kind: ConstraintKind::Unique,
                    constraint,
                    message,
                }),
            },
            Err(err) => Err(err),
        }
    }

    /// Updates the one matching row with `update` and saves it, or saves a
    /// new one made by `make`: `(object, created)`, as Django's
    /// `update_or_create`.
    pub async fn update_or_create(
        &self,
        db: &(impl Connection + ?Sized),
        make: impl FnOnce() -> M,
        update: impl FnOnce(&mut M),
    ) -> Result<(M, bool), OrmError> {
        match self.get(db).await {
            Ok(mut found) => {
                update(&mut found);
                found.save(db).await?;
                Ok((found, false))
            }
            Err(OrmError::DoesNotExist { .. }) => {
                let mut object = make();
                object.save(db).await?;
                Ok((object, true))
            }
            Err(err) => Err(err),
        }
    }

    /// The matching rows one by one, decoded as they arrive rather than
    /// collected first: for results too large to hold. On a pooled
    /// [`Db`](crate::Db) rows stream from the server; inside a transaction
    /// they are read first, then handed out. `select_related` and
    /// `select_for_update` apply as in [`all`](QuerySet::all);
    /// `prefetch_related` needs every row before its query, so a stream
    /// with it is refused (the stream's one item is the error).
    ///
    /// ```no_run
    /// # use flagon_orm::Model;
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "logs")]
    /// # struct Event { id: i64 }
    /// use futures_util::TryStreamExt;
    /// # async fn demo(db: flagon_orm::Db) -> Result<(), flagon_orm::OrmError> {
    /// let mut events = Event::objects().stream(&db);
    /// while let Some(event) = events.try_next().await? {
    ///     println!("{event:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn stream<'a>(
        &self,
        db: &'a (impl Connection + ?Sized),
    ) -> BoxStream<'a, Result<M, OrmError>> {
        let dialect = db.dialect();
        let built = self
            .stream_statement(db)
            .and_then(|statement| backends::build(dialect, &statement));
        let (sql, values) = match built {
            Ok(built) => built,
            Err(err) => return futures_util::stream::once(async move { Err(err) }).boxed(),
        };
        let query = self.clone();
        let deferred = self.deferred();
        db.fetch_stream(sql, values)
            .map(move |row| row.and_then(|row| query.decode(&row, &deferred)))
            .boxed()
    }

    /// The statement a stream runs, or why it cannot run.
    fn stream_statement(
        &self,
        db: &(impl Connection + ?Sized),
    ) -> Result<sea_query::SelectStatement, OrmError> {
        if !self.prefetch_related.is_empty() {
            return Err(self.invalid(
                "stream() with prefetch_related: the prefetch needs every row first; \
                 use all(), or select_related for a forward relation",
            ));
        }
        let statement = self.select_statement(db.dialect(), &[])?;
        self.check_lock(db)?;
        Ok(statement)
    }
}

/// Inserts the rows at `indices` in batches; with `auto`, leaves the key
/// to the database and stores the keys it assigned in the objects.
/// Without, the keys written move an automatic key's sequence past them.
async fn insert_batches<M: Model>(
    db: &(impl Connection + ?Sized),
    objects: &mut [M],
    rows: &[Vec<Value>],
    indices: &[usize],
    auto: bool,
    batch_size: usize,
) -> Result<(), OrmError> {
    let pk = M::META.primary_key();
    let pk_index = M::META.primary_key_index();
    let columns: Vec<&'static str> = M::META
        .fields
        .iter()
        .filter(|field| !(auto && field.primary_key))
        .map(|field| field.column)
        .collect();
    let per_statement = (MAX_PARAMETERS / columns.len().max(1))
        .min(batch_size)
        .max(1);
    let dialect = db.dialect();
    for batch in indices.chunks(per_statement) {
        let batch_rows: Vec<Vec<Value>> = batch
            .iter()
            .map(|&index| {
                M::META
                    .fields
                    .iter()
                    .zip(&rows[index])
                    .filter(|(field, _)| !(auto && field.primary_key))
                    .map(|(_, value)| value.clone())
                    .collect()
            })
            .collect();
        if auto {
            let keys = backends::keys::insert_reading_keys(
                db,
                M::META.table,
                pk.column,
                &columns,
                &batch_rows,
            )
            .await?;
            for (&index, key) in batch.iter().zip(keys) {
                objects[index].set_auto_pk(key);
            }
            continue;
        }
        let insert = backends::keys::statement(M::META.table, &columns, &batch_rows)?;
        let (sql, values) = backends::build(dialect, &insert)?;
        db.execute(&sql, values).await?;
    }
    if !auto && pk.auto {
        let keys = indices
            .iter()
            .filter_map(|&index| rows[index].get(pk_index));
        backends::keys::advance_sequence(db, M::META.table, pk.column, keys).await?;
    }
    Ok(())
}

/// Models from SQL of your own (Django's `Model.objects.raw`). The query
/// must return the model's columns in field order (`SELECT *` does for a
/// table the migrations made); a row that does not is an error naming the
/// columns wanted. Use the backend's own placeholders in `sql` (`$1` on
/// PostgreSQL, `?` elsewhere) and pass the values in `values`.
///
/// ```no_run
/// # use flagon_orm::Model;
/// # #[derive(Model, Debug)]
/// # #[model(app = "polls")]
/// # struct Question { id: i64, votes: i32 }
/// # async fn demo(db: flagon_orm::Db) -> Result<(), flagon_orm::OrmError> {
/// let popular: Vec<Question> = flagon_orm::query::raw(
///     &db,
///     "SELECT id, votes FROM polls_question WHERE votes > ? ORDER BY votes DESC",
///     vec![10.into()],
/// )
/// .await?;
/// # let _ = popular; Ok(()) }
/// ```
pub async fn raw<M: Model>(
    db: &(impl Connection + ?Sized),
    sql: &str,
    values: Vec<Value>,
) -> Result<Vec<M>, OrmError> {
    let rows = db.fetch_all(sql, sea_query::Values(values)).await?;
    if let Some(first) = rows.first() {
        let wanted: Vec<&str> = M::META.fields.iter().map(|field| field.column).collect();
        let got = first.column_names();
        let matches = got.len() == wanted.len()
            && got
                .iter()
                .zip(&wanted)
                .all(|(a, b)| a.eq_ignore_ascii_case(b));
        if !matches {
            return Err(OrmError::Decode {
                column: "(raw)".to_owned(),
                message: format!(
                    "raw SQL for {} must return the columns {} in that order; it returned {}",
                    M::META.name,
                    wanted.join(", "),
                    got.join(", ")
                ),
            });
        }
    }
    rows.iter().map(M::from_row).collect()
}

/// One `bulk_update` statement of `meta`'s rows `batch` (each row's values
/// in field order), writing the fields at `fields`: each field set by a
/// `CASE` on the primary key, the rows found by `key IN (..)`.
pub(super) fn bulk_update_statement(
    meta: &crate::model::ModelMeta,
    fields: &[usize],
    batch: &[Vec<Value>],
) -> sea_query::UpdateStatement {
    let pk = meta.primary_key();
    let pk_index = meta.primary_key_index();
    // Every row has a value for every field (`Model::values`).
    let key = |values: &Vec<Value>| values[pk_index].clone();
    let mut update = Query::update();
    update.table(meta.table);
    for &index in fields {
        let mut case = sea_query::CaseStatement::new();
        for values in batch {
            case = case.case(
                Expr::col(pk.column).eq(key(values)),
                Expr::val(values[index].clone()),
            );
        }
        let column = meta.fields[index].column;
        update.value(column, case.finally(Expr::col(column)));
    }
    update.and_where(Expr::col(pk.column).is_in(batch.iter().map(key)));
    update
}
