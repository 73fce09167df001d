//! The SQL text of the simplest selects, rendered once per shape.
//!
//! Rendering a select through sea-query (building the statement, printing
//! it, dropping it) costs more than the rest of a primary-key lookup on the
//! ORM's side. For the narrow family of selects described by [`Shape`]
//! (the model's own columns, a filter of at most [`MAX_TERMS`] plain
//! comparisons of a column with a non-NULL scalar, an ordering by at most
//! [`MAX_TERMS`] of the row's own columns, a limit and an offset) the text
//! depends only on what the shape records: the values are bound
//! parameters, in an order the shape fixes. Such a query's text is kept
//! here after its first rendering, and its values are read off the query
//! ([`values`]). Anything else (joins, `DISTINCT`, locks, deferred
//! fields, annotations, NULL, `IN` lists, `LIKE`, nested or negated
//! conditions, subqueries, expressions) has no shape and is rendered every
//! time.
//!
//! A `bulk_update` statement is kept the same way ([`UpdateShape`]): its
//! text depends on the model, the dialect, the fields written and the
//! number of rows, when every key and value written is such a scalar.
//!
//! Two guards back the argument: a shape is only kept if the values read
//! off the query ([`values`], [`update_values`]) equal the ones sea-query
//! bound when it was rendered, and in debug builds (the tests) every hit
//! is rendered afresh and compared, text and values ([`cached`]).

use std::any::TypeId;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, OnceLock, RwLock};

use super::condition::{Lookup, Node, OrderTerm};
use crate::backends::Dialect;
use crate::value::{Value, Values};

/// Most comparisons in a filter, and most terms in an ordering, of a
/// query with a [`Shape`].
pub(crate) const MAX_TERMS: usize = 4;

/// Most shapes kept: past it, new shapes are rendered every time.
const CAPACITY: usize = 1024;

/// A comparison of a filter with a shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Op {
    /// `=`
    Eq,
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `>`
    Gt,
    /// `>=`
    Gte,
}

/// `column op $n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Term {
    column: &'static str,
    op: Op,
}

/// The filter of a query with a shape. A single lookup and a conjunction
/// of one lookup render differently, so they are different shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Filter {
    /// No filter.
    None,
    /// One lookup (`Node::Lookup`).
    One(Term),
    /// All of these (`Node::All`), in order; the first `None` ends them.
    All([Option<Term>; MAX_TERMS]),
}

