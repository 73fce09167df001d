//! The query tree: conditions, orderings and assignments, without SQL.
//! Combine conditions with `&`, `|` and `!` (Django's `Q` objects).

use std::ops::{BitAnd, BitOr, Not};

use super::expr::{CompareOp, Operand};
use crate::value::Value;

/// A comparison applied to one column.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Lookup {
    /// `=`
    Eq(Value),
    /// `<>`
    Ne(Value),
    /// `<`
    Lt(Value),
    /// `<=`
    Lte(Value),
    /// `>`
    Gt(Value),
    /// `>=`
    Gte(Value),
    /// `IN (..)`
    In(Vec<Value>),
    /// `BETWEEN low AND high`
    Range(Value, Value),
    /// `IS NULL` / `IS NOT NULL`
    IsNull(bool),
    /// `LIKE pattern ESCAPE '\'`, optionally ignoring case.
    Like {
        /// The pattern, with literal `%`, `_` and `\` escaped by `\`.
        pattern: String,
        /// Compare lower-cased.
        case_insensitive: bool,
    },
}

/// A filter condition.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Condition {
    /// A lookup on a column.
    Lookup {
        /// The column.
        column: &'static str,
        /// The comparison.
        lookup: Lookup,
    },
    /// All of these hold.
    All(Vec<Condition>),
    /// Any of these holds.
    Any(Vec<Condition>),
    /// This does not hold.
    Not(Box<Condition>),
    /// The row's foreign key `column` points to a row of `table` (whose
    /// key is `key`) for which `condition` holds: Django's
    /// `filter(author__name=..)`, as `column IN (SELECT key FROM table WHERE ..)`.
    Related {
        /// The foreign key column.
        column: &'static str,
        /// The target table.
        table: &'static str,
        /// The target's key column.
        key: &'static str,
        /// What must hold for the target row.
        condition: Box<Condition>,
    },
    /// A comparison between expressions (columns, values, arithmetic).
    Compare {
        /// The left side.
        left: Operand,
        /// The comparison.
        op: CompareOp,
        /// The right side.
        right: Operand,
    },
    /// The row's `column` is among the `select` column of the rows of
    /// `table` whose `filter` column equals `value` (how a many-to-many
    /// relation is followed through its table).
    Through {
        /// The column of this row.
        column: &'static str,
        /// The through table.
        table: &'static str,
        /// The column of the through table matched with `column`.
        select: &'static str,
        /// The column of the through table compared with `value`.
        filter: &'static str,
        /// The value.
        value: Value,
    },
}

impl BitAnd for Condition {
    type Output = Condition;

    fn bitand(self, other: Condition) -> Condition {
        match self {
            Condition::All(mut items) => {
                items.push(other);
                Condition::All(items)
            }
            first => Condition::All(vec![first, other]),
        }
    }
}

impl BitOr for Condition {
    type Output = Condition;

    fn bitor(self, other: Condition) -> Condition {
        match self {
            Condition::Any(mut items) => {
                items.push(other);
                Condition::Any(items)
            }
            first => Condition::Any(vec![first, other]),
        }
    }
}

impl Not for Condition {
    type Output = Condition;

    fn not(self) -> Condition {
        Condition::Not(Box::new(self))
    }
}

/// An ordering term.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Order {
    /// The column (of the related row, with `via`).
    pub column: &'static str,
    /// Largest first.
    pub descending: bool,
    /// Order by a column of the row a foreign key points to:
    /// `(foreign key column, target table, target key column)`.
    pub via: Option<(&'static str, &'static str, &'static str)>,
}

/// `column = value` (or an expression) in an update.
#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    /// The column.
    pub column: &'static str,
    /// The new value, or the expression that computes it.
    pub value: Operand,
}
