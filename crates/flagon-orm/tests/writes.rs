//! Writes keep what they were given: keys written explicitly move
//! PostgreSQL's identity sequences on, the automatic keys of a multi-row
//! insert are the ones the server gave (whatever MariaDB's
//! `auto_increment_increment`), and a decimal keeps every digit or is
//! refused (SQLite).

mod support;

use flagon_orm::migrations::prelude::*;
use flagon_orm::migrations::{migrate, MigrationGraph, Target};
use flagon_orm::{Decimal, Model, ModelExt};
use support::on_each_backend;

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "keys")]
struct Ticket {
    id: i64,
    #[field(max_length = 50)]
    label: String,
}

fn ticket(id: i64, label: &str) -> Ticket {
    Ticket {
        id,
        label: label.to_owned(),
    }
}

/// Saves a ticket with an automatic key; returns its key.
async fn automatic(db: &(impl Connection + ?Sized), backend: &str, after: &str) -> i64 {
    let mut next = ticket(0, "automatic");
    next.save(db)
        .await
        .unwrap_or_else(|err| panic!("{backend}: an automatic key after {after}: {err}"));
    next.id
}

#[tokio::test]
async fn explicit_keys_move_the_key_sequence_on() {
    on_each_backend(|t| async move {
        let b = t.backend;
        flagon_orm::schema::create_table(&t.db, Ticket::META)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));

        let mut keyed = vec![ticket(1, "one"), ticket(2, "two"), ticket(5, "five")];
        Ticket::objects()
            .bulk_create(&t.db, &mut keyed)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let after_bulk = automatic(&t.db, b, "bulk_create with keys").await;
        assert!(after_bulk > 5, "{b}: {after_bulk}");

        // Keyed and unkeyed objects in one call: the keyed go first.
        let mut mixed = vec![ticket(0, "auto"), ticket(40, "forty")];
        Ticket::objects()
            .bulk_create(&t.db, &mut mixed)
            .await
            .unwrap_or_else(|err| panic!("{b}: mixed bulk_create: {err}"));
        assert!(mixed[0].id > 40, "{b}: {:?}", mixed[0]);

        let mut saved = ticket(60, "saved");
        saved.save(&t.db).await.expect("save with a key");
        let after_save = automatic(&t.db, b, "save with a key").await;
        assert!(after_save > 60, "{b}: {after_save}");

        let mut inserted = ticket(80, "inserted");
        inserted.insert(&t.db).await.expect("insert with a key");
        let after_insert = automatic(&t.db, b, "insert with a key").await;
        assert!(after_insert > 80, "{b}: {after_insert}");

        // A key below the sequence never moves it back.
        let mut low = ticket(3, "low");
        low.insert(&t.db).await.expect("insert below the sequence");
        let after_low = automatic(&t.db, b, "a key below the sequence").await;
        assert!(
            after_low > after_insert,
            "{b}: {after_low} after {after_insert}"
        );

        // Inside a transaction as well.
        t.db.transaction(|tx| async move {
            let mut keyed = vec![ticket(200, "two hundred")];
            Ticket::objects().bulk_create(&tx, &mut keyed).await?;
            let next = automatic(&tx, b, "bulk_create in a transaction").await;
            assert!(next > 200, "{b}: {next}");
            Ok::<_, OrmError>(())
        })
        .await
        .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(Ticket::objects().count(&t.db).await.expect("count"), 14);
        t
    })
    .await;
}

fn seed(apps: HistoricalApps<'_>) -> BoxFuture<'_, Result<(), OrmError>> {
    // Today's struct on purpose: what is tested is the sequence after
    // bulk_create and save with keys, inside a migration.
    let db = apps.connection();
    Box::pin(async move {
        let mut seeded = vec![ticket(1, "first"), ticket(2, "second")];
        Ticket::objects().bulk_create(db, &mut seeded).await?;
        let mut third = ticket(3, "third");
        third.save(db).await
    })
}

fn seeding() -> Migration {
    Migration::new("keys", "0001_initial")
        .operation(Operation::create_model(
            ModelState::new("keys", "Ticket", "keys_ticket")
                .field(
                    FieldState::new("id", FieldKind::BigInteger)
                        .primary_key()
                        .auto(),
                )
                .field(FieldState::new("label", FieldKind::String).max_length(50)),
        ))
        .operation(Operation::run_rust(seed))
}

#[tokio::test]
async fn a_data_migration_with_keys_leaves_the_sequence_past_them() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let graph = MigrationGraph::new([seeding()]).expect("a graph");
        migrate(&t.db, &graph, &Target::All, &mut |_| {})
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let next = automatic(&t.db, b, "a data migration with keys").await;
        assert_eq!(next, 4, "{b}");
        t
    })
    .await;
}

/// A connection that does not tell which server it is on, as one of a
/// user's own may: on MariaDB it is taken for MySQL (no `RETURNING`).
struct Unknown<C>(C);

impl<C: Connection> Connection for Unknown<C> {
    fn dialect(&self) -> flagon_orm::Dialect {
        self.0.dialect()
    }

    fn in_transaction(&self) -> bool {
        self.0.in_transaction()
    }

    fn fetch_all<'a>(
        &'a self,
        sql: &'a str,
        values: sea_query::Values,
    ) -> BoxFuture<'a, Result<Vec<flagon_orm::Row>, OrmError>> {
        self.0.fetch_all(sql, values)
    }

    fn execute<'a>(
        &'a self,
        sql: &'a str,
        values: sea_query::Values,
    ) -> BoxFuture<'a, Result<flagon_orm::Executed, OrmError>> {
        self.0.execute(sql, values)
    }

    fn execute_unprepared<'a>(&'a self, sql: &'a str) -> BoxFuture<'a, Result<u64, OrmError>> {
        self.0.execute_unprepared(sql)
    }
}

