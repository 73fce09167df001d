//! Correlated subqueries (Django's `Exists`, `Subquery` and `OuterRef`):
//! a query (over another model, or the same one) that refers to the row of
//! the outer query.
//!
//! ```no_run
//! use flagon_orm::query::subquery::{exists, subquery, OuterRef};
//! # use flagon_orm::{ForeignKey, Model};
//! # #[derive(Model, Debug)]
//! # #[model(app = "blog")]
//! # struct Post { id: i64, #[field(max_length = 100)] title: String }
//! # #[derive(Model, Debug)]
//! # #[model(app = "blog")]
//! # struct Comment { id: i64, #[field(on_delete = "cascade")] post: ForeignKey<Post>, stars: i32 }
//! # async fn demo(db: flagon_orm::Db) -> Result<(), flagon_orm::OrmError> {
//! // Posts with a five-star comment.
//! let loved = Post::objects()
//!     .filter(exists(
//!         Comment::objects()
//!             .filter(Comment::POST.f().eq(OuterRef::pk()))
//!             .filter(Comment::STARS.eq(5)),
//!     ))
//!     .all(&db)
//!     .await?;
//! // Each post with the stars of its latest comment.
//! let latest: Vec<(Post, Option<i32>)> = Post::objects()
//!     .annotate(subquery(
//!         Comment::objects()
//!             .filter(Comment::POST.f().eq(OuterRef::pk()))
//!             .order_by(Comment::ID.desc()),
//!         Comment::STARS,
//!     ))
//!     .all(&db)
//!     .await?;
//! # let _ = (loved, latest); Ok(()) }
//! ```
//!
//! The inner query may be over the same model as the outer one, as
//! Django's are: its table is read through an alias (`U0`, and `U1`, `U2`,
//! .. for subqueries nested inside it), its own columns through that
//! alias, and an [`OuterRef`] through the outer query's table (or alias),
//! so the inner row and the outer one are never confused, at any depth.
//! Each `OuterRef` names the row of the query just outside its subquery;
//! a relation hop inside the inner query (`has`, `reverse_any`, `any`) is
//! part of it, so an `OuterRef` there names the same row.
//!
//! ```no_run
//! use flagon_orm::query::subquery::{exists, subquery, OuterRef};
//! # use flagon_orm::{ForeignKey, Model};
//! # #[derive(Model, Debug)]
//! # #[model(app = "staff")]
//! # struct Employee {
//! #     id: i64,
//! #     #[field(max_length = 100)] name: String,
//! #     salary: i32,
//! #     #[field(on_delete = "cascade")] manager: Option<ForeignKey<Employee>>,
//! # }
//! # async fn demo(db: flagon_orm::Db) -> Result<(), flagon_orm::OrmError> {
//! // The employees the outer row manages (a nullable key compares with
//! // the outer key made nullable).
//! let reports = || {
//!     Employee::objects().filter(Employee::MANAGER.f().eq(OuterRef::pk().nullable()))
//! };
//! // Managers outearned by one of their reports.
//! let outearned = Employee::objects()
//!     .filter(exists(
//!         reports().filter(Employee::SALARY.f().gt(OuterRef::of(Employee::SALARY))),
//!     ))
//!     .all(&db)
//!     .await?;
//! // Each employee with the name of their best-paid report.
//! let best: Vec<(Employee, Option<String>)> = Employee::objects()
//!     .annotate(subquery(
//!         reports().order_by(Employee::SALARY.desc()),
//!         Employee::NAME,
//!     ))
//!     .all(&db)
//!     .await?;
//! # let _ = (outearned, best); Ok(()) }
//! ```
//!
//! In an [`update`](QuerySet::update) or [`delete`](QuerySet::delete) on
//! MySQL/MariaDB, a subquery that reads the table being written reads it
//! through a derived table (`FROM (SELECT * FROM table LIMIT ..) AS U0`),
//! as MySQL refuses to read the table it writes in a subquery (error
//! 1093): the rows it reads are those from before the statement.
//!
//! [`OuterRef`] must name the model of the query the subquery is used in
//! (and be used inside a subquery): either mistake is an
//! [`OrmError::InvalidQuery`](crate::OrmError::InvalidQuery) when the
//! query runs.

use std::marker::PhantomData;

use super::condition::{Condition, Node, OrderTerm};
use super::expr::{Operand, F};
use super::QuerySet;
use crate::field::Field;
use crate::model::{Model, ModelMeta};
use crate::relation::ForeignKey;
use crate::value::FieldType;

/// The inner query of a subquery, without its type.
#[derive(Clone, Debug)]
pub(crate) struct Inner {
    pub(crate) meta: &'static ModelMeta,
    pub(crate) filter: Option<Node>,
    pub(crate) order: Vec<OrderTerm>,
    pub(crate) offset: Option<u64>,
    /// The column read (for [`subquery`]).
    pub(crate) column: Option<&'static str>,
    /// Why the inner query cannot run, if it cannot.
    pub(crate) refused: Option<String>,
}

