//! Data migrations through historical models (issue 11, item 16): a
//! `RunRust` step reads and writes rows as the schema is at its point of
//! the migrations, so a field added to the model later does not break a
//! `migrate` from zero.

mod support;

use flagon_orm::migrations::prelude::*;
use flagon_orm::migrations::{migrate, MigrationError, MigrationGraph, RustFn, Target};
use flagon_orm::Model;
use support::on_each_backend;

/// `World` as it is today: `rank` came in migration 0003, after the seed.
#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "hist", table = "hist_world")]
struct World {
    #[field(primary_key)]
    id: i32,
    #[field(db_column = "randomnumber")]
    random_number: i32,
    #[field(default = 7)]
    rank: i32,
}

fn initial() -> Migration {
    Migration::new("hist", "0001_initial")
        .operation(Operation::create_model(
            ModelState::new("hist", "World", "hist_world")
                .field(FieldState::new("id", FieldKind::Integer).primary_key())
                .field(FieldState::new("random_number", FieldKind::Integer).column("randomnumber")),
        ))
        .operation(Operation::create_model(
            ModelState::new("hist", "Note", "hist_note")
                .field(
                    FieldState::new("id", FieldKind::BigInteger)
                        .primary_key()
                        .auto(),
                )
                .field(
                    FieldState::new("world", FieldKind::Integer)
                        .column("world_id")
                        .references("hist", "World", OnDelete::Cascade),
                )
                .field(
                    FieldState::new("text", FieldKind::String)
                        .max_length(20)
                        .null(),
                ),
        ))
}

fn seed_migration(seed: RustFn, unseed: RustFn) -> Migration {
    Migration::new("hist", "0002_seed")
        .depends_on("hist", "0001_initial")
        .operation(Operation::run_rust(seed).backward(unseed))
}

fn rank() -> Migration {
    Migration::new("hist", "0003_world_rank")
        .depends_on("hist", "0002_seed")
        .operation(Operation::add_field(
            "World",
            FieldState::new("rank", FieldKind::Integer).default(7),
        ))
}

/// The seed written with historical models.
fn seed(apps: HistoricalApps<'_>) -> BoxFuture<'_, Result<(), OrmError>> {
    Box::pin(async move {
        let world = apps.model("hist", "World")?;
        let inserted = world
            .bulk_insert(
                (1..=100).map(|id| Record::new().set("id", id).set("random_number", id * 2)),
            )
            .await?;
        assert_eq!(inserted, 100);
        // Read back, typed by the historical kinds.
        let first = world.objects().first().await?.expect("a row");
        assert_eq!(first.get::<i32>("random_number")?, 2);
        assert!(
            first.value("rank").is_none(),
            "no rank field yet: {first:?}"
        );
        assert_eq!(
            world.objects().filter("random_number", 20).count().await?,
            1
        );
        let updated = world
            .objects()
            .filter("id", 100)
            .update(Record::new().set("random_number", 5))
            .await?;
        assert_eq!(updated, 1);
        let last = world.objects().order_by("-id").limit(2).fetch().await?;
        assert_eq!(last.len(), 2);
        assert_eq!(last[0].get::<i32>("random_number")?, 5);
        assert_eq!(world.objects().filter("id", 99).delete().await?, 1);

        // An automatic key: assigned, then given (the sequence moves past
        // given keys on PostgreSQL), then assigned again.
        let note = apps.model("hist", "Note")?;
        let stored = note
            .insert(Record::new().set("world", 1).set("text", "first"))
            .await?;
        assert_eq!(stored.get::<i64>("id")?, 1);
        note.bulk_insert([
            Record::new().set("id", 10_i64).set("world_id", 2),
            Record::new().set("world", 3).set("text", None::<String>),
        ])
        .await?;
        let later = note.insert(Record::new().set("world", 4)).await?;
        assert!(later.get::<i64>("id")? > 10, "{later:?}");
        assert_eq!(
            note.objects()
                .filter("text", None::<String>)
                .count()
                .await?,
            3
        );
        Ok(())
    })
}

fn unseed(apps: HistoricalApps<'_>) -> BoxFuture<'_, Result<(), OrmError>> {
    Box::pin(async move {
        apps.model("hist", "Note")?.objects().delete().await?;
        apps.model("hist", "World")?.objects().delete().await?;
        Ok(())
    })
}

/// The seed as it was written before: today's struct, which has `rank`,
/// inserted where the table does not have it yet.
fn seed_with_todays_struct(apps: HistoricalApps<'_>) -> BoxFuture<'_, Result<(), OrmError>> {
    let db = apps.connection();
    Box::pin(async move {
        let mut worlds: Vec<World> = (1..=100)
            .map(|id| World {
                id,
                random_number: id * 2,
                rank: 7,
            })
            .collect();
        World::objects().bulk_create(db, &mut worlds).await
    })
}

#[tokio::test]
async fn a_seed_through_historical_models_survives_a_field_added_later() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let graph = MigrationGraph::new([initial(), seed_migration(seed, unseed), rank()])
            .expect("a graph");
        migrate(&t.db, &graph, &Target::All, &mut |_| {})
            .await
            .unwrap_or_else(|err| panic!("{b}: migrate from zero: {err}"));
        // Today's struct reads the seeded rows, with the default of the
        // field added after the seed.
        let worlds = World::objects().all(&t.db).await.expect("worlds");
        assert_eq!(worlds.len(), 99, "{b}");
        assert!(worlds.iter().all(|world| world.rank == 7), "{b}");
        assert_eq!(worlds[0].random_number, 2, "{b}");
        // Undone to before the seed: the backward function empties the tables
        // through the models of that point.
        migrate(
            &t.db,
            &graph,
            &Target::Named("hist".into(), "0001_initial".into()),
            &mut |_| {},
        )
        .await
        .unwrap_or_else(|err| panic!("{b}: migrate back: {err}"));
        let left = World::objects().count(&t.db).await.expect("a count");
        assert_eq!(left, 0, "{b}");
        t
    })
    .await;
}