/// Everything the SQL text of a select with a shape depends on: the model
/// (its table and columns), the dialect, the filter's columns and
/// comparisons, the ordering's columns and directions, and whether there
/// is a limit and an offset. Two queries with equal shapes render the
/// same text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Shape {
    model: TypeId,
    /// The [`Dialect`], as its discriminant.
    dialect: u8,
    filter: Filter,
    /// Column and descending, in order; the first `None` ends them.
    order: [Option<(&'static str, bool)>; MAX_TERMS],
    limit: bool,
    offset: bool,
}

impl Shape {
    /// The shape of a select of every column of model `model` on
    /// `dialect`, with `filter`, `order`, `limit` and `offset` (and no
    /// joins, `DISTINCT`, lock, deferred fields or annotations: the caller
    /// vouches for that); `None` if the query falls outside the family.
    pub(crate) fn of(
        model: TypeId,
        dialect: Dialect,
        filter: Option<&Node>,
        order: &[OrderTerm],
        (limit, offset): (Option<u64>, Option<u64>),
    ) -> Option<Shape> {
        let filter = match filter {
            None => Filter::None,
            Some(Node::All(items)) => {
                if items.len() > MAX_TERMS {
                    return None;
                }
                let mut terms = [None; MAX_TERMS];
                for (slot, item) in terms.iter_mut().zip(items) {
                    *slot = Some(term(item)?.0);
                }
                Filter::All(terms)
            }
            Some(node) => Filter::One(term(node)?.0),
        };
        if order.len() > MAX_TERMS {
            return None;
        }
        let mut terms = [None; MAX_TERMS];
        for (slot, term) in terms.iter_mut().zip(order) {
            if term.expression.is_some() || !term.via.is_empty() {
                return None;
            }
            *slot = Some((term.column, term.descending));
        }
        Some(Shape {
            model,
            dialect: dialect as u8,
            filter,
            order: terms,
            limit: limit.is_some(),
            offset: offset.is_some(),
        })
    }
}

/// A lookup a shape can record: a comparison of the column with a plain
/// non-NULL scalar (bound as it is, as one parameter, by every dialect),
/// and that value.
fn term(node: &Node) -> Option<(Term, &Value)> {
    let Node::Lookup { column, lookup, .. } = node else {
        return None;
    };
    let (op, value) = match lookup {
        Lookup::Eq(value) => (Op::Eq, value),
        Lookup::Lt(value) => (Op::Lt, value),
        Lookup::Lte(value) => (Op::Lte, value),
        Lookup::Gt(value) => (Op::Gt, value),
        Lookup::Gte(value) => (Op::Gte, value),
        _ => return None,
    };
    plain(value).then_some((Term { column, op }, value))
}

/// Whether `value` is a non-NULL scalar that sea-query binds as one
/// parameter, unchanged, in every dialect (not an enum, which PostgreSQL
/// renders with a type hint; not JSON or a float, kept out for caution).
fn plain(value: &Value) -> bool {
    matches!(
        value,
        Value::Bool(Some(_))
            | Value::TinyInt(Some(_))
            | Value::SmallInt(Some(_))
            | Value::Int(Some(_))
            | Value::BigInt(Some(_))
            | Value::TinyUnsigned(Some(_))
            | Value::SmallUnsigned(Some(_))
            | Value::Unsigned(Some(_))
            | Value::BigUnsigned(Some(_))
            | Value::String(Some(_))
            | Value::Char(Some(_))
            | Value::Bytes(Some(_))
            | Value::ChronoDate(Some(_))
            | Value::ChronoTime(Some(_))
            | Value::ChronoDateTime(Some(_))
            | Value::ChronoDateTimeUtc(Some(_))
            | Value::Uuid(Some(_))
            | Value::Decimal(Some(_))
    )
}

/// The values a select with a shape binds, in the order of its
/// parameters: the filter's, then the limit (`i64::MAX` for an offset
/// without one, as `compile::select` writes it), then the offset. Only
/// meaningful for a query [`Shape::of`] gave a shape.
pub(crate) fn values(filter: Option<&Node>, (limit, offset): (Option<u64>, Option<u64>)) -> Values {
    let mut values = Vec::with_capacity(MAX_TERMS + 2);
    let mut push = |node: &Node| {
        if let Some((_, value)) = term(node) {
            values.push(value.clone());
        }
    };
    match filter {
        None => {}
        Some(Node::All(items)) => items.iter().for_each(&mut push),
        Some(node) => push(node),
    }
    if limit.is_some() || offset.is_some() {
        values.push(Value::from(limit.unwrap_or(i64::MAX as u64)));
    }
    if let Some(offset) = offset {
        values.push(Value::from(offset));
    }
    Values(values)
}

/// Everything the SQL text of one `bulk_update` statement depends on when
/// every key and written value is a plain scalar: the model, the dialect,
/// the fields written (their indexes, in order) and the number of rows
/// (`SET f = CASE WHEN key = $1 THEN $2 .. ELSE f END .. WHERE key IN
/// (..)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct UpdateShape {
    model: TypeId,
    /// The [`Dialect`], as its discriminant.
    dialect: u8,
    /// The indexes of the fields written, in order; the first `None` ends
    /// them.
    fields: [Option<usize>; MAX_TERMS],
    rows: usize,
}

impl UpdateShape {
    /// The shape of a `bulk_update` statement of model `model` on
    /// `dialect` writing the fields at `fields` of `rows` (each row's
    /// values in field order), found by the key at `key`; `None` if more
    /// than [`MAX_TERMS`] fields are written, or a key or written value is
    /// not a plain non-NULL scalar.
    pub(crate) fn of(
        model: TypeId,
        dialect: Dialect,
        fields: &[usize],
        key: usize,
        rows: &[Vec<Value>],
    ) -> Option<UpdateShape> {
        if fields.len() > MAX_TERMS {
            return None;
        }
        let is_plain = |row: &Vec<Value>, index: usize| row.get(index).is_some_and(plain);
        let every_plain = rows
            .iter()
            .all(|row| is_plain(row, key) && fields.iter().all(|&field| is_plain(row, field)));
        if !every_plain {
            return None;
        }
        let mut written = [None; MAX_TERMS];
        for (slot, &field) in written.iter_mut().zip(fields) {
            *slot = Some(field);
        }
        Some(UpdateShape {
            model,
            dialect: dialect as u8,
            fields: written,
            rows: rows.len(),
        })
    }
}

