//! Leaving columns unread: `Deferred<T>` fields, `defer()` and `only()`
//! (Django's deferred loading), on every backend. Nothing unread is ever
//! written, shown as a value, or validated.

mod support;

use flagon_orm::aggregate::Max;
use flagon_orm::{Deferred, ForeignKey, Model, ModelExt, OrmError};
use support::on_each_backend;

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "deferring")]
struct Author {
    id: i64,
    #[field(max_length = 50)]
    name: String,
}

#[derive(Model, Debug, Clone, PartialEq, serde::Serialize)]
#[model(app = "deferring", ordering = ["id"])]
struct Article {
    id: i64,
    #[field(max_length = 100)]
    title: String,
    #[field(max_length = 200, min_length = 2)]
    summary: Deferred<String>,
    body: Deferred<Option<String>>,
    words: Deferred<i32>,
    #[field(on_delete = "cascade")]
    #[serde(skip)]
    author: ForeignKey<Author>,
}

fn article(title: &str, author: &Author) -> Article {
    Article {
        id: 0,
        title: title.to_owned(),
        summary: format!("{title} in short").into(),
        body: Deferred::new(Some(format!("{title}, at length"))),
        words: 3.into(),
        author: author.into(),
    }
}

async fn setup(db: &flagon_orm::Db, b: &str) -> (Author, Vec<Article>) {
    for meta in [Author::META, Article::META] {
        flagon_orm::schema::create_table(db, meta)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
    }
    let mut ann = Author {
        id: 0,
        name: "Ann".into(),
    };
    ann.save(db)
        .await
        .unwrap_or_else(|err| panic!("{b}: {err}"));
    let mut articles = vec![article("One", &ann), article("Two", &ann)];
    Article::objects()
        .bulk_create(db, &mut articles)
        .await
        .unwrap_or_else(|err| panic!("{b}: {err}"));
    (ann, articles)
}

