//! Creating and dropping a model's table from its metadata (what the
//! `CreateModel` and `DeleteModel` migration operations run).

use sea_query::{Alias, ColumnDef, Index, Table};

use crate::backends::{self, Dialect};
use crate::connection::Connection;
use crate::error::OrmError;
use crate::model::{FieldKind, FieldMeta, ModelMeta};

/// The statements that create `meta`'s table and its indexes on `dialect`.
pub fn create_table_sql(meta: &ModelMeta, dialect: Dialect) -> Vec<String> {
    let mut table = Table::create();
    table.table(meta.table);
    for field in meta.fields {
        table.col(column(field, dialect));
    }
    for (position, group) in meta.unique_together.iter().enumerate() {
        let mut index = Index::create();
        index
            .name(format!("{}_uniq_{position}", meta.table))
            .unique();
        for name in *group {
            if let Some(field) = meta.field(name) {
                index.col(field.column);
            }
        }
        table.index(&mut index);
    }
    let mut statements = vec![backends::build_schema(dialect, &table)];
    for field in meta
        .fields
        .iter()
        .filter(|f| f.index && !f.unique && !f.primary_key)
    {
        let index = Index::create()
            .name(format!("{}_{}_idx", meta.table, field.column))
            .table(meta.table)
            .col(field.column)
            .to_owned();
        statements.push(backends::build_schema(dialect, &index));
    }
    statements
}

fn column(field: &FieldMeta, dialect: Dialect) -> ColumnDef {
    let mut column = ColumnDef::new(field.column);
    if field.primary_key && field.auto {
        // SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid).
        match (dialect, field.kind) {
            (Dialect::Sqlite, _) => column.integer(),
            (_, FieldKind::Integer | FieldKind::SmallInteger) => column.integer(),
            _ => column.big_integer(),
        };
        column.not_null().auto_increment().primary_key();
        return column;
    }
    match field.kind {
        FieldKind::SmallInteger => column.small_integer(),
        FieldKind::Integer => column.integer(),
        FieldKind::BigInteger => column.big_integer(),
        FieldKind::Boolean => column.boolean(),
        FieldKind::Float => column.float(),
        FieldKind::Double => column.double(),
        FieldKind::String => column.string_len(field.max_length.unwrap_or(255)),
        FieldKind::Text => column.text(),
        FieldKind::Bytes => match dialect {
            Dialect::Postgres => column.custom(Alias::new("bytea")),
            _ => column.custom(Alias::new("blob")),
        },
        FieldKind::DateTime => match dialect {
            // Microseconds, and no 2038 limit as TIMESTAMP has.
            Dialect::MySql => column.custom(Alias::new("datetime(6)")),
            Dialect::Postgres => column.timestamp_with_time_zone(),
            Dialect::Sqlite => column.custom(Alias::new("text")),
        },
        FieldKind::Date => column.date(),
        FieldKind::Time => match dialect {
            // Microseconds, as the other backends keep.
            Dialect::MySql => column.custom(Alias::new("time(6)")),
            _ => column.time(),
        },
    };
    if field.null {
        column.null();
    } else {
        column.not_null();
    }
    if field.primary_key {
        column.primary_key();
    } else if field.unique {
        column.unique_key();
    }
    column
}

/// Creates `meta`'s table and indexes, on `db` or inside a transaction
/// (on MySQL/MariaDB, DDL commits an open transaction implicitly).
pub async fn create_table(
    db: &(impl Connection + ?Sized),
    meta: &ModelMeta,
) -> Result<(), OrmError> {
    for statement in create_table_sql(meta, db.dialect()) {
        db.execute_unprepared(&statement).await?;
    }
    Ok(())
}

/// Drops `meta`'s table if it exists, on `db` or inside a transaction
/// (on MySQL/MariaDB, DDL commits an open transaction implicitly).
pub async fn drop_table(db: &(impl Connection + ?Sized), meta: &ModelMeta) -> Result<(), OrmError> {
    let statement = Table::drop().table(meta.table).if_exists().to_owned();
    db.execute_unprepared(&backends::build_schema(db.dialect(), &statement))
        .await?;
    Ok(())
}
