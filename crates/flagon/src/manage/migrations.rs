//! The migration commands: `makemigrations`, `migrate`, `showmigrations`
//! and `sqlmigrate`, and the startup check for unapplied migrations.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};

use clap::ArgMatches;
use flagon_orm::migrations::{
    app_dependencies, applied, detect_changes, migrate_with, migration_sql, next_name, unapplied,
    write_migration, Apps, Changes, Direction, GivenAnswers, MigrateOptions, Migration,
    MigrationError, MigrationGraph, Progress, Questioner, Rename, Target,
};
use flagon_orm::{Db, Dialect};
use flagon_web::Settings;

use super::questioner::Interactive;

/// The path migration files reach the ORM by.
const ORM_PATH: &str = "flagon::orm";

/// A command's failure, as the line printed after `error: `.
pub(crate) type CommandResult = Result<(), String>;

fn line(out: &mut impl Write, text: impl std::fmt::Display) -> CommandResult {
    writeln!(out, "{text}").map_err(|err| err.to_string())
}

/// The registered apps, or an error that says how to register them.
pub(crate) fn registered(apps: Option<Apps>) -> Result<Apps, String> {
    apps.ok_or_else(|| {
        "no apps are registered: pass them to the app with `.apps(..)` \
         (flagon::AppExt), listing each app's models and migrations"
            .to_owned()
    })
}

fn graph(apps: &Apps) -> Result<MigrationGraph, String> {
    apps.graph().map_err(|err| err.to_string())
}

async fn connect(settings: &Settings) -> Result<Db, String> {
    crate::connect_database(settings)
        .await
        .map_err(|err| err.to_string())
}

/// Whether the models differ from what the migrations build (for `check`,
/// `migrate` and `makemigrations --check`), by app.
pub(crate) fn pending_changes(
    apps: &Apps,
    graph: &MigrationGraph,
) -> Result<Changes, MigrationError> {
    detect_changes(
        &graph.final_state()?,
        &apps.models_state(),
        &mut GivenAnswers::default(),
    )
}

