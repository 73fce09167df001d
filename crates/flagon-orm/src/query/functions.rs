//! Database functions over [`F`] expressions (Django's
//! `django.db.models.functions`): [`lower`], [`upper`], [`length`],
//! [`concat()`], [`coalesce`], [`cast`] and [`now`]. Each gives an `F` again,
//! so it can be compared in a filter, sorted by, read per row with
//! [`QuerySet::annotate`](crate::QuerySet::annotate), or written with
//! [`Field::set_f`](crate::Field::set_f).
//!
//! ```no_run
//! use flagon_orm::functions::{coalesce, concat, length, lower, now};
//! # use flagon_orm::Model;
//! # #[derive(Model, Debug)]
//! # #[model(app = "people")]
//! # struct Person {
//! #     id: i64,
//! #     #[field(max_length = 40)] first: String,
//! #     #[field(max_length = 40)] last: String,
//! #     nickname: Option<String>,
//! #     seen: chrono::DateTime<chrono::Utc>,
//! # }
//! # async fn demo(db: flagon_orm::Db) -> Result<(), flagon_orm::OrmError> {
//! // Case-insensitive equality, and the longest names first.
//! let anns = Person::objects()
//!     .filter(lower(Person::FIRST.f()).eq("ann".to_string()))
//!     .order_by(length(Person::LAST.f()).desc())
//!     .all(&db)
//!     .await?;
//! // "First Last" and the nickname or the first name, read per row.
//! let named: Vec<(Person, (String, String))> = Person::objects()
//!     .annotate((
//!         concat([Person::FIRST.f().into(), " ".into(), Person::LAST.f().into()]),
//!         coalesce(Person::NICKNAME.f(), Person::FIRST.f()),
//!     ))
//!     .all(&db)
//!     .await?;
//! // Stamp every row with the database's clock.
//! Person::objects().update(&db, [Person::SEEN.set_f(now())]).await?;
//! // The ones seen before now (with `now().nullable()` for an `Option` field).
//! let earlier = Person::objects().filter(Person::SEEN.f().lt(now())).count(&db).await?;
//! # let _ = (anns, named, earlier); Ok(()) }
//! ```

pub use super::expr::DatePart;
use super::expr::{DateField, Operand, F};
use crate::model::FieldKind;
use crate::value::FieldType;

/// A database function, as [`Operand::Func`] carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Function {
    /// `LOWER(text)`.
    Lower,
    /// `UPPER(text)`.
    Upper,
    /// The length of a text in characters, as a 64-bit integer.
    Length,
    /// The texts joined, a NULL taken as empty (as Django's `Concat`).
    Concat,
    /// The first operand that is not NULL.
    Coalesce,
    /// The current instant, in UTC.
    Now,
    /// A date or an instant cut down to the start of its year, month or
    /// day (in UTC for an instant), of the same kind.
    Trunc(DatePart, FieldKind),
    /// The UTC date of an instant.
    ToDate,
}

/// Text fields, `String` and `Option<String>`, and the type of their
/// length (NULL for a NULL text).
pub trait TextField: FieldType {
    /// `i64`, or `Option<i64>` for `Option<String>`.
    type Length: FieldType;
}

impl TextField for String {
    type Length = i64;
}

impl TextField for Option<String> {
    type Length = Option<i64>;
}

fn call<M, U>(function: Function, args: Vec<Operand>) -> F<M, U> {
    F::from_operand(Operand::Func(function, args))
}

/// `LOWER(text)` (Django's `Lower`).
pub fn lower<M, T: TextField>(text: F<M, T>) -> F<M, T> {
    call(Function::Lower, vec![text.operand])
}

/// `UPPER(text)` (Django's `Upper`).
pub fn upper<M, T: TextField>(text: F<M, T>) -> F<M, T> {
    call(Function::Upper, vec![text.operand])
}

/// The number of characters in `text` (Django's `Length`), the same on
/// every backend: an `i64`, or an `Option<i64>` for an `Option<String>`
/// (NULL for a NULL text).
pub fn length<M, T: TextField>(text: F<M, T>) -> F<M, T::Length> {
    call(Function::Length, vec![text.operand])
}

/// A part of a [`concat()`]: a text expression (`String` or
/// `Option<String>`), or a literal (`" ".into()`).
pub struct Text<M> {
    operand: Operand,
    marker: std::marker::PhantomData<fn() -> M>,
}

impl<M, T: TextField> From<F<M, T>> for Text<M> {
    fn from(text: F<M, T>) -> Self {
        Text {
            operand: text.operand,
            marker: std::marker::PhantomData,
        }
    }
}

impl<M> From<&str> for Text<M> {
    fn from(text: &str) -> Self {
        Text::from(F::<M, String>::from(text.to_owned()))
    }
}

impl<M> From<String> for Text<M> {
    fn from(text: String) -> Self {
        Text::from(F::<M, String>::from(text))
    }
}

