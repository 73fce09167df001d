//! Saving, deleting and reloading single objects.

use std::future::Future;

use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, Query};

use crate::backends;
use crate::connection::Connection;
use crate::error::OrmError;
use crate::model::{FieldMeta, Model, ModelMeta};
use crate::value::Value;

/// Instance methods every model has: `save`, `delete`, `refresh`, on any
/// [`Connection`]: the pooled `&db`, or `&tx` inside a transaction.
///
/// A model with an automatic `id` is new while its id is 0: `save` inserts
/// it and stores the id the database assigned. An object inserted with an
/// id of its own moves PostgreSQL's identity sequence past it (never
/// back), so the next automatic id does not collide with it.
pub trait ModelExt: Model {
    /// Inserts the object if it is new, else updates its row (inserting it
    /// if the row is gone, as Django does). Values are checked first, so a
    /// bad value writes nothing.
    fn save<'a, C: Connection + ?Sized>(
        &'a mut self,
        db: &'a C,
    ) -> impl Future<Output = Result<(), OrmError>> + Send + 'a {
        async move {
            let result = save(self, db).await;
            name_foreign_key(&*self, db, result).await
        }
    }

    /// Inserts the object as a new row, whatever its primary key.
    fn insert<'a, C: Connection + ?Sized>(
        &'a mut self,
        db: &'a C,
    ) -> impl Future<Output = Result<(), OrmError>> + Send + 'a {
        async move {
            let result = insert(self, db).await;
            name_foreign_key(&*self, db, result).await
        }
    }

    /// Writes only the fields named in `fields` to the object's row, found
    /// by its primary key: Django's `save(update_fields=[..])`. Their
    /// values are checked first, as `save` checks them; an `auto_now`
    /// field named here is set to now (one not named is left alone, and
    /// `auto_now_add` never changes), in the object too.
    ///
    /// It never inserts. An empty list writes nothing (as in Django).
    /// Fails with [`OrmError::InvalidQuery`], before anything runs, for a
    /// name that is not a field of the model (many-to-many fields are not
    /// columns), for the primary key, and for an object not saved yet
    /// (automatic key 0); with [`OrmError::DoesNotExist`] when no row has
    /// the key (Django's "Save with update_fields did not affect any
    /// rows.").
    ///
    /// ```no_run
    /// # use flagon_orm::{Model, ModelExt};
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "blog")]
    /// # struct Post { id: i64, #[field(max_length = 200)] title: String, votes: i32, body: String }
    /// # async fn demo(db: flagon_orm::Db, mut post: Post) -> Result<(), flagon_orm::OrmError> {
    /// post.title = "Edited".into();
    /// post.votes += 1;
    /// post.save_fields(&db, &["title", "votes"]).await?; // `body` is not written
    /// # Ok(()) }
    /// ```
    fn save_fields<'a, C: Connection + ?Sized>(
        &'a mut self,
        db: &'a C,
        fields: &'a [&'a str],
    ) -> impl Future<Output = Result<(), OrmError>> + Send + 'a {
        async move {
            let result = save_fields(self, db, fields).await;
            name_foreign_key(&*self, db, result).await
        }
    }

    /// Deletes the object's row; returns whether there was one.
    fn delete<'a, C: Connection + ?Sized>(
        &'a self,
        db: &'a C,
    ) -> impl Future<Output = Result<bool, OrmError>> + Send + 'a {
        delete(self, db)
    }

    /// Reloads the object from its row (Django's `refresh_from_db()`):
    /// every field that was read; fields a query left unread stay unread.
    fn refresh<'a, C: Connection + ?Sized>(
        &'a mut self,
        db: &'a C,
    ) -> impl Future<Output = Result<(), OrmError>> + Send + 'a {
        refresh(self, db)
    }

    /// Reads only the fields named in `fields` from the object's row
    /// (Django's `refresh_from_db(fields=[..])`): how a
    /// [`Deferred`](crate::Deferred) field left unread by
    /// [`defer`](crate::QuerySet::defer) or [`only`](crate::QuerySet::only)
    /// is loaded. The other fields keep their values. An empty list reads
    /// nothing.
    ///
    /// Fails with [`OrmError::InvalidQuery`], before anything runs, for a
    /// name that is not a field of the model and for an object not saved
    /// yet; with [`OrmError::DoesNotExist`] when no row has the key.
    ///
    /// ```no_run
    /// # use flagon_orm::{Deferred, Model, ModelExt};
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "blog")]
    /// # struct Post { id: i64, #[field(max_length = 200)] title: String, body: Deferred<String> }
    /// # async fn demo(db: flagon_orm::Db) -> Result<(), flagon_orm::OrmError> {
    /// let mut post = Post::objects().defer(Post::BODY).get(&db).await?;
    /// assert!(post.body.get().is_none());
    /// post.refresh_fields(&db, &["body"]).await?;
    /// assert!(post.body.get().is_some());
    /// # Ok(()) }
    /// ```
    fn refresh_fields<'a, C: Connection + ?Sized>(
        &'a mut self,
        db: &'a C,
        fields: &'a [&'a str],
    ) -> impl Future<Output = Result<(), OrmError>> + Send + 'a {
        refresh_fields(self, db, fields)
    }

    /// Checks every field's value without a database (Django's
    /// `clean_fields()`): `blank`, `choices`, `max_length`, decimal digits,
    /// `email`, `url`, `min`/`max`, `min_length` and the `validators`
    /// functions; see [`crate::validation`]. An automatic primary key is
    /// not checked.
    ///
    /// ```
    /// use flagon_orm::{Model, ModelExt};
    ///
    /// #[derive(Model, Debug)]
    /// #[model(app = "club")]
    /// struct Member { id: i64, #[field(max_length = 254, email)] email: String }
    ///
    /// let member = Member { id: 0, email: "ann@".into() };
    /// let errors = member.clean_fields().unwrap_err();
    /// assert_eq!(errors.field("email")[0].message, "Enter a valid email address.");
    /// ```
    fn clean_fields(&self) -> Result<(), crate::ValidationErrors> {
        crate::validation::clean_fields(self, &[]).into_result()
    }

    /// Checks that no other row holds the value of a `unique` field or the
    /// values of a `unique_together` group (Django's `validate_unique()`),
    /// with the object's own row left out by its primary key once it has
    /// one. A NULL collides with nothing. Fails with
    /// [`OrmError::Invalid`]: a `unique` error on the field, a
    /// `unique_together` error of no field.
    ///
    /// An object whose primary key is set is taken to be that row (as
    /// `save()` updates it), so a primary key of your own is not checked
    /// here; the database refuses a duplicate one on insert.
    fn validate_unique<'a, C: Connection + ?Sized>(
        &'a self,
        db: &'a C,
    ) -> impl Future<Output = Result<(), OrmError>> + Send + 'a {
        async move {
            crate::validation::validate_unique(self, db, &[])
                .await?
                .into_result()
                .map_err(OrmError::Invalid)
        }
    }

    /// Runs every check, as Django's `full_clean()`: the fields
    /// ([`clean_fields`](ModelExt::clean_fields)), that each foreign key
    /// points to a row, the model's `#[model(clean = ..)]` function (even
    /// when fields failed), and the unique checks of the fields without
    /// errors ([`validate_unique`](ModelExt::validate_unique)). Fails with
    /// [`OrmError::Invalid`] holding every error found; other errors are
    /// the database's.
    ///
    /// `save()` does not call it (nor does Django's): call it on objects
    /// built from input, before saving.
    ///
    /// ```no_run
    /// # use flagon_orm::{Model, ModelExt, OrmError};
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "club")]
    /// # struct Member { id: i64, #[field(max_length = 30, unique)] name: String }
    /// # async fn demo(db: flagon_orm::Db, mut member: Member) -> Result<(), OrmError> {
    /// match member.full_clean(&db).await {
    ///     Ok(()) => member.save(&db).await?,
    ///     Err(OrmError::Invalid(errors)) => println!("{}", serde_json::to_string(&errors).unwrap()),
    ///     Err(other) => return Err(other),
    /// }
    /// # Ok(()) }
    /// ```
    fn full_clean<'a, C: Connection + ?Sized>(
        &'a self,
        db: &'a C,
    ) -> impl Future<Output = Result<(), OrmError>> + Send + 'a {
        crate::validation::full_clean(self, db, &[])
    }

    /// [`full_clean`](ModelExt::full_clean) leaving out the fields named in
    /// `exclude` (Django's `full_clean(exclude=..)`): fields a form does not
    /// show. Their values are not checked, nor any unique group or foreign
    /// key they are part of; the model's `clean` still runs.
    ///
    /// ```no_run
    /// # use flagon_orm::{Model, ModelExt, OrmError};
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "club")]
    /// # struct Member { id: i64, #[field(max_length = 30)] name: String, #[field(max_length = 30)] code: String }
    /// # async fn demo(db: flagon_orm::Db, member: Member) -> Result<(), OrmError> {
    /// member.full_clean_except(&db, &["code"]).await?;
    /// # Ok(()) }
    /// ```
    fn full_clean_except<'a, C: Connection + ?Sized>(
        &'a self,
        db: &'a C,
        exclude: &'a [&'a str],
    ) -> impl Future<Output = Result<(), OrmError>> + Send + 'a {
        crate::validation::full_clean(self, db, exclude)
    }

    /// The rows of model `R` whose relation `field` points to this object:
    /// Django's reverse accessor (`question.choice_set`), as a query set.
    ///
    /// ```no_run
    /// # use flagon_orm::{ForeignKey, Model, ModelExt};
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "polls")]
    /// # struct Question { id: i64 }
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "polls")]
    /// # struct Choice { id: i64, #[field(on_delete = "cascade")] question: ForeignKey<Question>, votes: i32 }
    /// # async fn demo(db: flagon_orm::Db, question: Question) -> Result<(), flagon_orm::OrmError> {
    /// let popular = question
    ///     .related(Choice::QUESTION)
    ///     .filter(Choice::VOTES.gt(10))
    ///     .count(&db)
    ///     .await?;
    /// # let _ = popular; Ok(()) }
    /// ```
    fn related<R, F>(&self, field: F) -> crate::QuerySet<R>
    where
        R: Model,
        F: crate::relation::RelationField<R, Self>,
    {
        R::objects().filter(crate::Condition::column_eq(
            field.relation_column(),
            crate::FieldType::to_value(&self.key()),
        ))
    }
}

