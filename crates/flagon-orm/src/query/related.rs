//! Following relations in queries: conditions and orderings on the row a
//! foreign key points to, `select_related` (a JOIN), `prefetch_related`
//! (one more query), and `with_related` for reverse and many-to-many
//! relations.

use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::condition::{Condition, Node, Order};
use crate::connection::{Connection, DynRef};
use crate::error::OrmError;
use crate::field::Field;
use crate::model::{Model, ModelMeta};
use crate::relation::{ForeignKey, OneToOne};
use crate::row::Row;
use crate::value::{FieldType, Value};

/// The value of a forward relation field: `ForeignKey<T>`, `OneToOne<T>`,
/// or an `Option` of either.
pub trait RelationValue: FieldType {
    /// The model it points to.
    type Target: Model;
}

impl<T: Model> RelationValue for ForeignKey<T> {
    type Target = T;
}
impl<T: Model> RelationValue for OneToOne<T> {
    type Target = T;
}
impl<T: Model> RelationValue for Option<ForeignKey<T>> {
    type Target = T;
}
impl<T: Model> RelationValue for Option<OneToOne<T>> {
    type Target = T;
}

impl<M: Model, F: RelationValue> Field<M, F> {
    /// Rows whose target row meets `condition` (Django's
    /// `filter(author__name="Ann")`):
    /// `Book::AUTHOR.has(Author::NAME.eq("Ann"))`. Hops chain:
    /// `Book::AUTHOR.has(Author::PUBLISHER.has(Publisher::NAME.eq("X")))`.
    ///
    /// The condition must be on the target model:
    ///
    /// ```compile_fail
    /// # use flagon_orm::{ForeignKey, Model};
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "lib")]
    /// # struct Author { id: i64 }
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "lib")]
    /// # struct Book { id: i64, #[field(on_delete = "cascade")] author: ForeignKey<Author> }
    /// let wrong = Book::AUTHOR.has(Book::ID.eq(1));
    /// ```
    pub fn has(self, condition: Condition<F::Target>) -> Condition<M> {
        let target = F::Target::META;
        Condition::new(Node::Related {
            column: self.column(),
            nullable: F::NULLABLE,
            table: target.table,
            key: target.primary_key().column,
            condition: Box::new(condition.node),
        })
    }

    /// The target rows that some row of `M` pointing to them meets
    /// `condition` for: a condition on the target model through the
    /// reverse side of this key (Django's
    /// `Author.objects.filter(book__title__contains="x")`):
    /// `Author::objects().filter(Book::AUTHOR.reverse_any(Book::TITLE.contains("x")))`.
    /// Negated, it keeps the targets no such row points to.
    ///
    /// ```compile_fail
    /// # use flagon_orm::{ForeignKey, Model};
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "lib")]
    /// # struct Author { id: i64 }
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "lib")]
    /// # struct Book { id: i64, #[field(on_delete = "cascade")] author: ForeignKey<Author> }
    /// // The condition is on the rows holding the key (books), not authors.
    /// let wrong = Book::AUTHOR.reverse_any(Author::ID.eq(1));
    /// ```
    pub fn reverse_any(self, condition: Condition<M>) -> Condition<F::Target> {
        let target = F::Target::META;
        let holds_key = Node::Lookup {
            column: self.column(),
            nullable: false,
            lookup: super::condition::Lookup::IsNull(false),
        };
        Condition::new(Node::Related {
            column: target.primary_key().column,
            nullable: false,
            table: M::META.table,
            key: self.column(),
            condition: Box::new(Node::All(vec![condition.node, holds_key])),
        })
    }

    /// Orders by a field of the target row (Django's
    /// `order_by("author__name")`): `Book::AUTHOR.by(Author::NAME.asc())`,
    /// and through further hops
    /// `Book::AUTHOR.by(Author::PUBLISHER.by(Publisher::NAME.asc()))`.
    ///
    /// The ordering must be on the target model:
    ///
    /// ```compile_fail
    /// # use flagon_orm::{ForeignKey, Model};
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "lib")]
    /// # struct Author { id: i64 }
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "lib")]
    /// # struct Book { id: i64, #[field(on_delete = "cascade")] author: ForeignKey<Author> }
    /// let wrong = Book::AUTHOR.by(Book::ID.asc());
    /// ```
    pub fn by(self, order: Order<F::Target>) -> Order<M> {
        let target = F::Target::META;
        let mut term = order.term;
        term.via.insert(
            0,
            (self.column(), target.table, target.primary_key().column),
        );
        Order::new(term)
    }
}

/// A loaded row of some model, shared.
pub(crate) type AnyObject = Arc<dyn Any + Send + Sync>;

