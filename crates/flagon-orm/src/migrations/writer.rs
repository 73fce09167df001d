//! The writer: a migration as Rust source, and the app's `migrations`
//! module that lists the files.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::model::{FieldDefault, FieldKind};

use super::error::MigrationError;
use super::migration::Migration;
use super::operations::Operation;
use super::state::{ConstraintState, FieldState, IndexState, ModelState};

/// How deep an operation's arguments are indented in a migration file.
pub(crate) const INDENT: &str = "            ";

/// A Rust string literal for `text`.
pub(crate) fn lit(text: &str) -> String {
    format!("{text:?}")
}

fn kind(kind: FieldKind) -> String {
    format!("FieldKind::{kind:?}")
}

/// The Rust expression of a default value.
pub(crate) fn default_source(value: &FieldDefault) -> String {
    match value {
        FieldDefault::Int(value) => format!("{value}_i64"),
        FieldDefault::Float(value) => format!("{value:?}_f64"),
        FieldDefault::Bool(value) => value.to_string(),
        FieldDefault::Str(text) => lit(text),
    }
}

/// The Rust expression that builds `field`.
pub(crate) fn field_source(field: &FieldState) -> String {
    let mut out = format!(
        "FieldState::new({}, {})",
        lit(&field.name),
        kind(field.kind)
    );
    if field.column != field.name {
        let _ = write!(out, ".column({})", lit(&field.column));
    }
    if let Some(length) = field.max_length {
        let _ = write!(out, ".max_length({length})");
    }
    if let (Some(digits), Some(places)) = (field.max_digits, field.decimal_places) {
        let _ = write!(out, ".decimal({digits}, {places})");
    }
    for (set, name) in [
        (field.primary_key, "primary_key"),
        (field.auto, "auto"),
        (field.null, "null"),
        (field.unique, "unique"),
        (field.index, "index"),
    ] {
        if set {
            let _ = write!(out, ".{name}()");
        }
    }
    if let Some(default) = &field.default {
        let _ = write!(out, ".default({})", default_source(default));
    }
    if let Some(relation) = &field.relation {
        let _ = write!(
            out,
            ".references({}, {}, OnDelete::{:?})",
            lit(&relation.app),
            lit(&relation.model),
            relation.on_delete
        );
    }
    out
}

fn names_source(names: &[String]) -> String {
    let names: Vec<String> = names.iter().map(|name| lit(name)).collect();
    format!("&[{}]", names.join(", "))
}

/// The Rust expression that builds `index`.
pub(crate) fn index_source(index: &IndexState) -> String {
    format!(
        "IndexState::new({}, {})",
        lit(&index.name),
        names_source(&index.fields)
    )
}

/// The Rust expression that builds `constraint`.
pub(crate) fn constraint_source(constraint: &ConstraintState) -> String {
    match (&constraint.condition, constraint.check) {
        (Some(condition), true) => format!(
            "ConstraintState::check({}, {})",
            lit(&constraint.name),
            lit(condition)
        ),
        (condition, _) => {
            let mut out = format!(
                "ConstraintState::unique({}, {})",
                lit(&constraint.name),
                names_source(&constraint.fields)
            );
            if let Some(condition) = condition {
                let _ = write!(out, ".condition({})", lit(condition));
            }
            out
        }
    }
}

/// The Rust expression that builds `model`, its calls indented by `indent`.
pub(crate) fn model_source(model: &ModelState, indent: &str) -> String {
    let mut out = format!(
        "ModelState::new({}, {}, {})",
        lit(&model.app),
        lit(&model.name),
        lit(&model.table)
    );
    for field in &model.fields {
        let _ = write!(out, "\n{indent}    .field({})", field_source(field));
    }
    for index in &model.indexes {
        let _ = write!(out, "\n{indent}    .index({})", index_source(index));
    }
    for constraint in &model.constraints {
        let _ = write!(
            out,
            "\n{indent}    .constraint({})",
            constraint_source(constraint)
        );
    }
    out
}

/// The Rust source of `migration`. `orm` is the path the app reaches the
/// ORM by: `flagon::orm` through the facade, or `flagon_orm`.
///
/// ```
/// use flagon_orm::migrations::{migration_source, Migration, Operation};
///
/// let migration = Migration::new("polls", "0002_remove_question_votes")
///     .depends_on("polls", "0001_initial")
///     .operation(Operation::remove_field("Question", "votes"));
/// let source = migration_source(&migration, "flagon::orm")?;
/// assert!(source.contains(r#".operation(Operation::remove_field("Question", "votes"))"#));
/// # Ok::<(), flagon_orm::migrations::MigrationError>(())
/// ```
pub fn migration_source(migration: &Migration, orm: &str) -> Result<String, MigrationError> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "//! Migration `{}` of app `{}`, written by `makemigrations`.",
        migration.name, migration.app
    );
    if !migration.operations.is_empty() {
        out.push_str("//!\n");
        for operation in &migration.operations {
            let _ = writeln!(out, "//! - {}", operation.describe());
        }
    }
    let _ = writeln!(out, "\nuse {orm}::migrations::prelude::*;\n");
    out.push_str("/// The migration.\npub fn migration() -> Migration {\n");
    let _ = write!(
        out,
        "    Migration::new({}, {})",
        lit(&migration.app),
        lit(&migration.name)
    );
    for (app, name) in &migration.dependencies {
        let _ = write!(out, "\n        .depends_on({}, {})", lit(app), lit(name));
    }
    for (app, name) in &migration.replaces {
        let _ = write!(out, "\n        .replaces({}, {})", lit(app), lit(name));
    }
    if !migration.atomic {
        out.push_str("\n        .non_atomic()");
    }
    for operation in &migration.operations {
        let _ = write!(out, "\n        .operation({})", operation.source()?);
    }
    out.push_str("\n}\n");
    Ok(out)
}

