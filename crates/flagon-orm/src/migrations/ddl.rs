//! The schema editor: the SQL each operation runs on each backend.
//!
//! Every index a field's `index` or `unique` flag creates is named from its
//! table and column (see [`field_index_name`]), and kept so: an operation
//! that renames the table or column drops and recreates those indexes.
//! SQLite cannot alter or drop most columns, so there a changed table is
//! rebuilt in the migration's transaction: created anew, filled from the
//! old one, which is then dropped, and renamed into place.

use std::collections::HashMap;

use crate::backends::Dialect;
use crate::model::{FieldDefault, FieldKind};

use super::error::MigrationError;
use super::operations::RustFn;
use super::state::{field_index_name, ConstraintState, FieldState, ModelState, ProjectState};

/// One thing a migration runs.
#[derive(Clone, Debug)]
pub enum Step {
    /// A SQL statement.
    Sql(String),
    /// Rust code (a data migration).
    Rust(RustStep),
}

/// A data migration's function, as a step.
#[derive(Clone, Copy)]
pub struct RustStep(pub RustFn);

impl std::fmt::Debug for RustStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RustStep")
    }
}

/// `ident` quoted for `dialect`.
pub(crate) fn quote(dialect: Dialect, ident: &str) -> String {
    match dialect {
        Dialect::MySql => format!("`{}`", ident.replace('`', "``")),
        _ => format!("\"{}\"", ident.replace('"', "\"\"")),
    }
}

/// The column type of `field` on `dialect`.
pub(crate) fn column_type(field: &FieldState, dialect: Dialect) -> String {
    use Dialect::{MySql, Postgres, Sqlite};
    let text = match (field.kind, dialect) {
        (FieldKind::SmallInteger, _) => "smallint",
        (FieldKind::Integer, MySql) => "int",
        (FieldKind::Integer, _) => "integer",
        (FieldKind::BigInteger, _) => "bigint",
        (FieldKind::Boolean, Postgres) => "boolean",
        (FieldKind::Boolean, _) => "bool",
        (FieldKind::Float, MySql) => "float",
        (FieldKind::Float, _) => "real",
        (FieldKind::Double, MySql) => "double",
        (FieldKind::Double, _) => "double precision",
        (FieldKind::String, _) => {
            return format!("varchar({})", field.max_length.unwrap_or(255));
        }
        // MySQL's TEXT and BLOB stop at 64 KiB.
        (FieldKind::Text, MySql) => "longtext",
        (FieldKind::Text, _) => "text",
        (FieldKind::Bytes, Postgres) => "bytea",
        (FieldKind::Bytes, MySql) => "longblob",
        (FieldKind::Bytes, Sqlite) => "blob",
        // Microseconds, and no 2038 limit as MySQL's TIMESTAMP has.
        (FieldKind::DateTime, MySql) => "datetime(6)",
        (FieldKind::DateTime, Postgres) => "timestamp with time zone",
        (FieldKind::DateTime, Sqlite) => "text",
        (FieldKind::Date, Sqlite) => "date_text",
        (FieldKind::Date, _) => "date",
        (FieldKind::Time, MySql) => "time(6)",
        (FieldKind::Time, Sqlite) => "time_text",
        (FieldKind::Time, Postgres) => "time",
        (FieldKind::Decimal, Sqlite) => "decimal",
        (FieldKind::Decimal, Postgres) => {
            let (digits, places) = precision(field);
            return format!("numeric({digits}, {places})");
        }
        (FieldKind::Decimal, MySql) => {
            let (digits, places) = precision(field);
            return format!("decimal({digits}, {places})");
        }
        (FieldKind::Uuid, Postgres) => "uuid",
        (FieldKind::Uuid, _) => "char(36)",
        (FieldKind::Json, Postgres) => "jsonb",
        (FieldKind::Json, MySql) => "json",
        (FieldKind::Json, Sqlite) => "text",
    };
    text.to_owned()
}

/// A decimal field's `(max_digits, decimal_places)`; Django's usual
/// `(10, 2)` when a hand-written state leaves them out.
fn precision(field: &FieldState) -> (u32, u32) {
    (
        field.max_digits.unwrap_or(10),
        field.decimal_places.unwrap_or(2),
    )
}

