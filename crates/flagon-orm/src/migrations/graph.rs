//! The migration graph: every app's migrations, ordered by their
//! dependencies, and the plans that bring a database to a target.

use std::collections::{BTreeMap, BTreeSet};

use super::error::MigrationError;
use super::migration::Migration;
use super::state::ProjectState;

/// A migration's identity: `(app, name)`.
pub type MigrationKey = (String, String);

/// Formats a key as `app.name`.
pub(crate) fn label(key: &MigrationKey) -> String {
    format!("{}.{}", key.0, key.1)
}

/// Where `migrate` should bring an app (or every app).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Every app to its latest migration.
    All,
    /// One app to its latest migration.
    Latest(String),
    /// One app to the migration whose name is or starts with the second
    /// string: applied up to it, or undone back to it.
    Named(String, String),
    /// One app with none of its migrations applied (`migrate app zero`).
    Zero(String),
}

/// Whether a migration is applied or undone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Applied.
    Forwards,
    /// Undone.
    Backwards,
}

/// The migrations of every app, checked and in dependency order.
#[derive(Debug, Default)]
pub struct MigrationGraph {
    nodes: BTreeMap<MigrationKey, Migration>,
    order: Vec<MigrationKey>,
    /// Each squashed migration's replaced migrations (not in `nodes`).
    replacements: BTreeMap<MigrationKey, Vec<MigrationKey>>,
}

impl MigrationGraph {
    /// Builds the graph; fails on a duplicate, a missing dependency or a
    /// cycle, naming the migrations involved.
    pub fn new(migrations: impl IntoIterator<Item = Migration>) -> Result<Self, MigrationError> {
        let mut nodes = BTreeMap::new();
        for migration in migrations {
            let key = migration.key();
            if nodes.insert(key.clone(), migration).is_some() {
                return Err(MigrationError::graph(format!(
                    "migration {} is defined twice",
                    label(&key)
                )));
            }
        }
        // A squashed migration stands for the migrations it replaces: they
        // leave the graph, and what depended on them depends on it.
        let mut replaced_by: BTreeMap<MigrationKey, MigrationKey> = BTreeMap::new();
        let mut replacements = BTreeMap::new();
        for (key, migration) in &nodes {
            if migration.replaces.is_empty() {
                continue;
            }
            for replaced in &migration.replaces {
                if let Some(other) = replaced_by.insert(replaced.clone(), key.clone()) {
                    return Err(MigrationError::graph(format!(
                        "migration {} is replaced by both {} and {}",
                        label(replaced),
                        label(&other),
                        label(key)
                    )));
                }
                if nodes.get(replaced).is_some_and(|m| !m.replaces.is_empty()) {
                    return Err(MigrationError::graph(format!(
                        "{} replaces {}, which is itself a squashed migration: \
                         squash the original migrations instead",
                        label(key),
                        label(replaced)
                    )));
                }
            }
            replacements.insert(key.clone(), migration.replaces.clone());
        }
        for replaced in replaced_by.keys() {
            nodes.remove(replaced);
        }
        for (key, migration) in nodes.iter_mut() {
            let mut dependencies: Vec<MigrationKey> = Vec::new();
            for dependency in &migration.dependencies {
                let dependency = replaced_by.get(dependency).unwrap_or(dependency);
                if dependency != key && !dependencies.contains(dependency) {
                    dependencies.push(dependency.clone());
                }
            }
            migration.dependencies = dependencies;
        }
        for (key, migration) in &nodes {
            for dependency in &migration.dependencies {
                if !nodes.contains_key(dependency) {
                    return Err(MigrationError::graph(format!(
                        "migration {} depends on {}, which does not exist \
                         (is its app registered, with its migrations?)",
                        label(key),
                        label(dependency)
                    )));
                }
            }
        }
        // Kahn's algorithm; ties broken by key so the order is stable.
        let mut waiting: BTreeMap<&MigrationKey, usize> = nodes
            .iter()
            .map(|(key, migration)| (key, migration.dependencies.len()))
            .collect();
        let mut ready: BTreeSet<&MigrationKey> = waiting
            .iter()
            .filter(|(_, count)| **count == 0)
            .map(|(key, _)| *key)
            .collect();
        let mut order = Vec::with_capacity(nodes.len());
        while let Some(key) = ready.pop_first() {
            waiting.remove(key);
            order.push(key.clone());
            for (other, migration) in &nodes {
                if migration.dependencies.contains(key) {
                    if let Some(count) = waiting.get_mut(other) {
                        *count -= 1;
                        if *count == 0 {
                            ready.insert(other);
                        }
                    }
                }
            }
        }
        if !waiting.is_empty() {
            let names: Vec<String> = waiting.keys().map(|key| label(key)).collect();
            return Err(MigrationError::graph(format!(
                "the dependencies of these migrations form a cycle: {}",
                names.join(", ")
            )));
        }
        Ok(MigrationGraph {
            nodes,
            order,
            replacements,
        })
    }

