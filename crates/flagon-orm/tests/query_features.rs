//! The rest of Django's query set on every backend: distinct, slices, date
//! parts, F expressions, values, aggregates and grouping, bulk_create,
//! get_or_create, update_or_create, streams and raw SQL.

mod support;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use flagon_orm::aggregate::{Avg, Count, Max, Min, Sum};
use flagon_orm::{Decimal, Model, Value};
use futures_util::TryStreamExt;
use support::on_each_backend;

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "qf", ordering = ["id"])]
struct Item {
    id: i64,
    #[field(max_length = 50, unique)]
    name: String,
    #[field(max_length = 20)]
    kind: String,
    stock: i32,
    reserved: i32,
    price: f64,
    #[field(max_digits = 8, decimal_places = 2)]
    cost: Decimal,
    added: NaiveDate,
    seen: DateTime<Utc>,
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a date")
}

fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 30, 0)
        .single()
        .expect("a time")
}

fn item(name: &str, kind: &str, stock: i32, reserved: i32, price: f64, cost: &str) -> Item {
    Item {
        id: 0,
        name: name.into(),
        kind: kind.into(),
        stock,
        reserved,
        price,
        cost: cost.parse().expect("a decimal"),
        added: day(2025, 12, 31),
        seen: at(2025, 12, 31, 23),
    }
}

/// Four items: two tools, two toys; one added on New Year's Day 2026.
async fn stock(db: &flagon_orm::Db) -> Vec<Item> {
    flagon_orm::schema::create_table(db, Item::META)
        .await
        .expect("table");
    let mut items = vec![
        item("hammer", "tool", 10, 2, 12.5, "7.25"),
        item("saw", "tool", 3, 3, 20.0, "11.00"),
        item("ball", "toy", 7, 0, 2.5, "0.75"),
        Item {
            added: day(2026, 1, 1),
            seen: at(2026, 1, 1, 0),
            ..item("kite", "toy", 1, 4, 9.0, "3.10")
        },
    ];
    Item::objects()
        .bulk_create(db, &mut items)
        .await
        .expect("bulk_create");
    items
}

fn names(items: &[Item]) -> Vec<&str> {
    items.iter().map(|item| item.name.as_str()).collect()
}

#[tokio::test]
async fn distinct_slices_and_date_parts() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let db = &t.db;
        stock(db).await;

        let kinds: Vec<(String,)> = Item::objects()
            .order_by(Item::KIND.asc())
            .distinct()
            .values_list(db, (Item::KIND,))
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(kinds, [("tool".to_owned(),), ("toy".to_owned(),)], "{b}");

        let all = Item::objects();
        assert_eq!(
            names(&all.clone().slice(1..3).all(db).await.expect("q")),
            ["saw", "ball"]
        );
        assert_eq!(
            names(&all.clone().slice(..1).all(db).await.expect("q")),
            ["hammer"]
        );
        assert!(
            all.clone().slice(10..).all(db).await.expect("q").is_empty(),
            "{b}"
        );
        let nested = all.clone().slice(1..).slice(1..5).all(db).await.expect("q");
        assert_eq!(names(&nested), ["ball", "kite"], "{b}: a slice of a slice");
        assert_eq!(
            all.clone().slice(1..3).count(db).await.expect("count"),
            2,
            "{b}"
        );

        let new_year = Item::objects()
            .filter(Item::ADDED.year().eq(2026))
            .all(db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(names(&new_year), ["kite"], "{b}");
        let seen_in_december = Item::objects()
            .filter(Item::SEEN.month().eq(12) & Item::SEEN.day().eq(31))
            .count(db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(seen_in_december, 3, "{b}: datetimes read in UTC");
        let either_year = Item::objects()
            .filter(Item::SEEN.year().in_([2025, 2026]))
            .count(db)
            .await
            .expect("count");
        assert_eq!(either_year, 4, "{b}");
        t
    })
    .await;
}

