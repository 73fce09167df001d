//! What validation refuses: one [`ValidationError`] per problem, gathered
//! per field in [`ValidationErrors`].

use std::borrow::Cow;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One problem with a value: a message for people and a code for programs,
/// as Django's `ValidationError(message, code=..)`.
///
/// The built-in checks use Django's codes: `blank`, `invalid_choice`,
/// `max_length`, `min_length`, `min_value`, `max_value`, `max_digits`,
/// `max_decimal_places`, `max_whole_digits`, `invalid` (email, URL, a
/// foreign key to no row, and what a validator function returns as plain
/// text), `unique` and `unique_together`.
///
/// ```
/// use flagon_orm::ValidationError;
///
/// let plain: ValidationError = "Too early.".into();
/// assert_eq!((plain.message.as_str(), plain.code.as_ref()), ("Too early.", "invalid"));
/// let coded = ValidationError::new("Too early.").with_code("too_early");
/// assert_eq!(coded.code, "too_early");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationError {
    /// What is wrong, as a form shows it ("Enter a valid email address.").
    pub message: String,
    /// What kind of problem it is ("invalid", "unique", ...).
    pub code: Cow<'static, str>,
}

impl ValidationError {
    /// An error with the code `invalid`.
    pub fn new(message: impl Into<String>) -> Self {
        ValidationError {
            message: message.into(),
            code: Cow::Borrowed("invalid"),
        }
    }

    /// The error with `code` instead.
    ///
    /// ```
    /// # use flagon_orm::ValidationError;
    /// assert_eq!(ValidationError::new("x").with_code("odd").code, "odd");
    /// ```
    #[must_use]
    pub fn with_code(mut self, code: impl Into<Cow<'static, str>>) -> Self {
        self.code = code.into();
        self
    }

