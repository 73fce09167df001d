//! Conditional unique constraints and check constraints
//! (`#[model(constraints = [..])]`) through migrations, on every backend:
//! created with the model or added later, enforced on insert (an
//! `OrmError::Integrity` of kind Unique or Check), removed, and undone.
//! MySQL/MariaDB have no partial indexes: a conditional unique constraint
//! is refused there, by `migrate` and by `sqlmigrate`'s SQL.

mod support;

use flagon_orm::migrations::prelude::*;
use flagon_orm::migrations::{
    detect_changes, migrate, migration_sql, Direction, GivenAnswers, MigrationGraph, ProjectState,
    Target,
};
use flagon_orm::{ConstraintKind, Db, Dialect, Model, ModelExt, OrmError};
use support::on_each_backend;

#[derive(Model, Debug, Clone)]
#[model(
    app = "shop",
    constraints = [
        unique(fields = ["owner", "slug"], condition = "archived = FALSE", name = "shop_item_live_slug"),
        check(condition = "price >= 0 AND (discount IS NULL OR discount <= price)", name = "shop_item_price_ok"),
    ]
)]
/// An item on sale: one live slug per owner, a price that is not negative
/// and a discount no larger than it.
pub struct Item {
    /// The key.
    #[field(primary_key, auto)]
    pub id: i64,
    /// Who sells it.
    pub owner: i64,
    /// Its slug, unique per owner among live items.
    #[field(max_length = 50)]
    pub slug: String,
    /// Whether it was archived.
    pub archived: bool,
    /// Its price.
    pub price: i64,
    /// Its discount.
    pub discount: Option<i64>,
}

fn item(owner: i64, slug: &str, archived: bool, price: i64, discount: Option<i64>) -> Item {
    Item {
        id: 0,
        owner,
        slug: slug.to_owned(),
        archived,
        price,
        discount,
    }
}

/// The state with only the constraints `keep` accepts.
fn state_with(keep: impl Fn(&ConstraintState) -> bool) -> ProjectState {
    let mut state = ProjectState::from_models([Item::META]);
    for model in state.models.values_mut() {
        model.constraints.retain(|constraint| keep(constraint));
    }
    state
}

fn migration(
    name: &str,
    previous: Option<&str>,
    from: &ProjectState,
    to: &ProjectState,
) -> Migration {
    let changes = detect_changes(from, to, &mut GivenAnswers::default()).expect("changes");
    let mut migration = Migration::new("shop", name);
    if let Some(previous) = previous {
        migration = migration.depends_on("shop", previous);
    }
    migration.operations = changes.apps.get("shop").cloned().unwrap_or_default();
    assert!(!migration.operations.is_empty(), "{name} has operations");
    migration
}

/// 0001 creates the model with its check constraint, 0002 adds the
/// conditional unique constraint, 0003 removes the check constraint.
fn graph() -> MigrationGraph {
    let check_only = state_with(|c| c.check);
    let full = state_with(|_| true);
    let unique_only = state_with(|c| !c.check);
    MigrationGraph::new([
        migration("0001_initial", None, &ProjectState::new(), &check_only),
        migration("0002_live_slug", Some("0001_initial"), &check_only, &full),
        migration("0003_no_check", Some("0002_live_slug"), &full, &unique_only),
    ])
    .expect("graph")
}

async fn run(db: &Db, backend: &str, graph: &MigrationGraph, target: Target) {
    migrate(db, graph, &target, |_| {})
        .await
        .unwrap_or_else(|err| panic!("{backend}: migrating to {target:?}: {err}"));
}

fn to(name: &str) -> Target {
    Target::Named("shop".into(), name.into())
}

async fn insert(db: &Db, mut object: Item) -> Result<Item, OrmError> {
    object.insert(db).await?;
    Ok(object)
}

fn kind_of(result: Result<Item, OrmError>) -> ConstraintKind {
    match result {
        Err(OrmError::Integrity { kind, .. }) => kind,
        other => panic!("expected an integrity error, got {other:?}"),
    }
}

