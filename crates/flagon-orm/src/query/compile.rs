//! The query tree rendered as sea-query statements (then SQL per dialect).

use sea_query::{Cond, Expr, ExprTrait, Func, LikeExpr, Order as SeaOrder, Query};

use super::condition::{Lookup, Node, OrderTerm};
use super::expr::{ArithOp, CompareOp, DatePart, Operand};
use crate::backends::Dialect;
use crate::model::{FieldKind, ModelMeta};
use crate::value::Value;

fn direction(term: &OrderTerm) -> SeaOrder {
    if term.descending {
        SeaOrder::Desc
    } else {
        SeaOrder::Asc
    }
}

/// The expression an ordering term sorts by: a column (qualified by the
/// base table when `qualify`), or for a term on a related row the scalar
/// subquery that reads it, correlated with the base table (nested once per
/// relation followed).
fn order_expr(dialect: Dialect, base: &'static str, qualify: bool, term: &OrderTerm) -> Expr {
    if let Some(expression) = &term.expression {
        return operand(dialect, expression, qualify.then_some(base));
    }
    match term.via.split_first() {
        None => column_expr(qualify.then_some(base), term.column),
        Some((first, rest)) => {
            related_column(sea_query::Alias::new(base), *first, rest, term.column, 0)
        }
    }
}

/// Whether `term` sorts by a column of the base row itself (what a
/// distinct select of the model's columns reads already).
fn sorts_by_own_column(term: &OrderTerm) -> bool {
    term.expression.is_none() && term.via.is_empty()
}

/// For a `SELECT DISTINCT` of whole rows sorted by `order`: each term that
/// is not a column of the base row (a related row's column, or an
/// expression) is selected too, after everything else, as
/// `flagon_orderN`, and sorted by that name. PostgreSQL, and MySQL 8
/// under `ONLY_FULL_GROUP_BY` (error 3065), refuse to sort a distinct
/// result by what it does not read; Django selects those terms too, and
/// as there, the rows are then distinct over the sort values as well.
pub(crate) fn order_distinct(
    query: &mut sea_query::SelectStatement,
    dialect: Dialect,
    base: &'static str,
    qualify: bool,
    order: &[OrderTerm],
) {
    if order.iter().all(sorts_by_own_column) {
        return;
    }
    query.clear_order_by();
    for (index, term) in order.iter().enumerate() {
        let sort = order_expr(dialect, base, qualify, term);
        let sort = if sorts_by_own_column(term) {
            sort
        } else {
            let alias = sea_query::Alias::new(format!("flagon_order{index}"));
            query.expr_as(sort, alias.clone());
            Expr::col(alias)
        };
        query.order_by_expr(sort, direction(term));
    }
}

/// `(SELECT <column> FROM target AS flagon_relN WHERE flagon_relN.key = from.fk)`,
/// following `rest` inside it. Aliases, so that a model ordered by its
/// own parent works.
fn related_column(
    from: sea_query::Alias,
    (foreign_key, target, key): super::condition::Hop,
    rest: &[super::condition::Hop],
    column: &'static str,
    depth: usize,
) -> Expr {
    let related = sea_query::Alias::new(format!("flagon_rel{depth}"));
    let selected = match rest.split_first() {
        None => Expr::col((related.clone(), sea_query::Alias::new(column))),
        Some((next, rest)) => related_column(related.clone(), *next, rest, column, depth + 1),
    };
    let lookup = Query::select()
        .expr(selected)
        .from_as(target, related.clone())
        .and_where(
            Expr::col((related, sea_query::Alias::new(key)))
                .equals((from, sea_query::Alias::new(foreign_key))),
        )
        .to_owned();
    Expr::SubQuery(
        None,
        Box::new(sea_query::QueryStatementBuilder::into_sub_query_statement(
            lookup,
        )),
    )
}