/// The values a `bulk_update` statement binds, in the order of its
/// parameters: for each field written, each row's key and its value (the
/// field's `CASE`), then each row's key (`IN`). Only meaningful for rows
/// [`UpdateShape::of`] gave a shape.
pub(crate) fn update_values(fields: &[usize], key: usize, rows: &[Vec<Value>]) -> Values {
    let mut values = Vec::with_capacity(rows.len() * (2 * fields.len() + 1));
    for &field in fields {
        for row in rows {
            values.extend(row.get(key).cloned());
            values.extend(row.get(field).cloned());
        }
    }
    values.extend(rows.iter().filter_map(|row| row.get(key).cloned()));
    Values(values)
}

/// FxHash (rustc's): a shape is a few words, hashed on every query, and
/// needs no defence against chosen collisions (shapes come from code).
#[derive(Default)]
struct FxHasher {
    hash: u64,
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

/// What a kept text is kept under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    /// A select ([`crate::QuerySet::all`] and what runs through it).
    Select(Shape),
    /// One statement of [`crate::QuerySet::bulk_update`].
    BulkUpdate(UpdateShape),
}

type Cache = RwLock<HashMap<Key, Arc<str>, BuildHasherDefault<FxHasher>>>;

/// The process's cache of rendered shapes.
fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Cache::default)
}

/// The text rendered for `key`, if it was kept.
fn get(key: &Key) -> Option<Arc<str>> {
    cache().read().ok()?.get(key).cloned()
}

/// Keeps `sql` as the text of `key` (unless the cache is full).
fn insert(key: Key, sql: Arc<str>) {
    if let Ok(mut map) = cache().write() {
        if map.len() < CAPACITY {
            map.insert(key, sql);
        }
    }
}

/// The SQL and values of a statement: for one with a `key`, the text kept
/// for it (rendered by `render` and kept the first time) with the values
/// `values` reads off the statement; for one without, what `render` gives.
///
/// A text is kept only if `render` bound exactly what `values` read; in
/// debug builds every hit is rendered again and compared, so that the tests
/// check every kept text against sea-query.
pub(crate) fn cached(
    key: Option<Key>,
    values: impl FnOnce() -> Values,
    render: impl Fn() -> Result<(String, Values), crate::error::OrmError>,
) -> Result<(Sql, Values), crate::error::OrmError> {
    let Some(key) = key else {
        let (sql, bound) = render()?;
        return Ok((Sql::Owned(sql), bound));
    };
    let values = values();
    if let Some(sql) = get(&key) {
        #[cfg(debug_assertions)]
        {
            let (fresh, bound) = render()?;
            assert_eq!(
                (&*sql, &values),
                (fresh.as_str(), &bound),
                "the SQL kept for {key:?}"
            );
        }
        return Ok((Sql::Shared(sql), values));
    }
    let (sql, bound) = render()?;
    if bound != values {
        // Not what the shape promises: never kept (a guard; the tests show
        // it does not happen).
        return Ok((Sql::Owned(sql), bound));
    }
    let sql: Arc<str> = sql.into();
    insert(key, sql.clone());
    Ok((Sql::Shared(sql), values))
}

/// The SQL text of a select: kept for its shape, or rendered for this
/// query alone.
pub(crate) enum Sql {
    /// From the cache (or just put in it).
    Shared(Arc<str>),
    /// Rendered for this query.
    Owned(String),
}

impl std::ops::Deref for Sql {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            Sql::Shared(sql) => sql,
            Sql::Owned(sql) => sql,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::test_fixtures::{lookup, META};

    fn shape(
        filter: Option<&Node>,
        order: &[OrderTerm],
        slice: (Option<u64>, Option<u64>),
    ) -> Option<Shape> {
        Shape::of(TypeId::of::<u8>(), Dialect::Postgres, filter, order, slice)
    }

    #[test]
    fn a_lookup_and_a_conjunction_of_it_are_different_shapes() {
        let one = lookup("id", Lookup::Eq(Value::from(1i32)));
        let all = Node::All(vec![one.clone()]);
        let one = shape(Some(&one), &[], (None, None)).unwrap();
        let all = shape(Some(&all), &[], (None, None)).unwrap();
        assert_ne!(one, all);
        assert_ne!(one, shape(None, &[], (None, None)).unwrap());
    }

