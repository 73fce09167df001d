//! `Path<T>`: the parameters matched in the URL.

use std::sync::Arc;

use http::request::Parts;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::forward_to_deserialize_any;

use super::FromRequestParts;
use crate::error::Error;

/// The URL parameters of the matched route, in route order, already
/// percent-decoded.
#[derive(Clone, Debug, Default)]
pub struct PathParams(pub(crate) Vec<(Arc<str>, String)>);

impl PathParams {
    /// The value of parameter `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| &**key == name)
            .map(|(_, value)| value.as_str())
    }

    /// All `(name, value)` pairs in route order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (&**k, v.as_str()))
    }
}

/// The route's URL parameters deserialized into `T`: a single value (for a
/// route with one parameter), a tuple (by position) or a struct (by name).
///
/// A value that cannot be parsed into its field's type is a 400 naming the
/// parameter.
///
/// ```
/// use flagon_web::Path;
/// use serde::Deserialize;
///
/// // "/user/<name>"
/// async fn user(Path(name): Path<String>) -> String { name }
///
/// // "/post/<int:year>/<slug>"
/// async fn post(Path((year, slug)): Path<(u32, String)>) -> String {
///     format!("{year}/{slug}")
/// }
///
/// #[derive(Deserialize)]
/// struct PostKey { year: u32, slug: String }
/// async fn post_by_name(Path(key): Path<PostKey>) -> String {
///     format!("{}/{}", key.year, key.slug)
/// }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts for Path<T> {
    async fn from_request_parts(parts: &mut Parts) -> Result<Self, Error> {
        let empty = PathParams::default();
        let params = parts.extensions.get::<PathParams>().unwrap_or(&empty);
        T::deserialize(ParamsDeserializer { params: &params.0 })
            .map(Path)
            .map_err(|err| {
                if err.mismatch {
                    Error::internal(err.message)
                } else {
                    Error::bad_request(err.message)
                }
            })
    }
}

/// `None` when the route has no parameters.
impl<T: DeserializeOwned + Send> crate::extract::OptionalFromRequestParts for Path<T> {
    async fn from_request_parts(parts: &mut Parts) -> Result<Option<Self>, Error> {
        if parts
            .extensions
            .get::<PathParams>()
            .is_none_or(|params| params.0.is_empty())
        {
            return Ok(None);
        }
        <Path<T> as FromRequestParts>::from_request_parts(parts)
            .await
            .map(Some)
    }
}

#[derive(Debug)]
struct PathError {
    message: String,
    /// The handler asks for a different number of parameters than the
    /// route has: a programming error (500), not a bad request.
    mismatch: bool,
}

impl PathError {
    fn client(message: String) -> Self {
        PathError {
            message,
            mismatch: false,
        }
    }

    fn mismatch(message: String) -> Self {
        PathError {
            message,
            mismatch: true,
        }
    }
}

impl std::fmt::Display for PathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PathError {}

impl de::Error for PathError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        PathError::client(format!("invalid path parameters: {msg}"))
    }

    fn missing_field(field: &'static str) -> Self {
        PathError::mismatch(format!(
            "the handler's Path type has a field `{field}` that the route has no parameter for"
        ))
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        PathError::mismatch(format!(
            "the route's parameter `{field}` is not a field of the handler's Path type (fields: {})",
            expected.join(", ")
        ))
    }
}

#[derive(Clone, Copy)]
struct ParamsDeserializer<'a> {
    params: &'a [(Arc<str>, String)],
}

impl<'a> ParamsDeserializer<'a> {
    fn single(self) -> Result<ValueDeserializer<'a>, PathError> {
        match self.params {
            [(name, value)] => Ok(ValueDeserializer { name, value }),
            _ => Err(PathError::mismatch(format!(
                "the route has {} path parameters; extract them as a tuple or a struct",
                self.params.len()
            ))),
        }
    }
}