/// `makemigrations`.
pub(crate) fn makemigrations(apps: Apps, args: &ArgMatches, out: &mut impl Write) -> CommandResult {
    let graph = graph(&apps)?;
    let only: BTreeSet<String> = args
        .get_many::<String>("app")
        .map(|apps| apps.cloned().collect())
        .unwrap_or_default();
    for label in &only {
        if apps.get(label).is_none() {
            return Err(format!("no app is registered as `{label}`"));
        }
    }
    let renames = args
        .get_many::<String>("rename")
        .into_iter()
        .flatten()
        .map(|text| text.parse::<Rename>())
        .collect::<Result<Vec<_>, _>>()?;
    let given = GivenAnswers {
        renames,
        defaults: Vec::new(),
    };
    let check = args.get_flag("check");
    let dry_run = args.get_flag("dry-run") || check;
    let custom_name = args.get_one::<String>("name").map(String::as_str);
    if let Some(name) = custom_name {
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(format!(
                "--name {name:?}: use lower-case letters, digits and _ (it becomes a module name)"
            ));
        }
    }

    if args.get_flag("merge") {
        return merge(&apps, &graph, &only, dry_run, out);
    }

    // The state the migrations build: what the models are compared with.
    let before = graph.final_state().map_err(|err| err.to_string())?;
    let mut operations_by_app = if args.get_flag("empty") {
        if only.is_empty() {
            return Err("--empty needs the app to write the migration for".to_owned());
        }
        only.iter().map(|app| (app.clone(), Vec::new())).collect()
    } else {
        let to = apps.models_state();
        let interactive = !args.get_flag("noinput") && !check && std::io::stdin().is_terminal();
        let changes = if interactive {
            let stdin = std::io::stdin();
            let mut questioner = Interactive {
                given,
                input: stdin.lock(),
                output: std::io::stdout(),
            };
            detect_changes(&before, &to, &mut questioner as &mut dyn Questioner)
        } else {
            let mut given = given;
            detect_changes(&before, &to, &mut given)
        }
        .map_err(|err| err.to_string())?;
        for note in &changes.notes {
            line(out, format_args!("note: {note}"))?;
        }
        let mut by_app = changes.apps;
        if !only.is_empty() {
            by_app.retain(|app, _| only.contains(app));
        }
        by_app
    };
    operations_by_app.retain(|_, operations| !operations.is_empty() || args.get_flag("empty"));
    if operations_by_app.is_empty() {
        return line(out, "No changes detected");
    }

    let now = chrono::Utc::now();
    // Name every new migration first: one may depend on another app's.
    let mut planned = Vec::new();
    for (app, operations) in operations_by_app {
        let leaf = graph.leaf(&app).map_err(|err| err.to_string())?;
        let latest = leaf.as_ref().map(|key| key.1.as_str());
        let name = next_name(latest, &operations, custom_name, now);
        planned.push((app, leaf, name, operations));
    }
    let new_names: std::collections::BTreeMap<String, String> = planned
        .iter()
        .map(|(app, _, name, _)| (app.clone(), name.clone()))
        .collect();
    for (app, leaf, name, operations) in planned {
        let mut migration = Migration::new(app.clone(), name);
        if let Some((leaf_app, leaf_name)) = leaf.clone() {
            migration = migration.depends_on(leaf_app, leaf_name);
        }
        for other in app_dependencies(&app, &operations, &before) {
            let dependency = match new_names.get(&other) {
                Some(name) => Some(name.clone()),
                None => graph
                    .leaf(&other)
                    .map_err(|err| err.to_string())?
                    .map(|key| key.1),
            };
            match dependency {
                Some(name) => migration = migration.depends_on(other, name),
                None => {
                    return Err(format!(
                        "app `{app}` points to models of app `{other}`, which has no migrations: \
                         register `{other}` with its models"
                    ))
                }
            }
        }
        migration.operations = operations;
        let config = apps
            .get(&app)
            .ok_or_else(|| format!("models of app `{app}` are registered, but not the app"))?;
        let directory = config.migrations_directory();
        let file = match directory {
            Some(dir) => dir.join(format!(
                "{}.rs",
                flagon_orm::migrations::module_name(&migration.name)
            )),
            None => std::path::PathBuf::from(format!("<no directory>/m{}.rs", migration.name)),
        };
        line(out, format_args!("Migrations for '{app}':"))?;
        line(out, format_args!("  {}", file.display()))?;
        for operation in &migration.operations {
            match operation.data_loss(&before, &app) {
                Some(loss) => line(
                    out,
                    format_args!("    - {}  (destructive: {loss})", operation.describe()),
                )?,
                None => line(out, format_args!("    - {}", operation.describe()))?,
            }
        }
        if dry_run {
            continue;
        }
        let Some(directory) = directory else {
            return Err(format!(
                "app `{app}` has no migrations directory: give it with \
                 AppConfig::directory(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/src/{app}/migrations\"))"
            ));
        };
        write_migration(directory, &migration, ORM_PATH).map_err(|err| err.to_string())?;
        if leaf.is_none() {
            line(
                out,
                format_args!(
                    "  The first migration of '{app}': declare the module (`mod migrations;`) and \
                     register it with `.migrations(migrations::MIGRATIONS)` on the app's AppConfig."
                ),
            )?;
        }
    }
    if check {
        return Err(
            "the models have changes that no migration makes yet: run makemigrations".to_owned(),
        );
    }
    Ok(())
}

/// The number a migration's name starts with (`0002_question_slug`: 2).
fn number(name: &str) -> u32 {
    let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or(0)
}

