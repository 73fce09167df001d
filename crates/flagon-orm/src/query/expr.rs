//! Expressions over a row's columns: Django's `F()` objects and date parts.
//!
//! ```no_run
//! # use flagon_orm::{Model, ModelExt};
//! # #[derive(Model, Debug)]
//! # #[model(app = "shop")]
//! # struct Item { id: i64, stock: i32, reserved: i32, added: chrono::NaiveDate }
//! # async fn demo(db: flagon_orm::Db) -> Result<(), flagon_orm::OrmError> {
//! // Items with more in stock than reserved, plus five.
//! let spare = Item::objects()
//!     .filter(Item::STOCK.f().gt(Item::RESERVED.f() + 5))
//!     .count(&db)
//!     .await?;
//! // UPDATE shop_item SET stock = stock - 1 WHERE ..., without reading it.
//! Item::objects()
//!     .filter(Item::ID.eq(1))
//!     .update(&db, [Item::STOCK.set_f(Item::STOCK.f() - 1)])
//!     .await?;
//! // Added in 2026.
//! let recent = Item::objects().filter(Item::ADDED.year().eq(2026)).count(&db).await?;
//! # let _ = (spare, recent); Ok(()) }
//! ```

use std::marker::PhantomData;
use std::ops::{Add, Div, Mul, Sub};

use super::condition::{Assignment, Condition, Node, Order, OrderTerm};
use crate::field::Field;
use crate::model::FieldKind;
use crate::value::{null_value_matches, FieldType, Value};

/// Arithmetic between operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

/// A part of a date or an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatePart {
    /// The year.
    Year,
    /// The month, 1 to 12.
    Month,
    /// The day of the month, 1 to 31.
    Day,
}

/// A comparison between operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `>`
    Gt,
    /// `>=`
    Gte,
}

/// An untyped operand: a value, a column, arithmetic, or a date part.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Operand {
    /// A bound value.
    Value(Value),
    /// A column of the row.
    Column {
        /// The column's name.
        name: &'static str,
        /// Whether it may hold NULL.
        nullable: bool,
    },
    /// `left op right`.
    Arith(Box<Operand>, ArithOp, Box<Operand>),
    /// A database function over operands.
    Func(super::functions::Function, Vec<Operand>),
    /// The operand converted to the type fields of this kind hold.
    Cast(Box<Operand>, FieldKind),
    /// A column of the outer query's row (inside a subquery).
    Outer {
        /// The outer model's table.
        table: &'static str,
        /// The column.
        column: &'static str,
        /// Whether it may hold NULL.
        nullable: bool,
    },
    /// One column of the first row of a correlated query, or NULL.
    #[allow(private_interfaces)]
    Subquery(Box<super::subquery::Inner>),
    /// A part of a date or datetime column (of this kind).
    DatePart {
        /// Which part.
        part: DatePart,
        /// The column.
        column: &'static str,
        /// The column's kind (a date or an instant).
        kind: FieldKind,
        /// Whether the column may hold NULL.
        nullable: bool,
    },
}

impl Operand {
    /// Whether the operand can be NULL for some row.
    pub(crate) fn may_be_null(&self) -> bool {
        match self {
            Operand::Value(value) => null_value_matches(value),
            Operand::Column { nullable, .. } | Operand::DatePart { nullable, .. } => *nullable,
            // SQLite and MySQL answer NULL for a division by zero.
            Operand::Arith(_, ArithOp::Div, _) => true,
            Operand::Arith(left, _, right) => left.may_be_null() || right.may_be_null(),
            Operand::Func(function, args) => {
                use super::functions::Function;
                match function {
                    Function::Concat | Function::Now => false,
                    Function::Coalesce => args.iter().all(Operand::may_be_null),
                    _ => args.iter().any(Operand::may_be_null),
                }
            }
            Operand::Cast(inner, _) => inner.may_be_null(),
            Operand::Outer { nullable, .. } => *nullable,
            Operand::Subquery(_) => true,
        }
    }

    /// Whether the operand is a NULL value.
    pub(crate) fn is_null_value(&self) -> bool {
        matches!(self, Operand::Value(value) if null_value_matches(value))
    }
}

/// A typed expression over rows of model `M` with values of type `T`.
pub struct F<M, T> {
    pub(crate) operand: Operand,
    marker: PhantomData<fn() -> (M, T)>,
}

impl<M, T> Clone for F<M, T> {
    fn clone(&self) -> Self {
        F::new(self.operand.clone())
    }
}

impl<M, T> std::fmt::Debug for F<M, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "F({:?})", self.operand)
    }
}

impl<M, T> F<M, T> {
    fn new(operand: Operand) -> Self {
        F {
            operand,
            marker: PhantomData,
        }
    }

    /// An expression from its operand.
    pub(crate) fn from_operand(operand: Operand) -> Self {
        F::new(operand)
    }

    /// The same expression, typed as one that may be NULL, to compare
    /// with or assign to an `Option` field: `Event::SEEN.set_f(now().nullable())`.
    pub fn nullable(self) -> F<M, Option<T>> {
        F::new(self.operand)
    }

    /// Ascending order by the expression: `length(Book::TITLE.f()).asc()`.
    pub fn asc(self) -> Order<M> {
        Order::new(OrderTerm::expression(self.operand, false))
    }

    /// Descending order by the expression.
    pub fn desc(self) -> Order<M> {
        Order::new(OrderTerm::expression(self.operand, true))
    }

    /// The untyped operand.
    pub fn operand(&self) -> &Operand {
        &self.operand
    }

