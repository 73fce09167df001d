//! Values bound to queries, and the Rust types a field may have.

use std::any::Any;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sqlx::Row as _;

use crate::error::OrmError;
use crate::model::FieldKind;
use crate::relation::RelationTarget;
use crate::row::Row;

/// A value bound to a query as a parameter (never spliced into SQL).
pub use sea_query::Value;

/// A Rust type a model field may have: how it is stored, bound and read.
pub trait FieldType: Sized + Send + Sync + 'static {
    /// How the field is stored.
    const KIND: FieldKind;
    /// Whether NULL is allowed (true for `Option<T>`).
    const NULLABLE: bool = false;
    /// The model a relation field points to (`ForeignKey<T>`, `OneToOne<T>`).
    const RELATION: Option<RelationTarget> = None;

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

fn decode_error(index: usize, err: sqlx::Error) -> OrmError {
    OrmError::Decode {
        column: index.to_string(),
        message: err.to_string(),
    }
}

macro_rules! field_type {
    ($($ty:ty => $kind:ident,)*) => {$(
        impl FieldType for $ty {
            const KIND: FieldKind = FieldKind::$kind;

            fn to_value(&self) -> Value {
                Value::from(self.clone())
            }

            fn decode(row: &Row, index: usize) -> Result<Self, OrmError> {
                match row {
                    Row::Sqlite(row) => row.try_get::<$ty, _>(index),
                    Row::Postgres(row) => row.try_get::<$ty, _>(index),
                    Row::MySql(row) => row.try_get::<$ty, _>(index),
                }
                .map_err(|err| decode_error(index, err))
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
pub use rust_decimal::Decimal;
/// A UUID, for `Uuid` fields.
pub use uuid::Uuid;

fn parse_error(index: usize, what: &str, message: impl std::fmt::Display) -> OrmError {
    OrmError::Decode {
        column: index.to_string(),
        message: format!("not a {what}: {message}"),
    }
}

impl FieldType for Decimal {
    const KIND: FieldKind = FieldKind::Decimal;

    fn to_value(&self) -> Value {
        Value::Decimal(Some(*self))
    }

    fn decode(row: &Row, index: usize) -> Result<Self, OrmError> {
        match row {
            Row::Postgres(row) => row.try_get::<Decimal, _>(index),
            Row::MySql(row) => row.try_get::<Decimal, _>(index),
            // SQLite keeps a `decimal` column as an integer or a float.
            Row::Sqlite(row) => {
                if let Ok(whole) = row.try_get::<i64, _>(index) {
                    return Ok(Decimal::from(whole));
                }
                if let Ok(float) = row.try_get::<f64, _>(index) {
                    // Display gives the shortest text that reads back as the float.
                    return float
                        .to_string()
                        .parse::<Decimal>()
                        .map_err(|err| parse_error(index, "decimal", err));
                }
                let text = row
                    .try_get::<String, _>(index)
                    .map_err(|err| decode_error(index, err))?;
                return text
                    .trim()
                    .parse::<Decimal>()
                    .map_err(|err| parse_error(index, "decimal", err));
            }
        }
        .map_err(|err| decode_error(index, err))
    }
}

impl FieldType for Uuid {
    const KIND: FieldKind = FieldKind::Uuid;

    fn to_value(&self) -> Value {
        Value::Uuid(Some(*self))
    }

    fn decode(row: &Row, index: usize) -> Result<Self, OrmError> {
        let text = match row {
            Row::Postgres(row) => {
                return row
                    .try_get::<Uuid, _>(index)
                    .map_err(|err| decode_error(index, err))
            }
            Row::MySql(row) => row.try_get::<String, _>(index),
            Row::Sqlite(row) => row.try_get::<String, _>(index),
        }
        .map_err(|err| decode_error(index, err))?;
        Uuid::parse_str(&text).map_err(|err| parse_error(index, "UUID", err))
    }
}

impl FieldType for serde_json::Value {
    const KIND: FieldKind = FieldKind::Json;

    fn to_value(&self) -> Value {
        Value::Json(Some(Box::new(self.clone())))
    }

    fn decode(row: &Row, index: usize) -> Result<Self, OrmError> {
        let text = match row {
            Row::Postgres(row) => {
                return row
                    .try_get::<serde_json::Value, _>(index)
                    .map_err(|err| decode_error(index, err))
            }
            // MariaDB's JSON is text; MySQL's is its own type.
            Row::MySql(row) => match row.try_get::<serde_json::Value, _>(index) {
                Ok(value) => return Ok(value),
                Err(_) => row.try_get::<String, _>(index),
            },
            Row::Sqlite(row) => row.try_get::<String, _>(index),
        }
        .map_err(|err| decode_error(index, err))?;
        serde_json::from_str(&text).map_err(|err| parse_error(index, "JSON document", err))
    }
}
