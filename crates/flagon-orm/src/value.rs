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
