//! Historical models for data migrations: rows read and written through
//! the schema as the migrations have shaped it at that point (Django's
//! `apps.get_model(..)` in a `RunPython` function), not through today's
//! structs.
//!
//! A data migration that builds `World { id, random_number }` compiles
//! against the struct as it is now: once a later migration adds a field,
//! the struct has it, the seed inserts it, and a `migrate` from zero fails
//! because the column does not exist yet at the seed. A [`HistoricalModel`]
//! is read from the [`ProjectState`] before the step, so the seed keeps
//! working whatever the struct becomes.
//!
//! Rows are [`Record`]s (field name to [`Value`]); every value is checked
//! against the historical field's kind and nullability (and a `String`
//! field's length) before anything runs, and converted to the value type
//! the column binds (so `5` fits a `SmallInteger` as well as a
//! `BigInteger`). The queries are deliberately small (equality filters,
//! ordering, a limit): for anything else, use [`HistoricalApps::connection`]
//! with SQL of your own.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};

use crate::backends::{self, keys};
use crate::connection::Connection;
use crate::error::OrmError;
use crate::model::FieldKind;
use crate::row::Row;
use crate::value::{null_value, null_value_matches, Decimal, Uuid, Value};

use super::state::{FieldState, ModelState, ProjectState};

/// The most parameters one statement binds (SQLite allows 32,766).
const MAX_PARAMETERS: usize = 30_000;

/// What a data migration's function gets: its connection and the models
/// as they are at that point of the migrations.
///
/// ```
/// use flagon_orm::migrations::prelude::*;
///
/// fn publish_all(apps: HistoricalApps<'_>) -> BoxFuture<'_, Result<(), OrmError>> {
///     Box::pin(async move {
///         let post = apps.model("blog", "Post")?;
///         post.objects()
///             .filter("published", false)
///             .update(Record::new().set("published", true))
///             .await?;
///         Ok(())
///     })
/// }
/// let _ = Operation::run_rust(publish_all);
/// ```
#[derive(Clone, Copy)]
pub struct HistoricalApps<'a> {
    db: &'a dyn Connection,
    state: &'a ProjectState,
}

impl std::fmt::Debug for HistoricalApps<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoricalApps")
            .field("models", &self.state.models.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl<'a> HistoricalApps<'a> {
    /// The models of `state`, on `db`. The executor makes one for each
    /// `RunRust` step; make one yourself to test a data migration's
    /// function.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use flagon_orm::migrations::{HistoricalApps, ProjectState};
    ///
    /// let db = flagon_orm::Db::connect("sqlite::memory:").await?;
    /// let state = ProjectState::new();
    /// let apps = HistoricalApps::new(&db, &state);
    /// assert!(apps.model("blog", "Post").is_err());
    /// # Ok::<(), flagon_orm::OrmError>(())
    /// # }).unwrap();
    /// ```
    pub fn new(db: &'a dyn Connection, state: &'a ProjectState) -> HistoricalApps<'a> {
        HistoricalApps { db, state }
    }

    /// The migration's connection, for SQL of your own (inside the
    /// migration's transaction where there is one).
    ///
    /// ```
    /// use flagon_orm::migrations::prelude::*;
    ///
    /// fn fill_slugs(apps: HistoricalApps<'_>) -> BoxFuture<'_, Result<(), OrmError>> {
    ///     Box::pin(async move {
    ///         let sql = "UPDATE blog_post SET slug = lower(title)";
    ///         apps.connection().execute_unprepared(sql).await?;
    ///         Ok(())
    ///     })
    /// }
    /// let _ = Operation::run_rust(fill_slugs);
    /// ```
    pub fn connection(&self) -> &'a dyn Connection {
        self.db
    }

    /// The schema at this point of the migrations.
    ///
    /// ```
    /// # use flagon_orm::migrations::{HistoricalApps, ProjectState};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let db = flagon_orm::Db::connect("sqlite::memory:").await?;
    /// # let state = ProjectState::new();
    /// let apps = HistoricalApps::new(&db, &state);
    /// assert!(apps.state().models.is_empty());
    /// # Ok::<(), flagon_orm::OrmError>(())
    /// # }).unwrap();
    /// ```
    pub fn state(&self) -> &'a ProjectState {
        self.state
    }

    /// Model `name` of `app` as it is at this point (the name is matched
    /// exactly, else ignoring case, as Django's `get_model` does); an
    /// [`OrmError::HistoricalModel`] listing the app's models if there is
    /// no such model yet (or any more).
    ///
    /// ```
    /// use flagon_orm::migrations::{FieldState, HistoricalApps, ModelState, ProjectState};
    /// use flagon_orm::FieldKind;
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let db = flagon_orm::Db::connect("sqlite::memory:").await?;
    ///
    /// let mut state = ProjectState::new();
    /// state.add_model(
    ///     ModelState::new("tfb", "World", "world")
    ///         .field(FieldState::new("id", FieldKind::Integer).primary_key()),
    /// );
    /// let apps = HistoricalApps::new(&db, &state);
    /// assert_eq!(apps.model("tfb", "world")?.state().table, "world");
    /// let missing = apps.model("tfb", "Fortune").unwrap_err().to_string();
    /// assert!(missing.contains("tfb has World"), "{missing}");
    /// # Ok::<(), flagon_orm::OrmError>(())
    /// # }).unwrap();
    /// ```
    pub fn model(&self, app: &str, name: &str) -> Result<HistoricalModel<'a>, OrmError> {
        let found = self.state.model(app, name).or_else(|| {
            self.state
                .models
                .values()
                .find(|model| model.app == app && model.name.eq_ignore_ascii_case(name))
        });
        match found {
            Some(model) => Ok(HistoricalModel { db: self.db, model }),
            None => {
                let known: Vec<&str> = self
                    .state
                    .models
                    .values()
                    .filter(|model| model.app == app)
                    .map(|model| model.name.as_str())
                    .collect();
                Err(OrmError::HistoricalModel {
                    model: format!("{app}.{name}"),
                    message: if known.is_empty() {
                        format!(
                            "app {app} has no models at this point of the migrations \
                             (does this migration depend on the one creating it?)"
                        )
                    } else {
                        format!(
                            "no such model at this point of the migrations ({app} has {}; \
                             does this migration depend on the one creating it?)",
                            known.join(", ")
                        )
                    },
                })
            }
        }
    }
}

