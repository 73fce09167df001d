//! Models: Rust structs mapped to tables, with the static metadata that
//! queries, migrations, forms and the admin read.

use std::any::Any;
use std::borrow::Cow;
use std::sync::Arc;

use crate::error::OrmError;
use crate::query::QuerySet;
use crate::relation::Relation;
use crate::row::Row;
use crate::value::FieldType;
use crate::value::Value;

/// The storage kind of a field, from which each backend picks a column type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FieldKind {
    /// 16-bit integer.
    SmallInteger,
    /// 32-bit integer.
    Integer,
    /// 64-bit integer.
    BigInteger,
    /// True or false.
    Boolean,
    /// 32-bit float.
    Float,
    /// 64-bit float.
    Double,
    /// Text with a maximum length in characters (`VARCHAR(n)`).
    String,
    /// Text of any length.
    Text,
    /// An instant in UTC.
    DateTime,
    /// A calendar date.
    Date,
    /// A time of day.
    Time,
    /// Raw bytes.
    Bytes,
    /// An exact decimal number with `max_digits` digits, `decimal_places`
    /// of them after the point ([`rust_decimal::Decimal`]).
    Decimal,
    /// A UUID (native on PostgreSQL, `char(36)` text elsewhere).
    Uuid,
    /// A JSON document (`jsonb` on PostgreSQL, `json` on MySQL/MariaDB,
    /// text on SQLite).
    Json,
}

/// A field's default value, written into the column's definition (so rows
/// inserted by raw SQL, and rows that exist when a migration adds the
/// column, get it too).
///
/// Set with `#[field(default = ..)]`; the literal's type must suit the
/// field's.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldDefault {
    /// An integer, for integer fields.
    Int(i64),
    /// A number, for float fields.
    Float(f64),
    /// A boolean, for boolean fields.
    Bool(bool),
    /// Text, for text fields.
    Str(Cow<'static, str>),
}

impl FieldDefault {
    /// Whether this default can be stored in a field of `kind`.
    ///
    /// ```
    /// use flagon_orm::{FieldDefault, FieldKind};
    /// assert!(FieldDefault::Int(0).fits(FieldKind::Integer));
    /// assert!(!FieldDefault::Bool(true).fits(FieldKind::Text));
    /// ```
    pub const fn fits(&self, kind: FieldKind) -> bool {
        match self {
            FieldDefault::Int(_) => matches!(
                kind,
                FieldKind::SmallInteger
                    | FieldKind::Integer
                    | FieldKind::BigInteger
                    | FieldKind::Float
                    | FieldKind::Double
                    | FieldKind::Decimal
            ),
            FieldDefault::Float(_) => {
                matches!(
                    kind,
                    FieldKind::Float | FieldKind::Double | FieldKind::Decimal
                )
            }
            FieldDefault::Bool(_) => matches!(kind, FieldKind::Boolean),
            FieldDefault::Str(_) => matches!(kind, FieldKind::String | FieldKind::Text),
        }
    }

    /// The default as a bound value.
    pub fn to_value(&self) -> Value {
        match self {
            FieldDefault::Int(value) => Value::BigInt(Some(*value)),
            FieldDefault::Float(value) => Value::Double(Some(*value)),
            FieldDefault::Bool(value) => Value::Bool(Some(*value)),
            FieldDefault::Str(value) => Value::String(Some(value.to_string())),
        }
    }
}

impl From<i64> for FieldDefault {
    fn from(value: i64) -> Self {
        FieldDefault::Int(value)
    }
}

impl From<i32> for FieldDefault {
    fn from(value: i32) -> Self {
        FieldDefault::Int(value.into())
    }
}

impl From<f64> for FieldDefault {
    fn from(value: f64) -> Self {
        FieldDefault::Float(value)
    }
}

impl From<bool> for FieldDefault {
    fn from(value: bool) -> Self {
        FieldDefault::Bool(value)
    }
}

impl From<&'static str> for FieldDefault {
    fn from(value: &'static str) -> Self {
        FieldDefault::Str(Cow::Borrowed(value))
    }
}

impl From<String> for FieldDefault {
    fn from(value: String) -> Self {
        FieldDefault::Str(Cow::Owned(value))
    }
}

