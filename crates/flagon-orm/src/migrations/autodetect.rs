//! The autodetector: a pure function from the state the migrations build
//! and the state the models describe to the operations between them.
//!
//! Whether a model or field was renamed cannot be told from the states
//! alone, so the detector asks a [`Questioner`]: the command line asks the
//! user, or takes `--rename` answers; tests answer in code.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::FieldDefault;

use super::error::MigrationError;
use super::operations::Operation;
use super::state::{FieldState, ModelState, ProjectState};

/// Answers the questions the detector cannot answer alone. Every method
/// has a cautious default (no rename, no default).
pub trait Questioner {
    /// Was model `old` renamed to `new` (in `app`)? `similar` says whether
    /// their fields are the same, which makes a rename likely.
    fn ask_rename_model(
        &mut self,
        app: &str,
        old: &ModelState,
        new: &ModelState,
        similar: bool,
    ) -> bool {
        let _ = (app, old, new, similar);
        false
    }

    /// Was field `old` of `model` renamed to `new`? `similar` says whether
    /// their definitions are the same.
    fn ask_rename_field(
        &mut self,
        app: &str,
        model: &str,
        old: &FieldState,
        new: &FieldState,
        similar: bool,
    ) -> bool {
        let _ = (app, model, old, new, similar);
        false
    }

    /// A value for the existing rows of `model`, which the not-null `field`
    /// is added to (`adding`) or stops allowing NULL in.
    fn ask_not_null_default(
        &mut self,
        app: &str,
        model: &str,
        field: &FieldState,
        adding: bool,
    ) -> Option<FieldDefault> {
        let _ = (app, model, field, adding);
        None
    }
}

/// A rename given up front, as `makemigrations --rename` takes it:
/// `Model=NewModel` for a model, `Model.field=new_field` for a field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rename {
    /// A model rename.
    Model {
        /// The old name.
        old: String,
        /// The new name.
        new: String,
    },
    /// A field rename.
    Field {
        /// The model (its new name, if it was renamed too).
        model: String,
        /// The old name.
        old: String,
        /// The new name.
        new: String,
    },
}

impl std::str::FromStr for Rename {
    type Err = String;

    /// Parses `Old=New` or `Model.old=new`.
    fn from_str(text: &str) -> Result<Self, String> {
        let usage = || {
            format!("`{text}` is not a rename: write `OldModel=NewModel` or `Model.old_field=new_field`")
        };
        let (left, new) = text.split_once('=').ok_or_else(usage)?;
        let (left, new) = (left.trim(), new.trim());
        if left.is_empty() || new.is_empty() || new.contains('.') {
            return Err(usage());
        }
        Ok(match left.split_once('.') {
            Some((model, old)) if !model.is_empty() && !old.is_empty() => Rename::Field {
                model: model.to_owned(),
                old: old.to_owned(),
                new: new.to_owned(),
            },
            Some(_) => return Err(usage()),
            None => Rename::Model {
                old: left.to_owned(),
                new: new.to_owned(),
            },
        })
    }
}

/// A questioner that renames only what it was told to, and gives no
/// defaults: what `makemigrations --noinput` uses.
#[derive(Clone, Debug, Default)]
pub struct GivenAnswers {
    /// The renames to make.
    pub renames: Vec<Rename>,
    /// One-off defaults, by `(model, field)`.
    pub defaults: Vec<(String, String, FieldDefault)>,
}

impl Questioner for GivenAnswers {
    fn ask_rename_model(
        &mut self,
        _app: &str,
        old: &ModelState,
        new: &ModelState,
        _similar: bool,
    ) -> bool {
        self.renames.iter().any(|rename| {
            matches!(rename, Rename::Model { old: o, new: n } if *o == old.name && *n == new.name)
        })
    }

    fn ask_rename_field(
        &mut self,
        _app: &str,
        model: &str,
        old: &FieldState,
        new: &FieldState,
        _similar: bool,
    ) -> bool {
        self.renames.iter().any(|rename| {
            matches!(rename, Rename::Field { model: m, old: o, new: n }
                if m == model && *o == old.name && *n == new.name)
        })
    }

    fn ask_not_null_default(
        &mut self,
        _app: &str,
        model: &str,
        field: &FieldState,
        _adding: bool,
    ) -> Option<FieldDefault> {
        self.defaults
            .iter()
            .find(|(m, f, _)| m == model && *f == field.name)
            .map(|(_, _, value)| value.clone())
    }
}

/// What the detector found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Changes {
    /// The operations, by app.
    pub apps: BTreeMap<String, Vec<Operation>>,
    /// Things the user should know: a removed and an added field or model
    /// that look like a rename but were not taken as one.
    pub notes: Vec<String>,
}

impl Changes {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.apps.values().all(Vec::is_empty)
    }
}