/// Loaded targets with their keys.
type Targets = Vec<(Value, AnyObject)>;

/// Decodes a target from a joined row at an offset.
pub(crate) type DecodeTarget = fn(&Row, usize) -> Result<Box<dyn Loaded>, OrmError>;

/// Loads the targets with these keys.
type FetchTargets =
    for<'a> fn(&'a dyn Connection, Vec<Value>) -> BoxFuture<'a, Result<Targets, OrmError>>;

/// Loads the targets a relation field points to, for a query set.
#[derive(Clone, Copy)]
pub(crate) struct RelatedSpec {
    /// The field of the base model.
    pub field: &'static str,
    /// Its column.
    pub column: &'static str,
    /// The target model.
    pub target: &'static ModelMeta,
    /// Whether the foreign key may be NULL (joined with a LEFT JOIN, else
    /// an INNER JOIN).
    pub nullable: bool,
    /// For `select_related`: the position of the spec whose target holds
    /// this field (a chained hop), or `None` for a field of the base model.
    pub parent: Option<usize>,
    /// Decodes a target from a joined row at an offset.
    pub decode: DecodeTarget,
    /// Loads the targets with these keys: `(key, target)` pairs.
    pub fetch: FetchTargets,
}

impl std::fmt::Debug for RelatedSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}->{}", self.field, self.target.name)
    }
}

/// A decoded target not shared yet: the rows it points to can still be
/// attached to it (chained `select_related`).
pub(crate) trait Loaded: Send {
    /// Keeps `object` as the row its relation `field` points to.
    fn set_related(&mut self, field: &str, object: AnyObject) -> bool;

    /// The object, shared.
    fn share(self: Box<Self>) -> AnyObject;
}

impl<T: Model> Loaded for T {
    fn set_related(&mut self, field: &str, object: AnyObject) -> bool {
        Model::set_related(self, field, object)
    }

    fn share(self: Box<Self>) -> AnyObject {
        Arc::new(*self)
    }
}

fn decode_target<T: Model>(row: &Row, offset: usize) -> Result<Box<dyn Loaded>, OrmError> {
    Ok(Box::new(T::from_row_at(row, offset)?))
}

fn fetch_targets<T: Model>(
    db: &dyn Connection,
    keys: Vec<Value>,
) -> BoxFuture<'_, Result<Targets, OrmError>> {
    Box::pin(async move {
        let mut out = Vec::new();
        // A few hundred at a time keeps every backend's parameter limit far.
        for chunk in keys.chunks(500) {
            let targets = T::objects()
                .filter(Condition::column_in(
                    T::META.primary_key().column,
                    chunk.to_vec(),
                ))
                .all(db)
                .await?;
            out.extend(targets.into_iter().map(|target| {
                let key = target.key().to_value();
                (key, Arc::new(target) as Arc<dyn Any + Send + Sync>)
            }));
        }
        Ok(out)
    })
}

/// The spec of a relation field.
pub(crate) fn spec<M: Model, F: RelationValue>(field: Field<M, F>) -> RelatedSpec {
    RelatedSpec {
        field: field.name(),
        column: field.column(),
        target: F::Target::META,
        nullable: F::NULLABLE,
        parent: None,
        decode: decode_target::<F::Target>,
        fetch: fetch_targets::<F::Target>,
    }
}

/// A key that compares values of any type by their text (sea-query values
/// cannot be hashed: they include floats). Integers of every width compare
/// equal, as keys read back from a through table are 64-bit.
pub(crate) fn value_key(value: &Value) -> String {
    match value {
        Value::TinyInt(Some(v)) => format!("i{v}"),
        Value::SmallInt(Some(v)) => format!("i{v}"),
        Value::Int(Some(v)) => format!("i{v}"),
        Value::BigInt(Some(v)) => format!("i{v}"),
        Value::String(Some(v)) => format!("s{v}"),
        Value::Uuid(Some(v)) => format!("u{v}"),
        other => format!("{other:?}"),
    }
}

/// The value of field `name` of `object`.
pub(crate) fn field_value<M: Model>(object: &M, name: &str) -> Option<Value> {
    let index = M::META.fields.iter().position(|field| field.name == name)?;
    object.values().into_iter().nth(index)
}

