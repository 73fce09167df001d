//! The migrations of app `guestbook`. `makemigrations` writes this file again
//! whenever it adds one: edit the migrations, not this list.

mod m0001_initial;

/// The app's migrations, oldest first, for `AppConfig::migrations`.
pub const MIGRATIONS: &[fn() -> flagon::orm::migrations::Migration] = &[m0001_initial::migration];