/// One field of a model.
#[derive(Clone, Debug)]
pub struct FieldMeta {
    /// The Rust field name.
    pub name: &'static str,
    /// The column name (`db_column`, else the field name).
    pub column: &'static str,
    /// How the value is stored.
    pub kind: FieldKind,
    /// Whether NULL is allowed (`Option<T>`).
    pub null: bool,
    /// Whether this is the primary key.
    pub primary_key: bool,
    /// Whether the database assigns the value (auto-increment primary key).
    pub auto: bool,
    /// Whether values must be unique.
    pub unique: bool,
    /// Whether the column is indexed.
    pub index: bool,
    /// The maximum length of a `String` field, in characters.
    pub max_length: Option<u32>,
    /// The column's default value.
    pub default: Option<FieldDefault>,
    /// All the digits a `Decimal` field holds.
    pub max_digits: Option<u32>,
    /// The digits of a `Decimal` field after the point.
    pub decimal_places: Option<u32>,
    /// What a `ForeignKey` or `OneToOne` field points to.
    pub relation: Option<Relation>,
    /// A human name for forms and the admin.
    pub verbose_name: &'static str,
    /// Help text for forms and the admin.
    pub help_text: &'static str,
    /// Allowed values as `(value, label)` pairs; empty when free.
    /// [`full_clean`](crate::ModelExt::full_clean) refuses other values.
    pub choices: &'static [(&'static str, &'static str)],
    /// Whether validation allows an empty value (an empty string, a NULL):
    /// `#[field(blank)]`, and by default the `Option` fields. Django's
    /// `blank`.
    pub blank: bool,
    /// The checks `#[field(email, url, min = .., max = .., min_length = ..)]`
    /// declare (see [`crate::validation`]).
    pub validators: &'static [crate::validation::Validator],
    /// `#[field(auto_now)]`: set to now by every `save`, `insert` and
    /// `bulk_create` (and by `save_fields` when named). Not a column
    /// option: migrations do not see it.
    pub auto_now: bool,
    /// `#[field(auto_now_add)]`: set to now when the row is inserted
    /// (`save` of a new object, `insert`, `bulk_create`). Not a column
    /// option: migrations do not see it.
    pub auto_now_add: bool,
    /// Whether a query may leave the field unread: a
    /// [`Deferred`](crate::Deferred) field, which
    /// [`QuerySet::defer`](crate::QuerySet::defer) and
    /// [`QuerySet::only`](crate::QuerySet::only) skip.
    pub deferrable: bool,
}

impl FieldMeta {
    /// A field with the defaults: not null, not unique, no index.
    pub const fn new(name: &'static str, kind: FieldKind) -> FieldMeta {
        FieldMeta {
            name,
            column: name,
            kind,
            null: false,
            primary_key: false,
            auto: false,
            unique: false,
            index: false,
            max_length: None,
            default: None,
            max_digits: None,
            decimal_places: None,
            relation: None,
            verbose_name: name,
            help_text: "",
            choices: &[],
            blank: false,
            validators: &[],
            auto_now: false,
            auto_now_add: false,
            deferrable: false,
        }
    }
}

/// A named constraint of a model (`#[model(constraints = [..])]`): unique
/// over `fields` (among the rows `condition` selects, when there is one),
/// or a check that every row satisfy `condition`.
///
/// ```
/// use flagon_orm::Model;
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app = "shop", constraints = [
///     check(condition = "price >= 0", name = "shop_item_price_ok"),
/// ])]
/// struct Item { id: i64, price: i64 }
///
/// assert_eq!(Item::META.constraints[0].condition, Some("price >= 0"));
/// ```
///
/// A malformed condition is a compile error:
///
/// ```compile_fail
/// use flagon_orm::Model;
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app = "shop", constraints = [check(condition = "price >=", name = "c")])]
/// struct Item { id: i64, price: i64 }
/// ```
///
/// and so is one naming a field the model does not have:
///
/// ```compile_fail
/// use flagon_orm::Model;
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app = "shop", constraints = [check(condition = "cost >= 0", name = "c")])]
/// struct Item { id: i64, price: i64 }
/// ```
///
/// as is a `unique(..)` without fields or a constraint without a name:
///
/// ```compile_fail
/// use flagon_orm::Model;
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app = "shop", constraints = [unique(condition = "price > 0")])]
/// struct Item { id: i64, price: i64 }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConstraintMeta {
    /// The constraint's name in the database.
    pub name: &'static str,
    /// The fields of a unique constraint (none for a check).
    pub fields: &'static [&'static str],
    /// The condition, in the portable condition language over field names.
    pub condition: Option<&'static str>,
    /// Whether this is a check constraint.
    pub check: bool,
}

/// A model's table and fields.
#[derive(Clone, Copy, Debug)]
pub struct ModelMeta {
    /// The app (blueprint) the model belongs to.
    pub app: &'static str,
    /// The model's Rust name.
    pub name: &'static str,
    /// The table name (default `<app>_<model>` in lower case).
    pub table: &'static str,
    /// The fields in declaration order; the primary key is one of them.
    pub fields: &'static [FieldMeta],
    /// The default ordering as `(field, descending)`.
    pub ordering: &'static [(&'static str, bool)],
    /// Groups of fields whose values must be unique together.
    pub unique_together: &'static [&'static [&'static str]],
    /// Groups of fields indexed together (`#[model(indexes = [[..]])]`).
    pub indexes: &'static [&'static [&'static str]],
    /// Named unique (optionally conditional) and check constraints
    /// (`#[model(constraints = [..])]`).
    pub constraints: &'static [ConstraintMeta],
    /// The many-to-many fields (not columns: each has a table of pairs).
    pub many_to_many: &'static [crate::many_to_many::ManyToManyMeta],
}

impl ModelMeta {
    /// The primary key field.
    pub fn primary_key(&self) -> &'static FieldMeta {
        let fields: &'static [FieldMeta] = self.fields;
        &fields[self.primary_key_index()]
    }

    /// The position of the primary key among the fields (and so in
    /// [`crate::Model::values`] and in a decoded row).
    pub fn primary_key_index(&self) -> usize {
        self.fields
            .iter()
            .position(|field| field.primary_key)
            .unwrap_or(0)
    }

    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&'static FieldMeta> {
        let fields: &'static [FieldMeta] = self.fields;
        fields.iter().find(|field| field.name == name)
    }
}

