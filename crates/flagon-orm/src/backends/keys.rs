//! The keys of inserted rows: reading back the keys the database gave a
//! multi-row insert, and moving PostgreSQL's identity sequences past keys
//! written explicitly.

use sea_query::{Expr, InsertStatement, Query, Values};

use super::{build, Dialect};
use crate::connection::Connection;
use crate::error::OrmError;
use crate::value::Value;

/// Whether the server `VERSION()` describes has `INSERT .. RETURNING`:
/// MariaDB from 10.5 does, MySQL (8 included) does not.
#[cfg(feature = "mysql")]
pub(crate) fn mysql_has_returning(version: &str) -> bool {
    // `10.11.19-MariaDB-0+deb12u1`, or behind a proxy `5.5.5-10.11.19-MariaDB`.
    let Some((before, _)) = version.split_once("-MariaDB") else {
        return false;
    };
    let number = before.rsplit('-').next().unwrap_or(before);
    let mut parts = number.split('.').map(|part| part.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= (10, 5),
        _ => false,
    }
}

/// `INSERT INTO table (columns) VALUES ..` with one row per entry of `rows`.
pub(crate) fn statement(
    table: &str,
    columns: &[&str],
    rows: &[Vec<Value>],
) -> Result<InsertStatement, OrmError> {
    let mut insert = Query::insert();
    insert
        .into_table(table.to_owned())
        .columns(columns.iter().map(|&column| column.to_owned()));
    for row in rows {
        insert
            .values(row.iter().cloned().map(Expr::val))
            .map_err(|err| OrmError::Schema {
                message: err.to_string(),
            })?;
    }
    Ok(insert)
}

/// A missing or wrong count of keys, as an error.
fn key_error(key: &str, message: String) -> OrmError {
    OrmError::Decode {
        column: key.to_owned(),
        message,
    }
}

/// Inserts `rows` (values for `columns`, the automatic `key` left out)
/// into `table`; returns the key the database gave each row, in order.
///
/// With `INSERT .. RETURNING` (SQLite, PostgreSQL, MariaDB ≥ 10.5) that is
/// one statement whose keys are read back. MySQL has no `RETURNING` and
/// reports only the first key of a statement: inside a transaction (one
/// connection) the statement's keys are that one and the next ones
/// `@@auto_increment_increment` apart, as a multi-row insert with its
/// rows known in advance reserves them together; on a pool, whose next
/// statement may run on a connection with another increment, each row is
/// inserted on its own. No key is ever guessed.
pub(crate) async fn insert_reading_keys(
    db: &(impl Connection + ?Sized),
    table: &str,
    key: &str,
    columns: &[&str],
    rows: &[Vec<Value>],
) -> Result<Vec<i64>, OrmError> {
    let dialect = db.dialect();
    if db.has_insert_returning() {
        let mut insert = statement(table, columns, rows)?;
        let (sql, values) = if dialect == Dialect::MySql {
            // sea-query leaves RETURNING out for MySQL; MariaDB has it.
            let (sql, values) = build(dialect, &insert)?;
            (
                format!("{sql} RETURNING `{}`", key.replace('`', "``")),
                values,
            )
        } else {
            insert.returning_col(key.to_owned());
            build(dialect, &insert)?
        };
        let returned = db.fetch_all(&sql, values).await?;
        if returned.len() != rows.len() {
            return Err(key_error(
                key,
                format!(
                    "the insert of {} rows returned {} keys",
                    rows.len(),
                    returned.len()
                ),
            ));
        }
        return returned.iter().map(crate::instance::returned_key).collect();
    }
    if db.in_transaction() {
        let step = db
            .fetch_all(
                "SELECT CAST(@@session.auto_increment_increment AS SIGNED)",
                Values(Vec::new()),
            )
            .await?;
        let step: i64 = step
            .first()
            .ok_or_else(|| key_error(key, "no @@auto_increment_increment".to_owned()))?
            .get(0)?;
        let (sql, values) = build(dialect, &statement(table, columns, rows)?)?;
        let executed = db.execute(&sql, values).await?;
        let first = executed
            .last_insert_id
            .filter(|_| executed.rows_affected == rows.len() as u64)
            .ok_or_else(|| {
                key_error(
                    key,
                    format!(
                        "the insert of {} rows reported {} rows and no first key",
                        rows.len(),
                        executed.rows_affected
                    ),
                )
            })?;
        return (0_i64..)
            .take(rows.len())
            .map(|offset| {
                offset
                    .checked_mul(step)
                    .and_then(|gap| first.checked_add(gap))
                    .ok_or_else(|| key_error(key, "the keys overflow a 64-bit integer".to_owned()))
            })
            .collect();
    }
    let mut keys = Vec::with_capacity(rows.len());
    for row in rows {
        let (sql, values) = build(
            dialect,
            &statement(table, columns, std::slice::from_ref(row))?,
        )?;
        let executed = db.execute(&sql, values).await?;
        keys.push(
            executed
                .last_insert_id
                .ok_or_else(|| key_error(key, "the insert reported no key".to_owned()))?,
        );
    }
    Ok(keys)
}

