//! Query sets and instance methods against real databases: SQLite always,
//! PostgreSQL and MariaDB when their test URLs are set.

mod support;

use chrono::{DateTime, Duration, TimeZone, Utc};
use flagon_orm::{ConstraintKind, Model, ModelExt, OrmError};
use support::{on_each_backend, TestDb};

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "polls", ordering = ["id"])]
struct Question {
    id: i64,
    #[field(max_length = 50, unique)]
    question_text: String,
    pub_date: DateTime<Utc>,
    votes: i32,
    note: Option<String>,
    open: bool,
}

fn day(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 12, 0, 0)
        .single()
        .expect("a valid date")
        + Duration::days(n)
}

fn question(text: &str, days: i64, votes: i32) -> Question {
    Question {
        id: 0,
        question_text: text.to_owned(),
        pub_date: day(days),
        votes,
        note: None,
        open: votes % 2 == 0,
    }
}

async fn setup(t: &TestDb) -> Vec<Question> {
    flagon_orm::schema::create_table(&t.db, Question::META)
        .await
        .unwrap_or_else(|err| panic!("{}: create table: {err}", t.backend));
    let mut saved = Vec::new();
    for (i, text) in [
        "What's new?",
        "Best colour?",
        "Tabs or spaces?",
        "100% sure_?",
    ]
    .iter()
    .enumerate()
    {
        let mut q = question(text, i as i64, (i as i32) * 10);
        q.save(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{}: save: {err}", t.backend));
        saved.push(q);
    }
    saved
}

#[tokio::test]
async fn save_assigns_ids_and_all_reads_back_in_order() {
    on_each_backend(|t| async move {
        let saved = setup(&t).await;
        let ids: Vec<i64> = saved.iter().map(|q| q.id).collect();
        assert!(ids.iter().all(|id| *id > 0), "{}: {ids:?}", t.backend);
        let all = Question::objects().all(&t.db).await.unwrap();
        assert_eq!(all, saved, "{}", t.backend);
        t
    })
    .await;
}

#[tokio::test]
async fn lookups_filter_as_django_does() {
    on_each_backend(|t| async move {
        setup(&t).await;
        let texts = |rows: Vec<Question>| {
            rows.into_iter()
                .map(|q| q.question_text)
                .collect::<Vec<_>>()
        };
        let b = t.backend;
        let qs = Question::objects();
        assert_eq!(
            texts(
                qs.clone()
                    .filter(Question::VOTES.gte(20))
                    .all(&t.db)
                    .await
                    .unwrap()
            ),
            ["Tabs or spaces?", "100% sure_?"],
            "{b}"
        );
        assert_eq!(
            texts(
                qs.clone()
                    .filter(Question::VOTES.lt(10))
                    .all(&t.db)
                    .await
                    .unwrap()
            ),
            ["What's new?"],
            "{b}"
        );
        assert_eq!(
            qs.clone()
                .filter(Question::VOTES.ne(10))
                .count(&t.db)
                .await
                .unwrap(),
            3,
            "{b}"
        );
        assert_eq!(
            texts(
                qs.clone()
                    .filter(Question::VOTES.in_([0, 30]))
                    .all(&t.db)
                    .await
                    .unwrap()
            ),
            ["What's new?", "100% sure_?"],
            "{b}"
        );
        assert_eq!(
            qs.clone()
                .filter(Question::VOTES.in_(Vec::<i32>::new()))
                .count(&t.db)
                .await
                .unwrap(),
            0,
            "{b}"
        );
        assert_eq!(
            qs.clone()
                .filter(Question::PUB_DATE.range(day(1), day(2)))
                .count(&t.db)
                .await
                .unwrap(),
            2,
            "{b}"
        );
        assert_eq!(
            texts(
                qs.clone()
                    .filter(Question::QUESTION_TEXT.icontains("COLOUR"))
                    .all(&t.db)
                    .await
                    .unwrap()
            ),
            ["Best colour?"],
            "{b}"
        );
        assert_eq!(
            texts(
                qs.clone()
                    .filter(Question::QUESTION_TEXT.startswith("Tabs"))
                    .all(&t.db)
                    .await
                    .unwrap()
            ),
            ["Tabs or spaces?"],
            "{b}"
        );
        assert_eq!(
            texts(
                qs.clone()
                    .filter(Question::QUESTION_TEXT.endswith("?"))
                    .all(&t.db)
                    .await
                    .unwrap()
            )
            .len(),
            4,
            "{b}"
        );
        // Wildcards in the text are literal.
        assert_eq!(
            texts(
                qs.clone()
                    .filter(Question::QUESTION_TEXT.contains("% sure_"))
                    .all(&t.db)
                    .await
                    .unwrap()
            ),
            ["100% sure_?"],
            "{b}"
        );
        assert_eq!(
            qs.clone()
                .filter(Question::QUESTION_TEXT.contains("_"))
                .count(&t.db)
                .await
                .unwrap(),
            1,
            "{b}"
        );
        assert_eq!(
            qs.clone()
                .filter(Question::NOTE.isnull(true))
                .count(&t.db)
                .await
                .unwrap(),
            4,
            "{b}"
        );
        assert_eq!(
            qs.clone()
                .filter(Question::OPEN.eq(true))
                .count(&t.db)
                .await
                .unwrap(),
            4,
            "{b}"
        );
        t
    })
    .await;
}

#[tokio::test]
async fn and_or_not_combine() {
    on_each_backend(|t| async move {
        setup(&t).await;
        let b = t.backend;
        let qs = Question::objects();
        let either = Question::VOTES.eq(0) | Question::VOTES.eq(30);
        assert_eq!(
            qs.clone()
                .filter(either.clone())
                .count(&t.db)
                .await
                .unwrap(),
            2,
            "{b}"
        );
        assert_eq!(
            qs.clone()
                .filter(either.clone() & Question::PUB_DATE.gt(day(0)))
                .count(&t.db)
                .await
                .unwrap(),
            1,
            "{b}"
        );
        assert_eq!(
            qs.clone()
                .filter(!either.clone())
                .count(&t.db)
                .await
                .unwrap(),
            2,
            "{b}"
        );
        assert_eq!(
            qs.clone().exclude(either).count(&t.db).await.unwrap(),
            2,
            "{b}"
        );
        t
    })
    .await;
}

#[tokio::test]
async fn ordering_slicing_first_last_exists() {
    on_each_backend(|t| async move {
        setup(&t).await;
        let b = t.backend;
        let newest = Question::objects()
            .order_by(Question::PUB_DATE.desc())
            .limit(2)
            .all(&t.db)
            .await
            .unwrap();
        assert_eq!(
            newest.iter().map(|q| q.votes).collect::<Vec<_>>(),
            [30, 20],
            "{b}"
        );
        let page = Question::objects()
            .offset(1)
            .limit(2)
            .all(&t.db)
            .await
            .unwrap();
        assert_eq!(
            page.iter().map(|q| q.votes).collect::<Vec<_>>(),
            [10, 20],
            "{b}"
        );
        let rest = Question::objects().offset(3).all(&t.db).await.unwrap();
        assert_eq!(rest.len(), 1, "{b}");
        assert_eq!(
            Question::objects()
                .first(&t.db)
                .await
                .unwrap()
                .unwrap()
                .votes,
            0,
            "{b}"
        );
        assert_eq!(
            Question::objects()
                .last(&t.db)
                .await
                .unwrap()
                .unwrap()
                .votes,
            30,
            "{b}"
        );
        assert!(
            Question::objects()
                .filter(Question::VOTES.gt(25))
                .exists(&t.db)
                .await
                .unwrap(),
            "{b}"
        );
        assert!(
            !Question::objects()
                .filter(Question::VOTES.gt(99))
                .exists(&t.db)
                .await
                .unwrap(),
            "{b}"
        );
        assert!(
            Question::objects()
                .filter(Question::VOTES.gt(99))
                .first(&t.db)
                .await
                .unwrap()
                .is_none(),
            "{b}"
        );
        t
    })
    .await;
}

#[tokio::test]
async fn get_reports_none_and_many() {
    on_each_backend(|t| async move {
        setup(&t).await;
        let b = t.backend;
        let one = Question::objects()
            .filter(Question::VOTES.eq(10))
            .get(&t.db)
            .await
            .unwrap();
        assert_eq!(one.question_text, "Best colour?", "{b}");
        let none = Question::objects()
            .filter(Question::VOTES.eq(7))
            .get(&t.db)
            .await
            .unwrap_err();
        assert!(none.is_does_not_exist(), "{b}: {none}");
        assert_eq!(
            none.to_string(),
            "Question matching the query does not exist"
        );
        let many = Question::objects()
            .filter(Question::VOTES.gte(10))
            .get(&t.db)
            .await
            .unwrap_err();
        assert!(
            matches!(many, OrmError::MultipleObjectsReturned { count: 3, .. }),
            "{b}: {many}"
        );
        t
    })
    .await;
}

#[tokio::test]
async fn update_and_delete_change_the_matching_rows() {
    on_each_backend(|t| async move {
        let mut saved = setup(&t).await;
        let b = t.backend;
        let changed = Question::objects()
            .filter(Question::VOTES.gte(20))
            .update(
                &t.db,
                [
                    Question::NOTE.set(Some("hot".to_owned())),
                    Question::OPEN.set(false),
                ],
            )
            .await
            .unwrap();
        assert_eq!(changed, 2, "{b}");
        assert_eq!(
            Question::objects()
                .filter(Question::NOTE.eq(Some("hot".to_owned())))
                .count(&t.db)
                .await
                .unwrap(),
            2,
            "{b}"
        );
        let first = &mut saved[0];
        first.votes = 99;
        first.save(&t.db).await.unwrap();
        let mut reloaded = first.clone();
        reloaded.votes = 0;
        reloaded.refresh(&t.db).await.unwrap();
        assert_eq!(reloaded.votes, 99, "{b}");
        assert!(saved[1].delete(&t.db).await.unwrap(), "{b}");
        assert!(
            !saved[1].delete(&t.db).await.unwrap(),
            "{b}: deleting twice finds no row"
        );
        assert_eq!(
            Question::objects()
                .filter(Question::VOTES.lt(50))
                .delete(&t.db)
                .await
                .unwrap(),
            2,
            "{b}"
        );
        assert_eq!(Question::objects().count(&t.db).await.unwrap(), 1, "{b}");
        t
    })
    .await;
}

#[tokio::test]
async fn bad_values_write_nothing_and_name_the_problem() {
    on_each_backend(|t| async move {
        setup(&t).await;
        let b = t.backend;
        let mut long = question(&"x".repeat(51), 9, 1);
        let err = long.save(&t.db).await.unwrap_err();
        assert!(
            matches!(
                err,
                OrmError::Validation {
                    field: "question_text",
                    ..
                }
            ),
            "{b}: {err}"
        );
        assert!(
            err.to_string().contains("at most 50 characters"),
            "{b}: {err}"
        );
        let err = Question::objects()
            .update(&t.db, [Question::QUESTION_TEXT.set("y".repeat(60))])
            .await
            .unwrap_err();
        assert!(matches!(err, OrmError::Validation { .. }), "{b}: {err}");
        let mut duplicate = question("Best colour?", 9, 1);
        let err = duplicate.save(&t.db).await.unwrap_err();
        assert!(
            matches!(
                err,
                OrmError::Integrity {
                    kind: ConstraintKind::Unique,
                    ..
                }
            ),
            "{b}: {err:?}"
        );
        assert_eq!(
            Question::objects().count(&t.db).await.unwrap(),
            4,
            "{b}: nothing was written"
        );
        t
    })
    .await;
}

/// `DbOptions::init_command` runs on every connection the pool opens.
#[tokio::test]
async fn init_command_runs_on_each_new_connection() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let (command, read) = match b {
            "sqlite" => ("PRAGMA cache_size = -4321", "PRAGMA cache_size"),
            "postgres" => (
                "SET application_name = 'flagon-init'",
                "SELECT current_setting('application_name')",
            ),
            _ => (
                "SET SESSION time_zone = '+02:00'",
                "SELECT CAST(@@SESSION.time_zone AS CHAR)",
            ),
        };
        let options = flagon_orm::DbOptions {
            max_connections: 2,
            init_command: Some(command.to_owned()),
            ..flagon_orm::DbOptions::default()
        };
        let db = flagon_orm::Db::connect_with(&t.url, options)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        // Two connections at once (the second opened while the first is
        // held by a transaction): each ran the command.
        let (first, second) = db
            .transaction(|tx| {
                let db = db.clone();
                async move {
                    let first = setting(&tx, b, read).await;
                    let second = db
                        .transaction(|other| async move {
                            Ok::<_, OrmError>(setting(&other, b, read).await)
                        })
                        .await?;
                    Ok::<_, OrmError>((first, second))
                }
            })
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let expected = match b {
            "sqlite" => "-4321",
            "postgres" => "flagon-init",
            _ => "+02:00",
        };
        assert_eq!(first, expected, "{b}");
        assert_eq!(second, expected, "{b}");
        db.close().await;
        t
    })
    .await;
}

