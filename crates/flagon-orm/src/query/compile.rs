//! The query tree rendered as sea-query statements (then SQL per dialect).
//!
//! Every expression is rendered in a [`Scope`]: the row its columns
//! belong to and the row an `OuterRef` names. The top-level query reads
//! its table by name (its columns unqualified unless it joins); each
//! subquery inside it (a correlated `exists`/`subquery`, a relation hop's
//! `IN (SELECT ..)`) gets its table aliased `U<depth>` (`U0`, `U1`, ..,
//! one number per nesting level, as Django's `U0`), its columns qualified
//! by that alias, so that a subquery of a model over itself, at any
//! depth, never mistakes its own row for an outer one.

use sea_query::{Cond, DynIden, Expr, ExprTrait, Func, LikeExpr, Order as SeaOrder, Query};

use super::condition::{Lookup, Node, OrderTerm};
use super::expr::{ArithOp, CompareOp, DatePart, Operand};
use crate::backends::Dialect;
use crate::model::{FieldKind, ModelMeta};
use crate::value::Value;

/// The name a row is read through: its table's, or a subquery's alias.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RowName {
    /// The table itself (the top-level query).
    Table(&'static str),
    /// The alias `U<n>` of a subquery's table.
    Alias(usize),
}

impl RowName {
    /// The name as an identifier.
    fn iden(self) -> DynIden {
        match self {
            RowName::Table(table) => table.into(),
            RowName::Alias(depth) => format!("U{depth}").into(),
        }
    }
}

/// Where an expression is rendered: which row its columns are read from,
/// which row an `OuterRef` names, and how many subqueries surround it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scope {
    /// The row the columns belong to.
    row: RowName,
    /// Whether the row's columns are qualified by its name (always in a
    /// subquery; in the top-level query only beside joins).
    qualified: bool,
    /// The row of the query this one is a subquery of, if any.
    outer: Option<RowName>,
    /// How many subqueries surround this one: the next gets `U<depth>`.
    depth: usize,
    /// The table an UPDATE or DELETE writes, on MySQL/MariaDB: read in a
    /// subquery through a derived table, as MySQL refuses a subquery that
    /// reads the table being written (error 1093).
    writing: Option<&'static str>,
}

impl Scope {
    /// The top-level query on `table`, its columns qualified by the table
    /// name when `qualified` (beside joins).
    pub(crate) fn top(table: &'static str, qualified: bool) -> Scope {
        Scope {
            row: RowName::Table(table),
            qualified,
            outer: None,
            depth: 0,
            writing: None,
        }
    }

    /// The top-level UPDATE or DELETE of `table` on `dialect`.
    pub(crate) fn writing(dialect: Dialect, table: &'static str) -> Scope {
        Scope {
            writing: (dialect == Dialect::MySql).then_some(table),
            ..Scope::top(table, false)
        }
    }

    /// Column `column` of this scope's row.
    fn column(self, column: &'static str) -> Expr {
        if self.qualified {
            Expr::col((self.row.iden(), column))
        } else {
            Expr::col(column)
        }
    }

    /// The scope of a correlated subquery of this row (`exists`,
    /// `subquery`): its outer row is this one.
    fn subquery(self) -> Scope {
        Scope {
            outer: Some(self.row),
            ..self.hop()
        }
    }

    /// The scope of a relation hop from this row (`has`, `reverse_any`,
    /// `any`): another row of the same query, so its outer row is this
    /// one's.
    fn hop(self) -> Scope {
        Scope {
            row: RowName::Alias(self.depth),
            qualified: true,
            outer: self.outer,
            depth: self.depth + 1,
            writing: self.writing,
        }
    }

    /// `FROM table AS <this scope's alias>`.
    fn from(self, query: &mut sea_query::SelectStatement, table: &'static str) {
        read_table(self.writing, query, table, self.row.iden());
    }
}

/// `FROM table AS alias`; when `table` is the one an UPDATE or DELETE
/// writes on MySQL, `FROM (SELECT * FROM table LIMIT ..) AS alias`: the
/// derived table is read before the write (its LIMIT keeps the optimizer
/// from merging it back into the subquery, which would bring the error
/// back).
fn read_table(
    writing: Option<&'static str>,
    query: &mut sea_query::SelectStatement,
    table: &'static str,
    alias: DynIden,
) {
    if writing == Some(table) {
        let rows = Query::select()
            .column(sea_query::Asterisk)
            .from(table)
            .limit(i64::MAX as u64)
            .to_owned();
        query.from_subquery(rows, alias);
    } else {
        query.from_as(table, alias);
    }
}

fn direction(term: &OrderTerm) -> SeaOrder {
    if term.descending {
        SeaOrder::Desc
    } else {
        SeaOrder::Asc
    }
}