#[tokio::test]
async fn defer_and_only_leave_the_columns_unread() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let (_, stored) = setup(&t.db, b).await;

        let (sql, _) = Article::objects()
            .defer(Article::BODY)
            .to_sql(&t.db)
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert!(!sql.contains("body"), "{b}: {sql}");
        assert!(sql.contains("summary"), "{b}: {sql}");

        let light = Article::objects()
            .defer(Article::BODY)
            .all(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(light.len(), 2, "{b}");
        assert_eq!(light[0].title, "One", "{b}");
        assert_eq!(light[0].body.get(), None, "{b}");
        assert_eq!(light[0].deferred_fields(), ["body"], "{b}");
        assert_eq!(
            light[0].summary.get().map(String::as_str),
            Some("One in short"),
            "{b}"
        );
        assert_eq!(light[0].words.get(), Some(&3), "{b}");

        // `only` reads the Deferred fields it names, and every plain one.
        let cards = Article::objects()
            .only((Article::SUMMARY,))
            .filter(Article::TITLE.eq("Two"))
            .get(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(cards.id, stored[1].id, "{b}");
        assert_eq!(cards.title, "Two", "{b}");
        assert_eq!(cards.author.id(), stored[1].author.id(), "{b}");
        assert_eq!(cards.deferred_fields(), ["body", "words"], "{b}");

        // A deferred field can still be filtered, ordered and aggregated on.
        let longest = Article::objects()
            .defer(Article::BODY)
            .filter(Article::BODY.icontains("two, AT"))
            .order_by(Article::WORDS.desc())
            .all(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(longest.len(), 1, "{b}");
        let with_body = Article::objects()
            .filter(Article::BODY.isnull(false))
            .count(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(with_body, 2, "{b}");
        assert_eq!(longest[0].title, "Two", "{b}");
        let most = Article::objects()
            .defer(Article::WORDS)
            .aggregate(&t.db, Max::of(Article::WORDS))
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(most, Some(3), "{b}");
        // values_list reads what it names, deferred or not, as plain values.
        let bodies: Vec<(Option<String>,)> = Article::objects()
            .defer(Article::BODY)
            .values_list(&t.db, (Article::BODY,))
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(bodies[0].0.as_deref(), Some("One, at length"), "{b}");
        t
    })
    .await;
}

#[tokio::test]
async fn saving_writes_only_what_was_read_and_inserting_an_unread_field_is_refused() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let (ann, stored) = setup(&t.db, b).await;
        let mut light = Article::objects()
            .defer(Article::BODY)
            .defer(Article::SUMMARY)
            .filter(Article::ID.eq(stored[0].id))
            .get(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        light.title = "One, edited".into();
        light.words.set(4);
        light
            .save(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let row = Article::objects()
            .filter(Article::ID.eq(stored[0].id))
            .get(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(row.title, "One, edited", "{b}");
        assert_eq!(row.words.get(), Some(&4), "{b}");
        assert_eq!(row.body, stored[0].body, "{b}: the unread body was kept");
        assert_eq!(row.summary, stored[0].summary, "{b}");

        // A field set after the read is written like any other.
        light.summary.set("New summary".into());
        light
            .save(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(light.deferred_fields(), ["body"], "{b}");
        let row = Article::objects()
            .only((Article::SUMMARY,))
            .filter(Article::ID.eq(stored[0].id))
            .get(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(row.summary.get().map(String::as_str), Some("New summary"), "{b}");

        // Writing an unread value is refused, and nothing is written.
        let mut copy = light.clone();
        copy.id = 0;
        let refused = copy.save(&t.db).await;
        assert!(
            matches!(&refused, Err(OrmError::InvalidQuery { message, .. }) if message.contains("\"body\"")),
            "{b}: {refused:?}"
        );
        let refused = copy.insert(&t.db).await;
        assert!(matches!(refused, Err(OrmError::InvalidQuery { .. })), "{b}: {refused:?}");
        let refused = Article::objects()
            .bulk_create(&t.db, std::slice::from_mut(&mut copy))
            .await;
        assert!(matches!(refused, Err(OrmError::InvalidQuery { .. })), "{b}: {refused:?}");
        let refused = light.save_fields(&t.db, &["title", "body"]).await;
        assert!(matches!(refused, Err(OrmError::InvalidQuery { .. })), "{b}: {refused:?}");
        let refused = Article::objects()
            .bulk_update(&t.db, std::slice::from_ref(&light), &["body"])
            .await;
        assert!(matches!(refused, Err(OrmError::InvalidQuery { .. })), "{b}: {refused:?}");
        assert_eq!(Article::objects().count(&t.db).await.ok(), Some(2), "{b}");
        // Fields that were read can still be bulk-updated.
        light.words.set(9);
        Article::objects()
            .bulk_update(&t.db, std::slice::from_ref(&light), &["words"])
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));

        // Saving an object with unread fields whose row is gone is
        // Django's "did not affect any rows", not an insert.
        Article::objects()
            .filter(Article::ID.eq(light.id))
            .delete(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let gone = light.save(&t.db).await;
        assert!(matches!(gone, Err(OrmError::DoesNotExist { .. })), "{b}: {gone:?}");
        assert_eq!(Article::objects().count(&t.db).await.ok(), Some(1), "{b}");
        let _ = ann;
        t
    })
    .await;
}

#[tokio::test]
async fn unread_fields_load_on_request_and_stay_unread_on_refresh() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let (_, stored) = setup(&t.db, b).await;
        let mut light = Article::objects()
            .only((Article::WORDS,))
            .filter(Article::ID.eq(stored[1].id))
            .get(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(light.deferred_fields(), ["summary", "body"], "{b}");
        // Unread values are never shown as values.
        let json = serde_json::to_string(&light);
        assert!(json.is_err(), "{b}: {json:?}");

        // refresh() rereads what was read, and leaves the rest unread.
        Article::objects()
            .filter(Article::ID.eq(stored[1].id))
            .update(
                &t.db,
                [Article::TITLE.set("Two, renamed"), Article::WORDS.set(7)],
            )
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        light
            .refresh(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(light.title, "Two, renamed", "{b}");
        assert_eq!(light.words.get(), Some(&7), "{b}");
        assert_eq!(light.deferred_fields(), ["summary", "body"], "{b}");

        light
            .refresh_fields(&t.db, &["body"])
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(light.body, stored[1].body, "{b}");
        assert_eq!(light.deferred_fields(), ["summary"], "{b}");
        light
            .refresh_fields(&t.db, &["summary", "body"])
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert!(light.deferred_fields().is_empty(), "{b}");
        assert!(serde_json::to_string(&light).is_ok(), "{b}");

        let unknown = light.refresh_fields(&t.db, &["nope"]).await;
        assert!(
            matches!(unknown, Err(OrmError::InvalidQuery { .. })),
            "{b}: {unknown:?}"
        );
        let mut unsaved = article(
            "Unsaved",
            &Author {
                id: 1,
                name: "x".into(),
            },
        );
        let unsaved = unsaved.refresh_fields(&t.db, &["body"]).await;
        assert!(
            matches!(unsaved, Err(OrmError::InvalidQuery { .. })),
            "{b}: {unsaved:?}"
        );
        t
    })
    .await;
}

#[tokio::test]
async fn validation_skips_unread_fields() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let (_, stored) = setup(&t.db, b).await;
        let mut light = Article::objects()
            .defer(Article::SUMMARY)
            .filter(Article::ID.eq(stored[0].id))
            .get(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        // The unread summary (min_length 2) is not judged empty.
        light
            .full_clean(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        light.summary.set("x".into());
        let errors = light.clean_fields().expect_err("a one-letter summary");
        assert_eq!(errors.field("summary").len(), 1, "{b}");
        t
    })
    .await;
}