/// After `keys` were written explicitly into the automatic key column
/// `column` of `table`, moves PostgreSQL's identity sequence past the
/// largest of them, so the next automatic key does not collide with one.
///
/// The sequence never moves back: it is set to the greater of that key
/// and its last value, and only when the key is past the last value, so
/// keys below it cost no statement. (`setval` is not undone by a rollback:
/// at worst a rolled-back insert leaves a gap, as `nextval` does.)
/// SQLite's `AUTOINCREMENT` and MySQL's `AUTO_INCREMENT` move past
/// explicit keys by themselves: nothing runs there.
pub(crate) async fn advance_sequence<'v>(
    db: &(impl Connection + ?Sized),
    table: &str,
    column: &str,
    keys: impl IntoIterator<Item = &'v Value>,
) -> Result<(), OrmError> {
    if db.dialect() != Dialect::Postgres {
        return Ok(());
    }
    let highest = keys
        .into_iter()
        .filter_map(|key| match key {
            Value::BigInt(Some(key)) => Some(*key),
            Value::Int(Some(key)) => Some(i64::from(*key)),
            Value::SmallInt(Some(key)) => Some(i64::from(*key)),
            _ => None,
        })
        .max();
    let Some(highest) = highest else {
        return Ok(());
    };
    // pg_get_serial_sequence reads its first argument as SQL (quoted to
    // keep the name's case), its second as the column's plain name.
    let quoted = format!("\"{}\"", table.replace('"', "\"\""));
    let sql = "SELECT setval(s.seq, GREATEST($1::bigint, pg_sequence_last_value(s.seq))) \
               FROM (SELECT pg_get_serial_sequence($2::text, $3::text)::regclass AS seq) AS s \
               WHERE s.seq IS NOT NULL \
               AND $1::bigint > COALESCE(pg_sequence_last_value(s.seq), 0)";
    db.fetch_all(
        sql,
        Values(vec![
            Value::BigInt(Some(highest)),
            Value::String(Some(quoted)),
            Value::String(Some(column.to_owned())),
        ]),
    )
    .await?;
    Ok(())
}

#[cfg(all(test, feature = "mysql"))]
mod tests {
    use super::mysql_has_returning;

    #[test]
    fn mariadb_from_10_5_has_returning() {
        assert!(mysql_has_returning("10.11.19-MariaDB-0+deb12u1"));
        assert!(mysql_has_returning("5.5.5-10.5.2-MariaDB"));
        assert!(mysql_has_returning("11.4.2-MariaDB"));
        assert!(!mysql_has_returning(
            "10.4.34-MariaDB-1:10.4.34+maria~ubu2004"
        ));
        assert!(!mysql_has_returning("8.0.36"));
        assert!(!mysql_has_returning("8.4.0-0ubuntu0.24.04.1"));
        assert!(!mysql_has_returning(""));
    }
}
