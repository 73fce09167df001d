//! Settings: `flagon.toml` plus `FLAGON_*` environment overrides, in a typed
//! struct with defaults.
//!
//! ```toml
//! # flagon.toml
//! debug = true
//! addr = "127.0.0.1:9000"
//! allowed_hosts = ["example.com", ".example.org"]
//!
//! [session]
//! cookie_name = "sid"
//!
//! [limits]
//! max_body_size = 1048576
//! header_read_timeout = "5s"
//!
//! [myapp]          # your own section, read with Settings::section
//! greeting = "hi"
//! ```
//!
//! Every key can be overridden from the environment: `FLAGON_DEBUG=1`,
//! `FLAGON_ADDR=127.0.0.1:9000`, `FLAGON_ALLOWED_HOSTS=a.com,b.com`, and for
//! nested keys a double underscore: `FLAGON_SESSION__COOKIE_NAME=sid`,
//! `FLAGON_MYAPP__GREETING=hello`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The file read by [`Settings::load`] unless `FLAGON_SETTINGS` names another.
pub const SETTINGS_FILE: &str = "flagon.toml";

/// A secret string that never shows in `Debug` output, logs, or templates
/// (`config` in a template shows it redacted).
///
/// ```
/// use flagon_web::settings::Secret;
///
/// let key = Secret::new("hunter2");
/// assert_eq!(key.expose(), "hunter2");
/// assert_eq!(format!("{key:?}"), "\"********\"");
/// assert_eq!(serde_json::to_string(&key).unwrap(), "\"********\"");
/// ```
///
/// Ours rather than `secrecy::SecretString`, which on purpose does not
/// implement `Serialize` (and behind its `SerializableSecret` marker would
/// write the secret itself), while settings need a secret that serializes
/// redacted for the templates' `config`, and `Clone`, `PartialEq` and
/// `Default` for `Settings`. What it would add, zeroing the memory on drop,
/// does not pay for a dependency here: the key also lives on, derived, in
/// the app's signing keys.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(if self.0.is_empty() { "" } else { "********" })
    }
}

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether no secret was set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() {
            "\"\""
        } else {
            "\"********\""
        })
    }
}

/// The framework's settings. Unknown top-level tables are kept for the
/// app's own use ([`Settings::section`]).
#[derive(Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// Debug mode: detailed error pages, template reloading, a generated
    /// secret key when none is set. Never on in production.
    pub debug: bool,
    /// Signs session cookies and keys private cookies. Required outside
    /// debug mode: generate one with `openssl rand -base64 48`.
    pub secret_key: Secret,
    /// Older secret keys still accepted when reading cookies, so a key can
    /// be rotated without logging everybody out.
    pub secret_key_fallbacks: Vec<Secret>,
    /// The address [`crate::App::run`] and the `runserver` command serve
    /// on (`App::serve(addr)` serves on the one it is given). Default
    /// `127.0.0.1:8000`.
    pub addr: String,
    /// Host names the app answers (`.example.com` also matches subdomains,
    /// `*` matches all). Other `Host` headers get a 400.
    #[serde(deserialize_with = "string_or_list")]
    pub allowed_hosts: Vec<String>,
    /// Folder of the app's templates.
    pub templates_dir: PathBuf,
    /// Folder of the app's static files.
    pub static_dir: PathBuf,
    /// URL prefix static files are served under.
    pub static_url: String,
    /// Request size and time limits.
    pub limits: Limits,
    /// Session cookie options.
    pub session: SessionSettings,
    /// CSRF protection options.
    pub csrf: CsrfSettings,
    /// Security headers.
    pub security: SecuritySettings,
    /// Sections the framework does not know: the app's own settings, and
    /// those of other crates such as the ORM's `[database]`. They are
    /// redacted in `Debug` and when serialized (so in the templates'
    /// `config`): see [`redact_sections`].
    #[serde(flatten, serialize_with = "serialize_redacted_sections")]
    pub extra: toml::Table,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("debug", &self.debug)
            .field("secret_key", &self.secret_key)
            .field("secret_key_fallbacks", &self.secret_key_fallbacks)
            .field("addr", &self.addr)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("templates_dir", &self.templates_dir)
            .field("static_dir", &self.static_dir)
            .field("static_url", &self.static_url)
            .field("limits", &self.limits)
            .field("session", &self.session)
            .field("csrf", &self.csrf)
            .field("security", &self.security)
            .field("extra", &redact_sections(&self.extra))
            .finish()
    }
}

fn serialize_redacted_sections<S: serde::Serializer>(
    extra: &toml::Table,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    redact_sections(extra).serialize(serializer)
}

/// Keys of sections the core does not read that hold a secret as a whole:
/// the database URL carries the database's password (and names its host).
const SECRET_SECTION_KEYS: &[(&str, &str)] = &[("database", "url")];

/// What is written in place of a secret.
const REDACTED: &str = "********";

/// The app's sections (`extra`) as `Debug` and the templates' `config`
/// show them: `database.url` replaced by `********`, and in every other
/// text the password of a URL (`redis://:pw@host` gives
/// `redis://:********@host`). Other secrets in your own sections are
/// shown as they are: keep them out of what templates print.
///
/// ```
/// let settings = flagon_web::Settings::from_toml(
///     "[database]\nurl = 'postgres://app:pw@db/app'\n[cache]\nurl = 'redis://:pw@cache'",
/// )
/// .unwrap();
/// let shown = flagon_web::settings::redact_sections(&settings.extra);
/// assert_eq!(shown["database"]["url"].as_str(), Some("********"));
/// assert_eq!(shown["cache"]["url"].as_str(), Some("redis://:********@cache"));
/// ```
pub fn redact_sections(extra: &toml::Table) -> toml::Table {
    let mut shown = extra.clone();
    for (section, table) in shown.iter_mut() {
        let Some(table) = table.as_table_mut() else {
            continue;
        };
        for (key, value) in table.iter_mut() {
            if SECRET_SECTION_KEYS.contains(&(section.as_str(), key.as_str())) {
                *value = toml::Value::String(REDACTED.to_owned());
            } else {
                redact_urls(value);
            }
        }
    }
    shown
}