/// Creates tickets without keys on `db`, in batches of two and not; checks
/// that each one's key finds its row.
async fn check_keys(db: &(impl Connection + ?Sized), backend: &str, prefix: &str) {
    let mut tickets: Vec<Ticket> = (0..5).map(|i| ticket(0, &format!("{prefix}{i}"))).collect();
    Ticket::objects()
        .bulk_create(db, &mut tickets)
        .await
        .unwrap_or_else(|err| panic!("{backend}: {err}"));
    let mut batched: Vec<Ticket> = (0..5)
        .map(|i| ticket(0, &format!("{prefix}b{i}")))
        .collect();
    Ticket::objects()
        .bulk_create_in_batches(db, &mut batched, 2)
        .await
        .unwrap_or_else(|err| panic!("{backend}: {err}"));
    for written in tickets.iter().chain(&batched) {
        let read = Ticket::objects()
            .filter(Ticket::ID.eq(written.id))
            .get(db)
            .await
            .unwrap_or_else(|err| panic!("{backend}: the row of {written:?}: {err}"));
        assert_eq!(&read, written, "{backend}");
    }
}

#[tokio::test]
async fn bulk_create_stores_the_keys_the_server_gave() {
    on_each_backend(|t| async move {
        let b = t.backend;
        flagon_orm::schema::create_table(&t.db, Ticket::META)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        t.db.transaction(|tx| async move {
            if b == "mysql" {
                // Keys 1, 3, 5, ..: not consecutive.
                tx.execute_unprepared("SET SESSION auto_increment_increment = 2")
                    .await?;
            }
            check_keys(&tx, b, "t").await;
            // Without RETURNING (MySQL): stepping by the session's increment.
            check_keys(&Unknown(&tx), b, "u").await;
            if b == "mysql" {
                tx.execute_unprepared("SET SESSION auto_increment_increment = 1")
                    .await?;
            }
            Ok::<_, OrmError>(())
        })
        .await
        .unwrap_or_else(|err| panic!("{b}: {err}"));
        // Without RETURNING on a pool (MySQL): row by row.
        check_keys(&Unknown(&t.db), b, "p").await;
        t
    })
    .await;
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "money")]
struct Entry {
    id: i64,
    #[field(max_digits = 20, decimal_places = 2)]
    amount: Decimal,
}

fn entry(amount: &str) -> Entry {
    Entry {
        id: 0,
        amount: amount.parse().expect("a decimal"),
    }
}

#[tokio::test]
async fn decimals_keep_every_digit_or_are_refused() {
    on_each_backend(|t| async move {
        let b = t.backend;
        flagon_orm::schema::create_table(&t.db, Entry::META)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        // Kept on every backend: whole numbers (SQLite stores an integer),
        // and up to 15 significant digits.
        let kept = [
            "123456789012345678.00",
            "-123456789012345678",
            "1234567890123.45",
            "0.10",
            "-0.01",
        ];
        for amount in kept {
            let mut written = entry(amount);
            written
                .save(&t.db)
                .await
                .unwrap_or_else(|err| panic!("{b}: {amount}: {err}"));
            let read = Entry::objects()
                .filter(Entry::ID.eq(written.id))
                .get(&t.db)
                .await
                .unwrap_or_else(|err| panic!("{b}: {err}"));
            assert_eq!(read.amount, written.amount, "{b}: {amount}");
        }
        // Compared and ordered as numbers in SQL.
        let above = Entry::objects()
            .filter(Entry::AMOUNT.gt(entry("1234567890123.44").amount))
            .count(&t.db)
            .await
            .expect("count");
        assert_eq!(above, 2, "{b}");
        let ordered: Vec<String> = Entry::objects()
            .order_by(Entry::AMOUNT.asc())
            .all(&t.db)
            .await
            .expect("rows")
            .into_iter()
            .map(|row| row.amount.normalize().to_string())
            .collect();
        assert_eq!(
            ordered,
            [
                "-123456789012345678",
                "-0.01",
                "0.1",
                "1234567890123.45",
                "123456789012345678"
            ],
            "{b}"
        );

        // 17 significant digits with a fraction: the servers keep them,
        // SQLite refuses them before writing anything.
        let long = "123456789012345.67";
        let mut one = entry(long);
        let mut many = vec![entry("1.5"), entry(long)];
        let saved = one.save(&t.db).await;
        let bulk = Entry::objects().bulk_create(&t.db, &mut many).await;
        if b == "sqlite" {
            for result in [saved, bulk] {
                match result {
                    Err(OrmError::Validation {
                        model: "Entry",
                        field: "amount",
                        message,
                    }) => assert!(message.contains("15 significant digits"), "{message}"),
                    other => panic!("{b}: {long} should be refused, got {other:?}"),
                }
            }
            assert_eq!(Entry::objects().count(&t.db).await.expect("count"), 5);
            // An update is refused the same way, naming the field.
            let updated = Entry::objects()
                .update(&t.db, [Entry::AMOUNT.set(entry(long).amount)])
                .await;
            assert!(
                matches!(
                    updated,
                    Err(OrmError::Validation {
                        field: "amount",
                        ..
                    })
                ),
                "{b}: {updated:?}"
            );
        } else {
            saved.unwrap_or_else(|err| panic!("{b}: {err}"));
            bulk.unwrap_or_else(|err| panic!("{b}: {err}"));
            let read = Entry::objects()
                .filter(Entry::ID.eq(one.id))
                .get(&t.db)
                .await
                .expect("the row");
            assert_eq!(read.amount, one.amount, "{b}");
            assert_eq!(Entry::objects().count(&t.db).await.expect("count"), 8);
        }
        t
    })
    .await;
}