/// The one value `sql` reads, as text.
async fn setting(db: &impl flagon_orm::Connection, backend: &str, sql: &str) -> String {
    let rows = db
        .fetch_all(sql, flagon_orm::Values(Vec::new()))
        .await
        .unwrap_or_else(|err| panic!("{backend}: {sql}: {err}"));
    let row = rows.first().expect("a row");
    if backend == "sqlite" {
        row.get::<i64>(0).expect("a number").to_string()
    } else {
        row.get::<String>(0).expect("text")
    }
}

/// The MySQL-protocol test sessions run under MySQL 8's default
/// `sql_mode` (the test server is MariaDB), so every query of the suite
/// is checked against `ONLY_FULL_GROUP_BY` and MySQL 8's strict modes.
#[tokio::test]
async fn mysql_test_sessions_use_mysql_8_sql_mode() {
    support::on_backends(&["mysql"], |t| async move {
        let mode = setting(&t.db, "mysql", "SELECT CAST(@@SESSION.sql_mode AS CHAR)").await;
        let mut have: Vec<&str> = mode.split(',').collect();
        have.sort_unstable();
        let mut want: Vec<&str> = support::MYSQL8_SQL_MODE.split(',').collect();
        want.sort_unstable();
        assert_eq!(have, want);
        t
    })
    .await;
}
