//! Transactions against real databases: SQLite always, PostgreSQL and
//! MariaDB when their test URLs are set. Commit, rollback on `Err` and on
//! panic, savepoints, integrity errors and `select_for_update`.

mod support;

use std::panic::AssertUnwindSafe;

use flagon_orm::{Connection, ConstraintKind, Model, ModelExt, OrmError};
use futures_util::FutureExt;
use support::{on_backends, on_each_backend, TestDb};

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "bank", ordering = ["id"])]
struct Account {
    id: i64,
    #[field(max_length = 50, unique)]
    name: String,
    balance: i64,
}

fn account(name: &str, balance: i64) -> Account {
    Account {
        id: 0,
        name: name.to_owned(),
        balance,
    }
}

/// A handler's own error type: transactions take any `E: From<OrmError>`.
#[derive(Debug)]
enum AppError {
    Orm(OrmError),
    Refused(&'static str),
}

impl From<OrmError> for AppError {
    fn from(err: OrmError) -> Self {
        AppError::Orm(err)
    }
}

async fn setup(t: &TestDb) {
    flagon_orm::schema::create_table(&t.db, Account::META)
        .await
        .unwrap_or_else(|err| panic!("{}: create table: {err}", t.backend));
}

/// The account names, in id order, as `db` sees them.
async fn names(db: &impl Connection) -> Vec<String> {
    Account::objects()
        .all(db)
        .await
        .unwrap_or_else(|err| panic!("reading the accounts: {err}"))
        .into_iter()
        .map(|a| a.name)
        .collect()
}

async fn save(db: &impl Connection, name: &str, balance: i64) -> Account {
    let mut a = account(name, balance);
    a.save(db)
        .await
        .unwrap_or_else(|err| panic!("saving {name}: {err}"));
    a
}

#[tokio::test]
async fn ok_commits_the_work() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        let outside = t.db.clone();
        let (inside, seen_outside, id) =
            t.db.transaction(|tx| async move {
                let mut alice = account("alice", 100);
                alice.save(&tx).await?;
                account("bob", 50).save(&tx).await?;
                let inside = Account::objects().count(&tx).await?;
                // Another connection does not see uncommitted rows.
                let seen_outside = Account::objects().count(&outside).await?;
                Ok::<_, OrmError>((inside, seen_outside, alice.id))
            })
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(inside, 2, "{b}");
        assert_eq!(seen_outside, 0, "{b}");
        assert!(id > 0, "{b}: {id}");
        assert_eq!(names(&t.db).await, ["alice", "bob"], "{b}");
        let alice = Account::objects()
            .filter(Account::ID.eq(id))
            .get(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(alice.balance, 100, "{b}");
        t
    })
    .await;
}

#[tokio::test]
async fn err_rolls_back_and_returns_the_error() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        save(&t.db, "before", 1).await;
        let result: Result<(), AppError> =
            t.db.transaction(|tx| async move {
                account("doomed", 2).save(&tx).await?;
                let changed = Account::objects()
                    .filter(Account::NAME.eq("before"))
                    .update(&tx, [Account::BALANCE.set(99)])
                    .await?;
                assert_eq!(changed, 1);
                Account::objects()
                    .filter(Account::NAME.eq("before"))
                    .delete(&tx)
                    .await?;
                Err(AppError::Refused("insufficient funds"))
            })
            .await;
        assert!(
            matches!(result, Err(AppError::Refused("insufficient funds"))),
            "{b}: {result:?}"
        );
        assert_eq!(Account::objects().count(&t.db).await.unwrap(), 1, "{b}");
        let before = Account::objects().get(&t.db).await.unwrap();
        assert_eq!((before.name.as_str(), before.balance), ("before", 1), "{b}");
        t
    })
    .await;
}

