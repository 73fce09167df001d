//! Relations between models: [`ForeignKey`] and [`OneToOne`] fields, what
//! happens to them when the row they point to is deleted ([`OnDelete`]),
//! and reverse accessors ([`ModelExt::related`](crate::ModelExt::related)).
//!
//! ```no_run
//! use flagon_orm::{ForeignKey, Model, ModelExt};
//!
//! #[derive(Model, Debug)]
//! #[model(app = "polls")]
//! struct Question { id: i64, #[field(max_length = 200)] text: String }
//!
//! #[derive(Model, Debug)]
//! #[model(app = "polls")]
//! struct Choice {
//!     id: i64,
//!     #[field(on_delete = "cascade")]
//!     question: ForeignKey<Question>, // column `question_id`
//!     #[field(max_length = 200)]
//!     text: String,
//! }
//!
//! # async fn demo(db: flagon_orm::Db) -> Result<(), flagon_orm::OrmError> {
//! let question = Question::objects().get(&db).await?;
//! let mut choice = Choice { id: 0, question: ForeignKey::to(&question), text: "Yes".into() };
//! choice.save(&db).await?;
//! let choices = question.related(Choice::QUESTION).all(&db).await?; // Django's question.choice_set
//! let back = choice.question.fetch(&db).await?;                      // Django's choice.question
//! # let _ = (choices, back); Ok(()) }
//! ```

//!
//! A relation field without `on_delete` does not compile, nor does
//! `set_null` on a field that cannot be NULL:
//!
//! ```compile_fail
//! # use flagon_orm::{ForeignKey, Model};
//! # #[derive(Model, Debug)]
//! # #[model(app = "polls")]
//! # struct Question { id: i64 }
//! #[derive(Model, Debug)]
//! #[model(app = "polls")]
//! struct Choice { id: i64, question: ForeignKey<Question> }
//! ```
//!
//! ```compile_fail
//! # use flagon_orm::{ForeignKey, Model};
//! # #[derive(Model, Debug)]
//! # #[model(app = "polls")]
//! # struct Question { id: i64 }
//! #[derive(Model, Debug)]
//! #[model(app = "polls")]
//! struct Choice { id: i64, #[field(on_delete = "set_null")] question: ForeignKey<Question> }
//! ```
//!
//! ```compile_fail
//! # use flagon_orm::{Decimal, Model};
//! #[derive(Model, Debug)]
//! #[model(app = "shop")]
//! struct Item { id: i64, price: Decimal } // needs max_digits and decimal_places
//! ```

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use crate::connection::Connection;
use crate::error::OrmError;
use crate::model::{FieldKind, Model, ModelMeta};
use crate::row::Row;
use crate::value::{FieldType, Value};

/// What the database does to a row whose foreign key points to a row being
/// deleted. The database enforces it (`ON DELETE ..`), so it holds for
/// deletes made with raw SQL too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OnDelete {
    /// Delete the row too.
    Cascade,
    /// Refuse the delete while rows point to it (an integrity error).
    Protect,
    /// Refuse the delete while rows point to it (an integrity error).
    Restrict,
    /// Set the foreign key to NULL (the field must be an `Option`).
    SetNull,
    /// Do nothing; the database refuses the delete if the constraint is
    /// still broken at the end of the statement.
    DoNothing,
}

impl OnDelete {
    /// The SQL action.
    pub(crate) fn sql(self) -> &'static str {
        match self {
            OnDelete::Cascade => "CASCADE",
            OnDelete::Protect | OnDelete::Restrict => "RESTRICT",
            OnDelete::SetNull => "SET NULL",
            OnDelete::DoNothing => "NO ACTION",
        }
    }
}

/// The kind of a relation field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelationKind {
    /// Many rows may point to one ([`ForeignKey`]).
    ForeignKey,
    /// At most one row points to each ([`OneToOne`]).
    OneToOne,
}

/// What a relation field points to, in [`FieldMeta::relation`](crate::FieldMeta::relation).
#[derive(Clone, Copy)]
pub struct Relation {
    /// Foreign key or one-to-one.
    pub kind: RelationKind,
    /// The target model's metadata (a function, so that a model may point
    /// to itself).
    pub target: fn() -> &'static ModelMeta,
    /// What happens when the target row is deleted.
    pub on_delete: OnDelete,
}

impl fmt::Debug for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = (self.target)();
        f.debug_struct("Relation")
            .field("kind", &self.kind)
            .field("target", &format_args!("{}.{}", target.app, target.name))
            .field("on_delete", &self.on_delete)
            .finish()
    }
}

