//! Queries across relations on every backend: filters and orderings on
//! related rows, select_related, prefetch_related, with_related, and
//! many-to-many fields with their own or a made-for-you through table.

mod support;

use flagon_orm::migrations::{detect_changes, GivenAnswers, ProjectState};
use flagon_orm::{ForeignKey, ManyToMany, Model, ModelExt};
use support::on_each_backend;

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "shelf")]
struct Author {
    id: i64,
    #[field(max_length = 100)]
    name: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "shelf")]
struct Book {
    id: i64,
    #[field(max_length = 200)]
    title: String,
    #[field(on_delete = "cascade")]
    author: ForeignKey<Author>,
    #[field(on_delete = "set_null")]
    editor: Option<ForeignKey<Author>>,
    tags: ManyToMany<Tag>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "shelf")]
struct Tag {
    id: i64,
    #[field(max_length = 50)]
    name: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "shelf")]
struct Reader {
    id: i64,
    #[field(max_length = 100)]
    name: String,
    #[field(through = Loan)]
    borrowed: ManyToMany<Book>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "shelf")]
struct Loan {
    id: i64,
    #[field(on_delete = "cascade")]
    reader: ForeignKey<Reader>,
    #[field(on_delete = "cascade")]
    book: ForeignKey<Book>,
    #[field(default = 14)]
    days: i32,
}

struct Shelf {
    ann: Author,
    bob: Author,
    dune: Book,
    emma: Book,
    zoo: Book,
}

async fn shelf(db: &flagon_orm::Db) -> Shelf {
    flagon_orm::schema::create_tables(
        db,
        &[
            Loan::META,
            Reader::META,
            Book::META,
            Tag::META,
            Author::META,
        ],
    )
    .await
    .expect("tables");
    let mut ann = Author {
        id: 0,
        name: "Ann".into(),
    };
    let mut bob = Author {
        id: 0,
        name: "Bob".into(),
    };
    ann.save(db).await.expect("ann");
    bob.save(db).await.expect("bob");
    let make = |title: &str, author: &Author, editor: Option<&Author>| Book {
        id: 0,
        title: title.into(),
        author: ForeignKey::to(author),
        editor: editor.map(ForeignKey::to),
        tags: ManyToMany::new(),
    };
    let mut dune = make("Dune", &bob, Some(&ann));
    let mut emma = make("Emma", &ann, None);
    let mut zoo = make("Zoo", &ann, Some(&bob));
    for book in [&mut dune, &mut emma, &mut zoo] {
        book.save(db).await.expect("a book");
    }
    Shelf {
        ann,
        bob,
        dune,
        emma,
        zoo,
    }
}

#[tokio::test]
async fn filters_and_orderings_follow_foreign_keys() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let db = &t.db;
        let s = shelf(db).await;
        let titles = |books: Vec<Book>| books.into_iter().map(|b| b.title).collect::<Vec<_>>();

        let by_ann = Book::objects()
            .filter(Book::AUTHOR.has(Author::NAME.eq("Ann")))
            .order_by(Book::TITLE.asc())
            .all(db)
            .await
            .expect("query");
        assert_eq!(titles(by_ann), ["Emma", "Zoo"], "{b}");

        // By the author's name, then the title (descending).
        let ordered = Book::objects()
            .order_by(Book::AUTHOR.by(Author::NAME.desc()))
            .order_by(Book::TITLE.desc())
            .all(db)
            .await
            .expect("query");
        assert_eq!(titles(ordered), ["Dune", "Zoo", "Emma"], "{b}");

        let edited_by_bob = Book::objects()
            .filter(Book::EDITOR.has(Author::NAME.startswith("B")))
            .all(db)
            .await
            .expect("query");
        assert_eq!(titles(edited_by_bob), ["Zoo"], "{b}");
        let _ = (s.ann, s.bob);
        t
    })
    .await;
}

#[tokio::test]
async fn select_and_prefetch_related_load_targets() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let db = &t.db;
        let s = shelf(db).await;

        let books = Book::objects()
            .select_related(Book::AUTHOR)
            .select_related(Book::EDITOR)
            .filter(Book::TITLE.ne("Zoo"))
            .order_by(Book::TITLE.asc())
            .all(db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(books.len(), 2);
        assert_eq!(
            books[0].author.get(),
            Some(&s.bob),
            "{b}: Dune's author joined"
        );
        assert_eq!(
            books[0].editor.as_ref().and_then(|e| e.get()),
            Some(&s.ann),
            "{b}"
        );
        assert_eq!(books[1].author.get(), Some(&s.ann), "{b}");
        assert!(books[1].editor.is_none(), "{b}: no editor, nothing joined");

        let books = Book::objects()
            .prefetch_related(Book::AUTHOR)
            .order_by(Book::TITLE.asc())
            .all(db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let names: Vec<&str> = books
            .iter()
            .map(|book| book.author.get().map_or("?", |a| a.name.as_str()))
            .collect();
        assert_eq!(names, ["Bob", "Ann", "Ann"], "{b}");

        let authors = Author::objects()
            .order_by(Author::NAME.asc())
            .with_related(Book::AUTHOR)
            .all(db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let summary: Vec<(String, usize)> = authors
            .iter()
            .map(|(author, books)| (author.name.clone(), books.len()))
            .collect();
        assert_eq!(
            summary,
            [("Ann".to_owned(), 2), ("Bob".to_owned(), 1)],
            "{b}"
        );
        let _ = (s.dune, s.emma, s.zoo);
        t
    })
    .await;
}

