//! The checks of each field's value, without a database: Django's
//! `Model.clean_fields()`.

use super::{ValidationError, ValidationErrors};
use crate::model::{FieldMeta, Model};
use crate::value::Value;

/// Whether `value` is empty, as Django's `empty_values`: a NULL, an empty
/// string, and for JSON fields `null`, `[]` and `{}`. A field that is not
/// `blank` refuses an empty value; validators never see one.
///
/// ```
/// use flagon_orm::validation::is_empty;
/// use flagon_orm::Value;
///
/// assert!(is_empty(&Value::from("")));
/// assert!(is_empty(&Value::String(None)));
/// assert!(!is_empty(&Value::from(0_i32)));
/// ```
pub fn is_empty(value: &Value) -> bool {
    match value {
        Value::String(Some(text)) => text.is_empty(),
        Value::Json(Some(json)) => match json.as_ref() {
            serde_json::Value::Null => true,
            serde_json::Value::Array(items) => items.is_empty(),
            serde_json::Value::Object(map) => map.is_empty(),
            _ => false,
        },
        other => crate::value::null_value_matches(other),
    }
}

/// A value as text, to compare with the values of `choices`; `None` for
/// kinds that choices do not apply to.
fn choice_text(value: &Value) -> Option<String> {
    Some(match value {
        Value::String(Some(text)) => text.clone(),
        Value::Bool(Some(flag)) => flag.to_string(),
        Value::TinyInt(Some(number)) => number.to_string(),
        Value::SmallInt(Some(number)) => number.to_string(),
        Value::Int(Some(number)) => number.to_string(),
        Value::BigInt(Some(number)) => number.to_string(),
        Value::Float(Some(number)) => number.to_string(),
        Value::Double(Some(number)) => number.to_string(),
        Value::Decimal(Some(number)) => number.to_string(),
        Value::Uuid(Some(uuid)) => uuid.to_string(),
        _ => return None,
    })
}

/// What checking one value found.
pub(crate) enum Checked {
    /// Empty, and the field may be blank: nothing more to check.
    Blank,
    /// Refused before any validator ran (blank, not a choice).
    Refused(ValidationError),
    /// What the validators refused (maybe nothing); validator functions
    /// run next.
    Validated(Vec<ValidationError>),
}

/// Checks `value` against `field` as Django's `Field.clean` does: an empty
/// value is skipped when the field is `blank` and refused otherwise, a
/// value not among the `choices` is refused, then every validator runs
/// (`max_length`, decimal digits, `email`, `url`, `min`, `max`,
/// `min_length`) and all their errors are kept.
pub(crate) fn check_field(field: &FieldMeta, value: &Value) -> Checked {
    let empty = is_empty(value);
    if empty && field.blank {
        return Checked::Blank;
    }
    if !empty && !field.choices.is_empty() {
        if let Some(text) = choice_text(value) {
            if !field.choices.iter().any(|(choice, _)| *choice == text) {
                let shown = match value {
                    Value::String(_) | Value::Uuid(_) => format!("'{text}'"),
                    _ => text,
                };
                return Checked::Refused(ValidationError::coded(
                    "invalid_choice",
                    format!("Value {shown} is not a valid choice."),
                ));
            }
        }
    }
    if empty {
        return Checked::Refused(ValidationError::coded(
            "blank",
            "This field cannot be blank.",
        ));
    }
    let mut errors = Vec::new();
    if let (Some(max), Value::String(Some(text))) = (field.max_length, value) {
        let length = text.chars().count();
        if length > max as usize {
            errors.push(ValidationError::coded(
                "max_length",
                format!("Ensure this value has at most {max} characters (it has {length})."),
            ));
        }
    }
    if let Value::Decimal(Some(number)) = value {
        if let Some((code, message)) =
            crate::instance::decimal_problem(*number, field.max_digits, field.decimal_places)
        {
            errors.push(ValidationError::coded(code, sentence(&message)));
        }
    }
    for validator in field.validators {
        if let Err(error) = validator.check(value) {
            errors.push(error);
        }
    }
    Checked::Validated(errors)
}

/// Checks `value` against `field`: blank, choices, `max_length`, decimal
/// digits and the declarative validators, everything `clean_fields` runs
/// on a field but the validator functions (which take the model's typed
/// value). For forms checking a submitted value before there is a model.
///
/// ```
/// use flagon_orm::validation::check_value;
/// use flagon_orm::{FieldKind, FieldMeta, Value};
///
/// let field = FieldMeta { max_length: Some(3), ..FieldMeta::new("code", FieldKind::String) };
/// assert!(check_value(&field, &Value::from("abc")).is_ok());
/// let errors = check_value(&field, &Value::from("")).unwrap_err();
/// assert_eq!(errors[0].code, "blank");
/// ```
pub fn check_value(field: &FieldMeta, value: &Value) -> Result<(), Vec<ValidationError>> {
    match check_field(field, value) {
        Checked::Blank => Ok(()),
        Checked::Refused(error) => Err(vec![error]),
        Checked::Validated(errors) if errors.is_empty() => Ok(()),
        Checked::Validated(errors) => Err(errors),
    }
}