#[tokio::test]
async fn f_expressions_compare_and_update_columns() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let db = &t.db;
        stock(db).await;
        let spare = Item::objects()
            .filter(Item::STOCK.f().gt(Item::RESERVED.f() + 1))
            .all(db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(names(&spare), ["hammer", "ball"], "{b}");

        let changed = Item::objects()
            .filter(Item::KIND.eq("tool"))
            .update(
                db,
                [Item::STOCK.set_f(Item::STOCK.f() - Item::RESERVED.f() * 2)],
            )
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(changed, 2, "{b}");
        let stocks: Vec<(String, i32)> = Item::objects()
            .values_list(db, (Item::NAME, Item::STOCK))
            .await
            .expect("values");
        assert_eq!(
            stocks,
            [
                ("hammer".to_owned(), 6),
                ("saw".to_owned(), -3),
                ("ball".to_owned(), 7),
                ("kite".to_owned(), 1)
            ],
            "{b}"
        );
        t
    })
    .await;
}

#[tokio::test]
async fn values_aggregates_and_groups() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let db = &t.db;
        stock(db).await;

        let records = Item::objects()
            .filter(Item::NAME.eq("ball"))
            .values(db, &["name", "stock", "cost"])
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(records.len(), 1);
        assert_eq!(records[0]["name"], Value::String(Some("ball".into())), "{b}");
        assert_eq!(records[0]["stock"], Value::Int(Some(7)), "{b}");
        assert!(
            matches!(records[0]["cost"], Value::Decimal(Some(cost)) if cost == "0.75".parse::<Decimal>().expect("d")),
            "{b}: {:?}",
            records[0]["cost"]
        );
        let err = Item::objects().values(db, &["colour"]).await.expect_err("no such field");
        assert!(err.to_string().contains("Item has no field `colour`"), "{err}");

        let (count, stock, price, first, dearest) = Item::objects()
            .aggregate(
                db,
                (
                    Count::all(),
                    Sum::of(Item::STOCK),
                    Avg::of(Item::PRICE),
                    Min::of(Item::ADDED),
                    Max::of(Item::COST),
                ),
            )
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(count, 4, "{b}");
        assert_eq!(stock, Some(21), "{b}");
        assert_eq!(price, Some(11.0), "{b}");
        assert_eq!(first, Some(day(2025, 12, 31)), "{b}");
        assert_eq!(dearest, Some("11.00".parse::<Decimal>().expect("d")), "{b}");

        let empty = Item::objects()
            .filter(Item::STOCK.gt(1000))
            .aggregate(db, (Count::all(), Sum::of(Item::STOCK), Avg::of(Item::PRICE)))
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(empty, (0, None, None), "{b}: an empty set");
        let kinds = Item::objects()
            .aggregate(db, Count::distinct(Item::KIND))
            .await
            .expect("count distinct");
        assert_eq!(kinds, 2, "{b}");

        let groups = Item::objects()
            .order_by(Item::KIND.asc())
            .group_by((Item::KIND,))
            .annotate(db, (Count::all(), Sum::of(Item::STOCK), Max::of(Item::PRICE)))
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(
            groups,
            [
                (("tool".to_owned(),), (2, Some(13), Some(20.0))),
                (("toy".to_owned(),), (2, Some(8), Some(9.0)))
            ],
            "{b}"
        );
        t
    })
    .await;
}

