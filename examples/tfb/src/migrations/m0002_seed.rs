//! Migration `0002_seed` of app `tfb`, written by `makemigrations --empty`
//! and filled in by hand: the TechEmpower data, 10,000 worlds with random
//! numbers and the twelve standard fortunes (with the ones that test
//! escaping and Unicode).

use flagon::orm::migrations::prelude::*;
use flagon::orm::Model;
use rand::Rng;

use crate::{Fortune, World};

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

fn seed(db: &dyn Connection) -> BoxFuture<'_, Result<(), OrmError>> {
    let mut rng = rand::thread_rng();
    let mut worlds: Vec<World> = (1..=10_000)
        .map(|id| World {
            id,
            random_number: rng.gen_range(1..=10_000),
        })
        .collect();
    Box::pin(async move {
        World::objects().bulk_create(db, &mut worlds).await?;
        let mut fortunes: Vec<Fortune> = (1..)
            .zip(FORTUNES)
            .map(|(id, message)| Fortune {
                id,
                message: message.to_owned(),
            })
            .collect();
        Fortune::objects().bulk_create(db, &mut fortunes).await
    })
}

fn unseed(db: &dyn Connection) -> BoxFuture<'_, Result<(), OrmError>> {
    Box::pin(async move {
        World::objects().delete(db).await?;
        Fortune::objects().delete(db).await?;
        Ok(())
    })
}

/// The migration.
pub fn migration() -> Migration {
    Migration::new("tfb", "0002_seed")
        .depends_on("tfb", "0001_initial")
        .operation(Operation::run_rust(seed).backward(unseed))
}