fn redact_urls(value: &mut toml::Value) {
    match value {
        toml::Value::String(text) => {
            if let std::borrow::Cow::Owned(redacted) = redact_url_password(text) {
                *text = redacted;
            }
        }
        toml::Value::Array(items) => items.iter_mut().for_each(redact_urls),
        toml::Value::Table(table) => table.iter_mut().for_each(|(_, value)| redact_urls(value)),
        _ => {}
    }
}

/// `url` with the password of its `user:password@` part replaced by
/// `********`; unchanged (borrowed) when it has none.
///
/// ```
/// use flagon_web::settings::redact_url_password;
///
/// assert_eq!(redact_url_password("postgres://app:s3cret@db:5432/app"), "postgres://app:********@db:5432/app");
/// assert_eq!(redact_url_password("sqlite://db.sqlite3"), "sqlite://db.sqlite3");
/// ```
pub fn redact_url_password(url: &str) -> std::borrow::Cow<'_, str> {
    let Some((_, after_scheme)) = url.split_once("://") else {
        return std::borrow::Cow::Borrowed(url);
    };
    let start = url.len() - after_scheme.len();
    // The credentials end at the last `@` before the query (a password may
    // hold an unescaped `/` or `@`; over-redacting is the safe mistake).
    let before_query = after_scheme
        .find(['?', '#'])
        .map_or(after_scheme, |end| &after_scheme[..end]);
    let Some(at) = before_query.rfind('@') else {
        return std::borrow::Cow::Borrowed(url);
    };
    let Some(colon) = before_query[..at].find(':') else {
        return std::borrow::Cow::Borrowed(url);
    };
    let (password_start, password_end) = (start + colon + 1, start + at);
    if password_start == password_end {
        return std::borrow::Cow::Borrowed(url);
    }
    std::borrow::Cow::Owned(format!(
        "{}{REDACTED}{}",
        &url[..password_start],
        &url[password_end..]
    ))
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            debug: false,
            secret_key: Secret::default(),
            secret_key_fallbacks: Vec::new(),
            addr: "127.0.0.1:8000".to_owned(),
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "[::1]".into()],
            templates_dir: PathBuf::from("templates"),
            static_dir: PathBuf::from("static"),
            static_url: "/static".to_owned(),
            limits: Limits::default(),
            session: SessionSettings::default(),
            csrf: CsrfSettings::default(),
            security: SecuritySettings::default(),
            extra: toml::Table::new(),
        }
    }
}

/// Limits that protect the server from oversized or slow requests.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest body read into memory (forms, JSON, `String`, `Bytes`), in bytes. Default 2 MiB.
    pub max_body_size: usize,
    /// Largest streamed `multipart/form-data` body, in bytes. Default 64 MiB.
    pub max_upload_size: usize,
    /// Most request headers accepted (431 beyond). Default 100.
    pub max_headers: usize,
    /// Largest request head (request line and headers), in bytes (431 beyond). Default 16 KiB.
    pub max_header_size: usize,
    /// Most connections served at once; one more is answered 503 and
    /// closed (and a warning logged) rather than left waiting. At least 1.
    /// Default 10 000.
    pub max_connections: usize,
    /// How long a client may take to send its request head; also how long
    /// an idle HTTP/1.1 keep-alive connection stays open. A connection's
    /// first request must be in within it from the connection's start,
    /// body included (time the app takes before reading the body does not
    /// count). Default 10 s.
    #[serde(with = "duration")]
    pub header_read_timeout: Duration,
    /// How long a request body may go without the client sending any of
    /// it while the app reads it (a stalled upload). The read then fails,
    /// the request is answered 408 and its connection closed. It bounds
    /// each wait, not the whole body: a large upload over a slow link is
    /// not cut off, its size is bounded by `max_body_size` and
    /// `max_upload_size`, and the first request of a connection must be
    /// read in full within `header_read_timeout`. Default 30 s.
    #[serde(with = "duration")]
    pub body_read_timeout: Duration,
    /// How long sending a response may go without progress (a client
    /// that stops reading) before the connection is closed; also bounds
    /// sending the last bytes of a closing connection. Default 30 s.
    #[serde(with = "duration")]
    pub write_timeout: Duration,
    /// How long shutdown waits for requests in flight. Default 30 s.
    #[serde(with = "duration")]
    pub shutdown_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_size: 2 * 1024 * 1024,
            max_upload_size: 64 * 1024 * 1024,
            max_headers: 100,
            max_header_size: 16 * 1024,
            max_connections: 10_000,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

/// Session cookie options.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionSettings {
    /// The cookie's name. Default `session`.
    pub cookie_name: String,
    /// How long a session lasts. Default two weeks.
    #[serde(with = "duration")]
    pub max_age: Duration,
    /// Send the cookie over HTTPS only. Turn on in production behind HTTPS.
    pub secure: bool,
    /// `SameSite` attribute: `Lax` (default), `Strict` or `None` (which
    /// browsers accept only with `secure`).
    pub same_site: SameSite,
    /// The cookie's domain, for sharing across subdomains.
    pub domain: Option<String>,
    /// The cookie's path. Default `/`.
    pub path: String,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            cookie_name: "session".to_owned(),
            max_age: Duration::from_secs(14 * 24 * 3600),
            secure: false,
            same_site: SameSite::Lax,
            domain: None,
            path: "/".to_owned(),
        }
    }
}

