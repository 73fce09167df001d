//! Operations on whole models: create, delete, rename, move to a table.

use crate::backends::Dialect;

use super::{Operate, Operation};
use crate::migrations::ddl::{self, quote, Step};
use crate::migrations::error::MigrationError;
use crate::migrations::state::{index_name, FieldState, ModelState, ProjectState};
use crate::migrations::writer::{lit, model_source, INDENT};

fn sql(statements: Vec<String>) -> Vec<Step> {
    statements.into_iter().map(Step::Sql).collect()
}

/// Creates a model's table, with its indexes and constraints.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct CreateModel {
    /// The model.
    pub model: ModelState,
}

impl Operate for CreateModel {
    fn describe(&self) -> String {
        format!("Create model {}", self.model.name)
    }

    fn name_fragment(&self) -> Option<String> {
        Some(self.model.name.to_lowercase())
    }

    fn state_forwards(&self, app: &str, state: &mut ProjectState) -> Result<(), MigrationError> {
        if state.model(app, &self.model.name).is_some() {
            return Err(MigrationError::invalid(format!(
                "model {app}.{} is created twice",
                self.model.name
            )));
        }
        let mut model = self.model.clone();
        model.app = app.to_owned();
        state.add_model(model);
        Ok(())
    }

    fn database_forwards(
        &self,
        app: &str,
        _before: &ProjectState,
        after: &ProjectState,
        dialect: Dialect,
    ) -> Result<Vec<Step>, MigrationError> {
        let model = after.expect_model(app, &self.model.name)?;
        Ok(sql(ddl::create_model(model, after, dialect)?))
    }

    fn reverse(
        &self,
        _app: &str,
        _before: &ProjectState,
    ) -> Result<Option<Operation>, MigrationError> {
        Ok(Some(Operation::delete_model(self.model.name.clone())))
    }

    fn source(&self) -> Result<String, MigrationError> {
        Ok(format!(
            "Operation::create_model(\n{INDENT}{},\n        )",
            model_source(&self.model, INDENT)
        ))
    }
}

/// Drops a model's table.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DeleteModel {
    /// The model's name.
    pub name: String,
}

impl Operate for DeleteModel {
    fn describe(&self) -> String {
        format!("Delete model {}", self.name)
    }

    fn name_fragment(&self) -> Option<String> {
        Some(format!("delete_{}", self.name.to_lowercase()))
    }

    fn state_forwards(&self, app: &str, state: &mut ProjectState) -> Result<(), MigrationError> {
        state.expect_model(app, &self.name)?;
        state.models.remove(&(app.to_owned(), self.name.clone()));
        Ok(())
    }

    fn database_forwards(
        &self,
        app: &str,
        before: &ProjectState,
        _after: &ProjectState,
        dialect: Dialect,
    ) -> Result<Vec<Step>, MigrationError> {
        let model = before.expect_model(app, &self.name)?;
        Ok(sql(vec![format!(
            "DROP TABLE {}",
            quote(dialect, &model.table)
        )]))
    }

    fn reverse(
        &self,
        app: &str,
        before: &ProjectState,
    ) -> Result<Option<Operation>, MigrationError> {
        Ok(Some(Operation::create_model(
            before.expect_model(app, &self.name)?.clone(),
        )))
    }

    fn data_loss(&self, _before: &ProjectState, _app: &str) -> Option<&'static str> {
        Some("the table and all its rows are dropped")
    }

    fn source(&self) -> Result<String, MigrationError> {
        Ok(format!("Operation::delete_model({})", lit(&self.name)))
    }
}

/// Renames a model; its table follows when it has the default name.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RenameModel {
    /// The old name.
    pub old_name: String,
    /// The new name.
    pub new_name: String,
}

impl Operate for RenameModel {
    fn describe(&self) -> String {
        format!("Rename model {} to {}", self.old_name, self.new_name)
    }

    fn name_fragment(&self) -> Option<String> {
        Some(format!(
            "rename_{}_{}",
            self.old_name.to_lowercase(),
            self.new_name.to_lowercase()
        ))
    }