/// The operations that turn `from` (the migrations' state) into `to` (the
/// models' state), asking `questioner` about renames and defaults.
///
/// ```
/// use flagon_orm::migrations::{detect_changes, FieldState, GivenAnswers, ModelState, Operation, ProjectState};
/// use flagon_orm::FieldKind;
///
/// let question = ModelState::new("polls", "Question", "polls_question")
///     .field(FieldState::new("id", FieldKind::BigInteger).primary_key().auto());
/// let mut to = ProjectState::new();
/// to.add_model(question.clone());
/// let changes = detect_changes(&ProjectState::new(), &to, &mut GivenAnswers::default())?;
/// assert_eq!(changes.apps["polls"], vec![Operation::create_model(question)]);
/// # Ok::<(), flagon_orm::migrations::MigrationError>(())
/// ```
pub fn detect_changes(
    from: &ProjectState,
    to: &ProjectState,
    questioner: &mut dyn Questioner,
) -> Result<Changes, MigrationError> {
    let from = &keys_followed(from, to);
    let mut changes = Changes::default();
    let apps: std::collections::BTreeSet<&String> = from
        .models
        .keys()
        .chain(to.models.keys())
        .map(|(app, _)| app)
        .collect();
    for app in apps {
        let operations = detect_app(app, from, to, questioner, &mut changes.notes)?;
        if !operations.is_empty() {
            changes.apps.insert(app.clone(), operations);
        }
    }
    Ok(changes)
}

/// `from`, with the foreign keys to each model whose key changes type in
/// `to` already of the new type: altering the key changes them too (see
/// [`ProjectState::apply`]), so they need no operation of their own, and
/// one that came before the key's would fail on MySQL.
fn keys_followed(from: &ProjectState, to: &ProjectState) -> ProjectState {
    let mut out = from.clone();
    for ((app, name), new) in &to.models {
        let (Some(old_key), Some(new_key)) = (
            from.model(app, name).and_then(ModelState::key_field),
            new.key_field(),
        ) else {
            continue;
        };
        let same_type = old_key.kind == new_key.kind
            && old_key.max_length == new_key.max_length
            && old_key.max_digits == new_key.max_digits
            && old_key.decimal_places == new_key.decimal_places;
        if old_key.name == new_key.name && !same_type {
            out.follow_key_type(app, name, new_key);
        }
    }
    out
}

fn models_of<'a>(state: &'a ProjectState, app: &str) -> Vec<&'a ModelState> {
    state
        .models
        .iter()
        .filter(|((model_app, _), _)| model_app == app)
        .map(|(_, model)| model)
        .collect()
}

fn same_fields(a: &ModelState, b: &ModelState) -> bool {
    a.fields.len() == b.fields.len() && a.fields.iter().zip(&b.fields).all(|(x, y)| x == y)
}

fn detect_app(
    app: &str,
    from: &ProjectState,
    to: &ProjectState,
    questioner: &mut dyn Questioner,
    notes: &mut Vec<String>,
) -> Result<Vec<Operation>, MigrationError> {
    let new_models = models_of(to, app);
    // `from` with the renames made so far: a renamed model's through
    // tables and the foreign keys to it follow it there, so they are
    // compared as they are after the rename, not taken as new.
    let mut renamed = from.clone();
    let mut operations = Vec::new();
    let mut created: Vec<ModelState> = Vec::new();
    for new in &new_models {
        if renamed.model(app, &new.name).is_some() {
            continue;
        }
        let removed: Vec<ModelState> = models_of(&renamed, app)
            .into_iter()
            .filter(|old| to.model(app, &old.name).is_none())
            .cloned()
            .collect();
        let mut renamed_from = None;
        for old in &removed {
            let similar = same_fields(old, new);
            if questioner.ask_rename_model(app, old, new, similar) {
                renamed_from = Some(old.name.clone());
                break;
            } else if similar {
                notes.push(format!(
                    "model {app}.{} was removed and {} added with the same fields; \
                     if it was renamed, answer yes or pass --rename {}={}",
                    old.name, new.name, old.name, new.name
                ));
            }
        }
        match renamed_from {
            Some(old_name) => {
                let rename = Operation::rename_model(old_name, new.name.clone());
                renamed.apply(app, &rename)?;
                operations.push(rename);
            }
            None => created.push((*new).clone()),
        }
    }
    // Pairs (old state, renamed, and new) to compare field by field.
    let mut pairs: Vec<(ModelState, &ModelState)> = new_models
        .iter()
        .filter_map(|new| Some((renamed.model(app, &new.name)?.clone(), *new)))
        .collect();
    let removed: Vec<ModelState> = models_of(&renamed, app)
        .into_iter()
        .filter(|old| to.model(app, &old.name).is_none())
        .cloned()
        .collect();

    for (old, new) in &pairs {
        if old.table != new.table {
            operations.push(Operation::alter_model_table(
                new.name.clone(),
                new.table.clone(),
            ));
        }
    }
    // Models are created after the models of the app they point to, and
    // deleted before them (after the fields pointing to them are gone).
    // Foreign keys that close a cycle are added once both tables exist.
    let (creates, deferred) = creation_order(app, created);
    operations.extend(creates.into_iter().map(Operation::create_model));
    operations.extend(deferred);
    pairs.sort_by(|a, b| a.1.name.cmp(&b.1.name));
    for (old, new) in &pairs {
        detect_model(app, old, new, questioner, notes, &mut operations)?;
    }
    let mut deletes: Vec<Operation> = in_dependency_order(app, removed)
        .into_iter()
        .map(|model| Operation::delete_model(model.name))
        .collect();
    deletes.reverse();
    operations.extend(deletes);
    Ok(operations)
}

