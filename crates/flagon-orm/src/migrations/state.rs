//! The schema as migrations see it: models, fields, indexes and unique
//! constraints as plain data, built either from the models' metadata (the
//! state the code wants) or by replaying migrations (the state the
//! database has).

use std::collections::BTreeMap;

use crate::model::{FieldDefault, FieldKind, FieldMeta, ModelMeta};
use crate::relation::OnDelete;

use super::error::MigrationError;
use super::operations::Operation;
use crate::condition_sql;

/// One field as migrations see it: what shapes its column. Labels (verbose
/// names, help texts, choices) are not part of it, so changing them needs
/// no migration.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldState {
    /// The field's name.
    pub name: String,
    /// The column's name.
    pub column: String,
    /// How the value is stored.
    pub kind: FieldKind,
    /// Whether NULL is allowed.
    pub null: bool,
    /// Whether this is the primary key.
    pub primary_key: bool,
    /// Whether the database assigns the value (auto-increment key).
    pub auto: bool,
    /// Whether values must be unique (a unique index).
    pub unique: bool,
    /// Whether the column has an index.
    pub index: bool,
    /// The maximum length of a `String` field.
    pub max_length: Option<u32>,
    /// The column's default.
    pub default: Option<FieldDefault>,
    /// All the digits of a `Decimal` field.
    pub max_digits: Option<u32>,
    /// The digits of a `Decimal` field after the point.
    pub decimal_places: Option<u32>,
    /// The model a foreign key points to.
    pub relation: Option<RelationState>,
}

/// The target of a foreign key, as migrations see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelationState {
    /// The target model's app.
    pub app: String,
    /// The target model's name.
    pub model: String,
    /// What the database does when the target row is deleted.
    pub on_delete: OnDelete,
}

impl FieldState {
    /// A not-null field stored in a column of the same name.
    ///
    /// ```
    /// use flagon_orm::migrations::FieldState;
    /// use flagon_orm::FieldKind;
    ///
    /// let field = FieldState::new("title", FieldKind::String).max_length(200).unique();
    /// assert_eq!(field.column, "title");
    /// ```
    pub fn new(name: impl Into<String>, kind: FieldKind) -> FieldState {
        let name = name.into();
        FieldState {
            column: name.clone(),
            name,
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
        }
    }

    /// Stores the field in column `column`.
    pub fn column(mut self, column: impl Into<String>) -> FieldState {
        self.column = column.into();
        self
    }

    /// Allows NULL.
    pub fn null(mut self) -> FieldState {
        self.null = true;
        self
    }

    /// Makes the field the primary key.
    pub fn primary_key(mut self) -> FieldState {
        self.primary_key = true;
        self
    }

    /// Lets the database assign the value (auto-increment).
    pub fn auto(mut self) -> FieldState {
        self.auto = true;
        self
    }

    /// Requires values to be unique.
    pub fn unique(mut self) -> FieldState {
        self.unique = true;
        self
    }

    /// Indexes the column.
    pub fn index(mut self) -> FieldState {
        self.index = true;
        self
    }

    /// Limits a `String` field to `length` characters.
    pub fn max_length(mut self, length: u32) -> FieldState {
        self.max_length = Some(length);
        self
    }

    /// Gives a `Decimal` field its digits: `max_digits` in all,
    /// `decimal_places` of them after the point.
    pub fn decimal(mut self, max_digits: u32, decimal_places: u32) -> FieldState {
        self.max_digits = Some(max_digits);
        self.decimal_places = Some(decimal_places);
        self
    }

    /// Makes the field a foreign key to model `model` of `app`.
    pub fn references(
        mut self,
        app: impl Into<String>,
        model: impl Into<String>,
        on_delete: OnDelete,
    ) -> FieldState {
        self.relation = Some(RelationState {
            app: app.into(),
            model: model.into(),
            on_delete,
        });
        self
    }

    /// Gives the column a default.
    pub fn default(mut self, value: impl Into<FieldDefault>) -> FieldState {
        self.default = Some(value.into());
        self
    }

