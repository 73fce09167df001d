//! The migrations of app `tfb`. `makemigrations` writes this file again
//! whenever it adds one: edit the migrations, not this list.

mod m0001_initial;
mod m0002_seed;

/// The app's migrations, oldest first, for `AppConfig::migrations`.
pub const MIGRATIONS: &[fn() -> flagon::orm::migrations::Migration] =
    &[m0001_initial::migration, m0002_seed::migration];