#[tokio::test]
async fn check_and_conditional_unique_constraints_through_migrations() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let db = &t.db;
        let graph = graph();
        run(db, b, &graph, to("0001")).await;

        // The check constraint, created with the table.
        assert_eq!(
            kind_of(insert(db, item(1, "neg", false, -1, None)).await),
            ConstraintKind::Check,
            "{b}"
        );
        assert_eq!(
            kind_of(insert(db, item(1, "big", false, 5, Some(6))).await),
            ConstraintKind::Check,
            "{b}"
        );
        insert(db, item(1, "ok", false, 5, Some(5)))
            .await
            .expect("a valid row");
        insert(db, item(1, "free", false, 0, None))
            .await
            .expect("a valid row");

        if db.dialect() == Dialect::MySql {
            // No partial indexes: refused, naming the constraint, before any SQL.
            let err = migrate(db, &graph, &Target::All, |_| {})
                .await
                .expect_err("refused");
            let message = err.to_string();
            assert!(
                message.contains("shop_item_live_slug") && message.contains("partial"),
                "{message}"
            );
            let key = ("shop".to_owned(), "0002_live_slug".to_owned());
            assert!(migration_sql(&graph, &key, Direction::Forwards, Dialect::MySql).is_err());
            // Still at 0001, the check still holds; undo everything.
            assert_eq!(
                kind_of(insert(db, item(2, "neg", false, -3, None)).await),
                ConstraintKind::Check
            );
            run(db, b, &graph, Target::Zero("shop".into())).await;
            return t;
        }

        run(db, b, &graph, to("0002")).await;
        // The rows kept through SQLite's rebuild, the check still there.
        assert_eq!(Item::objects().count(db).await.expect("count"), 2, "{b}");
        assert_eq!(
            kind_of(insert(db, item(1, "neg", false, -1, None)).await),
            ConstraintKind::Check,
            "{b}"
        );
        // Unique among live rows only.
        assert_eq!(
            kind_of(insert(db, item(1, "ok", false, 1, None)).await),
            ConstraintKind::Unique,
            "{b}"
        );
        insert(db, item(1, "ok", true, 1, None))
            .await
            .expect("archived rows may repeat");
        insert(db, item(1, "ok", true, 1, None))
            .await
            .expect("archived rows may repeat");
        insert(db, item(2, "ok", false, 1, None))
            .await
            .expect("another owner");

        run(db, b, &graph, to("0003")).await;
        insert(db, item(3, "neg", false, -1, None))
            .await
            .expect("no check any more");
        assert_eq!(
            kind_of(insert(db, item(1, "ok", false, 1, None)).await),
            ConstraintKind::Unique,
            "{b}"
        );
        Item::objects()
            .filter(Item::PRICE.lt(0))
            .delete(db)
            .await
            .expect("delete");

        // Undone: the check is back, then the unique constraint goes.
        run(db, b, &graph, to("0002")).await;
        assert_eq!(
            kind_of(insert(db, item(4, "neg", false, -1, None)).await),
            ConstraintKind::Check,
            "{b}"
        );
        run(db, b, &graph, to("0001")).await;
        insert(db, item(1, "ok", false, 1, None))
            .await
            .expect("no unique constraint any more");
        run(db, b, &graph, Target::Zero("shop".into())).await;
        t
    })
    .await;
}

