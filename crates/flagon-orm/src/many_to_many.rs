//! Many-to-many relations: a `ManyToMany<T>` field is not a column but a
//! table of pairs (the "through" table), made for you or given as a model
//! of your own.
//!
//! ```no_run
//! use flagon_orm::{ManyToMany, Model, ModelExt};
//!
//! #[derive(Model, Debug, Clone)]
//! #[model(app = "blog")]
//! struct Tag { id: i64, #[field(max_length = 50)] name: String }
//!
//! #[derive(Model, Debug, Clone)]
//! #[model(app = "blog")]
//! struct Post {
//!     id: i64,
//!     #[field(max_length = 200)]
//!     title: String,
//!     tags: ManyToMany<Tag>, // the table blog_post_tags (post_id, tag_id)
//! }
//!
//! # async fn demo(db: flagon_orm::Db, post: Post, rust: Tag) -> Result<(), flagon_orm::OrmError> {
//! Post::TAGS.add(&db, &post, &[&rust]).await?;
//! let tags = Post::TAGS.of(&post).all(&db).await?;          // post.tags.all()
//! let posts = Post::TAGS.reverse_of(&rust).all(&db).await?; // tag.post_set.all()
//! # let _ = (tags, posts); Ok(()) }
//! ```

use std::fmt;
use std::marker::PhantomData;

use sea_query::{Expr, ExprTrait, Query};

use crate::backends;
use crate::connection::Connection;
use crate::error::OrmError;
use crate::field::Field;
use crate::model::{Model, ModelMeta};
use crate::query::condition::{Condition, Node};
use crate::query::QuerySet;
use crate::value::{FieldType, Value};

/// A many-to-many relation to model `T`, as a field of a model. It holds
/// no data: the pairs live in the through table; use the field's constant
/// (`Post::TAGS.add(..)`, `.of(..)`) to read and change them.
pub struct ManyToMany<T> {
    marker: PhantomData<fn() -> T>,
}

impl<T> ManyToMany<T> {
    /// The field's value (it holds nothing).
    pub const fn new() -> Self {
        ManyToMany {
            marker: PhantomData,
        }
    }
}

impl<T> Default for ManyToMany<T> {
    fn default() -> Self {
        ManyToMany::new()
    }
}

impl<T> Clone for ManyToMany<T> {
    fn clone(&self) -> Self {
        ManyToMany::new()
    }
}

impl<T> fmt::Debug for ManyToMany<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ManyToMany")
    }
}

/// Every `ManyToMany` field is equal to another: it holds nothing.
impl<T> PartialEq for ManyToMany<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// A many-to-many field, in [`ModelMeta::many_to_many`].
#[derive(Clone, Copy)]
pub struct ManyToManyMeta {
    /// The field's name.
    pub name: &'static str,
    /// The target model.
    pub target: fn() -> &'static ModelMeta,
    /// A through model of your own, or `None` for the one made for you.
    pub through: Option<fn() -> &'static ModelMeta>,
    /// The table made for you (`<table>_<field>`), when `through` is `None`.
    pub table: &'static str,
    /// Its column pointing to this model.
    pub source_column: &'static str,
    /// Its column pointing to the target.
    pub target_column: &'static str,
}

impl fmt::Debug for ManyToManyMeta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManyToManyMeta")
            .field("name", &self.name)
            .field("target", &(self.target)().name)
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

/// Where the pairs of a many-to-many field live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Through {
    /// The table.
    pub table: &'static str,
    /// Its column pointing to the model with the field.
    pub source_column: &'static str,
    /// Its column pointing to the target.
    pub target_column: &'static str,
}

impl ManyToManyMeta {
    /// The through table and its two columns. For a through model of your
    /// own, they are its foreign keys to the two models (for a relation of
    /// a model to itself: the first and the second).
    pub fn through(&self, source: &ModelMeta) -> Result<Through, OrmError> {
        let Some(through) = self.through else {
            return Ok(Through {
                table: self.table,
                source_column: self.source_column,
                target_column: self.target_column,
            });
        };
        let through = through();
        let target = (self.target)();
        let keys: Vec<(&'static str, &'static ModelMeta)> = through
            .fields
            .iter()
            .filter_map(|field| Some((field.column, (field.relation?.target)())))
            .collect();
        let find = |model: &ModelMeta, skip: usize| {
            keys.iter()
                .filter(|(_, meta)| meta.app == model.app && meta.name == model.name)
                .nth(skip)
                .map(|(column, _)| *column)
        };
        let same = source.app == target.app && source.name == target.name;
        match (find(source, 0), find(target, usize::from(same))) {
            (Some(source_column), Some(target_column)) => Ok(Through {
                table: through.table,
                source_column,
                target_column,
            }),
            _ => Err(OrmError::Schema {
                message: format!(
                    "the through model {} of {}.{} needs a foreign key to {} and one to {}",
                    through.name, source.name, self.name, source.name, target.name
                ),
            }),
        }
    }
}