/// The models of `app` to create, in an order where each comes after the
/// models it points to, and the operations that finish them: where their
/// foreign keys form a cycle, the first model left is created without the
/// keys to models not created yet, which are added (with the indexes and
/// unique constraints that use them) after every model is, as Django's
/// autodetector does. The new tables are empty, so a NOT NULL key needs
/// no default there.
fn creation_order(app: &str, mut pending: Vec<ModelState>) -> (Vec<ModelState>, Vec<Operation>) {
    let points_to = |field: &FieldState, names: &[String], own: &str| {
        field.relation.as_ref().is_some_and(|relation| {
            relation.app == app && relation.model != own && names.contains(&relation.model)
        })
    };
    let mut ordered = Vec::with_capacity(pending.len());
    let mut deferred = Vec::new();
    while !pending.is_empty() {
        let names: Vec<String> = pending.iter().map(|model| model.name.clone()).collect();
        let ready = pending.iter().position(|model| {
            !model
                .fields
                .iter()
                .any(|field| points_to(field, &names, &model.name))
        });
        let Some(position) = ready else {
            // A cycle: break it at the first model left.
            let mut model = pending.remove(0);
            let (later, kept): (Vec<FieldState>, Vec<FieldState>) = model
                .fields
                .into_iter()
                .partition(|field| points_to(field, &names, &model.name));
            model.fields = kept;
            let uses_later = |fields: &[String]| {
                fields
                    .iter()
                    .any(|name| later.iter().any(|field| field.name == *name))
            };
            let (later_indexes, indexes) = model
                .indexes
                .into_iter()
                .partition(|index| uses_later(&index.fields));
            model.indexes = indexes;
            let (later_constraints, constraints) = model
                .constraints
                .into_iter()
                .partition(|constraint| uses_later(&constraint.used_fields()));
            model.constraints = constraints;
            let name = model.name.clone();
            deferred.extend(
                later
                    .into_iter()
                    .map(|field| Operation::add_field(name.clone(), field)),
            );
            deferred.extend(
                later_indexes
                    .into_iter()
                    .map(|index: super::state::IndexState| {
                        Operation::add_index(name.clone(), index)
                    }),
            );
            deferred.extend(later_constraints.into_iter().map(
                |constraint: super::state::ConstraintState| {
                    Operation::add_constraint(name.clone(), constraint)
                },
            ));
            ordered.push(model);
            continue;
        };
        ordered.push(pending.remove(position));
    }
    (ordered, deferred)
}

/// `models` ordered so each comes after the models of `app` it points to
/// (a cycle keeps the remaining ones in name order).
fn in_dependency_order(app: &str, mut pending: Vec<ModelState>) -> Vec<ModelState> {
    let targets = |model: &ModelState| -> Vec<String> {
        model
            .fields
            .iter()
            .filter_map(|field| field.relation.as_ref())
            .filter(|relation| relation.app == app && relation.model != model.name)
            .map(|relation| relation.model.clone())
            .collect()
    };
    let mut ordered = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let names: Vec<String> = pending.iter().map(|model| model.name.clone()).collect();
        let ready = pending
            .iter()
            .position(|model| targets(model).iter().all(|target| !names.contains(target)))
            .unwrap_or(0);
        ordered.push(pending.remove(ready));
    }
    ordered
}