impl<M: Model> ModelExt for M {}

/// Whether `value` is the unsaved marker of an automatic key (0).
pub(crate) fn is_unsaved_key(value: &Value) -> bool {
    matches!(
        value,
        Value::BigInt(Some(0))
            | Value::Int(Some(0))
            | Value::SmallInt(Some(0))
            | Value::BigInt(None)
            | Value::Int(None)
    )
}

/// Checks a value against its field before anything is written.
fn validate_value(meta: &ModelMeta, field: &FieldMeta, value: &Value) -> Result<(), OrmError> {
    if let (Some(max), Value::String(Some(text))) = (field.max_length, value) {
        let length = text.chars().count();
        if length > max as usize {
            return Err(OrmError::Validation {
                model: meta.name,
                field: field.name,
                message: format!(
                    "ensure this value has at most {max} characters (it has {length})"
                ),
            });
        }
    }
    if let Value::Decimal(Some(number)) = value {
        if let Some((_, message)) = decimal_problem(*number, field.max_digits, field.decimal_places)
        {
            return Err(OrmError::Validation {
                model: meta.name,
                field: field.name,
                message,
            });
        }
    }
    Ok(())
}

/// What is wrong with `number` for a field of `max_digits` and
/// `decimal_places`, as Django's `DecimalValidator` says it: its code and
/// message.
pub(crate) fn decimal_problem(
    number: rust_decimal::Decimal,
    max_digits: Option<u32>,
    decimal_places: Option<u32>,
) -> Option<(&'static str, String)> {
    let number = number.normalize();
    let decimals = number.scale();
    let mantissa_digits = number
        .mantissa()
        .unsigned_abs()
        .checked_ilog10()
        .map_or(1, |log| log + 1);
    let digits = std::cmp::max(mantissa_digits, decimals);
    let whole = digits - decimals;
    if let Some(max) = max_digits {
        if digits > max {
            return Some((
                "max_digits",
                format!(
                    "ensure that there are no more than {max} digits in total (it has {digits})"
                ),
            ));
        }
    }
    if let Some(places) = decimal_places {
        if decimals > places {
            return Some((
                "max_decimal_places",
                format!(
                    "ensure that there are no more than {places} decimal places (it has {decimals})"
                ),
            ));
        }
        if let Some(max) = max_digits {
            let whole_max = max.saturating_sub(places);
            if whole > whole_max {
                return Some((
                    "max_whole_digits",
                    format!(
                        "ensure that there are no more than {whole_max} digits before the decimal point (it has {whole})"
                    ),
                ));
            }
        }
    }
    None
}