    /// The state of a model field.
    pub fn from_meta(field: &FieldMeta) -> FieldState {
        if let Some(relation) = &field.relation {
            // The column holds the target's key, and has its type.
            let target = (relation.target)();
            let key = target.primary_key();
            return FieldState {
                kind: key.kind,
                max_length: key.max_length,
                max_digits: key.max_digits,
                decimal_places: key.decimal_places,
                relation: Some(RelationState {
                    app: target.app.to_owned(),
                    model: target.name.to_owned(),
                    on_delete: relation.on_delete,
                }),
                ..FieldState::from_meta(&FieldMeta {
                    relation: None,
                    ..field.clone()
                })
            };
        }
        FieldState {
            name: field.name.to_owned(),
            column: field.column.to_owned(),
            kind: field.kind,
            null: field.null,
            primary_key: field.primary_key,
            auto: field.auto,
            unique: field.unique && !field.primary_key,
            index: field.index && !field.unique && !field.primary_key,
            max_length: field.max_length,
            default: field.default.clone(),
            max_digits: field.max_digits,
            decimal_places: field.decimal_places,
            relation: None,
        }
    }

    /// The same field under another name: the column follows the name
    /// unless it was set apart from it.
    pub(crate) fn renamed(&self, new_name: &str) -> FieldState {
        let mut field = self.clone();
        if field.column == field.name {
            field.column = new_name.to_owned();
        }
        field.name = new_name.to_owned();
        field
    }

    /// Whether the two differ only in name (and a column that follows it).
    pub(crate) fn same_definition(&self, other: &FieldState) -> bool {
        let follows = |field: &FieldState| field.column == field.name;
        let mut renamed = other.clone();
        renamed.name = self.name.clone();
        if follows(self) && follows(other) {
            renamed.column = self.column.clone();
        }
        renamed == *self
    }
}

/// A (non-unique) index over several fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexState {
    /// The index's name in the database.
    pub name: String,
    /// The fields, by name, in index order.
    pub fields: Vec<String>,
}

impl IndexState {
    /// An index called `name` over `fields`.
    pub fn new(name: impl Into<String>, fields: &[&str]) -> IndexState {
        IndexState {
            name: name.into(),
            fields: fields.iter().map(|&field| field.to_owned()).collect(),
        }
    }
}

/// A constraint on a model's rows: that the values of several fields be
/// unique together (optionally only among the rows a condition selects: a
/// partial unique index), or that each row satisfy a check condition.
///
/// Conditions are written in a small portable SQL language over field
/// names (see the guide's "Constraints" section): comparisons, `AND`,
/// `OR`, `NOT`, `IS [NOT] NULL`, `IN (..)`, arithmetic and literals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConstraintState {
    /// The constraint's name in the database (a unique constraint is a
    /// unique index).
    pub name: String,
    /// The fields, by name, of a unique constraint (none for a check).
    pub fields: Vec<String>,
    /// A unique constraint's condition (which rows it applies to), or the
    /// condition a check constraint requires of every row.
    pub condition: Option<String>,
    /// Whether this is a check constraint rather than a unique one.
    pub check: bool,
}

impl ConstraintState {
    /// A unique constraint called `name` over `fields`.
    pub fn unique(name: impl Into<String>, fields: &[&str]) -> ConstraintState {
        ConstraintState {
            name: name.into(),
            fields: fields.iter().map(|&field| field.to_owned()).collect(),
            condition: None,
            check: false,
        }
    }

    /// A check constraint called `name`: every row must satisfy `condition`.
    ///
    /// ```
    /// use flagon_orm::migrations::ConstraintState;
    ///
    /// let check = ConstraintState::check("price_positive", "price >= 0");
    /// assert!(check.check && check.fields.is_empty());
    /// ```
    pub fn check(name: impl Into<String>, condition: impl Into<String>) -> ConstraintState {
        ConstraintState {
            name: name.into(),
            fields: Vec::new(),
            condition: Some(condition.into()),
            check: true,
        }
    }

    /// Limits a unique constraint to the rows that satisfy `condition`
    /// (a partial unique index; not available on MySQL/MariaDB).
    ///
    /// ```
    /// use flagon_orm::migrations::ConstraintState;
    ///
    /// let unique = ConstraintState::unique("one_live_slug", &["user", "slug"])
    ///     .condition("deleted = FALSE");
    /// assert_eq!(unique.condition.as_deref(), Some("deleted = FALSE"));
    /// ```
    pub fn condition(mut self, condition: impl Into<String>) -> ConstraintState {
        self.condition = Some(condition.into());
        self
    }