#[tokio::test]
async fn a_seed_through_todays_struct_breaks_once_a_field_is_added() {
    // What item 16 fixes: the same history with the seed written against
    // the struct fails from zero on every backend (no column `rank` yet).
    on_each_backend(|t| async move {
        let b = t.backend;
        let graph = MigrationGraph::new([
            initial(),
            seed_migration(seed_with_todays_struct, unseed),
            rank(),
        ])
        .expect("a graph");
        let err = migrate(&t.db, &graph, &Target::All, &mut |_| {})
            .await
            .expect_err("today's struct does not fit the table at the seed");
        assert!(
            matches!(&err, MigrationError::Failed { migration, .. } if migration.contains("0002_seed")),
            "{b}: {err}"
        );
        t
    })
    .await;
}

fn misuse(apps: HistoricalApps<'_>) -> BoxFuture<'_, Result<(), OrmError>> {
    Box::pin(async move {
        let message = |result: Result<u64, OrmError>| match result {
            Err(err @ OrmError::HistoricalModel { .. }) => err.to_string(),
            other => panic!("expected a historical model error, got {other:?}"),
        };
        let unknown = apps.model("hist", "Planet").expect_err("no such model");
        assert!(
            unknown.to_string().contains("hist has Note, World"),
            "{unknown}"
        );
        let world = apps.model("hist", "World")?;
        // `rank` does not exist yet at this point.
        let err = message(
            world
                .bulk_insert([Record::new()
                    .set("id", 1)
                    .set("random_number", 1)
                    .set("rank", 3)])
                .await,
        );
        assert!(err.contains("no field `rank`"), "{err}");
        let err = message(
            world
                .bulk_insert([Record::new().set("id", 1).set("random_number", "many")])
                .await,
        );
        assert!(
            err.contains("Integer field") && err.contains("String"),
            "{err}"
        );
        let err = message(world.bulk_insert([Record::new().set("id", 1)]).await);
        assert!(err.contains("no value for field `random_number`"), "{err}");
        let err = message(world.objects().filter("rank", 1).count().await);
        assert!(err.contains("no field `rank`"), "{err}");
        let err = message(world.objects().limit(1).delete().await);
        assert!(err.contains("no order or limit"), "{err}");
        let note = apps.model("hist", "Note")?;
        let err = message(
            note.bulk_insert([Record::new().set("world", 1).set("text", "x".repeat(21))])
                .await,
        );
        assert!(err.contains("at most 20"), "{err}");
        // Nothing was written by the refused calls.
        assert_eq!(world.objects().count().await?, 0);
        // The error a function returns fails the migration, naming it.
        world
            .bulk_insert([Record::new().set("id", 1).set("random_number", i64::MAX)])
            .await?;
        Ok(())
    })
}

#[tokio::test]
async fn historical_models_refuse_unknown_models_fields_and_mismatched_values() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let graph =
            MigrationGraph::new([initial(), seed_migration(misuse, unseed)]).expect("a graph");
        let err = migrate(&t.db, &graph, &Target::All, &mut |_| {})
            .await
            .expect_err("the last insert is out of range");
        let text = err.to_string();
        assert!(
            text.contains("0002_seed") && text.contains("out of range"),
            "{b}: {text}"
        );
        t
    })
    .await;
}