/// One row as a data migration sees it: values by field name. A foreign
/// key holds the key of the row it points to, under the field's name (or
/// its column's, such as `author_id`).
///
/// ```
/// use flagon_orm::migrations::Record;
///
/// let world = Record::new().set("id", 1).set("random_number", 42);
/// assert_eq!(world.get::<i32>("random_number")?, 42);
/// assert!(world.get::<String>("random_number").is_err());
/// assert!(world.get::<i32>("name").is_err());
/// # Ok::<(), flagon_orm::OrmError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record {
    values: BTreeMap<String, Value>,
}

impl Record {
    /// A record with no values.
    ///
    /// ```
    /// assert!(flagon_orm::migrations::Record::new().is_empty());
    /// ```
    pub fn new() -> Record {
        Record::default()
    }

    /// The record with `field` set to `value` (`None` of an `Option` is
    /// NULL).
    ///
    /// ```
    /// use flagon_orm::migrations::Record;
    /// let post = Record::new().set("title", "Hello").set("rating", None::<i32>);
    /// assert_eq!(post.len(), 2);
    /// ```
    pub fn set(mut self, field: impl Into<String>, value: impl Into<Value>) -> Record {
        self.insert(field, value);
        self
    }

    /// Sets `field` to `value`, returning the value it had.
    ///
    /// ```
    /// use flagon_orm::migrations::Record;
    /// let mut post = Record::new().set("title", "Hello");
    /// assert!(post.insert("title", "Bye").is_some());
    /// ```
    pub fn insert(&mut self, field: impl Into<String>, value: impl Into<Value>) -> Option<Value> {
        self.values.insert(field.into(), value.into())
    }

    /// The value of `field`, if the record has one.
    ///
    /// ```
    /// use flagon_orm::migrations::Record;
    /// use flagon_orm::Value;
    /// let post = Record::new().set("votes", 3_i64);
    /// assert_eq!(post.value("votes"), Some(&Value::BigInt(Some(3))));
    /// ```
    pub fn value(&self, field: &str) -> Option<&Value> {
        self.values.get(field)
    }