#[tokio::test]
async fn bulk_create_get_or_create_and_update_or_create() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let db = &t.db;
        let made = stock(db).await;
        let ids: Vec<i64> = made.iter().map(|item| item.id).collect();
        let stored: Vec<(i64, String)> = Item::objects()
            .values_list(db, (Item::ID, Item::NAME))
            .await
            .expect("values");
        let expected: Vec<(i64, String)> = made.iter().map(|i| (i.id, i.name.clone())).collect();
        assert_eq!(
            stored, expected,
            "{b}: the keys bulk_create stored are the rows'"
        );
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{b}: {ids:?}");

        let mut none: Vec<Item> = Vec::new();
        Item::objects()
            .bulk_create(db, &mut none)
            .await
            .expect("nothing to do");
        let mut many: Vec<Item> = (0..5)
            .map(|n| item(&format!("bolt{n}"), "part", n, 0, 0.1, "0.01"))
            .collect();
        Item::objects()
            .bulk_create_in_batches(db, &mut many, 2)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let parts = Item::objects()
            .filter(Item::KIND.eq("part"))
            .all(db)
            .await
            .expect("q");
        assert_eq!(parts, many, "{b}: three statements, keys in order");

        let mut bad = vec![
            item("ok", "x", 1, 1, 1.0, "1"),
            item(&"y".repeat(51), "x", 1, 1, 1.0, "1"),
        ];
        let err = Item::objects()
            .bulk_create(db, &mut bad)
            .await
            .expect_err("too long");
        assert!(err.to_string().contains("Item.name"), "{b}: {err}");
        assert_eq!(
            Item::objects()
                .filter(Item::NAME.eq("ok"))
                .count(db)
                .await
                .expect("q"),
            0
        );

        let (kite, created) = Item::objects()
            .filter(Item::NAME.eq("kite"))
            .get_or_create(db, || item("kite", "toy", 0, 0, 0.0, "0"))
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert!(!created, "{b}");
        assert_eq!(kite.stock, 1, "{b}");
        let (drum, created) = Item::objects()
            .filter(Item::NAME.eq("drum"))
            .get_or_create(db, || item("drum", "toy", 2, 0, 30.0, "15"))
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert!(created && drum.id > 0, "{b}");

        let (updated, created) = Item::objects()
            .filter(Item::NAME.eq("drum"))
            .update_or_create(db, unreachable_item, |drum| drum.stock = 9)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert!(!created && updated.stock == 9, "{b}");
        assert_eq!(
            Item::objects()
                .filter(Item::NAME.eq("drum"))
                .get(db)
                .await
                .expect("q")
                .stock,
            9
        );
        let (_, created) = Item::objects()
            .filter(Item::NAME.eq("flute"))
            .update_or_create(db, || item("flute", "toy", 1, 0, 5.0, "2"), |_| {})
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert!(created, "{b}");
        t
    })
    .await;
}

fn unreachable_item() -> Item {
    item("never", "made", 0, 0, 0.0, "0")
}

#[tokio::test]
async fn streams_and_raw_sql() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let db = &t.db;
        stock(db).await;
        let streamed: Vec<Item> = Item::objects()
            .filter(Item::KIND.eq("toy"))
            .stream(db)
            .try_collect()
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(names(&streamed), ["ball", "kite"], "{b}");
        let in_transaction = db
            .transaction(|tx| async move {
                Item::objects().stream(&tx).try_collect::<Vec<Item>>().await
            })
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(in_transaction.len(), 4, "{b}");

        let placeholder = if b == "postgres" { "$1" } else { "?" };
        let sql = format!("SELECT * FROM qf_item WHERE stock > {placeholder} ORDER BY name");
        let raw: Vec<Item> = flagon_orm::query::raw(db, &sql, vec![5.into()])
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(names(&raw), ["ball", "hammer"], "{b}");
        let err = flagon_orm::query::raw::<Item>(db, "SELECT name, id FROM qf_item", Vec::new())
            .await
            .expect_err("columns out of order");
        assert!(
            err.to_string()
                .contains("must return the columns id, name, kind, stock, reserved, price, cost, added, seen in that order; it returned name, id"),
            "{b}: {err}"
        );
        t
    })
    .await;
}

