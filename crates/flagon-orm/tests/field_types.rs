//! Every field type round-trips through every backend, NULLs included.

mod support;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use flagon_orm::{Decimal, Model, ModelExt, Uuid};
use support::on_each_backend;

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "types")]
struct Sample {
    id: i64,
    small: i16,
    int: i32,
    big: i64,
    flag: bool,
    single: f32,
    double: f64,
    #[field(max_length = 20)]
    short: String,
    long: String,
    bytes: Vec<u8>,
    at: DateTime<Utc>,
    day: NaiveDate,
    time: NaiveTime,
    maybe_day: Option<NaiveDate>,
    maybe_text: Option<String>,
}

fn sample() -> Sample {
    Sample {
        id: 0,
        small: -12,
        int: 123_456,
        big: 9_000_000_000,
        flag: true,
        single: 1.5,
        double: -2.25,
        short: "héllo".into(),
        long: "x".repeat(5000),
        bytes: vec![0, 255, 7],
        at: Utc
            .with_ymd_and_hms(2024, 2, 29, 23, 59, 58)
            .single()
            .expect("a time"),
        day: NaiveDate::from_ymd_opt(1999, 12, 31).expect("a date"),
        time: NaiveTime::from_hms_micro_opt(13, 14, 15, 250_000).expect("a time"),
        maybe_day: None,
        maybe_text: Some("there".into()),
    }
}

#[tokio::test]
async fn values_round_trip_on_every_backend() {
    on_each_backend(|t| async move {
        let b = t.backend;
        flagon_orm::schema::create_table(&t.db, Sample::META)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let mut written = sample();
        written
            .save(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let read = Sample::objects()
            .get(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(read, written, "{b}");

        written.maybe_day = Some(NaiveDate::from_ymd_opt(2030, 1, 2).expect("a date"));
        written.maybe_text = None;
        written.save(&t.db).await.unwrap();
        let read = Sample::objects().get(&t.db).await.unwrap();
        assert_eq!(read, written, "{b}");

        let by_day = Sample::objects()
            .filter(Sample::DAY.lt(NaiveDate::from_ymd_opt(2000, 1, 1).expect("a date")))
            .filter(Sample::MAYBE_TEXT.isnull(true))
            .count(&t.db)
            .await
            .unwrap();
        assert_eq!(by_day, 1, "{b}");
        t
    })
    .await;
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "types")]
struct Document {
    id: i64,
    #[field(max_digits = 8, decimal_places = 2)]
    price: Decimal,
    #[field(max_digits = 5, decimal_places = 3)]
    ratio: Option<Decimal>,
    #[field(unique)]
    token: Uuid,
    other: Option<Uuid>,
    data: serde_json::Value,
    extra: Option<serde_json::Value>,
}

fn decimal(text: &str) -> Decimal {
    text.parse().expect("a decimal")
}

#[tokio::test]
async fn decimals_uuids_and_json_round_trip_and_filter() {
    on_each_backend(|t| async move {
        let b = t.backend;
        flagon_orm::schema::create_table(&t.db, Document::META)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let token = Uuid::new_v4();
        let mut first = Document {
            id: 0,
            price: decimal("123456.78"),
            ratio: Some(decimal("-1.125")),
            token,
            other: None,
            data: serde_json::json!({"tags": ["a", "b"], "n": 1, "quote": "it's \"x\""}),
            extra: None,
        };
        first
            .save(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let mut second = Document {
            id: 0,
            price: decimal("0.10"),
            ratio: None,
            token: Uuid::new_v4(),
            other: Some(token),
            data: serde_json::json!([1, 2.5, null]),
            extra: Some(serde_json::json!("text")),
        };
        second
            .save(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));

        let read = Document::objects()
            .order_by(Document::ID.asc())
            .all(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(read, vec![first.clone(), second.clone()], "{b}");

        let dear = Document::objects()
            .filter(Document::PRICE.gt(decimal("100")))
            .all(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(
            dear,
            vec![first.clone()],
            "{b}: decimals compare as numbers"
        );
        let by_token = Document::objects()
            .filter(Document::OTHER.eq(Some(token)))
            .get(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(by_token.id, second.id, "{b}");

        let mut too_precise = Document {
            token: Uuid::new_v4(),
            price: decimal("1.005"),
            ..second.clone()
        };
        too_precise.id = 0;
        let err = too_precise.save(&t.db).await.expect_err("three places");
        assert!(
            err.to_string()
                .contains("Document.price: ensure that there are no more than 2 decimal places"),
            "{b}: {err}"
        );
        let mut duplicate = Document {
            id: 0,
            ..second.clone()
        };
        let err = duplicate.save(&t.db).await.expect_err("same token");
        assert!(
            matches!(err, flagon_orm::OrmError::Integrity { .. }),
            "{b}: {err:?}"
        );
        assert_eq!(Document::objects().count(&t.db).await.unwrap(), 2, "{b}");
        t
    })
    .await;
}
