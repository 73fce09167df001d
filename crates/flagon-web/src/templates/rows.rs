//! Rows a template reads where it uses them: [`rows`] and [`row`] hand
//! minijinja a Rust value through its object protocol, so a field is
//! turned into a template value only when the template reads it, instead
//! of every row being copied into a map of values first (what
//! `context! { rows }` does with a `Vec` of structs).
//!
//! A field is found through the value's own `Serialize` impl (its serde
//! names, renames and skipped fields), so what a template sees is what
//! `context!` would have given it.

use std::fmt;
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr, Value};
use serde::ser::{self, Impossible, Serialize};

/// A sequence for a template whose items are read field by field where
/// the template reads them, without copying each row into a map of
/// template values first.
///
/// `context! { fortunes }` serializes every row into a map of values
/// before the template starts; `context! { fortunes => rows(fortunes) }`
/// keeps the `Vec` and looks a field up (through the row's `Serialize`
/// impl, so serde renames and skips apply) when the template prints it.
/// The template is the same either way: loops, `fortune.message`,
/// `fortunes|length`, `fortunes[0]`, `|tojson`.
///
/// ```
/// use flagon_web::{context, render, templates::rows, Template};
/// use serde::Serialize;
///
/// #[derive(Serialize)]
/// struct Fortune {
///     id: i32,
///     message: String,
/// }
///
/// async fn fortunes() -> Template {
///     let fortunes = vec![Fortune { id: 1, message: "<hi>".into() }];
///     // {% for fortune in fortunes %}{{ fortune.message }}{% endfor %}
///     render("fortunes.html", context! { fortunes => rows(fortunes) })
/// }
/// ```
///
/// Items that are not structs or maps (numbers, strings, sequences) are
/// converted as `context!` converts them, one at a time as the template
/// reaches them.
pub fn rows<T>(rows: Vec<T>) -> Value
where
    T: Serialize + Send + Sync + 'static,
{
    Value::from_object(Rows(rows))
}

/// One value for a template whose fields are read where the template
/// reads them, as [`rows`] does for each row: `context! { user =>
/// row(user) }`. A value that is not a struct or map is converted as
/// `context!` would.
///
/// ```
/// use flagon_web::{context, render, templates::row, Template};
/// use serde::Serialize;
///
/// #[derive(Serialize)]
/// struct Profile {
///     name: String,
///     bio: String,
/// }
///
/// async fn profile() -> Template {
///     let user = Profile { name: "Ann".into(), bio: "…".into() };
///     render("profile.html", context! { user => row(user) })
/// }
/// ```
pub fn row<T>(row: T) -> Value
where
    T: Serialize + Send + Sync + 'static,
{
    item_value(&Arc::new(Rows(vec![row])), 0).unwrap_or_default()
}

/// The rows, as a minijinja sequence.
struct Rows<T>(Vec<T>);

impl<T: Serialize> fmt::Debug for Rows<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(Value::from_serialize))
            .finish()
    }
}

impl<T> Object for Rows<T>
where
    T: Serialize + Send + Sync + 'static,
{
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        item_value(self, key.as_usize()?)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.0.len())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.0.len())
    }
}

/// Item `index` of `rows`: a [`Row`] for a struct or map, otherwise the
/// value converted as `context!` would.
fn item_value<T>(rows: &Arc<Rows<T>>, index: usize) -> Option<Value>
where
    T: Serialize + Send + Sync + 'static,
{
    let item = rows.0.get(index)?;
    Some(if has_fields(item) {
        Value::from_object(Row {
            rows: Arc::clone(rows),
            index,
        })
    } else {
        Value::from_serialize(item)
    })
}

/// One row: a map whose fields are looked up when read.
struct Row<T> {
    rows: Arc<Rows<T>>,
    index: usize,
}

impl<T> Row<T> {
    fn item(&self) -> &T {
        &self.rows.0[self.index]
    }
}

impl<T: Serialize> fmt::Debug for Row<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&Value::from_serialize(self.item()), f)
    }
}