    /// The value of `field` as a `T` (an `Option<T>` for a field that may
    /// be NULL). Records read from the database hold the type the field's
    /// kind binds: `i16`, `i32` or `i64` for the integer kinds, `f32` or
    /// `f64`, `String`, `bool`, `Vec<u8>`, chrono's `DateTime<Utc>`,
    /// `NaiveDate` and `NaiveTime`, [`Decimal`], [`Uuid`],
    /// `serde_json::Value`. An [`OrmError::Decode`] names the field if it
    /// is missing or of another type.
    ///
    /// ```
    /// use flagon_orm::migrations::Record;
    /// let post = Record::new().set("rating", None::<i32>);
    /// assert_eq!(post.get::<Option<i32>>("rating")?, None);
    /// # Ok::<(), flagon_orm::OrmError>(())
    /// ```
    pub fn get<T: sea_query::ValueType>(&self, field: &str) -> Result<T, OrmError> {
        let value = self.values.get(field).ok_or_else(|| OrmError::Decode {
            column: field.to_owned(),
            message: format!(
                "the record has no field `{field}` (it has: {})",
                self.values.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        })?;
        T::try_from(value.clone()).map_err(|_| OrmError::Decode {
            column: field.to_owned(),
            message: format!(
                "the value {value:?} is not a {}",
                std::any::type_name::<T>()
            ),
        })
    }

    /// The fields and their values, by field name.
    ///
    /// ```
    /// use flagon_orm::migrations::Record;
    /// let post = Record::new().set("b", 2).set("a", 1);
    /// let names: Vec<&str> = post.iter().map(|(name, _)| name).collect();
    /// assert_eq!(names, ["a", "b"]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.values
            .iter()
            .map(|(name, value)| (name.as_str(), value))
    }

    /// How many fields have a value.
    ///
    /// ```
    /// assert_eq!(flagon_orm::migrations::Record::new().set("a", 1).len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no field has a value.
    ///
    /// ```
    /// assert!(flagon_orm::migrations::Record::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Record {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Record {
        Record {
            values: iter
                .into_iter()
                .map(|(field, value)| (field.into(), value.into()))
                .collect(),
        }
    }
}

/// A model as it is at one point of the migrations, for reading and
/// writing its rows as [`Record`]s in a data migration.
///
/// ```
/// use flagon_orm::migrations::prelude::*;
///
/// fn seed(apps: HistoricalApps<'_>) -> BoxFuture<'_, Result<(), OrmError>> {
///     Box::pin(async move {
///         let world = apps.model("tfb", "World")?;
///         let rows = (1..=100).map(|id| Record::new().set("id", id).set("random_number", id));
///         world.bulk_insert(rows).await?;
///         assert_eq!(world.objects().count().await?, 100);
///         world.objects().filter("id", 1).delete().await?;
///         Ok(())
///     })
/// }
/// let _ = Operation::run_rust(seed);
/// ```
#[derive(Clone, Copy)]
pub struct HistoricalModel<'a> {
    db: &'a dyn Connection,
    model: &'a ModelState,
}

impl std::fmt::Debug for HistoricalModel<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("HistoricalModel")
            .field(&self.label())
            .finish()
    }
}