    /// Every field the constraint uses: its fields, then its condition's.
    pub(crate) fn used_fields(&self) -> Vec<String> {
        let mut out = self.fields.clone();
        if let Some(tokens) = self
            .condition
            .as_deref()
            .and_then(|c| condition_sql::parse(c).ok())
        {
            for name in condition_sql::fields(&tokens) {
                if !out.iter().any(|field| field == name) {
                    out.push(name.to_owned());
                }
            }
        }
        out
    }

    /// Whether the constraint uses field `name`.
    pub(crate) fn uses(&self, name: &str) -> bool {
        self.used_fields().iter().any(|field| field == name)
    }

    /// Follows the renaming of field `old` to `new`.
    pub(crate) fn rename_field(&mut self, old: &str, new: &str) {
        for name in self.fields.iter_mut().filter(|name| *name == old) {
            new.clone_into(name);
        }
        if let Some(condition) = &mut self.condition {
            if let Ok(tokens) = condition_sql::parse(condition) {
                *condition = condition_sql::render(&tokens, &mut |name| {
                    if name == old { new } else { name }.to_owned()
                });
            }
        }
    }

    /// The condition rendered for `dialect`, its fields as quoted columns
    /// of `model`; `None` without one.
    pub(crate) fn condition_sql(
        &self,
        model: &ModelState,
        dialect: crate::backends::Dialect,
    ) -> Result<Option<String>, MigrationError> {
        let Some(condition) = &self.condition else {
            return Ok(None);
        };
        let tokens = condition_sql::parse(condition).map_err(|err| {
            MigrationError::invalid(format!(
                "constraint `{}`: malformed condition `{condition}`: {err}",
                self.name
            ))
        })?;
        Ok(Some(condition_sql::render(&tokens, &mut |name| {
            super::ddl::quote(dialect, model.column_of(name))
        })))
    }

    /// Fails unless the constraint is well formed for `model`: a unique
    /// one names fields, a check one has a condition, and conditions parse
    /// and name only `model`'s fields.
    pub(crate) fn validate(&self, model: &ModelState) -> Result<(), MigrationError> {
        if self.check {
            if !self.fields.is_empty() || self.condition.is_none() {
                return Err(MigrationError::invalid(format!(
                    "check constraint `{}` needs a condition and no fields",
                    self.name
                )));
            }
        } else {
            check_fields(model, &self.fields, &self.name)?;
        }
        if let Some(condition) = &self.condition {
            let tokens = condition_sql::parse(condition).map_err(|err| {
                MigrationError::invalid(format!(
                    "constraint `{}`: malformed condition `{condition}`: {err}",
                    self.name
                ))
            })?;
            let names: Vec<String> = condition_sql::fields(&tokens)
                .into_iter()
                .map(str::to_owned)
                .collect();
            check_fields(model, &names, &self.name)?;
        }
        Ok(())
    }
}

/// One model as migrations see it.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelState {
    /// The app the model belongs to.
    pub app: String,
    /// The model's name.
    pub name: String,
    /// Its table.
    pub table: String,
    /// Its fields, in column order.
    pub fields: Vec<FieldState>,
    /// Indexes over several fields.
    pub indexes: Vec<IndexState>,
    /// Unique constraints over several fields, and check constraints.
    pub constraints: Vec<ConstraintState>,
}

impl ModelState {
    /// A model of `app` stored in `table`, with no fields yet.
    pub fn new(app: impl Into<String>, name: impl Into<String>, table: impl Into<String>) -> Self {
        ModelState {
            app: app.into(),
            name: name.into(),
            table: table.into(),
            fields: Vec::new(),
            indexes: Vec::new(),
            constraints: Vec::new(),
        }
    }

    /// Adds a field.
    pub fn field(mut self, field: FieldState) -> Self {
        self.fields.push(field);
        self
    }

    /// Adds an index.
    pub fn index(mut self, index: IndexState) -> Self {
        self.indexes.push(index);
        self
    }

