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
pub mod annotate;
pub(crate) mod compile;
pub mod condition;
pub mod expr;
pub mod functions;
pub mod json;
mod loading;
pub mod lock;
pub mod related;
mod sql_cache;
pub mod subquery;
#[cfg(test)]
mod test_fixtures;
pub mod values;
mod write;

pub use write::raw;

use condition::{Assignment, Condition, Node, Order, OrderTerm};
use loading::Loading;
use lock::ForUpdate;

/// A lazy query over model `M`'s table. Nothing runs until a terminal
/// method is awaited; cloning and refining is cheap.
///
/// A refinement that cannot be done right (filtering or reordering after
/// a slice was taken, an ordered comparison with `None`) does not fail
/// where it is written: the query remembers it, and its terminal method
/// answers [`OrmError::InvalidQuery`] without running anything.
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
    filter: Option<Node>,
    order: Vec<OrderTerm>,
    limit: Option<u64>,
    offset: Option<u64>,
    for_update: Option<lock::Lock>,
    distinct: bool,
    select_related: Vec<related::RelatedSpec>,
    prefetch_related: Vec<related::RelatedSpec>,
    loading: Loading,
    refused: Option<String>,
    marker: PhantomData<fn() -> M>,
}

impl<M> Clone for QuerySet<M> {
    fn clone(&self) -> Self {
        QuerySet {
            filter: self.filter.clone(),
            order: self.order.clone(),
            limit: self.limit,
            offset: self.offset,
            for_update: self.for_update.clone(),
            distinct: self.distinct,
            select_related: self.select_related.clone(),
            prefetch_related: self.prefetch_related.clone(),
            loading: self.loading.clone(),
            refused: self.refused.clone(),
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
            .field("loading", &self.loading)
            .field("refused", &self.refused)
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
            for_update: None,
            distinct: false,
            select_related: Vec::new(),
            prefetch_related: Vec::new(),
            loading: Loading::All,
            refused: None,
            marker: PhantomData,
        }
    }

    /// Remembers why the query cannot run (the first reason found).
    fn refuse(mut self, message: impl Into<String>) -> Self {
        if self.refused.is_none() {
            self.refused = Some(message.into());
        }
        self
    }

    /// [`OrmError::InvalidQuery`] if a refinement could not be done right,
    /// or if the query, run on its own, refers to an outer row
    /// ([`OuterRef`](subquery::OuterRef) outside a subquery).
    pub(crate) fn check(&self) -> Result<(), OrmError> {
        self.check_refinements()?;
        let table = M::META.table;
        let outer = self
            .filter
            .as_ref()
            .and_then(|filter| subquery::node_refusal(filter, table, None))
            .or_else(|| {
                self.order.iter().find_map(|term| {
                    term.expression
                        .as_ref()
                        .and_then(|expression| subquery::operand_refusal(expression, table, None))
                })
            });
        match outer {
            Some(message) => Err(self.invalid(message)),
            None => Ok(()),
        }
    }

    /// [`OrmError::InvalidQuery`] if a refinement could not be done right
    /// (what a query used as a subquery is checked for: its outer
    /// references are checked with the query it is used in).
    pub(crate) fn check_refinements(&self) -> Result<(), OrmError> {
        match &self.refused {
            Some(message) => Err(self.invalid(message.clone())),
            None => Ok(()),
        }
    }

    /// An [`OrmError::InvalidQuery`] for this model.
    pub(crate) fn invalid(&self, message: impl Into<String>) -> OrmError {
        OrmError::InvalidQuery {
            model: M::META.name,
            message: message.into(),
        }
    }

    /// The offset in force, if any.
    pub(crate) fn offset_value(&self) -> Option<u64> {
        self.offset
    }

    /// Whether `distinct()` was asked for.
    pub(crate) fn is_distinct(&self) -> bool {
        self.distinct
    }

    /// The position of relation field `name` among the `select_related` joins.
    pub(crate) fn related_index(&self, name: &str) -> Option<usize> {
        self.select_related
            .iter()
            .position(|spec| spec.field == name)
    }

    /// Whether a slice (limit or offset) has been taken.
    pub(crate) fn is_sliced(&self) -> bool {
        self.limit.is_some() || self.offset.is_some()
    }