    /// The migrations the squashed migration `key` replaces (none for
    /// another migration).
    ///
    /// ```
    /// use flagon_orm::migrations::{Migration, MigrationGraph};
    ///
    /// let graph = MigrationGraph::new([
    ///     Migration::new("polls", "0001_initial"),
    ///     Migration::new("polls", "0002_votes").depends_on("polls", "0001_initial"),
    ///     Migration::new("polls", "0001_squashed_0002")
    ///         .replaces("polls", "0001_initial")
    ///         .replaces("polls", "0002_votes"),
    /// ])?;
    /// let squashed = ("polls".to_owned(), "0001_squashed_0002".to_owned());
    /// assert_eq!(graph.replaced(&squashed).len(), 2);
    /// // The squashed migration stands for them in the graph.
    /// assert_eq!(graph.ordered().count(), 1);
    /// # Ok::<(), flagon_orm::migrations::MigrationError>(())
    /// ```
    pub fn replaced(&self, key: &MigrationKey) -> &[MigrationKey] {
        self.replacements.get(key).map_or(&[], Vec::as_slice)
    }

    /// The applied migrations as the graph counts them, from those
    /// `recorded` in `flagon_migrations`: a squashed migration counts as
    /// applied when all the migrations it replaces are. When only some of
    /// them are, the squashed migration cannot stand for them: that is an
    /// error saying what to do.
    ///
    /// ```
    /// use std::collections::BTreeSet;
    /// use flagon_orm::migrations::{Migration, MigrationGraph};
    ///
    /// let graph = MigrationGraph::new([
    ///     Migration::new("polls", "0001_squashed_0002")
    ///         .replaces("polls", "0001_initial")
    ///         .replaces("polls", "0002_votes"),
    /// ])?;
    /// let key = |name: &str| ("polls".to_owned(), name.to_owned());
    /// let all = BTreeSet::from([key("0001_initial"), key("0002_votes")]);
    /// assert!(graph.applied_view(&all)?.contains(&key("0001_squashed_0002")));
    /// assert!(graph.applied_view(&BTreeSet::from([key("0001_initial")])).is_err());
    /// # Ok::<(), flagon_orm::migrations::MigrationError>(())
    /// ```
    pub fn applied_view(
        &self,
        recorded: &BTreeSet<MigrationKey>,
    ) -> Result<BTreeSet<MigrationKey>, MigrationError> {
        let mut applied = recorded.clone();
        for (squashed, replaced) in &self.replacements {
            let (done, missing): (Vec<&MigrationKey>, Vec<&MigrationKey>) =
                replaced.iter().partition(|key| recorded.contains(*key));
            if missing.is_empty() {
                applied.insert(squashed.clone());
            } else if !done.is_empty() && !recorded.contains(squashed) {
                let names = |keys: &[&MigrationKey]| {
                    keys.iter()
                        .map(|key| key.1.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                return Err(MigrationError::graph(format!(
                    "the database has applied {} but not {}, and {} replaces them all: \
                     a squashed migration stands for all of its migrations or none. \
                     Apply the rest with a build that has them without the squashed \
                     migration (or leave it out until every database has them all), \
                     then migrate again",
                    names(&done),
                    names(&missing),
                    label(squashed)
                )));
            }
        }
        Ok(applied)
    }

    /// Every migration, in an order that puts each after its dependencies.
    pub fn ordered(&self) -> impl Iterator<Item = &Migration> {
        self.order.iter().filter_map(|key| self.nodes.get(key))
    }

    /// The migration `key`.
    pub fn get(&self, key: &MigrationKey) -> Option<&Migration> {
        self.nodes.get(key)
    }

    /// The migrations of `app`, in order.
    pub fn app_migrations<'a>(&'a self, app: &'a str) -> impl Iterator<Item = &'a Migration> + 'a {
        self.ordered().filter(move |migration| migration.app == app)
    }

    /// The latest migration of `app`: the one no other migration of the
    /// app depends on. Two of them are a conflict to merge.
    pub fn leaf(&self, app: &str) -> Result<Option<MigrationKey>, MigrationError> {
        let leaves = self.leaves(app);
        match leaves.as_slice() {
            [] => Ok(None),
            [leaf] => Ok(Some(leaf.clone())),
            many => {
                let names: Vec<String> = many.iter().map(label).collect();
                Err(MigrationError::graph(format!(
                    "conflicting migrations in app {app}: {} are each the latest; \
                     run `makemigrations --merge` to write a migration that merges them \
                     (or make one depend on the other)",
                    names.join(" and ")
                )))
            }
        }
    }

    /// The migrations of `app` that no other migration of the app depends
    /// on, in key order: one when its history is a line, several when two
    /// branches (made on two branches of the code) need a merge
    /// (`makemigrations --merge`).
    ///
    /// ```
    /// use flagon_orm::migrations::{Migration, MigrationGraph};
    ///
    /// let graph = MigrationGraph::new([
    ///     Migration::new("polls", "0001_initial"),
    ///     Migration::new("polls", "0002_a").depends_on("polls", "0001_initial"),
    ///     Migration::new("polls", "0002_b").depends_on("polls", "0001_initial"),
    /// ])?;
    /// assert_eq!(graph.leaves("polls").len(), 2);
    /// assert!(graph.leaf("polls").is_err());
    /// # Ok::<(), flagon_orm::migrations::MigrationError>(())
    /// ```
    pub fn leaves(&self, app: &str) -> Vec<MigrationKey> {
        self.nodes
            .keys()
            .filter(|key| key.0 == app)
            .filter(|key| {
                !self
                    .nodes
                    .values()
                    .any(|other| other.app == app && other.dependencies.contains(key))
            })
            .cloned()
            .collect()
    }

    /// The apps that have migrations.
    pub fn apps(&self) -> BTreeSet<String> {
        self.nodes.keys().map(|key| key.0.clone()).collect()
    }

    /// The migration of `app` whose name is `name` or starts with it.
    pub fn resolve(&self, app: &str, name: &str) -> Result<MigrationKey, MigrationError> {
        let exact = (app.to_owned(), name.to_owned());
        if self.nodes.contains_key(&exact) {
            return Ok(exact);
        }
        let matches: Vec<&MigrationKey> = self
            .nodes
            .keys()
            .filter(|key| key.0 == app && key.1.starts_with(name))
            .collect();
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(MigrationError::graph(format!(
                "app {app} has no migration named `{name}`{}",
                if self.apps().contains(app) {
                    ""
                } else {
                    " (it has no migrations at all)"
                }
            ))),
            many => {
                let names: Vec<&str> = many.iter().map(|key| key.1.as_str()).collect();
                Err(MigrationError::graph(format!(
                    "`{name}` matches several migrations of app {app}: {}",
                    names.join(", ")
                )))
            }
        }
    }

