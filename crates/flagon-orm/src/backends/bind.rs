//! Binding sea-query values to sqlx queries, per backend (PostgreSQL's
//! binding is in `backends::postgres`).

#[cfg(flagon_sqlx)]
use sea_query::{Value, Values};

use crate::error::OrmError;
#[cfg(feature = "sqlite")]
use crate::value::SqliteNumber;

#[cfg(flagon_sqlx)]
macro_rules! binder {
    ($name:ident, $db:ty, |$query:ident| { $($arms:tt)* }) => {
        /// Binds `values` in order to `query`.
        pub(crate) fn $name<'q>(
            mut $query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
            values: Values,
        ) -> Result<sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>, OrmError> {
            for value in values.0 {
                $query = match value {
                    Value::Bool(v) => $query.bind(v),
                    Value::TinyInt(v) => $query.bind(v.map(i16::from)),
                    Value::SmallInt(v) => $query.bind(v),
                    Value::Int(v) => $query.bind(v),
                    Value::BigInt(v) => $query.bind(v),
                    Value::TinyUnsigned(v) => $query.bind(v.map(i16::from)),
                    Value::SmallUnsigned(v) => $query.bind(v.map(i32::from)),
                    Value::Unsigned(v) => $query.bind(v.map(i64::from)),
                    Value::BigUnsigned(v) => {
                        let v = v.map(i64::try_from).transpose().map_err(|_| {
                            unsupported("an unsigned 64-bit value larger than i64::MAX")
                        })?;
                        $query.bind(v)
                    }
                    Value::Float(v) => $query.bind(v),
                    Value::Double(v) => $query.bind(v),
                    Value::String(v) => $query.bind(v),
                    Value::Char(v) => $query.bind(v.map(String::from)),
                    Value::Bytes(v) => $query.bind(v),
                    Value::Json(v) => $query.bind(v.map(|json| *json)),
                    Value::ChronoDate(v) => $query.bind(v),
                    Value::ChronoTime(v) => $query.bind(v),
                    Value::ChronoDateTime(v) => $query.bind(v),
                    Value::ChronoDateTimeUtc(v) => $query.bind(v),
                    $($arms)*
                    other => return Err(unsupported(&format!("{other:?}"))),
                };
            }
            Ok($query)
        }
    };
}

#[cfg(not(flagon_no_backend))]
pub(crate) fn unsupported(what: &str) -> OrmError {
    OrmError::Decode {
        column: "(parameter)".to_owned(),
        message: format!("cannot bind {what}"),
    }
}

// UUIDs are `char(36)` text on SQLite and MySQL. SQLite's `decimal`
// (NUMERIC) column turns any number it is given into an integer or a float:
// a decimal goes as the integer or the float it will be kept as, and one it
// cannot keep exactly (more than 15 significant digits, not a whole 64-bit
// number) is refused rather than rounded (see `crate::value::Decimal`).
#[cfg(feature = "sqlite")]
binder!(sqlite, sqlx::Sqlite, |query| {
    Value::Uuid(v) => query.bind(v.map(|uuid| uuid.hyphenated().to_string())),
    Value::Decimal(None) => query.bind(None::<f64>),
    Value::Decimal(Some(decimal)) => match crate::value::sqlite_number(decimal) {
        Ok(SqliteNumber::Integer(whole)) => query.bind(whole),
        Ok(SqliteNumber::Real(float)) => query.bind(float),
        Err(why) => return Err(unsupported(&format!("the decimal {decimal}: {why}"))),
    },
});
#[cfg(feature = "mysql")]
binder!(mysql, sqlx::MySql, |query| {
    Value::Uuid(v) => query.bind(v.map(|uuid| uuid.hyphenated().to_string())),
    Value::Decimal(v) => query.bind(v),
});
