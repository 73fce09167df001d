//! Leaving fields unread: `defer` and `only` (Django's deferred loading),
//! for fields declared [`Deferred<T>`](crate::Deferred).

use super::values::Columns;
use super::QuerySet;
use crate::deferred::Deferred;
use crate::field::Field;
use crate::model::Model;
use crate::value::FieldType;

/// Which fields `defer` and `only` asked to leave unread (Django's
/// `deferred_loading`).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) enum Loading {
    /// Every field.
    #[default]
    All,
    /// Every field but these.
    Defer(Vec<&'static str>),
    /// These, and every field that is not `Deferred`.
    Only(Vec<&'static str>),
}

impl<M: Model> QuerySet<M> {
    /// Leaves `field` unread (Django's `defer()`): the objects come back
    /// with it [unread](Deferred::get), and the select does not fetch the
    /// column. Calls add up; after [`only`](QuerySet::only), it takes the
    /// field out of the ones read.
    ///
    /// Only a [`Deferred`] field can be left unread (others do not
    /// compile: their type promises a value). Saving an object then
    /// writes only the fields that were read; load the rest with
    /// [`ModelExt::refresh_fields`](crate::ModelExt::refresh_fields).
    ///
    /// ```no_run
    /// # use flagon_orm::{Deferred, Model};
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "blog")]
    /// # struct Post { id: i64, #[field(max_length = 200)] title: String, body: Deferred<String> }
    /// # async fn demo(db: flagon_orm::Db) -> Result<(), flagon_orm::OrmError> {
    /// let titles = Post::objects().defer(Post::BODY).all(&db).await?;
    /// assert!(titles.iter().all(|post| post.body.get().is_none()));
    /// # Ok(()) }
    /// ```
    pub fn defer<T: FieldType>(mut self, field: Field<M, Deferred<T>>) -> Self {
        let name = field.name();
        self.loading = match self.loading {
            Loading::All => Loading::Defer(vec![name]),
            Loading::Defer(mut names) => {
                if !names.contains(&name) {
                    names.push(name);
                }
                Loading::Defer(names)
            }
            Loading::Only(mut names) => {
                names.retain(|read| *read != name);
                Loading::Only(names)
            }
        };
        self
    }

    /// Reads only `fields` of the [`Deferred`] ones (Django's `only()`),
    /// leaving every other `Deferred` field unread; fields that are not
    /// `Deferred` are always read (the primary key among them). A later
    /// `only` replaces the list; after [`defer`](QuerySet::defer), the
    /// deferred fields stay unread.
    ///
    /// ```no_run
    /// # use flagon_orm::{Deferred, Model};
    /// # #[derive(Model, Debug)]
    /// # #[model(app = "blog")]
    /// # struct Post { id: i64, summary: Deferred<String>, body: Deferred<String> }
    /// # async fn demo(db: flagon_orm::Db) -> Result<(), flagon_orm::OrmError> {
    /// // Reads id and summary, not body.
    /// let cards = Post::objects().only((Post::SUMMARY,)).all(&db).await?;
    /// # let _ = cards; Ok(()) }
    /// ```
    pub fn only(mut self, fields: impl Columns<M>) -> Self {
        let named: Vec<&'static str> = fields
            .columns()
            .into_iter()
            .filter_map(|column| {
                M::META
                    .fields
                    .iter()
                    .find(|field| field.column == column)
                    .map(|field| field.name)
            })
            .collect();
        self.loading = match self.loading {
            Loading::Defer(deferred) => Loading::Only(
                named
                    .into_iter()
                    .filter(|name| !deferred.contains(name))
                    .collect(),
            ),
            Loading::All | Loading::Only(_) => Loading::Only(named),
        };
        self
    }

    /// Leaves the fields named in `names` unread (what `refresh` keeps
    /// unread); none, every field.
    pub(crate) fn defer_names(mut self, names: Vec<&'static str>) -> Self {
        self.loading = if names.is_empty() {
            Loading::All
        } else {
            Loading::Defer(names)
        };
        self
    }

    /// The names of the fields the query leaves unread, in field order.
    pub(crate) fn deferred(&self) -> Vec<&'static str> {
        let unread = |name: &&'static str| match &self.loading {
            Loading::All => false,
            Loading::Defer(names) => names.contains(name),
            Loading::Only(names) => !names.contains(name),
        };
        if self.loading == Loading::All {
            return Vec::new();
        }
        M::META
            .fields
            .iter()
            .filter(|field| field.deferrable)
            .map(|field| field.name)
            .filter(unread)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::{Deferred, Model};

    #[derive(Model, Debug)]
    #[model(app = "blog")]
    struct Post {
        id: i64,
        title: String,
        summary: Deferred<String>,
        body: Deferred<Option<String>>,
    }

    #[test]
    fn defer_and_only_compose_as_django_does() {
        let all = Post::objects();
        assert!(all.deferred().is_empty());
        assert_eq!(all.clone().defer(Post::BODY).deferred(), ["body"]);
        assert_eq!(
            all.clone()
                .defer(Post::BODY)
                .defer(Post::SUMMARY)
                .deferred(),
            ["summary", "body"]
        );
        // `only` leaves every other Deferred field unread; plain fields
        // are read whatever it names.
        assert_eq!(
            all.clone().only((Post::TITLE,)).deferred(),
            ["summary", "body"]
        );
        assert_eq!(all.clone().only((Post::SUMMARY,)).deferred(), ["body"]);
        // A later `only` replaces the list; `defer` after `only` takes a
        // field out of it; `only` after `defer` keeps the deferred out.
        assert_eq!(
            all.clone()
                .only((Post::SUMMARY,))
                .only((Post::BODY,))
                .deferred(),
            ["summary"]
        );
        assert_eq!(
            all.clone()
                .only((Post::SUMMARY, Post::BODY))
                .defer(Post::BODY)
                .deferred(),
            ["body"]
        );
        assert_eq!(
            all.clone()
                .defer(Post::SUMMARY)
                .only((Post::SUMMARY, Post::BODY))
                .deferred(),
            ["summary"]
        );
        assert_eq!(
            Post::META.fields.len() - all.defer(Post::BODY).deferred().len(),
            3
        );
    }
}