    /// `key` and everything it depends on, directly or not.
    ///
    /// ```
    /// use flagon_orm::migrations::{Migration, MigrationGraph};
    ///
    /// let graph = MigrationGraph::new([
    ///     Migration::new("polls", "0001_initial"),
    ///     Migration::new("polls", "0002_a").depends_on("polls", "0001_initial"),
    /// ])?;
    /// assert_eq!(graph.ancestors(&("polls".into(), "0002_a".into())).len(), 2);
    /// # Ok::<(), flagon_orm::migrations::MigrationError>(())
    /// ```
    pub fn ancestors(&self, key: &MigrationKey) -> BTreeSet<MigrationKey> {
        let mut out = BTreeSet::new();
        let mut stack = vec![key.clone()];
        while let Some(key) = stack.pop() {
            if let Some(migration) = self.nodes.get(&key) {
                if out.insert(key) {
                    stack.extend(migration.dependencies.iter().cloned());
                }
            }
        }
        out
    }

    /// `key` and everything that depends on it, directly or not.
    fn descendants(&self, key: &MigrationKey) -> BTreeSet<MigrationKey> {
        let mut out = BTreeSet::new();
        let mut stack = vec![key.clone()];
        while let Some(key) = stack.pop() {
            if out.insert(key.clone()) {
                stack.extend(
                    self.nodes
                        .iter()
                        .filter(|(_, migration)| migration.dependencies.contains(&key))
                        .map(|(other, _)| other.clone()),
                );
            }
        }
        out
    }

