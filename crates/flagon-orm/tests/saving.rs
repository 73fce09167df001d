//! Saving part of an object (`save_fields`, Django's
//! `save(update_fields=..)`) and the fields that fill themselves in
//! (`auto_now`, `auto_now_add`), on every backend.

mod support;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use flagon_orm::migrations::{FieldState, ModelState};
use flagon_orm::{Model, ModelExt, OrmError};
use support::on_each_backend;

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "saving")]
struct Post {
    id: i64,
    #[field(max_length = 20)]
    title: String,
    votes: i32,
    body: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "saving")]
struct Entry {
    id: i64,
    #[field(max_length = 50)]
    title: String,
    #[field(auto_now_add)]
    created: DateTime<Utc>,
    #[field(auto_now)]
    updated: DateTime<Utc>,
    #[field(auto_now_add)]
    first_day: NaiveDate,
    #[field(auto_now)]
    last_day: Option<NaiveDate>,
}

fn long_ago() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0)
        .single()
        .expect("a valid instant")
}

fn entry(title: &str) -> Entry {
    let old = long_ago();
    Entry {
        id: 0,
        title: title.to_owned(),
        created: old,
        updated: old,
        first_day: old.date_naive(),
        last_day: None,
    }
}

/// Sets every date of `entry` back to 2000, to see which ones a write sets.
fn age(entry: &mut Entry) {
    let old = long_ago();
    entry.created = old;
    entry.updated = old;
    entry.first_day = old.date_naive();
    entry.last_day = None;
}

/// Whether two instants are the same to the microsecond (what the
/// databases keep).
fn same_instant(a: DateTime<Utc>, b: DateTime<Utc>) -> bool {
    (a - b)
        .num_microseconds()
        .is_some_and(|micros| micros.abs() < 1)
}

fn post(title: &str, votes: i32, body: &str) -> Post {
    Post {
        id: 0,
        title: title.to_owned(),
        votes,
        body: body.to_owned(),
    }
}

#[tokio::test]
async fn save_fields_writes_only_the_named_columns() {
    on_each_backend(|t| async move {
        let b = t.backend;
        flagon_orm::schema::create_table(&t.db, Post::META)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let mut first = post("First", 1, "original");
        first
            .save(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let mut other = post("Other", 7, "other body");
        other
            .save(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));

        // Another writer changes the body meanwhile; our stale copy must
        // not put the old one back.
        let mut theirs = Post::objects()
            .filter(Post::ID.eq(first.id))
            .get(&t.db)
            .await;
        if let Ok(theirs) = theirs.as_mut() {
            theirs.body = "their edit".to_owned();
            theirs
                .save(&t.db)
                .await
                .unwrap_or_else(|err| panic!("{b}: {err}"));
        }
        first.title = "Edited".to_owned();
        first.votes = 2;
        first.body = "stale".to_owned();
        first
            .save_fields(&t.db, &["title", "votes", "title"])
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let stored = Post::objects()
            .filter(Post::ID.eq(first.id))
            .get(&t.db)
            .await;
        let stored = stored.unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(stored.title, "Edited", "{b}");
        assert_eq!(stored.votes, 2, "{b}");
        assert_eq!(stored.body, "their edit", "{b}: the body was not named");
        let untouched = Post::objects()
            .filter(Post::ID.eq(other.id))
            .get(&t.db)
            .await;
        assert_eq!(
            untouched.ok(),
            Some(other.clone()),
            "{b}: only the object's row"
        );

        // Writing the values the row already has is no error (MySQL
        // counts such a row as found, not changed).
        first
            .save_fields(&t.db, &["title", "votes"])
            .await
            .unwrap_or_else(|err| panic!("{b}: unchanged values: {err}"));
        // No names, nothing written (as Django).
        first
            .save_fields(&t.db, &[])
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        t
    })
    .await;
}

#[tokio::test]
async fn save_fields_refuses_what_it_cannot_do() {
    on_each_backend(|t| async move {
        let b = t.backend;
        flagon_orm::schema::create_table(&t.db, Post::META)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let mut saved = post("Saved", 1, "body");
        saved.save(&t.db).await.unwrap_or_else(|err| panic!("{b}: {err}"));

        let err = saved
            .save_fields(&t.db, &["title", "score", "id"])
            .await
            .expect_err("unknown names");
        let text = err.to_string();
        assert!(matches!(err, OrmError::InvalidQuery { model: "Post", .. }), "{b}: {err:?}");
        assert!(
            text.contains("`score`, `id`") && text.contains("primary key `id`"),
            "{b}: {text}"
        );

        // A value save() would refuse is refused here too, and nothing is written.
        saved.title = "a title far too long for twenty".to_owned();
        saved.votes = 99;
        let err = saved
            .save_fields(&t.db, &["votes", "title"])
            .await
            .expect_err("too long");
        assert!(
            matches!(err, OrmError::Validation { field: "title", .. }),
            "{b}: {err:?}"
        );
        let stored = Post::objects().filter(Post::ID.eq(saved.id)).get(&t.db).await;
        assert_eq!(stored.map(|p| p.votes).ok(), Some(1), "{b}");

        // An unsaved object has no row to update.
        let mut unsaved = post("New", 0, "");
        let err = unsaved
            .save_fields(&t.db, &["title"])
            .await
            .expect_err("unsaved");
        assert!(
            matches!(&err, OrmError::InvalidQuery { message, .. } if message.contains("has none yet")),
            "{b}: {err:?}"
        );

        // A key no row has: an error, never an insert.
        let mut gone = post("Gone", 3, "");
        gone.id = saved.id + 1000;
        let err = gone
            .save_fields(&t.db, &["title"])
            .await
            .expect_err("no row");
        assert!(err.is_does_not_exist(), "{b}: {err:?}");
        let count = Post::objects().count(&t.db).await;
        assert_eq!(count.ok(), Some(1), "{b}: nothing inserted");
        t
    })
    .await;
}

