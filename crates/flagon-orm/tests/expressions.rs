//! Query expressions on every backend: database functions in filters,
//! ordering, per-row annotations and updates; lookups through the reverse
//! side of a foreign key and through many-to-many fields; `HAVING`.

mod support;

use chrono::{DateTime, Utc};
use flagon_orm::aggregate::{Count, Sum};
use flagon_orm::functions::{
    cast, coalesce, concat, length, lower, now, trunc, trunc_date, upper, DatePart,
};
use flagon_orm::{ForeignKey, ManyToMany, Model, ModelExt};
use support::{on_each_backend, TestDb};

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "expr")]
struct Author {
    id: i64,
    #[field(max_length = 40)]
    first: String,
    #[field(max_length = 40)]
    last: String,
    nickname: Option<String>,
    seen: Option<DateTime<Utc>>,
}

#[derive(Model, Debug, Clone)]
#[model(app = "expr")]
struct Tag {
    id: i64,
    #[field(max_length = 20)]
    name: String,
}

// `tags` is read through `Book::TAGS`, not the struct's field.
#[allow(dead_code)]
#[derive(Model, Debug, Clone)]
#[model(app = "expr")]
struct Book {
    id: i64,
    #[field(max_length = 40)]
    title: String,
    pages: i32,
    #[field(on_delete = "cascade")]
    author: ForeignKey<Author>,
    tags: ManyToMany<Tag>,
}

/// Ann Lee ("Annie") with "Rust" (300 pages, tagged rust) and "Go" (100);
/// Bob Stone with "Python basics" (250, tagged python); Cy Ng with none.
async fn setup(t: &TestDb) -> Vec<Author> {
    flagon_orm::schema::create_tables(&t.db, &[Author::META, Tag::META, Book::META])
        .await
        .unwrap_or_else(|err| panic!("{}: create tables: {err}", t.backend));
    let mut authors = Vec::new();
    for (first, last, nickname) in [
        ("Ann", "Lee", Some("Annie")),
        ("Bob", "Stone", None),
        ("Cy", "Ng", None),
    ] {
        let mut author = Author {
            id: 0,
            first: first.into(),
            last: last.into(),
            nickname: nickname.map(str::to_owned),
            seen: None,
        };
        author.save(&t.db).await.unwrap();
        authors.push(author);
    }
    let mut tags = Vec::new();
    for name in ["rust", "python"] {
        let mut tag = Tag {
            id: 0,
            name: name.into(),
        };
        tag.save(&t.db).await.unwrap();
        tags.push(tag);
    }
    for (title, pages, author, tag) in [
        ("Rust", 300, 0, Some(0)),
        ("Go", 100, 0, None),
        ("Python basics", 250, 1, Some(1)),
    ] {
        let mut book = Book {
            id: 0,
            title: title.into(),
            pages,
            author: ForeignKey::to(&authors[author]),
            tags: ManyToMany::new(),
        };
        book.save(&t.db).await.unwrap();
        if let Some(tag) = tag {
            Book::TAGS.add(&t.db, &book, &[&tags[tag]]).await.unwrap();
        }
    }
    authors
}

fn firsts(authors: &[Author]) -> Vec<&str> {
    authors.iter().map(|author| author.first.as_str()).collect()
}