/// Refuses a value the backend would not keep as it is: on SQLite, a
/// decimal of more significant digits than it keeps (see
/// [`Decimal`](crate::Decimal)).
fn validate_kept(
    dialect: crate::Dialect,
    meta: &ModelMeta,
    field: &FieldMeta,
    value: &Value,
) -> Result<(), OrmError> {
    if let (crate::Dialect::Sqlite, Value::Decimal(Some(number))) = (dialect, value) {
        if let Err(message) = crate::value::sqlite_number(*number) {
            return Err(OrmError::Validation {
                model: meta.name,
                field: field.name,
                message,
            });
        }
    }
    Ok(())
}

/// Checks `value` for `field` of `meta` before it is written on
/// `dialect`: what the field allows, and what the backend keeps.
pub(crate) fn validate_field(
    dialect: crate::Dialect,
    meta: &ModelMeta,
    field: &FieldMeta,
    value: &Value,
) -> Result<(), OrmError> {
    validate_value(meta, field, value)?;
    validate_kept(dialect, meta, field, value)
}

/// Checks the values of a row of `M` before it is written on `dialect`.
pub(crate) fn validate<M: Model>(
    dialect: crate::Dialect,
    values: &[Value],
) -> Result<(), OrmError> {
    for (field, value) in M::META.fields.iter().zip(values) {
        validate_field(dialect, M::META, field, value)?;
    }
    Ok(())
}

