//! Values bound to queries, and the Rust types a field may have.

use std::any::Any;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
#[cfg(flagon_sqlx)]
use sqlx::Row as _;

use crate::error::OrmError;
use crate::model::FieldKind;
use crate::relation::RelationTarget;
use crate::row::Row;

/// A value bound to a query as a parameter (never spliced into SQL).
pub use sea_query::Value;

/// The values bound to one statement, in order (what
/// [`Connection::fetch_all`](crate::Connection::fetch_all) takes).
pub use sea_query::Values;

/// A Rust type a model field may have: how it is stored, bound and read.
pub trait FieldType: Sized + Send + Sync + 'static {
    /// The type queries compare the field with, read it as, and set it
    /// to: `Self`, except for [`Deferred<T>`](crate::Deferred), whose
    /// queries take and give `T`.
    type Plain: FieldType;
    /// How the field is stored.
    const KIND: FieldKind;
    /// Whether NULL is allowed (true for `Option<T>`).
    const NULLABLE: bool = false;
    /// The model a relation field points to (`ForeignKey<T>`, `OneToOne<T>`).
    const RELATION: Option<RelationTarget> = None;
    /// Whether a query may leave the field unread (true only for
    /// [`Deferred<T>`](crate::Deferred)).
    const DEFERRABLE: bool = false;

    /// The value to bind for this field.
    fn to_value(&self) -> Value;

    /// Reads column `index` of `row`.
    fn decode(row: &Row, index: usize) -> Result<Self, OrmError>;

    /// Keeps the row a relation field points to, loaded by
    /// `select_related`; false for other fields.
    fn attach_related(&mut self, object: Arc<dyn Any + Send + Sync>) -> bool {
        let _ = object;
        false
    }

    /// Whether the value was read: false only for a
    /// [`Deferred`](crate::Deferred) field a query left out.
    fn is_loaded(&self) -> bool {
        true
    }

    /// The value of a field a query left unread: `Some` only for
    /// [`Deferred`](crate::Deferred) (every other type must be read).
    fn unloaded() -> Option<Self> {
        None
    }
}

/// Whether `value` is a NULL.
pub(crate) fn null_value_matches(value: &Value) -> bool {
    matches!(
        value,
        Value::Bool(None)
            | Value::TinyInt(None)
            | Value::SmallInt(None)
            | Value::Int(None)
            | Value::BigInt(None)
            | Value::Float(None)
            | Value::Double(None)
            | Value::String(None)
            | Value::Bytes(None)
            | Value::ChronoDateTimeUtc(None)
            | Value::ChronoDate(None)
            | Value::ChronoTime(None)
            | Value::Decimal(None)
            | Value::Uuid(None)
            | Value::Json(None)
    )
}

/// A NULL of the value type fields of `kind` bind (typed, as PostgreSQL
/// wants parameters to be).
pub(crate) fn null_value(kind: FieldKind) -> Value {
    match kind {
        FieldKind::SmallInteger => Value::SmallInt(None),
        FieldKind::Integer => Value::Int(None),
        FieldKind::BigInteger => Value::BigInt(None),
        FieldKind::Boolean => Value::Bool(None),
        FieldKind::Float => Value::Float(None),
        FieldKind::Double => Value::Double(None),
        FieldKind::String | FieldKind::Text => Value::String(None),
        FieldKind::Bytes => Value::Bytes(None),
        FieldKind::DateTime => Value::ChronoDateTimeUtc(None),
        FieldKind::Date => Value::ChronoDate(None),
        FieldKind::Time => Value::ChronoTime(None),
        FieldKind::Decimal => Value::Decimal(None),
        FieldKind::Uuid => Value::Uuid(None),
        FieldKind::Json => Value::Json(None),
    }
}

#[cfg(flagon_sqlx)]
fn decode_error(index: usize, err: sqlx::Error) -> OrmError {
    OrmError::Decode {
        column: index.to_string(),
        message: err.to_string(),
    }
}

