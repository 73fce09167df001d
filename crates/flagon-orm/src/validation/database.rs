//! The checks that read the database: foreign keys that point to a row,
//! `unique` fields and `unique_together` groups (Django's
//! `validate_unique`), named constraints (`validate_constraints`), and
//! `full_clean`, which runs every check.

use sea_query::{Expr, ExprTrait, Query};

use super::fields::clean_fields;
use super::{ValidationError, ValidationErrors};
use crate::backends;
use crate::connection::Connection;
use crate::error::OrmError;
use crate::instance::is_unsaved_key;
use crate::model::{FieldMeta, Model};
use crate::query::condition::Condition;
use crate::value::{null_value_matches, Value};

/// Django's `capfirst`.
fn capfirst(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Django's `get_text_list(items, "and")`: `A`, `A and B`, `A, B and C`.
fn text_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The condition that leaves out `object`'s own row: none for an object
/// with an automatic key not yet assigned (it has no row).
fn other_rows<M: Model>(object: &M) -> Option<Condition<M>> {
    let pk_field = M::META.primary_key();
    let pk = object.pk();
    if pk_field.auto && is_unsaved_key(&pk) {
        return None;
    }
    Some(!Condition::column_eq(pk_field.column, pk))
}

/// The fields of `group` with their values, or `None` when a field is
/// skipped or its value is NULL (NULLs never collide, in SQL or Django).
fn group_values<'a, M: Model>(
    group: &[&str],
    values: &'a [Value],
    skip: &[String],
) -> Option<Vec<(&'static FieldMeta, &'a Value)>> {
    group
        .iter()
        .map(|name| {
            if skip.iter().any(|skipped| skipped == name) {
                return None;
            }
            let index = M::META.fields.iter().position(|f| f.name == *name)?;
            let value = values.get(index)?;
            (!null_value_matches(value)).then_some((&M::META.fields[index], value))
        })
        .collect()
}

/// `skip` and the fields of `object` a query left unread: those are not
/// written, so nothing about them is checked.
fn with_unread<M: Model>(object: &M, skip: &[String]) -> Vec<String> {
    skip.iter()
        .cloned()
        .chain(object.deferred_fields().into_iter().map(str::to_owned))
        .collect()
}

