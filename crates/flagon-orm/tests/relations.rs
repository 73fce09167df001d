//! Foreign keys and one-to-one links on every backend: saving, following
//! them both ways, what deleting the target does, bad keys, and the
//! migrations that change them.

mod support;

use flagon_orm::migrations::prelude::*;
use flagon_orm::migrations::{
    detect_changes, migrate, GivenAnswers, MigrationGraph, ProjectState, Target,
};
use flagon_orm::{ConstraintKind, Db, ForeignKey, Model, ModelExt, OneToOne};
use support::on_each_backend;

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "lib")]
struct Author {
    id: i64,
    #[field(max_length = 100)]
    name: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "lib")]
struct Book {
    id: i64,
    #[field(max_length = 200)]
    title: String,
    #[field(on_delete = "cascade")]
    author: ForeignKey<Author>,
    #[field(on_delete = "set_null")]
    editor: Option<ForeignKey<Author>>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "lib")]
struct Review {
    id: i64,
    #[field(on_delete = "protect")]
    book: ForeignKey<Book>,
    stars: i32,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "lib")]
struct Profile {
    id: i64,
    #[field(on_delete = "cascade")]
    author: OneToOne<Author>,
    bio: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "lib")]
struct Category {
    id: i64,
    #[field(max_length = 50)]
    name: String,
    #[field(on_delete = "cascade")]
    parent: Option<ForeignKey<Category>>,
}

async fn tables(db: &Db) {
    for meta in [
        Author::META,
        Book::META,
        Review::META,
        Profile::META,
        Category::META,
    ] {
        flagon_orm::schema::create_table(db, meta)
            .await
            .unwrap_or_else(|err| panic!("{}: {err}", meta.name));
    }
}

async fn author(db: &Db, name: &str) -> Author {
    let mut author = Author {
        id: 0,
        name: name.into(),
    };
    author.save(db).await.expect("an author");
    author
}

async fn book(db: &Db, title: &str, author: &Author, editor: Option<&Author>) -> Book {
    let mut book = Book {
        id: 0,
        title: title.into(),
        author: ForeignKey::to(author),
        editor: editor.map(ForeignKey::to),
    };
    book.save(db).await.expect("a book");
    book
}

#[tokio::test]
async fn foreign_keys_are_followed_both_ways() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let db = &t.db;
        tables(db).await;
        let ann = author(db, "Ann").await;
        let bob = author(db, "Bob").await;
        let first = book(db, "First", &ann, Some(&bob)).await;
        book(db, "Second", &ann, None).await;
        book(db, "Third", &bob, None).await;

        let raw = db
            .fetch_all(
                "SELECT author_id, editor_id FROM lib_book ORDER BY id",
                sea_query::Values(Vec::new()),
            )
            .await
            .expect("columns named for the key");
        assert_eq!(raw[0].get::<i64>(0).expect("author_id"), ann.id, "{b}");
        assert_eq!(
            raw[0].get::<Option<i64>>(1).expect("editor_id"),
            Some(bob.id),
            "{b}"
        );
        assert_eq!(
            raw[1].get::<Option<i64>>(1).expect("editor_id"),
            None,
            "{b}"
        );

        let read = Book::objects()
            .filter(Book::TITLE.eq("First"))
            .get(db)
            .await
            .expect("the book");
        assert_eq!(read, first, "{b}");
        assert_eq!(*read.author.id(), ann.id);
        assert!(
            read.author.get().is_none(),
            "not loaded without select_related"
        );
        assert_eq!(read.author.fetch(db).await.expect("its author"), ann, "{b}");

        let anns: Vec<String> = ann
            .related(Book::AUTHOR)
            .order_by(Book::TITLE.asc())
            .all(db)
            .await
            .expect("reverse")
            .into_iter()
            .map(|book| book.title)
            .collect();
        assert_eq!(anns, ["First", "Second"], "{b}");
        assert_eq!(bob.related(Book::EDITOR).count(db).await.expect("count"), 1);
        assert_eq!(
            Book::objects()
                .filter(Book::AUTHOR.eq(&bob))
                .count(db)
                .await
                .expect("count"),
            1,
            "{b}"
        );
        t
    })
    .await;
}

#[tokio::test]
async fn a_key_to_a_missing_row_is_an_error_naming_the_field() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let db = &t.db;
        tables(db).await;
        let ann = author(db, "Ann").await;
        let mut orphan = Book {
            id: 0,
            title: "Orphan".into(),
            author: ForeignKey::new(ann.id + 1000),
            editor: None,
        };
        let err = orphan.save(db).await.expect_err("no such author");
        let flagon_orm::OrmError::Integrity {
            kind,
            constraint,
            message,
        } = &err
        else {
            panic!("{b}: {err:?}")
        };
        assert_eq!(*kind, ConstraintKind::ForeignKey, "{b}");
        assert_eq!(constraint.as_deref(), Some("lib_book_author_id_fk"), "{b}");
        assert!(
            message.starts_with(&format!(
                "Book.author points to no Author (key {})",
                ann.id + 1000
            )),
            "{b}: {message}"
        );
        assert_eq!(
            Book::objects().count(db).await.expect("count"),
            0,
            "{b}: nothing written"
        );

        // A bad editor, with a good author: the editor is named.
        let mut bad_editor = Book {
            id: 0,
            title: "Edited".into(),
            author: ForeignKey::to(&ann),
            editor: Some(ForeignKey::new(-5)),
        };
        let err = bad_editor.save(db).await.expect_err("no such editor");
        assert!(
            err.to_string()
                .contains("Book.editor points to no Author (key -5)"),
            "{b}: {err}"
        );
        t
    })
    .await;
}

