//! Queries that must either give Django's answer or be refused, never a
//! silent wrong result: writes through a slice, NULLs under negation,
//! aggregates and `last()` over slices, default ordering with DISTINCT and
//! GROUP BY, streams with related rows, chained relation hops. Each runs
//! on SQLite, PostgreSQL and MariaDB.

mod support;

use flagon_orm::aggregate::{Count, Max, Sum};
use flagon_orm::{ForeignKey, Model, ModelExt, OrmError};
use futures_util::TryStreamExt;
use support::{on_each_backend, TestDb};

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "sem", ordering = ["-id"])]
struct Publisher {
    id: i64,
    #[field(max_length = 40)]
    name: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "sem", ordering = ["name"])]
struct Author {
    id: i64,
    #[field(max_length = 40)]
    name: String,
    #[field(on_delete = "cascade")]
    publisher: ForeignKey<Publisher>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "sem", ordering = ["title"])]
struct Book {
    id: i64,
    #[field(max_length = 40)]
    title: String,
    rating: Option<i32>,
    pages: i32,
    #[field(on_delete = "cascade")]
    author: ForeignKey<Author>,
    #[field(on_delete = "set_null")]
    editor: Option<ForeignKey<Author>>,
}

/// Two publishers, two authors (one each), five books: ratings 5, 3, NULL,
/// 5, NULL; pages 100..500; the first two edited by the second author.
async fn setup(t: &TestDb) -> (Vec<Author>, Vec<Book>) {
    for meta in [Publisher::META, Author::META, Book::META] {
        flagon_orm::schema::create_table(&t.db, meta)
            .await
            .unwrap_or_else(|err| panic!("{}: create table: {err}", t.backend));
    }
    let mut publishers = Vec::new();
    for name in ["Zed Press", "Alpha Books"] {
        let mut publisher = Publisher {
            id: 0,
            name: name.into(),
        };
        publisher.save(&t.db).await.unwrap();
        publishers.push(publisher);
    }
    let mut authors = Vec::new();
    for (name, publisher) in [("Ann", &publishers[0]), ("Bob", &publishers[1])] {
        let mut author = Author {
            id: 0,
            name: name.into(),
            publisher: ForeignKey::to(publisher),
        };
        author.save(&t.db).await.unwrap();
        authors.push(author);
    }
    let mut books = Vec::new();
    for (i, (title, rating)) in [
        ("A", Some(5)),
        ("B", Some(3)),
        ("C", None),
        ("D", Some(5)),
        ("E", None),
    ]
    .into_iter()
    .enumerate()
    {
        let mut book = Book {
            id: 0,
            title: title.into(),
            rating,
            pages: 100 * (i as i32 + 1),
            author: ForeignKey::to(&authors[i % 2]),
            editor: (i < 2).then(|| ForeignKey::to(&authors[1])),
        };
        book.save(&t.db).await.unwrap();
        books.push(book);
    }
    (authors, books)
}

/// `result` is an error whose message contains `needle`.
fn assert_refused<T: std::fmt::Debug>(backend: &str, result: Result<T, OrmError>, needle: &str) {
    match result {
        Err(err) => assert!(
            err.to_string().contains(needle),
            "{backend}: the error should mention {needle:?}: {err}"
        ),
        Ok(value) => panic!("{backend}: expected a refusal mentioning {needle:?}, got {value:?}"),
    }
}

async fn titles(t: &TestDb, query: flagon_orm::QuerySet<Book>) -> Vec<String> {
    query
        .all(&t.db)
        .await
        .unwrap_or_else(|err| panic!("{}: {err}", t.backend))
        .into_iter()
        .map(|book| book.title)
        .collect()
}

#[tokio::test]
async fn delete_and_update_of_a_slice_are_refused_and_change_nothing() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        let first_two = Book::objects().order_by(Book::TITLE.asc()).slice(..2);
        assert_refused(b, first_two.delete(&t.db).await, "slice");
        assert_refused(
            b,
            first_two.update(&t.db, [Book::PAGES.set(1)]).await,
            "slice",
        );
        let offset = Book::objects().offset(3);
        assert_refused(b, offset.delete(&t.db).await, "slice");
        assert_eq!(Book::objects().count(&t.db).await.unwrap(), 5, "{b}");
        let untouched = Book::objects()
            .filter(Book::PAGES.eq(1))
            .count(&t.db)
            .await
            .unwrap();
        assert_eq!(untouched, 0, "{b}");
        // Ordering alone does not change which rows a write touches.
        let deleted = Book::objects()
            .filter(Book::RATING.eq(3))
            .order_by(Book::TITLE.desc())
            .delete(&t.db)
            .await
            .unwrap();
        assert_eq!(deleted, 1, "{b}");
        t
    })
    .await;
}