/// When browsers send a cookie with requests from other sites.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum SameSite {
    /// With top-level navigations from other sites, not with their
    /// subrequests or form posts (the default).
    #[default]
    #[serde(alias = "lax")]
    Lax,
    /// Never with requests from other sites.
    #[serde(alias = "strict")]
    Strict,
    /// Always (only over HTTPS: requires `secure`).
    #[serde(alias = "none")]
    None,
}

impl From<SameSite> for cookie::SameSite {
    fn from(value: SameSite) -> Self {
        match value {
            SameSite::Lax => cookie::SameSite::Lax,
            SameSite::Strict => cookie::SameSite::Strict,
            SameSite::None => cookie::SameSite::None,
        }
    }
}

/// CSRF protection options.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CsrfSettings {
    /// Check POST, PUT, PATCH and DELETE requests. Default on.
    pub enabled: bool,
    /// Cookie holding the CSRF secret. Default `csrftoken`.
    pub cookie_name: String,
    /// Header scripts send the token in. Default `X-CSRFToken`.
    pub header_name: String,
    /// Form field the token is posted in. Default `csrf_token`.
    pub field_name: String,
    /// Send the CSRF cookie over HTTPS only.
    pub cookie_secure: bool,
    /// Keep the CSRF secret in the session instead of its own cookie
    /// (Django's `CSRF_USE_SESSIONS`): flushing the session at logout then
    /// also retires the secret. Needs sessions.
    pub use_sessions: bool,
    /// Origins (`https://app.example.com`) allowed to post besides the
    /// request's own host.
    #[serde(deserialize_with = "string_or_list")]
    pub trusted_origins: Vec<String>,
}

impl Default for CsrfSettings {
    fn default() -> Self {
        CsrfSettings {
            enabled: true,
            cookie_name: "csrftoken".to_owned(),
            header_name: "X-CSRFToken".to_owned(),
            field_name: "csrf_token".to_owned(),
            cookie_secure: false,
            use_sessions: false,
            trusted_origins: Vec::new(),
        }
    }
}

/// Security headers added to every response.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecuritySettings {
    /// `X-Content-Type-Options: nosniff`. Default on.
    pub content_type_nosniff: bool,
    /// `X-Frame-Options` value; empty turns it off. Default `DENY`.
    pub frame_options: String,
    /// `Referrer-Policy` value; empty turns it off. Default `same-origin`.
    pub referrer_policy: String,
    /// `Cross-Origin-Opener-Policy` value; empty turns it off. Default `same-origin`.
    pub cross_origin_opener_policy: String,
    /// `Strict-Transport-Security` max-age in seconds; 0 (default) sends none.
    pub hsts_seconds: u64,
    /// Add `includeSubDomains` to HSTS.
    pub hsts_include_subdomains: bool,
    /// Add `preload` to HSTS.
    pub hsts_preload: bool,
    /// `Content-Security-Policy` value; empty (default) sends none. The text
    /// `{nonce}` is replaced by a fresh nonce per response, which templates
    /// read as `csp_nonce`.
    pub content_security_policy: String,
    /// Trust this header from a reverse proxy to mean HTTPS, as
    /// `X-Forwarded-Proto: https`. Empty (default) trusts nothing.
    pub secure_proxy_ssl_header: String,
    /// The header a trusted reverse proxy puts the client's address in,
    /// such as `X-Forwarded-For` or `X-Real-IP` (Werkzeug's `ProxyFix`).
    /// Empty (default) trusts none: the client's address is the peer's.
    /// Set it only behind a proxy that sets the header, or clients can
    /// claim any address.
    pub client_ip_header: String,
    /// How many proxies in front of the app append to `client_ip_header`
    /// (`ProxyFix`'s `x_for`): the address taken is this many from the
    /// right of the comma-separated list. Default 1.
    pub trusted_proxies: usize,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        SecuritySettings {
            content_type_nosniff: true,
            frame_options: "DENY".to_owned(),
            referrer_policy: "same-origin".to_owned(),
            cross_origin_opener_policy: "same-origin".to_owned(),
            hsts_seconds: 0,
            hsts_include_subdomains: false,
            hsts_preload: false,
            content_security_policy: String::new(),
            secure_proxy_ssl_header: String::new(),
            client_ip_header: String::new(),
            trusted_proxies: 1,
        }
    }
}

impl Settings {
    /// Reads `flagon.toml` from the current directory (or the file named by
    /// `FLAGON_SETTINGS`) if it exists, then applies `FLAGON_*` environment
    /// variables.
    pub fn load() -> Result<Settings, Error> {
        Settings::load_from_dir(Path::new("."))
    }

