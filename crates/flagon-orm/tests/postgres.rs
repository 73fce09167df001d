//! The PostgreSQL driver (tokio-postgres): statements prepared once per
//! connection, the session's settings, rows read straight from the server,
//! errors mapped to the ORM's, and a server that is down.

mod support;

use flagon_orm::{Connection, ConstraintKind, Db, DbOptions, OrmError, Value, Values};
use support::on_backends;

fn values(values: Vec<Value>) -> Values {
    Values(values)
}

#[tokio::test]
async fn statements_are_prepared_once_per_connection() {
    on_backends(&["postgres"], |t| async move {
        let conn = t.db.connection().await.expect("a connection");
        let sql = "SELECT $1::int8 + 1 AS next";
        for n in 0..3_i64 {
            let rows = conn
                .fetch_all(sql, values(vec![n.into()]))
                .await
                .expect("the query");
            assert_eq!(rows[0].get::<i64>(0).expect("a number"), n + 1);
        }
        // A NULL of another type is another statement (typed parameters).
        let rows = conn
            .fetch_all(sql, values(vec![Value::Int(None)]))
            .await
            .expect("the query");
        assert!(rows[0].is_null(0).expect("a column"));
        let rows = conn
            .fetch_all(
                "SELECT count(*) FROM pg_prepared_statements \
                 WHERE statement = $1 AND NOT from_sql",
                values(vec![sql.into()]),
            )
            .await
            .expect("the prepared statements");
        assert_eq!(rows[0].get::<i64>(0).expect("a count"), 2);
        t
    })
    .await;
}

#[tokio::test]
async fn a_statement_whose_table_changed_is_prepared_afresh() {
    on_backends(&["postgres"], |t| async move {
        let conn = t.db.connection().await.expect("a connection");
        conn.execute_unprepared("CREATE TABLE note (id int4); INSERT INTO note VALUES (1)")
            .await
            .expect("the table");
        let sql = "SELECT * FROM note";
        let rows = conn.fetch_all(sql, values(Vec::new())).await.expect("rows");
        assert_eq!(rows[0].len(), 1);
        conn.execute_unprepared("ALTER TABLE note ADD COLUMN body text")
            .await
            .expect("the new column");
        // The server refuses the statement as prepared at most once; the
        // next run prepares it again and reads the new column.
        let mut last = None;
        for _ in 0..2 {
            last = Some(conn.fetch_all(sql, values(Vec::new())).await);
        }
        let rows = last.expect("a run").expect("rows after the change");
        assert_eq!(rows[0].column_names(), ["id", "body"]);
        t
    })
    .await;
}

#[tokio::test]
async fn sessions_run_in_utc_with_iso_dates() {
    on_backends(&["postgres"], |t| async move {
        let rows =
            t.db.fetch_all(
                "SELECT current_setting('TimeZone'), \
                 CAST(CAST('2024-05-06 23:30:00+00' AS timestamptz) AS date)::text",
                values(Vec::new()),
            )
            .await
            .expect("the settings");
        assert_eq!(rows[0].get::<String>(0).expect("text"), "UTC");
        assert_eq!(rows[0].get::<String>(1).expect("text"), "2024-05-06");
        t
    })
    .await;
}

#[tokio::test]
async fn rows_tell_their_columns_nulls_and_decode_errors() {
    on_backends(&["postgres"], |t| async move {
        let rows =
            t.db.fetch_all(
                "SELECT CAST(1 AS int4) AS a, CAST(NULL AS text) AS b, $1 AS c",
                values(vec![Value::Uuid(None)]),
            )
            .await
            .expect("a row");
        let row = &rows[0];
        assert_eq!(row.len(), 3);
        assert_eq!(row.column_names(), ["a", "b", "c"]);
        assert!(!row.is_null(0).expect("a column"));
        assert!(row.is_null(1).expect("a column"));
        assert!(row.is_null(2).expect("a column"));
        assert_eq!(row.get::<i32>(0).expect("an int4"), 1);
        assert_eq!(row.get::<Option<String>>(1).expect("a NULL"), None);
        assert_eq!(row.get::<Option<uuid::Uuid>>(2).expect("a NULL"), None);
        match row.get::<i64>(0) {
            Err(OrmError::Decode { column, message }) => {
                assert_eq!(column, "0");
                assert!(message.contains("int4"), "{message}");
            }
            other => panic!("expected a decode error, got {other:?}"),
        }
        assert!(matches!(row.get::<String>(1), Err(OrmError::Decode { .. })));
        assert!(matches!(row.is_null(7), Err(OrmError::Decode { .. })));
        t
    })
    .await;
}