#[tokio::test]
async fn filtering_or_reordering_a_slice_is_refused() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        let sliced = Book::objects().order_by(Book::TITLE.asc()).slice(..2);
        assert_refused(
            b,
            sliced.clone().filter(Book::PAGES.gt(100)).all(&t.db).await,
            "slice",
        );
        assert_refused(
            b,
            sliced.clone().order_by(Book::PAGES.desc()).all(&t.db).await,
            "slice",
        );
        // Slices compose: the second slice counts within the first, and
        // first()/get()/exists() stay within it.
        let empty = sliced.clone().slice(2..);
        assert_eq!(empty.count(&t.db).await.unwrap(), 0, "{b}");
        assert!(empty.first(&t.db).await.unwrap().is_none(), "{b}");
        assert!(!empty.exists(&t.db).await.unwrap(), "{b}");
        assert!(
            matches!(empty.get(&t.db).await, Err(OrmError::DoesNotExist { .. })),
            "{b}"
        );
        let second = sliced.slice(1..).get(&t.db).await.unwrap();
        assert_eq!(second.title, "B", "{b}");
        t
    })
    .await;
}

#[tokio::test]
async fn exclude_and_not_keep_rows_where_the_field_is_null() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        // Django: exclude(rating=5) keeps the books with no rating.
        assert_eq!(
            titles(&t, Book::objects().exclude(Book::RATING.eq(5))).await,
            ["B", "C", "E"],
            "{b}"
        );
        assert_eq!(
            titles(&t, Book::objects().filter(!Book::RATING.gt(3))).await,
            ["B", "C", "E"],
            "{b}"
        );
        assert_eq!(
            titles(&t, Book::objects().filter(Book::RATING.ne(5))).await,
            ["B", "C", "E"],
            "{b}"
        );
        // Negating an OR: a NULL rating is not 5 and not 3.
        assert_eq!(
            titles(
                &t,
                Book::objects().exclude(Book::RATING.eq(5) | Book::RATING.eq(3))
            )
            .await,
            ["C", "E"],
            "{b}"
        );
        // Through a nullable relation: books whose editor is not Bob,
        // including those with no editor.
        assert_eq!(
            titles(
                &t,
                Book::objects().exclude(Book::EDITOR.has(Author::NAME.eq("Bob")))
            )
            .await,
            ["C", "D", "E"],
            "{b}"
        );
        // Expressions: F comparisons keep NULL rows when negated too.
        assert_eq!(
            titles(
                &t,
                Book::objects().exclude(Book::RATING.f().eq(Book::RATING.f()))
            )
            .await,
            ["C", "E"],
            "{b}"
        );
        // Double negation is the condition again.
        assert_eq!(
            titles(&t, Book::objects().filter(!!Book::RATING.eq(5))).await,
            ["A", "D"],
            "{b}"
        );
        t
    })
    .await;
}

#[tokio::test]
async fn eq_none_is_is_null_and_none_in_a_list_matches_nothing() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        assert_eq!(
            titles(&t, Book::objects().filter(Book::RATING.eq(None))).await,
            ["C", "E"],
            "{b}"
        );
        assert_eq!(
            titles(&t, Book::objects().filter(Book::RATING.ne(None))).await,
            ["A", "B", "D"],
            "{b}"
        );
        assert_eq!(
            titles(&t, Book::objects().filter(Book::RATING.f().eq(None))).await,
            ["C", "E"],
            "{b}"
        );
        assert_eq!(
            titles(
                &t,
                Book::objects().filter(Book::RATING.in_([None, Some(3)]))
            )
            .await,
            ["B"],
            "{b}"
        );
        assert_eq!(
            titles(
                &t,
                Book::objects().filter(Book::EDITOR.eq(None::<ForeignKey<Author>>))
            )
            .await,
            ["C", "D", "E"],
            "{b}"
        );
        // An ordered comparison with NULL matches nothing: refused.
        assert_refused(
            b,
            Book::objects()
                .filter(Book::RATING.f().lt(None))
                .all(&t.db)
                .await,
            "None",
        );
        t
    })
    .await;
}

