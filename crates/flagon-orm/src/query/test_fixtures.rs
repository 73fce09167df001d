//! What the query module's unit tests share: a small model's metadata and
//! a lookup on one of its columns.

use super::condition::{Lookup, Node};
use crate::model::{FieldKind, FieldMeta, ModelMeta};

static FIELDS: [FieldMeta; 2] = [
    FieldMeta::new("id", FieldKind::BigInteger),
    FieldMeta::new("title", FieldKind::Text),
];

/// `blog.Post` (table `blog_post`): `id` (its key, a big integer) and
/// `title` (text).
pub(super) static META: ModelMeta = ModelMeta {
    app: "blog",
    name: "Post",
    table: "blog_post",
    fields: &FIELDS,
    ordering: &[],
    unique_together: &[],
    indexes: &[],
    constraints: &[],
    many_to_many: &[],
};

/// `lookup` on the non-null column `column`.
pub(super) fn lookup(column: &'static str, lookup: Lookup) -> Node {
    Node::Lookup {
        column,
        nullable: false,
        lookup,
    }
}