/// The texts joined in order (Django's `Concat`); a NULL among them counts
/// as the empty text, so the result is never NULL:
/// `concat([Person::FIRST.f().into(), " ".into(), Person::NICKNAME.f().into()])`.
pub fn concat<M>(texts: impl IntoIterator<Item = Text<M>>) -> F<M, String> {
    let args = texts.into_iter().map(|text| text.operand).collect();
    call(Function::Concat, args)
}

/// `value` where it is not NULL, else `fallback` (Django's `Coalesce`).
pub fn coalesce<M, T: FieldType>(value: F<M, Option<T>>, fallback: impl Into<F<M, T>>) -> F<M, T>
where
    Option<T>: FieldType,
{
    call(
        Function::Coalesce,
        vec![value.operand, fallback.into().operand],
    )
}

/// The database's current instant, in UTC (Django's `Now`), for filters
/// (`Event::STARTS.f().lt(now())`) and updates.
pub fn now<M>() -> F<M, chrono::DateTime<chrono::Utc>> {
    call(Function::Now, Vec::new())
}

/// `value` cut down to the start of its year, month or day (Django's
/// `Trunc`, `TruncYear`, `TruncMonth`, `TruncDay`), of the same type: the
/// first of the month at midnight for `DatePart::Month`. An instant is
/// cut in UTC.
///
/// ```no_run
/// use flagon_orm::functions::{trunc, DatePart};
/// # use flagon_orm::Model;
/// # #[derive(Model, Debug)]
/// # #[model(app = "shop")]
/// # struct Sale { id: i64, at: chrono::DateTime<chrono::Utc> }
/// # async fn demo(db: flagon_orm::Db) -> Result<(), flagon_orm::OrmError> {
/// let months: Vec<(Sale, chrono::DateTime<chrono::Utc>)> = Sale::objects()
///     .annotate(trunc(Sale::AT.f(), DatePart::Month))
///     .all(&db)
///     .await?;
/// # let _ = months; Ok(()) }
/// ```
pub fn trunc<M, T: DateField>(value: F<M, T>, unit: DatePart) -> F<M, T> {
    call(Function::Trunc(unit, T::KIND), vec![value.operand])
}

/// Instants that have a UTC date: `DateTime<Utc>` and its `Option`, and
/// the type of that date.
pub trait HasDate: DateField {
    /// `NaiveDate`, or `Option<NaiveDate>`.
    type Date: FieldType;
}

impl HasDate for chrono::DateTime<chrono::Utc> {
    type Date = chrono::NaiveDate;
}

impl HasDate for Option<chrono::DateTime<chrono::Utc>> {
    type Date = Option<chrono::NaiveDate>;
}

/// The UTC date of an instant (Django's `TruncDate`).
pub fn trunc_date<M, T: HasDate>(value: F<M, T>) -> F<M, T::Date> {
    call(Function::ToDate, vec![value.operand])
}

/// `CAST(value AS <U's type>)` (Django's `Cast`): `cast::<_, _, f64>(Item::STOCK.f())`.
/// Only the conversions every backend does the same way compile: integers
/// to `i64`, `f64` or `String`, and `f32` to `f64` (a float to an integer
/// rounds on some backends and truncates on others, and a float's text
/// differs between them).
///
/// ```compile_fail
/// # use flagon_orm::{functions::cast, Model};
/// # #[derive(Model, Debug)]
/// # #[model(app = "shop")]
/// # struct Item { id: i64, price: f64 }
/// let nonsense = cast::<_, _, i64>(Item::PRICE.f());
/// ```
pub fn cast<M, T: Castable<U>, U: FieldType>(value: F<M, T>) -> F<M, U> {
    F::from_operand(Operand::Cast(Box::new(value.operand), U::KIND))
}

/// Which types a value of type `Self` may be cast to with [`cast`].
pub trait Castable<U>: FieldType {}

macro_rules! castable {
    ($($from:ty => [$($to:ty),*];)*) => {$($(
        impl Castable<$to> for $from {}
        impl Castable<Option<$to>> for Option<$from> {}
    )*)*};
}

castable! {
    i16 => [i64, f64, String];
    i32 => [i64, f64, String];
    i64 => [f64, String];
    f32 => [f64];
}

/// The SQL type a cast to `kind` names, per dialect.
pub(crate) fn cast_type(dialect: crate::backends::Dialect, kind: FieldKind) -> &'static str {
    use crate::backends::Dialect::{MySql, Postgres, Sqlite};
    // The targets `Castable` allows: i64, f64 and text.
    match (dialect, kind) {
        (Postgres, FieldKind::BigInteger) => "BIGINT",
        (Postgres, FieldKind::Double) => "DOUBLE PRECISION",
        (Postgres, _) => "TEXT",
        (MySql, FieldKind::BigInteger) => "SIGNED",
        (MySql, FieldKind::Double) => "DOUBLE",
        (MySql, _) => "CHAR",
        (Sqlite, FieldKind::BigInteger) => "INTEGER",
        (Sqlite, FieldKind::Double) => "REAL",
        (Sqlite, _) => "TEXT",
    }
}