#[tokio::test]
async fn aggregates_honour_slices_and_distinct() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        // The two books with most pages: 500 + 400.
        let (count, pages, most) = Book::objects()
            .order_by(Book::PAGES.desc())
            .slice(..2)
            .aggregate(
                &t.db,
                (Count::all(), Sum::of(Book::PAGES), Max::of(Book::RATING)),
            )
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!((count, pages, most), (2, Some(900), Some(5)), "{b}");
        // A slice past the end aggregates nothing.
        let (count, pages) = Book::objects()
            .slice(10..)
            .aggregate(&t.db, (Count::all(), Sum::of(Book::PAGES)))
            .await
            .unwrap();
        assert_eq!((count, pages), (0, None), "{b}");
        let (count,) = Book::objects()
            .distinct()
            .aggregate(&t.db, (Count::all(),))
            .await
            .unwrap();
        assert_eq!(count, 5, "{b}");
        t
    })
    .await;
}

#[tokio::test]
async fn last_on_a_slice_is_refused_and_first_stays_in_it() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        let sliced = Book::objects().order_by(Book::PAGES.asc()).slice(1..3);
        assert_refused(b, sliced.last(&t.db).await, "slice");
        let first = sliced.first(&t.db).await.unwrap().map(|book| book.title);
        assert_eq!(first.as_deref(), Some("B"), "{b}");
        // An unordered slice has no defined first row.
        let unordered = Publisher::objects().slice(1..);
        assert!(
            unordered.first(&t.db).await.is_ok(),
            "{b}: default ordering"
        );
        t
    })
    .await;
}

#[tokio::test]
async fn the_default_ordering_stays_out_of_distinct_and_group_by() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        // Book is ordered by title by default: a DISTINCT over ratings
        // must not sort by (and so select) the title.
        let mut ratings: Vec<(Option<i32>,)> = Book::objects()
            .distinct()
            .values_list(&t.db, (Book::RATING,))
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        ratings.sort();
        assert_eq!(ratings, [(None,), (Some(3),), (Some(5),)], "{b}");
        let records = Book::objects()
            .distinct()
            .values(&t.db, &["rating"])
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(records.len(), 3, "{b}");
        // GROUP BY: the groups are the ratings, not (rating, title).
        let mut groups = Book::objects()
            .group_by((Book::RATING,))
            .annotate(&t.db, (Count::all(),))
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        groups.sort();
        assert_eq!(
            groups,
            [((None,), (2,)), ((Some(3),), (1,)), ((Some(5),), (2,))],
            "{b}"
        );
        // An explicit order on a grouped column applies.
        let ordered = Book::objects()
            .order_by(Book::RATING.desc())
            .filter(Book::RATING.isnull(false))
            .group_by((Book::RATING,))
            .annotate(&t.db, (Count::all(),))
            .await
            .unwrap();
        assert_eq!(ordered, [((Some(5),), (2,)), ((Some(3),), (1,))], "{b}");
        // An explicit order on a column not read is refused, not sent.
        assert_refused(
            b,
            Book::objects()
                .order_by(Book::PAGES.asc())
                .group_by((Book::RATING,))
                .annotate(&t.db, (Count::all(),))
                .await,
            "pages",
        );
        t
    })
    .await;
}

#[tokio::test]
async fn streams_load_related_rows_and_refuse_prefetch() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        let streamed: Vec<Book> = Book::objects()
            .select_related(Book::AUTHOR)
            .stream(&t.db)
            .try_collect()
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(streamed.len(), 5, "{b}");
        assert!(
            streamed.iter().all(|book| book.author.get().is_some()),
            "{b}: select_related applies to a stream"
        );
        let prefetched: Result<Vec<Book>, OrmError> = Book::objects()
            .prefetch_related(Book::AUTHOR)
            .stream(&t.db)
            .try_collect()
            .await;
        assert_refused(b, prefetched, "prefetch_related");
        let locked: Result<Vec<Book>, OrmError> = Book::objects()
            .select_for_update()
            .stream(&t.db)
            .try_collect()
            .await;
        assert!(
            matches!(locked, Err(OrmError::Transaction { .. })),
            "{b}: {locked:?}"
        );
        t
    })
    .await;
}

