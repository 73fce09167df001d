//! Migrations of models tied together, on every backend, with the rows
//! kept: renaming a model with many-to-many fields (its own through table
//! and the columns pointing to it follow) or a key to itself, new models
//! whose foreign keys form a cycle, and an app deleting a model another
//! app pointed to.

mod support;

use flagon_orm::migrations::prelude::*;
use flagon_orm::migrations::{
    app_dependencies, detect_changes, migrate, next_name, GivenAnswers, MigrationGraph,
    ProjectState, Questioner, Rename, Target,
};
use flagon_orm::{Db, Model};
use support::on_each_backend;

mod v1 {
    use flagon_orm::{ForeignKey, ManyToMany, Model};

    #[derive(Model, Debug, Clone, PartialEq)]
    #[model(app = "lib")]
    pub struct Tag {
        pub id: i64,
        #[field(max_length = 50)]
        pub name: String,
    }

    #[derive(Model, Debug, Clone, PartialEq)]
    #[model(app = "lib")]
    pub struct Book {
        pub id: i64,
        #[field(max_length = 100)]
        pub title: String,
        pub tags: ManyToMany<Tag>,
    }

    #[derive(Model, Debug, Clone, PartialEq)]
    #[model(app = "lib")]
    pub struct Person {
        pub id: i64,
        #[field(max_length = 100)]
        pub name: String,
        #[field(on_delete = "set_null")]
        pub parent: Option<ForeignKey<Person>>,
        pub friends: ManyToMany<Person>,
    }

    /// Points to `Book` through a many-to-many of its own: its through
    /// table's `book_id` column follows the rename.
    #[derive(Model, Debug, Clone, PartialEq)]
    #[model(app = "lib")]
    pub struct Shelf {
        pub id: i64,
        pub books: ManyToMany<Book>,
    }
}

mod v2 {
    use flagon_orm::{ForeignKey, ManyToMany, Model};

    use super::v1::Tag;

    #[derive(Model, Debug, Clone, PartialEq)]
    #[model(app = "lib")]
    pub struct Novel {
        pub id: i64,
        #[field(max_length = 100)]
        pub title: String,
        pub tags: ManyToMany<Tag>,
    }

    #[derive(Model, Debug, Clone, PartialEq)]
    #[model(app = "lib")]
    pub struct Human {
        pub id: i64,
        #[field(max_length = 100)]
        pub name: String,
        #[field(on_delete = "set_null")]
        pub parent: Option<ForeignKey<Human>>,
        pub friends: ManyToMany<Human>,
    }

    #[derive(Model, Debug, Clone, PartialEq)]
    #[model(app = "lib")]
    pub struct Shelf {
        pub id: i64,
        pub books: ManyToMany<Novel>,
    }
}

mod cycle {
    use flagon_orm::{ForeignKey, Model};

    #[derive(Model, Debug, Clone, PartialEq)]
    #[model(app = "cyc")]
    pub struct Left {
        pub id: i64,
        #[field(on_delete = "set_null", index)]
        pub right: Option<ForeignKey<Right>>,
    }

    #[derive(Model, Debug, Clone, PartialEq)]
    #[model(app = "cyc")]
    pub struct Right {
        pub id: i64,
        #[field(on_delete = "cascade")]
        pub left: ForeignKey<Left>,
    }
}

mod apps_v1 {
    use flagon_orm::{ForeignKey, Model};

    #[derive(Model, Debug, Clone, PartialEq)]
    #[model(app = "alpha")]
    pub struct Product {
        pub id: i64,
        #[field(max_length = 50)]
        pub name: String,
    }

    #[derive(Model, Debug, Clone, PartialEq)]
    #[model(app = "beta")]
    pub struct Post {
        pub id: i64,
        #[field(max_length = 50)]
        pub title: String,
        #[field(on_delete = "set_null")]
        pub product: Option<ForeignKey<Product>>,
    }
}

mod apps_v2 {
    use flagon_orm::Model;

    #[derive(Model, Debug, Clone, PartialEq)]
    #[model(app = "beta")]
    pub struct Post {
        pub id: i64,
        #[field(max_length = 50)]
        pub title: String,
    }
}