#[tokio::test]
async fn functions_filter_order_and_annotate_the_same_on_every_backend() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        let ann = Author::objects()
            .filter(lower(Author::FIRST.f()).eq("ann".to_string()))
            .all(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(firsts(&ann), ["Ann"], "{b}");
        // Longest last name first; ties by key.
        let by_length = Author::objects()
            .order_by(length(Author::LAST.f()).desc())
            .order_by(Author::ID.asc())
            .all(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(firsts(&by_length), ["Bob", "Ann", "Cy"], "{b}");
        let rows = Author::objects()
            .order_by(Author::ID.asc())
            .annotate((
                concat([
                    Author::FIRST.f().into(),
                    " ".into(),
                    upper(Author::LAST.f()).into(),
                ]),
                coalesce(Author::NICKNAME.f(), Author::FIRST.f()),
                length(Author::NICKNAME.f()),
                cast::<_, _, String>(Author::ID.f() * 10),
            ))
            .all(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let values: Vec<_> = rows.into_iter().map(|(_, values)| values).collect();
        let id = |n: i64| (n * 10).to_string();
        let first_id = Author::objects()
            .order_by(Author::ID.asc())
            .first(&t.db)
            .await
            .unwrap()
            .map_or(0, |author| author.id);
        assert_eq!(
            values,
            [
                (
                    "Ann LEE".to_string(),
                    "Annie".to_string(),
                    Some(5),
                    id(first_id)
                ),
                (
                    "Bob STONE".to_string(),
                    "Bob".to_string(),
                    None,
                    id(first_id + 1)
                ),
                (
                    "Cy NG".to_string(),
                    "Cy".to_string(),
                    None,
                    id(first_id + 2)
                ),
            ],
            "{b}"
        );
        // A NULL counts as empty in concat, so the result is never NULL.
        let (_, joined) = Author::objects()
            .filter(Author::FIRST.eq("Bob"))
            .annotate(concat([
                Author::FIRST.f().into(),
                Author::NICKNAME.f().into(),
            ]))
            .first(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"))
            .expect("Bob");
        assert_eq!(joined, "Bob", "{b}");
        t
    })
    .await;
}

#[tokio::test]
async fn now_stamps_rows_in_an_update_and_compares_in_a_filter() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        let before = Utc::now() - chrono::Duration::seconds(5);
        let stamped = Author::objects()
            .filter(Author::FIRST.eq("Ann"))
            .update(&t.db, [Author::SEEN.set_f(now().nullable())])
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(stamped, 1, "{b}");
        let ann = Author::objects()
            .filter(Author::FIRST.eq("Ann"))
            .get(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let seen = ann.seen.expect("stamped");
        assert!(
            seen > before && seen < Utc::now() + chrono::Duration::seconds(5),
            "{b}: {seen}"
        );
        let past = Author::objects()
            .filter(Author::SEEN.f().lte(now().nullable()))
            .count(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(past, 1, "{b}");
        t
    })
    .await;
}

#[tokio::test]
async fn lookups_follow_the_reverse_side_of_keys_and_many_to_many_fields() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        let ordered = |query: flagon_orm::QuerySet<Author>| query.order_by(Author::ID.asc());
        // Authors with a book over 200 pages.
        let long = ordered(Author::objects().filter(Book::AUTHOR.reverse_any(Book::PAGES.gt(200))))
            .all(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(firsts(&long), ["Ann", "Bob"], "{b}");
        // Negated: authors with no such book (Cy has none at all).
        let short =
            ordered(Author::objects().exclude(Book::AUTHOR.reverse_any(Book::PAGES.gt(200))))
                .all(&t.db)
                .await
                .unwrap();
        assert_eq!(firsts(&short), ["Cy"], "{b}");
        // Through a many-to-many field, both ways, and chained.
        let rusty = Book::objects()
            .filter(Book::TAGS.any(Tag::NAME.eq("rust")))
            .all(&t.db)
            .await
            .unwrap();
        assert_eq!(rusty.len(), 1, "{b}");
        assert_eq!(rusty[0].title, "Rust", "{b}");
        let untagged = Book::objects()
            .exclude(Book::TAGS.any(Tag::NAME.eq("rust")))
            .count(&t.db)
            .await
            .unwrap();
        assert_eq!(untagged, 2, "{b}");
        let tags = Tag::objects()
            .filter(Book::TAGS.reverse_any(Book::TITLE.startswith("Py")))
            .all(&t.db)
            .await
            .unwrap();
        assert_eq!(tags.len(), 1, "{b}");
        assert_eq!(tags[0].name, "python", "{b}");
        let pythonistas = Author::objects()
            .filter(Book::AUTHOR.reverse_any(Book::TAGS.any(Tag::NAME.eq("python"))))
            .all(&t.db)
            .await
            .unwrap();
        assert_eq!(firsts(&pythonistas), ["Bob"], "{b}");
        t
    })
    .await;
}

#[tokio::test]
async fn having_keeps_the_groups_whose_aggregates_match() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        let authors: Vec<Author> = Author::objects().all(&t.db).await.unwrap();
        let ann = authors[0].id;
        let prolific = Book::objects()
            .group_by((Book::AUTHOR,))
            .having(Count::all().gte(2))
            .annotate(&t.db, Sum::of(Book::PAGES))
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(prolific.len(), 1, "{b}");
        assert_eq!(*prolific[0].0 .0.id(), ann, "{b}");
        assert_eq!(prolific[0].1, Some(400), "{b}");
        let none = Book::objects()
            .group_by((Book::AUTHOR,))
            .having(Count::all().gte(1) & Sum::of(Book::PAGES).gt(1000))
            .annotate(&t.db, Count::all())
            .await
            .unwrap();
        assert!(none.is_empty(), "{b}");
        t
    })
    .await;
}

