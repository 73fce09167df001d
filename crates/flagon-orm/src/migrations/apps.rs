//! The registry of apps: which models each app has, its migrations, and
//! where `makemigrations` writes new ones.

use std::path::PathBuf;

use crate::model::{Model, ModelMeta};

use super::error::MigrationError;
use super::graph::MigrationGraph;
use super::migration::Migration;
use super::state::ProjectState;

/// One app: its label, models and migrations (Django's `AppConfig`).
///
/// ```
/// use flagon_orm::migrations::AppConfig;
/// use flagon_orm::Model;
///
/// #[derive(Model, Debug)]
/// #[model(app = "polls")]
/// struct Question { id: i64, #[field(max_length = 200)] text: String }
///
/// // `migrations::MIGRATIONS` is what `makemigrations` writes in
/// // `src/polls/migrations/mod.rs`; an app without migrations yet has none.
/// let polls = AppConfig::new("polls")
///     .model::<Question>()
///     .directory(concat!(env!("CARGO_MANIFEST_DIR"), "/src/polls/migrations"));
/// # let _ = polls;
/// ```
#[derive(Clone, Debug)]
pub struct AppConfig {
    label: String,
    models: Vec<&'static ModelMeta>,
    migrations: Vec<fn() -> Migration>,
    directory: Option<PathBuf>,
}

impl AppConfig {
    /// An app called `label` (what models name in `#[model(app = ..)]`).
    pub fn new(label: impl Into<String>) -> AppConfig {
        AppConfig {
            label: label.into(),
            models: Vec::new(),
            migrations: Vec::new(),
            directory: None,
        }
    }

    /// Registers model `M`.
    pub fn model<M: Model>(mut self) -> AppConfig {
        self.models.push(M::META);
        self
    }

    /// The app's migrations: the `MIGRATIONS` list `makemigrations` writes
    /// in the app's `migrations` module.
    pub fn migrations(mut self, migrations: &[fn() -> Migration]) -> AppConfig {
        self.migrations.extend_from_slice(migrations);
        self
    }

    /// The folder of the app's `migrations` module, where `makemigrations`
    /// writes (use `concat!(env!("CARGO_MANIFEST_DIR"), "/src/..")`).
    pub fn directory(mut self, directory: impl Into<PathBuf>) -> AppConfig {
        self.directory = Some(directory.into());
        self
    }

    /// The app's label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The models' metadata.
    pub fn models(&self) -> &[&'static ModelMeta] {
        &self.models
    }

    /// The folder of the app's migrations, if given.
    pub fn migrations_directory(&self) -> Option<&std::path::Path> {
        self.directory.as_deref()
    }
}

/// Every app of a project.
///
/// ```
/// use flagon_orm::migrations::{AppConfig, Apps};
/// let apps = Apps::new().app(AppConfig::new("polls")).app(AppConfig::new("blog"));
/// assert!(apps.get("blog").is_some());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Apps {
    apps: Vec<AppConfig>,
}

impl Apps {
    /// No apps.
    pub fn new() -> Apps {
        Apps::default()
    }

    /// Adds an app.
    pub fn app(mut self, app: AppConfig) -> Apps {
        self.apps.push(app);
        self
    }

    /// The apps, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = &AppConfig> {
        self.apps.iter()
    }

    /// The app called `label`.
    pub fn get(&self, label: &str) -> Option<&AppConfig> {
        self.apps.iter().find(|app| app.label == label)
    }

    /// Checks that apps are registered once, that each model says it
    /// belongs to the app it is registered with, and that each migration
    /// does too.
    pub fn check(&self) -> Result<(), MigrationError> {
        for (position, app) in self.apps.iter().enumerate() {
            if self.apps[..position]
                .iter()
                .any(|other| other.label == app.label)
            {
                return Err(MigrationError::graph(format!(
                    "app {} is registered twice",
                    app.label
                )));
            }
            for meta in &app.models {
                if meta.app != app.label {
                    return Err(MigrationError::graph(format!(
                        "model {} belongs to app `{}` (#[model(app = ..)]) but is registered with app `{}`",
                        meta.name, meta.app, app.label
                    )));
                }
            }
        }
        // What the models point to must be registered too.
        let registered = |target: &ModelMeta| {
            self.apps.iter().any(|app| {
                app.models
                    .iter()
                    .any(|meta| meta.app == target.app && meta.name == target.name)
            })
        };
        for meta in self.apps.iter().flat_map(|app| app.models.iter()) {
            for field in meta.fields {
                if let Some(relation) = &field.relation {
                    let target = (relation.target)();
                    if !registered(target) {
                        return Err(MigrationError::graph(format!(
                            "{}.{} points to {}.{}, which is not registered: add it with AppConfig::model::<{}>()",
                            meta.name, field.name, target.app, target.name, target.name
                        )));
                    }
                }
            }
            for field in meta.many_to_many {
                let target = (field.target)();
                if !registered(target) {
                    return Err(MigrationError::graph(format!(
                        "{}.{} links to {}.{}, which is not registered: add it with AppConfig::model::<{}>()",
                        meta.name, field.name, target.app, target.name, target.name
                    )));
                }
                if let Some(through) = field.through {
                    let through = through();
                    if !registered(through) {
                        return Err(MigrationError::graph(format!(
                            "the through model {} of {}.{} is not registered: add it with AppConfig::model::<{}>()",
                            through.name, meta.name, field.name, through.name
                        )));
                    }
                    field
                        .through(meta)
                        .map_err(|err| MigrationError::graph(err.to_string()))?;
                }
            }
        }
        Ok(())
    }

    /// The state the registered models describe.
    pub fn models_state(&self) -> ProjectState {
        ProjectState::from_models(self.apps.iter().flat_map(|app| app.models.iter().copied()))
    }

    /// The graph of every app's migrations.
    pub fn graph(&self) -> Result<MigrationGraph, MigrationError> {
        self.check()?;
        let mut migrations = Vec::new();
        for app in &self.apps {
            for make in &app.migrations {
                let migration = make();
                if migration.app != app.label {
                    return Err(MigrationError::graph(format!(
                        "migration {}.{} is listed with app {}",
                        migration.app, migration.name, app.label
                    )));
                }
                migrations.push(migration);
            }
        }
        MigrationGraph::new(migrations)
    }
}
