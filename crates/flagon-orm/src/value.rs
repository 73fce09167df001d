//! Values bound to queries, and the Rust types a field may have.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sqlx::Row as _;

use crate::error::OrmError;
use crate::model::FieldKind;
use crate::row::Row;

/// A value bound to a query as a parameter (never spliced into SQL).
pub use sea_query::Value;

/// A Rust type a model field may have: how it is stored, bound and read.
pub trait FieldType: Sized + Send + Sync + 'static {
    /// How the field is stored.
    const KIND: FieldKind;
    /// Whether NULL is allowed (true for `Option<T>`).
    const NULLABLE: bool = false;

    /// The value to bind for this field.
    fn to_value(&self) -> Value;

    /// Reads column `index` of `row`.
    fn decode(row: &Row, index: usize) -> Result<Self, OrmError>;
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

impl<T: FieldType> FieldType for Option<T>
where
    Value: From<Option<T>>,
    T: Clone,
{
    const KIND: FieldKind = T::KIND;
    const NULLABLE: bool = true;

    fn to_value(&self) -> Value {
        Value::from(self.clone())
    }

    fn decode(row: &Row, index: usize) -> Result<Self, OrmError> {
        if row.is_null(index)? {
            Ok(None)
        } else {
            T::decode(row, index).map(Some)
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