#[tokio::test]
async fn full_clean_checks_the_constraints() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let db = &t.db;
        let mut graph_state = state_with(|_| true);
        if db.dialect() == Dialect::MySql {
            graph_state = state_with(|c| c.check);
        }
        let initial = migration("0001_initial", None, &ProjectState::new(), &graph_state);
        let graph = MigrationGraph::new([initial]).expect("graph");
        run(db, b, &graph, Target::All).await;
        let violated = |result: Result<(), OrmError>, name: &str| match result {
            Err(OrmError::Invalid(errors)) => {
                let messages: Vec<String> =
                    errors.non_field().iter().map(ToString::to_string).collect();
                assert!(
                    messages.iter().any(|m| m.contains(name)),
                    "{b}: {messages:?}"
                );
            }
            other => panic!("{b}: expected {name} to be violated, got {other:?}"),
        };
        violated(
            item(1, "neg", false, -1, None).full_clean(db).await,
            "shop_item_price_ok",
        );
        violated(
            item(1, "big", false, 5, Some(6)).full_clean(db).await,
            "shop_item_price_ok",
        );
        // Unknown (a NULL discount) passes, as in SQL.
        item(1, "ok", false, 5, None)
            .full_clean(db)
            .await
            .expect("valid");
        // Strings are bound, not spliced: a quote or `?` is just text.
        item(1, "it's?", false, 5, None)
            .full_clean(db)
            .await
            .expect("valid");
        let mut saved = insert(db, item(1, "ok", false, 5, None))
            .await
            .expect("saved");
        saved
            .full_clean(db)
            .await
            .expect("its own row does not collide");
        if db.dialect() != Dialect::MySql {
            violated(
                item(1, "ok", false, 1, None).full_clean(db).await,
                "shop_item_live_slug",
            );
            // Archived rows are not under the condition.
            item(1, "ok", true, 1, None)
                .full_clean(db)
                .await
                .expect("archived");
            saved.archived = true;
            saved.save(db).await.expect("archived");
            item(1, "ok", false, 1, None)
                .full_clean(db)
                .await
                .expect("the other is archived");
        }
        // Excluding a field the constraint uses skips it.
        item(1, "neg", false, -1, None)
            .full_clean_except(db, &["price"])
            .await
            .expect("price excluded");
        t
    })
    .await;
}

#[test]
fn sqlmigrate_shows_partial_indexes_and_checks() {
    let graph = graph();
    let key = |name: &str| ("shop".to_owned(), name.to_owned());
    let create = migration_sql(
        &graph,
        &key("0001_initial"),
        Direction::Forwards,
        Dialect::Postgres,
    )
    .expect("sql")
    .join(";\n");
    assert!(
        create.contains(
            r#"CONSTRAINT "shop_item_price_ok" CHECK ("price" >= 0 AND ("discount" IS NULL OR "discount" <= "price"))"#
        ),
        "{create}"
    );
    let unique = migration_sql(
        &graph,
        &key("0002_live_slug"),
        Direction::Forwards,
        Dialect::Postgres,
    )
    .expect("sql")
    .join(";\n");
    assert!(
        unique.contains(
            r#"CREATE UNIQUE INDEX "shop_item_live_slug" ON "shop_item" ("owner", "slug") WHERE "archived" = FALSE"#
        ),
        "{unique}"
    );
    let drop = migration_sql(
        &graph,
        &key("0003_no_check"),
        Direction::Forwards,
        Dialect::MySql,
    )
    .expect("sql")
    .join(";\n");
    assert!(
        drop.contains("ALTER TABLE `shop_item` DROP CONSTRAINT `shop_item_price_ok`"),
        "{drop}"
    );
    let err = migration_sql(
        &graph,
        &key("0002_live_slug"),
        Direction::Forwards,
        Dialect::MySql,
    )
    .expect_err("no partial indexes on MySQL");
    assert!(err.to_string().contains("no partial"), "{err}");
}

#[test]
fn the_writer_writes_constraints_back() {
    let graph = graph();
    let source = flagon_orm::migrations::migration_source(
        graph
            .get(&("shop".to_owned(), "0002_live_slug".to_owned()))
            .expect("0002"),
        "flagon_orm",
    )
    .expect("source");
    assert!(
        source.contains(
            r#"ConstraintState::unique("shop_item_live_slug", &["owner", "slug"]).condition("archived = FALSE")"#
        ),
        "{source}"
    );
    let initial = flagon_orm::migrations::migration_source(
        graph
            .get(&("shop".to_owned(), "0001_initial".to_owned()))
            .expect("0001"),
        "flagon_orm",
    )
    .expect("source");
    assert!(
        initial.contains(
            r#"ConstraintState::check("shop_item_price_ok", "price >= 0 AND (discount IS NULL OR discount <= price)")"#
        ),
        "{initial}"
    );
}