#[tokio::test]
async fn many_to_many_links_follow_and_prefetch() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let db = &t.db;
        let s = shelf(db).await;
        let mut classic = Tag {
            id: 0,
            name: "classic".into(),
        };
        let mut scifi = Tag {
            id: 0,
            name: "scifi".into(),
        };
        classic.save(db).await.expect("tag");
        scifi.save(db).await.expect("tag");

        Book::TAGS
            .add(db, &s.dune, &[&classic, &scifi])
            .await
            .expect("add");
        Book::TAGS
            .add(db, &s.dune, &[&classic])
            .await
            .expect("a second add is a no-op");
        Book::TAGS.add(db, &s.emma, &[&classic]).await.expect("add");
        let dune_tags: Vec<String> = Book::TAGS
            .of(&s.dune)
            .order_by(Tag::NAME.asc())
            .all(db)
            .await
            .expect("tags")
            .into_iter()
            .map(|tag| tag.name)
            .collect();
        assert_eq!(dune_tags, ["classic", "scifi"], "{b}");
        assert_eq!(
            Book::TAGS
                .reverse_of(&classic)
                .count(db)
                .await
                .expect("count"),
            2,
            "{b}"
        );

        let books = Book::objects()
            .order_by(Book::TITLE.asc())
            .with_related(Book::TAGS)
            .all(db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let counts: Vec<usize> = books.iter().map(|(_, tags)| tags.len()).collect();
        assert_eq!(counts, [2, 1, 0], "{b}");

        assert_eq!(
            Book::TAGS
                .remove(db, &s.dune, &[&scifi])
                .await
                .expect("remove"),
            1
        );
        Book::TAGS.set(db, &s.emma, &[&scifi]).await.expect("set");
        let emma_tags: Vec<String> = Book::TAGS
            .of(&s.emma)
            .all(db)
            .await
            .expect("tags")
            .into_iter()
            .map(|tag| tag.name)
            .collect();
        assert_eq!(emma_tags, ["scifi"], "{b}");
        assert_eq!(
            Book::TAGS.clear(db, &s.dune).await.expect("clear"),
            1,
            "{b}"
        );

        // Deleting a book deletes its links (the through table cascades).
        Book::TAGS.add(db, &s.zoo, &[&scifi]).await.expect("add");
        s.zoo.delete(db).await.expect("delete");
        assert_eq!(
            Book::TAGS
                .reverse_of(&scifi)
                .count(db)
                .await
                .expect("count"),
            1,
            "{b}"
        );

        // A through model of your own, with its extra column's default.
        let mut reader = Reader {
            id: 0,
            name: "Rae".into(),
            borrowed: ManyToMany::new(),
        };
        reader.save(db).await.expect("reader");
        Reader::BORROWED
            .add(db, &reader, &[&s.dune, &s.emma])
            .await
            .expect("borrow");
        let loans = Loan::objects().all(db).await.expect("loans");
        assert_eq!(loans.len(), 2, "{b}");
        assert!(loans.iter().all(|loan| loan.days == 14), "{b}");
        assert_eq!(
            Reader::BORROWED.of(&reader).count(db).await.expect("count"),
            2
        );
        t
    })
    .await;
}

#[test]
fn the_made_for_you_through_table_is_in_the_migration_state() {
    let state = ProjectState::from_models([Author::META, Tag::META, Book::META]);
    let through = state
        .model("shelf", "Book_tags")
        .expect("the through model");
    assert_eq!(through.table, "shelf_book_tags");
    let columns: Vec<&str> = through.fields.iter().map(|f| f.column.as_str()).collect();
    assert_eq!(columns, ["id", "book_id", "tag_id"]);
    assert_eq!(through.constraints[0].fields, ["book", "tag"]);
    let changes = detect_changes(&ProjectState::new(), &state, &mut GivenAnswers::default())
        .expect("changes");
    let created: Vec<String> = changes.apps["shelf"]
        .iter()
        .map(|op| op.describe())
        .collect();
    let through_at = created.iter().position(|c| c == "Create model Book_tags");
    let book_at = created.iter().position(|c| c == "Create model Book");
    assert!(through_at > book_at, "{created:?}");
}

#[test]
fn the_apps_check_what_relations_point_to() {
    use flagon_orm::migrations::{AppConfig, Apps};
    let missing_target = Apps::new().app(AppConfig::new("shelf").model::<Book>().model::<Tag>());
    let err = missing_target
        .check()
        .expect_err("Author is not registered");
    assert!(
        err.to_string()
            .contains("Book.author points to shelf.Author, which is not registered"),
        "{err}"
    );
    let missing_through = Apps::new().app(
        AppConfig::new("shelf")
            .model::<Author>()
            .model::<Tag>()
            .model::<Book>()
            .model::<Reader>(),
    );
    let err = missing_through.check().expect_err("Loan is not registered");
    assert!(
        err.to_string()
            .contains("the through model Loan of Reader.borrowed"),
        "{err}"
    );
    let complete = Apps::new().app(
        AppConfig::new("shelf")
            .model::<Author>()
            .model::<Tag>()
            .model::<Book>()
            .model::<Reader>()
            .model::<Loan>(),
    );
    complete.check().expect("everything registered");
}