/// `makemigrations --merge`: for each app (of `only`, or all) whose
/// history has several latest migrations, an empty migration depending on
/// them all (Django's merge migration). With nothing to merge, an error.
fn merge(
    apps: &Apps,
    graph: &MigrationGraph,
    only: &BTreeSet<String>,
    dry_run: bool,
    out: &mut impl Write,
) -> CommandResult {
    let labels: Vec<String> = if only.is_empty() {
        graph.apps().into_iter().collect()
    } else {
        only.iter().cloned().collect()
    };
    let conflicts: Vec<(String, Vec<(String, String)>)> = labels
        .into_iter()
        .map(|app| {
            let leaves = graph.leaves(&app);
            (app, leaves)
        })
        .filter(|(_, leaves)| leaves.len() > 1)
        .collect();
    if conflicts.is_empty() {
        return Err(
            "no conflicts to merge: every app has one latest migration (--merge writes a \
             migration only for an app whose history branched)"
                .to_owned(),
        );
    }
    for (app, leaves) in conflicts {
        let next = graph
            .app_migrations(&app)
            .map(|migration| number(&migration.name))
            .max()
            .unwrap_or(0)
            + 1;
        let joined: Vec<&str> = leaves.iter().map(|(_, name)| name.as_str()).collect();
        let mut name = format!("{next:04}_merge_{}", joined.join("_"));
        if name.len() > 60 {
            let numbers: Vec<String> = leaves
                .iter()
                .map(|(_, name)| format!("{:04}", number(name)))
                .collect();
            name = format!("{next:04}_merge_{}", numbers.join("_"));
        }
        line(out, format_args!("Merging {app}"))?;
        // What each branch has that the others do not.
        let shared = leaves
            .iter()
            .map(|leaf| graph.ancestors(leaf))
            .reduce(|a, b| a.intersection(&b).cloned().collect())
            .unwrap_or_default();
        let mut migration = Migration::new(app.clone(), name);
        for leaf in &leaves {
            line(out, format_args!("  Branch {}", leaf.1))?;
            for key in graph
                .ordered()
                .map(Migration::key)
                .filter(|key| graph.ancestors(leaf).contains(key) && !shared.contains(key))
            {
                if let Some(branch) = graph.get(&key) {
                    for operation in &branch.operations {
                        line(out, format_args!("    - {}", operation.describe()))?;
                    }
                }
            }
            migration = migration.depends_on(leaf.0.clone(), leaf.1.clone());
        }
        let config = apps
            .get(&app)
            .ok_or_else(|| format!("no app is registered as `{app}`"))?;
        let directory = config.migrations_directory();
        if let Some(dir) = directory {
            let file = dir.join(format!(
                "{}.rs",
                flagon_orm::migrations::module_name(&migration.name)
            ));
            line(
                out,
                format_args!("  Created new merge migration {}", file.display()),
            )?;
        }
        if dry_run {
            continue;
        }
        let Some(directory) = directory else {
            return Err(format!(
                "app `{app}` has no migrations directory to write the merge into"
            ));
        };
        write_migration(directory, &migration, ORM_PATH).map_err(|err| err.to_string())?;
    }
    Ok(())
}

fn target(apps: &Apps, graph: &MigrationGraph, args: &ArgMatches) -> Result<Target, String> {
    let app = args.get_one::<String>("app");
    let name = args.get_one::<String>("migration");
    Ok(match (app, name) {
        (None, _) => Target::All,
        (Some(app), name) => {
            if apps.get(app).is_none() && !graph.apps().contains(app) {
                return Err(format!("no app is registered as `{app}`"));
            }
            match name.map(String::as_str) {
                None => Target::Latest(app.clone()),
                Some("zero") => Target::Zero(app.clone()),
                Some(name) => Target::Named(app.clone(), name.to_owned()),
            }
        }
    })
}

/// `migrate`.
pub(crate) async fn migrate_command(
    apps: Apps,
    settings: &Settings,
    args: &ArgMatches,
    out: &mut impl Write,
) -> CommandResult {
    let graph = graph(&apps)?;
    let target = target(&apps, &graph, args)?;
    let db = connect(settings).await?;
    let mut options = MigrateOptions::new();
    if args.get_flag("fake") {
        options = options.fake();
    }
    if args.get_flag("fake-initial") {
        options = options.fake_initial();
    }
    let result = run_migrate(
        &apps,
        &graph,
        &db,
        &target,
        options,
        args.get_flag("plan"),
        out,
    )
    .await;
    db.close().await;
    result
}