macro_rules! field_type {
    ($($ty:ty => $kind:ident,)*) => {$(
        impl FieldType for $ty {
            type Plain = Self;
            const KIND: FieldKind = FieldKind::$kind;

            fn to_value(&self) -> Value {
                Value::from(self.clone())
            }

            fn decode(row: &Row, index: usize) -> Result<Self, OrmError> {
                match row {
                    #[cfg(flagon_no_backend)]
                    Row::None(never) => match *never {},
                    #[cfg(feature = "sqlite")]
                    Row::Sqlite(row) => row.try_get::<$ty, _>(index).map_err(|err| decode_error(index, err)),
                    #[cfg(feature = "postgres")]
                    Row::Postgres(row) => crate::backends::postgres::get(row, index),
                    #[cfg(feature = "mysql")]
                    Row::MySql(row) => row.try_get::<$ty, _>(index).map_err(|err| decode_error(index, err)),
                }
            }
        }
    )*};
}

field_type! {
    i16 => SmallInteger,
    i32 => Integer,
    i64 => BigInteger,
    bool => Boolean,
    f32 => Float,
    f64 => Double,
    String => Text,
    Vec<u8> => Bytes,
    DateTime<Utc> => DateTime,
    NaiveDate => Date,
    NaiveTime => Time,
}

impl<T: FieldType> FieldType for Option<T> {
    type Plain = Self;
    const KIND: FieldKind = T::KIND;
    const NULLABLE: bool = true;
    const RELATION: Option<RelationTarget> = T::RELATION;

    fn to_value(&self) -> Value {
        match self {
            Some(value) => value.to_value(),
            None => null_value(T::KIND),
        }
    }

    fn decode(row: &Row, index: usize) -> Result<Self, OrmError> {
        if row.is_null(index)? {
            Ok(None)
        } else {
            T::decode(row, index).map(Some)
        }
    }

    fn attach_related(&mut self, object: Arc<dyn Any + Send + Sync>) -> bool {
        match self {
            Some(value) => value.attach_related(object),
            None => false,
        }
    }
}

/// An exact decimal number, for `Decimal` fields (give them
/// `#[field(max_digits = .., decimal_places = ..)]`).
///
/// PostgreSQL (`numeric`) and MySQL/MariaDB (`decimal`) keep every digit.
/// SQLite has no decimal type: its `decimal` column (NUMERIC affinity,
/// as Django declares it) keeps a whole number that fits in 64 bits as an
/// integer, exactly, and any other number as an 8-byte float, which holds
/// 15 significant digits. Django writes such numbers anyway and rounds
/// them to 15 digits when reading them back: a silent loss. Flagon keeps
/// the column (so comparisons, ordering, `Sum` and `F` arithmetic still
/// run in SQL, which storing text would break) and refuses, before
/// anything is written, a number it would not read back as it was: one
/// that is not a whole 64-bit number and has more than 15 significant
/// digits is an [`OrmError::Validation`] naming the model and field (an
/// error without them where no field is known, as in `update()` or a
/// filter). Use PostgreSQL or MariaDB for more digits.
pub use rust_decimal::Decimal;

/// The significant digits SQLite keeps of a decimal that is not a whole
/// 64-bit number (stored as a float): see [`Decimal`].
pub(crate) const SQLITE_DECIMAL_DIGITS: u32 = 15;

/// How SQLite stores a decimal in a `decimal` (NUMERIC) column.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum SqliteNumber {
    /// A whole number, kept exactly.
    Integer(i64),
    /// Any other, as the float nearest to it (which reads back as it was
    /// while it has at most [`SQLITE_DECIMAL_DIGITS`] significant digits).
    Real(f64),
}

/// `number` as SQLite keeps it, or why SQLite would not keep it exactly.
pub(crate) fn sqlite_number(number: Decimal) -> Result<SqliteNumber, String> {
    let number = number.normalize();
    if number.scale() == 0 {
        if let Ok(whole) = i64::try_from(number.mantissa()) {
            return Ok(SqliteNumber::Integer(whole));
        }
    }
    let mut mantissa = number.mantissa().unsigned_abs();
    while mantissa != 0 && mantissa % 10 == 0 {
        mantissa /= 10;
    }
    let digits = mantissa.checked_ilog10().map_or(1, |log| log + 1);
    if digits > SQLITE_DECIMAL_DIGITS {
        return Err(format!(
            "SQLite keeps a decimal that is not a whole 64-bit number to \
             {SQLITE_DECIMAL_DIGITS} significant digits, and {number} has {digits}: \
             round it, or use PostgreSQL or MariaDB for more"
        ));
    }
    // Rust's parsing rounds correctly: the float nearest to the number.
    number
        .to_string()
        .parse::<f64>()
        .map(SqliteNumber::Real)
        .map_err(|err| format!("{number} is not a number SQLite can store: {err}"))
}
/// A UUID, for `Uuid` fields.
pub use uuid::Uuid;