/// `value` as a SQL literal for `dialect`.
pub(crate) fn literal(value: &FieldDefault, dialect: Dialect) -> Result<String, MigrationError> {
    Ok(match value {
        FieldDefault::Int(value) => value.to_string(),
        FieldDefault::Float(value) if value.is_finite() => format!("{value:?}"),
        FieldDefault::Float(value) => {
            return Err(MigrationError::invalid(format!(
                "the default {value} is not a number a column can hold"
            )))
        }
        FieldDefault::Bool(value) => match (dialect, value) {
            (Dialect::Postgres, true) => "TRUE".to_owned(),
            (Dialect::Postgres, false) => "FALSE".to_owned(),
            (_, true) => "1".to_owned(),
            (_, false) => "0".to_owned(),
        },
        FieldDefault::Str(text) => {
            let mut escaped = text.replace('\'', "''");
            if dialect == Dialect::MySql {
                escaped = escaped.replace('\\', "\\\\");
            }
            format!("'{escaped}'")
        }
    })
}

/// Whether MySQL and MariaDB keep `kind` in a TEXT, BLOB or JSON column
/// (Django's "limited data types"): one whose default MySQL 8 takes only
/// as an expression, and which neither server indexes whole.
fn mysql_limited(kind: FieldKind) -> bool {
    matches!(kind, FieldKind::Text | FieldKind::Bytes | FieldKind::Json)
}

/// `value` as the `DEFAULT` of `field`'s column: its literal, in
/// parentheses on MySQL/MariaDB for a TEXT, BLOB or JSON column, the only
/// form MySQL 8.0.13+ takes there (a bare literal is error 1101) and one
/// MariaDB 10.2+ takes too. Django writes it so on MySQL.
fn default_sql(
    field: &FieldState,
    value: &FieldDefault,
    dialect: Dialect,
) -> Result<String, MigrationError> {
    let literal = literal(value, dialect)?;
    Ok(if dialect == Dialect::MySql && mysql_limited(field.kind) {
        format!("({literal})")
    } else {
        literal
    })
}

/// The column definition of `field`, as in `CREATE TABLE` and `ADD COLUMN`.
pub(crate) fn column_def(field: &FieldState, dialect: Dialect) -> Result<String, MigrationError> {
    column_def_keyed(field, dialect, true)
}

/// The column definition of `field`; without `PRIMARY KEY` unless
/// `with_key`, as MySQL's `MODIFY` of a key column needs (the key stays,
/// and naming it again is error 1068, multiple primary key).
fn column_def_keyed(
    field: &FieldState,
    dialect: Dialect,
    with_key: bool,
) -> Result<String, MigrationError> {
    let name = quote(dialect, &field.column);
    if field.primary_key && field.auto && !with_key {
        return Ok(match dialect {
            Dialect::MySql => format!(
                "{name} {} NOT NULL AUTO_INCREMENT",
                auto_type(field, dialect)
            ),
            _ => format!("{name} {} NOT NULL", auto_type(field, dialect)),
        });
    }
    if field.primary_key && field.auto {
        return Ok(match dialect {
            // SQLite auto-increments only an INTEGER PRIMARY KEY (the rowid).
            Dialect::Sqlite => format!("{name} integer NOT NULL PRIMARY KEY AUTOINCREMENT"),
            Dialect::Postgres => format!(
                "{name} {} GENERATED BY DEFAULT AS IDENTITY NOT NULL PRIMARY KEY",
                auto_type(field, dialect)
            ),
            Dialect::MySql => format!(
                "{name} {} NOT NULL PRIMARY KEY AUTO_INCREMENT",
                auto_type(field, dialect)
            ),
        });
    }
    let mut def = format!("{name} {}", column_type(field, dialect));
    def.push_str(if field.null { " NULL" } else { " NOT NULL" });
    if let Some(default) = &field.default {
        def.push_str(" DEFAULT ");
        def.push_str(&default_sql(field, default, dialect)?);
    }
    if field.primary_key && with_key {
        def.push_str(" PRIMARY KEY");
    }
    Ok(def)
}