#[tokio::test]
async fn constraint_violations_name_their_kind_and_constraint() {
    on_backends(&["postgres"], |t| async move {
        let db = &t.db;
        db.execute_unprepared(
            "CREATE TABLE parent (id int4 PRIMARY KEY); \
             CREATE TABLE child (\
                 id int4 CONSTRAINT child_pk PRIMARY KEY, \
                 name varchar(5) NOT NULL CONSTRAINT name_not_x CHECK (name <> 'x'), \
                 parent_id int4 CONSTRAINT child_parent REFERENCES parent (id))",
        )
        .await
        .expect("the tables");
        let insert = "INSERT INTO child (id, name, parent_id) VALUES ($1, $2, $3)";
        let run = |id: i32, name: Option<&str>, parent: Option<i32>| {
            db.execute(
                insert,
                values(vec![
                    id.into(),
                    Value::String(name.map(str::to_owned)),
                    Value::Int(parent),
                ]),
            )
        };
        let done = run(1, Some("a"), None).await.expect("a row");
        assert_eq!(done.rows_affected, 1);
        for (result, kind, constraint) in [
            (
                run(1, Some("b"), None).await,
                ConstraintKind::Unique,
                Some("child_pk"),
            ),
            (run(2, None, None).await, ConstraintKind::NotNull, None),
            (
                run(3, Some("x"), None).await,
                ConstraintKind::Check,
                Some("name_not_x"),
            ),
            (
                run(4, Some("toolong"), None).await,
                ConstraintKind::TooLong,
                None,
            ),
            (
                run(5, Some("e"), Some(9)).await,
                ConstraintKind::ForeignKey,
                Some("child_parent"),
            ),
        ] {
            match result {
                Err(OrmError::Integrity {
                    kind: got,
                    constraint: name,
                    message,
                }) => {
                    assert_eq!(got, kind, "{message}");
                    assert_eq!(name.as_deref(), constraint, "{message}");
                }
                other => panic!("expected a {kind} violation, got {other:?}"),
            }
        }
        // Any other error the server reports keeps its SQLSTATE.
        match db.execute_unprepared("SELECT * FROM missing_table").await {
            Err(OrmError::Postgres(err)) => {
                assert_eq!(
                    err.code(),
                    Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE)
                );
                let shown = OrmError::Postgres(err).to_string();
                assert!(shown.contains("missing_table"), "{shown}");
            }
            other => panic!("expected a PostgreSQL error, got {other:?}"),
        }
        t
    })
    .await;
}

#[tokio::test]
async fn a_server_that_is_down_is_unavailable() {
    let options = DbOptions {
        acquire_timeout: std::time::Duration::from_secs(2),
        ..DbOptions::default()
    };
    // Nothing listens on port 1.
    match Db::connect_with("postgres://app:secret@127.0.0.1:1/app", options).await {
        Err(OrmError::Unavailable { message }) => {
            assert!(!message.contains("secret"), "{message}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    match Db::connect("postgresql://app@127.0.0.1/app?nonsense=1").await {
        Err(OrmError::InvalidUrl { url, .. }) => assert!(url.starts_with("postgresql://")),
        other => panic!("expected InvalidUrl, got {other:?}"),
    }
}

/// A transaction dropped on another runtime, which stops before its
/// ROLLBACK could run, does not leave its connection in the pool inside
/// the open transaction: the next user of the pool would otherwise run in
/// it, and what it writes would never be committed.
#[tokio::test]
async fn a_transaction_dropped_on_a_runtime_that_stops_leaves_no_open_transaction_behind() {
    on_backends(&["postgres"], |t| async move {
        // One connection, made and driven by this test's runtime.
        let options = DbOptions {
            max_connections: 1,
            ..support::db_options(t.backend)
        };
        let one = Db::connect_with(&t.url, options).await.expect("a pool");
        one.execute_unprepared("SELECT 1")
            .await
            .expect("a connection");

        let other = one.clone();
        // On a thread of its own, while this runtime drives the connection.
        tokio::task::spawn_blocking(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            let dropped = runtime.block_on(async {
                tokio::time::timeout(
                    std::time::Duration::from_millis(200),
                    other.transaction(|tx| async move {
                        tx.execute_unprepared("SET LOCAL application_name = 'stale'")
                            .await?;
                        futures_util::future::pending::<Result<(), OrmError>>().await
                    }),
                )
                .await
            });
            assert!(dropped.is_err(), "the transaction should still be waiting");
            // The ROLLBACK spawned on this runtime never runs.
            drop(runtime);
        })
        .await
        .expect("the other runtime's thread");

        // `SET LOCAL` lasts as long as its transaction.
        let rows = one
            .fetch_all(
                "SELECT current_setting('application_name')",
                values(Vec::new()),
            )
            .await
            .expect("a statement on the pool");
        assert_ne!(
            rows[0].get::<String>(0).expect("text"),
            "stale",
            "the statement ran inside the dropped transaction"
        );
        one.close().await;
        t
    })
    .await;
}

/// A connection keeps at most 512 statements prepared: past them it
/// forgets them all and starts over, so that queries of ever new text
/// (`IN` lists of every length) do not grow its cache, and the server's,
/// without end.
#[tokio::test]
async fn a_connection_keeps_a_bounded_number_of_statements_prepared() {
    on_backends(&["postgres"], |t| async move {
        let conn = t.db.connection().await.expect("a connection");
        let count = "SELECT count(*) FROM pg_prepared_statements WHERE NOT from_sql";
        for n in 0..600_i64 {
            let sql = format!("SELECT $1::int8 + {n}");
            let rows = conn
                .fetch_all(&sql, values(vec![1_i64.into()]))
                .await
                .expect("the query");
            assert_eq!(rows[0].get::<i64>(0).expect("a number"), n + 1);
        }
        let rows = conn
            .fetch_all(count, values(Vec::new()))
            .await
            .expect("the count");
        let kept = rows[0].get::<i64>(0).expect("a count");
        assert!(
            (1..=513).contains(&kept),
            "{kept} statements prepared on the connection"
        );
        t
    })
    .await;
}