    /// Loads the row relation `field` points to in the same query (a
    /// join), as Django's `select_related`; read it with `.get()` on the
    /// field (`book.author.get()`). Chains load further rows:
    /// `select_related(Book::AUTHOR.then(Author::PUBLISHER))`, read with
    /// `book.author.get()` and then `author.publisher.get()`.
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
    pub fn select_related<T>(mut self, path: impl Into<related::RelatedPath<M, T>>) -> Self {
        // Each hop joins off the one before it; hops already joined (by an
        // earlier call) are shared.
        let mut parent = None;
        for mut spec in path.into().specs {
            spec.parent = parent;
            let existing = self.select_related.iter().position(|joined| {
                joined.parent == parent
                    && joined.field == spec.field
                    && std::ptr::eq(joined.target, spec.target)
            });
            parent = Some(match existing {
                Some(index) => index,
                None => {
                    self.select_related.push(spec);
                    self.select_related.len() - 1
                }
            });
        }
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
    ///
    /// After a slice ([`slice`](QuerySet::slice), [`limit`](QuerySet::limit),
    /// [`offset`](QuerySet::offset)) the query is refused: filtering the
    /// slice is not filtering the rows (Django refuses it too).
    pub fn filter(mut self, condition: Condition<M>) -> Self {
        if self.is_sliced() {
            return self.refuse("cannot filter a query once a slice has been taken: filter first");
        }
        if let Some(reason) = condition.node.refusal() {
            return self.refuse(reason);
        }

        self.filter = Some(match self.filter.take() {
            Some(Node::All(mut items)) => {
                items.push(condition.node);
                Node::All(items)
            }
            Some(existing) => Node::All(vec![existing, condition.node]),
            None => condition.node,
        });
        self
    }

    /// Drops the rows matching `condition`, keeping those where it is
    /// unknown because a field is NULL (Django's `exclude`):
    /// `exclude(Book::RATING.eq(5))` keeps the books with no rating.
    pub fn exclude(self, condition: Condition<M>) -> Self {
        self.filter(!condition)
    }

    /// Orders by `order` after any earlier ordering (replacing the model's
    /// default ordering). Refused after a slice, which it would reorder.
    pub fn order_by(mut self, order: Order<M>) -> Self {
        if self.is_sliced() {
            return self.refuse("cannot reorder a query once a slice has been taken: order first");
        }
        self.order.push(order.term);
        self
    }

    /// Drops duplicate rows (`SELECT DISTINCT`), as Django's `distinct()`;
    /// it matters with [`values_list`](QuerySet::values_list) and
    /// filters through relations. The model's default ordering does not
    /// apply to a distinct [`values_list`](QuerySet::values_list) or
    /// [`values`](QuerySet::values) (it would change which rows are
    /// duplicates, and PostgreSQL refuses it). Rows ordered through a
    /// relation or by an expression also read what they are sorted by
    /// (PostgreSQL, and MySQL 8 under `ONLY_FULL_GROUP_BY`, refuse to sort
    /// a distinct result by anything else), so, as in Django, they are
    /// distinct over those values too.
    pub fn distinct(mut self) -> Self {
        if self.is_sliced() {
            return self.refuse("cannot make a query distinct once a slice has been taken");
        }
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

    /// At most `limit` rows (SQL's `LIMIT`; within an earlier slice, at
    /// most what it leaves).
    pub fn limit(mut self, limit: u64) -> Self {
        self.limit = Some(self.limit.map_or(limit, |earlier| earlier.min(limit)));
        self
    }

    /// Skips the first `offset` rows (SQL's `OFFSET`, replacing an earlier
    /// one). `.offset(20).limit(10)` and `.limit(10).offset(20)` both read
    /// rows 20 to 29, as the SQL clauses do; [`slice`](QuerySet::slice)
    /// counts within what is already sliced.
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = (offset > 0).then_some(offset);
        self
    }

    /// The filter in force, if any.
    pub(crate) fn filter_node(&self) -> Option<&Node> {
        self.filter.as_ref()
    }

    /// The `SELECT` with filter, `order`, slice and `DISTINCT`, joining
    /// the targets of `joins`.
    pub(crate) fn statement_with(
        &self,
        dialect: Dialect,
        order: &[OrderTerm],
        joins: &[compile::Join],
    ) -> sea_query::SelectStatement {
        let mut query = compile::select(
            dialect,
            M::META,
            self.filter.as_ref(),
            order,
            (self.limit, self.offset),
            joins,
            &self.deferred(),
        );
        if self.distinct {
            query.distinct();
        }
        query
    }

    /// The query's own ordering, without the model's default.
    pub(crate) fn explicit_ordering(&self) -> &[OrderTerm] {
        &self.order
    }

    /// The ordering in force: the query's own, else the model's default.
    pub(crate) fn ordering(&self) -> Vec<OrderTerm> {
        if !self.order.is_empty() {
            return self.order.clone();
        }
        M::META
            .ordering
            .iter()
            .filter_map(|(name, descending)| {
                M::META
                    .field(name)
                    .map(|field| OrderTerm::column(field.column, *descending))
            })
            .collect()
    }

    /// Locks the selected rows until the end of the transaction, as
    /// Django's `select_for_update()`: `SELECT .. FOR UPDATE` on PostgreSQL
    /// and MySQL/MariaDB, so another transaction that selects them for
    /// update (or writes them) waits until this one commits or rolls back.
    /// [`select_for_update_with`](QuerySet::select_for_update_with) takes
    /// `nowait`, `skip_locked` and `of`.
    ///
    /// Run it on a [`Transaction`](crate::Transaction): outside one the
    /// lock would end with the statement, so the query answers
    /// [`OrmError::Transaction`] instead, on every backend.
    ///
    /// On SQLite there are no row locks: inside a transaction the query
    /// runs as it is, and a transaction that writes locks the whole
    /// database until it ends (a concurrent writer waits, or fails with
    /// "database is locked" after the busy timeout).
    ///
    /// With [`select_related`](QuerySet::select_related) through a foreign
    /// key that may be NULL (a LEFT JOIN), PostgreSQL cannot lock the
    /// joined rows: only the model's own rows (and those joined through
    /// keys that cannot be NULL) are locked there.
    ///
    /// `count()` ignores it (PostgreSQL refuses `FOR UPDATE` with
    /// aggregates).
    pub fn select_for_update(self) -> Self {
        self.select_for_update_with(ForUpdate::new())
    }

    /// [`select_for_update`](QuerySet::select_for_update) with Django's
    /// options: don't wait for locked rows (an error instead), skip them,
    /// or lock only some of the joined tables.
    ///
    /// ```no_run
    /// # use flagon_orm::{Model, query::lock::ForUpdate};
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "jobs")]
    /// # struct Job { id: i64, done: bool }
    /// # async fn demo(db: flagon_orm::Db) -> Result<(), flagon_orm::OrmError> {
    /// // Each worker takes jobs no other worker holds.
    /// let jobs = db
    ///     .transaction(|tx| async move {
    ///         Job::objects()
    ///             .filter(Job::DONE.eq(false))
    ///             .select_for_update_with(ForUpdate::new().skip_locked())
    ///             .limit(10)
    ///             .all(&tx)
    ///             .await
    ///     })
    ///     .await?;
    /// # let _ = jobs; Ok(()) }
    /// ```
    pub fn select_for_update_with(mut self, options: ForUpdate<M>) -> Self {
        self.for_update = Some(options.lock);
        self
    }

    /// The joins `select_related` asks for: `r<n>` for the n-th, joined
    /// off the base table or the join of the hop before it. A hop after a
    /// LEFT JOIN is a LEFT JOIN too (an INNER one would drop the rows the
    /// first found nothing for).
    fn joins(&self) -> Vec<compile::Join> {
        let mut joins: Vec<compile::Join> = Vec::with_capacity(self.select_related.len());
        for (index, spec) in self.select_related.iter().enumerate() {
            let parent = spec.parent.and_then(|parent| joins.get(parent));
            joins.push(compile::Join {
                from: parent.map(|parent| parent.alias.clone()),
                column: spec.column,
                target: spec.target,
                alias: format!("r{index}"),
                nullable: spec.nullable || parent.is_some_and(|parent| parent.nullable),
            });
        }
        joins
    }

    /// The `SELECT` statement for `dialect`, with its joins, the
    /// `annotations` read after the model's (and its related rows')
    /// columns, and its lock clause; refused if the lock cannot be taken
    /// as asked. A distinct one also reads what it is sorted by
    /// ([`compile::order_distinct`]), last.
    fn select_statement(
        &self,
        dialect: Dialect,
        annotations: &[expr::Operand],
    ) -> Result<sea_query::SelectStatement, OrmError> {
        self.check()?;
        let joins = self.joins();
        let order = self.ordering();
        let mut query = self.statement_with(dialect, &order, &joins);
        let scope = compile::Scope::top(M::META.table, !joins.is_empty());
        for operand in annotations {
            query.expr(compile::operand(dialect, operand, scope));
        }
        if self.distinct {
            compile::order_distinct(&mut query, dialect, scope, &order);
        }
        if let Some(lock) = &self.for_update {
            lock::apply(self, lock, dialect, &joins, &mut query)?;
        }
        Ok(query)
    }

    /// The SQL and parameters this query set runs on `db` (for logging and
    /// `sqlmigrate`-style inspection); a query that would be refused is
    /// that error.
    pub fn to_sql(
        &self,
        db: &(impl Connection + ?Sized),
    ) -> Result<(String, Vec<sea_query::Value>), OrmError> {
        let (sql, values) =
            backends::build(db.dialect(), &self.select_statement(db.dialect(), &[])?)?;
        Ok((sql, values.0))
    }

    /// Refuses a lock outside a transaction.
    fn check_lock(&self, db: &(impl Connection + ?Sized)) -> Result<(), OrmError> {
        if self.for_update.is_some() && !db.in_transaction() {
            return Err(OrmError::Transaction {
                message: format!(
                    "select_for_update() on {} outside a transaction would lock nothing: \
                     run the query inside Db::transaction",
                    M::META.name
                ),
            });
        }
        Ok(())
    }

    /// All matching rows.
    pub async fn all(&self, db: &(impl Connection + ?Sized)) -> Result<Vec<M>, OrmError> {
        let (sql, values) = self.select_sql(db)?;
        let rows = db.fetch_all(&sql, values).await?;
        let deferred = self.deferred();
        let mut objects = rows
            .iter()
            .map(|row| self.decode(row, &deferred))
            .collect::<Result<Vec<M>, OrmError>>()?;
        for spec in &self.prefetch_related {
            related::prefetch(db, &mut objects, spec).await?;
        }
        Ok(objects)
    }

    /// The SQL and values [`all`](QuerySet::all) runs on `db`. A query
    /// with a [shape](sql_cache::Shape) (the common case: a few plain
    /// comparisons, an ordering by the row's own columns, a slice) takes
    /// its text from the cache, rendered by sea-query the first time;
    /// any other is rendered now.
    fn select_sql(
        &self,
        db: &(impl Connection + ?Sized),
    ) -> Result<(sql_cache::Sql, sea_query::Values), OrmError> {
        let dialect = db.dialect();
        let shape = self.shape(dialect);
        if shape.is_some() {
            // A kept text skips `select_statement`, and so its checks.
            self.check()?;
        }
        sql_cache::cached(
            shape.map(sql_cache::Key::Select),
            || sql_cache::values(self.filter.as_ref(), (self.limit, self.offset)),
            || {
                let statement = self.select_statement(dialect, &[])?;
                self.check_lock(db)?;
                backends::build(dialect, &statement)
            },
        )
    }

    /// The [shape](sql_cache::Shape) of the select [`all`](QuerySet::all)
    /// runs on `dialect`, if it has one: no `select_related` joins, no
    /// `DISTINCT`, no lock, every field read, and a filter and ordering
    /// [`Shape::of`](sql_cache::Shape::of) accepts.
    fn shape(&self, dialect: Dialect) -> Option<sql_cache::Shape> {
        if self.distinct
            || self.for_update.is_some()
            || !self.select_related.is_empty()
            || self.loading != Loading::All
        {
            return None;
        }
        sql_cache::Shape::of(
            std::any::TypeId::of::<M>(),
            dialect,
            self.filter.as_ref(),
            &self.ordering(),
            (self.limit, self.offset),
        )
    }

    /// One row of the select, with its `select_related` targets; the
    /// `deferred` fields (what [`deferred`](QuerySet::deferred) names,
    /// worked out once per query) were not selected.
    fn decode(&self, row: &crate::row::Row, deferred: &[&str]) -> Result<M, OrmError> {
        if self.select_related.is_empty() {
            M::from_row_deferring(row, 0, deferred)
        } else {
            related::decode_joined::<M>(row, deferred, &self.select_related)
        }
    }

    /// The first matching row in the query's order (by primary key when
    /// unordered), if any. On a slice, the slice's first row; an
    /// unordered slice is refused (its rows are not defined).
    pub async fn first(&self, db: &(impl Connection + ?Sized)) -> Result<Option<M>, OrmError> {
        Ok(self.first_query()?.all(db).await?.into_iter().next())
    }

    /// The query `first()` runs: ordered (by key when unordered), sliced
    /// to one row.
    pub(crate) fn first_query(&self) -> Result<Self, OrmError> {
        let mut query = self.clone();
        if query.ordering().is_empty() {
            if query.is_sliced() {
                return Err(self.invalid(
                    "first() on an unordered slice: order_by before slicing, so the slice is defined",
                ));
            }
            query.order.push(pk_order::<M>());
        }
        Ok(query.slice(..1))
    }

    /// The last matching row in the query's order (by primary key when
    /// unordered), if any. Refused on a slice (Django cannot reverse one
    /// either): take the last row of [`all`](QuerySet::all) instead.
    pub async fn last(&self, db: &(impl Connection + ?Sized)) -> Result<Option<M>, OrmError> {
        if self.is_sliced() {
            return Err(self.invalid(
                "last() on a slice: the slice cannot be reversed; read it with all() and take its last row",
            ));
        }
        let mut query = self.clone();
        let mut order = query.ordering();
        if order.is_empty() {
            order.push(pk_order::<M>());
        }
        query.order = order
            .into_iter()
            .map(|term| OrderTerm {
                descending: !term.descending,
                ..term
            })
            .collect();
        Ok(query.slice(..1).all(db).await?.into_iter().next())
    }

    /// The one matching row: [`OrmError::DoesNotExist`] if none,
    /// [`OrmError::MultipleObjectsReturned`] if several.
    pub async fn get(&self, db: &(impl Connection + ?Sized)) -> Result<M, OrmError> {
        let mut rows = self.clone().slice(..2).all(db).await?;
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

    /// How many rows match (within a slice or after `distinct()`, how
    /// many they leave).
    pub async fn count(&self, db: &(impl Connection + ?Sized)) -> Result<u64, OrmError> {
        let count = self.aggregate(db, aggregate::Count::all()).await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// The ordering a subquery over the rows needs: the query's ordering
    /// when a slice depends on it, none otherwise.
    pub(crate) fn slice_ordering(&self) -> Vec<OrderTerm> {
        if self.is_sliced() {
            self.ordering()
        } else {
            Vec::new()
        }
    }

    /// Whether any row matches.
    pub async fn exists(&self, db: &(impl Connection + ?Sized)) -> Result<bool, OrmError> {
        Ok(!self.clone().slice(..1).all(db).await?.is_empty())
    }

    /// Refuses a write (`update`, `delete`) of a slice: which rows a slice
    /// holds depends on an order the statement cannot carry on every
    /// backend, and Django refuses it too.
    fn check_writable(&self, what: &str) -> Result<(), OrmError> {
        self.check()?;
        if self.is_sliced() {
            return Err(self.invalid(format!(
                "cannot {what} a query once a slice has been taken: filter the rows to {what} \
                 instead (for example by their keys, read with values_list)"
            )));
        }
        Ok(())
    }

    /// Sets columns on every matching row; returns how many changed.
    /// Values are checked against the fields first (max_length), so a bad
    /// value changes nothing. Refused on a slice (nothing is changed).
    pub async fn update(
        &self,
        db: &(impl Connection + ?Sized),
        assignments: impl IntoIterator<Item = Assignment<M>>,
    ) -> Result<u64, OrmError> {
        self.check_writable("update")?;
        let assignments: Vec<Assignment<M>> = assignments.into_iter().collect();
        if let Some(reason) = assignments
            .iter()
            .find_map(|a| subquery::operand_refusal(&a.value, M::META.table, None))
        {
            return Err(self.invalid(reason));
        }
        for assignment in &assignments {
            if let Some(field) = M::META
                .fields
                .iter()
                .find(|f| f.column == assignment.column)
            {
                if let expr::Operand::Value(value) = &assignment.value {
                    crate::instance::validate_field(db.dialect(), M::META, field, value)?;
                }
            }
        }
        let dialect = db.dialect();
        let scope = compile::Scope::writing(dialect, M::META.table);
        let mut query = Query::update();
        query.table(M::META.table).values(
            assignments
                .into_iter()
                .map(|a| (a.column, compile::operand(dialect, &a.value, scope))),
        );
        if let Some(filter) = &self.filter {
            query.cond_where(compile::condition(dialect, filter, scope));
        }
        let (sql, values) = backends::build(db.dialect(), &query)?;
        Ok(db.execute(&sql, values).await?.rows_affected)
    }

    /// Deletes every matching row; returns how many were deleted. Refused
    /// on a slice (nothing is deleted).
    pub async fn delete(&self, db: &(impl Connection + ?Sized)) -> Result<u64, OrmError> {
        self.check_writable("delete")?;
        let mut query = Query::delete();
        query.from_table(M::META.table);
        if let Some(filter) = &self.filter {
            let scope = compile::Scope::writing(db.dialect(), M::META.table);
            query.cond_where(compile::condition(db.dialect(), filter, scope));
        }
        let (sql, values) = backends::build(db.dialect(), &query)?;
        Ok(db.execute(&sql, values).await?.rows_affected)
    }
}

/// Ascending by primary key: the order of an unordered `first`/`last`.
fn pk_order<M: Model>() -> OrderTerm {
    OrderTerm::column(M::META.primary_key().column, false)
}