    #[test]
    fn the_shape_records_columns_comparisons_order_and_slice_but_not_values() {
        let eq = |value: i32| lookup("id", Lookup::Eq(Value::from(value)));
        let base = shape(Some(&eq(1)), &[], (Some(2), None));
        assert!(base.is_some());
        assert_eq!(base, shape(Some(&eq(7)), &[], (Some(21), None)));
        let gt = lookup("id", Lookup::Gt(Value::from(1i32)));
        assert_ne!(base, shape(Some(&gt), &[], (Some(2), None)));
        let other = lookup("rank", Lookup::Eq(Value::from(1i32)));
        assert_ne!(base, shape(Some(&other), &[], (Some(2), None)));
        assert_ne!(base, shape(Some(&eq(1)), &[], (None, None)));
        assert_ne!(base, shape(Some(&eq(1)), &[], (Some(2), Some(3))));
        let asc = [OrderTerm::column("id", false)];
        let desc = [OrderTerm::column("id", true)];
        assert_ne!(base, shape(Some(&eq(1)), &asc, (Some(2), None)));
        assert_ne!(
            shape(Some(&eq(1)), &asc, (Some(2), None)),
            shape(Some(&eq(1)), &desc, (Some(2), None))
        );
        let postgres = Shape::of(
            TypeId::of::<u8>(),
            Dialect::Postgres,
            None,
            &[],
            (None, None),
        );
        let sqlite = Shape::of(TypeId::of::<u8>(), Dialect::Sqlite, None, &[], (None, None));
        let other_model = Shape::of(
            TypeId::of::<u16>(),
            Dialect::Postgres,
            None,
            &[],
            (None, None),
        );
        assert_ne!(postgres, sqlite);
        assert_ne!(postgres, other_model);
    }

    #[test]
    fn queries_outside_the_family_have_no_shape() {
        let none = [
            lookup("id", Lookup::Eq(Value::Int(None))),
            lookup("id", Lookup::In(vec![Value::from(1i32)])),
            lookup("id", Lookup::IsNull(true)),
            lookup("id", Lookup::Range(Value::from(1i32), Value::from(2i32))),
            lookup("score", Lookup::Eq(Value::from(1.5f64))),
            lookup(
                "title",
                Lookup::Like {
                    pattern: "a%".to_owned(),
                    case_insensitive: false,
                },
            ),
            Node::Any(vec![lookup("id", Lookup::Eq(Value::from(1i32)))]),
            Node::All(vec![Node::All(vec![])]),
            Node::All(vec![
                lookup("id", Lookup::Eq(Value::from(1i32)));
                MAX_TERMS + 1
            ]),
        ];
        for node in &none {
            assert_eq!(shape(Some(node), &[], (None, None)), None, "{node:?}");
        }
        let long = vec![OrderTerm::column("id", false); MAX_TERMS + 1];
        assert_eq!(shape(None, &long, (None, None)), None);
    }

    #[test]
    fn values_come_in_parameter_order() {
        let filter = Node::All(vec![
            lookup("id", Lookup::Gt(Value::from(3i64))),
            lookup("title", Lookup::Eq(Value::from("a"))),
        ]);
        assert_eq!(
            values(Some(&filter), (Some(10), Some(20))).0,
            vec![
                Value::from(3i64),
                Value::from("a"),
                Value::from(10u64),
                Value::from(20u64)
            ]
        );
        assert_eq!(
            values(None, (None, Some(5))).0,
            vec![Value::from(i64::MAX as u64), Value::from(5u64)]
        );
        assert!(values(None, (None, None)).0.is_empty());
    }