fn auto_type(field: &FieldState, dialect: Dialect) -> &'static str {
    match (field.kind, dialect) {
        (FieldKind::SmallInteger | FieldKind::Integer, Dialect::MySql) => "int",
        (FieldKind::SmallInteger | FieldKind::Integer, _) => "integer",
        _ => "bigint",
    }
}

/// The name of the foreign key constraint on `column` of `table`.
fn fk_name(table: &str, column: &str) -> String {
    super::state::index_name(table, &[column.to_owned()], "fk")
}

/// `FOREIGN KEY (..) REFERENCES ..` for `field`, whose target must be in `state`.
pub(crate) fn fk_clause(
    state: &ProjectState,
    table: &str,
    field: &FieldState,
    dialect: Dialect,
) -> Result<Option<String>, MigrationError> {
    let Some(relation) = &field.relation else {
        return Ok(None);
    };
    let target = state.model(&relation.app, &relation.model).ok_or_else(|| {
        MigrationError::invalid(format!(
            "field `{}` points to {}.{}, which does not exist at this point \
             (a migration of its app must come first)",
            field.name, relation.app, relation.model
        ))
    })?;
    let key = target
        .key_field()
        .ok_or_else(|| MigrationError::invalid(format!("model {} has no fields", target.name)))?;
    Ok(Some(format!(
        "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}) ON DELETE {}",
        quote(dialect, &fk_name(table, &field.column)),
        quote(dialect, &field.column),
        quote(dialect, &target.table),
        quote(dialect, &key.column),
        relation.on_delete.sql()
    )))
}

/// Adds the foreign key constraint of `field` (PostgreSQL, MySQL).
pub(crate) fn add_fk(
    state: &ProjectState,
    table: &str,
    field: &FieldState,
    dialect: Dialect,
) -> Result<Vec<String>, MigrationError> {
    Ok(fk_clause(state, table, field, dialect)?
        .map(|clause| format!("ALTER TABLE {} ADD {clause}", quote(dialect, table)))
        .into_iter()
        .collect())
}

/// Drops the foreign key constraint of `field`, if it has one (PostgreSQL, MySQL).
pub(crate) fn drop_fk(table: &str, field: &FieldState, dialect: Dialect) -> Vec<String> {
    if field.relation.is_none() {
        return Vec::new();
    }
    let name = quote(dialect, &fk_name(table, &field.column));
    let table = quote(dialect, table);
    vec![match dialect {
        Dialect::MySql => format!("ALTER TABLE {table} DROP FOREIGN KEY {name}"),
        _ => format!("ALTER TABLE {table} DROP CONSTRAINT {name}"),
    }]
}

/// `CREATE TABLE` for `model`, under the name `table`, with the foreign
/// keys its fields have (their targets looked up in `state`).
fn create_table(
    model: &ModelState,
    table: &str,
    state: &ProjectState,
    dialect: Dialect,
) -> Result<String, MigrationError> {
    if model.fields.is_empty() {
        return Err(MigrationError::invalid(format!(
            "model {} has no fields",
            model.name
        )));
    }
    let mut columns = model
        .fields
        .iter()
        .map(|field| column_def(field, dialect))
        .collect::<Result<Vec<_>, _>>()?;
    for field in &model.fields {
        // Named for the table the model ends up in, even while rebuilding.
        columns.extend(fk_clause(state, &model.table, field, dialect)?);
    }
    for constraint in model.constraints.iter().filter(|c| c.check) {
        columns.push(check_clause(model, constraint, dialect)?);
    }
    Ok(format!(
        "CREATE TABLE {} ({})",
        quote(dialect, table),
        columns.join(", ")
    ))
}