/// The migrations `makemigrations` would write to go from `from` to `to`,
/// after `existing`: each depends on its app's latest migration and on the
/// apps [`app_dependencies`] names.
fn make(
    existing: &[Migration],
    from: &ProjectState,
    to: &ProjectState,
    questioner: &mut dyn Questioner,
) -> Vec<Migration> {
    let changes = detect_changes(from, to, questioner).expect("changes");
    let leaf = |app: &str| {
        existing
            .iter()
            .filter(|migration| migration.app == app)
            .map(|migration| migration.name.clone())
            .max()
    };
    let now = chrono::Utc::now();
    let names: std::collections::BTreeMap<String, String> = changes
        .apps
        .iter()
        .map(|(app, operations)| {
            let latest = leaf(app);
            (
                app.clone(),
                next_name(latest.as_deref(), operations, None, now),
            )
        })
        .collect();
    changes
        .apps
        .iter()
        .map(|(app, operations)| {
            let mut migration = Migration::new(app.clone(), names[app].clone());
            if let Some(latest) = leaf(app) {
                migration = migration.depends_on(app.clone(), latest);
            }
            for other in app_dependencies(app, operations, from) {
                let name = names
                    .get(&other)
                    .cloned()
                    .or_else(|| leaf(&other))
                    .expect("the other app has migrations");
                migration = migration.depends_on(other, name);
            }
            migration.operations = operations.clone();
            migration
        })
        .collect()
}

async fn run(db: &Db, backend: &str, graph: &MigrationGraph, target: Target) {
    migrate(db, graph, &target, |_| {})
        .await
        .unwrap_or_else(|err| panic!("{backend}: migrating to {target:?}: {err}"));
}

async fn exec(db: &Db, sql: &str) {
    db.execute_unprepared(sql)
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"));
}

async fn ints(db: &Db, sql: &str) -> Vec<i64> {
    db.fetch_all(sql, sea_query::Values(Vec::new()))
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"))
        .iter()
        .map(|row| match row.get::<i64>(0) {
            Ok(value) => value,
            Err(_) => i64::from(row.get::<i32>(0).expect("an integer")),
        })
        .collect()
}

#[tokio::test]
async fn renaming_models_renames_their_many_to_many_tables_and_keeps_rows() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let db = &t.db;
        let first = ProjectState::from_models([
            v1::Tag::META,
            v1::Book::META,
            v1::Person::META,
            v1::Shelf::META,
        ]);
        let second = ProjectState::from_models([
            v1::Tag::META,
            v2::Novel::META,
            v2::Human::META,
            v2::Shelf::META,
        ]);
        let initial = make(
            &[],
            &ProjectState::new(),
            &first,
            &mut GivenAnswers::default(),
        );
        let mut renames = GivenAnswers {
            renames: vec![
                "Book=Novel".parse::<Rename>().expect("rename"),
                "Person=Human".parse::<Rename>().expect("rename"),
            ],
            defaults: Vec::new(),
        };
        let change = make(&initial, &first, &second, &mut renames);
        let described: Vec<String> = change
            .iter()
            .flat_map(|migration| migration.operations.iter().map(Operation::describe))
            .collect();
        assert_eq!(
            described,
            ["Rename model Person to Human", "Rename model Book to Novel"],
            "the through tables follow their models"
        );
        let graph = MigrationGraph::new(initial.iter().chain(&change).cloned()).expect("graph");
        assert!(
            detect_changes(
                &graph.final_state().expect("state"),
                &second,
                &mut GivenAnswers::default()
            )
            .expect("changes")
            .is_empty(),
            "the migrations build the renamed models' state"
        );

        let first_name = initial[0].name.clone();
        run(
            db,
            b,
            &graph,
            Target::Named("lib".into(), first_name.clone()),
        )
        .await;
        exec(db, "INSERT INTO lib_tag (id, name) VALUES (1, 'sf')").await;
        exec(db, "INSERT INTO lib_book (id, title) VALUES (1, 'Dune')").await;
        exec(
            db,
            "INSERT INTO lib_book_tags (book_id, tag_id) VALUES (1, 1)",
        )
        .await;
        exec(db, "INSERT INTO lib_shelf (id) VALUES (1)").await;
        exec(
            db,
            "INSERT INTO lib_shelf_books (shelf_id, book_id) VALUES (1, 1)",
        )
        .await;
        exec(
            db,
            "INSERT INTO lib_person (id, name, parent_id) VALUES (1, 'Ann', NULL)",
        )
        .await;
        exec(
            db,
            "INSERT INTO lib_person (id, name, parent_id) VALUES (2, 'Bob', 1)",
        )
        .await;
        exec(
            db,
            "INSERT INTO lib_person_friends (from_person_id, to_person_id) VALUES (2, 1)",
        )
        .await;

        run(db, b, &graph, Target::All).await;
        assert_eq!(
            v2::Novel::objects().count(db).await.expect("count"),
            1,
            "{b}"
        );
        assert_eq!(
            ints(db, "SELECT novel_id FROM lib_novel_tags").await,
            [1],
            "{b}"
        );
        assert_eq!(
            ints(db, "SELECT tag_id FROM lib_novel_tags").await,
            [1],
            "{b}"
        );
        assert_eq!(
            ints(db, "SELECT novel_id FROM lib_shelf_books").await,
            [1],
            "{b}"
        );
        assert_eq!(
            ints(db, "SELECT parent_id FROM lib_human WHERE id = 2").await,
            [1],
            "{b}: the key to itself follows"
        );
        assert_eq!(
            ints(db, "SELECT from_human_id FROM lib_human_friends").await,
            [2],
            "{b}"
        );
        // The keys still hold after the rename.
        let dangling = db
            .execute_unprepared("INSERT INTO lib_novel_tags (novel_id, tag_id) VALUES (99, 1)")
            .await;
        assert!(
            dangling.is_err(),
            "{b}: the through table's key is enforced"
        );
        let twice = db
            .execute_unprepared("INSERT INTO lib_novel_tags (novel_id, tag_id) VALUES (1, 1)")
            .await;
        assert!(twice.is_err(), "{b}: the pair is still unique");

        // And back.
        run(db, b, &graph, Target::Named("lib".into(), first_name)).await;
        assert_eq!(
            ints(db, "SELECT book_id FROM lib_book_tags").await,
            [1],
            "{b}"
        );
        assert_eq!(
            ints(db, "SELECT book_id FROM lib_shelf_books").await,
            [1],
            "{b}"
        );
        assert_eq!(
            ints(db, "SELECT to_person_id FROM lib_person_friends").await,
            [1],
            "{b}"
        );
        run(db, b, &graph, Target::Zero("lib".into())).await;
        t
    })
    .await;
}