async fn run_migrate(
    apps: &Apps,
    graph: &MigrationGraph,
    db: &Db,
    target: &Target,
    options: MigrateOptions,
    plan_only: bool,
    out: &mut impl Write,
) -> CommandResult {
    if plan_only {
        let done = applied(db).await.map_err(|err| err.to_string())?;
        let plan = graph.plan(target, &done).map_err(|err| err.to_string())?;
        line(out, "Planned operations:")?;
        if plan.is_empty() {
            line(out, "  No planned migration operations.")?;
        }
        for (key, direction) in plan {
            let verb = match direction {
                Direction::Forwards => "Apply",
                Direction::Backwards => "Unapply",
            };
            line(out, format_args!("  {verb} {}.{}", key.0, key.1))?;
            if let Some(migration) = graph.get(&key) {
                for operation in &migration.operations {
                    line(out, format_args!("    - {}", operation.describe()))?;
                }
            }
        }
        return Ok(());
    }
    line(out, "Running migrations:")?;
    let mut write_error = None;
    let result = migrate_with(db, graph, target, options, |progress| {
        let text = match progress {
            Progress::Start(key, Direction::Forwards) => {
                format!("  Applying {}.{}...", key.0, key.1)
            }
            Progress::Start(key, Direction::Backwards) => {
                format!("  Unapplying {}.{}...", key.0, key.1)
            }
            Progress::Faked(..) => " FAKED\n".to_owned(),
            _ => " OK\n".to_owned(),
        };
        if let Err(err) = write!(out, "{text}").and_then(|()| out.flush()) {
            write_error.get_or_insert(err);
        }
    })
    .await;
    let done = match result {
        Ok(done) => done,
        Err(err) => {
            let _ = writeln!(out, " FAILED");
            return Err(err.to_string());
        }
    };
    if let Some(err) = write_error {
        return Err(err.to_string());
    }
    if done.is_empty() {
        line(out, "  No migrations to apply.")?;
    }
    match pending_changes(apps, graph) {
        Ok(changes) if changes.is_empty() => {}
        _ => line(
            out,
            "  Your models have changes that are not yet reflected in a migration: \
             run makemigrations, then migrate.",
        )?,
    }
    Ok(())
}

/// `showmigrations`.
pub(crate) async fn showmigrations(
    apps: Apps,
    settings: &Settings,
    args: &ArgMatches,
    out: &mut impl Write,
) -> CommandResult {
    let graph = graph(&apps)?;
    let db = connect(settings).await?;
    let done = applied(&db).await.map_err(|err| err.to_string());
    db.close().await;
    let done = graph.applied_view(&done?).map_err(|err| err.to_string())?;
    let only: Vec<String> = args
        .get_many::<String>("app")
        .map(|apps| apps.cloned().collect())
        .unwrap_or_default();
    let labels: Vec<String> = if only.is_empty() {
        apps.iter().map(|app| app.label().to_owned()).collect()
    } else {
        only
    };
    for label in labels {
        if apps.get(&label).is_none() {
            return Err(format!("no app is registered as `{label}`"));
        }
        line(out, &label)?;
        let mut any = false;
        for migration in graph.app_migrations(&label) {
            any = true;
            let mark = if done.contains(&migration.key()) {
                "X"
            } else {
                " "
            };
            line(out, format_args!(" [{mark}] {}", migration.name))?;
        }
        if !any {
            line(out, " (no migrations)")?;
        }
    }
    Ok(())
}