#[tokio::test]
async fn chained_hops_filter_and_order_through_every_relation() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        // Books whose author's publisher is Alpha Books (Bob's books).
        assert_eq!(
            titles(
                &t,
                Book::objects().filter(
                    Book::AUTHOR.has(Author::PUBLISHER.has(Publisher::NAME.eq("Alpha Books")))
                )
            )
            .await,
            ["B", "D"],
            "{b}"
        );
        // Ordered by the author's publisher's name, then title: Alpha
        // Books (Bob: B, D) before Zed Press (Ann: A, C, E).
        assert_eq!(
            titles(
                &t,
                Book::objects()
                    .order_by(Book::AUTHOR.by(Author::PUBLISHER.by(Publisher::NAME.asc())))
                    .order_by(Book::TITLE.asc())
            )
            .await,
            ["B", "D", "A", "C", "E"],
            "{b}"
        );
        // select_related through two hops: book -> author -> publisher,
        // sharing the author join with a plain select_related of it; and
        // through a key that may be NULL (the editor), which keeps the
        // books with none.
        let books = Book::objects()
            .select_related(Book::AUTHOR)
            .select_related(Book::AUTHOR.then(Author::PUBLISHER))
            .select_related(Book::EDITOR.then(Author::PUBLISHER))
            .order_by(Book::TITLE.asc())
            .all(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(books.len(), 5, "{b}");
        let publishers: Vec<(&str, Option<&str>)> = books
            .iter()
            .map(|book| {
                let author = book.author.get().expect("the author is loaded");
                let publisher = author.publisher.get().expect("the publisher is loaded");
                let editors = book
                    .editor
                    .as_ref()
                    .and_then(|editor| editor.get())
                    .and_then(|editor| editor.publisher.get())
                    .map(|publisher| publisher.name.as_str());
                (publisher.name.as_str(), editors)
            })
            .collect();
        assert_eq!(
            publishers,
            [
                ("Zed Press", Some("Alpha Books")),
                ("Alpha Books", Some("Alpha Books")),
                ("Zed Press", None),
                ("Alpha Books", None),
                ("Zed Press", None),
            ],
            "{b}"
        );
        t
    })
    .await;
}

/// Runs `probe` in a second transaction while another holds a lock on the
/// book titled "A" (found by its key: InnoDB locks every row a scan
/// reads); returns what the probe got.
async fn while_a_is_locked<T, F, Fut>(t: &TestDb, probe: F) -> Result<T, OrmError>
where
    F: FnOnce(flagon_orm::Transaction) -> Fut,
    Fut: std::future::Future<Output = Result<T, OrmError>>,
{
    let (locked, is_locked) = tokio::sync::oneshot::channel();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let db = t.db.clone();
    let a = Book::objects()
        .filter(Book::TITLE.eq("A"))
        .get(&t.db)
        .await
        .expect("book A");
    let holder = tokio::spawn(async move {
        db.transaction(|tx| async move {
            let rows = Book::objects()
                .filter(Book::ID.eq(a.id))
                .select_for_update()
                .all(&tx)
                .await?;
            assert_eq!(rows.len(), 1);
            let _ = locked.send(());
            let _ = released.await;
            Ok::<_, OrmError>(())
        })
        .await
    });
    is_locked.await.expect("the holder took its lock");
    let outcome = t.db.transaction(probe).await;
    let _ = release.send(());
    holder
        .await
        .expect("the holder ran")
        .expect("the holder committed");
    outcome
}

#[tokio::test]
async fn select_for_update_skips_locked_rows_or_fails_at_once_when_asked() {
    use flagon_orm::query::lock::ForUpdate;
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        if b == "sqlite" {
            // No row locks: inside a transaction the options change
            // nothing, outside one the query is refused.
            let all =
                t.db.transaction(|tx| async move {
                    Book::objects()
                        .select_for_update_with(ForUpdate::new().skip_locked())
                        .all(&tx)
                        .await
                })
                .await
                .unwrap();
            assert_eq!(all.len(), 5);
            let outside = Book::objects()
                .select_for_update_with(ForUpdate::new().nowait())
                .all(&t.db)
                .await;
            assert!(matches!(outside, Err(OrmError::Transaction { .. })));
            return t;
        }
        let skipped = while_a_is_locked(&t, |tx| async move {
            Book::objects()
                .select_for_update_with(ForUpdate::new().skip_locked())
                .all(&tx)
                .await
        })
        .await
        .unwrap_or_else(|err| panic!("{b}: {err}"));
        let titles: Vec<&str> = skipped.iter().map(|book| book.title.as_str()).collect();
        assert_eq!(
            titles,
            ["B", "C", "D", "E"],
            "{b}: the locked row is skipped"
        );
        let waited = while_a_is_locked(&t, |tx| async move {
            Book::objects()
                .filter(Book::TITLE.eq("A"))
                .select_for_update_with(ForUpdate::new().nowait())
                .all(&tx)
                .await
        })
        .await;
        assert!(waited.is_err(), "{b}: NOWAIT fails at once: {waited:?}");
        t
    })
    .await;
}