/// Loads and attaches the targets of `spec` to `objects` with one query.
pub(crate) async fn prefetch<M: Model>(
    db: &(impl Connection + ?Sized),
    objects: &mut [M],
    spec: &RelatedSpec,
) -> Result<(), OrmError> {
    let mut keys = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for object in objects.iter() {
        if let Some(value) = field_value(object, spec.field) {
            if !crate::value::null_value_matches(&value) && seen.insert(value_key(&value)) {
                keys.push(value);
            }
        }
    }
    if keys.is_empty() {
        return Ok(());
    }
    let dynamic = DynRef(db);
    let targets: HashMap<String, Arc<dyn Any + Send + Sync>> = (spec.fetch)(&dynamic, keys)
        .await?
        .into_iter()
        .map(|(key, target)| (value_key(&key), target))
        .collect();
    for object in objects.iter_mut() {
        if let Some(value) = field_value(object, spec.field) {
            if let Some(target) = targets.get(&value_key(&value)) {
                object.set_related(spec.field, Arc::clone(target));
            }
        }
    }
    Ok(())
}

/// Decodes joined rows: the base model, then each `select_related` target
/// (skipped where a LEFT JOIN found none), each attached to the object
/// whose field points to it: the base object, or for a chained hop the
/// target before it (children come after their parents, so they are
/// attached first, in reverse). The base model's `deferred` fields were
/// not selected.
pub(crate) fn decode_joined<M: Model>(
    row: &Row,
    deferred: &[&str],
    related: &[RelatedSpec],
) -> Result<M, OrmError> {
    let mut object = M::from_row_deferring(row, 0, deferred)?;
    let mut offset = M::META.fields.len() - deferred.len();
    let mut loaded: Vec<Option<Box<dyn Loaded>>> = Vec::with_capacity(related.len());
    for spec in related {
        let key_index = spec.target.primary_key_index();
        loaded.push(if row.is_null(offset + key_index)? {
            None
        } else {
            Some((spec.decode)(row, offset)?)
        });
        offset += spec.target.fields.len();
    }
    for (index, spec) in related.iter().enumerate().rev() {
        let Some(target) = loaded[index].take() else {
            continue;
        };
        match spec.parent {
            None => {
                object.set_related(spec.field, target.share());
            }
            Some(parent) => {
                if let Some(Some(holder)) = loaded.get_mut(parent) {
                    holder.set_related(spec.field, target.share());
                }
            }
        }
    }
    Ok(object)
}

/// A chain of forward relations from model `M` to model `T`, for
/// [`QuerySet::select_related`](crate::QuerySet::select_related):
/// `Book::AUTHOR.then(Author::PUBLISHER)` (Django's
/// `select_related("author__publisher")`).
pub struct RelatedPath<M, T> {
    pub(crate) specs: Vec<RelatedSpec>,
    marker: std::marker::PhantomData<fn() -> (M, T)>,
}

impl<M, T> std::fmt::Debug for RelatedPath<M, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.specs).finish()
    }
}

impl<M: Model, F: RelationValue> From<Field<M, F>> for RelatedPath<M, F::Target> {
    fn from(field: Field<M, F>) -> Self {
        RelatedPath {
            specs: vec![spec(field)],
            marker: std::marker::PhantomData,
        }
    }
}

impl<M: Model, T: Model> RelatedPath<M, T> {
    /// Follows `next`, a relation of the model reached so far.
    pub fn then<G: RelationValue>(mut self, next: Field<T, G>) -> RelatedPath<M, G::Target> {
        self.specs.push(spec(next));
        RelatedPath {
            specs: self.specs,
            marker: std::marker::PhantomData,
        }
    }
}

impl<M: Model, F: RelationValue> Field<M, F> {
    /// A chain of relations starting with this one, for
    /// [`select_related`](crate::QuerySet::select_related):
    /// `Book::AUTHOR.then(Author::PUBLISHER)`.
    ///
    /// ```compile_fail
    /// # use flagon_orm::{ForeignKey, Model};
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "lib")]
    /// # struct Author { id: i64 }
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "lib")]
    /// # struct Book { id: i64, #[field(on_delete = "cascade")] author: ForeignKey<Author> }
    /// // The next hop must be a relation of Author.
    /// let wrong = Book::AUTHOR.then(Book::AUTHOR);
    /// ```
    pub fn then<G: RelationValue>(self, next: Field<F::Target, G>) -> RelatedPath<M, G::Target> {
        RelatedPath::from(self).then(next)
    }
}

/// A relation whose rows can be loaded for many objects at once: a
/// foreign key seen from its target (the reverse relation), or a
/// many-to-many field. What [`QuerySet::with_related`](super::QuerySet::with_related) takes.
pub trait Prefetch<M: Model, R: Model>: Copy + Send + Sync {
    /// The `R` rows related to the objects with these keys, each with the
    /// key of its object (in an internal text form).
    fn load<'a>(
        self,
        db: &'a dyn Connection,
        keys: Vec<Value>,
    ) -> BoxFuture<'a, Result<Vec<(String, R)>, OrmError>>;
}