    /// Adds a constraint.
    pub fn constraint(mut self, constraint: ConstraintState) -> Self {
        self.constraints.push(constraint);
        self
    }

    /// The state of a model, from its metadata.
    pub fn from_meta(meta: &ModelMeta) -> ModelState {
        let columns = |names: &[&str]| -> Vec<String> {
            names
                .iter()
                .map(|name| {
                    meta.field(name)
                        .map_or(*name, |field| field.column)
                        .to_owned()
                })
                .collect()
        };
        let owned = |names: &[&str]| names.iter().map(|&name| name.to_owned()).collect();
        ModelState {
            app: meta.app.to_owned(),
            name: meta.name.to_owned(),
            table: meta.table.to_owned(),
            fields: meta.fields.iter().map(FieldState::from_meta).collect(),
            indexes: meta
                .indexes
                .iter()
                .map(|group| IndexState {
                    name: index_name(meta.table, &columns(group), "idx"),
                    fields: owned(group),
                })
                .collect(),
            constraints: meta
                .unique_together
                .iter()
                .map(|group| ConstraintState {
                    name: index_name(meta.table, &columns(group), "uniq"),
                    fields: owned(group),
                    condition: None,
                    check: false,
                })
                .chain(meta.constraints.iter().map(|constraint| ConstraintState {
                    name: constraint.name.to_owned(),
                    fields: owned(constraint.fields),
                    condition: constraint.condition.map(str::to_owned),
                    check: constraint.check,
                }))
                .collect(),
        }
    }

    /// The field called `name`.
    pub fn get_field(&self, name: &str) -> Option<&FieldState> {
        self.fields.iter().find(|field| field.name == name)
    }

    /// The column of field `name` (the name itself if there is no such field).
    pub(crate) fn column_of<'a>(&'a self, name: &'a str) -> &'a str {
        self.get_field(name)
            .map_or(name, |field| field.column.as_str())
    }

    /// The field foreign keys to this model point to: its primary key (the
    /// first field when none is marked).
    pub fn key_field(&self) -> Option<&FieldState> {
        self.fields
            .iter()
            .find(|field| field.primary_key)
            .or_else(|| self.fields.first())
    }

    /// The default table name of a model of `app` called `name`.
    pub fn default_table(app: &str, name: &str) -> String {
        format!("{app}_{}", name.to_lowercase())
    }

    /// The field `name`, to change, or an error naming it.
    pub(crate) fn field_mut(&mut self, name: &str) -> Result<&mut FieldState, MigrationError> {
        let model = self.name.clone();
        self.fields
            .iter_mut()
            .find(|field| field.name == name)
            .ok_or_else(|| MigrationError::invalid(format!("model {model} has no field `{name}`")))
    }
}

/// The name of an index or unique constraint over `columns` of `table`,
/// short enough for every backend (PostgreSQL keeps 63 bytes, MySQL 64).
///
/// ```
/// use flagon_orm::migrations::index_name;
/// assert_eq!(index_name("polls_choice", &["question_id".into()], "idx"), "polls_choice_question_id_idx");
/// assert!(index_name(&"t".repeat(80), &["c".into()], "idx").len() <= 60);
/// ```
pub fn index_name(table: &str, columns: &[String], suffix: &str) -> String {
    const LIMIT: usize = 60;
    let name = format!("{table}_{}_{suffix}", columns.join("_"));
    if name.len() <= LIMIT {
        return name;
    }
    // FNV-1a: stable across builds and platforms, unlike std's hasher.
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    let keep = LIMIT - 10 - suffix.len();
    let mut cut = keep;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}_{:08x}_{suffix}", &name[..cut], hash as u32)
}

/// The name of the index a field's `index` or `unique` flag creates.
pub(crate) fn field_index_name(table: &str, column: &str, unique: bool) -> String {
    index_name(
        table,
        &[column.to_owned()],
        if unique { "uniq" } else { "idx" },
    )
}

/// Every model of every app, keyed by `(app, model name)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProjectState {
    /// The models.
    pub models: BTreeMap<(String, String), ModelState>,
}

impl ProjectState {
    /// An empty project.
    pub fn new() -> Self {
        ProjectState::default()
    }