    /// Like [`Settings::load`], with `flagon.toml` looked up in `dir` (an
    /// app's [`crate::App::root`]). A relative `FLAGON_SETTINGS` is taken
    /// from the current directory, as the shell would.
    pub fn load_from_dir(dir: &Path) -> Result<Settings, Error> {
        let explicit = std::env::var_os("FLAGON_SETTINGS").map(PathBuf::from);
        let path = explicit.clone().unwrap_or_else(|| dir.join(SETTINGS_FILE));
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => Some(text),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound && explicit.is_none() => None,
            Err(err) => {
                return Err(Error::internal(format!(
                    "cannot read settings file {}: {err}",
                    path.display()
                )))
            }
        };
        Settings::from_sources(text.as_deref(), &path, std::env::vars())
    }

    /// Parses settings from TOML text alone (no environment).
    ///
    /// ```
    /// let settings = flagon_web::Settings::from_toml("debug = true\n[myapp]\nname = 'x'").unwrap();
    /// assert!(settings.debug);
    /// assert_eq!(settings.extra["myapp"]["name"].as_str(), Some("x"));
    /// ```
    pub fn from_toml(text: &str) -> Result<Settings, Error> {
        Settings::from_sources(Some(text), Path::new(SETTINGS_FILE), std::iter::empty())
    }

    /// Builds settings from a file's text (if any) and `(name, value)`
    /// environment pairs; only names starting with `FLAGON_` are read.
    ///
    /// The layering is our own rather than `figment`'s: its environment
    /// provider neither splits `FLAGON_ALLOWED_HOSTS=a.com,b.com` into a
    /// list nor reads a variable as the type of the setting it overrides
    /// (`FLAGON_SECRET_KEY=123` must stay text), and both would take as
    /// much code around it as this does, typo detection included.
    pub fn from_sources(
        text: Option<&str>,
        path: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, Error> {
        let mut table: toml::Table = match text {
            Some(text) => text.parse().map_err(|err: toml::de::Error| {
                Error::internal(format!(
                    "invalid settings file {}: {}",
                    path.display(),
                    err.message()
                ))
            })?,
            None => toml::Table::new(),
        };
        let defaults = toml::Table::try_from(Settings::default())
            .map_err(|err| Error::internal(format!("settings defaults do not serialize: {err}")))?;
        let mut env: Vec<(String, String)> = env
            .into_iter()
            .filter(|(name, _)| name.starts_with("FLAGON_") && name != "FLAGON_SETTINGS")
            .collect();
        env.sort();
        move_deprecated_keys(&mut table, &mut env, path)?;
        // App sections are tables; a bare unknown key in the file is a typo.
        for (key, value) in &table {
            if !defaults.contains_key(key) && !value.is_table() {
                return Err(Error::internal(format!(
                    "unknown setting `{key}` in {} (your own settings go in a [section] of their own)",
                    path.display()
                )));
            }
        }
        for (name, raw) in env {
            let key = name["FLAGON_".len()..].to_ascii_lowercase();
            let path: Vec<&str> = key.split("__").collect();
            if path.len() == 1 && !defaults.contains_key(&key) {
                // The environment is shared with other programs (and test
                // suites' FLAGON_TEST_* variables): note it, do not fail.
                tracing::warn!(
                    target: "flagon::settings",
                    "ignoring {name}: there is no setting `{key}` (use FLAGON_SECTION__KEY for your own sections)"
                );
                continue;
            }
            let default = lookup(&defaults, &path);
            let value = env_value(&name, &raw, default)?;
            insert(&mut table, &path, value)
                .map_err(|msg| Error::internal(format!("environment variable {name}: {msg}")))?;
        }
        let source = path.display().to_string();
        Settings::deserialize(toml::Value::Table(table)).map_err(|err| {
            Error::internal(format!(
                "invalid settings (from {source} and FLAGON_* variables): {err}"
            ))
        })
    }

    /// The app's own section `name`, deserialized into `T`.
    ///
    /// ```
    /// #[derive(serde::Deserialize)]
    /// struct Mail { sender: String }
    /// let settings = flagon_web::Settings::from_toml("[mail]\nsender = 'me@example.com'").unwrap();
    /// let mail: Mail = settings.section("mail").unwrap();
    /// assert_eq!(mail.sender, "me@example.com");
    /// ```
    pub fn section<T: DeserializeOwned>(&self, name: &str) -> Result<T, Error> {
        let value = self
            .extra
            .get(name)
            .cloned()
            .unwrap_or_else(|| toml::Value::Table(toml::Table::new()));
        T::deserialize(value)
            .map_err(|err| Error::internal(format!("invalid settings section [{name}]: {err}")))
    }

    /// Fails on combinations that cannot work, naming the keys.
    pub fn check(&self) -> Result<(), Error> {
        if self.limits.max_connections == 0 {
            return Err(Error::internal(
                "limits.max_connections = 0 would refuse every connection: set it to 1 or more (default 10000)",
            ));
        }
        for (key, value) in [
            ("body_read_timeout", self.limits.body_read_timeout),
            ("write_timeout", self.limits.write_timeout),
        ] {
            if value.is_zero() {
                return Err(Error::internal(format!(
                    "limits.{key} = 0 would fail every wait on a client: set it above 0 (default \"30s\")"
                )));
            }
        }
        if self.session.same_site == SameSite::None && !self.session.secure {
            return Err(Error::internal(
                "session.same_site = \"None\" needs session.secure = true: browsers refuse SameSite=None cookies without Secure",
            ));
        }
        Ok(())
    }

    /// Fails when the settings are unsafe to serve with: outside debug mode a
    /// secret key is required.
    pub fn check_for_production(&self) -> Result<(), Error> {
        if !self.debug && self.secret_key.is_empty() {
            return Err(Error::internal(
                "refusing to start without a secret key outside debug mode: set FLAGON_SECRET_KEY \
                 (or secret_key in flagon.toml) to a long random string, for example the output of \
                 `openssl rand -base64 48`; or set FLAGON_DEBUG=1 for local development",
            ));
        }
        Ok(())
    }
}

/// Top-level settings that moved into a section, as `(old key, section,
/// key)`: still read, with a warning, until a release removes them.
const MOVED_KEYS: &[(&str, &str, &str)] = &[
    ("database_url", "database", "url"),
    ("database_max_connections", "database", "max_connections"),
    ("database_acquire_timeout", "database", "acquire_timeout"),
];