impl<'a> HistoricalModel<'a> {
    /// The model's state: its table and fields at this point.
    ///
    /// ```
    /// # use flagon_orm::migrations::{FieldState, HistoricalApps, ModelState, ProjectState};
    /// # use flagon_orm::FieldKind;
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let db = flagon_orm::Db::connect("sqlite::memory:").await?;
    /// # let mut state = ProjectState::new();
    /// # state.add_model(ModelState::new("tfb", "World", "world")
    /// #     .field(FieldState::new("id", FieldKind::Integer).primary_key()));
    /// # let apps = HistoricalApps::new(&db, &state);
    /// let world = apps.model("tfb", "World")?;
    /// assert_eq!(world.state().fields.len(), 1);
    /// # Ok::<(), flagon_orm::OrmError>(())
    /// # }).unwrap();
    /// ```
    pub fn state(&self) -> &'a ModelState {
        self.model
    }

    fn label(&self) -> String {
        format!("{}.{}", self.model.app, self.model.name)
    }

    fn error(&self, message: String) -> OrmError {
        OrmError::HistoricalModel {
            model: self.label(),
            message,
        }
    }

    /// The field called `name`, or whose column is `name` (`author_id`).
    fn field(&self, name: &str) -> Result<&'a FieldState, OrmError> {
        let model = self.model;
        model
            .get_field(name)
            .or_else(|| model.fields.iter().find(|field| field.column == name))
            .ok_or_else(|| {
                let names: Vec<&str> = model.fields.iter().map(|f| f.name.as_str()).collect();
                self.error(format!(
                    "no field `{name}` at this point of the migrations (it has: {})",
                    names.join(", ")
                ))
            })
    }

    /// `value` checked against field `name` and converted to what it binds.
    fn checked(&self, name: &str, value: &Value) -> Result<(&'a FieldState, Value), OrmError> {
        let field = self.field(name)?;
        let value = fit(field, value).map_err(|why| self.error(why))?;
        Ok((field, value))
    }

    /// The automatic key field, if the model has one.
    fn auto_key(&self) -> Option<&'a FieldState> {
        self.model
            .fields
            .iter()
            .find(|field| field.primary_key && field.auto)
    }

    /// `record`'s values for every field (`None` for an automatic key it
    /// does not give), in field order: defaults where it gives none.
    fn row(&self, record: &Record) -> Result<Vec<Option<Value>>, OrmError> {
        let mut given: BTreeMap<&str, Value> = BTreeMap::new();
        for (name, value) in record.iter() {
            let (field, value) = self.checked(name, value)?;
            if given.insert(field.name.as_str(), value).is_some() {
                return Err(self.error(format!(
                    "field `{}` is given twice (by name and by column)",
                    field.name
                )));
            }
        }
        self.model
            .fields
            .iter()
            .map(|field| {
                if let Some(value) = given.remove(field.name.as_str()) {
                    if field.auto && null_value_matches(&value) {
                        return Ok(None);
                    }
                    return Ok(Some(value));
                }
                if field.auto {
                    return Ok(None);
                }
                if let Some(default) = &field.default {
                    return fit(field, &default.to_value())
                        .map(Some)
                        .map_err(|why| self.error(why));
                }
                if field.null {
                    return Ok(Some(null_value(field.kind)));
                }
                Err(self.error(format!(
                    "no value for field `{}`, which is not null and has no default",
                    field.name
                )))
            })
            .collect()
    }

    /// Inserts one row and returns it as stored: with the defaults of the
    /// fields it did not give and the key the database assigned.
    ///
    /// ```
    /// # use flagon_orm::migrations::{FieldState, HistoricalApps, ModelState, ProjectState, Record};
    /// # use flagon_orm::FieldKind;
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let db = flagon_orm::Db::connect("sqlite::memory:").await?;
    /// # db.execute_unprepared("CREATE TABLE blog_post (id integer primary key autoincrement, \
    /// #     title varchar(50) not null, votes integer not null default 0)").await?;
    /// let mut state = ProjectState::new();
    /// state.add_model(
    ///     ModelState::new("blog", "Post", "blog_post")
    ///         .field(FieldState::new("id", FieldKind::BigInteger).primary_key().auto())
    ///         .field(FieldState::new("title", FieldKind::String).max_length(50))
    ///         .field(FieldState::new("votes", FieldKind::Integer).default(0)),
    /// );
    /// let apps = HistoricalApps::new(&db, &state);
    /// let post = apps.model("blog", "Post")?;
    /// let stored = post.insert(Record::new().set("title", "Hello")).await?;
    /// assert_eq!(stored.get::<i64>("id")?, 1);
    /// assert_eq!(stored.get::<i32>("votes")?, 0);
    /// // A value of the wrong kind is refused before anything runs.
    /// assert!(post.insert(Record::new().set("title", 5)).await.is_err());
    /// # Ok::<(), flagon_orm::OrmError>(())
    /// # }).unwrap();
    /// ```
    pub async fn insert(&self, record: Record) -> Result<Record, OrmError> {
        let row = self.row(&record)?;
        let mut stored = Record::new();
        let mut columns = Vec::new();
        let mut values = Vec::new();
        for (field, value) in self.model.fields.iter().zip(&row) {
            if let Some(value) = value {
                columns.push(field.column.as_str());
                values.push(value.clone());
                stored.insert(field.name.clone(), value.clone());
            }
        }
        match self.auto_key() {
            Some(key) if !stored.values.contains_key(&key.name) => {
                let assigned = keys::insert_reading_keys(
                    self.db,
                    &self.model.table,
                    &key.column,
                    &columns,
                    std::slice::from_ref(&values),
                )
                .await?;
                let assigned = assigned.first().copied().ok_or_else(|| {
                    self.error("the database reported no key for the new row".to_owned())
                })?;
                let assigned =
                    fit(key, &Value::BigInt(Some(assigned))).map_err(|why| self.error(why))?;
                stored.insert(key.name.clone(), assigned);
            }
            _ => {
                self.insert_rows(&columns, vec![values]).await?;
                self.advance_sequence(std::slice::from_ref(&row)).await?;
            }
        }
        Ok(stored)
    }

    /// Inserts many rows, as few statements as the backends' parameter
    /// limits allow, and returns how many. Each record is checked before
    /// any is written; fields a record leaves out get their default. Rows
    /// that give an automatic key and rows that do not go in separate
    /// statements (on PostgreSQL, keys given move the key's sequence past
    /// them).
    ///
    /// See [`HistoricalModel`] for an example.
    pub async fn bulk_insert(
        &self,
        records: impl IntoIterator<Item = Record>,
    ) -> Result<u64, OrmError> {
        let rows = records
            .into_iter()
            .map(|record| self.row(&record))
            .collect::<Result<Vec<_>, _>>()?;
        let auto = self.auto_key().map(|key| key.name.as_str());
        let key_index = self
            .model
            .fields
            .iter()
            .position(|field| Some(field.name.as_str()) == auto);
        // Rows without a key value (the database assigns it), then the others.
        let (without_key, with_key): (Vec<_>, Vec<_>) = rows
            .iter()
            .partition(|row| key_index.is_some_and(|index| row[index].is_none()));
        for group in [without_key, with_key] {
            let Some(first) = group.first() else {
                continue;
            };
            let columns: Vec<&str> = self
                .model
                .fields
                .iter()
                .zip(first.iter())
                .filter(|(_, value)| value.is_some())
                .map(|(field, _)| field.column.as_str())
                .collect();
            let per_statement = (MAX_PARAMETERS / columns.len().max(1)).max(1);
            for batch in group.chunks(per_statement) {
                let values = batch
                    .iter()
                    .map(|row| row.iter().flatten().cloned().collect())
                    .collect();
                self.insert_rows(&columns, values).await?;
            }
        }
        let owned: Vec<Vec<Option<Value>>> = rows;
        self.advance_sequence(&owned).await?;
        Ok(owned.len() as u64)
    }

    async fn insert_rows(&self, columns: &[&str], rows: Vec<Vec<Value>>) -> Result<(), OrmError> {
        let insert = keys::statement(&self.model.table, columns, &rows)?;
        let (sql, values) = backends::build(self.db.dialect(), &insert)?;
        self.db.execute(&sql, values).await?;
        Ok(())
    }

    /// On PostgreSQL, moves an automatic key's sequence past the keys
    /// `rows` gave.
    async fn advance_sequence(&self, rows: &[Vec<Option<Value>>]) -> Result<(), OrmError> {
        let Some(key) = self.auto_key() else {
            return Ok(());
        };
        let Some(index) = self.model.fields.iter().position(|f| f.name == key.name) else {
            return Ok(());
        };
        let given = rows.iter().filter_map(|row| row[index].as_ref());
        keys::advance_sequence(self.db, &self.model.table, &key.column, given).await
    }

    /// A query of the model's rows: every row until filtered.
    ///
    /// See [`RecordQuery`].
    pub fn objects(&self) -> RecordQuery<'a> {
        RecordQuery {
            model: *self,
            filters: Vec::new(),
            order: Vec::new(),
            limit: None,
            refused: None,
        }
    }

    /// Every row, in key order.
    ///
    /// See [`RecordQuery::fetch`].
    pub async fn all(&self) -> Result<Vec<Record>, OrmError> {
        self.objects().fetch().await
    }
}

