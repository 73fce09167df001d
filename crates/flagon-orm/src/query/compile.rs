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
        query.order_by_expr(order_expr(meta.table, false, term), direction(term));
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

fn direction(term: &Order) -> SeaOrder {
    if term.descending {
        SeaOrder::Desc
    } else {
        SeaOrder::Asc
    }
}

/// The expression an ordering term sorts by: a column (qualified by the
/// base table when `qualify`), or for a term on a related row the scalar
/// subquery that reads it, correlated with the base table.
fn order_expr(base: &'static str, qualify: bool, term: &Order) -> Expr {
    match term.via {
        None => column_expr(qualify.then_some(base), term.column),
        Some((foreign_key, target, key)) => {
            // An alias, so that a model ordered by its own parent works.
            let related = sea_query::Alias::new("flagon_rel");
            let lookup = Query::select()
                .column((related.clone(), sea_query::Alias::new(term.column)))
                .from_as(target, related.clone())
                .and_where(
                    Expr::col((related, sea_query::Alias::new(key))).equals((base, foreign_key)),
                )
                .to_owned();
            Expr::SubQuery(
                None,
                Box::new(sea_query::QueryStatementBuilder::into_sub_query_statement(
                    lookup,
                )),
            )
        }
    }
}

fn column_expr(table: Option<&'static str>, column: &'static str) -> Expr {
    match table {
        Some(table) => Expr::col((table, column)),
        None => Expr::col(column),
    }
}

/// A foreign key followed by a LEFT JOIN (for `select_related`).
pub(crate) struct Join {
    /// The base table's foreign key column.
    pub column: &'static str,
    /// The target model.
    pub target: &'static ModelMeta,
    /// The alias the target gets (`r0`, `r1`, ..).
    pub alias: String,
}

/// `select` with every column qualified by its table, and the targets of
/// `joins` LEFT JOINed with their columns after the base model's.
pub(crate) fn select_joined(
    meta: &'static ModelMeta,
    filter: Option<&Condition>,
    order: &[Order],
    limit: Option<u64>,
    offset: Option<u64>,
    joins: &[Join],
) -> sea_query::SelectStatement {
    let mut query = Query::select();
    query
        .columns(meta.fields.iter().map(|field| (meta.table, field.column)))
        .from(meta.table);
    for join in joins {
        let alias = sea_query::Alias::new(&join.alias);
        query.columns(
            join.target
                .fields
                .iter()
                .map(|field| (alias.clone(), sea_query::Alias::new(field.column))),
        );
        query.join_as(
            sea_query::JoinType::LeftJoin,
            join.target.table,
            alias.clone(),
            Expr::col((meta.table, join.column)).equals((
                alias,
                sea_query::Alias::new(join.target.primary_key().column),
            )),
        );
    }
    if let Some(filter) = filter {
        query.cond_where(condition_in(filter, Some(meta.table)));
    }
    for term in order {
        query.order_by_expr(order_expr(meta.table, true, term), direction(term));
    }
    if let Some(limit) = limit {
        query.limit(limit);
    }
    if let Some(offset) = offset {
        if limit.is_none() {
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
    condition_in(filter, None)
}

/// The WHERE condition for a filter, its columns qualified by `table`.
pub(crate) fn condition_in(filter: &Condition, table: Option<&'static str>) -> Cond {
    match filter {
        Condition::Lookup { column, lookup } => {
            Cond::all().add(lookup_expr(column_expr(table, column), lookup))
        }
        Condition::All(items) => items.iter().fold(Cond::all(), |cond, item| {
            cond.add(condition_in(item, table))
        }),
        Condition::Any(items) => items.iter().fold(Cond::any(), |cond, item| {
            cond.add(condition_in(item, table))
        }),
        Condition::Not(inner) => condition_in(inner, table).not(),
        Condition::Related {
            column,
            table: target,
            key,
            condition: inner,
        } => {
            let targets = Query::select()
                .column((*target, *key))
                .from(*target)
                .cond_where(condition_in(inner, Some(target)))
                .to_owned();
            Cond::all().add(column_expr(table, column).in_subquery(targets))
        }
        Condition::Through {
            column,
            table: through,
            select,
            filter,
            value,
        } => {
            let targets = Query::select()
                .column((*through, *select))
                .from(*through)
                .and_where(Expr::col((*through, *filter)).eq(value.clone()))
                .to_owned();
            Cond::all().add(column_expr(table, column).in_subquery(targets))
        }
    }
}

fn lookup_expr(col: Expr, lookup: &Lookup) -> Expr {
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
        } => Expr::from(Func::lower(col)).like(LikeExpr::new(pattern.to_lowercase()).escape('\\')),
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
        many_to_many: &[],
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
            via: None,
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