/// An index to be made over a field: what it is and how to do without it.
#[derive(Clone, Copy)]
pub(crate) enum IndexUse<'a> {
    /// The field is the primary key.
    PrimaryKey,
    /// The field is a foreign key (MySQL indexes its column).
    ForeignKey,
    /// The field's `unique` flag.
    UniqueFlag,
    /// The field's `index` flag.
    IndexFlag,
    /// The model's index of this name.
    Index(&'a str),
    /// The model's unique constraint of this name (`unique_together`).
    Unique(&'a str),
}

impl IndexUse<'_> {
    /// What the index is, and what to do instead of making it.
    fn describe(self) -> (String, String) {
        match self {
            IndexUse::PrimaryKey => (
                "its primary key".to_owned(),
                "make another field the key".to_owned(),
            ),
            IndexUse::ForeignKey => (
                "the index of its foreign key".to_owned(),
                "give the key of the model it points to a type they index (a `String` key \
                 needs a `max_length`)"
                    .to_owned(),
            ),
            IndexUse::UniqueFlag => (
                "the unique index of its `unique` flag".to_owned(),
                "remove `unique`".to_owned(),
            ),
            IndexUse::IndexFlag => (
                "the index of its `index` flag".to_owned(),
                "remove `index`".to_owned(),
            ),
            IndexUse::Index(name) => (
                format!("index `{name}`"),
                "leave the field out of the index".to_owned(),
            ),
            IndexUse::Unique(name) => (
                format!("unique constraint `{name}`"),
                "leave the field out of the constraint".to_owned(),
            ),
        }
    }
}

/// Refuses, on MySQL and MariaDB, an index (`what`) over `field` of
/// `model` when the field's column is TEXT, BLOB or JSON. Neither server
/// indexes such a column whole (error 1170: a key length is needed; JSON
/// not at all), and a UNIQUE one MariaDB makes with a hash, MySQL 8 not:
/// so it is refused alike on both, when the migration is planned, before
/// any SQL runs. Django's MySQL backend does not index these columns
/// either (check `fields.W162`).
fn check_indexable(
    model: &ModelState,
    field: &FieldState,
    what: IndexUse<'_>,
    dialect: Dialect,
) -> Result<(), MigrationError> {
    if dialect != Dialect::MySql || !mysql_limited(field.kind) {
        return Ok(());
    }
    let (index, remedy) = what.describe();
    let (column, fix) = match field.kind {
        // A foreign key takes its type from the key it points to.
        FieldKind::Text if matches!(what, IndexUse::ForeignKey) => ("TEXT", remedy),
        FieldKind::Text => (
            "TEXT (a `String` without `max_length`)",
            format!("give the field a `max_length` (a VARCHAR, which they index) or {remedy}"),
        ),
        FieldKind::Bytes => ("BLOB (a `Vec<u8>`)", remedy),
        _ => ("JSON", remedy),
    };
    Err(MigrationError::invalid(format!(
        "{}.{}.{}: MySQL and MariaDB cannot make {index}, as the field's column is {column}, \
         which they cannot index whole; {fix}",
        model.app, model.name, field.name
    )))
}

/// Refuses, on MySQL and MariaDB, the indexes `field` of `model` needs
/// there (primary key, foreign key, `unique` and `index` flags) when its
/// column cannot be indexed: see [`check_indexable`].
fn check_field_indexable(
    model: &ModelState,
    field: &FieldState,
    dialect: Dialect,
) -> Result<(), MigrationError> {
    let uses = [
        (field.primary_key, IndexUse::PrimaryKey),
        (field.relation.is_some(), IndexUse::ForeignKey),
        (field.unique && !field.primary_key, IndexUse::UniqueFlag),
        (field.index && !field.primary_key, IndexUse::IndexFlag),
    ];
    for (_, what) in uses.into_iter().filter(|(used, _)| *used) {
        check_indexable(model, field, what, dialect)?;
    }
    Ok(())
}

/// `CREATE [UNIQUE] INDEX name` on `fields` (by name) of `model`, refused
/// on MySQL and MariaDB over a field they cannot index
/// ([`check_indexable`]).
pub(crate) fn model_index(
    model: &ModelState,
    name: &str,
    fields: &[String],
    what: IndexUse<'_>,
    dialect: Dialect,
) -> Result<String, MigrationError> {
    for field in fields.iter().filter_map(|f| model.get_field(f)) {
        check_indexable(model, field, what, dialect)?;
    }
    let columns: Vec<&str> = fields.iter().map(|f| model.column_of(f)).collect();
    let unique = matches!(what, IndexUse::Unique(_));
    Ok(create_index(dialect, name, &model.table, &columns, unique))
}

