//! Aggregates over the rows of a query set: Django's `Count`, `Sum`,
//! `Avg`, `Min` and `Max`, with result types that are the same on every
//! backend (a sum of integers is an `i64`, an average an `f64`).
//!
//! ```no_run
//! use flagon_orm::aggregate::{Avg, Count, Max, Sum};
//! # use flagon_orm::Model;
//! # #[derive(Model, Debug)]
//! # #[model(app = "shop")]
//! # struct Item { id: i64, stock: i32, price: f64 }
//! # async fn demo(db: flagon_orm::Db) -> Result<(), flagon_orm::OrmError> {
//! let (count, stock, price, dearest): (i64, Option<i64>, Option<f64>, Option<f64>) = Item::objects()
//!     .aggregate(&db, (Count::all(), Sum::of(Item::STOCK), Avg::of(Item::PRICE), Max::of(Item::PRICE)))
//!     .await?;
//! # let _ = (count, stock, price, dearest); Ok(()) }
//! ```

use std::marker::PhantomData;

use sea_query::{Expr, Func};

use super::QuerySet;
use crate::backends::{self, Dialect};
use crate::connection::Connection;
use crate::error::OrmError;
use crate::field::Field;
use crate::model::Model;
use crate::row::Row;
use crate::value::{Decimal, FieldType};

/// How a result is cast so that every backend returns the same type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cast {
    None,
    BigInt,
    Double,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Function {
    Count,
    Sum,
    Avg,
    Min,
    Max,
}

/// One aggregate over rows of model `M`, giving an `R`.
pub struct Aggregate<M, R> {
    function: Function,
    column: Option<&'static str>,
    distinct: bool,
    cast: Cast,
    marker: PhantomData<fn() -> (M, R)>,
}

impl<M, R> Clone for Aggregate<M, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M, R> Copy for Aggregate<M, R> {}

impl<M, R> std::fmt::Debug for Aggregate<M, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}({:?})", self.function, self.column)
    }
}

impl<M, R> Aggregate<M, R> {
    fn new(function: Function, column: Option<&'static str>, cast: Cast) -> Self {
        Aggregate {
            function,
            column,
            distinct: false,
            cast,
            marker: PhantomData,
        }
    }

    fn expr(&self, dialect: Dialect) -> Expr {
        let column = match self.column {
            Some(column) => Expr::col(column),
            None => Expr::col(sea_query::Asterisk),
        };
        let call = match self.function {
            Function::Count if self.distinct => Func::count_distinct(column),
            Function::Count => Func::count(column),
            Function::Sum => Func::sum(column),
            Function::Avg => Func::avg(column),
            Function::Min => Func::min(column),
            Function::Max => Func::max(column),
        };
        let call = Expr::from(call);
        // SQLite's integer results are 64-bit already.
        let kind = match (self.cast, dialect) {
            (Cast::None, _) | (Cast::BigInt, Dialect::Sqlite) => return call,
            (Cast::BigInt, _) => crate::model::FieldKind::BigInteger,
            (Cast::Double, _) => crate::model::FieldKind::Double,
        };
        let target = super::functions::cast_type(dialect, kind);
        super::compile::custom(dialect, &format!("CAST($1 AS {target})"), call)
    }
}

/// A condition on the aggregates of each group, for
/// [`Grouped::having`](super::values::Grouped::having) (SQL's `HAVING`,
/// Django's `filter()` after `annotate()`): `Count::all().gt(1)`. Combine
/// with `&`.
pub struct Having<M> {
    pub(crate) terms: Vec<(
        Aggregate<M, ()>,
        super::expr::CompareOp,
        crate::value::Value,
    )>,
}

impl<M> Clone for Having<M> {
    fn clone(&self) -> Self {
        Having {
            terms: self.terms.clone(),
        }
    }
}

impl<M> std::fmt::Debug for Having<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.terms
                    .iter()
                    .map(|(aggregate, op, value)| (aggregate, op, value)),
            )
            .finish()
    }
}

impl<M> std::ops::BitAnd for Having<M> {
    type Output = Having<M>;

    fn bitand(mut self, other: Having<M>) -> Having<M> {
        self.terms.extend(other.terms);
        self
    }
}

impl<M> Having<M> {
    /// The `HAVING` condition for `dialect`.
    pub(crate) fn condition(&self, dialect: Dialect) -> sea_query::Cond {
        self.terms
            .iter()
            .fold(sea_query::Cond::all(), |cond, (aggregate, op, value)| {
                cond.add(super::compile::compare(
                    aggregate.expr(dialect),
                    *op,
                    Expr::val(value.clone()),
                ))
            })
    }
}

impl<M, R: Comparable> Aggregate<M, R> {
    fn having(self, op: super::expr::CompareOp, value: impl Into<R::Inner>) -> Having<M> {
        let untyped = Aggregate {
            function: self.function,
            column: self.column,
            distinct: self.distinct,
            cast: self.cast,
            marker: PhantomData,
        };
        Having {
            terms: vec![(untyped, op, value.into().to_value())],
        }
    }

