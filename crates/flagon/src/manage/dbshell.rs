//! `dbshell`: the database's own command-line client, connected with the
//! `[database]` url setting.

use std::process::Command;
use std::str::FromStr;

/// The client command for `url`.
pub(crate) fn client_command(url: &str) -> Result<Command, String> {
    let scheme = url
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match scheme.as_str() {
        "sqlite" => {
            let rest = url["sqlite:".len()..].trim_start_matches("//");
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() || path == ":memory:" {
                return Err("an in-memory SQLite database has no shell to open".to_owned());
            }
            let mut command = Command::new("sqlite3");
            command.arg(path);
            Ok(command)
        }
        "postgres" | "postgresql" => {
            let mut command = Command::new("psql");
            command.arg(url);
            Ok(command)
        }
        "mysql" | "mariadb" => {
            let options =
                sqlx::mysql::MySqlConnectOptions::from_str(&url.replacen("mariadb:", "mysql:", 1))
                    .map_err(|err| format!("invalid database url: {err}"))?;
            let mut command = Command::new("mysql");
            command
                .arg(format!("--host={}", options.get_host()))
                .arg(format!("--port={}", options.get_port()))
                .arg(format!("--user={}", options.get_username()));
            if let Some(password) = password_of(url) {
                // Through the environment, not the process list.
                command.env("MYSQL_PWD", password);
            }
            if let Some(database) = options.get_database() {
                command.arg(database);
            }
            Ok(command)
        }
        _ => Err(format!(
            "the database url {:?} names no backend Flagon knows",
            flagon_web::settings::redact_url_password(url)
        )),
    }
}

/// The password in a `scheme://user:password@host` URL, percent-decoded.
fn password_of(url: &str) -> Option<String> {
    let after = url.split_once("://")?.1;
    let credentials = after.rsplit_once('@')?.0;
    let password = credentials.split_once(':')?.1;
    Some(
        percent_encoding::percent_decode_str(password)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

/// Runs the client in this terminal and waits for it.
pub(crate) fn run(url: &str) -> Result<(), String> {
    let mut command = client_command(url)?;
    let program = command.get_program().to_string_lossy().into_owned();
    match command.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("{program} exited with {status}")),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Err(format!(
            "the `{program}` client is not installed or not on PATH (on Debian: apt-get install {})",
            match program.as_str() {
                "sqlite3" => "sqlite3",
                "psql" => "postgresql-client",
                _ => "mariadb-client",
            }
        )),
        Err(err) => Err(format!("cannot run {program}: {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(command: &Command) -> Vec<String> {
        command
            .get_args()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn each_backend_gets_its_client() {
        let sqlite = client_command("sqlite://data/db.sqlite3?mode=rwc").expect("sqlite");
        assert_eq!(sqlite.get_program(), "sqlite3");
        assert_eq!(args(&sqlite), ["data/db.sqlite3"]);
        assert!(client_command("sqlite::memory:").is_err());

        let postgres = client_command("postgres://app@db:5432/site").expect("postgres");
        assert_eq!(postgres.get_program(), "psql");
        assert_eq!(args(&postgres), ["postgres://app@db:5432/site"]);

        let mysql = client_command("mysql://app:p%40ss@db:3307/site").expect("mysql");
        assert_eq!(mysql.get_program(), "mysql");
        assert_eq!(
            args(&mysql),
            ["--host=db", "--port=3307", "--user=app", "site"]
        );
        let password = mysql
            .get_envs()
            .find(|(key, _)| *key == "MYSQL_PWD")
            .and_then(|(_, value)| value.map(|v| v.to_string_lossy().into_owned()));
        assert_eq!(password.as_deref(), Some("p@ss"));

        assert!(client_command("oracle://x").is_err());
    }
}
