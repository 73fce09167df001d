//! Row locks for [`QuerySet::select_for_update_with`]: Django's
//! `select_for_update(nowait=.., skip_locked=.., of=..)`.

use std::marker::PhantomData;

use sea_query::{LockBehavior, LockType};

use super::compile::Join;
use super::related::RelationValue;
use super::QuerySet;
use crate::backends::Dialect;
use crate::error::OrmError;
use crate::field::Field;
use crate::model::Model;

/// What to do about rows another transaction holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Waiting {
    /// Wait for them (the default).
    Wait,
    /// Fail at once (`NOWAIT`).
    NoWait,
    /// Leave them out of the result (`SKIP LOCKED`).
    SkipLocked,
}

/// A lock without its model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Lock {
    pub(crate) waiting: Waiting,
    /// Lock the model's own rows (`of` named `self`).
    pub(crate) of_self: bool,
    /// Lock the rows joined through these relation fields (by field name).
    pub(crate) of_related: Vec<&'static str>,
}

/// How [`QuerySet::select_for_update_with`] locks rows of model `M`.
///
/// By default the query waits for rows another transaction holds, and
/// locks every row it reads that the database can lock.
#[derive(Clone, Debug)]
pub struct ForUpdate<M> {
    pub(crate) lock: Lock,
    marker: PhantomData<fn() -> M>,
}

impl<M: Model> Default for ForUpdate<M> {
    fn default() -> Self {
        ForUpdate::new()
    }
}

impl<M: Model> ForUpdate<M> {
    /// Wait for locked rows; lock all that are read.
    pub fn new() -> Self {
        ForUpdate {
            lock: Lock {
                waiting: Waiting::Wait,
                of_self: false,
                of_related: Vec::new(),
            },
            marker: PhantomData,
        }
    }

    /// Fail at once if a row is locked by another transaction (`NOWAIT`),
    /// instead of waiting. Not with [`skip_locked`](ForUpdate::skip_locked).
    pub fn nowait(mut self) -> Self {
        self.lock.waiting = Waiting::NoWait;
        self
    }

    /// Leave rows another transaction holds out of the result (`SKIP
    /// LOCKED`), as a work queue wants. Not with [`nowait`](ForUpdate::nowait).
    pub fn skip_locked(mut self) -> Self {
        self.lock.waiting = Waiting::SkipLocked;
        self
    }

    /// Lock the model's own rows (Django's `of=("self",)`); with
    /// [`of`](ForUpdate::of), only the rows named are locked.
    pub fn of_self(mut self) -> Self {
        self.lock.of_self = true;
        self
    }

    /// Lock the rows `field` points to, loaded with
    /// [`select_related`](QuerySet::select_related) (Django's
    /// `of=("author",)`); the relation must be one that cannot be NULL
    /// on PostgreSQL, which cannot lock the nullable side of a LEFT JOIN.
    pub fn of<F: RelationValue>(mut self, field: Field<M, F>) -> Self {
        self.lock.of_related.push(field.name());
        self
    }
}

fn refused<M: Model>(query: &QuerySet<M>, message: String) -> OrmError {
    query.invalid(format!("select_for_update: {message}"))
}

/// Adds the lock clause for `lock` to `statement`, or refuses a lock the
/// database cannot take as asked.
pub(crate) fn apply<M: Model>(
    query: &QuerySet<M>,
    lock: &Lock,
    dialect: Dialect,
    joins: &[Join],
    statement: &mut sea_query::SelectStatement,
) -> Result<(), OrmError> {
    if query.is_distinct() && dialect == Dialect::Postgres {
        return Err(refused(
            query,
            "PostgreSQL cannot lock the rows of a DISTINCT query".to_owned(),
        ));
    }
    let mut tables: Vec<sea_query::Alias> = Vec::new();
    if lock.of_self {
        tables.push(sea_query::Alias::new(M::META.table));
    }
    for name in &lock.of_related {
        let Some(index) = query.related_index(name) else {
            return Err(refused(
                query,
                format!(
                    "of({}.{name}) needs select_related({}.{name}), so that its rows are read",
                    M::META.name,
                    M::META.name
                ),
            ));
        };
        let join = &joins[index];
        if join.nullable && dialect == Dialect::Postgres {
            return Err(refused(
                query,
                format!(
                    "PostgreSQL cannot lock the rows {}.{name} points to: the key may be NULL \
                     (a LEFT JOIN); lock them with a query of their own",
                    M::META.name
                ),
            ));
        }
        tables.push(sea_query::Alias::new(&join.alias));
    }
    if tables.is_empty() && dialect == Dialect::Postgres && joins.iter().any(|join| join.nullable) {
        // Lock only what PostgreSQL can: the model's rows and those
        // joined through keys that cannot be NULL.
        tables.push(sea_query::Alias::new(M::META.table));
        tables.extend(
            joins
                .iter()
                .filter(|join| !join.nullable)
                .map(|join| sea_query::Alias::new(&join.alias)),
        );
    }
    if dialect == Dialect::Sqlite {
        // No row locks: the transaction's write lock covers it.
        return Ok(());
    }
    if !tables.is_empty() && dialect == Dialect::MySql {
        return Err(refused(
            query,
            "MariaDB cannot lock only some of the tables read (FOR UPDATE OF): drop of_self()/of() \
             to lock every row read"
                .to_owned(),
        ));
    }
    let behavior = match lock.waiting {
        Waiting::Wait => None,
        Waiting::NoWait => Some(LockBehavior::Nowait),
        Waiting::SkipLocked => Some(LockBehavior::SkipLocked),
    };
    match (tables.is_empty(), behavior) {
        (true, None) => statement.lock(LockType::Update),
        (true, Some(behavior)) => statement.lock_with_behavior(LockType::Update, behavior),
        (false, None) => statement.lock_with_tables(LockType::Update, tables),
        (false, Some(behavior)) => {
            statement.lock_with_tables_behavior(LockType::Update, tables, behavior)
        }
    };
    Ok(())
}