/// Moves the deprecated top-level keys of [`MOVED_KEYS`] into their
/// sections, in the file and as `FLAGON_*` variables; the new name wins
/// when both are given.
fn move_deprecated_keys(
    table: &mut toml::Table,
    env: &mut Vec<(String, String)>,
    path: &Path,
) -> Result<(), Error> {
    for (old, section, key) in MOVED_KEYS {
        if let Some(value) = table.remove(*old) {
            let entry = table
                .entry(section.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let Some(inner) = entry.as_table_mut() else {
                return Err(Error::internal(format!(
                    "`{section}` in {} must be a section ([{section}])",
                    path.display()
                )));
            };
            if inner.contains_key(*key) {
                tracing::warn!(
                    target: "flagon::settings",
                    "ignoring `{old}` in {}: it is deprecated and [{section}] {key} is set",
                    path.display()
                );
            } else {
                tracing::warn!(
                    target: "flagon::settings",
                    "`{old}` in {} is deprecated: write `{key}` in a [{section}] section",
                    path.display()
                );
                inner.insert(key.to_string(), value);
            }
        }
        let old_name = format!("FLAGON_{}", old.to_ascii_uppercase());
        let new_name = format!(
            "FLAGON_{}__{}",
            section.to_ascii_uppercase(),
            key.to_ascii_uppercase()
        );
        let Some(index) = env.iter().position(|(name, _)| *name == old_name) else {
            continue;
        };
        let (_, value) = env.remove(index);
        if env.iter().any(|(name, _)| *name == new_name) {
            tracing::warn!(
                target: "flagon::settings",
                "ignoring {old_name}: it is deprecated and {new_name} is set"
            );
        } else {
            tracing::warn!(
                target: "flagon::settings",
                "{old_name} is deprecated: use {new_name}"
            );
            env.push((new_name, value));
        }
    }
    Ok(())
}

fn lookup<'a>(table: &'a toml::Table, path: &[&str]) -> Option<&'a toml::Value> {
    let (first, rest) = path.split_first()?;
    let value = table.get(*first)?;
    if rest.is_empty() {
        Some(value)
    } else {
        lookup(value.as_table()?, rest)
    }
}

fn insert(table: &mut toml::Table, path: &[&str], value: toml::Value) -> Result<(), String> {
    let Some((first, rest)) = path.split_first() else {
        return Err("empty key".into());
    };
    if rest.is_empty() {
        table.insert((*first).to_owned(), value);
        return Ok(());
    }
    let entry = table
        .entry((*first).to_owned())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    match entry {
        toml::Value::Table(inner) => insert(inner, rest, value),
        _ => Err(format!("`{first}` is not a section")),
    }
}

/// Converts an environment string to the type the default has (or, for
/// keys without a default, to the TOML value it spells, else a string).
fn env_value(name: &str, raw: &str, default: Option<&toml::Value>) -> Result<toml::Value, Error> {
    let invalid =
        |what: &str| Error::internal(format!("environment variable {name}={raw:?} is not {what}"));
    Ok(match default {
        Some(toml::Value::String(_)) => toml::Value::String(raw.to_owned()),
        Some(toml::Value::Boolean(_)) => {
            toml::Value::Boolean(match raw.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" | "" => false,
                _ => return Err(invalid("a boolean (1/0, true/false, yes/no, on/off)")),
            })
        }
        Some(toml::Value::Integer(_)) => {
            toml::Value::Integer(raw.trim().parse().map_err(|_| invalid("an integer"))?)
        }
        Some(toml::Value::Float(_)) => {
            toml::Value::Float(raw.trim().parse().map_err(|_| invalid("a number"))?)
        }
        Some(toml::Value::Array(_)) => match parse_toml_value(raw) {
            Some(array @ toml::Value::Array(_)) => array,
            _ => toml::Value::Array(
                raw.split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(|item| toml::Value::String(item.to_owned()))
                    .collect(),
            ),
        },
        _ => parse_toml_value(raw).unwrap_or_else(|| toml::Value::String(raw.to_owned())),
    })
}

fn parse_toml_value(raw: &str) -> Option<toml::Value> {
    let table: toml::Table = format!("v = {raw}").parse().ok()?;
    table.get("v").cloned()
}

fn string_or_list<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(text) => text
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect(),
        OneOrMany::Many(items) => items,
    })
}

pub mod duration {
    //! Durations in settings: seconds (`10`, `0.5`) or a number with a unit
    //! (`"500ms"`, `"10s"`, `"5m"`, `"2h"`, `"14d"`, `"1.5h"`). Use it with
    //! `#[serde(with = "flagon_web::settings::duration")]` on your own
    //! sections' fields.
    //!
    //! ```
    //! use std::time::Duration;
    //!
    //! #[derive(serde::Deserialize)]
    //! struct Mail {
    //!     #[serde(with = "flagon_web::settings::duration")]
    //!     timeout: Duration,
    //! }
    //!
    //! let settings = flagon_web::Settings::from_toml("[mail]\ntimeout = '1.5s'").unwrap();
    //! let mail: Mail = settings.section("mail").unwrap();
    //! assert_eq!(mail.timeout, Duration::from_millis(1500));
    //! ```
    //!
    //! Ours rather than `humantime`: `humantime::parse_duration` wants a
    //! unit on every number and takes no fractions, so the bare seconds
    //! (`10`, `0.5`) and `1.5s` that settings files already use would stop
    //! parsing. The text is read as an exact decimal with checked integer
    //! arithmetic, so a value too large for a `Duration` is an error, never
    //! a panic.

    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    const NANOS_PER_SEC: u128 = 1_000_000_000;

