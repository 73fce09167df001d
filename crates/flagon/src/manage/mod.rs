//! Management commands, Django's `manage.py`: a user's binary calls
//! [`manage`] and gets `runserver`, `routes`, `check`, and, for the apps
//! registered with [`AppExt::apps`](crate::AppExt::apps), `makemigrations`,
//! `migrate`, `showmigrations`, `sqlmigrate` and `dbshell`.

use std::io::Write;
use std::process::ExitCode;

use clap::{Arg, ArgAction, ArgMatches, Command};
use flagon_orm::migrations::Apps;
use flagon_web::App;

mod dbshell;
mod migrations;
mod questioner;

fn command() -> Command {
    Command::new("manage")
        .about("Manage a Flagon app")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(
            Command::new("runserver")
                .about("Serve the app (default address: the `addr` setting, or FLAGON_ADDR)")
                .arg(Arg::new("addr").help("Address to listen on, such as 127.0.0.1:8000")),
        )
        .subcommand(Command::new("routes").about("List the routes: methods, pattern and name"))
        .subcommand(Command::new("check").about("Build the app and report configuration problems"))
        .subcommand(
            Command::new("makemigrations")
                .about("Write the migrations that bring the database in line with the models")
                .arg(Arg::new("app").num_args(0..).help("Only these apps"))
                .arg(
                    Arg::new("check")
                        .long("check")
                        .action(ArgAction::SetTrue)
                        .help("Write nothing; exit with 1 if the models have changes no migration makes"),
                )
                .arg(
                    Arg::new("dry-run")
                        .long("dry-run")
                        .action(ArgAction::SetTrue)
                        .help("Show what would be written, and write nothing"),
                )
                .arg(Arg::new("name").long("name").help("The new migration's name, after its number"))
                .arg(
                    Arg::new("empty")
                        .long("empty")
                        .action(ArgAction::SetTrue)
                        .help("Write an empty migration for the given apps (for data migrations)"),
                )
                .arg(
                    Arg::new("merge")
                        .long("merge")
                        .action(ArgAction::SetTrue)
                        .help("Write a migration that merges an app's conflicting latest migrations"),
                )
                .arg(
                    Arg::new("rename")
                        .long("rename")
                        .action(ArgAction::Append)
                        .value_name("OLD=NEW")
                        .help("A rename to make: Model=NewModel or Model.field=new_field"),
                )
                .arg(
                    Arg::new("noinput")
                        .long("noinput")
                        .alias("no-input")
                        .action(ArgAction::SetTrue)
                        .help("Ask nothing; renames come only from --rename"),
                ),
        )
        .subcommand(
            Command::new("migrate")
                .about("Apply migrations, or undo them back to a target")
                .arg(Arg::new("app").help("Only this app (default: every app)"))
                .arg(
                    Arg::new("migration")
                        .help("Bring the app to this migration (a name or its number); `zero` undoes them all"),
                )
                .arg(
                    Arg::new("plan")
                        .long("plan")
                        .action(ArgAction::SetTrue)
                        .help("Show what would run, and run nothing"),
                )
                .arg(
                    Arg::new("fake")
                        .long("fake")
                        .action(ArgAction::SetTrue)
                        .help("Record the migrations as applied (or, backwards, as not) without running them"),
                )
                .arg(
                    Arg::new("fake-initial")
                        .long("fake-initial")
                        .action(ArgAction::SetTrue)
                        .help("Record an initial migration as applied, without running it, when its tables and columns all exist"),
                ),
        )
        .subcommand(
            Command::new("squashmigrations")
                .about("Write one migration that replaces a range of an app's migrations")
                .arg(Arg::new("app").required(true))
                .arg(
                    Arg::new("first")
                        .required(true)
                        .help("The last migration to squash; or, with a second, the first"),
                )
                .arg(Arg::new("last").help("The last migration to squash (the first is then the one before)"))
                .arg(
                    Arg::new("squashed-name")
                        .long("squashed-name")
                        .help("The squashed migration's name, after its number"),
                ),
        )
        .subcommand(
            Command::new("showmigrations")
                .about("List each app's migrations, [X] where applied")
                .arg(Arg::new("app").num_args(0..).help("Only these apps")),
        )
        .subcommand(
            Command::new("sqlmigrate")
                .about("Print the SQL a migration runs on the configured database")
                .arg(Arg::new("app").required(true))
                .arg(Arg::new("migration").required(true))
                .arg(
                    Arg::new("backwards")
                        .long("backwards")
                        .action(ArgAction::SetTrue)
                        .help("The SQL that undoes it"),
                ),
        )
        .subcommand(Command::new("dbshell").about("Open the database's command-line client"))
}

/// Runs the management command named on the command line and returns the
/// exit code for `main`.
///
/// ```no_run
/// use flagon::prelude::*;
///
/// #[tokio::main]
/// async fn main() -> std::process::ExitCode {
///     let app = App::new().route("/", get(|| async { "hi" }));
///     flagon::manage(app).await
/// }
/// ```
pub async fn manage(app: App) -> ExitCode {
    let mut stdout = std::io::stdout();
    run(app, std::env::args_os(), &mut stdout).await
}

