//! Query sets: lazy, cloneable descriptions of a query, run by their
//! terminal methods (`all`, `get`, `count`, `update`, `delete`, ...).
//!
//! The layers are Django's: the query set (this module) builds a tree
//! without SQL ([`condition`]), and the private `compile` module renders it per dialect with
//! every value as a bound parameter.

use std::marker::PhantomData;

use sea_query::Query;

use crate::backends::{self, Dialect};
use crate::connection::Connection;
use crate::error::OrmError;
use crate::model::Model;

pub mod aggregate;
pub(crate) mod compile;
pub mod condition;
pub mod expr;
pub mod related;
pub mod values;
mod write;

pub use write::raw;

use condition::{Assignment, Condition, Order};

/// A lazy query over model `M`'s table. Nothing runs until a terminal
/// method is awaited; cloning and refining is cheap.
///
/// ```ignore
/// let latest = Question::objects()
///     .filter(Question::PUB_DATE.lte(now))
///     .order_by(Question::PUB_DATE.desc())
///     .limit(5)
///     .all(&db)
///     .await?;
/// ```
pub struct QuerySet<M> {
    filter: Option<Condition>,
    order: Vec<Order>,
    limit: Option<u64>,
    offset: Option<u64>,
    for_update: bool,
    distinct: bool,
    select_related: Vec<related::RelatedSpec>,
    prefetch_related: Vec<related::RelatedSpec>,
    marker: PhantomData<fn() -> M>,
}

impl<M> Clone for QuerySet<M> {
    fn clone(&self) -> Self {
        QuerySet {
            filter: self.filter.clone(),
            order: self.order.clone(),
            limit: self.limit,
            offset: self.offset,
            for_update: self.for_update,
            distinct: self.distinct,
            select_related: self.select_related.clone(),
            prefetch_related: self.prefetch_related.clone(),
            marker: PhantomData,
        }
    }
}

impl<M> std::fmt::Debug for QuerySet<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuerySet")
            .field("filter", &self.filter)
            .field("order", &self.order)
            .field("limit", &self.limit)
            .field("offset", &self.offset)
            .field("for_update", &self.for_update)
            .field("distinct", &self.distinct)
            .field("select_related", &self.select_related)
            .field("prefetch_related", &self.prefetch_related)
            .finish()
    }
}

impl<M: Model> Default for QuerySet<M> {
    fn default() -> Self {
        QuerySet::new()
    }
}

impl<M: Model> QuerySet<M> {
    /// Every row of the table.
    pub fn new() -> Self {
        QuerySet {
            filter: None,
            order: Vec::new(),
            limit: None,
            offset: None,
            for_update: false,
            distinct: false,
            select_related: Vec::new(),
            prefetch_related: Vec::new(),
            marker: PhantomData,
        }
    }

