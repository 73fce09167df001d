//! Operations that run code of your own: SQL and Rust (data migrations).
//! They leave the state as it is.

use crate::backends::Dialect;

use super::{Operate, Operation, RustCode};
use crate::migrations::ddl::{RustStep, Step};
use crate::migrations::error::MigrationError;
use crate::migrations::state::ProjectState;
use crate::migrations::writer::lit;

/// Runs SQL of your own.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RunSql {
    /// Run when the migration is applied.
    pub sql: String,
    /// Run when it is undone; `None` makes it irreversible.
    pub reverse_sql: Option<String>,
}

impl Operate for RunSql {
    fn describe(&self) -> String {
        "Run SQL".to_owned()
    }

    fn state_forwards(&self, _app: &str, _state: &mut ProjectState) -> Result<(), MigrationError> {
        Ok(())
    }

    fn database_forwards(
        &self,
        _app: &str,
        _before: &ProjectState,
        _after: &ProjectState,
        _dialect: Dialect,
    ) -> Result<Vec<Step>, MigrationError> {
        Ok(vec![Step::Sql(self.sql.clone())])
    }

    fn reverse(
        &self,
        _app: &str,
        _before: &ProjectState,
    ) -> Result<Option<Operation>, MigrationError> {
        Ok(self.reverse_sql.as_ref().map(|reverse| {
            RunSql {
                sql: reverse.clone(),
                reverse_sql: Some(self.sql.clone()),
            }
            .into()
        }))
    }

    fn source(&self) -> Result<String, MigrationError> {
        Ok(match &self.reverse_sql {
            Some(reverse) => format!(
                "Operation::run_sql({}).reverse_sql({})",
                lit(&self.sql),
                lit(reverse)
            ),
            None => format!("Operation::run_sql({})", lit(&self.sql)),
        })
    }
}

/// Runs Rust code of your own (a data migration).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RunRust {
    /// The functions.
    pub code: RustCode,
}

impl Operate for RunRust {
    fn describe(&self) -> String {
        "Run Rust code".to_owned()
    }

    fn state_forwards(&self, _app: &str, _state: &mut ProjectState) -> Result<(), MigrationError> {
        Ok(())
    }

    fn database_forwards(
        &self,
        _app: &str,
        _before: &ProjectState,
        _after: &ProjectState,
        _dialect: Dialect,
    ) -> Result<Vec<Step>, MigrationError> {
        Ok(vec![Step::Rust(RustStep(self.code.forward))])
    }

    fn reverse(
        &self,
        _app: &str,
        _before: &ProjectState,
    ) -> Result<Option<Operation>, MigrationError> {
        Ok(self.code.backward.map(|backward| {
            RunRust {
                code: RustCode {
                    forward: backward,
                    backward: Some(self.code.forward),
                },
            }
            .into()
        }))
    }

    fn source(&self) -> Result<String, MigrationError> {
        Err(MigrationError::invalid(
            "a RunRust operation names functions and cannot be written out; add it by hand",
        ))
    }
}
