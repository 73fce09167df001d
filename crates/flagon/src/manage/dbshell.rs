//! `dbshell`: the database's own command-line client, connected with the
//! `[database]` url setting.

use std::process::Command;

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
            let target = MySqlTarget::parse(url)?;
            let mut command = Command::new("mysql");
            command
                .arg(format!("--host={}", target.host))
                .arg(format!("--port={}", target.port))
                .arg(format!("--user={}", target.user));
            if let Some(password) = password_of(url) {
                // Through the environment, not the process list.
                command.env("MYSQL_PWD", password);
            }
            if let Some(database) = target.database {
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

/// Where a `mysql://user:password@host:port/database` URL points, with the
/// defaults the server's clients (and the ORM's driver) take: `localhost`,
/// port 3306, user `root`.
#[derive(Debug, PartialEq, Eq)]
struct MySqlTarget {
    host: String,
    port: u16,
    user: String,
    database: Option<String>,
}

impl MySqlTarget {
    /// Reads `url` (`mysql:` or `mariadb:`); the password is left to
    /// [`password_of`].
    fn parse(url: &str) -> Result<MySqlTarget, String> {
        let invalid = |why: &str| {
            format!(
                "invalid database url {:?}: {why} (the form is \
                 mysql://user:password@host:port/database)",
                flagon_web::settings::redact_url_password(url)
            )
        };
        let rest = url
            .split_once("://")
            .ok_or_else(|| invalid("no `//` after the scheme"))?
            .1;
        // Query parameters (`?ssl-mode=..`) and a fragment say nothing of where.
        let rest = rest.split(['?', '#']).next().unwrap_or_default();
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (credentials, host_port) = match authority.rsplit_once('@') {
            Some((credentials, host_port)) => (Some(credentials), host_port),
            None => (None, authority),
        };
        let user = credentials
            .map(|credentials| credentials.split(':').next().unwrap_or_default())
            .filter(|user| !user.is_empty())
            .map_or_else(|| "root".to_owned(), decode);
        // `[::1]:3306`: an IPv6 address is bracketed.
        let (host, port) = match host_port.strip_prefix('[') {
            Some(bracketed) => {
                let (host, after) = bracketed
                    .split_once(']')
                    .ok_or_else(|| invalid("an IPv6 host without its closing `]`"))?;
                (host, after.strip_prefix(':'))
            }
            None => match host_port.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (host_port, None),
            },
        };
        let port = match port {
            None | Some("") => 3306,
            Some(port) => port.parse::<u16>().map_err(|_| {
                invalid(&format!(
                    "the port {port:?} is not a number from 0 to 65535"
                ))
            })?,
        };
        Ok(MySqlTarget {
            host: if host.is_empty() { "localhost" } else { host }.to_owned(),
            port,
            user,
            database: Some(path).filter(|path| !path.is_empty()).map(decode),
        })
    }
}

/// `text` percent-decoded.
fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// The password in a `scheme://user:password@host` URL, percent-decoded.
fn password_of(url: &str) -> Option<String> {
    let after = url.split_once("://")?.1;
    let credentials = after.rsplit_once('@')?.0;
    let password = credentials.split_once(':')?.1;
    Some(decode(password))
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

    #[test]
    fn a_mysql_url_is_read_with_the_clients_defaults() {
        let target = |url: &str| MySqlTarget::parse(url).expect(url);
        assert_eq!(
            target("mariadb://db"),
            MySqlTarget {
                host: "db".to_owned(),
                port: 3306,
                user: "root".to_owned(),
                database: None,
            }
        );
        assert_eq!(
            target("mysql://a%40b:pw@[::1]:3307/my%20site?ssl-mode=disabled"),
            MySqlTarget {
                host: "::1".to_owned(),
                port: 3307,
                user: "a@b".to_owned(),
                database: Some("my site".to_owned()),
            }
        );
        assert_eq!(target("mysql:///site").host, "localhost");
        let bad_port = MySqlTarget::parse("mysql://app:secret@db:port/site").unwrap_err();
        assert!(bad_port.contains("\"port\" is not a number"), "{bad_port}");
        assert!(!bad_port.contains("secret"), "{bad_port}");
        assert!(MySqlTarget::parse("mysql:db").is_err());
    }
}