/// Django's error for a group of fields whose values another row holds:
/// "<Model> with this <A> and <B> already exists."
fn unique_together_error<M: Model>(pairs: &[(&'static FieldMeta, &Value)]) -> ValidationError {
    let labels: Vec<String> = pairs
        .iter()
        .map(|(field, _)| capfirst(field.verbose_name))
        .collect();
    ValidationError::coded(
        "unique_together",
        format!(
            "{} with this {} already exists.",
            M::META.name,
            text_list(&labels)
        ),
    )
}

/// Whether another row than `object`'s holds these values.
async fn taken<M: Model, C: Connection + ?Sized>(
    object: &M,
    db: &C,
    pairs: &[(&'static FieldMeta, &Value)],
) -> Result<bool, OrmError> {
    let mut query = M::objects();
    for (field, value) in pairs {
        query = query.filter(Condition::column_eq(field.column, (*value).clone()));
    }
    if let Some(others) = other_rows(object) {
        query = query.filter(others);
    }
    query.exists(db).await
}

/// Django's `validate_unique(exclude)`: each `unique` field and each
/// `unique_together` group whose values another row already holds, the
/// row of `object` itself left out (by its primary key, once it has one).
/// Groups with a field in `skip`, a field left unread, or a NULL value
/// are not checked.
pub(crate) async fn validate_unique<M: Model, C: Connection + ?Sized>(
    object: &M,
    db: &C,
    skip: &[String],
) -> Result<ValidationErrors, OrmError> {
    let mut errors = ValidationErrors::new();
    let values = object.values();
    let skip = &with_unread(object, skip);
    for field in M::META.fields {
        // The primary key is unique, but leaving out the object's own row
        // leaves nothing to compare it with: see `ModelExt::validate_unique`.
        if !field.unique || field.primary_key {
            continue;
        }
        let Some(pairs) = group_values::<M>(&[field.name], &values, skip) else {
            continue;
        };
        if taken(object, db, &pairs).await? {
            errors.add(
                field.name,
                ValidationError::coded(
                    "unique",
                    format!(
                        "{} with this {} already exists.",
                        M::META.name,
                        capfirst(field.verbose_name)
                    ),
                ),
            );
        }
    }
    for group in M::META.unique_together {
        let Some(pairs) = group_values::<M>(group, &values, skip) else {
            continue;
        };
        if taken(object, db, &pairs).await? {
            errors.add_non_field(unique_together_error::<M>(&pairs));
        }
    }
    Ok(errors)
}

/// The placeholder of the `n`th value (from 1) on `dialect`.
fn placeholder(dialect: crate::backends::Dialect, n: usize) -> String {
    match dialect {
        crate::backends::Dialect::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    }
}

/// `condition` of `constraint` as SQL with placeholders after the
/// `values` already bound: each field by `field` (a placeholder bound to a
/// value, or a quoted column), each string bound too.
fn bound_condition(
    dialect: crate::backends::Dialect,
    values: &mut Vec<Value>,
    model: &'static str,
    constraint: &crate::model::ConstraintMeta,
    condition: &str,
    field: &mut dyn FnMut(&str, &mut Vec<Value>) -> String,
) -> Result<String, OrmError> {
    let tokens = crate::condition_sql::parse(condition).map_err(|err| OrmError::InvalidQuery {
        model,
        message: format!("constraint `{}`: {err}", constraint.name),
    })?;
    let values_ref = std::cell::RefCell::new(values);
    let sql = crate::condition_sql::render_bound(
        &tokens,
        &mut |name| field(name, &mut values_ref.borrow_mut()),
        &mut |text| {
            let mut values = values_ref.borrow_mut();
            values.push(Value::String(Some(text.to_owned())));
            placeholder(dialect, values.len())
        },
    );
    Ok(sql)
}

/// What `condition` gives for `object`'s values: `Some(true)`,
/// `Some(false)`, or `None` when unknown (NULL).
async fn evaluate<M: Model, C: Connection + ?Sized>(
    object: &M,
    db: &C,
    constraint: &crate::model::ConstraintMeta,
    condition: &str,
) -> Result<Option<bool>, OrmError> {
    let dialect = db.dialect();
    let values = object.values();
    let mut bound = Vec::new();
    let sql = bound_condition(
        dialect,
        &mut bound,
        M::META.name,
        constraint,
        condition,
        &mut |name, bound| {
            let value = M::META
                .fields
                .iter()
                .position(|f| f.name == name)
                .and_then(|index| values.get(index).cloned())
                .unwrap_or(Value::String(None));
            bound.push(value);
            placeholder(dialect, bound.len())
        },
    )?;
    let sql = format!("SELECT CASE WHEN ({sql}) THEN 1 WHEN NOT ({sql}) THEN 0 ELSE 2 END");
    // The condition is written twice: bind its values twice.
    let (sql, bound) = if dialect == crate::backends::Dialect::Postgres {
        (sql, bound)
    } else {
        let twice = bound.iter().chain(&bound).cloned().collect();
        (sql, twice)
    };
    let rows = db.fetch_all(&sql, sea_query::Values(bound)).await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let outcome = match row.get::<i64>(0) {
        Ok(value) => value,
        Err(_) => i64::from(row.get::<i32>(0)?),
    };
    Ok(match outcome {
        1 => Some(true),
        0 => Some(false),
        _ => None,
    })
}

/// Django's `validate_constraints(exclude)`: each check constraint whose
/// condition `object` makes false, and each conditional unique constraint
/// that `object` falls under while another row under it holds the same
/// values. Constraints using a field in `skip`, and unique ones with a
/// NULL value, are not checked; nor those using a field left unread.
pub(crate) async fn validate_constraints<M: Model, C: Connection + ?Sized>(
    object: &M,
    db: &C,
    skip: &[String],
) -> Result<ValidationErrors, OrmError> {
    let skip = &with_unread(object, skip);
    let mut errors = ValidationErrors::new();
    let values = object.values();
    let violated = |name: &str| {
        ValidationError::coded(
            "constraint",
            format!("Constraint \u{201c}{name}\u{201d} is violated."),
        )
    };
    for constraint in M::META.constraints {
        let used = condition_fields(constraint);
        if used.iter().any(|name| skip.iter().any(|s| s == name)) {
            continue;
        }
        let Some(condition) = constraint.condition else {
            // A plain named unique constraint: as a `unique_together` group.
            let Some(pairs) = group_values::<M>(constraint.fields, &values, skip) else {
                continue;
            };
            if taken(object, db, &pairs).await? {
                errors.add_non_field(unique_together_error::<M>(&pairs));
            }
            continue;
        };
        if constraint.check {
            if evaluate(object, db, constraint, condition).await? == Some(false) {
                errors.add_non_field(violated(constraint.name));
            }
            continue;
        }
        let Some(pairs) = group_values::<M>(constraint.fields, &values, skip) else {
            continue;
        };
        // The object must fall under the condition (true, not unknown).
        if evaluate(object, db, constraint, condition).await? != Some(true) {
            continue;
        }
        let dialect = db.dialect();
        let quote = |column: &str| crate::migrations::ddl::quote(dialect, column);
        let mut bound = Vec::new();
        let mut wheres = Vec::new();
        for (field, value) in &pairs {
            bound.push((*value).clone());
            wheres.push(format!(
                "{} = {}",
                quote(field.column),
                placeholder(dialect, bound.len())
            ));
        }
        let pk_field = M::META.primary_key();
        let pk = object.pk();
        if !(pk_field.auto && is_unsaved_key(&pk)) {
            bound.push(pk);
            wheres.push(format!(
                "{} <> {}",
                quote(pk_field.column),
                placeholder(dialect, bound.len())
            ));
        }
        let sql = bound_condition(
            dialect,
            &mut bound,
            M::META.name,
            constraint,
            condition,
            &mut |name, _| quote(M::META.field(name).map_or(name, |field| field.column)),
        )?;
        wheres.push(format!("({sql})"));
        let sql = format!(
            "SELECT 1 FROM {} WHERE {} LIMIT 1",
            quote(M::META.table),
            wheres.join(" AND ")
        );
        if !db
            .fetch_all(&sql, sea_query::Values(bound))
            .await?
            .is_empty()
        {
            errors.add_non_field(violated(constraint.name));
        }
    }
    Ok(errors)
}

/// The fields a constraint uses: its own, then its condition's.
fn condition_fields(constraint: &crate::model::ConstraintMeta) -> Vec<String> {
    let mut out: Vec<String> = constraint.fields.iter().map(|f| (*f).to_owned()).collect();
    if let Some(tokens) = constraint
        .condition
        .and_then(|condition| crate::condition_sql::parse(condition).ok())
    {
        out.extend(
            crate::condition_sql::fields(&tokens)
                .into_iter()
                .map(str::to_owned),
        );
    }
    out
}

/// What Django's `ForeignKey.validate` checks: each relation field not in
/// `skip` that holds a key points to a row of its model.
async fn validate_related<M: Model, C: Connection + ?Sized>(
    object: &M,
    db: &C,
    skip: &[String],
) -> Result<ValidationErrors, OrmError> {
    let mut errors = ValidationErrors::new();
    let values = object.values();
    for (field, value) in M::META.fields.iter().zip(&values) {
        let Some(relation) = field.relation else {
            continue;
        };
        if skip.iter().any(|name| name == field.name) || null_value_matches(value) {
            continue;
        }
        let target = (relation.target)();
        let key = target.primary_key();
        let query = Query::select()
            .expr(Expr::val(1))
            .from(target.table)
            .and_where(Expr::col(key.column).eq(value.clone()))
            .limit(1)
            .to_owned();
        let (sql, bound) = backends::build(db.dialect(), &query)?;
        if db.fetch_all(&sql, bound).await?.is_empty() {
            errors.add(
                field.name,
                ValidationError::coded(
                    "invalid",
                    format!(
                        "{} instance with {} {} does not exist.",
                        target.name,
                        key.name,
                        shown(value)
                    ),
                ),
            );
        }
    }
    Ok(errors)
}

/// A key as Django's `%r` shows it.
fn shown(value: &Value) -> String {
    match value {
        Value::String(Some(text)) => format!("'{text}'"),
        Value::Uuid(Some(uuid)) => format!("'{uuid}'"),
        Value::SmallInt(Some(number)) => number.to_string(),
        Value::Int(Some(number)) => number.to_string(),
        Value::BigInt(Some(number)) => number.to_string(),
        other => format!("{other:?}"),
    }
}

/// The names to skip: those excluded, and the fields that already have an
/// error (Django checks uniqueness only of values that passed).
fn skipped(exclude: &[&str], errors: &ValidationErrors) -> Vec<String> {
    exclude
        .iter()
        .map(|name| (*name).to_owned())
        .chain(
            errors
                .iter()
                .map(|(name, _)| name)
                .filter(|name| *name != ValidationErrors::NON_FIELD)
                .map(str::to_owned),
        )
        .collect()
}

/// Django's `full_clean(exclude)`: the fields, then foreign keys, then the
/// model's `clean` (which runs even when fields failed, as Django's does),
/// then the unique checks of the fields without errors. Every error found
/// is reported at once.
pub(crate) async fn full_clean<M: Model, C: Connection + ?Sized>(
    object: &M,
    db: &C,
    exclude: &[&str],
) -> Result<(), OrmError> {
    let mut errors = clean_fields(object, exclude);
    let related = validate_related(object, db, &skipped(exclude, &errors)).await?;
    errors.merge(related);
    if let Err(found) = object.clean() {
        errors.merge(found);
    }
    let unique = validate_unique(object, db, &skipped(exclude, &errors)).await?;
    errors.merge(unique);
    let constraints = validate_constraints(object, db, &skipped(exclude, &errors)).await?;
    errors.merge(constraints);
    errors.into_result().map_err(OrmError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_as_django_writes_them() {
        assert_eq!(capfirst("room number"), "Room number");
        assert_eq!(capfirst(""), "");
        let labels =
            |items: &[&str]| text_list(&items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert_eq!(labels(&["Room"]), "Room");
        assert_eq!(labels(&["Room", "Day"]), "Room and Day");
        assert_eq!(labels(&["Room", "Day", "Slot"]), "Room, Day and Slot");
    }
}
