//! The query tree: conditions, orderings and assignments, without SQL.
//! Combine conditions with `&`, `|` and `!` (Django's `Q` objects).
//!
//! Each of them carries the model it applies to, so a condition on one
//! model cannot filter another:
//!
//! ```compile_fail
//! # use flagon_orm::{Model, ModelExt};
//! # #[derive(Model, Debug)]
//! # #[model(app = "lib")]
//! # struct Author { id: i64 }
//! # #[derive(Model, Debug)]
//! # #[model(app = "lib")]
//! # struct Book { id: i64 }
//! // A condition on authors does not filter books.
//! let books = Book::objects().filter(Author::ID.eq(5));
//! ```
//!
//! ```compile_fail
//! # use flagon_orm::{Model, ModelExt};
//! # #[derive(Model, Debug)]
//! # #[model(app = "lib")]
//! # struct Author { id: i64, #[field(max_length = 10)] name: String }
//! # #[derive(Model, Debug)]
//! # #[model(app = "lib")]
//! # struct Book { id: i64 }
//! # async fn demo(db: flagon_orm::Db) {
//! // Nor does an author's field get set on books.
//! Book::objects().update(&db, [Author::NAME.set("x")]).await;
//! # }
//! ```
//!
//! ```compile_fail
//! # use flagon_orm::{Model, ModelExt};
//! # #[derive(Model, Debug)]
//! # #[model(app = "lib")]
//! # struct Author { id: i64 }
//! # #[derive(Model, Debug)]
//! # #[model(app = "lib")]
//! # struct Book { id: i64 }
//! // Nor orders them.
//! let books = Book::objects().order_by(Author::ID.asc());
//! ```

use std::marker::PhantomData;
use std::ops::{BitAnd, BitOr, Not};

use super::expr::{CompareOp, Operand};
use crate::value::Value;

/// A comparison applied to one column.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Lookup {
    /// `=`
    Eq(Value),
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

/// A condition without its model: what the compiler renders.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node {
    /// A lookup on a column.
    Lookup {
        /// The column.
        column: &'static str,
        /// Whether the column may hold NULL.
        nullable: bool,
        /// The comparison.
        lookup: Lookup,
    },
    /// All of these hold.
    All(Vec<Node>),
    /// Any of these holds.
    Any(Vec<Node>),
    /// This does not hold (and is not unknown): SQL's `NOT`, except that a
    /// row where the inner condition is NULL matches, as Django's
    /// `exclude` keeps a row whose field is NULL.
    Not(Box<Node>),
    /// The row's foreign key `column` points to a row of `table` (whose
    /// key is `key`) for which `condition` holds: Django's
    /// `filter(author__name=..)`, as `column IN (SELECT key FROM table WHERE ..)`.
    Related {
        /// The foreign key column.
        column: &'static str,
        /// Whether the foreign key may be NULL.
        nullable: bool,
        /// The target table.
        table: &'static str,
        /// The target's key column.
        key: &'static str,
        /// What must hold for the target row.
        condition: Box<Node>,
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
    /// A JSON field's value at a path of keys equals `value` (a JSON
    /// scalar), or with `None` the path exists.
    Json {
        /// The JSON column.
        column: &'static str,
        /// The object keys, outermost first.
        keys: Vec<String>,
        /// The JSON value compared with, if any.
        value: Option<Value>,
    },
    /// Rows of another model exist, correlated with this row.
    Exists(Box<super::subquery::Inner>),
    /// A condition that cannot be built (a many-to-many field whose
    /// through model lacks its keys): the query is refused with this
    /// message.
    Refused(String),
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

impl Node {
    /// Whether the condition can be NULL (unknown) for some row, so that
    /// its negation must treat unknown as "does not hold".
    pub(crate) fn may_be_unknown(&self) -> bool {
        match self {
            Node::Lookup {
                lookup: Lookup::IsNull(_),
                ..
            } => false,
            Node::Lookup { nullable, .. } | Node::Related { nullable, .. } => *nullable,
            Node::All(items) | Node::Any(items) => items.iter().any(Node::may_be_unknown),
            // Rendered so that the negation is never unknown.
            Node::Not(_) => false,
            Node::Compare { left, right, .. } => left.may_be_null() || right.may_be_null(),
            // A key is never NULL, nor are the through table's columns.
            Node::Through { .. } | Node::Refused(_) => false,
            // A NULL column, or a key missing on some backends.
            Node::Json { .. } => true,
            Node::Exists(_) => false,
        }
    }

    /// Why the condition cannot be run, if it cannot: an ordered
    /// comparison with NULL, which no row meets (Django refuses it too).
    pub(crate) fn refusal(&self) -> Option<String> {
        match self {
            Node::Compare { left, op, right }
                if *op != CompareOp::Eq && (left.is_null_value() || right.is_null_value()) =>
            {
                Some(format!(
                    "a {op:?} comparison with None (NULL) matches no row: \
                     compare with a value, or use isnull() / eq(None)"
                ))
            }
            Node::All(items) | Node::Any(items) => items.iter().find_map(Node::refusal),
            Node::Not(inner)
            | Node::Related {
                condition: inner, ..
            } => inner.refusal(),
            Node::Refused(message) => Some(message.clone()),
            _ => None,
        }
    }
}

/// A filter condition on rows of model `M`: build it from the model's
/// fields (`Question::PUB_DATE.lte(now)`), combine with `&`, `|` and `!`.
///
/// `!condition` (and [`exclude`](crate::QuerySet::exclude)) keeps the rows
/// for which the condition does not hold, including those where it is
/// unknown because a field is NULL, as Django's `exclude` does:
/// `exclude(Book::RATING.eq(5))` keeps the books with no rating.
pub struct Condition<M> {
    pub(crate) node: Node,
    marker: PhantomData<fn() -> M>,
}

impl<M> Condition<M> {
    /// A condition from its tree.
    pub(crate) fn new(node: Node) -> Self {
        Condition {
            node,
            marker: PhantomData,
        }
    }

    /// A condition no row meets.
    pub(crate) fn nothing() -> Self {
        Condition::column_in("", Vec::new())
    }

    /// `column = value`, on a column that holds no NULL (a key).
    pub(crate) fn column_eq(column: &'static str, value: Value) -> Self {
        Condition::new(Node::Lookup {
            column,
            nullable: false,
            lookup: Lookup::Eq(value),
        })
    }

    /// `column IN (values)`, on a column that holds no NULL (a key).
    pub(crate) fn column_in(column: &'static str, values: Vec<Value>) -> Self {
        Condition::new(Node::Lookup {
            column,
            nullable: false,
            lookup: Lookup::In(values),
        })
    }
}

impl<M> Clone for Condition<M> {
    fn clone(&self) -> Self {
        Condition::new(self.node.clone())
    }
}

impl<M> PartialEq for Condition<M> {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

impl<M> std::fmt::Debug for Condition<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.node.fmt(f)
    }
}