pub(crate) fn create_index(
    dialect: Dialect,
    name: &str,
    table: &str,
    columns: &[&str],
    unique: bool,
) -> String {
    let columns: Vec<String> = columns.iter().map(|c| quote(dialect, c)).collect();
    format!(
        "CREATE {}INDEX {} ON {} ({})",
        if unique { "UNIQUE " } else { "" },
        quote(dialect, name),
        quote(dialect, table),
        columns.join(", ")
    )
}

pub(crate) fn drop_index(dialect: Dialect, name: &str, table: &str) -> String {
    match dialect {
        Dialect::MySql => format!(
            "DROP INDEX {} ON {}",
            quote(dialect, name),
            quote(dialect, table)
        ),
        _ => format!("DROP INDEX {}", quote(dialect, name)),
    }
}

/// The index one field's `unique` or `index` flag asks for: its name and
/// whether it is unique.
fn field_index(table: &str, field: &FieldState) -> Option<(String, bool)> {
    if field.primary_key || !(field.unique || field.index) {
        return None;
    }
    Some((
        field_index_name(table, &field.column, field.unique),
        field.unique,
    ))
}

/// Creates the index of the flags of `field`, one of `model`'s; refused
/// on MySQL and MariaDB where the column cannot be indexed
/// ([`check_indexable`]).
pub(crate) fn field_indexes(
    model: &ModelState,
    field: &FieldState,
    dialect: Dialect,
) -> Result<Vec<String>, MigrationError> {
    check_field_indexable(model, field, dialect)?;
    let table = &model.table;
    Ok(field_index(table, field)
        .map(|(name, unique)| create_index(dialect, &name, table, &[&field.column], unique))
        .into_iter()
        .collect())
}

/// Drops the index of one field's flags.
pub(crate) fn drop_field_indexes(table: &str, field: &FieldState, dialect: Dialect) -> Vec<String> {
    field_index(table, field)
        .map(|(name, _)| drop_index(dialect, &name, table))
        .into_iter()
        .collect()
}

/// Every index and unique constraint of `model`.
fn all_indexes(model: &ModelState, dialect: Dialect) -> Result<Vec<String>, MigrationError> {
    let mut out = Vec::new();
    for field in &model.fields {
        out.extend(field_indexes(model, field, dialect)?);
    }
    for index in &model.indexes {
        out.push(model_index(
            model,
            &index.name,
            &index.fields,
            IndexUse::Index(&index.name),
            dialect,
        )?);
    }
    for constraint in model.constraints.iter().filter(|c| !c.check) {
        out.push(create_constraint(model, constraint, dialect)?);
    }
    Ok(out)
}

/// `CONSTRAINT name CHECK (..)`: the table clause of a check constraint.
fn check_clause(
    model: &ModelState,
    constraint: &ConstraintState,
    dialect: Dialect,
) -> Result<String, MigrationError> {
    let condition = constraint.condition_sql(model, dialect)?.ok_or_else(|| {
        MigrationError::invalid(format!(
            "check constraint `{}` has no condition",
            constraint.name
        ))
    })?;
    Ok(format!(
        "CONSTRAINT {} CHECK ({condition})",
        quote(dialect, &constraint.name)
    ))
}

/// Creates `constraint` of `model`: a unique constraint is a unique index
/// (partial, with a `WHERE`, when it has a condition: refused on MySQL and
/// MariaDB, which have no partial indexes); a check constraint is added to
/// the table (not on SQLite, where the table is rebuilt instead).
pub(crate) fn create_constraint(
    model: &ModelState,
    constraint: &ConstraintState,
    dialect: Dialect,
) -> Result<String, MigrationError> {
    if constraint.check {
        return Ok(format!(
            "ALTER TABLE {} ADD {}",
            quote(dialect, &model.table),
            check_clause(model, constraint, dialect)?
        ));
    }
    let index = model_index(
        model,
        &constraint.name,
        &constraint.fields,
        IndexUse::Unique(&constraint.name),
        dialect,
    )?;
    match constraint.condition_sql(model, dialect)? {
        None => Ok(index),
        Some(_) if dialect == Dialect::MySql => Err(MigrationError::invalid(format!(
            "conditional unique constraint `{}` of {}: MySQL and MariaDB have no partial \
             indexes; remove the condition or the constraint for this database",
            constraint.name, model.name
        ))),
        Some(condition) => Ok(format!("{index} WHERE {condition}")),
    }
}

