//! Lookups inside JSON fields (Django's key transforms:
//! `filter(data__owner__name="Ann")`, `data__has_key`).
//!
//! ```no_run
//! # use flagon_orm::Model;
//! # #[derive(Model, Debug)]
//! # #[model(app = "docs")]
//! # struct Doc { id: i64, data: serde_json::Value }
//! # async fn demo(db: flagon_orm::Db) -> Result<(), flagon_orm::OrmError> {
//! use serde_json::json;
//! let anns = Doc::objects()
//!     .filter(Doc::DATA.key("owner").key("name").eq(json!("Ann")))
//!     .count(&db)
//!     .await?;
//! let tagged = Doc::objects().filter(Doc::DATA.key("tags").exists()).count(&db).await?;
//! # let _ = (anns, tagged); Ok(()) }
//! ```

use std::marker::PhantomData;

use super::condition::{Condition, Node};
use crate::field::Field;
use crate::value::{FieldType, Value};

/// JSON fields: `serde_json::Value` and its `Option`.
pub trait JsonField: FieldType {}
impl JsonField for serde_json::Value {}
impl JsonField for Option<serde_json::Value> {}

/// A path of object keys inside a JSON field of model `M`:
/// `Doc::DATA.key("owner").key("name")`.
pub struct JsonPath<M> {
    column: &'static str,
    keys: Vec<String>,
    marker: PhantomData<fn() -> M>,
}

impl<M> Clone for JsonPath<M> {
    fn clone(&self) -> Self {
        JsonPath {
            column: self.column,
            keys: self.keys.clone(),
            marker: PhantomData,
        }
    }
}

impl<M> std::fmt::Debug for JsonPath<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}->{:?}", self.column, self.keys)
    }
}

impl<M, T: JsonField> Field<M, T> {
    /// The value under object key `key` of this JSON field.
    pub fn key(self, key: impl Into<String>) -> JsonPath<M> {
        JsonPath {
            column: self.column(),
            keys: vec![key.into()],
            marker: PhantomData,
        }
    }
}

impl<M> JsonPath<M> {
    /// The value under object key `key` of this one.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.keys.push(key.into());
        self
    }

    /// The value at the path equals `value` (as JSON: `json!(1)` is not
    /// `json!("1")`); `json!(null)` matches a JSON null there, not a
    /// missing key (Django's rule).
    ///
    /// Only a scalar compares the same way on every backend: an object or
    /// an array is refused when the query runs.
    pub fn eq(self, value: impl Into<serde_json::Value>) -> Condition<M> {
        let value = value.into();
        if value.is_object() || value.is_array() {
            return Condition::new(Node::Refused(format!(
                "a JSON key lookup compares a scalar (null, a boolean, a number or a text), \
                 not {value}: compare the keys inside it one by one"
            )));
        }
        Condition::new(Node::Json {
            column: self.column,
            keys: self.keys,
            value: Some(Value::Json(Some(Box::new(value)))),
        })
    }

    /// The path exists, whatever its value (JSON null included): Django's
    /// `has_key` (for one key) and `isnull=False` on a key transform.
    pub fn exists(self) -> Condition<M> {
        Condition::new(Node::Json {
            column: self.column,
            keys: self.keys,
            value: None,
        })
    }
}

/// The JSON path for MySQL and SQLite: `$."a"."b"`, each key quoted so
/// any text is a key.
pub(crate) fn path_text(keys: &[String]) -> String {
    let mut path = String::from("$");
    for key in keys {
        path.push_str(".\"");
        for c in key.chars() {
            if matches!(c, '"' | '\\') {
                path.push('\\');
            }
            path.push(c);
        }
        path.push('"');
    }
    path
}

#[cfg(test)]
mod tests {
    use super::path_text;

    #[test]
    fn paths_quote_every_key() {
        assert_eq!(
            path_text(&["a".into(), "b c".into(), "q\"x".into()]),
            r#"$."a"."b c"."q\"x""#
        );
    }
}