impl<M> BitAnd for Condition<M> {
    type Output = Condition<M>;

    fn bitand(self, other: Condition<M>) -> Condition<M> {
        Condition::new(match self.node {
            Node::All(mut items) => {
                items.push(other.node);
                Node::All(items)
            }
            first => Node::All(vec![first, other.node]),
        })
    }
}

impl<M> BitOr for Condition<M> {
    type Output = Condition<M>;

    fn bitor(self, other: Condition<M>) -> Condition<M> {
        Condition::new(match self.node {
            Node::Any(mut items) => {
                items.push(other.node);
                Node::Any(items)
            }
            first => Node::Any(vec![first, other.node]),
        })
    }
}

impl<M> Not for Condition<M> {
    type Output = Condition<M>;

    fn not(self) -> Condition<M> {
        Condition::new(Node::Not(Box::new(self.node)))
    }
}

/// One step from a row to the row its foreign key points to:
/// `(foreign key column, target table, target key column)`.
pub(crate) type Hop = (&'static str, &'static str, &'static str);

/// An ordering term without its model.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct OrderTerm {
    /// The column (of the last related row, with `via`).
    pub column: &'static str,
    /// Largest first.
    pub descending: bool,
    /// The foreign keys followed, outermost first, to reach the row whose
    /// column is sorted by.
    pub via: Vec<Hop>,
    /// An expression sorted by instead of the column (no `via` then).
    pub expression: Option<Operand>,
}

impl OrderTerm {
    /// A term on a column of the row itself.
    pub(crate) fn column(column: &'static str, descending: bool) -> Self {
        OrderTerm {
            column,
            descending,
            via: Vec::new(),
            expression: None,
        }
    }

    /// A term on an expression over the row.
    pub(crate) fn expression(expression: Operand, descending: bool) -> Self {
        OrderTerm {
            column: "",
            descending,
            via: Vec::new(),
            expression: Some(expression),
        }
    }
}

/// An ordering term for rows of model `M`: `Question::PUB_DATE.desc()`,
/// or through relations `Book::AUTHOR.by(Author::NAME.asc())`.
pub struct Order<M> {
    pub(crate) term: OrderTerm,
    marker: PhantomData<fn() -> M>,
}

impl<M> Order<M> {
    /// An ordering from its term.
    pub(crate) fn new(term: OrderTerm) -> Self {
        Order {
            term,
            marker: PhantomData,
        }
    }

    /// The same ordering, the other way round.
    pub fn reversed(self) -> Self {
        Order::new(OrderTerm {
            descending: !self.term.descending,
            ..self.term
        })
    }
}

impl<M> Clone for Order<M> {
    fn clone(&self) -> Self {
        Order::new(self.term.clone())
    }
}

impl<M> PartialEq for Order<M> {
    fn eq(&self, other: &Self) -> bool {
        self.term == other.term
    }
}

impl<M> std::fmt::Debug for Order<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.term.fmt(f)
    }
}

/// `column = value` (or an expression) in an update of rows of model `M`:
/// `Question::TEXT.set("..")`.
pub struct Assignment<M> {
    pub(crate) column: &'static str,
    pub(crate) value: Operand,
    marker: PhantomData<fn() -> M>,
}

impl<M> Assignment<M> {
    /// Sets `column` to `value`.
    pub(crate) fn new(column: &'static str, value: Operand) -> Self {
        Assignment {
            column,
            value,
            marker: PhantomData,
        }
    }
}

impl<M> Clone for Assignment<M> {
    fn clone(&self) -> Self {
        Assignment::new(self.column, self.value.clone())
    }
}

impl<M> PartialEq for Assignment<M> {
    fn eq(&self, other: &Self) -> bool {
        self.column == other.column && self.value == other.value
    }
}

impl<M> std::fmt::Debug for Assignment<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} = {:?}", self.column, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_node_refuses_the_query_wherever_it_sits() {
        let refused = Node::Refused("no through keys".into());
        assert_eq!(refused.refusal().as_deref(), Some("no through keys"));
        let nested = Node::Not(Box::new(Node::Any(vec![
            Node::Lookup {
                column: "a",
                nullable: true,
                lookup: Lookup::IsNull(true),
            },
            refused,
        ])));
        assert_eq!(nested.refusal().as_deref(), Some("no through keys"));
    }
}
