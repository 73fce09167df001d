//! `squashmigrations`: one migration that replaces a range of an app's
//! migrations, with operations that trivially cancel or merge reduced
//! (Django's optimizer, in its simplest cases).

use std::collections::BTreeSet;

use super::error::MigrationError;
use super::graph::{label, MigrationGraph, MigrationKey};
use super::migration::Migration;
use super::operations::{
    AddConstraint, AddField, AddIndex, AlterField, AlterModelTable, CreateModel, DeleteModel,
    Operation, RemoveConstraint, RemoveField, RemoveIndex, RenameField, RenameModel, RunRust,
};
use super::state::{FieldState, ModelState};

/// Whether `operation` (of `app`) touches model `model` of `app`: names
/// it, or has a foreign key to it. SQL and Rust of your own may touch
/// anything.
fn touches(operation: &Operation, app: &str, model: &str) -> bool {
    let points_here = |field: &FieldState| {
        field
            .relation
            .as_ref()
            .is_some_and(|relation| relation.app == app && relation.model == model)
    };
    match operation {
        Operation::CreateModel(CreateModel { model: created }) => {
            created.name == model || created.fields.iter().any(points_here)
        }
        Operation::DeleteModel(DeleteModel { name })
        | Operation::AlterModelTable(AlterModelTable { name, .. }) => name == model,
        Operation::RenameModel(RenameModel { old_name, new_name }) => {
            old_name == model || new_name == model
        }
        Operation::AddField(AddField {
            model: target,
            field,
            ..
        })
        | Operation::AlterField(AlterField {
            model: target,
            field,
            ..
        }) => target == model || points_here(field),
        Operation::RemoveField(RemoveField { model: target, .. })
        | Operation::RenameField(RenameField { model: target, .. })
        | Operation::AddIndex(AddIndex { model: target, .. })
        | Operation::RemoveIndex(RemoveIndex { model: target, .. })
        | Operation::AddConstraint(AddConstraint { model: target, .. })
        | Operation::RemoveConstraint(RemoveConstraint { model: target, .. }) => target == model,
        _ => true,
    }
}

/// The model an operation changes the fields or options of, if any.
fn target(operation: &Operation) -> Option<&str> {
    match operation {
        Operation::DeleteModel(DeleteModel { name })
        | Operation::AlterModelTable(AlterModelTable { name, .. }) => Some(name),
        Operation::AddField(AddField { model, .. })
        | Operation::RemoveField(RemoveField { model, .. })
        | Operation::AlterField(AlterField { model, .. })
        | Operation::RenameField(RenameField { model, .. })
        | Operation::AddIndex(AddIndex { model, .. })
        | Operation::AddConstraint(AddConstraint { model, .. }) => Some(model),
        _ => None,
    }
}

/// Whether `fields` (of an index or constraint) name `field`.
fn names(model: &ModelState, field: &str) -> bool {
    model
        .indexes
        .iter()
        .any(|index| index.fields.iter().any(|name| name == field))
        || model
            .constraints
            .iter()
            .any(|constraint| constraint.uses(field))
}

/// `next` folded into the `CreateModel` of `model`: `Some(None)` when the
/// two cancel, `Some(Some(model))` when they merge, `None` when they stay.
fn into_create(model: &ModelState, next: &Operation) -> Option<Option<ModelState>> {
    let mut merged = model.clone();
    match next {
        Operation::DeleteModel(DeleteModel { .. }) => return Some(None),
        Operation::AlterModelTable(AlterModelTable { table, .. }) => merged.table.clone_from(table),
        Operation::AddField(AddField { field, .. }) => {
            if merged.get_field(&field.name).is_some() {
                return None;
            }
            merged.fields.push(field.clone());
        }
        Operation::RemoveField(RemoveField { name, .. }) => {
            if names(&merged, name) || merged.get_field(name).is_none() {
                return None;
            }
            merged.fields.retain(|field| field.name != *name);
        }
        Operation::AlterField(AlterField { field, .. }) => {
            let slot = merged.fields.iter_mut().find(|f| f.name == field.name)?;
            *slot = field.clone();
        }
        Operation::RenameField(RenameField {
            old_name, new_name, ..
        }) => {
            if names(&merged, old_name) || merged.get_field(new_name).is_some() {
                return None;
            }
            let slot = merged.fields.iter_mut().find(|f| f.name == *old_name)?;
            *slot = slot.renamed(new_name);
        }
        Operation::AddIndex(AddIndex { index, .. }) => merged.indexes.push(index.clone()),
        Operation::AddConstraint(AddConstraint { constraint, .. }) => {
            merged.constraints.push(constraint.clone());
        }
        _ => return None,
    }
    Some(Some(merged))
}