    fn state_forwards(&self, app: &str, state: &mut ProjectState) -> Result<(), MigrationError> {
        let (old_name, new_name) = (&self.old_name, &self.new_name);
        if state.model(app, new_name).is_some() {
            return Err(MigrationError::invalid(format!(
                "cannot rename {app}.{old_name}: model {new_name} exists"
            )));
        }
        state.expect_model(app, old_name)?;
        let throughs = through_renames(app, old_name, new_name, state);
        let Some(mut model) = state.models.remove(&(app.to_owned(), old_name.clone())) else {
            return Ok(());
        };
        if model.table == ModelState::default_table(app, old_name) {
            model.table = ModelState::default_table(app, new_name);
        }
        model.name = new_name.clone();
        state.add_model(model);
        for (old_through, through) in throughs {
            if through.name != old_through && state.model(&through.app, &through.name).is_some() {
                return Err(MigrationError::invalid(format!(
                    "cannot rename {app}.{old_name}: its through model {} would replace model {}",
                    old_through, through.name
                )));
            }
            state
                .models
                .remove(&(through.app.clone(), old_through.clone()));
            state.add_model(through);
        }
        // Foreign keys follow the renamed model.
        for other in state.models.values_mut() {
            for field in &mut other.fields {
                if let Some(relation) = &mut field.relation {
                    if relation.app == app && relation.model == *old_name {
                        relation.model.clone_from(new_name);
                    }
                }
            }
        }
        Ok(())
    }

    fn database_forwards(
        &self,
        app: &str,
        before: &ProjectState,
        after: &ProjectState,
        dialect: Dialect,
    ) -> Result<Vec<Step>, MigrationError> {
        let old = before.expect_model(app, &self.old_name)?;
        let new = after.expect_model(app, &self.new_name)?;
        let mut out = ddl::move_table(old, new, after, dialect)?;
        for (old_through, through) in through_renames(app, &self.old_name, &self.new_name, before) {
            let old = before.expect_model(&through.app, &old_through)?;
            let new = after.expect_model(&through.app, &through.name)?;
            out.extend(follow_through(old, new, after, dialect)?);
        }
        Ok(sql(out))
    }

    // The table follows the name both ways when it has the default name.
    fn reverse(
        &self,
        _app: &str,
        _before: &ProjectState,
    ) -> Result<Option<Operation>, MigrationError> {
        Ok(Some(Operation::rename_model(
            self.new_name.clone(),
            self.old_name.clone(),
        )))
    }

    fn source(&self) -> Result<String, MigrationError> {
        Ok(format!(
            "Operation::rename_model({}, {})",
            lit(&self.old_name),
            lit(&self.new_name)
        ))
    }
}

/// Moves a model to another table.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AlterModelTable {
    /// The model's name.
    pub name: String,
    /// The new table name.
    pub table: String,
}

impl Operate for AlterModelTable {
    fn describe(&self) -> String {
        format!("Move model {} to table {}", self.name, self.table)
    }

    fn name_fragment(&self) -> Option<String> {
        Some(format!("alter_{}_table", self.name.to_lowercase()))
    }

    fn state_forwards(&self, app: &str, state: &mut ProjectState) -> Result<(), MigrationError> {
        state.model_mut(app, &self.name)?.table = self.table.clone();
        Ok(())
    }

    fn database_forwards(
        &self,
        app: &str,
        before: &ProjectState,
        after: &ProjectState,
        dialect: Dialect,
    ) -> Result<Vec<Step>, MigrationError> {
        let old = before.expect_model(app, &self.name)?;
        let new = after.expect_model(app, &self.name)?;
        Ok(sql(ddl::move_table(old, new, after, dialect)?))
    }

    fn reverse(
        &self,
        app: &str,
        before: &ProjectState,
    ) -> Result<Option<Operation>, MigrationError> {
        Ok(Some(Operation::alter_model_table(
            self.name.clone(),
            before.expect_model(app, &self.name)?.table.clone(),
        )))
    }

    fn source(&self) -> Result<String, MigrationError> {
        Ok(format!(
            "Operation::alter_model_table({}, {})",
            lit(&self.name),
            lit(&self.table)
        ))
    }
}

/// The automatic through model of a many-to-many field, as
/// `ProjectState::from_models` makes it: `(model, field name)` it belongs
/// to. The state does not mark such models (migration files written
/// before could not say), so they are known by their shape: a key and two
/// foreign keys, named `<Model>_<field>` and stored in `<table>_<field>`
/// after the model the first key points to.
fn auto_through_of<'a>(
    state: &'a ProjectState,
    through: &ModelState,
) -> Option<(&'a ModelState, String)> {
    let [id, source, target] = through.fields.as_slice() else {
        return None;
    };
    if id.name != "id" || !id.primary_key || target.relation.is_none() {
        return None;
    }
    let relation = source.relation.as_ref()?;
    let owner = state.model(&relation.app, &relation.model)?;
    let field = through.name.strip_prefix(&format!("{}_", owner.name))?;
    let lower = owner.name.to_lowercase();
    let follows = owner.app == through.app
        && through.table == format!("{}_{field}", owner.table)
        && (source.column == format!("{lower}_id") || source.column == format!("from_{lower}_id"));
    follows.then(|| (owner, field.to_owned()))
}