fn detect_model(
    app: &str,
    old: &ModelState,
    new: &ModelState,
    questioner: &mut dyn Questioner,
    notes: &mut Vec<String>,
    operations: &mut Vec<Operation>,
) -> Result<(), MigrationError> {
    let model = new.name.as_str();
    let mut removed: Vec<&FieldState> = old
        .fields
        .iter()
        .filter(|field| new.get_field(&field.name).is_none())
        .collect();
    let mut added = Vec::new();
    let mut renames = Vec::new();
    // The fields as they are once renames are made: old name -> new name.
    let mut current = old.clone();
    for field in new
        .fields
        .iter()
        .filter(|f| old.get_field(&f.name).is_none())
    {
        let mut taken = None;
        for (position, candidate) in removed.iter().enumerate() {
            let similar = candidate.same_definition(field);
            if questioner.ask_rename_field(app, model, candidate, field, similar) {
                taken = Some(position);
                break;
            } else if similar {
                notes.push(format!(
                    "field {model}.{} was removed and {model}.{} added with the same definition; \
                     if it was renamed, answer yes or pass --rename {model}.{}={}",
                    candidate.name, field.name, candidate.name, field.name
                ));
            }
        }
        match taken {
            Some(position) => {
                let old_field = removed.remove(position);
                let rename =
                    Operation::rename_field(model, old_field.name.clone(), field.name.clone());
                let mut state = ProjectState::new();
                state.add_model(current.clone());
                state.apply(app, &rename)?;
                if let Some(model_state) = state.model(app, model) {
                    current = model_state.clone();
                }
                renames.push(rename);
            }
            None => added.push(field),
        }
    }

    // Indexes and constraints that go (or change), before the fields they use.
    for index in &current.indexes {
        if !new.indexes.contains(index) {
            operations.push(Operation::remove_index(model, index.name.clone()));
        }
    }
    for constraint in &current.constraints {
        if !new.constraints.contains(constraint) {
            operations.push(Operation::remove_constraint(model, constraint.name.clone()));
        }
    }
    operations.extend(renames);
    for field in &removed {
        operations.push(Operation::remove_field(model, field.name.clone()));
    }
    for field in added {
        let mut operation = Operation::add_field(model, field.clone());
        if !field.null && field.default.is_none() && !field.auto {
            match questioner.ask_not_null_default(app, model, field, true) {
                Some(value) => operation = operation.one_off_default(value),
                None => {
                    return Err(MigrationError::NeedsAnswer {
                        message: format!(
                            "field {model}.{} is added as NOT NULL without a default, so the rows \
                             already in the table need a value: give it `#[field(default = ..)]`, \
                             make it an `Option<..>`, or run makemigrations in a terminal to give \
                             a one-off value",
                            field.name
                        ),
                    })
                }
            }
        }
        operations.push(operation);
    }
    for field in &new.fields {
        let Some(before) = current.get_field(&field.name) else {
            continue;
        };
        if before != field {
            let mut operation = Operation::alter_field(model, field.clone());
            if before.null && !field.null && field.default.is_none() {
                if let Some(value) = questioner.ask_not_null_default(app, model, field, false) {
                    operation = operation.one_off_default(value);
                }
            }
            operations.push(operation);
        }
    }
    for index in &new.indexes {
        if !current.indexes.contains(index) {
            operations.push(Operation::add_index(model, index.clone()));
        }
    }
    for constraint in &new.constraints {
        if !current.constraints.contains(constraint) {
            operations.push(Operation::add_constraint(model, constraint.clone()));
        }
    }
    Ok(())
}

/// The other apps whose migrations must run before a migration of `app`
/// holding `operations` (detected from `from`, the state the migrations
/// build): those whose models its foreign keys point to, and, for a model
/// it deletes, those whose foreign keys pointed to it (their new migration
/// removes the keys first), as Django's autodetector does.
///
/// ```
/// use flagon_orm::migrations::{app_dependencies, FieldState, ModelState, Operation, ProjectState};
/// use flagon_orm::{FieldKind, OnDelete};
///
/// let post = ModelState::new("blog", "Post", "blog_post")
///     .field(FieldState::new("id", FieldKind::BigInteger).primary_key().auto())
///     .field(FieldState::new("author", FieldKind::BigInteger).references("auth", "User", OnDelete::Cascade));
/// let apps = app_dependencies("blog", &[Operation::create_model(post)], &ProjectState::new());
/// assert!(apps.contains("auth"));
/// ```
pub fn app_dependencies(
    app: &str,
    operations: &[Operation],
    from: &ProjectState,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for operation in operations {
        if let Operation::DeleteModel(delete) = operation {
            let pointing = from.models.values().filter(|model| {
                model.app != app
                    && model.fields.iter().any(|field| {
                        field.relation.as_ref().is_some_and(|relation| {
                            relation.app == app && relation.model == delete.name
                        })
                    })
            });
            out.extend(pointing.map(|model| model.app.clone()));
        }
        let fields: Vec<&FieldState> = match operation {
            Operation::CreateModel(create) => create.model.fields.iter().collect(),
            Operation::AddField(add) => vec![&add.field],
            Operation::AlterField(alter) => vec![&alter.field],
            _ => Vec::new(),
        };
        for relation in fields
            .into_iter()
            .filter_map(|field| field.relation.as_ref())
        {
            if relation.app != app {
                out.insert(relation.app.clone());
            }
        }
    }
    out
}
