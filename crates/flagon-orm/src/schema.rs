//! Creating and dropping a model's table from its metadata, outside
//! migrations: for tests, scripts and tables an app manages itself. The
//! SQL is what the `CreateModel` and `DeleteModel` migration operations
//! run.

use crate::backends::Dialect;
use crate::connection::Connection;
use crate::error::OrmError;
use crate::migrations::ddl::{self, quote};
use crate::migrations::{ModelState, ProjectState};
use crate::model::ModelMeta;

/// The statements that create `meta`'s table and its indexes on `dialect`.
///
/// ```
/// # use flagon_orm::{Dialect, Model};
/// #[derive(Model, Debug)]
/// #[model(app = "polls")]
/// struct Question { id: i64, #[field(max_length = 200, index)] text: String }
///
/// let sql = flagon_orm::schema::create_table_sql(Question::META, Dialect::Postgres)?;
/// assert_eq!(sql[1], r#"CREATE INDEX "polls_question_text_idx" ON "polls_question" ("text")"#);
/// # Ok::<(), flagon_orm::OrmError>(())
/// ```
pub fn create_table_sql(meta: &ModelMeta, dialect: Dialect) -> Result<Vec<String>, OrmError> {
    // The models its foreign keys point to, for their tables and keys.
    let mut state = ProjectState::new();
    for field in meta.fields {
        if let Some(relation) = &field.relation {
            state.add_model(ModelState::from_meta((relation.target)()));
        }
    }
    let model = ModelState::from_meta(meta);
    state.add_model(model.clone());
    ddl::create_model(&model, &state, dialect).map_err(|err| OrmError::Schema {
        message: err.to_string(),
    })
}

/// Creates `meta`'s table and indexes, on `db` or inside a transaction
/// (on MySQL/MariaDB, DDL commits an open transaction implicitly).
pub async fn create_table(
    db: &(impl Connection + ?Sized),
    meta: &ModelMeta,
) -> Result<(), OrmError> {
    for statement in create_table_sql(meta, db.dialect())? {
        db.execute_unprepared(&statement).await?;
    }
    Ok(())
}

/// Drops `meta`'s table if it exists, on `db` or inside a transaction
/// (on MySQL/MariaDB, DDL commits an open transaction implicitly).
pub async fn drop_table(db: &(impl Connection + ?Sized), meta: &ModelMeta) -> Result<(), OrmError> {
    let statement = format!("DROP TABLE IF EXISTS {}", quote(db.dialect(), meta.table));
    db.execute_unprepared(&statement).await?;
    Ok(())
}