#[tokio::test]
async fn deferring_works_beside_select_related_annotate_and_streams() {
    use futures_util::StreamExt;
    on_each_backend(|t| async move {
        let b = t.backend;
        let (ann, _) = setup(&t.db, b).await;
        let joined = Article::objects()
            .defer(Article::BODY)
            .defer(Article::SUMMARY)
            .select_related(Article::AUTHOR)
            .all(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(joined.len(), 2, "{b}");
        assert_eq!(
            joined[0].author.get().map(|author| author.name.as_str()),
            Some("Ann"),
            "{b}"
        );
        assert_eq!(joined[0].deferred_fields(), ["summary", "body"], "{b}");
        assert_eq!(joined[1].words.get(), Some(&3), "{b}");

        let annotated = Article::objects()
            .defer(Article::BODY)
            .annotate(Article::WORDS.f() * 2)
            .all(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(annotated[0].1, 6, "{b}");
        assert_eq!(annotated[0].0.title, "One", "{b}");

        let streamed: Vec<Article> = Article::objects()
            .only((Article::SUMMARY,))
            .stream(&t.db)
            .map(|row| row.unwrap_or_else(|err| panic!("{b}: {err}")))
            .collect()
            .await;
        assert_eq!(streamed.len(), 2, "{b}");
        assert_eq!(streamed[1].deferred_fields(), ["body", "words"], "{b}");
        assert_eq!(*streamed[1].author.id(), ann.id, "{b}");
        t
    })
    .await;
}

/// A `Deferred` behind a type alias: the derive cannot see it, but the
/// select leaves it out by its type, so decoding must too.
type Notes = Deferred<Option<String>>;

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "deferring")]
struct Memo {
    id: i64,
    body: Deferred<String>,
    notes: Notes,
    pages: i32,
}

#[tokio::test]
async fn a_deferred_field_behind_an_alias_is_decoded_in_its_place() {
    on_each_backend(|t| async move {
        let b = t.backend;
        flagon_orm::schema::create_table(&t.db, Memo::META)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let mut memo = Memo {
            id: 0,
            body: "body".into(),
            notes: Deferred::new(Some("notes".into())),
            pages: 7,
        };
        memo.save(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let light = Memo::objects()
            .defer(Memo::NOTES)
            .get(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(light.deferred_fields(), ["notes"], "{b}");
        assert_eq!(light.pages, 7, "{b}");
        assert_eq!(light.body.get().map(String::as_str), Some("body"), "{b}");
        let bare = Memo::objects()
            .only((Memo::PAGES,))
            .get(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(bare.deferred_fields(), ["body", "notes"], "{b}");
        assert_eq!(bare.pages, 7, "{b}");
        t
    })
    .await;
}