    /// The group's aggregate is `value`.
    pub fn eq(self, value: impl Into<R::Inner>) -> Having<M> {
        self.having(super::expr::CompareOp::Eq, value)
    }

    /// The group's aggregate is below `value`.
    pub fn lt(self, value: impl Into<R::Inner>) -> Having<M> {
        self.having(super::expr::CompareOp::Lt, value)
    }

    /// The group's aggregate is at most `value`.
    pub fn lte(self, value: impl Into<R::Inner>) -> Having<M> {
        self.having(super::expr::CompareOp::Lte, value)
    }

    /// The group's aggregate is above `value`.
    pub fn gt(self, value: impl Into<R::Inner>) -> Having<M> {
        self.having(super::expr::CompareOp::Gt, value)
    }

    /// The group's aggregate is at least `value`.
    pub fn gte(self, value: impl Into<R::Inner>) -> Having<M> {
        self.having(super::expr::CompareOp::Gte, value)
    }
}

/// `COUNT(..)`, an `i64`.
#[derive(Clone, Copy, Debug)]
pub struct Count;

impl Count {
    /// The number of rows (`COUNT(*)`).
    pub fn all<M>() -> Aggregate<M, i64> {
        Aggregate::new(Function::Count, None, Cast::BigInt)
    }

    /// The number of rows where `field` is not NULL.
    pub fn of<M, T>(field: Field<M, T>) -> Aggregate<M, i64> {
        Aggregate::new(Function::Count, Some(field.column()), Cast::BigInt)
    }

    /// The number of different non-NULL values of `field`.
    pub fn distinct<M, T>(field: Field<M, T>) -> Aggregate<M, i64> {
        Aggregate {
            distinct: true,
            ..Count::of(field)
        }
    }
}

/// Numbers that can be summed, and the type of their sum.
pub trait Summable: FieldType {
    /// The sum's type: `i64` for integers, `f64` for floats, `Decimal`.
    type Total: FieldType;
    /// How the sum is cast.
    #[doc(hidden)]
    const SUM_CAST: u8;
}

macro_rules! summable {
    ($($ty:ty => $total:ty, $cast:expr;)*) => {$(
        impl Summable for $ty {
            type Total = $total;
            const SUM_CAST: u8 = $cast;
        }
    )*};
}

summable! {
    i16 => i64, 1;
    i32 => i64, 1;
    i64 => i64, 1;
    f32 => f64, 2;
    f64 => f64, 2;
    Decimal => Decimal, 0;
}

impl<T: Summable> Summable for Option<T> {
    type Total = T::Total;
    const SUM_CAST: u8 = T::SUM_CAST;
}

fn cast_of(code: u8) -> Cast {
    match code {
        1 => Cast::BigInt,
        2 => Cast::Double,
        _ => Cast::None,
    }
}

/// `SUM(field)`: `None` over no rows.
#[derive(Clone, Copy, Debug)]
pub struct Sum;

impl Sum {
    /// The sum of `field`.
    pub fn of<M, T: Summable>(field: Field<M, T>) -> Aggregate<M, Option<T::Total>> {
        Aggregate::new(Function::Sum, Some(field.column()), cast_of(T::SUM_CAST))
    }
}

/// Numbers that can be averaged, and the type of their average.
pub trait Averageable: FieldType {
    /// `f64`, or `Decimal` for decimals.
    type Average: FieldType;
    #[doc(hidden)]
    const AVG_CAST: u8;
}

macro_rules! averageable {
    ($($ty:ty => $avg:ty, $cast:expr;)*) => {$(
        impl Averageable for $ty {
            type Average = $avg;
            const AVG_CAST: u8 = $cast;
        }
    )*};
}

averageable! {
    i16 => f64, 2;
    i32 => f64, 2;
    i64 => f64, 2;
    f32 => f64, 2;
    f64 => f64, 2;
    Decimal => Decimal, 0;
}

impl<T: Averageable> Averageable for Option<T> {
    type Average = T::Average;
    const AVG_CAST: u8 = T::AVG_CAST;
}

/// `AVG(field)`: `None` over no rows.
#[derive(Clone, Copy, Debug)]
pub struct Avg;

impl Avg {
    /// The average of `field`.
    pub fn of<M, T: Averageable>(field: Field<M, T>) -> Aggregate<M, Option<T::Average>> {
        Aggregate::new(Function::Avg, Some(field.column()), cast_of(T::AVG_CAST))
    }
}