/// The expression an ordering term sorts by: a column of the scope's row,
/// or for a term on a related row the scalar subquery that reads it,
/// correlated with the scope's row (nested once per relation followed).
fn order_expr(dialect: Dialect, scope: Scope, term: &OrderTerm) -> Expr {
    if let Some(expression) = &term.expression {
        return operand(dialect, expression, scope);
    }
    match term.via.split_first() {
        None => scope.column(term.column),
        Some((first, rest)) => {
            related_column(scope, scope.row.iden(), *first, rest, term.column, 0)
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
    scope: Scope,
    order: &[OrderTerm],
) {
    if order.iter().all(sorts_by_own_column) {
        return;
    }
    query.clear_order_by();
    for (index, term) in order.iter().enumerate() {
        let sort = order_expr(dialect, scope, term);
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
    scope: Scope,
    from: DynIden,
    (foreign_key, target, key): super::condition::Hop,
    rest: &[super::condition::Hop],
    column: &'static str,
    depth: usize,
) -> Expr {
    let related: DynIden = format!("flagon_rel{depth}").into();
    let selected = match rest.split_first() {
        None => Expr::col((related.clone(), column)),
        Some((next, rest)) => {
            related_column(scope, related.clone(), *next, rest, column, depth + 1)
        }
    };
    let mut lookup = Query::select();
    lookup.expr(selected);
    read_table(scope.writing, &mut lookup, target, related.clone());
    lookup.and_where(Expr::col((related, key)).equals((from, foreign_key)));
    Expr::SubQuery(
        None,
        Box::new(sea_query::QueryStatementBuilder::into_sub_query_statement(
            lookup,
        )),
    )
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
    (limit, offset): (Option<u64>, Option<u64>),
    joins: &[Join],
    deferred: &[&str],
) -> sea_query::SelectStatement {
    let scope = Scope::top(meta.table, !joins.is_empty());
    let mut query = Query::select();
    query.exprs(
        meta.fields
            .iter()
            .filter(|field| !deferred.contains(&field.name))
            .map(|field| scope.column(field.column)),
    );
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
        query.cond_where(condition(dialect, filter, scope));
    }
    for term in order {
        query.order_by_expr(order_expr(dialect, scope, term), direction(term));
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

/// The WHERE condition for a filter, rendered in `scope`.
pub(crate) fn condition(dialect: Dialect, filter: &Node, scope: Scope) -> Cond {
    match filter {
        Node::Lookup { column, lookup, .. } => {
            Cond::all().add(lookup_expr(scope.column(column), lookup))
        }
        Node::All(items) => items.iter().fold(Cond::all(), |cond, item| {
            cond.add(condition(dialect, item, scope))
        }),
        Node::Any(items) => items.iter().fold(Cond::any(), |cond, item| {
            cond.add(condition(dialect, item, scope))
        }),
        Node::Not(inner) if inner.may_be_unknown() => {
            // NOT of an unknown is unknown, and drops the row: ask instead
            // whether the inner condition is anything but true, so a row
            // whose field is NULL is kept (Django's exclude).
            let inner = Expr::from(condition(dialect, inner, scope));
            Cond::all().add(custom(dialect, "($1) IS NOT TRUE", inner))
        }
        Node::Not(inner) => condition(dialect, inner, scope).not(),
        Node::Compare { left, op, right } => {
            if *op == CompareOp::Eq && (left.is_null_value() || right.is_null_value()) {
                let other = if left.is_null_value() { right } else { left };
                return Cond::all().add(operand(dialect, other, scope).is_null());
            }
            Cond::all().add(compare(
                operand(dialect, left, scope),
                *op,
                operand(dialect, right, scope),
            ))
        }
        Node::Related {
            column,
            table,
            key,
            condition: inner,
            ..
        } => Cond::all().add(related_in(dialect, scope, column, table, key, inner)),
        Node::Refused(_) => Cond::all().add(Expr::cust("1 = 0")),
        Node::Exists(inner) => Cond::all().add(Expr::exists(inner_select(dialect, inner, scope))),
        Node::Json {
            column,
            keys,
            value,
        } => Cond::all().add(json_lookup(
            dialect,
            scope.column(column),
            keys,
            value.as_ref(),
        )),
        Node::Through {
            column,
            table,
            select,
            filter,
            value,
        } => {
            let hop = scope.hop();
            let mut targets = Query::select();
            targets.expr(hop.column(select));
            hop.from(&mut targets, table);
            targets.and_where(hop.column(filter).eq(value.clone()));
            Cond::all().add(scope.column(column).in_subquery(targets))
        }
    }
}

/// `column IN (SELECT key FROM table AS U<n> WHERE inner)`: the rows whose
/// `column` points to a row of `table` meeting `inner` (a relation hop,
/// read through an alias of its own so that a hop to the same model, or
/// an `OuterRef` inside it, reads the right row).
fn related_in(
    dialect: Dialect,
    scope: Scope,
    column: &'static str,
    table: &'static str,
    key: &'static str,
    inner: &Node,
) -> Expr {
    let hop = scope.hop();
    let mut targets = Query::select();
    targets.expr(hop.column(key));
    hop.from(&mut targets, table);
    targets.cond_where(condition(dialect, inner, hop));
    scope.column(column).in_subquery(targets)
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

/// An operand as an expression for `dialect`, rendered in `scope`.
pub(crate) fn operand(dialect: Dialect, operand_: &Operand, scope: Scope) -> Expr {
    match operand_ {
        Operand::Value(value) => Expr::val(value.clone()),
        Operand::Column { name, .. } => scope.column(name),
        Operand::Arith(left, op, right) => {
            let left = operand(dialect, left, scope);
            let right = operand(dialect, right, scope);
            match op {
                ArithOp::Add => left.add(right),
                ArithOp::Sub => left.sub(right),
                ArithOp::Mul => left.mul(right),
                ArithOp::Div => left.div(right),
            }
        }
        Operand::Func(function, args) => function_expr(dialect, *function, args, scope),
        // Outside a subquery (refused before rendering), the table named.
        Operand::Outer { table, column, .. } => match scope.outer {
            Some(outer) => Expr::col((outer.iden(), *column)),
            None => Expr::col((*table, *column)),
        },
        Operand::Subquery(inner) => {
            let mut select = inner_select(dialect, inner, scope);
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
            operand(dialect, inner, scope),
        ),
        Operand::DatePart {
            part, column, kind, ..
        } => date_part(dialect, *part, *kind, scope.column(column)),
    }
}

/// Part `part` of `column` (a date, or an instant with `kind` DateTime).
fn date_part(dialect: Dialect, part: DatePart, kind: FieldKind, column: Expr) -> Expr {
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
            let sql = if kind == FieldKind::DateTime {
                format!("CAST(EXTRACT({unit} FROM $1 AT TIME ZONE 'UTC') AS INTEGER)")
            } else {
                format!("CAST(EXTRACT({unit} FROM $1) AS INTEGER)")
            };
            return custom(dialect, &sql, column);
        }
    };
    custom(dialect, sql, column)
}

/// The SELECT of a correlated subquery of `scope`'s row: its table
/// aliased `U<depth>` and its columns qualified by the alias, outer
/// references by the name of `scope`'s row (Django's `U0`).
fn inner_select(
    dialect: Dialect,
    inner: &super::subquery::Inner,
    scope: Scope,
) -> sea_query::SelectStatement {
    let scope = scope.subquery();
    let mut select = Query::select();
    match inner.column {
        Some(column) => select.expr(scope.column(column)),
        None => select.expr(Expr::cust("1")),
    };
    scope.from(&mut select, inner.meta.table);
    if let Some(filter) = &inner.filter {
        select.cond_where(condition(dialect, filter, scope));
    }
    for term in &inner.order {
        select.order_by_expr(order_expr(dialect, scope, term), direction(term));
    }
    if let Some(offset) = inner.offset {
        // Every backend needs a LIMIT with an OFFSET; this one means "all".
        select.limit(i64::MAX as u64);
        select.offset(offset);
    }
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
    scope: Scope,
) -> Expr {
    use super::functions::Function;
    let mut exprs = args.iter().map(|arg| operand(dialect, arg, scope));
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
            Func::coalesce(args.iter().map(|arg| operand(dialect, arg, scope))).into()
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
                    let expr = operand(dialect, arg, scope);
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

// The SQL each dialect renders: tests of the builds with every backend.
#[cfg(all(test, feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod tests {
    use super::*;
    use crate::model::{FieldKind, FieldMeta};
    use crate::query::test_fixtures::{lookup, META};
    use crate::value::Value;

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
            (Some(10), Some(20)),
            &[],
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
            (None, None),
            &[],
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
            let query = select(dialect, &META, Some(&filter), &[], (None, None), &[], &[]);
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
            .value(
                "stock",
                operand(Dialect::Postgres, &stock, Scope::top("shop_item", false)),
            )
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
            select(
                Dialect::Postgres,
                &META,
                Some(filter),
                &[],
                (None, None),
                &[],
                &[],
            )
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

    static STAFF_FIELDS: [FieldMeta; 3] = [
        FieldMeta::new("id", FieldKind::BigInteger),
        FieldMeta::new("manager_id", FieldKind::BigInteger),
        FieldMeta::new("top", FieldKind::BigInteger),
    ];
    static STAFF: ModelMeta = ModelMeta {
        app: "staff",
        name: "Employee",
        table: "staff_employee",
        fields: &STAFF_FIELDS,
        ordering: &[],
        unique_together: &[],
        indexes: &[],
        constraints: &[],
        many_to_many: &[],
    };

    /// An employee's column.
    fn staff(name: &'static str) -> Operand {
        Operand::Column {
            name,
            nullable: true,
        }
    }

    /// An outer employee's column.
    fn outer(column: &'static str) -> Operand {
        Operand::Outer {
            table: "staff_employee",
            column,
            nullable: false,
        }
    }

    /// A subquery of employees filtered by `filter`, reading `column`.
    fn employees(filter: Node, column: Option<&'static str>) -> Box<super::super::subquery::Inner> {
        Box::new(super::super::subquery::Inner {
            meta: &STAFF,
            filter: Some(filter),
            order: Vec::new(),
            offset: None,
            column,
            refused: None,
        })
    }

    /// `left = right`.
    fn equal(left: Operand, right: Operand) -> Node {
        Node::Compare {
            left,
            op: CompareOp::Eq,
            right,
        }
    }

    /// The reports of the outer employee.
    fn reports() -> Node {
        equal(staff("manager_id"), outer("id"))
    }

    fn postgres_select(filter: &Node) -> String {
        select(
            Dialect::Postgres,
            &STAFF,
            Some(filter),
            &[],
            (None, None),
            &[],
            &[],
        )
        .build(sea_query::PostgresQueryBuilder)
        .0
    }

    #[test]
    fn a_subquery_over_the_same_model_reads_its_table_through_an_alias() {
        let managers = Node::Exists(employees(reports(), None));
        assert_eq!(
            postgres_select(&managers),
            r#"SELECT "id", "manager_id", "top" FROM "staff_employee" WHERE EXISTS(SELECT 1 FROM "staff_employee" AS "U0" WHERE "U0"."manager_id" = "staff_employee"."id")"#
        );
    }

    #[test]
    fn nested_subqueries_get_one_alias_per_level_and_name_the_row_just_outside() {
        let grandchildren = Node::Exists(employees(reports(), None));
        let children = Node::Exists(employees(Node::All(vec![reports(), grandchildren]), None));
        assert_eq!(
            postgres_select(&children),
            concat!(
                r#"SELECT "id", "manager_id", "top" FROM "staff_employee" WHERE EXISTS(SELECT 1 FROM "staff_employee" AS "U0" "#,
                r#"WHERE "U0"."manager_id" = "staff_employee"."id" AND EXISTS(SELECT 1 FROM "staff_employee" AS "U1" "#,
                r#"WHERE "U1"."manager_id" = "U0"."id"))"#
            )
        );
    }

    #[test]
    fn a_relation_hop_inside_a_subquery_reads_its_own_alias_and_the_outer_row() {
        // Employees with a report of a report: the hop's OuterRef names
        // the outer query's row, not the hop's nor the subquery's.
        let hop = Node::Related {
            column: "manager_id",
            nullable: true,
            table: "staff_employee",
            key: "id",
            condition: Box::new(reports()),
        };
        let grand = Node::Exists(employees(hop, None));
        assert_eq!(
            postgres_select(&grand),
            concat!(
                r#"SELECT "id", "manager_id", "top" FROM "staff_employee" WHERE EXISTS(SELECT 1 FROM "staff_employee" AS "U0" "#,
                r#"WHERE "U0"."manager_id" IN (SELECT "U1"."id" FROM "staff_employee" AS "U1" "#,
                r#"WHERE "U1"."manager_id" = "staff_employee"."id"))"#
            )
        );
    }

    #[test]
    fn an_update_on_mysql_reads_its_own_table_through_a_derived_table() {
        let top = Operand::Subquery(employees(reports(), Some("id")));
        let render = |dialect| {
            let scope = Scope::writing(dialect, "staff_employee");
            let query = Query::update()
                .table("staff_employee")
                .value("top", operand(dialect, &top, scope))
                .to_owned();
            match dialect {
                Dialect::MySql => query.build(sea_query::MysqlQueryBuilder).0,
                _ => query.build(sea_query::PostgresQueryBuilder).0,
            }
        };
        assert_eq!(
            render(Dialect::MySql),
            concat!(
                "UPDATE `staff_employee` SET `top` = (SELECT `U0`.`id` FROM ",
                "(SELECT * FROM `staff_employee` LIMIT ?) AS `U0` ",
                "WHERE `U0`.`manager_id` = `staff_employee`.`id` LIMIT ?)"
            )
        );
        assert_eq!(
            render(Dialect::Postgres),
            concat!(
                r#"UPDATE "staff_employee" SET "top" = (SELECT "U0"."id" FROM "staff_employee" AS "U0" "#,
                r#"WHERE "U0"."manager_id" = "staff_employee"."id" LIMIT $1)"#
            )
        );
    }
}
