//! Migration `0002_seed` of app `tfb`, written by `makemigrations --empty`
//! and filled in by hand: the TechEmpower data, 10,000 worlds with random
//! numbers and the twelve standard fortunes (with the ones that test
//! escaping and Unicode).
//!
//! It writes through the historical models (`apps.model("tfb", "World")`),
//! the tables as migration `0001_initial` made them, not through today's
//! `World` and `Fortune` structs: a field added to them later comes with
//! its own migration, after this one, and does not break a `migrate` from
//! an empty database.
//!
//! A table that has rows already is left as it is: a database made outside
//! Flagon, as TechEmpower makes `world` and `fortune` with its own script
//! (`bench/create-postgres.sql`), is adopted with `tfb migrate
//! --fake-initial`, which records `0001_initial` without running it and
//! then runs this migration, which must not insert the rows again.

use flagon::orm::migrations::prelude::*;
use rand::Rng;

const FORTUNES: [&str; 12] = [
    "fortune: No such file or directory",
    "A computer scientist is someone who fixes things that aren't broken.",
    "After enough decimal places, nobody gives a damn.",
    "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1",
    "A computer program does what you tell it to do, not what you want it to do.",
    "Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen",
    "Any program that runs right is obsolete.",
    "A list is only as strong as its weakest link. — Donald Knuth",
    "Feature: A bug with seniority.",
    "Computers make very fast, very accurate mistakes.",
    "<script>alert(\"This should not be displayed in a browser alert box.\");</script>",
    "フレームワークのベンチマーク",
];

fn seed(apps: HistoricalApps<'_>) -> BoxFuture<'_, Result<(), OrmError>> {
    let mut rng = rand::thread_rng();
    let worlds: Vec<Record> = (1..=10_000)
        .map(|id| {
            Record::new()
                .set("id", id)
                .set("random_number", rng.gen_range(1..=10_000))
        })
        .collect();
    Box::pin(async move {
        let world = apps.model("tfb", "World")?;
        if world.objects().count().await? == 0 {
            world.bulk_insert(worlds).await?;
        }
        let fortune = apps.model("tfb", "Fortune")?;
        if fortune.objects().count().await? == 0 {
            let fortunes = (1..)
                .zip(FORTUNES)
                .map(|(id, message)| Record::new().set("id", id).set("message", message));
            fortune.bulk_insert(fortunes).await?;
        }
        Ok(())
    })
}

fn unseed(apps: HistoricalApps<'_>) -> BoxFuture<'_, Result<(), OrmError>> {
    Box::pin(async move {
        apps.model("tfb", "World")?.objects().delete().await?;
        apps.model("tfb", "Fortune")?.objects().delete().await?;
        Ok(())
    })
}

/// The migration.
pub fn migration() -> Migration {
    Migration::new("tfb", "0002_seed")
        .depends_on("tfb", "0001_initial")
        .operation(Operation::run_rust(seed).backward(unseed))
}
