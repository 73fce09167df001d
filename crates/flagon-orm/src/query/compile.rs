//! The query tree rendered as sea-query statements (then SQL per dialect).

use sea_query::{Cond, Expr, ExprTrait, Func, LikeExpr, Order as SeaOrder, Query};

use super::condition::{Condition, Lookup, Order};
use crate::model::ModelMeta;

/// `SELECT <fields> FROM <table> WHERE .. ORDER BY .. LIMIT .. OFFSET ..`
pub(crate) fn select(
    meta: &ModelMeta,
    filter: Option<&Condition>,
    order: &[Order],
    limit: Option<u64>,
    offset: Option<u64>,
) -> sea_query::SelectStatement {
    let mut query = Query::select();
    query
        .columns(meta.fields.iter().map(|field| field.column))
        .from(meta.table);
    if let Some(filter) = filter {
        query.cond_where(condition(filter));
    }
    for term in order {
        query.order_by(
            term.column,
            if term.descending {
                SeaOrder::Desc
            } else {
                SeaOrder::Asc
            },
        );
    }
    if let Some(limit) = limit {
        query.limit(limit);
    }
    if let Some(offset) = offset {
        if limit.is_none() {
            // Every backend needs a LIMIT with an OFFSET; this one means "all".
            query.limit(i64::MAX as u64);
        }
        query.offset(offset);
    }
    query
}

/// `SELECT COUNT(*) FROM <table> WHERE ..`
pub(crate) fn count(meta: &ModelMeta, filter: Option<&Condition>) -> sea_query::SelectStatement {
    let mut query = Query::select();
    query
        .expr(Func::count(Expr::col(sea_query::Asterisk)))
        .from(meta.table);
    if let Some(filter) = filter {
        query.cond_where(condition(filter));
    }
    query
}

/// The WHERE condition for a filter.
pub(crate) fn condition(filter: &Condition) -> Cond {
    match filter {
        Condition::Lookup { column, lookup } => Cond::all().add(lookup_expr(column, lookup)),
        Condition::All(items) => items
            .iter()
            .fold(Cond::all(), |cond, item| cond.add(condition(item))),
        Condition::Any(items) => items
            .iter()
            .fold(Cond::any(), |cond, item| cond.add(condition(item))),
        Condition::Not(inner) => condition(inner).not(),
    }
}

fn lookup_expr(column: &'static str, lookup: &Lookup) -> Expr {
    let col = Expr::col(column);
    match lookup {
        Lookup::Eq(value) => col.eq(value.clone()),
        Lookup::Ne(value) => col.ne(value.clone()),
        Lookup::Lt(value) => col.lt(value.clone()),
        Lookup::Lte(value) => col.lte(value.clone()),
        Lookup::Gt(value) => col.gt(value.clone()),
        Lookup::Gte(value) => col.gte(value.clone()),
        Lookup::In(values) if values.is_empty() => Expr::cust("1 = 0"),
        Lookup::In(values) => col.is_in(values.iter().cloned()),
        Lookup::Range(low, high) => col.between(low.clone(), high.clone()),
        Lookup::IsNull(true) => col.is_null(),
        Lookup::IsNull(false) => col.is_not_null(),
        Lookup::Like {
            pattern,
            case_insensitive: false,
        } => col.like(LikeExpr::new(pattern.clone()).escape('\\')),
        Lookup::Like {
            pattern,
            case_insensitive: true,
        } => Expr::from(Func::lower(Expr::col(column)))
            .like(LikeExpr::new(pattern.to_lowercase()).escape('\\')),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FieldKind, FieldMeta};
    use crate::value::Value;

    static FIELDS: [FieldMeta; 2] = [
        FieldMeta::new("id", FieldKind::BigInteger),
        FieldMeta::new("title", FieldKind::Text),
    ];
    static META: ModelMeta = ModelMeta {
        app: "blog",
        name: "Post",
        table: "blog_post",
        fields: &FIELDS,
        ordering: &[],
        unique_together: &[],
        indexes: &[],
    };

    fn lookup(column: &'static str, lookup: Lookup) -> Condition {
        Condition::Lookup { column, lookup }
    }

    #[test]
    fn select_is_parameterized_in_every_dialect() {
        let filter = lookup("id", Lookup::Gt(Value::from(3i64)))
            & (lookup(
                "title",
                Lookup::Like {
                    pattern: "%a%".into(),
                    case_insensitive: true,
                },
            ) | !lookup("title", Lookup::IsNull(true)));
        let order = [Order {
            column: "title",
            descending: true,
        }];
        let query = select(&META, Some(&filter), &order, Some(10), Some(20));
        let (sql, values) = query.build(sea_query::PostgresQueryBuilder);
        assert_eq!(
            sql,
            r#"SELECT "id", "title" FROM "blog_post" WHERE "id" > $1 AND (LOWER("title") LIKE $2 ESCAPE E'\\' OR (NOT "title" IS NULL)) ORDER BY "title" DESC LIMIT $3 OFFSET $4"#
        );
        assert_eq!(values.0.len(), 4);
        let (sql, _) = query.build(sea_query::MysqlQueryBuilder);
        assert!(
            sql.starts_with("SELECT `id`, `title` FROM `blog_post` WHERE `id` > ?"),
            "{sql}"
        );
        let (sql, _) = query.build(sea_query::SqliteQueryBuilder);
        assert!(sql.contains(r#"FROM "blog_post" WHERE "id" > ?"#), "{sql}");
    }

    #[test]
    fn empty_in_matches_nothing() {
        let query = select(
            &META,
            Some(&lookup("id", Lookup::In(Vec::new()))),
            &[],
            None,
            None,
        );
        let (sql, _) = query.build(sea_query::SqliteQueryBuilder);
        assert!(sql.ends_with("WHERE 1 = 0"), "{sql}");
    }
}