/// Field types whose values have an order (numbers, text, dates and
/// times, decimals, and their `Option`s), for `lt`/`gt`/`range` and
/// [`Min`]/[`Max`]; `Inner` is the type with the `Option` taken off
/// (`Option<i32>` → `i32`). Booleans are not among them: PostgreSQL has no
/// `max(boolean)`.
///
/// ```compile_fail
/// # use flagon_orm::{Model, aggregate::Max};
/// # #[derive(Model, Debug)]
/// # #[model(app = "shop")]
/// # struct Item { id: i64, active: bool }
/// let nonsense = Max::of(Item::ACTIVE);
/// ```
pub trait Comparable: FieldType {
    /// The type without `Option`.
    type Inner: FieldType;
}

macro_rules! comparable {
    ($($ty:ty),*) => {$(
        impl Comparable for $ty {
            type Inner = $ty;
        }
    )*};
}

comparable!(
    i16,
    i32,
    i64,
    f32,
    f64,
    String,
    Decimal,
    chrono::NaiveDate,
    chrono::NaiveTime,
    chrono::DateTime<chrono::Utc>
);

impl<T: Comparable> Comparable for Option<T> {
    type Inner = T::Inner;
}

/// `MIN(field)`: `None` over no rows.
#[derive(Clone, Copy, Debug)]
pub struct Min;

impl Min {
    /// The smallest value of `field`.
    pub fn of<M, T: Comparable>(field: Field<M, T>) -> Aggregate<M, Option<T::Inner>> {
        Aggregate::new(Function::Min, Some(field.column()), Cast::None)
    }
}

/// `MAX(field)`: `None` over no rows.
#[derive(Clone, Copy, Debug)]
pub struct Max;

impl Max {
    /// The largest value of `field`.
    pub fn of<M, T: Comparable>(field: Field<M, T>) -> Aggregate<M, Option<T::Inner>> {
        Aggregate::new(Function::Max, Some(field.column()), Cast::None)
    }
}

/// One aggregate or a tuple of them, over rows of `M`.
pub trait Aggregates<M>: Copy {
    /// The results, as a tuple (or the one result).
    type Output;

    /// The SQL expressions.
    #[doc(hidden)]
    fn exprs(&self, dialect: Dialect) -> Vec<Expr>;

    /// Decodes the results from `row`, starting at `offset`.
    #[doc(hidden)]
    fn decode(row: &Row, offset: usize) -> Result<Self::Output, OrmError>;
}

impl<M, R: FieldType> Aggregates<M> for Aggregate<M, R> {
    type Output = R;

    fn exprs(&self, dialect: Dialect) -> Vec<Expr> {
        vec![self.expr(dialect)]
    }

    fn decode(row: &Row, offset: usize) -> Result<R, OrmError> {
        R::decode(row, offset)
    }
}

macro_rules! aggregates {
    ($(($($t:ident $i:tt),+)),*) => {$(
        impl<M, $($t: FieldType),+> Aggregates<M> for ($(Aggregate<M, $t>,)+) {
            type Output = ($($t,)+);

            fn exprs(&self, dialect: Dialect) -> Vec<Expr> {
                vec![$(self.$i.expr(dialect)),+]
            }

            fn decode(row: &Row, offset: usize) -> Result<Self::Output, OrmError> {
                Ok(($($t::decode(row, offset + $i)?,)+))
            }
        }
    )*};
}

aggregates!(
    (A 0),
    (A 0, B 1),
    (A 0, B 1, C 2),
    (A 0, B 1, C 2, D 3),
    (A 0, B 1, C 2, D 3, E 4),
    (A 0, B 1, C 2, D 3, E 4, G 5)
);

impl<M: Model> QuerySet<M> {
    /// Computes `aggregates` over all matching rows (Django's
    /// `aggregate`); over a slice or a `distinct()` query, over the rows
    /// they leave.
    pub async fn aggregate<A: Aggregates<M>>(
        &self,
        db: &(impl Connection + ?Sized),
        aggregates: A,
    ) -> Result<A::Output, OrmError> {
        self.check()?;
        let dialect = db.dialect();
        let mut statement = sea_query::Query::select();
        if self.is_sliced() || self.is_distinct() {
            let order = self.slice_ordering();
            let mut rows = self.statement_with(dialect, &order, &[]);
            if self.is_distinct() {
                super::compile::order_distinct(
                    &mut rows,
                    dialect,
                    super::compile::Scope::top(M::META.table, false),
                    &order,
                );
            }
            statement.from_subquery(rows, sea_query::Alias::new("flagon_rows"));
        } else {
            statement.from(M::META.table);
            if let Some(filter) = self.filter_node() {
                let scope = super::compile::Scope::top(M::META.table, false);
                statement.cond_where(super::compile::condition(dialect, filter, scope));
            }
        }
        for expr in aggregates.exprs(dialect) {
            statement.expr(expr);
        }
        let (sql, values) = backends::build(dialect, &statement)?;
        let rows = db.fetch_all(&sql, values).await?;
        let row = rows.first().ok_or_else(|| OrmError::Decode {
            column: "(aggregate)".to_owned(),
            message: "the database returned no row".to_owned(),
        })?;
        A::decode(row, 0)
    }
}
