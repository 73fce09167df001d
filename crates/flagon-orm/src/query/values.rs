//! Reading columns rather than objects: `values_list` (typed tuples),
//! `values` (records by field name), and grouping with aggregates.

use std::collections::BTreeMap;

use super::aggregate::{Aggregates, Having};
use super::QuerySet;
use crate::backends::{self, Dialect};
use crate::connection::Connection;
use crate::error::OrmError;
use crate::field::Field;
use crate::model::{FieldKind, FieldMeta, Model};
use crate::row::Row;
use crate::value::{Decimal, FieldType, Uuid, Value};

/// Fields read together: a tuple of [`Field`]s of model `M`, decoded as
/// the tuple of their types.
pub trait Columns<M>: Copy {
    /// The Rust types of the fields, as a tuple.
    type Output;

    /// The columns, in order.
    fn columns(&self) -> Vec<&'static str>;

    /// Decodes the columns from `row`, starting at `offset`.
    fn decode(row: &Row, offset: usize) -> Result<Self::Output, OrmError>;
}

macro_rules! columns {
    ($(($($t:ident $i:tt),+)),*) => {$(
        impl<M, $($t: FieldType),+> Columns<M> for ($(Field<M, $t>,)+) {
            type Output = ($($t::Plain,)+);

            fn columns(&self) -> Vec<&'static str> {
                vec![$(self.$i.column()),+]
            }

            fn decode(row: &Row, offset: usize) -> Result<Self::Output, OrmError> {
                Ok(($(<$t::Plain as FieldType>::decode(row, offset + $i)?,)+))
            }
        }
    )*};
}

columns!(
    (A 0),
    (A 0, B 1),
    (A 0, B 1, C 2),
    (A 0, B 1, C 2, D 3),
    (A 0, B 1, C 2, D 3, E 4),
    (A 0, B 1, C 2, D 3, E 4, G 5)
);

/// One row of [`QuerySet::values`]: field name to value.
pub type Record = BTreeMap<&'static str, Value>;

/// Reads column `index` as the value type of `field`.
fn decode_field(row: &Row, index: usize, field: &FieldMeta) -> Result<Value, OrmError> {
    if row.is_null(index)? {
        return Ok(crate::value::null_value(field.kind));
    }
    Ok(match field.kind {
        FieldKind::SmallInteger => i16::decode(row, index)?.to_value(),
        FieldKind::Integer => i32::decode(row, index)?.to_value(),
        FieldKind::BigInteger => i64::decode(row, index)?.to_value(),
        FieldKind::Boolean => bool::decode(row, index)?.to_value(),
        FieldKind::Float => f32::decode(row, index)?.to_value(),
        FieldKind::Double => f64::decode(row, index)?.to_value(),
        FieldKind::String | FieldKind::Text => String::decode(row, index)?.to_value(),
        FieldKind::Bytes => Vec::<u8>::decode(row, index)?.to_value(),
        FieldKind::DateTime => chrono::DateTime::<chrono::Utc>::decode(row, index)?.to_value(),
        FieldKind::Date => chrono::NaiveDate::decode(row, index)?.to_value(),
        FieldKind::Time => chrono::NaiveTime::decode(row, index)?.to_value(),
        FieldKind::Decimal => Decimal::decode(row, index)?.to_value(),
        FieldKind::Uuid => Uuid::decode(row, index)?.to_value(),
        FieldKind::Json => serde_json::Value::decode(row, index)?.to_value(),
    })
}