#[tokio::test]
async fn a_panic_rolls_back_and_propagates() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        let db = t.db.clone();
        let task = tokio::spawn(async move {
            db.transaction(|tx| async move {
                account("ghost", 1).save(&tx).await?;
                if tx.in_transaction() {
                    panic!("boom inside the transaction");
                }
                Ok::<_, OrmError>(())
            })
            .await
        });
        let err = task
            .await
            .expect_err("the panic propagates out of the task");
        assert!(err.is_panic(), "{b}: {err}");
        let payload = err.into_panic();
        assert_eq!(
            payload.downcast_ref::<&str>(),
            Some(&"boom inside the transaction"),
            "{b}"
        );
        assert_eq!(Account::objects().count(&t.db).await.unwrap(), 0, "{b}");

        // The same through catch_unwind, and the database is usable after.
        let caught = AssertUnwindSafe(t.db.transaction(|tx| async move {
            account("ghost", 1).save(&tx).await?;
            if tx.in_transaction() {
                panic!("boom again");
            }
            Ok::<_, OrmError>(())
        }))
        .catch_unwind()
        .await;
        assert!(caught.is_err(), "{b}");
        save(&t.db, "alive", 2).await;
        assert_eq!(names(&t.db).await, ["alive"], "{b}");
        t
    })
    .await;
}

#[tokio::test]
async fn a_failed_savepoint_leaves_the_outer_work_committed() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        let kept_id =
            t.db.transaction(|tx| async move {
                account("outer-1", 1).save(&tx).await?;

                let failed: Result<(), AppError> = tx
                    .transaction(|sp| async move {
                        account("inner-failed", 2).save(&sp).await?;
                        assert_eq!(Account::objects().count(&sp).await?, 2);
                        Err(AppError::Refused("changed my mind"))
                    })
                    .await;
                assert!(matches!(failed, Err(AppError::Refused(_))), "{failed:?}");
                assert_eq!(Account::objects().count(&tx).await?, 1);

                let kept_id = tx
                    .transaction(|sp| async move {
                        let mut kept = account("inner-kept", 3);
                        kept.save(&sp).await?;
                        Ok::<_, OrmError>(kept.id)
                    })
                    .await?;

                let panicked = AssertUnwindSafe(tx.transaction(|sp| async move {
                    account("inner-panicked", 4).save(&sp).await?;
                    if sp.in_transaction() {
                        panic!("boom in a savepoint");
                    }
                    Ok::<_, OrmError>(())
                }))
                .catch_unwind()
                .await;
                assert!(panicked.is_err());

                // Two levels deep: the innermost fails, its parent commits.
                tx.transaction(|sp| async move {
                    account("level-2", 5).save(&sp).await?;
                    let deeper: Result<(), AppError> = sp
                        .transaction(|sp2| async move {
                            account("level-3", 6).save(&sp2).await?;
                            Err(AppError::Refused("too deep"))
                        })
                        .await;
                    assert!(deeper.is_err());
                    Ok::<_, AppError>(())
                })
                .await?;

                account("outer-2", 7).save(&tx).await?;
                Ok::<_, AppError>(kept_id)
            })
            .await
            .unwrap_or_else(|err| panic!("{b}: {err:?}"));
        assert_eq!(
            names(&t.db).await,
            ["outer-1", "inner-kept", "level-2", "outer-2"],
            "{b}"
        );
        let kept = Account::objects()
            .filter(Account::ID.eq(kept_id))
            .get(&t.db)
            .await
            .unwrap();
        assert_eq!(kept.name, "inner-kept", "{b}");

        // An outer rollback undoes released savepoints too.
        let result: Result<(), AppError> =
            t.db.transaction(|tx| async move {
                tx.transaction(|sp| async move {
                    account("released-then-undone", 8).save(&sp).await?;
                    Ok::<_, OrmError>(())
                })
                .await?;
                Err(AppError::Refused("undo all"))
            })
            .await;
        assert!(result.is_err(), "{b}");
        assert_eq!(Account::objects().count(&t.db).await.unwrap(), 4, "{b}");
        t
    })
    .await;
}