/// A struct stored as a row of a table. Derive it with
/// `#[derive(Model)]`; implementing it by hand is possible but rarely needed.
pub trait Model: Sized + Send + Sync + Unpin + 'static {
    /// The model's metadata.
    const META: &'static ModelMeta;

    /// The type of the primary key (without the `Option` of an automatic
    /// key that is not assigned yet): what a [`ForeignKey`](crate::ForeignKey)
    /// to this model holds.
    type Key: FieldType + Clone + PartialEq + std::fmt::Debug + Default;

    /// The primary key (the type's default, such as 0, before an automatic
    /// key is assigned).
    fn key(&self) -> Self::Key;

    /// Decodes the model's fields from the columns of `row` starting at
    /// `offset` (in field order).
    fn from_row_at(row: &Row, offset: usize) -> Result<Self, OrmError>;

    /// Decodes a row whose columns are the model's fields in order.
    fn from_row(row: &Row) -> Result<Self, OrmError> {
        Self::from_row_at(row, 0)
    }

    /// Decodes the model from the columns of `row` starting at `offset`,
    /// where the [`Deferred`](crate::Deferred) fields named in `deferred`
    /// were left out of the select: their columns are absent, and they
    /// come back unread. With no names it is
    /// [`from_row_at`](Model::from_row_at). The derive writes it for models
    /// with `Deferred` fields; the default refuses to defer anything.
    fn from_row_deferring(row: &Row, offset: usize, deferred: &[&str]) -> Result<Self, OrmError> {
        if deferred.is_empty() {
            return Self::from_row_at(row, offset);
        }
        Err(OrmError::InvalidQuery {
            model: Self::META.name,
            message: format!(
                "{} cannot leave {deferred:?} unread: its derive saw no `Deferred<T>` field \
                 (write the type as `Deferred<..>`, not through an alias)",
                Self::META.name
            ),
        })
    }

    /// The fields whose values were not read, because the query that made
    /// the object deferred them (Django's `get_deferred_fields()`).
    fn deferred_fields(&self) -> Vec<&'static str> {
        Vec::new()
    }

    /// Replaces field `field` with column `index` of `row`; false if the
    /// model has no such field (a many-to-many field is none). What
    /// [`ModelExt::refresh_fields`](crate::ModelExt::refresh_fields) uses.
    fn load_field(&mut self, field: &str, row: &Row, index: usize) -> Result<bool, OrmError> {
        let _ = (field, row, index);
        Ok(false)
    }

    /// The values of the fields, in the order of [`ModelMeta::fields`].
    fn values(&self) -> Vec<Value>;

    /// The primary key's value (`Value::BigInt(None)` before an automatic
    /// key is assigned).
    fn pk(&self) -> Value;

    /// Stores the key the database assigned on insert.
    fn set_auto_pk(&mut self, id: i64);

    /// Sets the `auto_now` or `auto_now_add` field `field` to `now` (a
    /// `NaiveDate` field to its UTC date); false if `field` is not one.
    /// The derive writes it; `save`, `insert`, `save_fields` and
    /// `bulk_create` call it before writing.
    fn set_now(&mut self, field: &str, now: chrono::DateTime<chrono::Utc>) -> bool {
        let _ = (field, now);
        false
    }

    /// Keeps `object`, the row relation field `field` points to (what
    /// `select_related` loads); false if `field` is not such a field or
    /// `object` is not of its target model.
    fn set_related(&mut self, field: &str, object: Arc<dyn Any + Send + Sync>) -> bool {
        let _ = (field, object);
        false
    }

    /// Runs the functions `#[field(validators = [..])]` names for field
    /// `field` on its value, adding the errors they return to `errors`.
    /// The derive writes it; [`ModelExt::clean_fields`](crate::ModelExt::clean_fields)
    /// calls it for each field whose value is not empty and passed the
    /// `blank` and `choices` checks.
    fn run_validators(&self, field: &str, errors: &mut Vec<crate::ValidationError>) {
        let _ = (field, errors);
    }

    /// Checks across fields, Django's `Model.clean()`: the function
    /// `#[model(clean = path)]` names, or no check.
    /// [`ModelExt::full_clean`](crate::ModelExt::full_clean) calls it.
    fn clean(&self) -> Result<(), crate::ValidationErrors> {
        Ok(())
    }

    /// All rows of the model's table, as a lazy query set.
    fn objects() -> QuerySet<Self> {
        QuerySet::new()
    }
}