#[tokio::test]
async fn deleting_the_target_cascades_sets_null_or_is_refused() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let db = &t.db;
        tables(db).await;
        let ann = author(db, "Ann").await;
        let bob = author(db, "Bob").await;
        book(db, "By Ann", &ann, None).await;
        let edited = book(db, "Edited by Ann", &bob, Some(&ann)).await;
        let mut profile = Profile {
            id: 0,
            author: OneToOne::to(&ann),
            bio: "Writes".into(),
        };
        profile.save(db).await.expect("a profile");

        assert!(ann.delete(db).await.expect("delete"), "{b}");
        let titles: Vec<String> = Book::objects()
            .all(db)
            .await
            .expect("books")
            .into_iter()
            .map(|book| book.title)
            .collect();
        assert_eq!(titles, ["Edited by Ann"], "{b}: her book went with her");
        let edited = Book::objects()
            .filter(Book::ID.eq(edited.id))
            .get(db)
            .await
            .expect("kept");
        assert_eq!(edited.editor, None, "{b}: the editor was set to NULL");
        assert_eq!(Profile::objects().count(db).await.expect("count"), 0, "{b}");

        let mut review = Review {
            id: 0,
            book: ForeignKey::to(&edited),
            stars: 5,
        };
        review.save(db).await.expect("a review");
        let err = edited.delete(db).await.expect_err("protected");
        assert!(
            matches!(
                err,
                flagon_orm::OrmError::Integrity {
                    kind: ConstraintKind::ForeignKey,
                    ..
                }
            ),
            "{b}: {err:?}"
        );
        assert_eq!(
            Book::objects().count(db).await.expect("count"),
            1,
            "{b}: still there"
        );
        t
    })
    .await;
}

#[tokio::test]
async fn one_to_one_is_unique_and_keys_may_point_to_their_own_model() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let db = &t.db;
        tables(db).await;
        let ann = author(db, "Ann").await;
        let mut first = Profile {
            id: 0,
            author: OneToOne::to(&ann),
            bio: "One".into(),
        };
        first.save(db).await.expect("a profile");
        let mut second = Profile {
            id: 0,
            author: OneToOne::to(&ann),
            bio: "Two".into(),
        };
        let err = second.save(db).await.expect_err("one per author");
        assert!(
            matches!(
                err,
                flagon_orm::OrmError::Integrity {
                    kind: ConstraintKind::Unique,
                    ..
                }
            ),
            "{b}: {err:?}"
        );
        let found = ann
            .related(Profile::AUTHOR)
            .get(db)
            .await
            .expect("the profile");
        assert_eq!(found.bio, "One");

        let mut root = Category {
            id: 0,
            name: "Root".into(),
            parent: None,
        };
        root.save(db).await.expect("root");
        let mut child = Category {
            id: 0,
            name: "Child".into(),
            parent: Some(ForeignKey::to(&root)),
        };
        child.save(db).await.expect("child");
        let mut grandchild = Category {
            id: 0,
            name: "Grandchild".into(),
            parent: Some(ForeignKey::to(&child)),
        };
        grandchild.save(db).await.expect("grandchild");
        assert_eq!(
            root.related(Category::PARENT)
                .count(db)
                .await
                .expect("count"),
            1
        );
        root.delete(db).await.expect("delete");
        assert_eq!(
            Category::objects().count(db).await.expect("count"),
            0,
            "{b}: cascaded down"
        );
        t
    })
    .await;
}