macro_rules! forward_single {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
            self.single()?.$method(visitor)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ParamsDeserializer<'de> {
    type Error = PathError;

    forward_single!(
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32
        deserialize_i64 deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32
        deserialize_u64 deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char
        deserialize_str deserialize_string deserialize_bytes deserialize_byte_buf
        deserialize_option deserialize_unit deserialize_identifier deserialize_ignored_any
    );

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, PathError> {
        self.single()?.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, PathError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PathError> {
        self.single()?.deserialize_enum(name, variants, visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        visitor.visit_seq(ParamsSeq {
            params: self.params.iter(),
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, PathError> {
        if len != self.params.len() {
            return Err(PathError::mismatch(format!(
                "the handler expects {len} path parameters but the route has {}",
                self.params.len()
            )));
        }
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, PathError> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        visitor.visit_map(ParamsMap {
            params: self.params.iter(),
            value: None,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PathError> {
        self.deserialize_map(visitor)
    }
}

struct ParamsSeq<'a> {
    params: std::slice::Iter<'a, (Arc<str>, String)>,
}

impl<'de> SeqAccess<'de> for ParamsSeq<'de> {
    type Error = PathError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, PathError> {
        match self.params.next() {
            Some((name, value)) => seed
                .deserialize(ValueDeserializer { name, value })
                .map(Some),
            None => Ok(None),
        }
    }
}

struct ParamsMap<'a> {
    params: std::slice::Iter<'a, (Arc<str>, String)>,
    value: Option<(&'a str, &'a str)>,
}

impl<'de> MapAccess<'de> for ParamsMap<'de> {
    type Error = PathError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, PathError> {
        match self.params.next() {
            Some((name, value)) => {
                self.value = Some((name, value));
                seed.deserialize(de::value::BorrowedStrDeserializer::new(name))
                    .map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, PathError> {
        let (name, value) = self.value.take().ok_or_else(|| {
            PathError::client("path parameter value requested before its name".into())
        })?;
        seed.deserialize(ValueDeserializer { name, value })
    }
}

struct ValueDeserializer<'a> {
    name: &'a str,
    value: &'a str,
}

macro_rules! parse_value {
    ($($method:ident => $visit:ident: $ty:ty,)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
            match self.value.parse::<$ty>() {
                Ok(parsed) => visitor.$visit(parsed),
                Err(_) => Err(PathError::client(format!(
                    "path parameter `{}`: cannot parse {:?} as {}",
                    self.name,
                    self.value,
                    stringify!($ty)
                ))),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ValueDeserializer<'de> {
    type Error = PathError;

    parse_value!(
        deserialize_bool => visit_bool: bool,
        deserialize_i8 => visit_i8: i8,
        deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64,
        deserialize_i128 => visit_i128: i128,
        deserialize_u8 => visit_u8: u8,
        deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64,
        deserialize_u128 => visit_u128: u128,
        deserialize_f32 => visit_f32: f32,
        deserialize_f64 => visit_f64: f64,
        deserialize_char => visit_char: char,
    );

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        visitor.visit_borrowed_str(self.value)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, PathError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PathError> {
        let name = self.name;
        visitor
            .visit_enum(IntoDeserializer::<PathError>::into_deserializer(self.value))
            .map_err(|err| {
                PathError::client(format!(
                    "path parameter `{name}`: {}",
                    err.message.trim_start_matches("invalid path parameters: ")
                ))
            })
    }

    forward_to_deserialize_any! {
        str string bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    fn params(pairs: &[(&str, &str)]) -> Vec<(Arc<str>, String)> {
        pairs
            .iter()
            .map(|(k, v)| (Arc::from(*k), v.to_string()))
            .collect()
    }

    fn parse<T: DeserializeOwned>(pairs: &[(&str, &str)]) -> Result<T, PathError> {
        let params = params(pairs);
        T::deserialize(ParamsDeserializer { params: &params })
    }

    #[test]
    fn single_tuple_and_struct() {
        assert_eq!(parse::<u32>(&[("id", "7")]).unwrap(), 7);
        assert_eq!(
            parse::<(u32, String)>(&[("a", "1"), ("b", "x")]).unwrap(),
            (1, "x".into())
        );
        #[derive(Deserialize, PartialEq, Debug)]
        struct Key {
            year: u16,
            slug: String,
        }
        assert_eq!(
            parse::<Key>(&[("year", "2024"), ("slug", "hi")]).unwrap(),
            Key {
                year: 2024,
                slug: "hi".into()
            }
        );
    }

    #[test]
    fn parse_errors_name_the_parameter() {
        let err = parse::<u32>(&[("id", "abc")]).unwrap_err();
        assert!(err.message.contains("`id`"), "{}", err.message);
        assert!(!err.mismatch, "a bad value is the client's fault");
        assert!(parse::<(u32, u32)>(&[("a", "1")]).unwrap_err().mismatch);
        assert!(
            parse::<u32>(&[("a", "1"), ("b", "2")])
                .unwrap_err()
                .mismatch
        );
    }

    #[test]
    fn enums_parse_from_unit_variants() {
        #[derive(Deserialize, PartialEq, Debug)]
        #[serde(rename_all = "lowercase")]
        enum Kind {
            Post,
            Page,
        }
        assert_eq!(parse::<Kind>(&[("kind", "page")]).unwrap(), Kind::Page);
        assert!(parse::<Kind>(&[("kind", "other")]).is_err());
    }
}