/// A query of a [`HistoricalModel`]'s rows: equality filters (ANDed),
/// an order and a limit, then a terminal method. A field the model does
/// not have, or a value that does not fit it, is remembered and returned
/// by the terminal method before anything runs.
///
/// ```
/// use flagon_orm::migrations::prelude::*;
///
/// fn fix_titles(apps: HistoricalApps<'_>) -> BoxFuture<'_, Result<(), OrmError>> {
///     Box::pin(async move {
///         let post = apps.model("blog", "Post")?;
///         for row in post.objects().filter("title", "").order_by("-id").fetch().await? {
///             let id: i64 = row.get("id")?;
///             post.objects()
///                 .filter("id", id)
///                 .update(Record::new().set("title", format!("Post {id}")))
///                 .await?;
///         }
///         Ok(())
///     })
/// }
/// let _ = Operation::run_rust(fix_titles);
/// ```
#[derive(Clone, Debug)]
pub struct RecordQuery<'a> {
    model: HistoricalModel<'a>,
    filters: Vec<(&'a FieldState, Value)>,
    order: Vec<(&'a FieldState, Order)>,
    limit: Option<u64>,
    refused: Option<String>,
}

impl<'a> RecordQuery<'a> {
    fn refuse(mut self, why: String) -> Self {
        self.refused.get_or_insert(why);
        self
    }

    /// Keeps the rows whose `field` equals `value` (is NULL, for a NULL).
    ///
    /// See [`RecordQuery`].
    pub fn filter(mut self, field: &str, value: impl Into<Value>) -> Self {
        match self.model.checked(field, &value.into()) {
            Ok(pair) => {
                self.filters.push(pair);
                self
            }
            Err(err) => self.refuse(err.to_string()),
        }
    }

    /// Orders by `field`, descending if it starts with `-`; calls add
    /// orderings after the earlier ones. Without one, rows come in key
    /// order.
    ///
    /// See [`RecordQuery`].
    pub fn order_by(mut self, field: &str) -> Self {
        let (name, order) = match field.strip_prefix('-') {
            Some(name) => (name, Order::Desc),
            None => (field, Order::Asc),
        };
        match self.model.field(name) {
            Ok(field) => {
                self.order.push((field, order));
                self
            }
            Err(err) => self.refuse(err.to_string()),
        }
    }

    /// At most `count` rows (for [`fetch`](Self::fetch) and
    /// [`first`](Self::first); `update` and `delete` refuse a limit).
    ///
    /// See [`RecordQuery`].
    pub fn limit(mut self, count: u64) -> Self {
        self.limit = Some(count);
        self
    }

    fn checked(&self) -> Result<(), OrmError> {
        match &self.refused {
            Some(why) => Err(OrmError::HistoricalModel {
                model: self.model.label(),
                message: why
                    .split_once(": ")
                    .map_or(why.as_str(), |(_, rest)| rest)
                    .to_owned(),
            }),
            None => Ok(()),
        }
    }

    fn conditions(&self) -> Vec<sea_query::SimpleExpr> {
        self.filters
            .iter()
            .map(|(field, value)| {
                let column = Expr::col(field.column.clone());
                if null_value_matches(value) {
                    column.is_null()
                } else {
                    column.eq(value.clone())
                }
            })
            .collect()
    }

    fn select(&self) -> SelectStatement {
        let model = self.model.model;
        let mut select = Query::select();
        select
            .columns(model.fields.iter().map(|field| field.column.clone()))
            .from(model.table.clone());
        for condition in self.conditions() {
            select.and_where(condition);
        }
        if self.order.is_empty() {
            if let Some(key) = model.key_field() {
                select.order_by(key.column.clone(), Order::Asc);
            }
        }
        for (field, order) in &self.order {
            select.order_by(field.column.clone(), order.clone());
        }
        if let Some(limit) = self.limit {
            select.limit(limit);
        }
        select
    }

    /// The rows, as records of every field.
    ///
    /// See [`RecordQuery`].
    pub async fn fetch(&self) -> Result<Vec<Record>, OrmError> {
        self.checked()?;
        let (sql, values) = backends::build(self.model.db.dialect(), &self.select())?;
        let rows = self.model.db.fetch_all(&sql, values).await?;
        rows.iter()
            .map(|row| {
                self.model
                    .model
                    .fields
                    .iter()
                    .enumerate()
                    .map(|(index, field)| Ok((field.name.clone(), decode(row, index, field.kind)?)))
                    .collect()
            })
            .collect()
    }

    /// The first row, if there is one.
    ///
    /// See [`RecordQuery`].
    pub async fn first(&self) -> Result<Option<Record>, OrmError> {
        Ok(self.clone().limit(1).fetch().await?.into_iter().next())
    }

    /// How many rows there are (the limit is ignored).
    ///
    /// See [`HistoricalModel`].
    pub async fn count(&self) -> Result<u64, OrmError> {
        self.checked()?;
        let mut select = Query::select();
        select
            .expr(Expr::cust("COUNT(*)"))
            .from(self.model.model.table.clone());
        for condition in self.conditions() {
            select.and_where(condition);
        }
        let (sql, values) = backends::build(self.model.db.dialect(), &select)?;
        let rows = self.model.db.fetch_all(&sql, values).await?;
        let count: i64 = rows
            .first()
            .ok_or_else(|| OrmError::Decode {
                column: "COUNT(*)".to_owned(),
                message: "no row".to_owned(),
            })?
            .get(0)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    fn refuse_limit(&self, what: &str) -> Result<(), OrmError> {
        if self.limit.is_some() || !self.order.is_empty() {
            return Err(self.model.error(format!(
                "{what} takes no order or limit: filter the rows to {what} instead"
            )));
        }
        Ok(())
    }

    /// Sets the fields `values` gives on every row of the query; returns
    /// how many rows matched.
    ///
    /// See [`RecordQuery`].
    pub async fn update(&self, values: Record) -> Result<u64, OrmError> {
        self.checked()?;
        self.refuse_limit("update")?;
        if values.is_empty() {
            return Ok(0);
        }
        let mut update = Query::update();
        update.table(self.model.model.table.clone());
        for (name, value) in values.iter() {
            let (field, value) = self.model.checked(name, value)?;
            update.value(field.column.clone(), Expr::val(value));
        }
        for condition in self.conditions() {
            update.and_where(condition);
        }
        let (sql, values) = backends::build(self.model.db.dialect(), &update)?;
        Ok(self.model.db.execute(&sql, values).await?.rows_affected)
    }

    /// Deletes the rows of the query; returns how many.
    ///
    /// See [`HistoricalModel`].
    pub async fn delete(&self) -> Result<u64, OrmError> {
        self.checked()?;
        self.refuse_limit("delete")?;
        let mut delete = Query::delete();
        delete.from_table(self.model.model.table.clone());
        for condition in self.conditions() {
            delete.and_where(condition);
        }
        let (sql, values) = backends::build(self.model.db.dialect(), &delete)?;
        Ok(self.model.db.execute(&sql, values).await?.rows_affected)
    }
}

/// Column `index` of `row`, read as fields of `kind` are.
fn decode(row: &Row, index: usize, kind: FieldKind) -> Result<Value, OrmError> {
    if row.is_null(index)? {
        return Ok(null_value(kind));
    }
    Ok(match kind {
        FieldKind::SmallInteger => Value::SmallInt(Some(row.get::<i16>(index)?)),
        FieldKind::Integer => Value::Int(Some(row.get::<i32>(index)?)),
        FieldKind::BigInteger => Value::BigInt(Some(row.get::<i64>(index)?)),
        FieldKind::Boolean => Value::Bool(Some(row.get::<bool>(index)?)),
        FieldKind::Float => Value::Float(Some(row.get::<f32>(index)?)),
        FieldKind::Double => Value::Double(Some(row.get::<f64>(index)?)),
        FieldKind::String | FieldKind::Text => Value::String(Some(row.get::<String>(index)?)),
        FieldKind::Bytes => Value::Bytes(Some(row.get::<Vec<u8>>(index)?)),
        FieldKind::DateTime => Value::ChronoDateTimeUtc(Some(row.get::<DateTime<Utc>>(index)?)),
        FieldKind::Date => Value::ChronoDate(Some(row.get::<NaiveDate>(index)?)),
        FieldKind::Time => Value::ChronoTime(Some(row.get::<NaiveTime>(index)?)),
        FieldKind::Decimal => Value::Decimal(Some(row.get::<Decimal>(index)?)),
        FieldKind::Uuid => Value::Uuid(Some(row.get::<Uuid>(index)?)),
        FieldKind::Json => Value::Json(Some(Box::new(row.get::<serde_json::Value>(index)?))),
    })
}

/// An integer value as an `i128`, if it is one.
fn integer(value: &Value) -> Option<i128> {
    Some(match value {
        Value::TinyInt(Some(v)) => (*v).into(),
        Value::SmallInt(Some(v)) => (*v).into(),
        Value::Int(Some(v)) => (*v).into(),
        Value::BigInt(Some(v)) => (*v).into(),
        Value::TinyUnsigned(Some(v)) => (*v).into(),
        Value::SmallUnsigned(Some(v)) => (*v).into(),
        Value::Unsigned(Some(v)) => (*v).into(),
        Value::BigUnsigned(Some(v)) => (*v).into(),
        _ => return None,
    })
}

/// A short name for the type of `value`, for errors.
fn kind_of(value: &Value) -> String {
    let debug = format!("{value:?}");
    debug
        .split_once('(')
        .map_or(debug.clone(), |(name, _)| name.to_owned())
}

/// `value` as field `field` binds it, or why it does not fit.
fn fit(field: &FieldState, value: &Value) -> Result<Value, String> {
    let name = &field.name;
    let kind = field.kind;
    if null_value_matches(value) {
        return if field.null || field.auto {
            Ok(null_value(kind))
        } else {
            Err(format!("field `{name}` is not null, and was given NULL"))
        };
    }
    let mismatch = || {
        format!(
            "field `{name}` is a {kind:?} field at this point of the migrations: \
             a {} value does not fit it",
            kind_of(value)
        )
    };
    let out_of_range =
        |number: i128| format!("{number} is out of range for {kind:?} field `{name}`");
    let fitted = match (kind, value) {
        (FieldKind::SmallInteger | FieldKind::Integer | FieldKind::BigInteger, _) => {
            let number = integer(value).ok_or_else(mismatch)?;
            match kind {
                FieldKind::SmallInteger => Value::SmallInt(Some(
                    i16::try_from(number).map_err(|_| out_of_range(number))?,
                )),
                FieldKind::Integer => Value::Int(Some(
                    i32::try_from(number).map_err(|_| out_of_range(number))?,
                )),
                _ => Value::BigInt(Some(
                    i64::try_from(number).map_err(|_| out_of_range(number))?,
                )),
            }
        }
        (FieldKind::Float, Value::Float(Some(v))) => Value::Float(Some(*v)),
        (FieldKind::Float, Value::Double(Some(v))) => Value::Float(Some(*v as f32)),
        (FieldKind::Double, Value::Float(Some(v))) => Value::Double(Some(f64::from(*v))),
        (FieldKind::Double, Value::Double(Some(v))) => Value::Double(Some(*v)),
        (FieldKind::Float | FieldKind::Double, _) if integer(value).is_some() => {
            let number = integer(value).unwrap_or_default() as f64;
            if kind == FieldKind::Float {
                Value::Float(Some(number as f32))
            } else {
                Value::Double(Some(number))
            }
        }
        (FieldKind::Decimal, Value::Decimal(Some(v))) => Value::Decimal(Some(*v)),
        (FieldKind::Decimal, Value::Double(Some(v))) => Value::Decimal(Some(
            Decimal::try_from(*v).map_err(|err| format!("field `{name}`: {v}: {err}"))?,
        )),
        (FieldKind::Decimal, _) if integer(value).is_some() => {
            let number = integer(value).unwrap_or_default();
            Value::Decimal(Some(
                i64::try_from(number)
                    .map(Decimal::from)
                    .map_err(|_| out_of_range(number))?,
            ))
        }
        (FieldKind::String | FieldKind::Text, Value::String(Some(text))) => {
            if let Some(limit) = field.max_length.filter(|_| kind == FieldKind::String) {
                let length = text.chars().count();
                if length > limit as usize {
                    return Err(format!(
                        "field `{name}` holds at most {limit} characters at this point \
                         of the migrations; the value has {length}"
                    ));
                }
            }
            Value::String(Some(text.clone()))
        }
        (FieldKind::String | FieldKind::Text, Value::Char(Some(c))) => {
            Value::String(Some(c.to_string()))
        }
        (FieldKind::Boolean, Value::Bool(Some(v))) => Value::Bool(Some(*v)),
        (FieldKind::Bytes, Value::Bytes(Some(v))) => Value::Bytes(Some(v.clone())),
        (FieldKind::DateTime, Value::ChronoDateTimeUtc(Some(v))) => {
            Value::ChronoDateTimeUtc(Some(*v))
        }
        (FieldKind::DateTime, Value::ChronoDateTime(Some(v))) => {
            Value::ChronoDateTimeUtc(Some(v.and_utc()))
        }
        (FieldKind::Date, Value::ChronoDate(Some(v))) => Value::ChronoDate(Some(*v)),
        (FieldKind::Time, Value::ChronoTime(Some(v))) => Value::ChronoTime(Some(*v)),
        (FieldKind::Uuid, Value::Uuid(Some(v))) => Value::Uuid(Some(*v)),
        (FieldKind::Uuid, Value::String(Some(text))) => Value::Uuid(Some(
            Uuid::parse_str(text).map_err(|err| format!("field `{name}`: not a UUID: {err}"))?,
        )),
        (FieldKind::Json, Value::Json(Some(v))) => Value::Json(Some(v.clone())),
        _ => return Err(mismatch()),
    };
    Ok(fitted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(kind: FieldKind) -> FieldState {
        FieldState::new("f", kind)
    }

    #[test]
    fn integers_fit_any_integer_kind_in_range() {
        assert_eq!(
            fit(&field(FieldKind::SmallInteger), &Value::BigInt(Some(7))),
            Ok(Value::SmallInt(Some(7)))
        );
        assert!(
            fit(&field(FieldKind::SmallInteger), &Value::Int(Some(70_000)))
                .unwrap_err()
                .contains("out of range")
        );
        assert_eq!(
            fit(&field(FieldKind::Double), &Value::Int(Some(2))),
            Ok(Value::Double(Some(2.0)))
        );
    }

    #[test]
    fn mismatches_and_nulls_are_named() {
        let err = fit(&field(FieldKind::Integer), &Value::String(Some("x".into()))).unwrap_err();
        assert!(
            err.contains("Integer field") && err.contains("String"),
            "{err}"
        );
        let err = fit(&field(FieldKind::Integer), &Value::Int(None)).unwrap_err();
        assert!(err.contains("not null"), "{err}");
        assert_eq!(
            fit(&field(FieldKind::Integer).null(), &Value::String(None)),
            Ok(Value::Int(None))
        );
        let err = fit(
            &field(FieldKind::String).max_length(2),
            &Value::String(Some("abc".into())),
        )
        .unwrap_err();
        assert!(err.contains("at most 2"), "{err}");
    }
}