#[cfg(flagon_sqlx)]
fn parse_error(index: usize, what: &str, message: impl std::fmt::Display) -> OrmError {
    OrmError::Decode {
        column: index.to_string(),
        message: format!("not a {what}: {message}"),
    }
}

impl FieldType for Decimal {
    type Plain = Self;
    const KIND: FieldKind = FieldKind::Decimal;

    fn to_value(&self) -> Value {
        Value::Decimal(Some(*self))
    }

    fn decode(row: &Row, index: usize) -> Result<Self, OrmError> {
        match row {
            #[cfg(flagon_no_backend)]
            Row::None(never) => match *never {},
            #[cfg(feature = "postgres")]
            Row::Postgres(row) => crate::backends::postgres::get(row, index),
            #[cfg(feature = "mysql")]
            Row::MySql(row) => row
                .try_get::<Decimal, _>(index)
                .map_err(|err| decode_error(index, err)),
            // SQLite keeps a `decimal` column as an integer or a float
            // (see `sqlite_number`).
            #[cfg(feature = "sqlite")]
            Row::Sqlite(row) => {
                if let Ok(whole) = row.try_get::<i64, _>(index) {
                    return Ok(Decimal::from(whole));
                }
                if let Ok(float) = row.try_get::<f64, _>(index) {
                    // A float written from a decimal of at most 15
                    // significant digits reads back as it was when rounded
                    // to 15; so does the float of a sum of such numbers,
                    // without the binary noise arithmetic adds (0.1 + 0.2).
                    let digits = SQLITE_DECIMAL_DIGITS as usize - 1;
                    return Decimal::from_scientific(&format!("{float:.digits$e}"))
                        .map(|number| number.normalize())
                        .map_err(|err| parse_error(index, "decimal", err));
                }
                let text = row
                    .try_get::<String, _>(index)
                    .map_err(|err| decode_error(index, err))?;
                text.trim()
                    .parse::<Decimal>()
                    .map_err(|err| parse_error(index, "decimal", err))
            }
        }
    }
}

impl FieldType for Uuid {
    type Plain = Self;
    const KIND: FieldKind = FieldKind::Uuid;

    fn to_value(&self) -> Value {
        Value::Uuid(Some(*self))
    }

    fn decode(row: &Row, index: usize) -> Result<Self, OrmError> {
        // SQLite and MySQL keep a UUID as text.
        #[cfg(flagon_sqlx)]
        let text = |text: Result<String, sqlx::Error>| {
            let text = text.map_err(|err| decode_error(index, err))?;
            Uuid::parse_str(&text).map_err(|err| parse_error(index, "UUID", err))
        };
        match row {
            #[cfg(flagon_no_backend)]
            Row::None(never) => match *never {},
            #[cfg(feature = "postgres")]
            Row::Postgres(row) => crate::backends::postgres::get(row, index),
            #[cfg(feature = "mysql")]
            Row::MySql(row) => text(row.try_get::<String, _>(index)),
            #[cfg(feature = "sqlite")]
            Row::Sqlite(row) => text(row.try_get::<String, _>(index)),
        }
    }
}

impl FieldType for serde_json::Value {
    type Plain = Self;
    const KIND: FieldKind = FieldKind::Json;

    fn to_value(&self) -> Value {
        Value::Json(Some(Box::new(self.clone())))
    }

    fn decode(row: &Row, index: usize) -> Result<Self, OrmError> {
        // SQLite (and MariaDB) keep a JSON document as text.
        #[cfg(flagon_sqlx)]
        let text = |text: Result<String, sqlx::Error>| {
            let text = text.map_err(|err| decode_error(index, err))?;
            serde_json::from_str(&text).map_err(|err| parse_error(index, "JSON document", err))
        };
        match row {
            #[cfg(flagon_no_backend)]
            Row::None(never) => match *never {},
            #[cfg(feature = "postgres")]
            Row::Postgres(row) => crate::backends::postgres::get(row, index),
            // MariaDB's JSON is text; MySQL's is its own type.
            #[cfg(feature = "mysql")]
            Row::MySql(row) => match row.try_get::<serde_json::Value, _>(index) {
                Ok(value) => Ok(value),
                Err(_) => text(row.try_get::<String, _>(index)),
            },
            #[cfg(feature = "sqlite")]
            Row::Sqlite(row) => text(row.try_get::<String, _>(index)),
        }
    }
}
