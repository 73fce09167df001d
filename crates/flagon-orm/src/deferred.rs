//! Fields a query may leave unread: [`Deferred<T>`], what
//! [`QuerySet::defer`](crate::QuerySet::defer) and
//! [`QuerySet::only`](crate::QuerySet::only) skip.

use std::any::Any;
use std::sync::Arc;

use crate::error::OrmError;
use crate::model::FieldKind;
use crate::relation::RelationTarget;
use crate::row::Row;
use crate::value::{null_value, FieldType, Value};

/// A field's value that a query may leave unread (Django's deferred
/// fields): declare a large column as `body: Deferred<String>`, and
/// `Post::objects().defer(Post::BODY)` reads every column but that one.
///
/// Unlike Django, reading an unread field does not quietly run a query:
/// [`get`](Deferred::get) answers `None` until the value is loaded, with
/// [`ModelExt::refresh_fields`](crate::ModelExt::refresh_fields) (or by
/// assigning it). Writes never touch an unread field: `save` updates only
/// the fields that were read (as Django does), and `insert`,
/// `bulk_create` and `save_fields` naming one are refused.
///
/// In queries the field is its value's type: `Post::BODY.contains("x")`,
/// `Post::BODY.set("text")`, `values_list((Post::BODY,))` reads `String`s.
///
/// ```
/// use flagon_orm::{Deferred, Model};
///
/// #[derive(Model, Debug)]
/// #[model(app = "blog")]
/// struct Post {
///     id: i64,
///     #[field(max_length = 200)]
///     title: String,
///     body: Deferred<String>,
/// }
///
/// let post = Post { id: 0, title: "Hello".into(), body: "A long text".into() };
/// assert_eq!(post.body.get().map(String::as_str), Some("A long text"));
/// let query = Post::objects().defer(Post::BODY);
/// # let _ = query;
/// ```
///
/// Only a `Deferred` field can be deferred; naming another one does not
/// compile:
///
/// ```compile_fail
/// # use flagon_orm::{Deferred, Model};
/// # #[derive(Model, Debug)]
/// # #[model(app = "blog")]
/// # struct Post { id: i64, #[field(max_length = 200)] title: String, body: Deferred<String> }
/// let query = Post::objects().defer(Post::TITLE);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Deferred<T> {
    value: Option<T>,
}

impl<T> Deferred<T> {
    /// A loaded value.
    pub const fn new(value: T) -> Self {
        Deferred { value: Some(value) }
    }

    /// A value a query did not read.
    pub const fn unloaded() -> Self {
        Deferred { value: None }
    }

    /// The value, or `None` if the query that made the object did not read
    /// it.
    pub fn get(&self) -> Option<&T> {
        self.value.as_ref()
    }

    /// The value to change in place, or `None` if it was not read.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.value.as_mut()
    }

    /// Whether the value was read (or set).
    pub fn is_loaded(&self) -> bool {
        self.value.is_some()
    }

    /// Sets the value (loading it, as far as writes are concerned).
    pub fn set(&mut self, value: T) {
        self.value = Some(value);
    }

    /// The value, or `None` if it was not read.
    pub fn into_inner(self) -> Option<T> {
        self.value
    }
}

impl<T> From<T> for Deferred<T> {
    fn from(value: T) -> Self {
        Deferred::new(value)
    }
}

impl From<&str> for Deferred<String> {
    fn from(value: &str) -> Self {
        Deferred::new(value.to_owned())
    }
}

impl<T: Default> Default for Deferred<T> {
    /// A loaded default value, as `T::default()` (never an unread one).
    fn default() -> Self {
        Deferred::new(T::default())
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Deferred<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.value {
            Some(value) => value.fmt(f),
            None => f.write_str("<deferred>"),
        }
    }
}

impl<T: FieldType> FieldType for Deferred<T> {
    type Plain = T;
    const KIND: FieldKind = T::KIND;
    const NULLABLE: bool = T::NULLABLE;
    const RELATION: Option<RelationTarget> = T::RELATION;
    const DEFERRABLE: bool = true;

    /// The value; a typed NULL for an unread one, which the writes never
    /// bind (they leave an unread field out, or refuse).
    fn to_value(&self) -> Value {
        match &self.value {
            Some(value) => value.to_value(),
            None => null_value(T::KIND),
        }
    }

    fn decode(row: &Row, index: usize) -> Result<Self, OrmError> {
        T::decode(row, index).map(Deferred::new)
    }

    fn attach_related(&mut self, object: Arc<dyn Any + Send + Sync>) -> bool {
        match &mut self.value {
            Some(value) => value.attach_related(object),
            None => false,
        }
    }

    fn is_loaded(&self) -> bool {
        self.value.is_some()
    }

    fn unloaded() -> Option<Self> {
        Some(Deferred::unloaded())
    }
}

impl<T: serde::Serialize> serde::Serialize for Deferred<T> {
    /// The value; an unread one is an error (never a made-up value), so
    /// a template or JSON response cannot show it as empty.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.value {
            Some(value) => value.serialize(serializer),
            None => Err(serde::ser::Error::custom(
                "a deferred field was not read: load it with refresh_fields, or leave it out of defer()/only()",
            )),
        }
    }
}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Deferred<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Deferred::new)
    }
}

// In queries a deferred field is its value: it sums, compares, and
// reads dates and JSON keys as `T` does.
impl<T: crate::aggregate::Comparable> crate::aggregate::Comparable for Deferred<T> {
    type Inner = T::Inner;
}

impl<T: crate::aggregate::Summable> crate::aggregate::Summable for Deferred<T> {
    type Total = T::Total;
    const SUM_CAST: u8 = T::SUM_CAST;
}

impl<T: crate::aggregate::Averageable> crate::aggregate::Averageable for Deferred<T> {
    type Average = T::Average;
    const AVG_CAST: u8 = T::AVG_CAST;
}

impl<T: crate::query::expr::DateField> crate::query::expr::DateField for Deferred<T> {}

impl<T: crate::query::json::JsonField> crate::query::json::JsonField for Deferred<T> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unread_value_is_none_and_never_serialized() {
        let unread: Deferred<String> = Deferred::unloaded();
        assert_eq!(unread.get(), None);
        assert!(!FieldType::is_loaded(&unread));
        assert_eq!(format!("{unread:?}"), "<deferred>");
        let error = serde_json::to_string(&unread).unwrap_err().to_string();
        assert!(error.contains("deferred field was not read"), "{error}");
        let read: Deferred<String> = "text".into();
        assert_eq!(
            serde_json::to_string(&read).ok().as_deref(),
            Some("\"text\"")
        );
        assert_eq!(format!("{read:?}"), "\"text\"");
    }

    #[test]
    fn deserializing_loads_the_value() {
        let value: Deferred<Option<i32>> = serde_json::from_str("null").expect("json");
        assert_eq!(value.get(), Some(&None));
        assert_eq!(Deferred::<i32>::default().into_inner(), Some(0));
    }
}