/// `next` folded into an `AddField` of `field`: `Some(None)` when the two
/// cancel, `Some(Some(operation))` when they merge, `None` when they stay.
fn into_add_field(
    model: &str,
    field: &FieldState,
    one_off: &Option<crate::model::FieldDefault>,
    next: &Operation,
) -> Option<Option<Operation>> {
    let add = |field: FieldState| {
        Operation::AddField(AddField {
            model: model.to_owned(),
            field,
            one_off_default: one_off.clone(),
        })
    };
    match next {
        Operation::RemoveField(RemoveField { name, .. }) if *name == field.name => Some(None),
        Operation::AlterField(AlterField { field: new, .. }) if new.name == field.name => {
            Some(Some(add(new.clone())))
        }
        Operation::RenameField(RenameField {
            old_name, new_name, ..
        }) if *old_name == field.name => Some(Some(add(field.renamed(new_name)))),
        _ => None,
    }
}

/// The operations of a migration of `app`, with neighbours that trivially
/// cancel or merge reduced: a `CreateModel` takes the later `AddField`,
/// `RemoveField`, `AlterField`, `RenameField`, `AddIndex`,
/// `AddConstraint` and `AlterModelTable` of its model, and disappears with
/// a later `DeleteModel`; an `AddField` takes a later `AlterField` or
/// `RenameField` of its field and disappears with its `RemoveField`. Two
/// operations are only brought together when nothing between them touches
/// the model, or a model the later one's foreign key points to (SQL and
/// Rust of your own touch everything).
///
/// ```
/// use flagon_orm::migrations::{reduce_operations, CreateModel, FieldState, ModelState, Operation};
/// use flagon_orm::FieldKind;
///
/// let operations = vec![
///     Operation::create_model(
///         ModelState::new("polls", "Question", "polls_question")
///             .field(FieldState::new("id", FieldKind::BigInteger).primary_key().auto()),
///     ),
///     Operation::add_field("Question", FieldState::new("votes", FieldKind::Integer).default(0)),
///     Operation::create_model(ModelState::new("polls", "Draft", "polls_draft")
///         .field(FieldState::new("id", FieldKind::BigInteger).primary_key().auto())),
///     Operation::delete_model("Draft"),
/// ];
/// let reduced = reduce_operations("polls", operations);
/// assert_eq!(reduced.len(), 1);
/// assert!(matches!(&reduced[0], Operation::CreateModel(CreateModel { model, .. }) if model.fields.len() == 2));
/// ```
pub fn reduce_operations(app: &str, operations: Vec<Operation>) -> Vec<Operation> {
    let mut out: Vec<Operation> = Vec::with_capacity(operations.len());
    'next: for operation in operations {
        if let Some(model) = target(&operation) {
            // The models of the app its fields point to: it cannot move
            // before an operation that makes or changes them either.
            let pointed: Vec<&str> = match &operation {
                Operation::AddField(AddField { field, .. })
                | Operation::AlterField(AlterField { field, .. }) => field
                    .relation
                    .iter()
                    .filter(|relation| relation.app == app)
                    .map(|relation| relation.model.as_str())
                    .collect(),
                _ => Vec::new(),
            };
            // The latest operation it may fold into, with nothing between
            // touching the model.
            for index in (0..out.len()).rev() {
                let folded = match &out[index] {
                    Operation::CreateModel(CreateModel { model: created })
                        if created.name == model =>
                    {
                        into_create(created, &operation)
                            .map(|merged| merged.map(Operation::create_model))
                    }
                    Operation::AddField(AddField {
                        model: added_to,
                        field,
                        one_off_default,
                    }) if added_to == model => {
                        into_add_field(added_to, field, one_off_default, &operation)
                    }
                    _ => None,
                };
                match folded {
                    Some(Some(merged)) => {
                        out[index] = merged;
                        continue 'next;
                    }
                    Some(None) => {
                        out.remove(index);
                        continue 'next;
                    }
                    None if touches(&out[index], app, model)
                        || pointed.iter().any(|other| touches(&out[index], app, other)) =>
                    {
                        break
                    }
                    None => {}
                }
            }
        }
        out.push(operation);
    }
    out
}

/// The number a migration's name starts with (`0002_votes`: 2).
fn number(name: &str) -> u32 {
    let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or(0)
}