/// `squashmigrations app [start] end`.
pub(crate) fn squashmigrations(
    apps: Apps,
    args: &ArgMatches,
    out: &mut impl Write,
) -> CommandResult {
    let graph = graph(&apps)?;
    let Some(app) = args.get_one::<String>("app") else {
        return Err("squashmigrations needs an app and a migration".to_owned());
    };
    let config = apps
        .get(app)
        .ok_or_else(|| format!("no app is registered as `{app}`"))?;
    let first = args.get_one::<String>("first").map(String::as_str);
    let (start, end) = match (first, args.get_one::<String>("last")) {
        (Some(start), Some(end)) => (Some(start), end.as_str()),
        (Some(end), None) => (None, end),
        (None, _) => return Err("squashmigrations needs the last migration to squash".to_owned()),
    };
    let mut squashed =
        flagon_orm::migrations::squash(&graph, app, start, end).map_err(|err| err.to_string())?;
    if let Some(name) = args.get_one::<String>("squashed-name") {
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(format!(
                "--squashed-name {name:?}: use lower-case letters, digits and _ (it becomes a module name)"
            ));
        }
        let number: String = squashed
            .name
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        squashed.name = format!("{number}_{name}");
    }
    line(out, "Will squash the following migrations:")?;
    for (_, name) in &squashed.replaces {
        line(out, format_args!(" - {name}"))?;
    }
    let before: usize = squashed
        .replaces
        .iter()
        .filter_map(|key| graph.get(key))
        .map(|migration| migration.operations.len())
        .sum();
    line(
        out,
        format_args!(
            "Optimized from {before} operations to {} operations.",
            squashed.operations.len()
        ),
    )?;
    let Some(directory) = config.migrations_directory() else {
        return Err(format!(
            "app `{app}` has no migrations directory to write into"
        ));
    };
    let path = write_migration(directory, &squashed, ORM_PATH).map_err(|err| err.to_string())?;
    line(
        out,
        format_args!("Created new squashed migration {}", path.display()),
    )?;
    line(
        out,
        "  Commit it, and keep the old migrations: it stands for them on databases that have \
         none or all of them applied. Once every database has migrated past it, delete the \
         old migrations and the squashed migration's `.replaces(..)` lines.",
    )?;
    Ok(())
}

/// `sqlmigrate`.
pub(crate) fn sqlmigrate(
    apps: Apps,
    settings: &Settings,
    args: &ArgMatches,
    out: &mut impl Write,
) -> CommandResult {
    let graph = graph(&apps)?;
    let (Some(app), Some(name)) = (
        args.get_one::<String>("app"),
        args.get_one::<String>("migration"),
    ) else {
        return Err("sqlmigrate needs an app and a migration name".to_owned());
    };
    let key = graph.resolve(app, name).map_err(|err| err.to_string())?;
    let database =
        crate::DatabaseSettings::from_settings(settings).map_err(|err| err.chain().join(": "))?;
    let url = database.url.expose();
    let dialect = Dialect::from_url(url).ok_or_else(|| {
        format!(
            "the database url {:?} names no backend Flagon knows (sqlite, postgres, mysql)",
            flagon_web::settings::redact_url_password(url)
        )
    })?;
    let direction = if args.get_flag("backwards") {
        Direction::Backwards
    } else {
        Direction::Forwards
    };
    let lines = migration_sql(&graph, &key, direction, dialect).map_err(|err| err.to_string())?;
    for text in lines {
        line(out, text)?;
    }
    Ok(())
}

/// The warning printed when the server starts with unapplied migrations.
pub(crate) async fn unapplied_warning(apps: &Apps, db: &Db) -> Option<String> {
    let graph = match apps.graph() {
        Ok(graph) => graph,
        Err(err) => return Some(format!("the migrations cannot be loaded: {err}")),
    };
    match unapplied(db, &graph).await {
        Ok(keys) if keys.is_empty() => None,
        Ok(keys) => {
            let names: Vec<String> = keys
                .iter()
                .map(|(app, name)| format!("{app}.{name}"))
                .collect();
            Some(format!(
                "you have {} unapplied migration{}: {}. The app may not work until you run `migrate`.",
                names.len(),
                if names.len() == 1 { "" } else { "s" },
                names.join(", ")
            ))
        }
        Err(err) => Some(format!("cannot tell which migrations are applied: {err}")),
    }
}