/// Runs a management command from `args` (the first is the program name),
/// writing its output to `out`.
pub async fn run<I, T>(app: App, args: I, out: &mut impl Write) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = match command().try_get_matches_from(args) {
        Ok(matches) => matches,
        Err(err) => {
            let _ = write!(out, "{err}");
            return if err.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match dispatch(app, &matches, out).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let _ = writeln!(out, "error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(app: App, matches: &ArgMatches, out: &mut impl Write) -> Result<(), String> {
    let apps = app.get_state::<Apps>().cloned();
    match matches.subcommand() {
        Some(("runserver", args)) => {
            let service = app.build().map_err(|err| format!("{err:?}"))?;
            let addr = match args.get_one::<String>("addr") {
                Some(addr) => addr.clone(),
                None => service.settings().addr.clone(),
            };
            if let Some(apps) = &apps {
                let warning = match crate::connect_database(service.settings()).await {
                    Ok(db) => {
                        let warning = migrations::unapplied_warning(apps, &db).await;
                        db.close().await;
                        warning
                    }
                    Err(err) => Some(format!("cannot check the migrations: {err}")),
                };
                if let Some(warning) = warning {
                    tracing::warn!(target: "flagon::migrations", "{warning}");
                    writeln!(out, "warning: {warning}").map_err(|err| err.to_string())?;
                }
            }
            service.serve(&addr).await.map_err(|err| format!("{err:?}"))
        }
        Some(("makemigrations", args)) => {
            migrations::makemigrations(migrations::registered(apps)?, args, out)
        }
        Some(("migrate", args)) => {
            let apps = migrations::registered(apps)?;
            let service = app.build().map_err(|err| format!("{err:?}"))?;
            migrations::migrate_command(apps, service.settings(), args, out).await
        }
        Some(("showmigrations", args)) => {
            let apps = migrations::registered(apps)?;
            let service = app.build().map_err(|err| format!("{err:?}"))?;
            migrations::showmigrations(apps, service.settings(), args, out).await
        }
        Some(("squashmigrations", args)) => {
            migrations::squashmigrations(migrations::registered(apps)?, args, out)
        }
        Some(("sqlmigrate", args)) => {
            let apps = migrations::registered(apps)?;
            let service = app.build().map_err(|err| format!("{err:?}"))?;
            migrations::sqlmigrate(apps, service.settings(), args, out)
        }
        Some(("dbshell", _)) => {
            let service = app.build().map_err(|err| format!("{err:?}"))?;
            let database = crate::DatabaseSettings::from_settings(service.settings())
                .map_err(|err| err.chain().join(": "))?;
            dbshell::run(database.url.expose())
        }
        Some(("routes", _)) => {
            let service = app.build().map_err(|err| format!("{err:?}"))?;
            let mut rows: Vec<(String, String, String)> = service
                .routes()
                .into_iter()
                .map(|(methods, pattern, name)| {
                    let methods: Vec<&str> = methods.iter().map(|m| m.as_str()).collect();
                    (methods.join(","), pattern, name.unwrap_or_default())
                })
                .collect();
            rows.sort_by(|a, b| a.1.cmp(&b.1));
            let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
            let pattern_width = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
            for (methods, pattern, name) in rows {
                writeln!(out, "{methods:width$}  {pattern:pattern_width$}  {name}")
                    .map_err(|err| err.to_string())?;
            }
            Ok(())
        }
        Some(("check", _)) => {
            let service = app.build().map_err(|err| format!("{err:?}"))?;
            let settings = service.settings();
            let mut warnings = Vec::new();
            if settings.debug {
                warnings.push("debug mode is on: never deploy with it".to_owned());
            }
            if !settings.debug && settings.secret_key.expose().len() < 32 {
                warnings.push("the secret key is shorter than 32 characters".to_owned());
            }
            if let Some(apps) = &apps {
                match apps.graph() {
                    Err(err) => warnings.push(format!("migrations: {err}")),
                    Ok(graph) => match migrations::pending_changes(apps, &graph) {
                        Ok(changes) if changes.is_empty() => {}
                        Ok(changes) => warnings.push(format!(
                            "the models of {} have changes no migration makes: run makemigrations",
                            changes.apps.keys().cloned().collect::<Vec<_>>().join(", ")
                        )),
                        Err(err) => warnings.push(format!("migrations: {err}")),
                    },
                }
            }
            if !settings.templates_dir.is_dir() {
                warnings.push(format!(
                    "the templates folder {} does not exist",
                    settings.templates_dir.display()
                ));
            }
            for warning in &warnings {
                writeln!(out, "warning: {warning}").map_err(|err| err.to_string())?;
            }
            writeln!(
                out,
                "System check identified {} issue{}.",
                warnings.len(),
                if warnings.len() == 1 { "" } else { "s" }
            )
            .map_err(|err| err.to_string())
        }
        _ => Err("unknown command".to_owned()),
    }
}