    /// An error with a built-in code.
    pub(crate) fn coded(code: &'static str, message: impl Into<String>) -> Self {
        ValidationError {
            message: message.into(),
            code: Cow::Borrowed(code),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ValidationError {}

impl From<String> for ValidationError {
    fn from(message: String) -> Self {
        ValidationError::new(message)
    }
}

impl From<&str> for ValidationError {
    fn from(message: &str) -> Self {
        ValidationError::new(message)
    }
}

/// Everything validation refused, by field: what a form shows beside each
/// input, and above the form for the errors of no one field (a
/// `unique_together` group, a model's own `clean`).
///
/// Fields keep the order errors were added in (the model's field order for
/// `full_clean`). It serializes as Django's `errors.as_json()` does, the
/// errors of no field under `"__all__"`:
///
/// ```
/// use flagon_orm::{ValidationError, ValidationErrors};
///
/// let mut errors = ValidationErrors::new();
/// errors.add("email", ValidationError::new("Enter a valid email address."));
/// errors.add_non_field("Event with this Room and Day already exists.");
/// assert_eq!(errors.field("email")[0].message, "Enter a valid email address.");
/// assert_eq!(
///     serde_json::to_string(&errors).unwrap(),
///     r#"{"email":[{"message":"Enter a valid email address.","code":"invalid"}],"__all__":[{"message":"Event with this Room and Day already exists.","code":"invalid"}]}"#
/// );
/// let back: ValidationErrors = serde_json::from_str(&serde_json::to_string(&errors).unwrap()).unwrap();
/// assert_eq!(back, errors);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidationErrors {
    entries: Vec<(String, Vec<ValidationError>)>,
}

impl ValidationErrors {
    /// The key of the errors that belong to no one field (Django's
    /// `NON_FIELD_ERRORS`).
    pub const NON_FIELD: &'static str = "__all__";

    /// No errors.
    pub fn new() -> Self {
        ValidationErrors::default()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds an error to field `field` (or to no field, with
    /// [`ValidationErrors::NON_FIELD`]).
    pub fn add(&mut self, field: impl Into<String>, error: impl Into<ValidationError>) {
        let field = field.into();
        let error = error.into();
        match self.entries.iter_mut().find(|(name, _)| *name == field) {
            Some((_, errors)) => errors.push(error),
            None => self.entries.push((field, vec![error])),
        }
    }

    /// Adds an error that belongs to no one field.
    pub fn add_non_field(&mut self, error: impl Into<ValidationError>) {
        self.add(Self::NON_FIELD, error);
    }

    /// These errors and one more on `field`: for building the result of a
    /// model's `clean`.
    ///
    /// ```
    /// # use flagon_orm::ValidationErrors;
    /// let errors = ValidationErrors::new().with("end", "Ends before it starts.");
    /// assert!(errors.has("end"));
    /// ```
    #[must_use]
    pub fn with(mut self, field: impl Into<String>, error: impl Into<ValidationError>) -> Self {
        self.add(field, error);
        self
    }

    /// Adds every error of `other`.
    pub fn merge(&mut self, other: ValidationErrors) {
        for (field, errors) in other.entries {
            for error in errors {
                self.add(field.clone(), error);
            }
        }
    }

    /// The errors of field `field` (empty when it has none).
    pub fn field(&self, field: &str) -> &[ValidationError] {
        self.entries
            .iter()
            .find(|(name, _)| name == field)
            .map_or(&[], |(_, errors)| errors.as_slice())
    }

    /// The errors that belong to no one field.
    pub fn non_field(&self) -> &[ValidationError] {
        self.field(Self::NON_FIELD)
    }

    /// Whether field `field` has an error.
    pub fn has(&self, field: &str) -> bool {
        !self.field(field).is_empty()
    }

    /// The fields with errors and their errors, in the order they were
    /// added (non-field errors under [`ValidationErrors::NON_FIELD`]).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[ValidationError])> {
        self.entries
            .iter()
            .map(|(name, errors)| (name.as_str(), errors.as_slice()))
    }

    /// `Ok(())` when empty, else `Err(self)`.
    ///
    /// ```
    /// # use flagon_orm::ValidationErrors;
    /// assert!(ValidationErrors::new().into_result().is_ok());
    /// ```
    pub fn into_result(self) -> Result<(), ValidationErrors> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl From<ValidationError> for ValidationErrors {
    /// An error that belongs to no one field.
    fn from(error: ValidationError) -> Self {
        let mut errors = ValidationErrors::new();
        errors.add_non_field(error);
        errors
    }
}

impl From<String> for ValidationErrors {
    /// An error that belongs to no one field.
    fn from(message: String) -> Self {
        ValidationError::new(message).into()
    }
}

impl From<&str> for ValidationErrors {
    /// An error that belongs to no one field.
    fn from(message: &str) -> Self {
        ValidationError::new(message).into()
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (field, errors) in &self.entries {
            for error in errors {
                if !first {
                    f.write_str("; ")?;
                }
                first = false;
                if field == Self::NON_FIELD {
                    write!(f, "{}", error.message)?;
                } else {
                    write!(f, "{field}: {}", error.message)?;
                }
            }
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

impl Serialize for ValidationErrors {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (field, errors) in &self.entries {
            map.serialize_entry(field, errors)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ValidationErrors {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ErrorsVisitor;

        impl<'de> Visitor<'de> for ErrorsVisitor {
            type Value = ValidationErrors;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map from field names to lists of errors")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
                let mut errors = ValidationErrors::new();
                while let Some((field, list)) =
                    access.next_entry::<String, Vec<ValidationError>>()?
                {
                    for error in list {
                        errors.add(field.clone(), error);
                    }
                }
                Ok(errors)
            }
        }

        deserializer.deserialize_map(ErrorsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_their_order_and_group_by_field() {
        let mut errors = ValidationErrors::new();
        assert!(errors.is_empty());
        errors.add("b", "one");
        errors.add("a", "two");
        errors.add("b", ValidationError::new("three").with_code("odd"));
        let fields: Vec<_> = errors
            .iter()
            .map(|(name, list)| (name, list.len()))
            .collect();
        assert_eq!(fields, [("b", 2), ("a", 1)]);
        assert_eq!(errors.field("b")[1].code, "odd");
        assert!(errors.field("c").is_empty());
        assert_eq!(errors.to_string(), "b: one; b: three; a: two");
    }

    #[test]
    fn non_field_errors() {
        let errors: ValidationErrors = "Nope.".into();
        assert_eq!(errors.non_field()[0].message, "Nope.");
        assert_eq!(errors.to_string(), "Nope.");
        let mut merged = ValidationErrors::new().with("a", "x");
        merged.merge(errors);
        assert!(merged.has("a") && merged.has(ValidationErrors::NON_FIELD));
        assert!(merged.clone().into_result().is_err());
    }

    #[test]
    fn serde_round_trip() {
        let errors = ValidationErrors::new().with(
            "name",
            ValidationError::coded("blank", "This field cannot be blank."),
        );
        let json = serde_json::to_value(&errors).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"name": [{"message": "This field cannot be blank.", "code": "blank"}]})
        );
        let back: ValidationErrors = serde_json::from_value(json).unwrap();
        assert_eq!(back, errors);
        assert!(serde_json::from_str::<ValidationErrors>("[1]").is_err());
    }
}