#[tokio::test]
async fn a_unique_violation_writes_nothing_from_the_transaction() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        save(&t.db, "taken", 1).await;

        let result =
            t.db.transaction(|tx| async move {
                account("fresh", 2).save(&tx).await?;
                account("taken", 3).save(&tx).await?;
                Ok::<_, AppError>(())
            })
            .await;
        match &result {
            Err(AppError::Orm(OrmError::Integrity {
                kind: ConstraintKind::Unique,
                ..
            })) => {}
            other => panic!("{b}: expected a unique violation, got {other:?}"),
        }
        assert_eq!(names(&t.db).await, ["taken"], "{b}");

        // In a savepoint, the violation undoes only the savepoint, and the
        // transaction goes on (on PostgreSQL too).
        t.db.transaction(|tx| async move {
            account("fresh", 2).save(&tx).await?;
            let duplicate = tx
                .transaction(|sp| async move { account("taken", 3).save(&sp).await })
                .await;
            assert!(
                matches!(
                    duplicate,
                    Err(OrmError::Integrity {
                        kind: ConstraintKind::Unique,
                        ..
                    })
                ),
                "{duplicate:?}"
            );
            account("after", 4).save(&tx).await?;
            Ok::<_, OrmError>(())
        })
        .await
        .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(names(&t.db).await, ["taken", "fresh", "after"], "{b}");

        // A violation swallowed without a savepoint: PostgreSQL cannot
        // commit the rest, so the transaction is rolled back and says so;
        // SQLite and MariaDB undo only the failed statement.
        let result =
            t.db.transaction(|tx| async move {
                account("swallowed", 5).save(&tx).await?;
                let duplicate = account("taken", 6).save(&tx).await;
                assert!(
                    matches!(duplicate, Err(OrmError::Integrity { .. })),
                    "{duplicate:?}"
                );
                Ok::<_, OrmError>(())
            })
            .await;
        if b == "postgres" {
            assert!(
                matches!(result, Err(OrmError::Transaction { .. })),
                "{b}: {result:?}"
            );
            assert_eq!(names(&t.db).await, ["taken", "fresh", "after"], "{b}");
        } else {
            result.unwrap_or_else(|err| panic!("{b}: {err}"));
            assert_eq!(
                names(&t.db).await,
                ["taken", "fresh", "after", "swallowed"],
                "{b}"
            );
        }
        t
    })
    .await;
}

#[tokio::test]
async fn select_for_update_returns_the_rows_and_locks_them_where_it_can() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        save(&t.db, "alice", 100).await;
        save(&t.db, "bob", 50).await;
        let alice = Account::objects()
            .filter(Account::NAME.eq("alice"))
            .select_for_update();

        let (sql, values) = alice.to_sql(&t.db).unwrap();
        assert_eq!(values.len(), 1, "{b}: {sql}");
        if b == "sqlite" {
            assert!(!sql.contains("FOR UPDATE"), "{b}: {sql}");
        } else {
            assert!(sql.ends_with(" FOR UPDATE"), "{b}: {sql}");
        }
        let (plain, _) = Account::objects().to_sql(&t.db).unwrap();
        assert!(!plain.contains("FOR UPDATE"), "{b}: {plain}");

        let query = alice.clone();
        let (locked, first, count) =
            t.db.transaction(move |tx| async move {
                let mut locked = query.all(&tx).await?;
                for row in &mut locked {
                    row.balance -= 30;
                    row.save(&tx).await?;
                }
                let first = query.first(&tx).await?;
                let count = query.count(&tx).await?;
                Ok::<_, OrmError>((locked, first, count))
            })
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(locked.len(), 1, "{b}");
        assert_eq!(locked[0].name, "alice", "{b}");
        assert_eq!(first.map(|a| a.balance), Some(70), "{b}");
        assert_eq!(count, 1, "{b}");
        let stored = Account::objects()
            .filter(Account::NAME.eq("alice"))
            .get(&t.db)
            .await
            .unwrap();
        assert_eq!(stored.balance, 70, "{b}");

        // Outside a transaction the lock would end with the statement
        // (on SQLite, there would be no lock at all): refused everywhere.
        let outside = alice.all(&t.db).await;
        assert!(
            matches!(outside, Err(OrmError::Transaction { .. })),
            "{b}: {outside:?}"
        );
        t
    })
    .await;
}