/// The reverse of foreign key `field` of `R`: the `R` rows pointing to each key.
fn load_reverse<'a, R: Model>(
    db: &'a dyn Connection,
    field: &'static str,
    column: &'static str,
    keys: Vec<Value>,
) -> BoxFuture<'a, Result<Vec<(String, R)>, OrmError>> {
    Box::pin(async move {
        let mut out = Vec::new();
        for chunk in keys.chunks(500) {
            let rows = R::objects()
                .filter(Condition::column_in(column, chunk.to_vec()))
                .all(db)
                .await?;
            for row in rows {
                if let Some(value) = field_value(&row, field) {
                    out.push((value_key(&value), row));
                }
            }
        }
        Ok(out)
    })
}

macro_rules! reverse_prefetch {
    ($($ty:ty),*) => {$(
        impl<M: Model, R: Model> Prefetch<M, R> for Field<R, $ty> {
            fn load<'a>(
                self,
                db: &'a dyn Connection,
                keys: Vec<Value>,
            ) -> BoxFuture<'a, Result<Vec<(String, R)>, OrmError>> {
                load_reverse::<R>(db, self.name(), self.column(), keys)
            }
        }
    )*};
}

reverse_prefetch!(
    ForeignKey<M>,
    Option<ForeignKey<M>>,
    OneToOne<M>,
    Option<OneToOne<M>>
);

impl<M: Model, R: Model + Clone> Prefetch<M, R> for Field<M, crate::ManyToMany<R>> {
    fn load<'a>(
        self,
        db: &'a dyn Connection,
        keys: Vec<Value>,
    ) -> BoxFuture<'a, Result<Vec<(String, R)>, OrmError>> {
        Box::pin(async move {
            let through = self.through()?;
            // The pairs, then the targets they name.
            let mut pairs = Vec::new();
            for chunk in keys.chunks(500) {
                let select = sea_query::Query::select()
                    .column(through.source_column)
                    .column(through.target_column)
                    .from(through.table)
                    .and_where(sea_query::ExprTrait::is_in(
                        sea_query::Expr::col(through.source_column),
                        chunk.to_vec(),
                    ))
                    .to_owned();
                let (sql, values) = crate::backends::build(db.dialect(), &select)?;
                for row in db.fetch_all(&sql, values).await? {
                    pairs.push((
                        crate::many_to_many::raw_key(&row, 0)?,
                        crate::many_to_many::raw_key(&row, 1)?,
                    ));
                }
            }
            let mut wanted = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for (_, target) in &pairs {
                if seen.insert(value_key(target)) {
                    wanted.push(target.clone());
                }
            }
            let mut targets: HashMap<String, R> = HashMap::new();
            for chunk in wanted.chunks(500) {
                for target in R::objects()
                    .filter(Condition::column_in(
                        R::META.primary_key().column,
                        chunk.to_vec(),
                    ))
                    .all(db)
                    .await?
                {
                    targets.insert(value_key(&target.key().to_value()), target);
                }
            }
            Ok(pairs
                .into_iter()
                .filter_map(|(source, target)| {
                    let target = targets.get(&value_key(&target))?.clone();
                    Some((value_key(&source), target))
                })
                .collect())
        })
    }
}

/// A query set whose results come each with their related rows: see
/// [`QuerySet::with_related`](super::QuerySet::with_related).
pub struct WithRelated<M: Model, R: Model, P> {
    pub(crate) query: super::QuerySet<M>,
    pub(crate) relation: P,
    pub(crate) marker: std::marker::PhantomData<fn() -> R>,
}

impl<M: Model, R: Model, P: Prefetch<M, R>> WithRelated<M, R, P> {
    /// Every matching object with its related rows: two queries (three
    /// for a many-to-many field), however many objects there are.
    pub async fn all(&self, db: &(impl Connection + ?Sized)) -> Result<Vec<(M, Vec<R>)>, OrmError> {
        let objects = self.query.all(db).await?;
        let keys: Vec<Value> = objects
            .iter()
            .map(|object| object.key().to_value())
            .collect();
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let dynamic = DynRef(db);
        let mut related: HashMap<String, Vec<R>> = HashMap::new();
        for (key, row) in self.relation.load(&dynamic, keys).await? {
            related.entry(key).or_default().push(row);
        }
        Ok(objects
            .into_iter()
            .map(|object| {
                let rows = related
                    .remove(&value_key(&object.key().to_value()))
                    .unwrap_or_default();
                (object, rows)
            })
            .collect())
    }
}