impl<T> Object for Row<T>
where
    T: Serialize + Send + Sync + 'static,
{
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        self.item().serialize(FieldPicker { name: key }).ok()?
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut names = FieldNames(Vec::new());
        match self.item().serialize(&mut names) {
            Ok(()) => Enumerator::Values(names.0),
            Err(_) => Enumerator::Empty,
        }
    }
}

/// What the serializers below report when a value is not what they look
/// for (they never fail otherwise).
#[derive(Debug)]
struct NotFields;

impl fmt::Display for NotFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a struct or map")
    }
}

impl std::error::Error for NotFields {}

impl ser::Error for NotFields {
    fn custom<M: fmt::Display>(_: M) -> Self {
        NotFields
    }
}

/// Whether `value` serializes as a struct or a map (through `Option`s and
/// newtypes), without converting any of its fields.
fn has_fields<T: Serialize + ?Sized>(value: &T) -> bool {
    value.serialize(ShapeProbe).is_ok()
}

/// Implements the scalar methods of a `Serializer` by answering `$answer`.
macro_rules! scalars {
    ($answer:expr) => {
        fn serialize_bool(self, _: bool) -> Result<Self::Ok, Self::Error> {
            $answer
        }
        fn serialize_i8(self, _: i8) -> Result<Self::Ok, Self::Error> {
            $answer
        }
        fn serialize_i16(self, _: i16) -> Result<Self::Ok, Self::Error> {
            $answer
        }
        fn serialize_i32(self, _: i32) -> Result<Self::Ok, Self::Error> {
            $answer
        }
        fn serialize_i64(self, _: i64) -> Result<Self::Ok, Self::Error> {
            $answer
        }
        fn serialize_i128(self, _: i128) -> Result<Self::Ok, Self::Error> {
            $answer
        }
        fn serialize_u8(self, _: u8) -> Result<Self::Ok, Self::Error> {
            $answer
        }
        fn serialize_u16(self, _: u16) -> Result<Self::Ok, Self::Error> {
            $answer
        }
        fn serialize_u32(self, _: u32) -> Result<Self::Ok, Self::Error> {
            $answer
        }
        fn serialize_u64(self, _: u64) -> Result<Self::Ok, Self::Error> {
            $answer
        }
        fn serialize_u128(self, _: u128) -> Result<Self::Ok, Self::Error> {
            $answer
        }
        fn serialize_f32(self, _: f32) -> Result<Self::Ok, Self::Error> {
            $answer
        }
        fn serialize_f64(self, _: f64) -> Result<Self::Ok, Self::Error> {
            $answer
        }
        fn serialize_char(self, _: char) -> Result<Self::Ok, Self::Error> {
            $answer
        }
        fn serialize_str(self, _: &str) -> Result<Self::Ok, Self::Error> {
            $answer
        }
        fn serialize_bytes(self, _: &[u8]) -> Result<Self::Ok, Self::Error> {
            $answer
        }
        fn serialize_none(self) -> Result<Self::Ok, Self::Error> {
            $answer
        }
        fn serialize_unit(self) -> Result<Self::Ok, Self::Error> {
            $answer
        }
        fn serialize_unit_struct(self, _: &'static str) -> Result<Self::Ok, Self::Error> {
            $answer
        }
        fn serialize_unit_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
        ) -> Result<Self::Ok, Self::Error> {
            $answer
        }
        fn serialize_newtype_variant<V: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &V,
        ) -> Result<Self::Ok, Self::Error> {
            $answer
        }
        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Self::Error> {
            Err(NotFields)
        }
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Self::Error> {
            Err(NotFields)
        }
        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleStruct, Self::Error> {
            Err(NotFields)
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, Self::Error> {
            Err(NotFields)
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, Self::Error> {
            Err(NotFields)
        }
    };
}