fn meta_of<M: Model>(name: &str) -> Result<&'static ManyToManyMeta, OrmError> {
    let all: &'static [ManyToManyMeta] = M::META.many_to_many;
    all.iter()
        .find(|field| field.name == name)
        .ok_or_else(|| OrmError::Schema {
            message: format!("{} has no many-to-many field `{name}`", M::META.name),
        })
}

fn through_of<M: Model>(name: &str) -> Result<Through, OrmError> {
    meta_of::<M>(name)?.through(M::META)
}

impl<M: Model, T: Model> Field<M, ManyToMany<T>> {
    /// The through table of this field.
    pub fn through(self) -> Result<Through, OrmError> {
        through_of::<M>(self.name())
    }

    /// The rows of `M` linked to some `T` that meets `condition` (Django's
    /// `Post.objects.filter(tags__name="rust")`):
    /// `Post::objects().filter(Post::TAGS.any(Tag::NAME.eq("rust")))`.
    /// Negated, it keeps the rows linked to no such `T`.
    pub fn any(self, condition: Condition<T>) -> Condition<M> {
        linked_through::<M, T>(self.through(), condition.node, false)
    }

    /// The rows of `T` linked to some `M` that meets `condition` (Django's
    /// `Tag.objects.filter(post__title="Hello")`):
    /// `Tag::objects().filter(Post::TAGS.reverse_any(Post::TITLE.eq("Hello")))`.
    pub fn reverse_any(self, condition: Condition<M>) -> Condition<T> {
        linked_through::<T, M>(self.through(), condition.node, true)
    }

    /// The `T` rows linked to `object` (Django's `post.tags.all()`).
    pub fn of(self, object: &M) -> QuerySet<T> {
        linked_rows(
            self.through(),
            |t| (t.target_column, t.source_column),
            object.key().to_value(),
        )
    }

    /// The `M` rows linked to `target` (Django's `tag.post_set.all()`).
    pub fn reverse_of(self, target: &T) -> QuerySet<M> {
        linked_rows(
            self.through(),
            |t| (t.source_column, t.target_column),
            target.key().to_value(),
        )
    }

    /// Links `targets` to `object`; pairs that exist already are left as
    /// they are. One query to read the existing pairs and one to insert.
    pub async fn add(
        self,
        db: &(impl Connection + ?Sized),
        object: &M,
        targets: &[&T],
    ) -> Result<(), OrmError> {
        let through = self.through()?;
        let source = object.key().to_value();
        let existing = linked(db, &through, &source).await?;
        let mut seen = existing;
        let mut rows = Vec::new();
        for target in targets {
            let key = target.key().to_value();
            if seen.insert(crate::query::related::value_key(&key)) {
                rows.push(key);
            }
        }
        if rows.is_empty() {
            return Ok(());
        }
        let mut insert = Query::insert();
        insert
            .into_table(through.table)
            .columns([through.source_column, through.target_column]);
        for key in rows {
            insert
                .values([Expr::val(source.clone()), Expr::val(key)])
                .map_err(|err| OrmError::Schema {
                    message: err.to_string(),
                })?;
        }
        let (sql, values) = backends::build(db.dialect(), &insert)?;
        db.execute(&sql, values).await?;
        Ok(())
    }

    /// Unlinks `targets` from `object`; returns how many pairs went.
    pub async fn remove(
        self,
        db: &(impl Connection + ?Sized),
        object: &M,
        targets: &[&T],
    ) -> Result<u64, OrmError> {
        if targets.is_empty() {
            return Ok(0);
        }
        let through = self.through()?;
        let keys: Vec<Value> = targets
            .iter()
            .map(|target| target.key().to_value())
            .collect();
        let delete = Query::delete()
            .from_table(through.table)
            .and_where(Expr::col(through.source_column).eq(object.key().to_value()))
            .and_where(Expr::col(through.target_column).is_in(keys))
            .to_owned();
        let (sql, values) = backends::build(db.dialect(), &delete)?;
        Ok(db.execute(&sql, values).await?.rows_affected)
    }

