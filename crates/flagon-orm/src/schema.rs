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

/// Creates the tables of `models`, and the through tables of their
/// many-to-many fields, each after the tables its foreign keys point to
/// (whatever the order given), on `db` or inside a transaction.
///
/// ```no_run
/// # use flagon_orm::{ForeignKey, Model};
/// # #[derive(Model, Debug)]
/// # #[model(app = "lib")]
/// # struct Author { id: i64 }
/// # #[derive(Model, Debug)]
/// # #[model(app = "lib")]
/// # struct Book { id: i64, #[field(on_delete = "cascade")] author: ForeignKey<Author> }
/// # async fn demo(db: flagon_orm::Db) -> Result<(), flagon_orm::OrmError> {
/// flagon_orm::schema::create_tables(&db, &[Book::META, Author::META]).await?;
/// # Ok(()) }
/// ```
pub async fn create_tables(
    db: &(impl Connection + ?Sized),
    models: &[&ModelMeta],
) -> Result<(), OrmError> {
    let state = ProjectState::from_models(models.iter().copied());
    // Targets outside `models` (tables that exist already) are looked up too.
    let mut lookup = state.clone();
    for meta in models {
        for field in meta.fields {
            if let Some(relation) = &field.relation {
                let target = (relation.target)();
                if lookup.model(target.app, target.name).is_none() {
                    lookup.add_model(ModelState::from_meta(target));
                }
            }
        }
    }
    let mut pending: Vec<&ModelState> = state.models.values().collect();
    let mut created: Vec<(String, String)> = Vec::new();
    while !pending.is_empty() {
        let ready = pending
            .iter()
            .position(|model| {
                model
                    .fields
                    .iter()
                    .filter_map(|f| f.relation.as_ref())
                    .all(|r| {
                        (r.app == model.app && r.model == model.name)
                            || created.contains(&(r.app.clone(), r.model.clone()))
                            || state.model(&r.app, &r.model).is_none()
                    })
            })
            .unwrap_or(0);
        let model = pending.remove(ready);
        let statements =
            ddl::create_model(model, &lookup, db.dialect()).map_err(|err| OrmError::Schema {
                message: err.to_string(),
            })?;
        for statement in statements {
            db.execute_unprepared(&statement).await?;
        }
        created.push((model.app.clone(), model.name.clone()));
    }
    Ok(())
}