#[derive(Model, Debug, Clone)]
#[model(app = "expr")]
struct Sale {
    id: i64,
    at: DateTime<Utc>,
    day: chrono::NaiveDate,
}

#[tokio::test]
async fn trunc_cuts_dates_and_instants_the_same_on_every_backend() {
    use chrono::{NaiveDate, TimeZone};
    on_each_backend(|t| async move {
        let b = t.backend;
        flagon_orm::schema::create_table(&t.db, Sale::META)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let instant = |y, m, d, h| Utc.with_ymd_and_hms(y, m, d, h, 30, 15).single().unwrap();
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        for (at, day) in [
            (instant(2026, 3, 14, 23), date(2026, 3, 14)),
            (instant(2026, 3, 2, 1), date(2026, 3, 2)),
            (instant(2025, 12, 31, 12), date(2025, 12, 31)),
        ] {
            Sale { id: 0, at, day }.save(&t.db).await.unwrap();
        }
        let rows = Sale::objects()
            .order_by(Sale::ID.asc())
            .annotate((
                trunc(Sale::AT.f(), DatePart::Month),
                trunc(Sale::AT.f(), DatePart::Day),
                trunc(Sale::DAY.f(), DatePart::Year),
                trunc_date(Sale::AT.f()),
            ))
            .all(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let midnight = |y, m, d| Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).single().unwrap();
        let values: Vec<_> = rows.into_iter().map(|(_, values)| values).collect();
        assert_eq!(
            values,
            [
                (
                    midnight(2026, 3, 1),
                    midnight(2026, 3, 14),
                    date(2026, 1, 1),
                    date(2026, 3, 14)
                ),
                (
                    midnight(2026, 3, 1),
                    midnight(2026, 3, 2),
                    date(2026, 1, 1),
                    date(2026, 3, 2)
                ),
                (
                    midnight(2025, 12, 1),
                    midnight(2025, 12, 31),
                    date(2025, 1, 1),
                    date(2025, 12, 31)
                ),
            ],
            "{b}"
        );
        // In a filter: the sales of March 2026.
        let march = Sale::objects()
            .filter(trunc(Sale::AT.f(), DatePart::Month).eq(midnight(2026, 3, 1)))
            .count(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(march, 2, "{b}");
        t
    })
    .await;
}

#[derive(Model, Debug, Clone)]
#[model(app = "expr")]
struct Doc {
    id: i64,
    #[field(max_length = 10)]
    name: String,
    data: serde_json::Value,
}

#[tokio::test]
async fn json_key_lookups_compare_scalars_the_same_on_every_backend() {
    use serde_json::json;
    on_each_backend(|t| async move {
        let b = t.backend;
        flagon_orm::schema::create_table(&t.db, Doc::META)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        for (name, data) in [
            (
                "a",
                json!({"owner": {"name": "Ann"}, "n": 1, "flag": true, "gone": null}),
            ),
            ("b", json!({"owner": {"name": "ann"}, "n": "1", "flag": 1})),
            ("c", json!({"owner": {}, "n": 1.5, "odd key": "x\"y"})),
        ] {
            Doc {
                id: 0,
                name: name.into(),
                data,
            }
            .save(&t.db)
            .await
            .unwrap();
        }
        let names = |query: flagon_orm::QuerySet<Doc>| {
            let db = t.db.clone();
            async move {
                let mut names: Vec<String> = query
                    .all(&db)
                    .await
                    .unwrap_or_else(|err| panic!("{b}: {err}"))
                    .into_iter()
                    .map(|doc| doc.name)
                    .collect();
                names.sort();
                names
            }
        };
        // Case, types and nesting are kept apart.
        assert_eq!(
            names(Doc::objects().filter(Doc::DATA.key("owner").key("name").eq("Ann"))).await,
            ["a"],
            "{b}"
        );
        assert_eq!(
            names(Doc::objects().filter(Doc::DATA.key("n").eq(1))).await,
            ["a"],
            "{b}"
        );
        assert_eq!(
            names(Doc::objects().filter(Doc::DATA.key("n").eq("1"))).await,
            ["b"],
            "{b}"
        );
        assert_eq!(
            names(Doc::objects().filter(Doc::DATA.key("n").eq(1.5))).await,
            ["c"],
            "{b}"
        );
        assert_eq!(
            names(Doc::objects().filter(Doc::DATA.key("flag").eq(true))).await,
            ["a"],
            "{b}: true is not 1"
        );
        // A JSON null is not a missing key.
        assert_eq!(
            names(Doc::objects().filter(Doc::DATA.key("gone").eq(json!(null)))).await,
            ["a"],
            "{b}"
        );
        assert_eq!(
            names(Doc::objects().filter(Doc::DATA.key("gone").exists())).await,
            ["a"],
            "{b}"
        );
        assert_eq!(
            names(Doc::objects().exclude(Doc::DATA.key("owner").key("name").exists())).await,
            ["c"],
            "{b}"
        );
        assert_eq!(
            names(Doc::objects().filter(Doc::DATA.key("odd key").eq("x\"y"))).await,
            ["c"],
            "{b}: keys and values with spaces and quotes"
        );
        // Objects compare differently per backend: refused.
        let refused = Doc::objects()
            .filter(Doc::DATA.key("owner").eq(json!({"name": "Ann"})))
            .all(&t.db)
            .await;
        assert!(
            matches!(refused, Err(flagon_orm::OrmError::InvalidQuery { .. })),
            "{b}: {refused:?}"
        );
        t
    })
    .await;
}

#[tokio::test]
async fn exists_and_subquery_correlate_with_the_outer_row() {
    use flagon_orm::query::subquery::{exists, subquery, OuterRef};
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        // Authors with a book over 200 pages; negated, the others.
        let long = |query: flagon_orm::QuerySet<Author>| query.order_by(Author::ID.asc());
        let with_long = long(
            Author::objects().filter(exists(
                Book::objects()
                    .filter(Book::AUTHOR.f().eq(OuterRef::pk()))
                    .filter(Book::PAGES.gt(200)),
            )),
        )
        .all(&t.db)
        .await
        .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(firsts(&with_long), ["Ann", "Bob"], "{b}");
        let without = long(Author::objects().exclude(exists(
            Book::objects().filter(Book::AUTHOR.f().eq(OuterRef::pk())),
        )))
        .all(&t.db)
        .await
        .unwrap();
        assert_eq!(firsts(&without), ["Cy"], "{b}");
        // Each author with the title of their longest book (NULL: none),
        // and ordered by it.
        let rows = Author::objects()
            .order_by(Author::ID.asc())
            .annotate(subquery(
                Book::objects()
                    .filter(Book::AUTHOR.f().eq(OuterRef::pk()))
                    .order_by(Book::PAGES.desc()),
                Book::TITLE,
            ))
            .all(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let longest: Vec<Option<String>> = rows.into_iter().map(|(_, title)| title).collect();
        assert_eq!(
            longest,
            [
                Some("Rust".to_string()),
                Some("Python basics".to_string()),
                None
            ],
            "{b}"
        );
        // An outer field other than the key: authors with a book whose
        // title is not their last name (every book): Ann and Bob.
        let matching = Author::objects()
            .filter(exists(
                Book::objects()
                    .filter(Book::AUTHOR.f().eq(OuterRef::pk()))
                    .filter(Book::TITLE.f().ne(OuterRef::of(Author::LAST))),
            ))
            .count(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(matching, 2, "{b}");
        // Refused: an OuterRef to the wrong model, and one outside a
        // subquery.
        let wrong = Author::objects()
            .filter(exists(
                Tag::objects().filter(Tag::ID.f().eq(OuterRef::of(Book::ID))),
            ))
            .all(&t.db)
            .await;
        assert!(
            matches!(wrong, Err(flagon_orm::OrmError::InvalidQuery { .. })),
            "{b}: {wrong:?}"
        );
        let outside = Author::objects()
            .filter(Author::ID.f().eq(OuterRef::of(Author::ID)))
            .all(&t.db)
            .await;
        assert!(
            matches!(outside, Err(flagon_orm::OrmError::InvalidQuery { .. })),
            "{b}: {outside:?}"
        );
        // A subquery of the model over itself reads its own row apart
        // from the outer one (more in tests/self_subqueries.rs): authors
        // with another author of a longer last name (Ng and Lee, not
        // Stone).
        let itself = Author::objects()
            .order_by(Author::ID.asc())
            .filter(exists(Author::objects().filter(
                length(Author::LAST.f()).gt(length(OuterRef::of(Author::LAST))),
            )))
            .all(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(firsts(&itself), ["Ann", "Cy"], "{b}");
        t
    })
    .await;
}