/// Implements the container methods the serializers here share: an
/// `Option` or newtype is looked through, and a map or struct starts the
/// state `$start` makes of the serializer.
macro_rules! containers {
    ($start:path) => {
        fn serialize_some<V: Serialize + ?Sized>(self, value: &V) -> Result<Self::Ok, Self::Error> {
            value.serialize(self)
        }

        fn serialize_newtype_struct<V: Serialize + ?Sized>(
            self,
            _: &'static str,
            value: &V,
        ) -> Result<Self::Ok, Self::Error> {
            value.serialize(self)
        }

        fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Self::Error> {
            Ok($start(self))
        }

        fn serialize_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStruct, Self::Error> {
            Ok($start(self))
        }
    };
}

/// Succeeds for a struct or map, skipping its fields unread.
struct ShapeProbe;

impl ser::Serializer for ShapeProbe {
    type Ok = ();
    type Error = NotFields;
    type SerializeSeq = Impossible<(), NotFields>;
    type SerializeTuple = Impossible<(), NotFields>;
    type SerializeTupleStruct = Impossible<(), NotFields>;
    type SerializeTupleVariant = Impossible<(), NotFields>;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), NotFields>;

    scalars!(Err(NotFields));
    containers!(std::convert::identity);
}

impl ser::SerializeStruct for ShapeProbe {
    type Ok = ();
    type Error = NotFields;

    fn serialize_field<V: Serialize + ?Sized>(
        &mut self,
        _: &'static str,
        _: &V,
    ) -> Result<(), NotFields> {
        Ok(())
    }

    fn end(self) -> Result<(), NotFields> {
        Ok(())
    }
}

impl ser::SerializeMap for ShapeProbe {
    type Ok = ();
    type Error = NotFields;

    fn serialize_key<K: Serialize + ?Sized>(&mut self, _: &K) -> Result<(), NotFields> {
        Ok(())
    }

    fn serialize_value<V: Serialize + ?Sized>(&mut self, _: &V) -> Result<(), NotFields> {
        Ok(())
    }

    fn end(self) -> Result<(), NotFields> {
        Ok(())
    }
}

/// Converts the field called `name` of a struct or map, and only it.
struct FieldPicker<'a> {
    name: &'a str,
}

/// A struct or map being searched by a [`FieldPicker`].
struct Picking<'a> {
    name: &'a str,
    found: Option<Value>,
    /// The map key just seen is `name`.
    key_matches: bool,
}

impl<'a> ser::Serializer for FieldPicker<'a> {
    type Ok = Option<Value>;
    type Error = NotFields;
    type SerializeSeq = Impossible<Option<Value>, NotFields>;
    type SerializeTuple = Impossible<Option<Value>, NotFields>;
    type SerializeTupleStruct = Impossible<Option<Value>, NotFields>;
    type SerializeTupleVariant = Impossible<Option<Value>, NotFields>;
    type SerializeMap = Picking<'a>;
    type SerializeStruct = Picking<'a>;
    type SerializeStructVariant = Impossible<Option<Value>, NotFields>;

    scalars!(Ok(None));
    containers!(FieldPicker::picking);
}

impl<'a> FieldPicker<'a> {
    fn picking(self) -> Picking<'a> {
        Picking {
            name: self.name,
            found: None,
            key_matches: false,
        }
    }
}

impl ser::SerializeStruct for Picking<'_> {
    type Ok = Option<Value>;
    type Error = NotFields;

    fn serialize_field<V: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &V,
    ) -> Result<(), NotFields> {
        if self.found.is_none() && key == self.name {
            self.found = Some(Value::from_serialize(value));
        }
        Ok(())
    }

    fn end(self) -> Result<Option<Value>, NotFields> {
        Ok(self.found)
    }
}