impl<M: Model> QuerySet<M> {
    /// The statement for `columns` instead of the model's (keeping filter,
    /// order, slice and distinct). With `DISTINCT` (or a `GROUP BY`, with
    /// `grouped`), the model's default ordering is dropped, as Django
    /// drops it: ordering by a column not read would change which rows
    /// are duplicates (or the groups), and PostgreSQL refuses it. An
    /// explicit ordering there must name columns read.
    fn columns_statement(
        &self,
        dialect: Dialect,
        columns: &[&'static str],
        grouped: bool,
    ) -> Result<sea_query::SelectStatement, OrmError> {
        self.check()?;
        let order = if grouped || self.is_distinct() {
            let order = self.explicit_ordering();
            if let Some(term) = order.iter().find(|term| {
                term.expression.is_some() || !term.via.is_empty() || !columns.contains(&term.column)
            }) {
                let what = if grouped { "grouped" } else { "distinct" };
                let by = match term.expression {
                    Some(_) => "an expression".to_owned(),
                    None => format!("column `{}`", term.column),
                };
                return Err(self.invalid(format!(
                    "a {what} query is ordered by {by}, which it does not read: \
                     order by the columns read"
                )));
            }
            order.to_vec()
        } else {
            self.ordering()
        };
        let mut query = self.statement_with(dialect, &order, &[]);
        query.clear_selects();
        query.columns(columns.iter().copied());
        Ok(query)
    }

    /// The chosen fields of every matching row, as typed tuples (Django's
    /// `values_list`).
    ///
    /// ```no_run
    /// # use flagon_orm::Model;
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "polls")]
    /// # struct Question { id: i64, #[field(max_length = 200)] text: String }
    /// # async fn demo(db: flagon_orm::Db) -> Result<(), flagon_orm::OrmError> {
    /// let pairs: Vec<(i64, String)> = Question::objects()
    ///     .values_list(&db, (Question::ID, Question::TEXT))
    ///     .await?;
    /// # let _ = pairs; Ok(()) }
    /// ```
    pub async fn values_list<C: Columns<M>>(
        &self,
        db: &(impl Connection + ?Sized),
        columns: C,
    ) -> Result<Vec<C::Output>, OrmError> {
        let dialect = db.dialect();
        let statement = self.columns_statement(dialect, &columns.columns(), false)?;
        let (sql, values) = backends::build(dialect, &statement)?;
        let rows = db.fetch_all(&sql, values).await?;
        rows.iter().map(|row| C::decode(row, 0)).collect()
    }

    /// The named fields of every matching row, as records (Django's
    /// `values`); an empty list means every field. An unknown name is an
    /// error naming it.
    pub async fn values(
        &self,
        db: &(impl Connection + ?Sized),
        fields: &[&str],
    ) -> Result<Vec<Record>, OrmError> {
        let chosen: Vec<&'static FieldMeta> = if fields.is_empty() {
            M::META.fields.iter().collect()
        } else {
            fields
                .iter()
                .map(|name| {
                    M::META.field(name).ok_or_else(|| OrmError::Schema {
                        message: format!(
                            "{} has no field `{name}` (values() takes field names)",
                            M::META.name
                        ),
                    })
                })
                .collect::<Result<_, _>>()?
        };
        let columns: Vec<&'static str> = chosen.iter().map(|field| field.column).collect();
        let dialect = db.dialect();
        let statement = self.columns_statement(dialect, &columns, false)?;
        let (sql, values) = backends::build(dialect, &statement)?;
        let rows = db.fetch_all(&sql, values).await?;
        rows.iter()
            .map(|row| {
                chosen
                    .iter()
                    .enumerate()
                    .map(|(index, field)| Ok((field.name, decode_field(row, index, field)?)))
                    .collect()
            })
            .collect()
    }

    /// Groups the matching rows by `columns` for [`Grouped::annotate`]
    /// (Django's `values(..).annotate(..)`).
    pub fn group_by<C: Columns<M>>(self, columns: C) -> Grouped<M, C> {
        Grouped {
            query: self,
            columns,
            having: None,
        }
    }
}

/// Rows grouped by some columns: see [`QuerySet::group_by`].
#[derive(Debug)]
pub struct Grouped<M, C> {
    query: QuerySet<M>,
    columns: C,
    having: Option<Having<M>>,
}

impl<M: Model, C: Columns<M>> Grouped<M, C> {
    /// Keeps the groups whose aggregates meet `condition` (SQL's `HAVING`;
    /// Django's `filter()` after `values().annotate()`); the aggregates in
    /// it need not be among those read.
    ///
    /// ```no_run
    /// # use flagon_orm::{Model, aggregate::{Count, Sum}};
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "shop")]
    /// # struct Sale { id: i64, #[field(max_length = 20)] region: String, amount: i64 }
    /// # async fn demo(db: flagon_orm::Db) -> Result<(), flagon_orm::OrmError> {
    /// // Regions with at least two sales, and their totals.
    /// let busy: Vec<((String,), Option<i64>)> = Sale::objects()
    ///     .group_by((Sale::REGION,))
    ///     .having(Count::all().gte(2))
    ///     .annotate(&db, Sum::of(Sale::AMOUNT))
    ///     .await?;
    /// # let _ = busy; Ok(()) }
    /// ```
    pub fn having(mut self, condition: Having<M>) -> Self {
        self.having = Some(match self.having.take() {
            Some(earlier) => earlier & condition,
            None => condition,
        });
        self
    }

    /// Each group's columns with `aggregates` computed over its rows, in
    /// the query set's own order (which must name grouped columns; the
    /// model's default ordering does not apply, as in Django).
    ///
    /// ```no_run
    /// # use flagon_orm::{Model, aggregate::{Count, Sum}};
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "shop")]
    /// # struct Sale { id: i64, #[field(max_length = 20)] region: String, amount: i64 }
    /// # async fn demo(db: flagon_orm::Db) -> Result<(), flagon_orm::OrmError> {
    /// let totals: Vec<((String,), (i64, Option<i64>))> = Sale::objects()
    ///     .order_by(Sale::REGION.asc())
    ///     .group_by((Sale::REGION,))
    ///     .annotate(&db, (Count::all(), Sum::of(Sale::AMOUNT)))
    ///     .await?;
    /// # let _ = totals; Ok(()) }
    /// ```
    pub async fn annotate<A: Aggregates<M>>(
        &self,
        db: &(impl Connection + ?Sized),
        aggregates: A,
    ) -> Result<Vec<(C::Output, A::Output)>, OrmError> {
        let dialect = db.dialect();
        let columns = self.columns.columns();
        let mut statement = self.query.columns_statement(dialect, &columns, true)?;
        for expr in aggregates.exprs(dialect) {
            statement.expr(expr);
        }
        for column in &columns {
            statement.add_group_by([sea_query::Expr::col(*column)]);
        }
        if let Some(having) = &self.having {
            statement.cond_having(having.condition(dialect));
        }
        let (sql, values) = backends::build(dialect, &statement)?;
        let rows = db.fetch_all(&sql, values).await?;
        rows.iter()
            .map(|row| Ok((C::decode(row, 0)?, A::decode(row, columns.len())?)))
            .collect()
    }
}