/// A relation field's kind and target, as [`FieldType::RELATION`] gives it.
pub type RelationTarget = (RelationKind, fn() -> &'static ModelMeta);

/// The relation of a field of type `T` with `on_delete` (what the derive
/// writes into [`FieldMeta::relation`](crate::FieldMeta::relation)).
#[doc(hidden)]
pub const fn relation_of<T: FieldType>(on_delete: Option<OnDelete>) -> Option<Relation> {
    match (T::RELATION, on_delete) {
        (Some((kind, target)), Some(on_delete)) => Some(Relation {
            kind,
            target,
            on_delete,
        }),
        (Some((kind, target)), None) => Some(Relation {
            kind,
            target,
            on_delete: OnDelete::Cascade,
        }),
        (None, _) => None,
    }
}

fn meta_of<T: Model>() -> &'static ModelMeta {
    T::META
}

macro_rules! relation_type {
    ($name:ident, $kind:ident, $doc:literal) => {
        #[doc = $doc]
        pub struct $name<T: Model> {
            key: T::Key,
            object: Option<Arc<T>>,
        }

        impl<T: Model> $name<T> {
            /// A reference to the row whose primary key is `key`.
            pub fn new(key: T::Key) -> Self {
                $name { key, object: None }
            }

            /// A reference to `object` (by its primary key; save it first
            /// if its key is automatic).
            pub fn to(object: &T) -> Self {
                $name {
                    key: object.key(),
                    object: None,
                }
            }

            /// The primary key of the row it points to (the column's value).
            pub fn id(&self) -> &T::Key {
                &self.key
            }

            /// The row it points to, if the query loaded it
            /// ([`QuerySet::select_related`](crate::QuerySet::select_related)).
            pub fn get(&self) -> Option<&T> {
                self.object.as_deref()
            }

            /// Loads the row it points to (one query); a row that is gone is
            /// [`OrmError::DoesNotExist`].
            pub async fn fetch(&self, db: &(impl Connection + ?Sized)) -> Result<T, OrmError> {
                T::objects()
                    .filter(crate::query::condition::Condition::column_eq(
                        T::META.primary_key().column,
                        self.key.to_value(),
                    ))
                    .get(db)
                    .await
            }

            /// Keeps a loaded target (what `select_related` does).
            #[doc(hidden)]
            pub fn attach(&mut self, object: Arc<dyn Any + Send + Sync>) -> bool {
                match object.downcast::<T>() {
                    Ok(object) => {
                        self.object = Some(object);
                        true
                    }
                    Err(_) => false,
                }
            }
        }

        impl<T: Model> Clone for $name<T> {
            fn clone(&self) -> Self {
                $name {
                    key: self.key.clone(),
                    object: self.object.clone(),
                }
            }
        }

        impl<T: Model> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}<{}>({:?})", stringify!($name), T::META.name, self.key)
            }
        }

        /// Equal when they point to the same row.
        impl<T: Model> PartialEq for $name<T> {
            fn eq(&self, other: &Self) -> bool {
                self.key == other.key
            }
        }

        impl<T: Model> From<&T> for $name<T> {
            fn from(object: &T) -> Self {
                $name::to(object)
            }
        }

        impl<T: Model> FieldType for $name<T> {
            type Plain = Self;
            const KIND: FieldKind = <T::Key as FieldType>::KIND;
            const RELATION: Option<RelationTarget> = Some((RelationKind::$kind, meta_of::<T>));

            fn to_value(&self) -> Value {
                self.key.to_value()
            }

            fn decode(row: &Row, index: usize) -> Result<Self, OrmError> {
                Ok($name::new(<T::Key as FieldType>::decode(row, index)?))
            }

            fn attach_related(&mut self, object: Arc<dyn Any + Send + Sync>) -> bool {
                self.attach(object)
            }
        }
    };
}

relation_type!(
    ForeignKey,
    ForeignKey,
    "A foreign key to model `T`: many rows of this model may point to one of `T`.\n\n\
     Stored in a column named after the field with `_id` (`author` → `author_id`), \
     indexed, with a constraint the database checks. Give it \
     `#[field(on_delete = \"cascade\")]` (or `protect`, `restrict`, `set_null`, `do_nothing`)."
);
relation_type!(
    OneToOne,
    OneToOne,
    "A one-to-one link to model `T`: a foreign key that is also unique \
     (Django's `OneToOneField`), such as a profile for a user."
);

/// A relation field of model `R` pointing to model `T`: what
/// [`ModelExt::related`](crate::ModelExt::related) takes.
pub trait RelationField<R, T> {
    /// The field's column in `R`'s table.
    fn relation_column(&self) -> &'static str;
}

impl<R: Model, T: Model> RelationField<R, T> for crate::Field<R, ForeignKey<T>> {
    fn relation_column(&self) -> &'static str {
        self.column()
    }
}

impl<R: Model, T: Model> RelationField<R, T> for crate::Field<R, Option<ForeignKey<T>>> {
    fn relation_column(&self) -> &'static str {
        self.column()
    }
}

impl<R: Model, T: Model> RelationField<R, T> for crate::Field<R, OneToOne<T>> {
    fn relation_column(&self) -> &'static str {
        self.column()
    }
}

impl<R: Model, T: Model> RelationField<R, T> for crate::Field<R, Option<OneToOne<T>>> {
    fn relation_column(&self) -> &'static str {
        self.column()
    }
}