    /// Writes `value` as text with a unit (`"10s"`, `"500ms"`), so that an
    /// environment variable such as `FLAGON_LIMITS__HEADER_READ_TIMEOUT=500ms`
    /// is read as text too (it is converted to the default's type).
    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format(*value))
    }

    /// `value` as settings write it: whole seconds as `"10s"`, whole
    /// milliseconds as `"500ms"`, else decimal seconds (`"1.000000001s"`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use flagon_web::settings::duration;
    ///
    /// assert_eq!(duration::format(Duration::from_millis(500)), "500ms");
    /// assert_eq!(duration::format(Duration::from_secs(90)), "90s");
    /// ```
    pub fn format(value: Duration) -> String {
        let (secs, nanos) = (value.as_secs(), value.subsec_nanos());
        if nanos == 0 {
            format!("{secs}s")
        } else if nanos % 1_000_000 == 0 && secs < u64::MAX / 1000 {
            format!("{}ms", secs * 1000 + u64::from(nanos / 1_000_000))
        } else {
            let fraction = format!("{nanos:09}");
            format!("{secs}.{}s", fraction.trim_end_matches('0'))
        }
    }

    /// Reads seconds (`10`, `0.5`) or text with a unit (see [`parse`]).
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Float(f64),
            Text(String),
        }
        let invalid = |text: &str| {
            serde::de::Error::custom(format!(
                "invalid duration {text:?}: use seconds (10, 0.5) or a number with ms, s, m, h or d, \
                 not negative and not more than about 584 billion years"
            ))
        };
        match Raw::deserialize(deserializer)? {
            Raw::Int(secs) => Ok(Duration::from_secs(secs)),
            // Negative, NaN, infinite and too large are all errors here.
            Raw::Float(secs) => {
                Duration::try_from_secs_f64(secs).map_err(|_| invalid(&secs.to_string()))
            }
            Raw::Text(text) => parse(&text).ok_or_else(|| invalid(&text)),
        }
    }

    /// Parses `12`, `0.5`, `1.5s`, `10ms`, `2m`, `1h`, `1d` (a decimal
    /// number of the unit, seconds without one); `None` for anything else,
    /// negative numbers and durations too large to hold.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flagon_web::settings::duration::parse;
    ///
    /// assert_eq!(parse("1.5h"), Some(Duration::from_secs(5400)));
    /// assert_eq!(parse("99999999999999999999d"), None);
    /// ```
    pub fn parse(text: &str) -> Option<Duration> {
        let text = text.trim();
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let nanos_per_unit: u128 = match unit.trim() {
            "ms" => 1_000_000,
            "" | "s" => NANOS_PER_SEC,
            "m" => 60 * NANOS_PER_SEC,
            "h" => 3600 * NANOS_PER_SEC,
            "d" => 86_400 * NANOS_PER_SEC,
            _ => return None,
        };
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
            return None;
        }
        let mut nanos: u128 = 0;
        for digit in whole.bytes() {
            nanos = nanos
                .checked_mul(10)?
                .checked_add(u128::from(digit - b'0') * nanos_per_unit)?;
        }
        // Digits past the nanosecond (of a day: 14 places) change nothing.
        let mut scale = nanos_per_unit;
        for digit in fraction.bytes().take(15) {
            scale /= 10;
            nanos += u128::from(digit - b'0') * scale;
        }
        let secs = u64::try_from(nanos / NANOS_PER_SEC).ok()?;
        // Below one second: always fits in u32.
        let subsec = u32::try_from(nanos % NANOS_PER_SEC).ok()?;
        Some(Duration::new(secs, subsec))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_safe() {
        let settings = Settings::default();
        assert!(!settings.debug);
        assert_eq!(settings.addr, "127.0.0.1:8000");
        assert_eq!(settings.allowed_hosts, ["localhost", "127.0.0.1", "[::1]"]);
        assert!(settings.check_for_production().is_err());
    }

    #[test]
    fn environment_overrides_the_file() {
        let text = "addr = '0.0.0.0:80'\n[session]\ncookie_name = 'a'\n[limits]\nheader_read_timeout = '500ms'";
        let settings = Settings::from_sources(
            Some(text),
            Path::new("flagon.toml"),
            env(&[
                ("FLAGON_ADDR", "127.0.0.1:9000"),
                ("FLAGON_DEBUG", "1"),
                ("FLAGON_SECRET_KEY", "12345"),
                ("FLAGON_ALLOWED_HOSTS", "a.com, .b.org"),
                ("FLAGON_SESSION__SECURE", "yes"),
                ("FLAGON_LIMITS__MAX_BODY_SIZE", "10"),
                ("FLAGON_MYAPP__GREETING", "hello"),
                ("OTHER", "ignored"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.addr, "127.0.0.1:9000");
        assert!(settings.debug);
        assert_eq!(settings.secret_key.expose(), "12345");
        assert_eq!(settings.allowed_hosts, ["a.com", ".b.org"]);
        assert!(settings.session.secure);
        assert_eq!(settings.session.cookie_name, "a");
        assert_eq!(settings.limits.max_body_size, 10);
        assert_eq!(
            settings.limits.header_read_timeout,
            Duration::from_millis(500)
        );
        assert_eq!(settings.extra["myapp"]["greeting"].as_str(), Some("hello"));
        assert!(!format!("{settings:?}").contains("12345"));
    }

    #[test]
    fn bad_values_are_named() {
        let err = Settings::from_sources(None, Path::new("f"), env(&[("FLAGON_DEBUG", "maybe")]))
            .unwrap_err();
        assert!(err.chain().join(" ").contains("FLAGON_DEBUG"), "{err}");
        let err = Settings::from_toml("[session]\ncookie_nme = 'x'").unwrap_err();
        assert!(err.chain().join(" ").contains("cookie_nme"), "{err}");
        let err = Settings::from_toml("[limits]\nheader_read_timeout = 'soon'").unwrap_err();
        assert!(err.chain().join(" ").contains("invalid duration"), "{err}");
        let err = Settings::from_toml("debug = ").unwrap_err();
        assert!(
            err.chain().join(" ").contains("invalid settings file"),
            "{err}"
        );
    }

    #[test]
    fn same_site_is_checked() {
        let settings = Settings::from_toml("[session]\nsame_site = 'strict'").unwrap();
        assert_eq!(settings.session.same_site, SameSite::Strict);
        let err = Settings::from_toml("[session]\nsame_site = 'sometimes'").unwrap_err();
        assert!(err.chain().join(" ").contains("sometimes"), "{err}");
        let none = Settings::from_toml("[session]\nsame_site = 'None'").unwrap();
        let err = none.check().unwrap_err();
        assert!(err.chain().join(" ").contains("session.secure"), "{err}");
        let secure = Settings::from_toml("[session]\nsame_site = 'None'\nsecure = true").unwrap();
        assert!(secure.check().is_ok());
    }

    #[test]
    fn limits_that_cannot_work_are_named() {
        let settings = Settings::from_toml("[limits]\nmax_connections = 0").unwrap();
        let err = settings.check().unwrap_err();
        assert!(
            err.chain().join(" ").contains("limits.max_connections"),
            "{err:?}"
        );
        for key in ["body_read_timeout", "write_timeout"] {
            let settings = Settings::from_toml(&format!("[limits]\n{key} = 0")).unwrap();
            let err = settings.check().unwrap_err();
            assert!(
                err.chain().join(" ").contains(&format!("limits.{key}")),
                "{err:?}"
            );
        }
        let settings = Settings::from_sources(
            Some("[limits]\nmax_connections = 2\nbody_read_timeout = '5s'\nwrite_timeout = 1"),
            Path::new("flagon.toml"),
            env(&[("FLAGON_LIMITS__WRITE_TIMEOUT", "2")]),
        )
        .unwrap();
        settings.check().unwrap();
        assert_eq!(settings.limits.max_connections, 2);
        assert_eq!(settings.limits.body_read_timeout, Duration::from_secs(5));
        assert_eq!(settings.limits.write_timeout, Duration::from_secs(2));
    }

    #[test]
    fn unknown_top_level_keys_are_typos() {
        let err = Settings::from_toml("secret_kye = 'x'").unwrap_err();
        assert!(
            err.chain()
                .join(" ")
                .contains("unknown setting `secret_kye`"),
            "{err}"
        );
        // Unknown environment variables are skipped (the environment is shared).
        let settings = Settings::from_sources(
            None,
            Path::new("f"),
            env(&[
                ("FLAGON_TEST_POSTGRES_URL", "postgres://x"),
                ("FLAGON_DEBUG", "1"),
            ]),
        )
        .unwrap();
        assert!(settings.debug);
        assert!(settings.extra.is_empty());
        assert!(Settings::from_toml("[mine]\nkey = 1").is_ok());
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(duration::parse("10"), Some(Duration::from_secs(10)));
        assert_eq!(duration::parse("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(duration::parse("2m"), Some(Duration::from_secs(120)));
        assert_eq!(duration::parse("x"), None);
    }

    #[test]
    fn accepted_duration_formats() {
        for (text, expected) in [
            ("10", Duration::from_secs(10)),
            ("0.5", Duration::from_millis(500)),
            ("1.5s", Duration::from_millis(1500)),
            ("10ms", Duration::from_millis(10)),
            ("2m", Duration::from_secs(120)),
            ("1h", Duration::from_secs(3600)),
            ("1d", Duration::from_secs(86400)),
            (" 5 s ", Duration::from_secs(5)),
            ("0", Duration::ZERO),
        ] {
            assert_eq!(duration::parse(text), Some(expected), "{text:?}");
        }
    }

    #[test]
    fn overflowing_or_invalid_durations_are_errors_not_panics() {
        for text in [
            "99999999999999999999d",
            "18446744073709551616",
            "1e30s",
            "1e30",
            "-1s",
            "-0.5",
            "NaN",
            "nan",
            "inf",
            "1.5.5s",
            "s",
            "",
        ] {
            assert_eq!(duration::parse(text), None, "{text:?}");
            let toml = format!("[limits]\nheader_read_timeout = {text:?}");
            let err = Settings::from_toml(&toml).unwrap_err();
            assert!(
                err.chain().join(" ").contains("invalid duration"),
                "{text:?}: {err}"
            );
        }
        // TOML numbers, not text.
        for number in ["1e30", "-1", "-0.5", "nan", "inf", "1.8446744073709552e19"] {
            let toml = format!("[limits]\nheader_read_timeout = {number}");
            let err = Settings::from_toml(&toml).unwrap_err();
            assert!(
                err.chain().join(" ").contains("duration"),
                "{number}: {err}"
            );
        }
        // And from the environment.
        let err = Settings::from_sources(
            None,
            Path::new("f"),
            env(&[("FLAGON_SESSION__MAX_AGE", "99999999999999999999d")]),
        )
        .unwrap_err();
        assert!(err.chain().join(" ").contains("duration"), "{err}");
    }

    #[test]
    fn the_database_section_comes_from_the_file_and_the_environment() {
        let settings = Settings::from_sources(
            Some("[database]\nurl = 'sqlite://file.db'\nmax_connections = 3"),
            Path::new("f"),
            env(&[
                ("FLAGON_DATABASE__URL", "postgres://app:pw@db/app"),
                ("FLAGON_DATABASE__ACQUIRE_TIMEOUT", "250ms"),
            ]),
        )
        .unwrap();
        let database = &settings.extra["database"];
        assert_eq!(database["url"].as_str(), Some("postgres://app:pw@db/app"));
        assert_eq!(database["max_connections"].as_integer(), Some(3));
        assert_eq!(database["acquire_timeout"].as_str(), Some("250ms"));
    }

    #[test]
    fn the_old_top_level_database_keys_still_work() {
        let settings = Settings::from_toml(
            "database_url = 'sqlite://old.db'\ndatabase_max_connections = 4\ndatabase_acquire_timeout = '2s'",
        )
        .unwrap();
        let database = &settings.extra["database"];
        assert_eq!(database["url"].as_str(), Some("sqlite://old.db"));
        assert_eq!(database["max_connections"].as_integer(), Some(4));
        assert_eq!(database["acquire_timeout"].as_str(), Some("2s"));

        // FLAGON_DATABASE_URL overrides the file, FLAGON_DATABASE__URL wins over it.
        let from_env = |pairs: &[(&str, &str)]| {
            let settings = Settings::from_sources(
                Some("[database]\nurl = 'sqlite://file.db'"),
                Path::new("f"),
                env(pairs),
            )
            .unwrap();
            settings.extra["database"]["url"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(
            from_env(&[("FLAGON_DATABASE_URL", "sqlite://old-env.db")]),
            "sqlite://old-env.db"
        );
        assert_eq!(
            from_env(&[
                ("FLAGON_DATABASE_URL", "sqlite://old-env.db"),
                ("FLAGON_DATABASE__URL", "sqlite://new-env.db"),
            ]),
            "sqlite://new-env.db"
        );
        // In the file, [database] url wins over the old key.
        let settings = Settings::from_toml(
            "database_url = 'sqlite://old.db'\n[database]\nurl = 'sqlite://new.db'",
        )
        .unwrap();
        assert_eq!(
            settings.extra["database"]["url"].as_str(),
            Some("sqlite://new.db")
        );
        assert!(Settings::from_toml("database_url = 'x'\ndatabase = 1").is_err());
    }

    #[test]
    fn the_database_url_is_redacted_in_debug_and_when_serialized() {
        let settings = Settings::from_sources(
            Some("[cache]\nurl = 'redis://:cachepw@cache:6379'\nhosts = ['redis://u:arraypw@h']"),
            Path::new("f"),
            env(&[("FLAGON_DATABASE__URL", "postgres://app:dbpassword@db/app")]),
        )
        .unwrap();
        let debug = format!("{settings:?} {settings:#?}");
        let serialized = serde_json::to_string(&settings).unwrap();
        for shown in [&debug, &serialized] {
            for secret in ["dbpassword", "cachepw", "arraypw", "db/app"] {
                assert!(!shown.contains(secret), "{secret} in {shown}");
            }
            assert!(shown.contains("redis://:********@cache:6379"), "{shown}");
        }
        let value: serde_json::Value = serde_json::from_str(&serialized).unwrap();
        assert_eq!(value["database"]["url"], "********");
        // The settings themselves keep the URL.
        assert_eq!(
            settings.extra["database"]["url"].as_str(),
            Some("postgres://app:dbpassword@db/app")
        );
    }

    #[test]
    fn url_passwords_are_redacted() {
        for (url, shown) in [
            (
                "postgres://app:pw@db:5432/app",
                "postgres://app:********@db:5432/app",
            ),
            ("mysql://root:p/w@d@h/db", "mysql://root:********@h/db"),
            ("redis://:pw@cache", "redis://:********@cache"),
            ("postgres://app@db/app", "postgres://app@db/app"),
            ("postgres://db/app?user=a@b", "postgres://db/app?user=a@b"),
            ("postgres://app:@db/app", "postgres://app:@db/app"),
            ("sqlite://db.sqlite3", "sqlite://db.sqlite3"),
            ("not a url: a@b", "not a url: a@b"),
        ] {
            assert_eq!(redact_url_password(url), shown, "{url}");
        }
    }

    #[test]
    fn durations_are_written_back_in_a_form_that_reads_the_same() {
        for duration in [
            Duration::ZERO,
            Duration::from_secs(10),
            Duration::from_millis(1500),
            Duration::from_nanos(1_000_000_001),
            Duration::MAX,
        ] {
            let text = duration::format(duration);
            assert_eq!(duration::parse(&text), Some(duration), "{text}");
        }
        assert_eq!(duration::format(Duration::from_millis(500)), "500ms");
        assert_eq!(duration::format(Duration::from_secs(10)), "10s");
    }

    #[test]
    fn durations_with_units_come_from_the_environment() {
        let settings = Settings::from_sources(
            None,
            Path::new("f"),
            env(&[
                ("FLAGON_LIMITS__HEADER_READ_TIMEOUT", "500ms"),
                ("FLAGON_LIMITS__SHUTDOWN_TIMEOUT", "2"),
                ("FLAGON_SESSION__MAX_AGE", "1.5h"),
            ]),
        )
        .unwrap();
        assert_eq!(
            settings.limits.header_read_timeout,
            Duration::from_millis(500)
        );
        assert_eq!(settings.limits.shutdown_timeout, Duration::from_secs(2));
        assert_eq!(settings.session.max_age, Duration::from_secs(5400));
    }
}