/// The squashed migration of `app`'s migrations from `start` (its first
/// when `None`) to `end`, both named as `migrate` takes them (a name or
/// its number): it `replaces` them, depends on what they depend on
/// outside the range, and has their operations reduced
/// ([`reduce_operations`]), or as they were if the reduced ones would not
/// build the same state. A migration with Rust code (`RunRust`) in the
/// range, or one squashed already, is refused with an error saying what
/// to do.
///
/// ```
/// use flagon_orm::migrations::{squash, FieldState, Migration, MigrationGraph, ModelState, Operation};
/// use flagon_orm::FieldKind;
///
/// let graph = MigrationGraph::new([
///     Migration::new("polls", "0001_initial").operation(Operation::create_model(
///         ModelState::new("polls", "Question", "polls_question")
///             .field(FieldState::new("id", FieldKind::BigInteger).primary_key().auto()),
///     )),
///     Migration::new("polls", "0002_question_votes")
///         .depends_on("polls", "0001_initial")
///         .operation(Operation::add_field(
///             "Question",
///             FieldState::new("votes", FieldKind::Integer).default(0),
///         )),
/// ])?;
/// let squashed = squash(&graph, "polls", None, "0002")?;
/// assert_eq!(squashed.name, "0001_initial_squashed_0002_question_votes");
/// assert_eq!(squashed.replaces.len(), 2);
/// assert_eq!(squashed.operations.len(), 1);
/// # Ok::<(), flagon_orm::migrations::MigrationError>(())
/// ```
pub fn squash(
    graph: &MigrationGraph,
    app: &str,
    start: Option<&str>,
    end: &str,
) -> Result<Migration, MigrationError> {
    let end = graph.resolve(app, end)?;
    let start = match start {
        Some(name) => graph.resolve(app, name)?,
        None => graph
            .app_migrations(app)
            .next()
            .map(Migration::key)
            .ok_or_else(|| MigrationError::graph(format!("app {app} has no migrations")))?,
    };
    let up_to_end = graph.ancestors(&end);
    if !up_to_end.contains(&start) {
        return Err(MigrationError::graph(format!(
            "{} does not come before {}: give the earlier migration first",
            label(&start),
            label(&end)
        )));
    }
    let mut before_start = graph.ancestors(&start);
    before_start.remove(&start);
    let range: Vec<&Migration> = graph
        .app_migrations(app)
        .filter(|migration| {
            let key = migration.key();
            up_to_end.contains(&key) && !before_start.contains(&key)
        })
        .collect();
    let keys: BTreeSet<MigrationKey> = range.iter().map(|migration| migration.key()).collect();
    let mut squashed = Migration::new(app, squashed_name(&start.1, &end.1));
    for migration in &range {
        if !graph.replaced(&migration.key()).is_empty() {
            return Err(MigrationError::graph(format!(
                "{} is a squashed migration already: once every database has applied it, \
                 remove its `replaces` (and the migrations it replaced), then squash again",
                label(&migration.key())
            )));
        }
        if let Some(position) = migration
            .operations
            .iter()
            .position(|operation| matches!(operation, Operation::RunRust(RunRust { .. })))
        {
            return Err(MigrationError::graph(format!(
                "{} runs Rust code (operation {}), which cannot be written into a new \
                 migration file: squash the migrations before it and after it apart, or \
                 move the data migration out of the range",
                label(&migration.key()),
                position + 1
            )));
        }
        for dependency in &migration.dependencies {
            if !keys.contains(dependency) && !squashed.dependencies.contains(dependency) {
                squashed.dependencies.push(dependency.clone());
            }
        }
        squashed.atomic &= migration.atomic;
        squashed.replaces.push(migration.key());
    }
    let operations: Vec<Operation> = range
        .iter()
        .flat_map(|migration| migration.operations.iter().cloned())
        .collect();
    // The reduced operations must build what the originals build.
    let before = graph.state(&before_start)?;
    let build = |operations: &[Operation]| {
        let mut state = before.clone();
        for operation in operations {
            state.apply(app, operation)?;
        }
        Ok::<_, MigrationError>(state)
    };
    let reduced = reduce_operations(app, operations.clone());
    squashed.operations = match (build(&operations), build(&reduced)) {
        (Ok(expected), Ok(got)) if expected == got => reduced,
        _ => operations,
    };
    Ok(squashed)
}

/// `0001_initial_squashed_0004_votes`, or with numbers only when that is
/// too long for a file name people read.
fn squashed_name(start: &str, end: &str) -> String {
    let name = format!("{start}_squashed_{end}");
    if name.len() <= 60 {
        name
    } else {
        format!("{:04}_squashed_{:04}", number(start), number(end))
    }
}