#[tokio::test]
async fn concurrent_read_modify_write_under_select_for_update_loses_nothing() {
    on_backends(&["postgres", "mysql"], |t| async move {
        let b = t.backend;
        setup(&t).await;
        let id = save(&t.db, "counter", 0).await.id;
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let db = t.db.clone();
                tokio::spawn(async move {
                    db.transaction(|tx| async move {
                        let mut row = Account::objects()
                            .filter(Account::ID.eq(id))
                            .select_for_update()
                            .get(&tx)
                            .await?;
                        tokio::task::yield_now().await;
                        row.balance += 1;
                        row.save(&tx).await?;
                        Ok::<_, OrmError>(())
                    })
                    .await
                })
            })
            .collect();
        for task in tasks {
            task.await
                .unwrap_or_else(|err| panic!("{b}: {err}"))
                .unwrap_or_else(|err| panic!("{b}: {err}"));
        }
        let counter = Account::objects()
            .filter(Account::ID.eq(id))
            .get(&t.db)
            .await
            .unwrap();
        assert_eq!(counter.balance, 6, "{b}");
        t
    })
    .await;
}

#[tokio::test]
async fn a_handle_used_after_its_block_ended_is_refused() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        let leaked =
            t.db.transaction(|tx| async move { Ok::<_, OrmError>(tx.clone()) })
                .await
                .unwrap_or_else(|err| panic!("{b}: {err}"));
        let count = Account::objects().count(&leaked).await;
        assert!(
            matches!(count, Err(OrmError::Transaction { .. })),
            "{b}: {count:?}"
        );
        let mut a = account("late", 1);
        assert!(a.save(&leaked).await.is_err(), "{b}");

        t.db.transaction(|tx| async move {
            let inner = tx
                .transaction(|sp| async move { Ok::<_, OrmError>(sp) })
                .await?;
            let count = Account::objects().count(&inner).await;
            assert!(
                matches!(count, Err(OrmError::Transaction { .. })),
                "{count:?}"
            );
            // The outer block is still fine.
            account("on-time", 2).save(&tx).await?;
            Ok::<_, OrmError>(())
        })
        .await
        .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(names(&t.db).await, ["on-time"], "{b}");
        t
    })
    .await;
}

#[tokio::test]
async fn schema_changes_roll_back_where_ddl_is_transactional() {
    on_backends(&["sqlite", "postgres"], |t| async move {
        let b = t.backend;
        let result: Result<(), AppError> =
            t.db.transaction(|tx| async move {
                flagon_orm::schema::create_table(&tx, Account::META).await?;
                account("x", 1).save(&tx).await?;
                assert_eq!(Account::objects().count(&tx).await?, 1);
                Err(AppError::Refused("undo the table"))
            })
            .await;
        assert!(
            matches!(result, Err(AppError::Refused(_))),
            "{b}: {result:?}"
        );
        assert!(
            Account::objects().count(&t.db).await.is_err(),
            "{b}: the table should be gone"
        );
        setup(&t).await;
        assert_eq!(Account::objects().count(&t.db).await.unwrap(), 0, "{b}");
        t
    })
    .await;
}

/// A log the commit hooks write to.
type Log = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// A hook that notes `what`, with the accounts another connection (the
/// pool) sees when it runs.
fn noting(
    log: &Log,
    db: &flagon_orm::Db,
    what: &'static str,
) -> impl FnOnce() -> futures_util::future::BoxFuture<'static, ()> + Send + 'static {
    let log = log.clone();
    let db = db.clone();
    move || {
        Box::pin(async move {
            let seen = names(&db).await.join(",");
            log.lock().unwrap().push(format!("{what}:{seen}"));
        })
    }
}

