//! `cargo run -p hello` applies the migrations to the SQLite database
//! (`db.sqlite3`) and serves on http://127.0.0.1:8000 (`FLAGON_ADDR` moves
//! it). Given a command, it runs that instead:
//! `cargo run -p hello -- showmigrations`.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    flagon::init_logging();
    let start = || async {
        hello::app_from_settings().await.map_err(|err| {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        })
    };
    let app = match start().await {
        Ok(app) => app,
        Err(code) => return code,
    };
    if std::env::args_os().len() > 1 {
        return flagon::manage(app).await;
    }
    let mut stdout = std::io::stdout();
    let migrated = flagon::run_command(app, ["hello", "migrate"], &mut stdout).await;
    if migrated != ExitCode::SUCCESS {
        return migrated;
    }
    match start().await {
        Ok(app) => flagon::run_command(app, ["hello", "runserver"], &mut stdout).await,
        Err(code) => code,
    }
}