    /// The state the given models' metadata describe, with the through
    /// tables made for their many-to-many fields.
    pub fn from_models<'a>(models: impl IntoIterator<Item = &'a ModelMeta>) -> Self {
        let mut state = ProjectState::new();
        for meta in models {
            state.add_model(ModelState::from_meta(meta));
            for field in meta
                .many_to_many
                .iter()
                .filter(|field| field.through.is_none())
            {
                state.add_model(auto_through(meta, field));
            }
        }
        state
    }

    /// Adds (or replaces) a model.
    pub fn add_model(&mut self, model: ModelState) {
        self.models
            .insert((model.app.clone(), model.name.clone()), model);
    }

    /// The model `name` of `app`.
    pub fn model(&self, app: &str, name: &str) -> Option<&ModelState> {
        self.models.get(&(app.to_owned(), name.to_owned()))
    }

    /// The model `name` of `app`, or an error naming it.
    pub(crate) fn expect_model(
        &self,
        app: &str,
        name: &str,
    ) -> Result<&ModelState, MigrationError> {
        self.model(app, name).ok_or_else(|| {
            MigrationError::invalid(format!("there is no model {app}.{name} at this point"))
        })
    }

    /// Gives every foreign key to model `name` of `app` the type of `key`,
    /// that model's key, as the schema editor changes their columns along
    /// with it.
    pub(crate) fn follow_key_type(&mut self, app: &str, name: &str, key: &FieldState) {
        for model in self.models.values_mut() {
            for field in &mut model.fields {
                let points_here = field
                    .relation
                    .as_ref()
                    .is_some_and(|relation| relation.app == app && relation.model == name);
                if points_here {
                    field.kind = key.kind;
                    field.max_length = key.max_length;
                    field.max_digits = key.max_digits;
                    field.decimal_places = key.decimal_places;
                }
            }
        }
    }

    /// The model `name` of `app`, to change, or an error naming it.
    pub(crate) fn model_mut(
        &mut self,
        app: &str,
        name: &str,
    ) -> Result<&mut ModelState, MigrationError> {
        self.models
            .get_mut(&(app.to_owned(), name.to_owned()))
            .ok_or_else(|| {
                MigrationError::invalid(format!("there is no model {app}.{name} at this point"))
            })
    }

    /// Applies `operation` of a migration of `app` to the state.
    pub fn apply(&mut self, app: &str, operation: &Operation) -> Result<(), MigrationError> {
        operation.state_forwards(app, self)
    }
}

/// Fails unless `fields` names at least one field, each one of `model`'s;
/// `what` is the index or constraint that names them.
pub(crate) fn check_fields(
    model: &ModelState,
    fields: &[String],
    what: &str,
) -> Result<(), MigrationError> {
    match fields.iter().find(|name| model.get_field(name).is_none()) {
        Some(name) => Err(MigrationError::invalid(format!(
            "`{what}` names field `{name}`, which model {} does not have",
            model.name
        ))),
        None if fields.is_empty() => {
            Err(MigrationError::invalid(format!("`{what}` names no fields")))
        }
        None => Ok(()),
    }
}

/// The model of the through table made for a many-to-many field: a key,
/// a foreign key to each side (deleted with either), unique together.
fn auto_through(meta: &ModelMeta, field: &crate::many_to_many::ManyToManyMeta) -> ModelState {
    let target = (field.target)();
    let side = |column: &str, model: &ModelMeta| {
        let key = model.primary_key();
        let mut state = FieldState::new(column.trim_end_matches("_id"), key.kind)
            .column(column)
            .index()
            .references(model.app, model.name, OnDelete::Cascade);
        state.max_length = key.max_length;
        state
    };
    let source = side(field.source_column, meta);
    let target_field = side(field.target_column, target);
    let names = [source.name.clone(), target_field.name.clone()];
    let columns = [source.column.clone(), target_field.column.clone()];
    ModelState::new(
        meta.app,
        format!("{}_{}", meta.name, field.name),
        field.table,
    )
    .field(
        FieldState::new("id", FieldKind::BigInteger)
            .primary_key()
            .auto(),
    )
    .field(source)
    .field(target_field)
    .constraint(ConstraintState {
        name: index_name(field.table, &columns, "uniq"),
        fields: names.to_vec(),
        condition: None,
        check: false,
    })
}