    fn compare(self, op: CompareOp, other: impl Into<F<M, T>>) -> Condition<M> {
        Condition::new(Node::Compare {
            left: self.operand,
            op,
            right: other.into().operand,
        })
    }

    /// `self = other`; a `None` value on either side is `IS NULL`.
    pub fn eq(self, other: impl Into<F<M, T>>) -> Condition<M> {
        self.compare(CompareOp::Eq, other)
    }

    /// `!self.eq(other)`: rows where either side is NULL match, as with
    /// [`Field::ne`].
    pub fn ne(self, other: impl Into<F<M, T>>) -> Condition<M> {
        !self.eq(other)
    }

    /// `self < other`. A `None` value here is refused when the query runs
    /// (no row is less than NULL).
    pub fn lt(self, other: impl Into<F<M, T>>) -> Condition<M> {
        self.compare(CompareOp::Lt, other)
    }

    /// `self <= other` (a `None` value is refused when the query runs).
    pub fn lte(self, other: impl Into<F<M, T>>) -> Condition<M> {
        self.compare(CompareOp::Lte, other)
    }

    /// `self > other` (a `None` value is refused when the query runs).
    pub fn gt(self, other: impl Into<F<M, T>>) -> Condition<M> {
        self.compare(CompareOp::Gt, other)
    }

    /// `self >= other` (a `None` value is refused when the query runs).
    pub fn gte(self, other: impl Into<F<M, T>>) -> Condition<M> {
        self.compare(CompareOp::Gte, other)
    }

    /// `low <= self <= high`.
    pub fn range(self, low: impl Into<F<M, T>>, high: impl Into<F<M, T>>) -> Condition<M> {
        self.clone().gte(low) & self.lte(high)
    }

    /// `self` is one of `values` (none: matches nothing).
    pub fn in_<V: Into<F<M, T>>>(self, values: impl IntoIterator<Item = V>) -> Condition<M> {
        values
            .into_iter()
            .map(|value| self.clone().eq(value))
            .reduce(|all, next| all | next)
            .unwrap_or_else(Condition::nothing)
    }
}

impl<M, T: FieldType> From<T> for F<M, T> {
    fn from(value: T) -> Self {
        F::new(Operand::Value(value.to_value()))
    }
}

impl<M, T: FieldType> From<Field<M, T>> for F<M, T::Plain> {
    fn from(field: Field<M, T>) -> Self {
        F::new(Operand::Column {
            name: field.column(),
            nullable: T::NULLABLE,
        })
    }
}

/// Numbers, which `F` expressions compute with (`+ - * /`): integers,
/// floats, decimals and their `Option`s. Arithmetic on other types does
/// not compile:
///
/// ```compile_fail
/// # use flagon_orm::Model;
/// # #[derive(Model, Debug)]
/// # #[model(app = "shop")]
/// # struct Item { id: i64, #[field(max_length = 20)] name: String }
/// let nonsense = Item::NAME.f() + "x".to_string();
/// ```
pub trait Numeric: FieldType {}

macro_rules! numeric {
    ($($ty:ty),*) => {$(impl Numeric for $ty {})*};
}

numeric!(i16, i32, i64, f32, f64, crate::value::Decimal);
impl<T: Numeric> Numeric for Option<T> {}

macro_rules! arithmetic {
    ($($trait:ident $method:ident $op:ident),*) => {$(
        impl<M, T: Numeric> $trait<F<M, T>> for F<M, T> {
            type Output = F<M, T>;

            fn $method(self, other: F<M, T>) -> F<M, T> {
                F::new(Operand::Arith(Box::new(self.operand), ArithOp::$op, Box::new(other.operand)))
            }
        }

        impl<M, T: Numeric> $trait<T> for F<M, T> {
            type Output = F<M, T>;

            fn $method(self, other: T) -> F<M, T> {
                F::new(Operand::Arith(
                    Box::new(self.operand),
                    ArithOp::$op,
                    Box::new(Operand::Value(other.to_value())),
                ))
            }
        }
    )*};
}

arithmetic!(Add add Add, Sub sub Sub, Mul mul Mul, Div div Div);

impl<M, T: FieldType> Field<M, T> {
    /// The column as an expression (Django's `F("field")`), to compare
    /// with other columns or compute with.
    pub fn f(self) -> F<M, T::Plain> {
        F::from(self)
    }

    /// Sets the column to an expression in an update
    /// (`stock = stock - 1`), computed by the database row by row.
    pub fn set_f(self, expression: F<M, T::Plain>) -> Assignment<M> {
        Assignment::new(self.column(), expression.operand)
    }
}

/// Fields holding a date: [`chrono::NaiveDate`], [`chrono::DateTime<Utc>`](chrono::DateTime)
/// and their `Option`s.
pub trait DateField: FieldType {}
impl DateField for chrono::NaiveDate {}
impl DateField for chrono::DateTime<chrono::Utc> {}
impl<T: DateField> DateField for Option<T> {}

impl<M, T: DateField> Field<M, T> {
    fn part(self, part: DatePart) -> F<M, i32> {
        F::new(Operand::DatePart {
            part,
            column: self.column(),
            kind: T::KIND,
            nullable: T::NULLABLE,
        })
    }

    /// The year (in UTC for an instant): `PUB_DATE.year().eq(2026)`.
    pub fn year(self) -> F<M, i32> {
        self.part(DatePart::Year)
    }

    /// The month, 1 to 12 (in UTC for an instant).
    pub fn month(self) -> F<M, i32> {
        self.part(DatePart::Month)
    }

    /// The day of the month, 1 to 31 (in UTC for an instant).
    pub fn day(self) -> F<M, i32> {
        self.part(DatePart::Day)
    }
}