#[tokio::test]
async fn select_for_update_beside_an_outer_join_locks_what_it_can() {
    use flagon_orm::query::lock::ForUpdate;
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        // The editor may be NULL (a LEFT JOIN): PostgreSQL refused the
        // whole query before; now it locks the books.
        let books =
            t.db.transaction(|tx| async move {
                Book::objects()
                    .select_related(Book::EDITOR)
                    .select_related(Book::AUTHOR)
                    .select_for_update()
                    .all(&tx)
                    .await
            })
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(books.len(), 5, "{b}");
        assert_eq!(
            books.iter().filter(|book| book.editor.is_some()).count(),
            2,
            "{b}"
        );
        if b != "sqlite" {
            let locked = while_a_is_locked(&t, |tx| async move {
                Book::objects()
                    .select_related(Book::EDITOR)
                    .filter(Book::TITLE.eq("A"))
                    .select_for_update_with(ForUpdate::new().nowait())
                    .all(&tx)
                    .await
            })
            .await;
            assert!(locked.is_err(), "{b}: the book row is locked: {locked:?}");
        }
        // Locking the rows a nullable key points to cannot be done on
        // PostgreSQL, nor can MariaDB lock only some tables: refused.
        let of_editor =
            t.db.transaction(|tx| async move {
                Book::objects()
                    .select_related(Book::EDITOR)
                    .select_for_update_with(ForUpdate::new().of(Book::EDITOR))
                    .all(&tx)
                    .await
            })
            .await;
        match b {
            "sqlite" => assert!(of_editor.is_ok(), "{b}: {of_editor:?}"),
            _ => assert!(
                matches!(of_editor, Err(OrmError::InvalidQuery { .. })),
                "{b}: {of_editor:?}"
            ),
        }
        // of() names a relation that must be read.
        let unread =
            t.db.transaction(|tx| async move {
                Book::objects()
                    .select_for_update_with(ForUpdate::new().of(Book::AUTHOR))
                    .all(&tx)
                    .await
            })
            .await;
        assert_refused(b, unread, "select_related");
        if b == "postgres" {
            let of_author =
                t.db.transaction(|tx| async move {
                    Book::objects()
                        .select_related(Book::AUTHOR)
                        .select_for_update_with(ForUpdate::new().of_self().of(Book::AUTHOR))
                        .all(&tx)
                        .await
                })
                .await
                .unwrap_or_else(|err| panic!("{b}: {err}"));
            assert_eq!(of_author.len(), 5);
        }
        t
    })
    .await;
}

/// A distinct query sorted through a relation or by an expression reads
/// what it sorts by (Django's rule): PostgreSQL, and MySQL 8 under
/// `ONLY_FULL_GROUP_BY`, refuse `SELECT DISTINCT .. ORDER BY` a value
/// not selected. The extra value is not in the objects, annotations or
/// aggregates read.
#[tokio::test]
async fn distinct_queries_sorted_through_relations_or_expressions() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        let by_author = || {
            Book::objects()
                .distinct()
                .order_by(Book::AUTHOR.by(Author::NAME.desc()))
                .order_by(Book::TITLE.asc())
        };
        assert_eq!(
            titles(&t, by_author()).await,
            ["B", "D", "A", "C", "E"],
            "{b}"
        );
        let related = by_author()
            .select_related(Book::AUTHOR)
            .all(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let names: Vec<&str> = related
            .iter()
            .filter_map(|book| book.author.get().map(|author| author.name.as_str()))
            .collect();
        assert_eq!(names, ["Bob", "Bob", "Ann", "Ann", "Ann"], "{b}");
        let last = by_author()
            .last(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(last.map(|book| book.title).as_deref(), Some("E"), "{b}");
        let by_expression = Book::objects()
            .distinct()
            .order_by((Book::PAGES.f() * 2).desc());
        assert_eq!(
            titles(&t, by_expression).await,
            ["E", "D", "C", "B", "A"],
            "{b}"
        );
        let annotated: Vec<(String, i32)> = by_author()
            .annotate(Book::PAGES.f() * 2)
            .all(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"))
            .into_iter()
            .map(|(book, double)| (book.title, double))
            .collect();
        let expected = [("B", 400), ("D", 800), ("A", 200), ("C", 600), ("E", 1000)];
        let expected: Vec<(String, i32)> =
            expected.iter().map(|(t, p)| (t.to_string(), *p)).collect();
        assert_eq!(annotated, expected, "{b}");
        let first_two = by_author().slice(..2);
        let (count, most) = first_two
            .aggregate(&t.db, (Count::all(), Max::of(Book::PAGES)))
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!((count, most), (2, Some(400)), "{b}");
        t
    })
    .await;
}
