//! Writes keep what they were given: the automatic keys of a multi-row
//! insert are the ones the server gave (whatever MariaDB's
//! `auto_increment_increment`).

mod support;

use flagon_orm::migrations::prelude::*;
use flagon_orm::Model;
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