#[tokio::test]
async fn a_foreign_key_cycle_between_new_models_is_added_after_both() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let db = &t.db;
        let state = ProjectState::from_models([cycle::Left::META, cycle::Right::META]);
        let initial = make(
            &[],
            &ProjectState::new(),
            &state,
            &mut GivenAnswers::default(),
        );
        let graph = MigrationGraph::new(initial.clone()).expect("graph");
        assert!(
            detect_changes(
                &graph.final_state().expect("state"),
                &state,
                &mut GivenAnswers::default()
            )
            .expect("changes")
            .is_empty(),
            "the migration builds the models' state"
        );
        run(db, b, &graph, Target::All).await;
        exec(db, "INSERT INTO cyc_left (id, right_id) VALUES (1, NULL)").await;
        exec(db, "INSERT INTO cyc_right (id, left_id) VALUES (1, 1)").await;
        exec(db, "UPDATE cyc_left SET right_id = 1 WHERE id = 1").await;
        let dangling = db
            .execute_unprepared("UPDATE cyc_left SET right_id = 99 WHERE id = 1")
            .await;
        assert!(dangling.is_err(), "{b}: the added key is enforced");
        assert_eq!(ints(db, "SELECT right_id FROM cyc_left").await, [1], "{b}");
        let described: Vec<String> = initial[0]
            .operations
            .iter()
            .map(Operation::describe)
            .collect();
        assert_eq!(
            described,
            [
                "Create model Left",
                "Create model Right",
                "Add field right to Left"
            ]
        );
        // Undone in the reverse order: the key goes before the tables.
        exec(db, "UPDATE cyc_left SET right_id = NULL").await;
        run(db, b, &graph, Target::Zero("cyc".into())).await;
        t
    })
    .await;
}

#[tokio::test]
async fn deleting_a_model_waits_for_the_app_that_pointed_to_it() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let db = &t.db;
        let first = ProjectState::from_models([apps_v1::Product::META, apps_v1::Post::META]);
        let second = ProjectState::from_models([apps_v2::Post::META]);
        let initial = make(
            &[],
            &ProjectState::new(),
            &first,
            &mut GivenAnswers::default(),
        );
        let change = make(&initial, &first, &second, &mut GivenAnswers::default());
        let graph = MigrationGraph::new(initial.iter().chain(&change).cloned()).expect("graph");
        let initial_graph = MigrationGraph::new(initial.clone()).expect("graph");
        run(db, b, &initial_graph, Target::All).await;
        exec(
            db,
            "INSERT INTO alpha_product (id, name) VALUES (1, 'lamp')",
        )
        .await;
        exec(
            db,
            "INSERT INTO beta_post (id, title, product_id) VALUES (1, 'New lamp', 1)",
        )
        .await;
        run(db, b, &graph, Target::All).await;
        assert_eq!(
            apps_v2::Post::objects().get(db).await.expect("post").title,
            "New lamp",
            "{b}: the post stays"
        );
        let alpha = change
            .iter()
            .find(|migration| migration.app == "alpha")
            .expect("alpha deletes Product");
        assert!(
            alpha.dependencies.iter().any(|(app, _)| app == "beta"),
            "alpha's deletion comes after beta's removal of its key: {:?}",
            alpha.dependencies
        );
        t
    })
    .await;
}
