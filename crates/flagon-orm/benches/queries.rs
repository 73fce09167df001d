//! The ORM's overhead over raw sqlx for a simple select on SQLite: query
//! building alone, and building + running + decoding 50 rows.
//!
//! `cargo bench -p flagon-orm --bench queries`; figures in bench/README.md.

use chrono::{DateTime, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use flagon_orm::{Db, Model, ModelExt};
use sqlx::Row as _;

#[derive(Model, Debug, Clone)]
#[model(app = "bench")]
struct Item {
    id: i64,
    #[field(max_length = 100)]
    name: String,
    score: i32,
    created: DateTime<Utc>,
}

/// The same rows decoded by hand from raw sqlx.
#[derive(Debug)]
#[allow(dead_code)]
struct RawItem {
    id: i64,
    name: String,
    score: i32,
    created: DateTime<Utc>,
}

async fn fill(db: &Db) {
    flagon_orm::schema::create_table(db, Item::META)
        .await
        .expect("table");
    for i in 0..100 {
        let mut item = Item {
            id: 0,
            name: format!("item {i}"),
            score: i,
            created: Utc
                .timestamp_opt(1_700_000_000 + i64::from(i), 0)
                .single()
                .expect("a time"),
        };
        item.save(db).await.expect("insert");
    }
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = tempfile::tempdir().expect("a folder");
    let url = format!("sqlite://{}", dir.path().join("bench.sqlite3").display());
    let db = runtime.block_on(Db::connect(&url)).expect("SQLite");
    runtime.block_on(fill(&db));
    let pool = runtime
        .block_on(sqlx::SqlitePool::connect(&url))
        .expect("a raw sqlx pool on the same file");

    c.bench_function("build select (orm)", |b| {
        b.iter(|| {
            Item::objects()
                .filter(Item::SCORE.gt(10))
                .order_by(Item::ID.asc())
                .limit(50)
                .to_sql(&db)
        })
    });

    c.bench_function("select 50 rows (orm)", |b| {
        b.to_async(&runtime).iter(|| async {
            let rows = Item::objects()
                .filter(Item::SCORE.gt(10))
                .order_by(Item::ID.asc())
                .limit(50)
                .all(&db)
                .await
                .expect("rows");
            assert_eq!(rows.len(), 50);
            rows
        })
    });

    c.bench_function("select 50 rows (raw sqlx)", |b| {
        b.to_async(&runtime).iter(|| async {
            let rows = sqlx::query(
                r#"SELECT "id", "name", "score", "created" FROM "bench_item" WHERE "score" > ? ORDER BY "id" ASC LIMIT ?"#,
            )
            .bind(10i32)
            .bind(50i64)
            .fetch_all(&pool)
            .await
            .expect("rows");
            let items: Vec<RawItem> = rows
                .iter()
                .map(|row| RawItem {
                    id: row.get(0),
                    name: row.get(1),
                    score: row.get(2),
                    created: row.get(3),
                })
                .collect();
            assert_eq!(items.len(), 50);
            items
        })
    });
}

criterion_group!(queries, benches);
criterion_main!(queries);