/// Drops `constraint` of `model` (not a check constraint on SQLite, where
/// the table is rebuilt instead).
pub(crate) fn drop_constraint(
    model: &ModelState,
    constraint: &ConstraintState,
    dialect: Dialect,
) -> String {
    if constraint.check {
        format!(
            "ALTER TABLE {} DROP CONSTRAINT {}",
            quote(dialect, &model.table),
            quote(dialect, &constraint.name)
        )
    } else {
        drop_index(dialect, &constraint.name, &model.table)
    }
}

/// The statements that create `model`'s table, indexes and constraints.
pub(crate) fn create_model(
    model: &ModelState,
    state: &ProjectState,
    dialect: Dialect,
) -> Result<Vec<String>, MigrationError> {
    let mut out = vec![create_table(model, &model.table, state, dialect)?];
    out.extend(all_indexes(model, dialect)?);
    Ok(out)
}

pub(crate) fn rename_table(dialect: Dialect, from: &str, to: &str) -> String {
    match dialect {
        Dialect::MySql => format!(
            "RENAME TABLE {} TO {}",
            quote(dialect, from),
            quote(dialect, to)
        ),
        _ => format!(
            "ALTER TABLE {} RENAME TO {}",
            quote(dialect, from),
            quote(dialect, to)
        ),
    }
}

/// SQLite: rebuilds `old`'s table as `new`. `sources` gives the SQL that
/// fills a new column (by field name) where it is not simply the old
/// column of the same field name.
pub(crate) fn sqlite_rebuild(
    old: &ModelState,
    new: &ModelState,
    state: &ProjectState,
    sources: &HashMap<String, String>,
) -> Result<Vec<String>, MigrationError> {
    let dialect = Dialect::Sqlite;
    let temp = format!("new__{}", new.table);
    let mut out = vec![create_table(new, &temp, state, dialect)?];
    let mut targets = Vec::new();
    let mut selects = Vec::new();
    for field in &new.fields {
        let source = match sources.get(&field.name) {
            Some(source) => Some(source.clone()),
            None => old
                .get_field(&field.name)
                .map(|old_field| quote(dialect, &old_field.column)),
        };
        if let Some(source) = source {
            targets.push(quote(dialect, &field.column));
            selects.push(source);
        }
    }
    if !targets.is_empty() {
        out.push(format!(
            "INSERT INTO {} ({}) SELECT {} FROM {}",
            quote(dialect, &temp),
            targets.join(", "),
            selects.join(", "),
            quote(dialect, &old.table)
        ));
    }
    out.push(format!("DROP TABLE {}", quote(dialect, &old.table)));
    out.push(rename_table(dialect, &temp, &new.table));
    out.extend(all_indexes(new, dialect)?);
    Ok(out)
}

/// Renames `old`'s table to `new`'s, and the field indexes and foreign
/// keys named after it.
pub(crate) fn move_table(
    old: &ModelState,
    new: &ModelState,
    state: &ProjectState,
    dialect: Dialect,
) -> Result<Vec<String>, MigrationError> {
    if old.table == new.table {
        return Ok(Vec::new());
    }
    let sqlite = dialect == Dialect::Sqlite;
    let mut out = Vec::new();
    for field in &old.fields {
        if !sqlite {
            out.extend(drop_fk(&old.table, field, dialect));
        }
        out.extend(drop_field_indexes(&old.table, field, dialect));
    }
    out.push(rename_table(dialect, &old.table, &new.table));
    for field in &new.fields {
        out.extend(field_indexes(new, field, dialect)?);
        if !sqlite {
            out.extend(add_fk(state, &new.table, field, dialect)?);
        }
    }
    Ok(out)
}