fn models_state(metas: &[&'static flagon_orm::ModelMeta]) -> ProjectState {
    ProjectState::from_models(metas.iter().copied())
}

/// The migration the autodetector writes for `to`, from `from`.
fn detected(from: &ProjectState, to: &ProjectState, name: &str, after: Option<&str>) -> Migration {
    let changes = detect_changes(from, to, &mut GivenAnswers::default()).expect("changes");
    let mut migration = Migration::new("lib", name);
    if let Some(previous) = after {
        migration = migration.depends_on("lib", previous);
    }
    migration.operations = changes.apps.get("lib").cloned().unwrap_or_default();
    migration
}

#[tokio::test]
async fn migrations_create_alter_and_undo_foreign_keys_keeping_rows() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let db = &t.db;
        // Books before authors in the list: the detector orders them.
        let first_state = models_state(&[Book::META, Author::META]);
        let initial = detected(&ProjectState::new(), &first_state, "0001_initial", None);
        let names: Vec<String> = initial.operations.iter().map(Operation::describe).collect();
        assert_eq!(names, ["Create model Author", "Create model Book"]);

        // Then: author names get longer (SQLite rebuilds the table the
        // books point to), and authors get a nullable mentor.
        let mut second_state = first_state.clone();
        let author_key = ("lib".to_owned(), "Author".to_owned());
        let mut longer = second_state.models[&author_key].clone();
        longer.fields[1].max_length = Some(150);
        longer.fields.push(
            FieldState::new("mentor_id", FieldKind::BigInteger)
                .null()
                .index()
                .references("lib", "Author", OnDelete::SetNull),
        );
        second_state.add_model(longer);
        let change = detected(
            &first_state,
            &second_state,
            "0002_change",
            Some("0001_initial"),
        );
        assert_eq!(change.operations.len(), 2, "{:?}", change.operations);

        let graph = MigrationGraph::new([initial, change]).expect("graph");
        migrate(
            db,
            &graph,
            &Target::Named("lib".into(), "0001".into()),
            |_| {},
        )
        .await
        .unwrap_or_else(|err| panic!("{b}: {err}"));
        let ann = author(db, "Ann").await;
        book(db, "First", &ann, Some(&ann)).await;

        migrate(db, &graph, &Target::All, |_| {})
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(
            Book::objects().count(db).await.expect("count"),
            1,
            "{b}: no cascade"
        );
        let long = "x".repeat(150);
        db.execute_unprepared(&format!(
            "UPDATE lib_author SET name = '{long}', mentor_id = {} WHERE id = {}",
            ann.id, ann.id
        ))
        .await
        .unwrap_or_else(|err| panic!("{b}: the new column and length: {err}"));
        let bad = db
            .execute_unprepared("UPDATE lib_author SET mentor_id = 987654")
            .await;
        assert!(bad.is_err(), "{b}: the new key is enforced");

        // Undo: the rows survive the table rebuild back.
        db.execute_unprepared("UPDATE lib_author SET name = 'Ann', mentor_id = NULL")
            .await
            .expect("shorten");
        migrate(
            db,
            &graph,
            &Target::Named("lib".into(), "0001".into()),
            |_| {},
        )
        .await
        .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(Book::objects().count(db).await.expect("count"), 1, "{b}");
        assert_eq!(Author::objects().get(db).await.expect("ann").name, "Ann");
        migrate(db, &graph, &Target::Zero("lib".into()), |_| {})
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        t
    })
    .await;
}

#[test]
fn a_foreign_key_becomes_state_with_its_targets_key_type() {
    let state = FieldState::from_meta(Book::META.field("author").expect("author"));
    assert_eq!(state.column, "author_id");
    assert_eq!(state.kind, FieldKind::BigInteger);
    assert!(state.index && !state.unique);
    let relation = state.relation.expect("a relation");
    assert_eq!(
        (relation.app.as_str(), relation.model.as_str()),
        ("lib", "Author")
    );
    assert_eq!(relation.on_delete, OnDelete::Cascade);
    let link = FieldState::from_meta(Profile::META.field("author").expect("author"));
    assert!(link.unique && !link.index);
    let sql =
        flagon_orm::schema::create_table_sql(Book::META, flagon_orm::Dialect::MySql).expect("sql");
    assert!(
        sql[0].contains(
            "CONSTRAINT `lib_book_author_id_fk` FOREIGN KEY (`author_id`) REFERENCES `lib_author` (`id`) ON DELETE CASCADE"
        ),
        "{}",
        sql[0]
    );
}

#[tokio::test]
async fn bad_rows_in_a_transaction_leave_nothing_written() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let db = &t.db;
        tables(db).await;
        let result = db
            .transaction(|tx| async move {
                let mut ann = Author {
                    id: 0,
                    name: "Ann".into(),
                };
                ann.save(&tx).await?;
                let mut orphan = Book {
                    id: 0,
                    title: "Orphan".into(),
                    author: ForeignKey::new(ann.id + 1),
                    editor: None,
                };
                orphan.save(&tx).await
            })
            .await;
        let err = result.expect_err("the bad key fails the block");
        assert!(
            matches!(
                err,
                flagon_orm::OrmError::Integrity {
                    kind: ConstraintKind::ForeignKey,
                    ..
                }
            ),
            "{b}: {err:?}"
        );
        assert_eq!(
            Author::objects().count(db).await.expect("count"),
            0,
            "{b}: rolled back"
        );

        let err = db
            .execute_unprepared("INSERT INTO lib_author (name) VALUES (NULL)")
            .await
            .expect_err("NOT NULL");
        let flagon_orm::OrmError::Integrity { kind, message, .. } = &err else {
            panic!("{b}: {err:?}")
        };
        assert_eq!(*kind, ConstraintKind::NotNull, "{b}");
        assert!(
            message.contains("name"),
            "{b}: the column is named: {message}"
        );
        t
    })
    .await;
}