fn column_expr(table: Option<&'static str>, column: &'static str) -> Expr {
    match table {
        Some(table) => Expr::col((table, column)),
        None => Expr::col(column),
    }
}

/// A foreign key followed by a join (for `select_related`).
pub(crate) struct Join {
    /// The alias of the join the key belongs to, or `None` for the base
    /// table.
    pub from: Option<String>,
    /// The foreign key column.
    pub column: &'static str,
    /// The target model.
    pub target: &'static ModelMeta,
    /// The alias the target gets (`r0`, `r1`, ..).
    pub alias: String,
    /// Whether the foreign key may be NULL: a LEFT JOIN then, else an
    /// INNER JOIN (the same rows, as the key always points to a row, and
    /// one PostgreSQL can lock).
    pub nullable: bool,
}

/// `SELECT <fields> FROM <table> WHERE .. ORDER BY .. LIMIT .. OFFSET ..`.
/// With `joins`, every column is qualified by its table and the targets
/// are joined, their columns after the base model's.
pub(crate) fn select(
    dialect: Dialect,
    meta: &ModelMeta,
    filter: Option<&Node>,
    order: &[OrderTerm],
    limit: Option<u64>,
    offset: Option<u64>,
    joins: &[Join],
) -> sea_query::SelectStatement {
    let qualify = !joins.is_empty();
    let table = qualify.then_some(meta.table);
    let mut query = Query::select();
    match table {
        Some(table) => query.columns(meta.fields.iter().map(|field| (table, field.column))),
        None => query.columns(meta.fields.iter().map(|field| field.column)),
    };
    query.from(meta.table);
    for join in joins {
        let alias = sea_query::Alias::new(&join.alias);
        query.columns(
            join.target
                .fields
                .iter()
                .map(|field| (alias.clone(), sea_query::Alias::new(field.column))),
        );
        let kind = if join.nullable {
            sea_query::JoinType::LeftJoin
        } else {
            sea_query::JoinType::InnerJoin
        };
        query.join_as(
            kind,
            join.target.table,
            alias.clone(),
            match &join.from {
                None => Expr::col((meta.table, join.column)),
                Some(from) => Expr::col((
                    sea_query::Alias::new(from),
                    sea_query::Alias::new(join.column),
                )),
            }
            .equals((
                alias,
                sea_query::Alias::new(join.target.primary_key().column),
            )),
        );
    }
    if let Some(filter) = filter {
        query.cond_where(condition_in(dialect, filter, table));
    }
    for term in order {
        query.order_by_expr(
            order_expr(dialect, meta.table, qualify, term),
            direction(term),
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

/// The WHERE condition for a filter.
pub(crate) fn condition(dialect: Dialect, filter: &Node) -> Cond {
    condition_in(dialect, filter, None)
}

/// The WHERE condition for a filter, its columns qualified by `table`.
pub(crate) fn condition_in(dialect: Dialect, filter: &Node, table: Option<&'static str>) -> Cond {
    match filter {
        Node::Lookup { column, lookup, .. } => {
            Cond::all().add(lookup_expr(column_expr(table, column), lookup))
        }
        Node::All(items) => items.iter().fold(Cond::all(), |cond, item| {
            cond.add(condition_in(dialect, item, table))
        }),
        Node::Any(items) => items.iter().fold(Cond::any(), |cond, item| {
            cond.add(condition_in(dialect, item, table))
        }),
        Node::Not(inner) if inner.may_be_unknown() => {
            // NOT of an unknown is unknown, and drops the row: ask instead
            // whether the inner condition is anything but true, so a row
            // whose field is NULL is kept (Django's exclude).
            let inner = Expr::from(condition_in(dialect, inner, table));
            Cond::all().add(custom(dialect, "($1) IS NOT TRUE", inner))
        }
        Node::Not(inner) => condition_in(dialect, inner, table).not(),
        Node::Compare { left, op, right } => {
            if *op == CompareOp::Eq && (left.is_null_value() || right.is_null_value()) {
                let other = if left.is_null_value() { right } else { left };
                return Cond::all().add(operand(dialect, other, table).is_null());
            }
            Cond::all().add(compare(
                operand(dialect, left, table),
                *op,
                operand(dialect, right, table),
            ))
        }
        Node::Related {
            column,
            table: target,
            key,
            condition: inner,
            ..
        } => {
            let targets = Query::select()
                .column((*target, *key))
                .from(*target)
                .cond_where(condition_in(dialect, inner, Some(target)))
                .to_owned();
            Cond::all().add(column_expr(table, column).in_subquery(targets))
        }
        Node::Refused(_) => Cond::all().add(Expr::cust("1 = 0")),
        Node::Exists(inner) => Cond::all().add(Expr::exists(inner_select(dialect, inner))),
        Node::Json {
            column,
            keys,
            value,
        } => Cond::all().add(json_lookup(
            dialect,
            column_expr(table, column),
            keys,
            value.as_ref(),
        )),
        Node::Through {
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

/// `left op right`.
pub(crate) fn compare(left: Expr, op: CompareOp, right: Expr) -> Expr {
    match op {
        CompareOp::Eq => left.eq(right),
        CompareOp::Ne => left.ne(right),
        CompareOp::Lt => left.lt(right),
        CompareOp::Lte => left.lte(right),
        CompareOp::Gt => left.gt(right),
        CompareOp::Gte => left.gte(right),
    }
}

/// An operand as an expression for `dialect`.
pub(crate) fn operand(dialect: Dialect, operand_: &Operand, table: Option<&'static str>) -> Expr {
    match operand_ {
        Operand::Value(value) => Expr::val(value.clone()),
        Operand::Column { name, .. } => column_expr(table, name),
        Operand::Arith(left, op, right) => {
            let left = operand(dialect, left, table);
            let right = operand(dialect, right, table);
            match op {
                ArithOp::Add => left.add(right),
                ArithOp::Sub => left.sub(right),
                ArithOp::Mul => left.mul(right),
                ArithOp::Div => left.div(right),
            }
        }
        Operand::Func(function, args) => function_expr(dialect, *function, args, table),
        Operand::Outer { table, column, .. } => Expr::col((*table, *column)),
        Operand::Subquery(inner) => {
            let mut select = inner_select(dialect, inner);
            select.limit(1);
            Expr::SubQuery(
                None,
                Box::new(sea_query::QueryStatementBuilder::into_sub_query_statement(
                    select,
                )),
            )
        }
        Operand::Cast(inner, kind) => custom(
            dialect,
            &format!(
                "CAST($1 AS {})",
                super::functions::cast_type(dialect, *kind)
            ),
            operand(dialect, inner, table),
        ),
        Operand::DatePart {
            part, column, kind, ..
        } => {
            let column = column_expr(table, column);
            let sql = match (dialect, part) {
                (Dialect::Sqlite, DatePart::Year) => "CAST(strftime('%Y', $1) AS INTEGER)",
                (Dialect::Sqlite, DatePart::Month) => "CAST(strftime('%m', $1) AS INTEGER)",
                (Dialect::Sqlite, DatePart::Day) => "CAST(strftime('%d', $1) AS INTEGER)",
                (Dialect::MySql, DatePart::Year) => "YEAR($1)",
                (Dialect::MySql, DatePart::Month) => "MONTH($1)",
                (Dialect::MySql, DatePart::Day) => "DAYOFMONTH($1)",
                // Instants are stored with their zone: read the UTC calendar.
                (Dialect::Postgres, part) => {
                    let unit = match part {
                        DatePart::Year => "YEAR",
                        DatePart::Month => "MONTH",
                        DatePart::Day => "DAY",
                    };
                    let sql = if *kind == FieldKind::DateTime {
                        format!("CAST(EXTRACT({unit} FROM $1 AT TIME ZONE 'UTC') AS INTEGER)")
                    } else {
                        format!("CAST(EXTRACT({unit} FROM $1) AS INTEGER)")
                    };
                    return custom(dialect, &sql, column);
                }
            };
            custom(dialect, sql, column)
        }
    }
}

/// The SELECT of a correlated subquery: its columns unqualified (they
/// are its own table's, the innermost), outer references qualified by the
/// outer table.
fn inner_select(dialect: Dialect, inner: &super::subquery::Inner) -> sea_query::SelectStatement {
    let mut select = select(
        dialect,
        inner.meta,
        inner.filter.as_ref(),
        &inner.order,
        None,
        inner.offset,
        &[],
    );
    select.clear_selects();
    match inner.column {
        Some(column) => select.column(column),
        None => select.expr(Expr::cust("1")),
    };
    select
}

/// A JSON key lookup: the value at `keys` equals the JSON scalar `value`,
/// or (without one) the path exists.
fn json_lookup(dialect: Dialect, column: Expr, keys: &[String], value: Option<&Value>) -> Expr {
    let path = || Expr::val(super::json::path_text(keys));
    match dialect {
        Dialect::Postgres => {
            // `->` per key (each a bound text): SQL NULL when a key is
            // missing, the jsonb `null` for a JSON null.
            let mut exprs = vec![column];
            exprs.extend(keys.iter().map(|key| Expr::val(key.clone())));
            let walk: Vec<String> = (2..=keys.len() + 1).map(|n| format!("${n}")).collect();
            let at = format!("($1 -> {})", walk.join(" -> "));
            match value {
                Some(value) => {
                    exprs.push(Expr::val(value.clone()));
                    Expr::cust_with_exprs(format!("{at} = ${}", keys.len() + 2), exprs)
                }
                None => Expr::cust_with_exprs(format!("{at} IS NOT NULL"), exprs),
            }
        }
        // Compared as the JSON text both sides normalise to, byte by byte
        // (a text collation would ignore case).
        Dialect::MySql => match value {
            Some(value) => Expr::cust_with_exprs(
                "CAST(JSON_EXTRACT(?, ?) AS BINARY) = CAST(JSON_EXTRACT(?, '$') AS BINARY)",
                [column, path(), Expr::val(value.clone())],
            ),
            None => Expr::cust_with_exprs("JSON_CONTAINS_PATH(?, 'one', ?) = 1", [column, path()]),
        },
        // json_extract gives SQL values (true is 1): compare the JSON
        // types too; json_type is NULL only for a missing path.
        Dialect::Sqlite => match value {
            Some(value) => Expr::cust_with_exprs(
                "(json_type(?, ?) = json_type(?, '$') AND json_extract(?, ?) IS json_extract(?, '$'))",
                [
                    column.clone(),
                    path(),
                    Expr::val(value.clone()),
                    column,
                    path(),
                    Expr::val(value.clone()),
                ],
            ),
            None => Expr::cust_with_exprs("json_type(?, ?) IS NOT NULL", [column, path()]),
        },
    }
}

/// A database function call for `dialect`.
fn function_expr(
    dialect: Dialect,
    function: super::functions::Function,
    args: &[Operand],
    table: Option<&'static str>,
) -> Expr {
    use super::functions::Function;
    let mut exprs = args.iter().map(|arg| operand(dialect, arg, table));
    let mut first = || {
        exprs
            .next()
            .unwrap_or_else(|| Expr::val(Option::<String>::None))
    };
    match function {
        Function::Lower => Func::lower(first()).into(),
        Function::Upper => Func::upper(first()).into(),
        // A 64-bit integer on every backend.
        Function::Length => match dialect {
            Dialect::Sqlite => custom(dialect, "LENGTH($1)", first()),
            _ => custom(
                dialect,
                &format!(
                    "CAST(CHAR_LENGTH($1) AS {})",
                    super::functions::cast_type(dialect, FieldKind::BigInteger)
                ),
                first(),
            ),
        },
        Function::Coalesce => {
            Func::coalesce(args.iter().map(|arg| operand(dialect, arg, table))).into()
        }
        Function::Now => Expr::cust(match dialect {
            Dialect::Postgres => "CURRENT_TIMESTAMP",
            Dialect::MySql => "UTC_TIMESTAMP(6)",
            // The text sqlx writes for an instant: RFC 3339 in UTC.
            Dialect::Sqlite => "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')",
        }),
        Function::Trunc(unit, kind) => {
            let instant = kind == FieldKind::DateTime;
            let (unit_name, month, day) = match unit {
                DatePart::Year => ("year", "01", "01"),
                DatePart::Month => ("month", "%m", "01"),
                DatePart::Day => ("day", "%m", "%d"),
            };
            let template = match (dialect, instant) {
                (Dialect::Postgres, true) => {
                    format!("(date_trunc('{unit_name}', $1 AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')")
                }
                (Dialect::Postgres, false) => {
                    format!("CAST(date_trunc('{unit_name}', $1) AS DATE)")
                }
                (Dialect::MySql, true) => {
                    format!("CAST(DATE_FORMAT($1, '%Y-{month}-{day} 00:00:00') AS DATETIME(6))")
                }
                (Dialect::MySql, false) => {
                    format!("CAST(DATE_FORMAT($1, '%Y-{month}-{day}') AS DATE)")
                }
                // The text sqlx writes: RFC 3339 in UTC, or an ISO date.
                (Dialect::Sqlite, true) => {
                    format!("strftime('%Y-{month}-{day}T00:00:00+00:00', $1)")
                }
                (Dialect::Sqlite, false) => format!("strftime('%Y-{month}-{day}', $1)"),
            };
            custom(dialect, &template, first())
        }
        Function::ToDate => match dialect {
            Dialect::Postgres => custom(dialect, "CAST(($1 AT TIME ZONE 'UTC') AS DATE)", first()),
            Dialect::MySql => custom(dialect, "DATE($1)", first()),
            Dialect::Sqlite => custom(dialect, "date($1)", first()),
        },
        Function::Concat => {
            // A NULL counts as empty, as Django's Concat does.
            let parts: Vec<Expr> = args
                .iter()
                .map(|arg| {
                    let expr = operand(dialect, arg, table);
                    if arg.may_be_null() {
                        Func::coalesce([expr, Expr::val("")]).into()
                    } else {
                        expr
                    }
                })
                .collect();
            if parts.is_empty() {
                return Expr::val("");
            }
            let template = match dialect {
                // `||` is OR on MySQL.
                Dialect::MySql => format!("CONCAT({})", vec!["?"; parts.len()].join(", ")),
                Dialect::Postgres => (1..=parts.len())
                    .map(|n| format!("${n}"))
                    .collect::<Vec<_>>()
                    .join(" || "),
                Dialect::Sqlite => vec!["?"; parts.len()].join(" || "),
            };
            Expr::cust_with_exprs(template, parts)
        }
    }
}

/// `template` with `$1` standing for `expr`. sea-query wants the
/// backend's own placeholder there: `$1` on PostgreSQL, `?` elsewhere.
pub(crate) fn custom(dialect: Dialect, template: &str, expr: Expr) -> Expr {
    let template = match dialect {
        Dialect::Postgres => template.to_owned(),
        _ => template.replace("$1", "?"),
    };
    Expr::cust_with_exprs(template, [expr])
}

fn lookup_expr(col: Expr, lookup: &Lookup) -> Expr {
    match lookup {
        Lookup::Eq(value) if crate::value::null_value_matches(value) => col.is_null(),
        Lookup::Eq(value) => col.eq(value.clone()),
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
        constraints: &[],
        many_to_many: &[],
    };

    fn lookup(column: &'static str, lookup: Lookup) -> Node {
        Node::Lookup {
            column,
            nullable: false,
            lookup,
        }
    }

    #[test]
    fn select_is_parameterized_in_every_dialect() {
        let filter = Node::All(vec![
            lookup("id", Lookup::Gt(Value::from(3i64))),
            Node::Any(vec![
                lookup(
                    "title",
                    Lookup::Like {
                        pattern: "%a%".into(),
                        case_insensitive: true,
                    },
                ),
                Node::Not(Box::new(lookup("title", Lookup::IsNull(true)))),
            ]),
        ]);
        let order = [OrderTerm::column("title", true)];
        let query = select(
            Dialect::Postgres,
            &META,
            Some(&filter),
            &order,
            Some(10),
            Some(20),
            &[],
        );
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
            Dialect::Sqlite,
            &META,
            Some(&lookup("id", Lookup::In(Vec::new()))),
            &[],
            None,
            None,
            &[],
        );
        let (sql, _) = query.build(sea_query::SqliteQueryBuilder);
        assert!(sql.ends_with("WHERE 1 = 0"), "{sql}");
    }

    #[test]
    fn date_parts_and_arithmetic_render_per_dialect() {
        let year = Operand::DatePart {
            part: DatePart::Year,
            column: "seen",
            kind: FieldKind::DateTime,
            nullable: false,
        };
        let filter = Node::Compare {
            left: year,
            op: CompareOp::Eq,
            right: Operand::Value(Value::Int(Some(2026))),
        };
        let render = |dialect| {
            let query = select(dialect, &META, Some(&filter), &[], None, None, &[]);
            match dialect {
                Dialect::Sqlite => query.build(sea_query::SqliteQueryBuilder).0,
                Dialect::Postgres => query.build(sea_query::PostgresQueryBuilder).0,
                Dialect::MySql => query.build(sea_query::MysqlQueryBuilder).0,
            }
        };
        assert!(
            render(Dialect::Sqlite)
                .ends_with(r#"WHERE (CAST(strftime('%Y', "seen") AS INTEGER)) = ?"#),
            "{}",
            render(Dialect::Sqlite)
        );
        assert!(render(Dialect::Postgres).ends_with(
            r#"WHERE (CAST(EXTRACT(YEAR FROM "seen" AT TIME ZONE 'UTC') AS INTEGER)) = $1"#
        ));
        assert!(render(Dialect::MySql).ends_with("WHERE (YEAR(`seen`)) = ?"));

        let stock = Operand::Arith(
            Box::new(Operand::Column {
                name: "stock",
                nullable: false,
            }),
            ArithOp::Sub,
            Box::new(Operand::Value(Value::Int(Some(1)))),
        );
        let (sql, _) = Query::update()
            .table("shop_item")
            .value("stock", operand(Dialect::Postgres, &stock, None))
            .to_owned()
            .build(sea_query::PostgresQueryBuilder);
        assert_eq!(sql, r#"UPDATE "shop_item" SET "stock" = "stock" - $1"#);
    }

    #[test]
    fn a_negation_that_may_be_unknown_asks_is_not_true() {
        let nullable = Node::Lookup {
            column: "title",
            nullable: true,
            lookup: Lookup::Eq(Value::from("a")),
        };
        let render = |filter: &Node| {
            select(Dialect::Postgres, &META, Some(filter), &[], None, None, &[])
                .build(sea_query::PostgresQueryBuilder)
                .0
        };
        assert_eq!(
            render(&Node::Not(Box::new(nullable.clone()))),
            r#"SELECT "id", "title" FROM "blog_post" WHERE ("title" = $1) IS NOT TRUE"#
        );
        // A column that holds no NULL keeps SQL's plain NOT.
        assert_eq!(
            render(&Node::Not(Box::new(lookup(
                "id",
                Lookup::Eq(Value::from(1i64))
            )))),
            r#"SELECT "id", "title" FROM "blog_post" WHERE NOT "id" = $1"#
        );
    }
}