/// The automatic through models that change when model `old_name` of `app`
/// becomes `new_name`, found in `state` (before the rename): by their old
/// name, each as it becomes. Those of the model itself move to the new
/// model's name and table, and in every through model the columns named
/// after the model (`book_id`, `from_book_id`, `to_book_id`) follow the new
/// name, as Django's `RenameModel` does; so does the name of the unique
/// constraint over the pair.
fn through_renames(
    app: &str,
    old_name: &str,
    new_name: &str,
    state: &ProjectState,
) -> Vec<(String, ModelState)> {
    let (old_lower, new_lower) = (old_name.to_lowercase(), new_name.to_lowercase());
    let new_table = |table: &str| {
        if table == ModelState::default_table(app, old_name) {
            ModelState::default_table(app, new_name)
        } else {
            table.to_owned()
        }
    };
    let points_here = |field: &FieldState| {
        field
            .relation
            .as_ref()
            .is_some_and(|relation| relation.app == app && relation.model == old_name)
    };
    let mut out = Vec::new();
    for through in state.models.values() {
        let Some((owner, field_name)) = auto_through_of(state, through) else {
            continue;
        };
        let mut new = through.clone();
        if owner.app == app && owner.name == old_name {
            new.name = format!("{new_name}_{field_name}");
            new.table = format!("{}_{field_name}", new_table(&owner.table));
        }
        for field in new.fields.iter_mut().filter(|field| points_here(field)) {
            let renamed = [
                (old_lower.clone(), new_lower.clone()),
                (format!("from_{old_lower}"), format!("from_{new_lower}")),
                (format!("to_{old_lower}"), format!("to_{new_lower}")),
            ]
            .into_iter()
            .find(|(old, _)| field.name == *old && field.column == format!("{old}_id"));
            if let Some((_, name)) = renamed {
                for group in new
                    .constraints
                    .iter_mut()
                    .map(|constraint| &mut constraint.fields)
                    .chain(new.indexes.iter_mut().map(|index| &mut index.fields))
                {
                    for member in group.iter_mut().filter(|member| **member == field.name) {
                        member.clone_from(&name);
                    }
                }
                field.column = format!("{name}_id");
                field.name = name;
            }
        }
        // Constraint names made from the table and columns follow them.
        let columns = |model: &ModelState, fields: &[String]| -> Vec<String> {
            fields
                .iter()
                .map(|f| model.column_of(f).to_owned())
                .collect()
        };
        let names: Vec<Option<String>> = new
            .constraints
            .iter()
            .zip(&through.constraints)
            .map(|(constraint, old)| {
                let derived =
                    old.name == index_name(&through.table, &columns(through, &old.fields), "uniq");
                derived.then(|| index_name(&new.table, &columns(&new, &constraint.fields), "uniq"))
            })
            .collect();
        for (constraint, name) in new.constraints.iter_mut().zip(names) {
            if let Some(name) = name {
                constraint.name = name;
            }
        }
        if new != *through {
            out.push((through.name.clone(), new));
        }
    }
    out
}

/// The SQL that takes a through table from `old` to `new` (another table
/// name, columns and unique constraint): its keys and indexes are dropped
/// and made again under the names that follow the table and columns.
fn follow_through(
    old: &ModelState,
    new: &ModelState,
    state: &ProjectState,
    dialect: Dialect,
) -> Result<Vec<String>, MigrationError> {
    let sqlite = dialect == Dialect::Sqlite;
    let mut out = Vec::new();
    // MySQL keeps an index while a foreign key uses it: keys go first.
    for field in &old.fields {
        if !sqlite {
            out.extend(ddl::drop_fk(&old.table, field, dialect));
        }
        out.extend(ddl::drop_field_indexes(&old.table, field, dialect));
    }
    for constraint in &old.constraints {
        out.push(ddl::drop_constraint(old, constraint, dialect));
    }
    if old.table != new.table {
        out.push(ddl::rename_table(dialect, &old.table, &new.table));
    }
    for (before, after) in old.fields.iter().zip(&new.fields) {
        if before.column != after.column {
            out.push(format!(
                "ALTER TABLE {} RENAME COLUMN {} TO {}",
                quote(dialect, &new.table),
                quote(dialect, &before.column),
                quote(dialect, &after.column)
            ));
        }
    }
    for field in &new.fields {
        out.extend(ddl::field_indexes(new, field, dialect)?);
        if !sqlite {
            out.extend(ddl::add_fk(state, &new.table, field, dialect)?);
        }
    }
    for constraint in &new.constraints {
        out.push(ddl::create_constraint(new, constraint, dialect)?);
    }
    Ok(out)
}