    /// The premise, checked against sea-query in every dialect built in:
    /// queries of one shape render one text, and bind what `values` reads.
    #[test]
    fn one_shape_renders_one_text_and_binds_what_values_reads() {
        let filters = |id: i64, title: &str| {
            vec![
                None,
                Some(lookup("id", Lookup::Eq(Value::from(id)))),
                Some(Node::All(vec![
                    lookup("id", Lookup::Gte(Value::from(id))),
                    lookup("title", Lookup::Lt(Value::from(title))),
                ])),
                Some(Node::All(vec![lookup(
                    "title",
                    Lookup::Eq(Value::from(title)),
                )])),
            ]
        };
        let orders = [
            vec![],
            vec![
                OrderTerm::column("title", true),
                OrderTerm::column("id", false),
            ],
        ];
        let slices = [
            (None, None),
            (Some(2), None),
            (None, Some(4)),
            (Some(2), Some(4)),
        ];
        for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql] {
            for (first, second) in filters(1, "a").iter().zip(filters(9, "z").iter()) {
                for order in &orders {
                    for slice in slices {
                        let slice2 = (slice.0.map(|n| n + 1), slice.1.map(|n| n + 1));
                        let render = |filter: Option<&Node>, slice| {
                            let select = crate::query::compile::select(
                                dialect,
                                &META,
                                filter,
                                order,
                                slice,
                                &[],
                                &[],
                            );
                            crate::backends::build(dialect, &select)
                        };
                        let (Ok((sql1, bound1)), Ok((sql2, bound2))) = (
                            render(first.as_ref(), slice),
                            render(second.as_ref(), slice2),
                        ) else {
                            continue; // A backend this build leaves out.
                        };
                        let shape1 =
                            Shape::of(TypeId::of::<u8>(), dialect, first.as_ref(), order, slice);
                        let shape2 =
                            Shape::of(TypeId::of::<u8>(), dialect, second.as_ref(), order, slice2);
                        assert!(shape1.is_some());
                        assert_eq!(shape1, shape2);
                        assert_eq!(sql1, sql2);
                        assert_eq!(bound1, values(first.as_ref(), slice));
                        assert_eq!(bound2, values(second.as_ref(), slice2));
                    }
                }
            }
        }
    }

    /// The premise for `bulk_update`, checked against sea-query in every
    /// dialect built in: batches of one shape render one text, and bind
    /// what `update_values` reads.
    #[test]
    fn one_update_shape_renders_one_text_and_binds_what_update_values_reads() {
        let row = |id: i64, title: &str| vec![Value::from(id), Value::from(title)];
        let batches = [
            (vec![row(1, "a")], vec![row(7, "z")]),
            (
                vec![row(1, "a"), row(2, "b"), row(3, "c")],
                vec![row(9, "x"), row(8, "y"), row(3, "q")],
            ),
        ];
        for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql] {
            for (first, second) in &batches {
                let render = |batch: &[Vec<Value>]| {
                    crate::backends::build(
                        dialect,
                        &crate::query::write::bulk_update_statement(&META, &[1], batch),
                    )
                };
                let (Ok((sql1, bound1)), Ok((sql2, bound2))) = (render(first), render(second))
                else {
                    continue; // A backend this build leaves out.
                };
                let shape1 = UpdateShape::of(TypeId::of::<u8>(), dialect, &[1], 0, first);
                let shape2 = UpdateShape::of(TypeId::of::<u8>(), dialect, &[1], 0, second);
                assert!(shape1.is_some());
                assert_eq!(shape1, shape2);
                assert_eq!(sql1, sql2);
                assert_eq!(bound1, update_values(&[1], 0, first));
                assert_eq!(bound2, update_values(&[1], 0, second));
            }
        }
    }

    #[test]
    fn an_update_shape_records_model_dialect_fields_and_row_count() {
        let row = |id: i64| vec![Value::from(id), Value::from("t")];
        let of = |model, dialect, fields: &[usize], rows: &[Vec<Value>]| {
            UpdateShape::of(model, dialect, fields, 0, rows)
        };
        let u8_id = TypeId::of::<u8>();
        let base = of(u8_id, Dialect::Postgres, &[1], &[row(1), row(2)]);
        assert!(base.is_some());
        assert_eq!(base, of(u8_id, Dialect::Postgres, &[1], &[row(5), row(6)]));
        assert_ne!(base, of(u8_id, Dialect::Postgres, &[1], &[row(1)]));
        assert_ne!(
            base,
            of(u8_id, Dialect::Postgres, &[0, 1], &[row(1), row(2)])
        );
        assert_ne!(base, of(u8_id, Dialect::MySql, &[1], &[row(1), row(2)]));
        assert_ne!(
            base,
            of(
                TypeId::of::<u16>(),
                Dialect::Postgres,
                &[1],
                &[row(1), row(2)]
            )
        );
        // A NULL key or value, a float, or too many fields: no shape.
        let null_value = vec![Value::from(1i64), Value::String(None)];
        assert_eq!(of(u8_id, Dialect::Postgres, &[1], &[null_value]), None);
        let null_key = vec![Value::BigInt(None), Value::from("t")];
        assert_eq!(of(u8_id, Dialect::Postgres, &[1], &[null_key]), None);
        let float = vec![Value::from(1i64), Value::from(1.5f64)];
        assert_eq!(of(u8_id, Dialect::Postgres, &[1], &[float]), None);
        let wide = vec![1; MAX_TERMS + 1];
        assert_eq!(of(u8_id, Dialect::Postgres, &wide, &[row(1)]), None);
    }

    #[test]
    fn fx_hasher_reads_every_byte() {
        let hash = |bytes: &[u8]| {
            let mut hasher = FxHasher::default();
            hasher.write(bytes);
            hasher.finish()
        };
        assert_ne!(hash(b"abcdefgh1"), hash(b"abcdefgh2"));
        assert_ne!(hash(b"a"), hash(b"b"));
        assert_eq!(hash(b"world"), hash(b"world"));
    }
}