    /// The migrations to apply or undo, in order, to reach `target` from
    /// the `applied` ones.
    pub fn plan(
        &self,
        target: &Target,
        applied: &BTreeSet<MigrationKey>,
    ) -> Result<Vec<(MigrationKey, Direction)>, MigrationError> {
        let applied = &self.applied_view(applied)?;
        let forwards = |wanted: BTreeSet<MigrationKey>| {
            self.order
                .iter()
                .filter(|key| wanted.contains(*key) && !applied.contains(*key))
                .map(|key| (key.clone(), Direction::Forwards))
                .collect::<Vec<_>>()
        };
        let backwards = |undo: BTreeSet<MigrationKey>| {
            self.order
                .iter()
                .rev()
                .filter(|key| undo.contains(*key) && applied.contains(*key))
                .map(|key| (key.clone(), Direction::Backwards))
                .collect::<Vec<_>>()
        };
        match target {
            Target::All => {
                let mut wanted = BTreeSet::new();
                for app in self.apps() {
                    if let Some(leaf) = self.leaf(&app)? {
                        wanted.extend(self.ancestors(&leaf));
                    }
                }
                Ok(forwards(wanted))
            }
            Target::Latest(app) => match self.leaf(app)? {
                Some(leaf) => Ok(forwards(self.ancestors(&leaf))),
                None => Err(MigrationError::graph(format!(
                    "app {app} has no migrations"
                ))),
            },
            Target::Named(app, name) => {
                let key = self.resolve(app, name)?;
                if applied.contains(&key) {
                    // Undo what came after it in its app, and what depends on that.
                    let mut undo = BTreeSet::new();
                    for (child, migration) in &self.nodes {
                        if child.0 == *app && migration.dependencies.contains(&key) {
                            undo.extend(self.descendants(child));
                        }
                    }
                    Ok(backwards(undo))
                } else {
                    Ok(forwards(self.ancestors(&key)))
                }
            }
            Target::Zero(app) => {
                let mut undo = BTreeSet::new();
                for key in self.nodes.keys().filter(|key| key.0 == *app) {
                    undo.extend(self.descendants(key));
                }
                Ok(backwards(undo))
            }
        }
    }

    /// The state after the migrations in `applied`, replayed in order.
    pub fn state(&self, applied: &BTreeSet<MigrationKey>) -> Result<ProjectState, MigrationError> {
        let mut state = ProjectState::new();
        for key in self.order.iter().filter(|key| applied.contains(*key)) {
            if let Some(migration) = self.nodes.get(key) {
                migration.apply(&mut state)?;
            }
        }
        Ok(state)
    }

    /// The state after every migration.
    pub fn final_state(&self) -> Result<ProjectState, MigrationError> {
        self.state(&self.nodes.keys().cloned().collect())
    }
}