#[tokio::test]
async fn on_commit_hooks_run_after_the_commit_and_never_after_a_rollback() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        let log: Log = Default::default();
        let (db, hook_log) = (t.db.clone(), log.clone());
        t.db.transaction(move |tx| async move {
            save(&tx, "kept", 1).await;
            tx.on_commit(noting(&hook_log, &db, "outer")).await?;
            // A savepoint that is released: its hook runs with the outer ones.
            tx.transaction(|sp| {
                let (db, hook_log) = (db.clone(), hook_log.clone());
                async move {
                    save(&sp, "inner", 2).await;
                    sp.on_commit(noting(&hook_log, &db, "released")).await
                }
            })
            .await?;
            // A savepoint rolled back to: its hook is dropped with its work.
            let undone: Result<(), AppError> = tx
                .transaction(|sp| {
                    let (db, hook_log) = (db.clone(), hook_log.clone());
                    async move {
                        save(&sp, "undone", 3).await;
                        sp.on_commit(noting(&hook_log, &db, "undone")).await?;
                        Err(AppError::Refused("changed my mind"))
                    }
                })
                .await;
            assert!(undone.is_err());
            assert!(
                hook_log.lock().unwrap().is_empty(),
                "nothing runs before the commit"
            );
            Ok::<_, OrmError>(())
        })
        .await
        .unwrap_or_else(|err| panic!("{b}: {err}"));
        // The hooks ran in order, once the rows were visible to others.
        assert_eq!(
            *log.lock().unwrap(),
            ["outer:kept,inner", "released:kept,inner"],
            "{b}"
        );

        // A transaction that rolls back runs none.
        let log: Log = Default::default();
        let (db, hook_log) = (t.db.clone(), log.clone());
        let rolled: Result<(), AppError> =
            t.db.transaction(move |tx| async move {
                save(&tx, "gone", 4).await;
                tx.on_commit(noting(&hook_log, &db, "never")).await?;
                Err(AppError::Refused("no"))
            })
            .await;
        assert!(rolled.is_err(), "{b}");
        assert!(log.lock().unwrap().is_empty(), "{b}");

        // A handle whose block ended cannot register a hook that would never run.
        let leaked =
            t.db.transaction(|tx| async move { Ok::<_, OrmError>(tx.clone()) })
                .await
                .unwrap();
        let late = leaked.on_commit(|| async {}).await;
        assert!(
            matches!(late, Err(OrmError::Transaction { .. })),
            "{b}: {late:?}"
        );
        t
    })
    .await;
}

/// The accounts `a0`, `a1`, .. with balances 0, 10, ..; their ids in order.
async fn many_accounts(db: &impl Connection, count: i64) -> Vec<i64> {
    let mut ids = Vec::new();
    for n in 0..count {
        ids.push(save(db, &format!("a{n}"), n * 10).await.id);
    }
    ids
}

