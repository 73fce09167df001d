//! `tfb` applies the migrations (creating and filling the tables the first
//! time) and serves the six tests on 127.0.0.1:`PORT` (8080 by default),
//! on the database `DATABASE_URL` names (SQLite `tfb.sqlite3` by default).
//! It is built with PostgreSQL alone, as TechEmpower runs it; the default
//! SQLite database needs the `sqlite` feature (`cargo run -p tfb --features
//! sqlite`).
//! Given a command, it runs that instead: `tfb migrate`, `tfb showmigrations`.
//!
//! On a database whose `world` and `fortune` tables were made outside
//! Flagon, as TechEmpower's own script makes them (`bench/setup.sh`), run
//! `tfb migrate --fake-initial` once first: it records the initial
//! migration without creating the tables, and the seed migration leaves
//! filled tables alone. The migrations are then applied and `tfb` serves.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let start = || async {
        let settings = tfb::settings()?;
        let db = flagon::connect_database(&settings).await?;
        Ok::<_, flagon::Error>(tfb::app(db).settings(settings))
    };
    let app = match start().await {
        Ok(app) => app,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    if std::env::args_os().len() > 1 {
        return flagon::manage(app).await;
    }
    let mut stdout = std::io::stdout();
    let migrated = flagon::run_command(app, ["tfb", "migrate"], &mut stdout).await;
    if migrated != ExitCode::SUCCESS {
        return migrated;
    }
    let port = std::env::var("PORT").unwrap_or_else(|_| "8080".to_owned());
    let app = match start().await {
        Ok(app) => app,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    match app.serve(&format!("127.0.0.1:{port}")).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