    /// Unlinks everything from `object`; returns how many pairs went.
    pub async fn clear(self, db: &(impl Connection + ?Sized), object: &M) -> Result<u64, OrmError> {
        let through = self.through()?;
        let delete = Query::delete()
            .from_table(through.table)
            .and_where(Expr::col(through.source_column).eq(object.key().to_value()))
            .to_owned();
        let (sql, values) = backends::build(db.dialect(), &delete)?;
        Ok(db.execute(&sql, values).await?.rows_affected)
    }

    /// Makes `targets` exactly the rows linked to `object`: the others are
    /// unlinked, the missing ones linked. Run it in a transaction for
    /// other readers never to see it half done.
    pub async fn set(
        self,
        db: &(impl Connection + ?Sized),
        object: &M,
        targets: &[&T],
    ) -> Result<(), OrmError> {
        let through = self.through()?;
        let wanted: Vec<Value> = targets
            .iter()
            .map(|target| target.key().to_value())
            .collect();
        let mut delete = Query::delete();
        delete
            .from_table(through.table)
            .and_where(Expr::col(through.source_column).eq(object.key().to_value()));
        if !wanted.is_empty() {
            delete.and_where(Expr::col(through.target_column).is_not_in(wanted));
        }
        let (sql, values) = backends::build(db.dialect(), &delete)?;
        db.execute(&sql, values).await?;
        self.add(db, object, targets).await
    }
}

/// The rows of `A` linked through `through` to a row of `B` meeting
/// `condition`; `reverse` when `A` is the field's target.
fn linked_through<A: Model, B: Model>(
    through: Result<Through, OrmError>,
    condition: Node,
    reverse: bool,
) -> Condition<A> {
    let through = match through {
        Ok(through) => through,
        Err(err) => return Condition::new(Node::Refused(err.to_string())),
    };
    let (own, other) = if reverse {
        (through.target_column, through.source_column)
    } else {
        (through.source_column, through.target_column)
    };
    let linked = Node::Related {
        column: other,
        nullable: false,
        table: B::META.table,
        key: B::META.primary_key().column,
        condition: Box::new(condition),
    };
    Condition::new(Node::Related {
        column: A::META.primary_key().column,
        nullable: false,
        table: through.table,
        key: own,
        condition: Box::new(linked),
    })
}

/// The `R` rows whose key is in the `select` column of the through rows
/// whose `filter` column is `value`; `columns` picks `(select, filter)`.
fn linked_rows<R: Model>(
    through: Result<Through, OrmError>,
    columns: impl FnOnce(&Through) -> (&'static str, &'static str),
    value: Value,
) -> QuerySet<R> {
    let key = R::META.primary_key().column;
    match through {
        Ok(through) => {
            let (select, filter) = columns(&through);
            R::objects().filter(Condition::new(Node::Through {
                column: key,
                table: through.table,
                select,
                filter,
                value,
            }))
        }
        // Cannot happen for a checked app; match nothing rather than all.
        Err(_) => R::objects().filter(Condition::nothing()),
    }
}

/// The keys (as [`value_key`](crate::query::related::value_key) text) of
/// the targets linked to `source`.
async fn linked(
    db: &(impl Connection + ?Sized),
    through: &Through,
    source: &Value,
) -> Result<std::collections::HashSet<String>, OrmError> {
    let select = Query::select()
        .column(through.target_column)
        .from(through.table)
        .and_where(Expr::col(through.source_column).eq(source.clone()))
        .to_owned();
    let (sql, values) = backends::build(db.dialect(), &select)?;
    let rows = db.fetch_all(&sql, values).await?;
    rows.iter()
        .map(|row| raw_key(row, 0).map(|value| crate::query::related::value_key(&value)))
        .collect()
}

/// Column `index` of `row` as a value comparable with model keys.
pub(crate) fn raw_key(row: &crate::Row, index: usize) -> Result<Value, OrmError> {
    // Keys are integers, text or UUIDs; try them in that order.
    if let Ok(value) = row.get::<i64>(index) {
        return Ok(Value::BigInt(Some(value)));
    }
    if let Ok(value) = row.get::<i32>(index) {
        return Ok(Value::BigInt(Some(value.into())));
    }
    if let Ok(value) = row.get::<crate::Uuid>(index) {
        return Ok(Value::Uuid(Some(value)));
    }
    row.get::<String>(index)
        .map(|value| Value::String(Some(value)))
}