/// `message` with a capital letter and a full stop, as Django words it.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// Django's `clean_fields(exclude)`: every field of `object` but those in
/// `exclude` and an automatic primary key, checked, then the validator
/// functions of the fields that passed the blank and choices checks.
/// Fields a query left unread are not checked (they are not written).
pub(crate) fn clean_fields<M: Model>(object: &M, exclude: &[&str]) -> ValidationErrors {
    let mut errors = ValidationErrors::new();
    let values = object.values();
    let unread = object.deferred_fields();
    for (field, value) in M::META.fields.iter().zip(&values) {
        if exclude.contains(&field.name)
            || unread.contains(&field.name)
            || (field.primary_key && field.auto)
        {
            continue;
        }
        match check_field(field, value) {
            Checked::Blank => {}
            Checked::Refused(error) => errors.add(field.name, error),
            Checked::Validated(mut found) => {
                object.run_validators(field.name, &mut found);
                for error in found {
                    errors.add(field.name, error);
                }
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FieldKind;
    use crate::validation::{Limit, Validator};

    fn field(kind: FieldKind) -> FieldMeta {
        FieldMeta::new("f", kind)
    }

    fn codes(field: &FieldMeta, value: Value) -> Vec<String> {
        match check_value(field, &value) {
            Ok(()) => Vec::new(),
            Err(errors) => errors.into_iter().map(|e| e.code.into_owned()).collect(),
        }
    }

    #[test]
    fn blank_decides_empty_values() {
        let text = field(FieldKind::String);
        assert_eq!(codes(&text, Value::from("")), ["blank"]);
        assert_eq!(codes(&text, Value::String(None)), ["blank"]);
        let blank = FieldMeta {
            blank: true,
            validators: &[Validator::Email, Validator::MinLength(3)],
            ..field(FieldKind::String)
        };
        assert!(codes(&blank, Value::from("")).is_empty());
        let json = field(FieldKind::Json);
        assert_eq!(codes(&json, Value::from(serde_json::json!({}))), ["blank"]);
        assert!(codes(&json, Value::from(serde_json::json!({"a": 1}))).is_empty());
        assert!(codes(&field(FieldKind::Integer), Value::from(0_i32)).is_empty());
    }

    #[test]
    fn choices_are_enforced_before_validators() {
        let status = FieldMeta {
            choices: &[("draft", "Draft"), ("live", "Live")],
            validators: &[Validator::MinLength(10)],
            ..field(FieldKind::String)
        };
        let errors = check_value(&status, &Value::from("gone")).unwrap_err();
        assert_eq!(errors[0].message, "Value 'gone' is not a valid choice.");
        assert_eq!(errors[0].code, "invalid_choice");
        assert_eq!(codes(&status, Value::from("live")), ["min_length"]);
        let level = FieldMeta {
            choices: &[("1", "Low"), ("2", "High")],
            ..field(FieldKind::Integer)
        };
        assert!(codes(&level, Value::from(2_i32)).is_empty());
        let errors = check_value(&level, &Value::from(3_i32)).unwrap_err();
        assert_eq!(errors[0].message, "Value 3 is not a valid choice.");
    }

    #[test]
    fn every_validator_error_is_kept() {
        let name = FieldMeta {
            max_length: Some(3),
            validators: &[Validator::Email, Validator::MinLength(5)],
            ..field(FieldKind::String)
        };
        assert_eq!(
            codes(&name, Value::from("abcd")),
            ["max_length", "invalid", "min_length"]
        );
        let errors = check_value(&name, &Value::from("abcd")).unwrap_err();
        assert_eq!(
            errors[0].message,
            "Ensure this value has at most 3 characters (it has 4)."
        );
        let price = FieldMeta {
            max_digits: Some(5),
            decimal_places: Some(2),
            validators: &[Validator::Min(Limit::Int(0))],
            ..field(FieldKind::Decimal)
        };
        let decimal = |text: &str| Value::Decimal(Some(text.parse().unwrap()));
        assert!(codes(&price, decimal("999.99")).is_empty());
        let errors = check_value(&price, &decimal("-1.005")).unwrap_err();
        assert_eq!(
            errors[0].message,
            "Ensure that there are no more than 2 decimal places (it has 3)."
        );
        assert_eq!(errors[0].code, "max_decimal_places");
        assert_eq!(errors[1].code, "min_value");
    }
}