impl ser::SerializeMap for Picking<'_> {
    type Ok = Option<Value>;
    type Error = NotFields;

    fn serialize_key<K: Serialize + ?Sized>(&mut self, key: &K) -> Result<(), NotFields> {
        self.key_matches =
            self.found.is_none() && Value::from_serialize(key).as_str() == Some(self.name);
        Ok(())
    }

    fn serialize_value<V: Serialize + ?Sized>(&mut self, value: &V) -> Result<(), NotFields> {
        if self.key_matches {
            self.found = Some(Value::from_serialize(value));
            self.key_matches = false;
        }
        Ok(())
    }

    fn end(self) -> Result<Option<Value>, NotFields> {
        Ok(self.found)
    }
}

/// Collects the field names of a struct or the keys of a map.
struct FieldNames(Vec<Value>);

impl ser::Serializer for &mut FieldNames {
    type Ok = ();
    type Error = NotFields;
    type SerializeSeq = Impossible<(), NotFields>;
    type SerializeTuple = Impossible<(), NotFields>;
    type SerializeTupleStruct = Impossible<(), NotFields>;
    type SerializeTupleVariant = Impossible<(), NotFields>;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), NotFields>;

    scalars!(Err(NotFields));
    containers!(std::convert::identity);
}

impl ser::SerializeStruct for &mut FieldNames {
    type Ok = ();
    type Error = NotFields;

    fn serialize_field<V: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        _: &V,
    ) -> Result<(), NotFields> {
        self.0.push(Value::from(key));
        Ok(())
    }

    fn end(self) -> Result<(), NotFields> {
        Ok(())
    }
}

impl ser::SerializeMap for &mut FieldNames {
    type Ok = ();
    type Error = NotFields;

    fn serialize_key<K: Serialize + ?Sized>(&mut self, key: &K) -> Result<(), NotFields> {
        self.0.push(Value::from_serialize(key));
        Ok(())
    }

    fn serialize_value<V: Serialize + ?Sized>(&mut self, _: &V) -> Result<(), NotFields> {
        Ok(())
    }

    fn end(self) -> Result<(), NotFields> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(serde::Serialize)]
    struct Fortune {
        id: i32,
        #[serde(rename = "text")]
        message: String,
        #[serde(skip)]
        #[allow(dead_code)]
        secret: String,
        note: Option<String>,
    }

    fn fortunes() -> Vec<Fortune> {
        vec![
            Fortune {
                id: 1,
                message: "<a>".into(),
                secret: "s".into(),
                note: None,
            },
            Fortune {
                id: 2,
                message: "b & c".into(),
                secret: "s".into(),
                note: Some("n".into()),
            },
        ]
    }

    fn render(source: &str, ctx: Value) -> String {
        let mut env = minijinja::Environment::new();
        env.add_template("t.html", source).unwrap();
        env.get_template("t.html").unwrap().render(ctx).unwrap()
    }

    #[test]
    fn rows_read_like_serialized_rows() {
        let source = "{% for f in fortunes %}{{ f.id }}:{{ f.text }}:{{ f.secret }}:{{ f.note }};{% endfor %}\
                      {{ fortunes|length }} {{ fortunes[-1].id }} {{ fortunes[0]|tojson }} \
                      {{ fortunes[1]|items|list }} {% if fortunes %}y{% endif %}{% if not fortunes[5] %}n{% endif %}";
        let lazy = render(source, minijinja::context! { fortunes => rows(fortunes()) });
        let eager = render(source, minijinja::context! { fortunes => fortunes() });
        assert_eq!(lazy, eager);
        assert!(
            lazy.starts_with("1:&lt;a&gt;::None;2:b &amp; c::n;2 2 "),
            "{lazy}"
        );
    }

    #[test]
    fn other_items_are_converted_whole() {
        let source = "{% for x in xs %}{{ x }},{% endfor %}{{ m.k }}{{ m.missing }}|{{ n }}";
        let mut map = BTreeMap::new();
        map.insert("k".to_owned(), vec![1, 2]);
        let ctx = minijinja::context! {
            xs => rows(vec![Some("a"), None]),
            m => row(map),
            n => row(Some(3)),
        };
        assert_eq!(render(source, ctx), "a,None,[1, 2]|3");
    }
}