pub(crate) fn add_field(
    old: &ModelState,
    new: &ModelState,
    field: &FieldState,
    one_off: Option<&FieldDefault>,
    state: &ProjectState,
    dialect: Dialect,
) -> Result<Vec<String>, MigrationError> {
    let table = &new.table;
    if dialect == Dialect::Sqlite {
        // ADD COLUMN cannot add a unique or key column, nor a NOT NULL one
        // without a default.
        let simple = !field.primary_key
            && !field.unique
            && field.relation.is_none()
            && one_off.is_none()
            && (field.null || field.default.is_some());
        if !simple {
            let mut sources = HashMap::new();
            if let Some(value) = one_off.or(field.default.as_ref()) {
                sources.insert(field.name.clone(), literal(value, dialect)?);
            }
            return sqlite_rebuild(old, new, state, &sources);
        }
    }
    let mut out = Vec::new();
    match one_off {
        Some(value) => {
            let mut with_default = field.clone();
            with_default.default = Some(value.clone());
            out.push(format!(
                "ALTER TABLE {} ADD COLUMN {}",
                quote(dialect, table),
                column_def(&with_default, dialect)?
            ));
            out.push(set_default(dialect, table, field)?);
        }
        None => out.push(format!(
            "ALTER TABLE {} ADD COLUMN {}",
            quote(dialect, table),
            column_def(field, dialect)?
        )),
    }
    out.extend(field_indexes(new, field, dialect)?);
    if dialect != Dialect::Sqlite {
        out.extend(add_fk(state, table, field, dialect)?);
    }
    Ok(out)
}

/// Sets (or drops) the column default of `field` to its own. On MySQL a
/// TEXT, BLOB or JSON column is restated whole (`MODIFY`): MySQL does not
/// take their defaults in `ALTER COLUMN` (Django skips it there).
fn set_default(
    dialect: Dialect,
    table: &str,
    field: &FieldState,
) -> Result<String, MigrationError> {
    if dialect == Dialect::MySql && mysql_limited(field.kind) {
        return Ok(format!(
            "ALTER TABLE {} MODIFY {}",
            quote(dialect, table),
            column_def_keyed(field, dialect, false)?
        ));
    }
    let action = match &field.default {
        Some(value) => format!("SET DEFAULT {}", default_sql(field, value, dialect)?),
        None => "DROP DEFAULT".to_owned(),
    };
    Ok(format!(
        "ALTER TABLE {} ALTER COLUMN {} {action}",
        quote(dialect, table),
        quote(dialect, &field.column)
    ))
}