    /// Loads the row relation `field` points to in the same query (a LEFT
    /// JOIN), as Django's `select_related`; read it with `.get()` on the
    /// field (`book.author.get()`).
    ///
    /// ```no_run
    /// # use flagon_orm::{ForeignKey, Model};
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "lib")]
    /// # struct Author { id: i64, #[field(max_length = 100)] name: String }
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "lib")]
    /// # struct Book { id: i64, #[field(on_delete = "cascade")] author: ForeignKey<Author> }
    /// # async fn demo(db: flagon_orm::Db) -> Result<(), flagon_orm::OrmError> {
    /// for book in Book::objects().select_related(Book::AUTHOR).all(&db).await? {
    ///     let author = book.author.get().map(|author| author.name.as_str());
    ///     println!("{:?}", author);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn select_related<F: related::RelationValue>(mut self, field: crate::Field<M, F>) -> Self {
        self.select_related.push(related::spec(field));
        self
    }

    /// Loads, with one more query, the rows related to each result through
    /// a reverse foreign key (`Book::AUTHOR` on a query of authors) or a
    /// many-to-many field (`Post::TAGS` on a query of posts): Django's
    /// `prefetch_related("book_set")`. The results come as pairs.
    ///
    /// ```no_run
    /// # use flagon_orm::{ForeignKey, Model};
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "lib")]
    /// # struct Author { id: i64, #[field(max_length = 100)] name: String }
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "lib")]
    /// # struct Book { id: i64, #[field(on_delete = "cascade")] author: ForeignKey<Author> }
    /// # async fn demo(db: flagon_orm::Db) -> Result<(), flagon_orm::OrmError> {
    /// for (author, books) in Author::objects().with_related(Book::AUTHOR).all(&db).await? {
    ///     println!("{}: {} books", author.name, books.len());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn with_related<R: Model, P: related::Prefetch<M, R>>(
        self,
        relation: P,
    ) -> related::WithRelated<M, R, P> {
        related::WithRelated {
            query: self,
            relation,
            marker: PhantomData,
        }
    }

    /// Loads the rows relation `field` points to with one more query for
    /// all the results (`WHERE key IN (..)`), as Django's
    /// `prefetch_related` does for a forward relation; read them with
    /// `.get()` on the field.
    pub fn prefetch_related<F: related::RelationValue>(
        mut self,
        field: crate::Field<M, F>,
    ) -> Self {
        self.prefetch_related.push(related::spec(field));
        self
    }

    /// Keeps the rows matching `condition` (and any earlier filter).
    pub fn filter(mut self, condition: Condition) -> Self {
        self.filter = Some(match self.filter.take() {
            Some(existing) => existing & condition,
            None => condition,
        });
        self
    }

    /// Drops the rows matching `condition`.
    pub fn exclude(self, condition: Condition) -> Self {
        self.filter(!condition)
    }

    /// Orders by `order` after any earlier ordering (replacing the model's
    /// default ordering).
    pub fn order_by(mut self, order: Order) -> Self {
        self.order.push(order);
        self
    }

    /// Drops duplicate rows (`SELECT DISTINCT`), as Django's `distinct()`;
    /// it matters with [`values_list`](QuerySet::values_list) and
    /// filters through relations.
    pub fn distinct(mut self) -> Self {
        self.distinct = true;
        self
    }

    /// The rows in `range` of the results (Django's `qs[5:10]`), counted
    /// within any slice taken before: `.slice(10..20)`, `.slice(..5)`,
    /// `.slice(100..)`.
    pub fn slice(mut self, range: impl std::ops::RangeBounds<u64>) -> Self {
        use std::ops::Bound;
        let start = match range.start_bound() {
            Bound::Included(start) => *start,
            Bound::Excluded(start) => start.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(end) => Some(end.saturating_add(1)),
            Bound::Excluded(end) => Some(*end),
            Bound::Unbounded => None,
        };
        let available = self.limit.map(|limit| limit.saturating_sub(start));
        let wanted = end.map(|end| end.saturating_sub(start));
        self.limit = match (available, wanted) {
            (Some(a), Some(w)) => Some(a.min(w)),
            (a, w) => a.or(w),
        };
        self.offset = match self.offset.unwrap_or(0).saturating_add(start) {
            0 => None,
            offset => Some(offset),
        };
        self
    }

    /// The filter in force, if any.
    pub(crate) fn filter_condition(&self) -> Option<&Condition> {
        self.filter.as_ref()
    }

    /// The `SELECT` of the model's columns with filter, order, slice and
    /// `DISTINCT`, without a lock clause.
    pub(crate) fn plain_statement(&self, dialect: Dialect) -> sea_query::SelectStatement {
        self.statement_with(dialect, &[])
    }

    /// The `SELECT` with filter, order, slice and `DISTINCT`, joining the
    /// targets of `joins`.
    fn statement_with(
        &self,
        dialect: Dialect,
        joins: &[compile::Join],
    ) -> sea_query::SelectStatement {
        let mut query = compile::select(
            dialect,
            M::META,
            self.filter.as_ref(),
            &self.ordering(),
            self.limit,
            self.offset,
            joins,
        );
        if self.distinct {
            query.distinct();
        }
        query
    }

    /// At most `limit` rows.
    pub fn limit(mut self, limit: u64) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Skips the first `offset` rows.
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    /// The ordering in force: the query's own, else the model's default.
    fn ordering(&self) -> Vec<Order> {
        if !self.order.is_empty() {
            return self.order.clone();
        }
        M::META
            .ordering
            .iter()
            .filter_map(|(name, descending)| {
                M::META.field(name).map(|field| Order {
                    column: field.column,
                    descending: *descending,
                    via: None,
                })
            })
            .collect()
    }

    /// Locks the selected rows until the end of the transaction, as
    /// Django's `select_for_update()`: `SELECT .. FOR UPDATE` on PostgreSQL
    /// and MySQL/MariaDB, so another transaction that selects them for
    /// update (or writes them) waits until this one commits or rolls back.
    ///
    /// Run it on a [`Transaction`](crate::Transaction): on a plain
    /// [`Db`](crate::Db) (autocommit) the lock would end with the
    /// statement, so PostgreSQL and MySQL/MariaDB answer
    /// [`OrmError::Transaction`] instead.
    ///
    /// On SQLite it changes nothing: SQLite has no row locks, and a
    /// transaction that writes locks the whole database until it ends (a
    /// concurrent writer waits, or fails with "database is locked" after
    /// the busy timeout).
    ///
    /// `count()` ignores it (PostgreSQL refuses `FOR UPDATE` with
    /// aggregates).
    pub fn select_for_update(mut self) -> Self {
        self.for_update = true;
        self
    }

    /// The `SELECT` statement for `dialect`, with its lock clause.
    fn select_statement(&self, dialect: Dialect) -> sea_query::SelectStatement {
        let joins: Vec<compile::Join> = self
            .select_related
            .iter()
            .enumerate()
            .map(|(index, spec)| compile::Join {
                column: spec.column,
                target: spec.target,
                alias: format!("r{index}"),
            })
            .collect();
        let mut query = self.statement_with(dialect, &joins);
        if self.for_update && dialect != Dialect::Sqlite {
            query.lock(sea_query::LockType::Update);
        }
        query
    }

    /// The SQL and parameters this query set runs on `db` (for logging and
    /// `sqlmigrate`-style inspection).
    pub fn to_sql(&self, db: &(impl Connection + ?Sized)) -> (String, Vec<sea_query::Value>) {
        let (sql, values) = backends::build(db.dialect(), &self.select_statement(db.dialect()));
        (sql, values.0)
    }

    /// All matching rows.
    pub async fn all(&self, db: &(impl Connection + ?Sized)) -> Result<Vec<M>, OrmError> {
        let dialect = db.dialect();
        if self.for_update && dialect != Dialect::Sqlite && !db.in_transaction() {
            return Err(OrmError::Transaction {
                message: format!(
                    "select_for_update() on {} outside a transaction would lock nothing: \
                     run the query inside Db::transaction",
                    M::META.name
                ),
            });
        }
        let (sql, values) = backends::build(dialect, &self.select_statement(dialect));
        let rows = db.fetch_all(&sql, values).await?;
        let mut objects = if self.select_related.is_empty() {
            rows.iter()
                .map(M::from_row)
                .collect::<Result<Vec<M>, OrmError>>()?
        } else {
            rows.iter()
                .map(|row| related::decode_joined::<M>(row, &self.select_related))
                .collect::<Result<Vec<M>, OrmError>>()?
        };
        for spec in &self.prefetch_related {
            related::prefetch(db, &mut objects, spec).await?;
        }
        Ok(objects)
    }

    /// The first matching row in the query's order (by primary key when
    /// unordered), if any.
    pub async fn first(&self, db: &(impl Connection + ?Sized)) -> Result<Option<M>, OrmError> {
        let mut query = self.clone();
        if query.ordering().is_empty() {
            query.order.push(Order {
                column: M::META.primary_key().column,
                descending: false,
                via: None,
            });
        }
        Ok(query.limit(1).all(db).await?.into_iter().next())
    }

    /// The last matching row in the query's order (by primary key when
    /// unordered), if any.
    pub async fn last(&self, db: &(impl Connection + ?Sized)) -> Result<Option<M>, OrmError> {
        let mut query = self.clone();
        let mut order = query.ordering();
        if order.is_empty() {
            order.push(Order {
                column: M::META.primary_key().column,
                descending: false,
                via: None,
            });
        }
        query.order = order
            .into_iter()
            .map(|term| Order {
                descending: !term.descending,
                ..term
            })
            .collect();
        Ok(query.limit(1).all(db).await?.into_iter().next())
    }

    /// The one matching row: [`OrmError::DoesNotExist`] if none,
    /// [`OrmError::MultipleObjectsReturned`] if several.
    pub async fn get(&self, db: &(impl Connection + ?Sized)) -> Result<M, OrmError> {
        let mut rows = self.clone().limit(2).all(db).await?;
        match rows.len() {
            0 => Err(OrmError::DoesNotExist {
                model: M::META.name,
            }),
            1 => Ok(rows.remove(0)),
            _ => Err(OrmError::MultipleObjectsReturned {
                model: M::META.name,
                count: self.count(db).await?,
            }),
        }
    }

    /// How many rows match.
    pub async fn count(&self, db: &(impl Connection + ?Sized)) -> Result<u64, OrmError> {
        let dialect = db.dialect();
        let statement = if self.limit.is_some() || self.offset.is_some() || self.distinct {
            // Count what the slice or DISTINCT leaves.
            let mut inner = self.plain_statement(dialect);
            if !self.distinct {
                inner.clear_order_by();
            }
            Query::select()
                .expr(sea_query::Func::count(sea_query::Expr::col(
                    sea_query::Asterisk,
                )))
                .from_subquery(inner, sea_query::Alias::new("flagon_counted"))
                .to_owned()
        } else {
            compile::count(dialect, M::META, self.filter.as_ref())
        };
        let (sql, values) = backends::build(dialect, &statement);
        let rows = db.fetch_all(&sql, values).await?;
        let count: i64 = match rows.first() {
            Some(row) => row.get(0)?,
            None => 0,
        };
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Whether any row matches.
    pub async fn exists(&self, db: &(impl Connection + ?Sized)) -> Result<bool, OrmError> {
        Ok(!self.clone().limit(1).all(db).await?.is_empty())
    }

    /// Sets columns on every matching row; returns how many changed.
    /// Values are checked against the fields first (max_length), so a bad
    /// value changes nothing.
    pub async fn update(
        &self,
        db: &(impl Connection + ?Sized),
        assignments: impl IntoIterator<Item = Assignment>,
    ) -> Result<u64, OrmError> {
        let assignments: Vec<Assignment> = assignments.into_iter().collect();
        for assignment in &assignments {
            if let Some(field) = M::META
                .fields
                .iter()
                .find(|f| f.column == assignment.column)
            {
                if let expr::Operand::Value(value) = &assignment.value {
                    crate::instance::validate_value(M::META, field, value)?;
                }
            }
        }
        let mut query = Query::update();
        query.table(M::META.table).values(
            assignments
                .into_iter()
                .map(|a| (a.column, compile::operand(db.dialect(), &a.value, None))),
        );
        if let Some(filter) = &self.filter {
            query.cond_where(compile::condition(db.dialect(), filter));
        }
        let (sql, values) = backends::build(db.dialect(), &query);
        Ok(db.execute(&sql, values).await?.rows_affected)
    }

    /// Deletes every matching row; returns how many were deleted.
    pub async fn delete(&self, db: &(impl Connection + ?Sized)) -> Result<u64, OrmError> {
        let mut query = Query::delete();
        query.from_table(M::META.table);
        if let Some(filter) = &self.filter {
            query.cond_where(compile::condition(db.dialect(), filter));
        }
        let (sql, values) = backends::build(db.dialect(), &query);
        Ok(db.execute(&sql, values).await?.rows_affected)
    }
}
