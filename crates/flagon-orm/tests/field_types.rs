//! Every field type round-trips through every backend, NULLs included.

mod support;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use flagon_orm::{Model, ModelExt};
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