/// A `bulk_update` of the same fields and number of rows runs the text
/// kept from the first one with the new values, each row getting its own.
#[tokio::test]
async fn repeated_bulk_updates_of_one_shape_write_each_rows_values() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let db = &t.db;
        let mut items = stock(db).await;
        for round in 1..=3 {
            for (n, item) in items.iter_mut().enumerate() {
                item.stock = round * 10 + n as i32;
            }
            // Rows in another order each round: the values follow the keys.
            items.reverse();
            let changed = Item::objects()
                .bulk_update(db, &items, &["stock"])
                .await
                .unwrap_or_else(|err| panic!("{b}: {err}"));
            assert_eq!(changed, 4, "{b}");
            let mut expected: Vec<(i64, i32)> =
                items.iter().map(|item| (item.id, item.stock)).collect();
            expected.sort();
            let stored: Vec<(i64, i32)> = Item::objects()
                .order_by(Item::ID.asc())
                .values_list(db, (Item::ID, Item::STOCK))
                .await
                .expect("values");
            assert_eq!(stored, expected, "{b}: round {round}");
        }
        t
    })
    .await;
}

#[tokio::test]
async fn bulk_update_writes_many_rows_in_one_statement() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let db = &t.db;
        let mut items = stock(db).await;
        for item in &mut items {
            item.stock += 100;
            item.kind = format!("{}!", item.kind);
            item.price = -1.0;
        }
        let changed = Item::objects()
            .bulk_update(db, &items, &["stock", "kind"])
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(changed, 4, "{b}");
        let stored: Vec<(String, i32, String, f64)> = Item::objects()
            .values_list(db, (Item::NAME, Item::STOCK, Item::KIND, Item::PRICE))
            .await
            .expect("values");
        assert_eq!(
            stored,
            [
                ("hammer".to_owned(), 110, "tool!".to_owned(), 12.5),
                ("saw".to_owned(), 103, "tool!".to_owned(), 20.0),
                ("ball".to_owned(), 107, "toy!".to_owned(), 2.5),
                ("kite".to_owned(), 101, "toy!".to_owned(), 9.0)
            ],
            "{b}: only the named fields changed"
        );
        let err = Item::objects()
            .bulk_update(db, &items, &["colour"])
            .await
            .expect_err("unknown");
        assert!(
            err.to_string().contains("Item has no field `colour`"),
            "{err}"
        );
        let err = Item::objects()
            .bulk_update(db, &items, &["id"])
            .await
            .expect_err("the key");
        assert!(err.to_string().contains("cannot change it"), "{err}");
        items[0].kind = "x".repeat(21);
        let err = Item::objects()
            .bulk_update(db, &items, &["kind"])
            .await
            .expect_err("too long");
        assert!(err.to_string().contains("Item.kind"), "{b}: {err}");
        assert_eq!(
            Item::objects()
                .filter(Item::KIND.eq("tool!"))
                .count(db)
                .await
                .expect("count"),
            2,
            "{b}: nothing written"
        );
        t
    })
    .await;
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "qf")]
struct Label {
    id: i32,
    #[field(max_length = 20)]
    text: String,
}

#[tokio::test]
async fn bulk_create_mixes_given_and_automatic_keys_of_any_width() {
    on_each_backend(|t| async move {
        let b = t.backend;
        let db = &t.db;
        flagon_orm::schema::create_table(db, Label::META)
            .await
            .expect("table");
        let mut labels = vec![
            Label {
                id: 0,
                text: "auto one".into(),
            },
            Label {
                id: 500,
                text: "given".into(),
            },
            Label {
                id: 0,
                text: "auto two".into(),
            },
        ];
        Label::objects()
            .bulk_create(db, &mut labels)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(labels[1].id, 500, "{b}");
        assert!(
            labels[0].id > 0 && labels[2].id > 0 && labels[0].id != labels[2].id,
            "{b}: {labels:?}"
        );
        let mut stored = Label::objects().all(db).await.expect("labels");
        stored.sort_by_key(|label| label.id);
        let mut expected = labels.clone();
        expected.sort_by_key(|label| label.id);
        assert_eq!(
            stored, expected,
            "{b}: the keys stored are the rows' (none is 0)"
        );
        t
    })
    .await;
}