#[tokio::test]
async fn auto_now_fields_are_set_on_save_insert_and_bulk_create() {
    on_each_backend(|t| async move {
        let b = t.backend;
        flagon_orm::schema::create_table(&t.db, Entry::META)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let before = Utc::now();
        let today = before.date_naive();

        // save() of a new object: both kinds set, in memory and in the row.
        let mut one = entry("one");
        one.save(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert!(
            one.created >= before && one.updated >= before,
            "{b}: {one:?}"
        );
        assert_eq!(one.created, one.updated, "{b}: one instant per save");
        assert!(
            one.first_day >= today && one.last_day >= Some(today),
            "{b}: {one:?}"
        );
        let stored = Entry::objects()
            .filter(Entry::ID.eq(one.id))
            .get(&t.db)
            .await;
        let stored = stored.unwrap_or_else(|err| panic!("{b}: {err}"));
        assert!(
            same_instant(stored.created, one.created),
            "{b}: {stored:?} {one:?}"
        );
        assert!(
            same_instant(stored.updated, one.updated),
            "{b}: {stored:?} {one:?}"
        );
        assert_eq!(stored.first_day, one.first_day, "{b}");
        assert_eq!(stored.last_day, one.last_day, "{b}");

        // save() of a saved object: auto_now again, auto_now_add left as it is.
        let created = one.created;
        let first_update = one.updated;
        age(&mut one);
        one.save(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert!(one.updated >= first_update, "{b}: {one:?}");
        assert_eq!(
            one.created,
            long_ago(),
            "{b}: auto_now_add is not set on update"
        );
        assert!(one.last_day >= Some(today), "{b}: {one:?}");
        let _ = created;

        // save_fields: an auto_now field only when named (Django's update_fields).
        let mut two = entry("two");
        two.save(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let saved_updated = two.updated;
        age(&mut two);
        two.title = "two, renamed".to_owned();
        two.save_fields(&t.db, &["title"])
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert_eq!(two.updated, long_ago(), "{b}: not named, not set");
        let stored = Entry::objects()
            .filter(Entry::ID.eq(two.id))
            .get(&t.db)
            .await;
        let stored = stored.unwrap_or_else(|err| panic!("{b}: {err}"));
        assert!(
            same_instant(stored.updated, saved_updated),
            "{b}: {stored:?}"
        );
        assert_eq!(stored.title, "two, renamed", "{b}");
        two.save_fields(&t.db, &["title", "updated", "created"])
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert!(two.updated >= saved_updated, "{b}: named, set: {two:?}");
        assert_eq!(
            two.created,
            long_ago(),
            "{b}: auto_now_add never set by an update"
        );
        let stored = Entry::objects()
            .filter(Entry::ID.eq(two.id))
            .get(&t.db)
            .await;
        let stored = stored.unwrap_or_else(|err| panic!("{b}: {err}"));
        assert!(same_instant(stored.updated, two.updated), "{b}: {stored:?}");
        assert!(
            same_instant(stored.created, long_ago()),
            "{b}: written as it was"
        );

        // insert(): both kinds.
        let mut three = entry("three");
        three
            .insert(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert!(
            three.created >= before && three.updated >= before,
            "{b}: {three:?}"
        );
        assert!(three.first_day >= today, "{b}: {three:?}");

        // save() with a key no row has inserts, and so sets auto_now_add.
        let mut keyed = entry("keyed");
        keyed.id = three.id + 100;
        keyed
            .save(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        assert!(keyed.created >= before, "{b}: {keyed:?}");

        // bulk_create: both kinds, on every object.
        let mut many = vec![entry("four"), entry("five")];
        Entry::objects()
            .bulk_create(&t.db, &mut many)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        for made in &many {
            assert!(
                made.created >= before && made.updated >= before,
                "{b}: {made:?}"
            );
            assert!(
                made.first_day >= today && made.last_day >= Some(today),
                "{b}"
            );
            let stored = Entry::objects()
                .filter(Entry::ID.eq(made.id))
                .get(&t.db)
                .await;
            let stored = stored.unwrap_or_else(|err| panic!("{b}: {err}"));
            assert!(
                same_instant(stored.created, made.created),
                "{b}: {stored:?}"
            );
        }

        // QuerySet::update and bulk_update write what they are given, as
        // Django's do: no auto_now.
        Entry::objects()
            .filter(Entry::ID.eq(one.id))
            .update(&t.db, [Entry::TITLE.set("updated in bulk".to_owned())])
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let stored = Entry::objects()
            .filter(Entry::ID.eq(one.id))
            .get(&t.db)
            .await;
        let stored = stored.unwrap_or_else(|err| panic!("{b}: {err}"));
        assert!(same_instant(stored.updated, one.updated), "{b}: {stored:?}");
        t
    })
    .await;
}

#[test]
fn auto_now_leaves_the_migration_state_alone() {
    // The options are not column options (as in Django): the state, and so
    // makemigrations, sees plain date columns.
    for name in ["created", "updated", "first_day", "last_day"] {
        let field = Entry::META.field(name).expect("the field");
        assert!(field.auto_now || field.auto_now_add, "{name}");
        let plain = flagon_orm::FieldMeta {
            auto_now: false,
            auto_now_add: false,
            ..field.clone()
        };
        assert_eq!(
            FieldState::from_meta(field),
            FieldState::from_meta(&plain),
            "{name}"
        );
    }
    let state = ModelState::from_meta(Entry::META);
    assert_eq!(state.fields.len(), 6);
}