/// Sets the `auto_now` fields of `object` to `now`, and its
/// `auto_now_add` fields too when the row is being inserted (`adding`).
pub(crate) fn set_auto_now<M: Model>(object: &mut M, now: DateTime<Utc>, adding: bool) {
    for field in M::META.fields {
        if field.auto_now || (adding && field.auto_now_add) {
            object.set_now(field.name, now);
        }
    }
}

/// [`set_auto_now`] on each of `objects` with the same instant: what
/// `bulk_create` calls before inserting them.
pub(crate) fn set_auto_now_all<M: Model>(objects: &mut [M], adding: bool) {
    if M::META
        .fields
        .iter()
        .any(|field| field.auto_now || field.auto_now_add)
    {
        let now = Utc::now();
        for object in objects {
            set_auto_now(object, now, adding);
        }
    }
}

async fn save<M: Model, C: Connection + ?Sized>(object: &mut M, db: &C) -> Result<(), OrmError> {
    let pk_field = M::META.primary_key();
    let pk = object.pk();
    let now = Utc::now();
    if pk_field.auto && is_unsaved_key(&pk) {
        set_auto_now(object, now, true);
        return insert_row(object, db, true).await;
    }
    set_auto_now(object, now, false);
    let values = object.values();
    // Fields a query left unread are not written (Django saves only the
    // loaded fields of an object with deferred ones).
    let unread = object.deferred_fields();
    let read = |field: &FieldMeta| !unread.contains(&field.name);
    for (field, value) in M::META.fields.iter().zip(&values) {
        if read(field) {
            validate_field(db.dialect(), M::META, field, value)?;
        }
    }
    let assignments: Vec<(&'static str, Expr)> = M::META
        .fields
        .iter()
        .zip(values)
        .filter(|(field, _)| !field.primary_key && read(field))
        .map(|(field, value)| (field.column, Expr::val(value)))
        .collect();
    if assignments.is_empty() {
        // Nothing but the key: make sure the row exists.
        if M::objects()
            .filter(pk_condition::<M>(pk))
            .exists(db)
            .await?
        {
            return Ok(());
        }
        set_auto_now(object, now, true);
        return insert_row(object, db, false).await;
    }
    if update_row::<M, _>(db, assignments, pk).await? == 0 {
        if !unread.is_empty() {
            // Django: "Save with update_fields did not affect any rows."
            // (the unread fields could not be inserted anyway).
            return Err(OrmError::DoesNotExist {
                model: M::META.name,
            });
        }
        set_auto_now(object, now, true);
        insert_row(object, db, false).await?;
    }
    Ok(())
}

/// Refuses to `write` fields of `object` that a query left unread
/// (`defer`, `only`): of `among` if given, else any. Nothing is written.
pub(crate) fn refuse_unread<M: Model>(
    object: &M,
    write: &str,
    among: Option<&[&str]>,
) -> Result<(), OrmError> {
    let unread: Vec<&'static str> = object
        .deferred_fields()
        .into_iter()
        .filter(|name| among.is_none_or(|among| among.contains(name)))
        .collect();
    if unread.is_empty() {
        return Ok(());
    }
    let names = unread
        .iter()
        .map(|name| format!("\"{name}\""))
        .collect::<Vec<_>>()
        .join(", ");
    Err(OrmError::InvalidQuery {
        model: M::META.name,
        message: format!(
            "{write} would write {names} of {}, which the query that read it left unread \
             (defer/only): load it with refresh_fields(&db, &[{names}]) or set it first",
            M::META.name
        ),
    })
}

async fn save_fields<M: Model, C: Connection + ?Sized>(
    object: &mut M,
    db: &C,
    names: &[&str],
) -> Result<(), OrmError> {
    let pk_field = M::META.primary_key();
    let mut chosen: Vec<&'static FieldMeta> = Vec::with_capacity(names.len());
    let mut refused: Vec<&str> = Vec::new();
    for name in names {
        match M::META.field(name) {
            Some(field) if !field.primary_key => {
                if !chosen.iter().any(|seen| seen.name == field.name) {
                    chosen.push(field);
                }
            }
            _ => {
                if !refused.contains(name) {
                    refused.push(name);
                }
            }
        }
    }
    if !refused.is_empty() {
        let list = refused
            .iter()
            .map(|name| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(OrmError::InvalidQuery {
            model: M::META.name,
            message: format!(
                "save_fields cannot write {list}: name fields of {} other than its primary key `{}` (many-to-many fields are not columns)",
                M::META.name,
                pk_field.name
            ),
        });
    }
    if chosen.is_empty() {
        return Ok(());
    }
    let pk = object.pk();
    if pk_field.auto && is_unsaved_key(&pk) {
        return Err(OrmError::InvalidQuery {
            model: M::META.name,
            message: format!(
                "save_fields updates a row by its primary key, and this {} has none yet (`{}` is 0): save() or insert() it first",
                M::META.name,
                pk_field.name
            ),
        });
    }
    let names: Vec<&str> = chosen.iter().map(|field| field.name).collect();
    refuse_unread(object, "save_fields", Some(&names))?;
    let now = Utc::now();
    for field in &chosen {
        if field.auto_now {
            object.set_now(field.name, now);
        }
    }
    let values = object.values();
    let mut assignments: Vec<(&'static str, Expr)> = Vec::with_capacity(chosen.len());
    for (field, value) in M::META.fields.iter().zip(values) {
        if chosen.iter().any(|seen| seen.name == field.name) {
            validate_field(db.dialect(), M::META, field, &value)?;
            assignments.push((field.column, Expr::val(value)));
        }
    }
    if update_row::<M, _>(db, assignments, pk).await? == 0 {
        // Django: "Save with update_fields did not affect any rows."
        return Err(OrmError::DoesNotExist {
            model: M::META.name,
        });
    }
    Ok(())
}

/// Turns a foreign key error from writing `object` into one that names
/// the field and the missing row. PostgreSQL and MySQL name the constraint
/// (`<table>_<column>_fk`); SQLite does not, so there each key is looked up.
async fn name_foreign_key<M: Model, C: Connection + ?Sized>(
    object: &M,
    db: &C,
    result: Result<(), OrmError>,
) -> Result<(), OrmError> {
    let Err(OrmError::Integrity {
        kind: crate::ConstraintKind::ForeignKey,
        constraint,
        message,
    }) = result
    else {
        return result;
    };
    let values = object.values();
    let relations = M::META
        .fields
        .iter()
        .zip(&values)
        .filter_map(|(field, value)| Some((field, field.relation?, value)));
    let mut culprit = None;
    for (field, relation, value) in relations {
        let name = crate::migrations::index_name(M::META.table, &[field.column.to_owned()], "fk");
        let named = constraint.as_deref() == Some(name.as_str()) || message.contains(&name);
        let probe = constraint.is_none() && !named && db.dialect() != crate::Dialect::Postgres;
        if named {
            culprit = Some((field, relation, value, name));
            break;
        }
        if probe && !crate::value::null_value_matches(value) {
            let target = (relation.target)();
            let sql_query = Query::select()
                .expr(Expr::val(1))
                .from(target.table)
                .and_where(Expr::col(target.primary_key().column).eq(value.clone()))
                .to_owned();
            let (sql, bound) = backends::build(db.dialect(), &sql_query)?;
            if db
                .fetch_all(&sql, bound)
                .await
                .is_ok_and(|rows| rows.is_empty())
            {
                culprit = Some((field, relation, value, name));
                break;
            }
        }
    }
    match culprit {
        Some((field, relation, value, name)) => {
            let target = (relation.target)();
            Err(OrmError::Integrity {
                kind: crate::ConstraintKind::ForeignKey,
                constraint: Some(name),
                message: format!(
                    "{}.{} points to no {} (key {}): {message}",
                    M::META.name,
                    field.name,
                    target.name,
                    display_value(value)
                ),
            })
        }
        None => Err(OrmError::Integrity {
            kind: crate::ConstraintKind::ForeignKey,
            constraint,
            message,
        }),
    }
}

fn display_value(value: &Value) -> String {
    match value {
        Value::BigInt(Some(v)) => v.to_string(),
        Value::Int(Some(v)) => v.to_string(),
        Value::SmallInt(Some(v)) => v.to_string(),
        Value::String(Some(v)) => format!("{v:?}"),
        Value::Uuid(Some(v)) => v.to_string(),
        other => format!("{other:?}"),
    }
}

async fn insert<M: Model, C: Connection + ?Sized>(object: &mut M, db: &C) -> Result<(), OrmError> {
    let auto = M::META.primary_key().auto && is_unsaved_key(&object.pk());
    set_auto_now(object, Utc::now(), true);
    insert_row(object, db, auto).await
}

/// The automatic key an `INSERT .. RETURNING` gave back in column 0: a
/// 64-bit or a 32-bit integer.
pub(crate) fn returned_key(row: &crate::Row) -> Result<i64, OrmError> {
    match row.get::<i64>(0) {
        Ok(key) => Ok(key),
        Err(_) => Ok(i64::from(row.get::<i32>(0)?)),
    }
}

/// Inserts the object; with `auto`, leaves the key to the database and
/// stores the one it assigned.
async fn insert_row<M: Model, C: Connection + ?Sized>(
    object: &mut M,
    db: &C,
    auto: bool,
) -> Result<(), OrmError> {
    refuse_unread(object, "inserting the row", None)?;
    let values = object.values();
    validate::<M>(db.dialect(), &values)?;
    let pk_field = M::META.primary_key();
    let key = values.get(M::META.primary_key_index()).cloned();
    let (columns, values): (Vec<&'static str>, Vec<Value>) = M::META
        .fields
        .iter()
        .zip(values)
        .filter(|(field, _)| !(auto && field.primary_key))
        .map(|(field, value)| (field.column, value))
        .unzip();
    let mut query = Query::insert();
    query
        .into_table(M::META.table)
        .columns(columns.iter().copied());
    if columns.is_empty() {
        query.or_default_values();
    } else {
        query
            .values(values.into_iter().map(Expr::val))
            .map_err(|err| OrmError::Decode {
                column: "(insert)".to_owned(),
                message: err.to_string(),
            })?;
    }
    if !auto {
        let (sql, values) = backends::build(db.dialect(), &query)?;
        db.execute(&sql, values).await?;
        if pk_field.auto {
            // A key of our own for an automatic key: move its sequence on.
            backends::keys::advance_sequence(db, M::META.table, pk_field.column, key.as_ref())
                .await?;
        }
        return Ok(());
    }
    if db.dialect().has_returning() {
        query.returning_col(pk_field.column);
        let (sql, values) = backends::build(db.dialect(), &query)?;
        let rows = db.fetch_all(&sql, values).await?;
        let row = rows.first().ok_or_else(|| OrmError::Decode {
            column: pk_field.column.to_owned(),
            message: "the insert returned no key".to_owned(),
        })?;
        object.set_auto_pk(returned_key(row)?);
    } else {
        let (sql, values) = backends::build(db.dialect(), &query)?;
        let done = db.execute(&sql, values).await?;
        if let Some(id) = done.last_insert_id {
            object.set_auto_pk(id);
        }
    }
    Ok(())
}

/// `UPDATE <table> SET .. WHERE <key> = pk`: how many rows changed.
async fn update_row<M: Model, C: Connection + ?Sized>(
    db: &C,
    assignments: Vec<(&'static str, Expr)>,
    pk: Value,
) -> Result<u64, OrmError> {
    let mut query = Query::update();
    query
        .table(M::META.table)
        .values(assignments)
        .and_where(Expr::col(M::META.primary_key().column).eq(pk));
    let (sql, values) = backends::build(db.dialect(), &query)?;
    Ok(db.execute(&sql, values).await?.rows_affected)
}

fn pk_condition<M: Model>(pk: Value) -> crate::query::condition::Condition<M> {
    crate::query::condition::Condition::column_eq(M::META.primary_key().column, pk)
}

async fn delete<M: Model, C: Connection + ?Sized>(object: &M, db: &C) -> Result<bool, OrmError> {
    Ok(M::objects()
        .filter(pk_condition::<M>(object.pk()))
        .delete(db)
        .await?
        > 0)
}

async fn refresh<M: Model, C: Connection + ?Sized>(object: &mut M, db: &C) -> Result<(), OrmError> {
    *object = M::objects()
        .filter(pk_condition::<M>(object.pk()))
        .defer_names(object.deferred_fields())
        .get(db)
        .await?;
    Ok(())
}

async fn refresh_fields<M: Model, C: Connection + ?Sized>(
    object: &mut M,
    db: &C,
    names: &[&str],
) -> Result<(), OrmError> {
    let mut chosen: Vec<&'static FieldMeta> = Vec::with_capacity(names.len());
    for name in names {
        let Some(field) = M::META.field(name) else {
            return Err(OrmError::InvalidQuery {
                model: M::META.name,
                message: format!(
                    "refresh_fields cannot read `{name}`: {} has no such field (many-to-many fields are not columns)",
                    M::META.name
                ),
            });
        };
        if !chosen.iter().any(|seen| seen.name == field.name) {
            chosen.push(field);
        }
    }
    if chosen.is_empty() {
        return Ok(());
    }
    let pk_field = M::META.primary_key();
    let pk = object.pk();
    if pk_field.auto && is_unsaved_key(&pk) {
        return Err(OrmError::InvalidQuery {
            model: M::META.name,
            message: format!(
                "refresh_fields reads the object's row by its primary key, and this {} has none yet (`{}` is 0)",
                M::META.name,
                pk_field.name
            ),
        });
    }
    let query = Query::select()
        .columns(chosen.iter().map(|field| field.column))
        .from(M::META.table)
        .and_where(Expr::col(pk_field.column).eq(pk))
        .to_owned();
    let (sql, values) = backends::build(db.dialect(), &query)?;
    let rows = db.fetch_all(&sql, values).await?;
    let Some(row) = rows.first() else {
        return Err(OrmError::DoesNotExist {
            model: M::META.name,
        });
    };
    for (index, field) in chosen.iter().enumerate() {
        object.load_field(field.name, row, index)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::decimal_problem;
    use rust_decimal::Decimal;

    fn problem(text: &str) -> Option<String> {
        decimal_problem(
            text.parse::<Decimal>().expect("a decimal"),
            Some(5),
            Some(2),
        )
        .map(|(_, message)| message)
    }

    #[test]
    fn decimals_are_checked_as_django_does() {
        for fits in ["0", "999.99", "-999.99", "1.5", "12.50", "0.01", "100"] {
            assert_eq!(problem(fits), None, "{fits}");
        }
        assert_eq!(
            problem("1.005").as_deref(),
            Some("ensure that there are no more than 2 decimal places (it has 3)")
        );
        assert_eq!(
            problem("1000").as_deref(),
            Some("ensure that there are no more than 3 digits before the decimal point (it has 4)")
        );
        assert_eq!(
            problem("123456").as_deref(),
            Some("ensure that there are no more than 5 digits in total (it has 6)")
        );
    }
}
