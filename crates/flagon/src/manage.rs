//! Management commands, Django's `manage.py`: a user's binary calls
//! [`manage`] and gets `runserver`, `routes` and `check`.

use std::io::Write;
use std::process::ExitCode;

use clap::{Arg, ArgMatches, Command};
use flagon_web::App;

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
    match matches.subcommand() {
        Some(("runserver", args)) => {
            let service = app.build().map_err(|err| format!("{err:?}"))?;
            let addr = match args.get_one::<String>("addr") {
                Some(addr) => addr.clone(),
                None => service.settings().addr.clone(),
            };
            service.serve(&addr).await.map_err(|err| format!("{err:?}"))
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