impl PartialEq for Inner {
    fn eq(&self, other: &Self) -> bool {
        self.meta.table == other.meta.table
            && self.filter == other.filter
            && self.order == other.order
            && self.offset == other.offset
            && self.column == other.column
            && self.refused == other.refused
    }
}

fn inner<R: Model>(query: &QuerySet<R>, column: Option<&'static str>) -> Inner {
    Inner {
        meta: R::META,
        filter: query.filter_node().cloned(),
        order: query.ordering(),
        offset: query.offset_value(),
        column,
        refused: query.check_refinements().err().map(|err| err.to_string()),
    }
}

/// The rows of `query` exist (Django's `Exists`): a condition on the
/// outer query's rows, correlated through [`OuterRef`]. Its ordering is
/// dropped (it cannot change whether a row exists), unless an offset
/// depends on it.
pub fn exists<M, R: Model>(query: QuerySet<R>) -> Condition<M> {
    let mut inner = inner(&query, None);
    if inner.offset.is_none() {
        inner.order.clear();
    }
    Condition::new(Node::Exists(Box::new(inner)))
}

/// `column` of the first row of `query` in its order, or NULL when it
/// has none (Django's `Subquery(qs.values(column)[:1])`): an expression
/// over the outer query's rows, to read with
/// [`annotate`](QuerySet::annotate), filter or sort by.
pub fn subquery<M, R: Model, T: FieldType>(
    query: QuerySet<R>,
    column: Field<R, T>,
) -> F<M, Option<T::Plain>> {
    F::from_operand(Operand::Subquery(Box::new(inner(
        &query,
        Some(column.column()),
    ))))
}

/// A column of the outer query's row, inside [`exists`] or [`subquery`]
/// (Django's `OuterRef`).
#[derive(Debug, Clone, Copy)]
pub struct OuterRef<O>(PhantomData<fn() -> O>);

impl<O: Model> OuterRef<O> {
    /// The outer row's primary key, as a foreign key to it: compare a
    /// relation field with it (`Comment::POST.f().eq(OuterRef::pk())`; a
    /// nullable one with `OuterRef::pk().nullable()`).
    pub fn pk<M>() -> F<M, ForeignKey<O>> {
        F::from_operand(Operand::Outer {
            table: O::META.table,
            column: O::META.primary_key().column,
            nullable: false,
        })
    }

    /// Field `field` of the outer row: `OuterRef::of(Post::TITLE)`.
    pub fn of<M, T: FieldType>(field: Field<O, T>) -> F<M, T::Plain> {
        F::from_operand(Operand::Outer {
            table: O::META.table,
            column: field.column(),
            nullable: T::NULLABLE,
        })
    }
}

/// Why outer references in `node` (of a query on `table`, inside a query
/// on `outer`, if any) cannot be rendered right.
pub(crate) fn node_refusal(node: &Node, table: &str, outer: Option<&str>) -> Option<String> {
    match node {
        Node::All(items) | Node::Any(items) => items
            .iter()
            .find_map(|item| node_refusal(item, table, outer)),
        Node::Not(inner) => node_refusal(inner, table, outer),
        Node::Compare { left, right, .. } => {
            operand_refusal(left, table, outer).or_else(|| operand_refusal(right, table, outer))
        }
        Node::Exists(inner) => inner_refusal(inner, table),
        // A relation hop is a row of the same query: its condition is on
        // the hop's table, and an OuterRef in it names the same outer row.
        Node::Related {
            table: target,
            condition,
            ..
        } => node_refusal(condition, target, outer),
        Node::Lookup { .. } | Node::Json { .. } | Node::Through { .. } | Node::Refused(_) => None,
    }
}

/// Why outer references in `operand` cannot be rendered right.
pub(crate) fn operand_refusal(
    operand: &Operand,
    table: &str,
    outer: Option<&str>,
) -> Option<String> {
    match operand {
        Operand::Outer { table: named, .. } => match outer {
            None => Some(format!(
                "OuterRef to {named} outside exists()/subquery(): it refers to the row of an outer query"
            )),
            Some(outer) if outer != *named => Some(format!(
                "OuterRef names {named}, but the outer query is on {outer}"
            )),
            Some(_) => None,
        },
        Operand::Arith(left, _, right) => operand_refusal(left, table, outer)
            .or_else(|| operand_refusal(right, table, outer)),
        Operand::Func(_, args) => args.iter().find_map(|arg| operand_refusal(arg, table, outer)),
        Operand::Cast(inner, _) => operand_refusal(inner, table, outer),
        Operand::Subquery(inner) => inner_refusal(inner, table),
        _ => None,
    }
}

/// Why the subquery `inner`, inside a query on `outer`, cannot run.
fn inner_refusal(inner: &Inner, outer: &str) -> Option<String> {
    if let Some(refused) = &inner.refused {
        return Some(format!("in a subquery on {}: {refused}", inner.meta.name));
    }
    let table = inner.meta.table;
    inner
        .filter
        .as_ref()
        .and_then(|filter| node_refusal(filter, table, Some(outer)))
        .or_else(|| {
            inner.order.iter().find_map(|term| {
                term.expression
                    .as_ref()
                    .and_then(|expression| operand_refusal(expression, table, Some(outer)))
            })
        })
}