pub(crate) fn alter_field(
    old_model: &ModelState,
    new_model: &ModelState,
    old: &FieldState,
    new: &FieldState,
    one_off: Option<&FieldDefault>,
    state: &ProjectState,
    dialect: Dialect,
) -> Result<Vec<String>, MigrationError> {
    if old == new {
        return Ok(Vec::new());
    }
    if old.primary_key != new.primary_key || old.auto != new.auto {
        return Err(MigrationError::invalid(format!(
            "changing whether {}.{} is the (auto-increment) primary key is not supported; \
             write the migration with RunSql",
            new_model.name, new.name
        )));
    }
    let tightened = old.null && !new.null;
    if dialect == Dialect::Sqlite {
        let mut sources = HashMap::new();
        let column = quote(dialect, &old.column);
        if tightened {
            if let Some(value) = one_off.or(new.default.as_ref()) {
                sources.insert(
                    new.name.clone(),
                    format!("coalesce({column}, {})", literal(value, dialect)?),
                );
            }
        }
        sources.entry(new.name.clone()).or_insert(column);
        return sqlite_rebuild(old_model, new_model, state, &sources);
    }
    let table = &new_model.table;
    let quoted_table = quote(dialect, table);
    let mut out = Vec::new();
    let renamed = old.column != new.column;
    let index_changed = renamed || old.unique != new.unique || old.index != new.index;
    let type_changed = old.kind != new.kind
        || old.max_length != new.max_length
        || old.max_digits != new.max_digits
        || old.decimal_places != new.decimal_places;
    // MySQL will not drop or replace an index a foreign key uses (error
    // 1553): the key goes first and comes back after, as in Django.
    let index_under_fk = dialect == Dialect::MySql
        && index_changed
        && (old.relation.is_some() || new.relation.is_some());
    let fk_changed = renamed || type_changed || old.relation != new.relation || index_under_fk;
    // The foreign keys pointing to a key whose type changes: MySQL will not
    // change a column they use, and their columns take the new type.
    let pointing = if type_changed && is_key(new_model, new) {
        pointing_to(state, new_model)
    } else {
        Vec::new()
    };
    if type_changed {
        // The column keeps its indexes under the new type.
        check_field_indexable(new_model, new, dialect)?;
    }
    for (model, field) in &pointing {
        out.extend(drop_fk(&model.table, field, dialect));
    }
    if fk_changed {
        out.extend(drop_fk(table, old, dialect));
    }
    if index_changed {
        out.extend(drop_field_indexes(table, old, dialect));
    }
    if renamed {
        out.push(format!(
            "ALTER TABLE {quoted_table} RENAME COLUMN {} TO {}",
            quote(dialect, &old.column),
            quote(dialect, &new.column)
        ));
    }
    let column = quote(dialect, &new.column);
    if tightened {
        if let Some(value) = one_off.or(new.default.as_ref()) {
            out.push(format!(
                "UPDATE {quoted_table} SET {column} = {} WHERE {column} IS NULL",
                literal(value, dialect)?
            ));
        }
    }
    match dialect {
        Dialect::MySql => {
            if type_changed || old.null != new.null || old.default != new.default {
                out.push(format!(
                    "ALTER TABLE {quoted_table} MODIFY {}",
                    column_def_keyed(new, dialect, false)?
                ));
            }
        }
        _ => {
            if type_changed {
                let ty = column_type(new, dialect);
                out.push(format!(
                    "ALTER TABLE {quoted_table} ALTER COLUMN {column} TYPE {ty} USING {column}::{ty}"
                ));
            }
            if old.null != new.null {
                out.push(format!(
                    "ALTER TABLE {quoted_table} ALTER COLUMN {column} {} NOT NULL",
                    if new.null { "DROP" } else { "SET" }
                ));
            }
            if old.default != new.default {
                out.push(set_default(dialect, table, new)?);
            }
        }
    }
    for (model, field) in &pointing {
        out.push(retype_column(&model.table, field, dialect)?);
    }
    if index_changed {
        out.extend(field_indexes(new_model, new, dialect)?);
    }
    if fk_changed {
        out.extend(add_fk(state, table, new, dialect)?);
    }
    for (model, field) in &pointing {
        out.extend(add_fk(state, &model.table, field, dialect)?);
    }
    Ok(out)
}

/// Whether `field` is the key of `model` that foreign keys point to.
fn is_key(model: &ModelState, field: &FieldState) -> bool {
    model.key_field().map(|key| &key.name) == Some(&field.name)
}

/// Every foreign key field in `state` that points to `target`, with its model.
fn pointing_to<'a>(
    state: &'a ProjectState,
    target: &ModelState,
) -> Vec<(&'a ModelState, &'a FieldState)> {
    state
        .models
        .values()
        .flat_map(|model| model.fields.iter().map(move |field| (model, field)))
        .filter(|(_, field)| {
            field
                .relation
                .as_ref()
                .is_some_and(|relation| relation.app == target.app && relation.model == target.name)
        })
        .collect()
}

/// Gives the column of `field` in `table` the field's type (PostgreSQL,
/// MySQL), keeping its nullability and default.
fn retype_column(
    table: &str,
    field: &FieldState,
    dialect: Dialect,
) -> Result<String, MigrationError> {
    let quoted_table = quote(dialect, table);
    Ok(match dialect {
        Dialect::MySql => format!(
            "ALTER TABLE {quoted_table} MODIFY {}",
            column_def_keyed(field, dialect, false)?
        ),
        _ => {
            let column = quote(dialect, &field.column);
            let ty = column_type(field, dialect);
            format!(
                "ALTER TABLE {quoted_table} ALTER COLUMN {column} TYPE {ty} USING {column}::{ty}"
            )
        }
    })
}
