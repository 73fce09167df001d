//! Migration `0001_initial` of app `guestbook`, written by `makemigrations`.
//!
//! - Create model Entry

use flagon::orm::migrations::prelude::*;

/// The migration.
pub fn migration() -> Migration {
    Migration::new("guestbook", "0001_initial").operation(Operation::create_model(
        ModelState::new("guestbook", "Entry", "guestbook_entry")
            .field(
                FieldState::new("id", FieldKind::BigInteger)
                    .primary_key()
                    .auto(),
            )
            .field(FieldState::new("name", FieldKind::String).max_length(80))
            .field(FieldState::new("message", FieldKind::String).max_length(500))
            .field(FieldState::new("signed_at", FieldKind::DateTime)),
    ))
}
