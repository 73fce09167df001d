//! Values computed per row next to each object: Django's `annotate()`
//! with expressions ([`F`], [`functions`](crate::functions), date parts).
//!
//! ```no_run
//! use flagon_orm::functions::length;
//! # use flagon_orm::Model;
//! # #[derive(Model, Debug)]
//! # #[model(app = "lib")]
//! # struct Book { id: i64, #[field(max_length = 100)] title: String, pages: i32 }
//! # async fn demo(db: flagon_orm::Db) -> Result<(), flagon_orm::OrmError> {
//! let rows: Vec<(Book, (i64, i32))> = Book::objects()
//!     .annotate((length(Book::TITLE.f()), Book::PAGES.f() * 2))
//!     .all(&db)
//!     .await?;
//! for (book, (title_length, double)) in rows {
//!     println!("{} {title_length} {double}", book.title);
//! }
//! # Ok(()) }
//! ```

use super::expr::{Operand, F};
use super::QuerySet;
use crate::backends;
use crate::connection::Connection;
use crate::error::OrmError;
use crate::model::Model;
use crate::row::Row;
use crate::value::FieldType;

/// One expression or a tuple of them over rows of `M`, read with each row.
pub trait Annotations<M>: Clone {
    /// The values, as a tuple (or the one value).
    type Output;

    /// The expressions, in order.
    #[doc(hidden)]
    fn operands(&self) -> Vec<Operand>;

    /// Decodes the values from `row`, starting at `offset`.
    #[doc(hidden)]
    fn decode(row: &Row, offset: usize) -> Result<Self::Output, OrmError>;
}

impl<M, T: FieldType> Annotations<M> for F<M, T> {
    type Output = T;

    fn operands(&self) -> Vec<Operand> {
        vec![self.operand.clone()]
    }

    fn decode(row: &Row, offset: usize) -> Result<T, OrmError> {
        T::decode(row, offset)
    }
}

macro_rules! annotations {
    ($(($($t:ident $i:tt),+)),*) => {$(
        impl<M, $($t: FieldType),+> Annotations<M> for ($(F<M, $t>,)+) {
            type Output = ($($t,)+);

            fn operands(&self) -> Vec<Operand> {
                vec![$(self.$i.operand.clone()),+]
            }

            fn decode(row: &Row, offset: usize) -> Result<Self::Output, OrmError> {
                Ok(($($t::decode(row, offset + $i)?,)+))
            }
        }
    )*};
}

annotations!(
    (A 0),
    (A 0, B 1),
    (A 0, B 1, C 2),
    (A 0, B 1, C 2, D 3),
    (A 0, B 1, C 2, D 3, E 4)
);

/// A query whose rows come with computed values: see
/// [`QuerySet::annotate`].
#[derive(Debug)]
pub struct Annotated<M, A> {
    query: QuerySet<M>,
    annotations: A,
}

impl<M: Model> QuerySet<M> {
    /// Reads `annotations` (one [`F`] expression or a tuple of them) with
    /// each row, computed by the database (Django's `annotate()` with
    /// expressions): the results come as `(object, values)` pairs. Filter
    /// or order by the same expressions with [`filter`](QuerySet::filter)
    /// and [`F::asc`]/[`F::desc`].
    pub fn annotate<A: Annotations<M>>(self, annotations: A) -> Annotated<M, A> {
        Annotated {
            query: self,
            annotations,
        }
    }
}

impl<M: Model, A: Annotations<M>> Annotated<M, A> {
    /// Every matching row with its values.
    pub async fn all(
        &self,
        db: &(impl Connection + ?Sized),
    ) -> Result<Vec<(M, A::Output)>, OrmError> {
        let dialect = db.dialect();
        let query = &self.query;
        if let Some(reason) = self
            .annotations
            .operands()
            .iter()
            .find_map(|operand| super::subquery::operand_refusal(operand, M::META.table, None))
        {
            return Err(query.invalid(reason));
        }
        let statement = query.select_statement(dialect, &self.annotations.operands())?;
        query.check_lock(db)?;
        let deferred = query.deferred();
        let offset = M::META.fields.len() - deferred.len()
            + query
                .select_related
                .iter()
                .map(|spec| spec.target.fields.len())
                .sum::<usize>();
        let (sql, values) = backends::build(dialect, &statement)?;
        let rows = db.fetch_all(&sql, values).await?;
        let mut pairs = rows
            .iter()
            .map(|row| Ok((query.decode(row, &deferred)?, A::decode(row, offset)?)))
            .collect::<Result<Vec<_>, OrmError>>()?;
        if !query.prefetch_related.is_empty() {
            let (mut objects, values): (Vec<M>, Vec<A::Output>) = pairs.drain(..).unzip();
            for spec in &query.prefetch_related {
                super::related::prefetch(db, &mut objects, spec).await?;
            }
            pairs = objects.into_iter().zip(values).collect();
        }
        Ok(pairs)
    }

    /// The first row in the query's order (by primary key when unordered)
    /// with its values, if any.
    pub async fn first(
        &self,
        db: &(impl Connection + ?Sized),
    ) -> Result<Option<(M, A::Output)>, OrmError> {
        let first = Annotated {
            query: self.query.first_query()?,
            annotations: self.annotations.clone(),
        };
        Ok(first.all(db).await?.into_iter().next())
    }
}
