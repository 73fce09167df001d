//! Migration `0001_initial` of app `tfb`, written by `makemigrations`.
//!
//! - Create model Fortune
//! - Create model World

use flagon::orm::migrations::prelude::*;

/// The migration.
pub fn migration() -> Migration {
    Migration::new("tfb", "0001_initial")
        .operation(Operation::create_model(
            ModelState::new("tfb", "Fortune", "fortune")
                .field(FieldState::new("id", FieldKind::Integer).primary_key())
                .field(FieldState::new("message", FieldKind::String).max_length(2048)),
        ))
        .operation(Operation::create_model(
            ModelState::new("tfb", "World", "world")
                .field(FieldState::new("id", FieldKind::Integer).primary_key())
                .field(FieldState::new("random_number", FieldKind::Integer).column("randomnumber")),
        ))
}