/// The module file name of a migration: `m0002_question_votes.rs`.
pub fn module_name(migration_name: &str) -> String {
    format!("m{migration_name}")
}

/// The names of the migration modules in `directory`, sorted.
fn migration_modules(directory: &Path) -> Result<Vec<String>, MigrationError> {
    let io = |source| MigrationError::Io {
        path: directory.to_owned(),
        source,
    };
    let mut names = Vec::new();
    if !directory.exists() {
        return Ok(names);
    }
    for entry in std::fs::read_dir(directory).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".rs") {
            let numbered = stem.len() > 5
                && stem.starts_with('m')
                && stem[1..5].bytes().all(|b| b.is_ascii_digit());
            if numbered {
                names.push(stem.to_owned());
            }
        }
    }
    names.sort();
    Ok(names)
}

/// The source of the `migrations/mod.rs` listing `modules`.
fn mod_source(app: &str, modules: &[String], orm: &str) -> String {
    let mut out = format!(
        "//! The migrations of app `{app}`. `makemigrations` writes this file again\n\
         //! whenever it adds one: edit the migrations, not this list.\n\n"
    );
    for module in modules {
        let _ = writeln!(out, "mod {module};");
    }
    let _ = writeln!(
        out,
        "\n/// The app's migrations, oldest first, for `AppConfig::migrations`.\n\
         pub const MIGRATIONS: &[fn() -> {orm}::migrations::Migration] = &["
    );
    for module in modules {
        let _ = writeln!(out, "    {module}::migration,");
    }
    out.push_str("];\n");
    out
}

/// Writes `contents` to `path` whole or not at all (through a temporary
/// file renamed into place).
fn write_whole(path: &Path, contents: &str) -> Result<(), MigrationError> {
    let io = |source| MigrationError::Io {
        path: path.to_owned(),
        source,
    };
    let temp = path.with_extension("rs.tmp");
    std::fs::write(&temp, contents).map_err(io)?;
    std::fs::rename(&temp, path).map_err(|err| {
        let _ = std::fs::remove_file(&temp);
        io(err)
    })
}

/// Writes `migration` into `directory` (created if missing) and rewrites
/// the directory's `mod.rs` to list it. Returns the new file's path.
pub fn write_migration(
    directory: &Path,
    migration: &Migration,
    orm: &str,
) -> Result<PathBuf, MigrationError> {
    let source = migration_source(migration, orm)?;
    std::fs::create_dir_all(directory).map_err(|source| MigrationError::Io {
        path: directory.to_owned(),
        source,
    })?;
    let module = module_name(&migration.name);
    let path = directory.join(format!("{module}.rs"));
    if path.exists() {
        return Err(MigrationError::Io {
            path,
            source: std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "a migration file of that name exists already",
            ),
        });
    }
    write_whole(&path, &source)?;
    let modules = migration_modules(directory)?;
    let listing = directory.join("mod.rs");
    if let Err(err) = write_whole(&listing, &mod_source(&migration.app, &modules, orm)) {
        let _ = std::fs::remove_file(&path);
        return Err(err);
    }
    format_with_rustfmt(&[&path, &listing]);
    Ok(path)
}

/// Formats the written files with `rustfmt` when it is installed (as
/// Django runs black), so they pass `cargo fmt --check`; without it they
/// are left as written, which compiles the same.
fn format_with_rustfmt(files: &[&Path]) {
    let status = std::process::Command::new("rustfmt")
        .args(["--edition", "2021"])
        .args(files)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    if let Err(err) = status {
        tracing::debug!(target: "flagon::migrations", "rustfmt did not run: {err}");
    }
}

/// The name of the next migration of an app whose latest is `latest`,
/// from its operations: `0001_initial`, `0002_question_votes`, or
/// `0003_auto_<date>_<time>` when there are many.
pub fn next_name(
    latest: Option<&str>,
    operations: &[Operation],
    custom: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let number = latest
        .and_then(|name| name.get(..4))
        .and_then(|digits| digits.parse::<u32>().ok())
        .map_or(1, |n| n + 1);
    let suffix = match custom {
        Some(custom) => custom.to_owned(),
        None if number == 1
            && operations
                .iter()
                .all(|op| matches!(op, Operation::CreateModel(_))) =>
        {
            "initial".to_owned()
        }
        None => {
            let fragments: Option<Vec<String>> =
                operations.iter().map(Operation::name_fragment).collect();
            match fragments {
                Some(fragments) if !fragments.is_empty() && fragments.join("_").len() <= 52 => {
                    fragments.join("_")
                }
                _ => format!("auto_{}", now.format("%Y%m%d_%H%M")),
            }
        }
    };
    format!("{number:04}_{suffix}")
}