#[tokio::test]
async fn a_held_connection_answers_concurrent_queries_each_with_its_own_rows() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        let ids = many_accounts(&t.db, 20).await;
        let conn =
            t.db.connection()
                .await
                .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert!(!conn.in_transaction(), "{b}");

        // Every get awaited together (pipelined on PostgreSQL), each
        // answered with its own row.
        let got = futures_util::future::try_join_all(ids.iter().map(|&id| {
            let conn = &conn;
            async move {
                Account::objects()
                    .filter(Account::ID.eq(id))
                    .get(conn)
                    .await
            }
        }))
        .await
        .unwrap_or_else(|err| panic!("{b}: {err}"));
        for (n, (account, id)) in got.iter().zip(&ids).enumerate() {
            assert_eq!(account.id, *id, "{b}");
            assert_eq!(account.name, format!("a{n}"), "{b}");
            assert_eq!(account.balance, n as i64 * 10, "{b}");
        }

        // Statements of different shapes, and failing ones, together: each
        // gets its own answer or error.
        let missing = Account::objects().filter(Account::ID.eq(-1));
        let rich = Account::objects().filter(Account::BALANCE.gte(100));
        let in_order = Account::objects().order_by(Account::ID.asc());
        let mut duplicate = account("a3", 0);
        let (missing, count, duplicate, first) = tokio::join!(
            missing.get(&conn),
            rich.count(&conn),
            duplicate.save(&conn),
            in_order.first(&conn),
        );
        assert!(
            matches!(missing, Err(OrmError::DoesNotExist { .. })),
            "{b}: {missing:?}"
        );
        assert_eq!(count.unwrap_or_else(|err| panic!("{b}: {err}")), 10, "{b}");
        match duplicate {
            Err(OrmError::Integrity {
                kind: ConstraintKind::Unique,
                constraint,
                ..
            }) => {
                if b == "postgres" {
                    assert!(
                        constraint
                            .as_deref()
                            .is_some_and(|name| name.contains("name")),
                        "{b}: {constraint:?}"
                    );
                }
            }
            other => panic!("{b}: expected a unique violation, got {other:?}"),
        }
        assert_eq!(
            first
                .unwrap_or_else(|err| panic!("{b}: {err}"))
                .map(|a| a.name),
            Some("a0".to_owned()),
            "{b}"
        );

        // Autocommit: what the handle wrote, another connection sees.
        save(&conn, "held", 1).await;
        assert_eq!(
            Account::objects()
                .filter(Account::NAME.eq("held"))
                .count(&t.db)
                .await
                .unwrap_or_else(|err| panic!("{b}: {err}")),
            1,
            "{b}"
        );

        // Streams run on the held connection too.
        use futures_util::TryStreamExt;
        let streamed: Vec<Account> = Account::objects()
            .filter(Account::BALANCE.lt(30))
            .stream(&conn)
            .try_collect()
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(
            streamed.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
            ["a0", "a1", "a2", "held"],
            "{b}"
        );
        drop(conn);
        t
    })
    .await;
}

#[tokio::test]
async fn concurrent_queries_in_one_transaction_each_get_their_own_rows() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        let ids = many_accounts(&t.db, 10).await;
        let balances =
            t.db.transaction(|tx| async move {
                Account::objects()
                    .filter(Account::ID.eq(ids[0]))
                    .update(&tx, [Account::BALANCE.set(1000)])
                    .await?;
                let got = futures_util::future::try_join_all(ids.iter().map(|&id| {
                    let tx = &tx;
                    async move { Account::objects().filter(Account::ID.eq(id)).get(tx).await }
                }))
                .await?;
                Ok::<_, OrmError>(got.into_iter().map(|a| a.balance).collect::<Vec<_>>())
            })
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(balances, [1000, 10, 20, 30, 40, 50, 60, 70, 80, 90], "{b}");
        t
    })
    .await;
}

#[tokio::test]
async fn a_transaction_dropped_midway_leaves_nothing_open() {
    on_each_backend(|t| async move {
        let b = t.backend;
        setup(&t).await;
        // One connection, so the next statement gets the dropped
        // transaction's connection back.
        let options = flagon_orm::DbOptions {
            max_connections: 1,
            ..support::db_options(b)
        };
        let one = flagon_orm::Db::connect_with(&t.url, options)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let dropped = tokio::time::timeout(
            std::time::Duration::from_millis(300),
            one.transaction(|tx| async move {
                save(&tx, "ghost", 1).await;
                futures_util::future::pending::<Result<(), OrmError>>().await
            }),
        )
        .await;
        assert!(
            dropped.is_err(),
            "{b}: the transaction should still be waiting"
        );

        // The write was rolled back, and the connection is in autocommit
        // mode again: what it writes now another connection sees.
        save(&one, "after", 2).await;
        assert_eq!(names(&t.db).await, ["after"], "{b}");
        one.close().await;
        t
    })
    .await;
}
