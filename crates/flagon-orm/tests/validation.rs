//! Model validation (Django's `full_clean`): field checks without a
//! database, and on every backend the checks that read it: unique fields
//! and `unique_together` against saved rows (never the row itself, NULLs
//! never colliding), foreign keys pointing to rows, the model's `clean`.

mod support;

use flagon_orm::{
    Connection, Decimal, ForeignKey, Model, ModelExt, OneToOne, OrmError, ValidationError,
    ValidationErrors,
};
use support::on_each_backend;

fn not_reserved(name: &String) -> Result<(), String> {
    if name == "admin" {
        Err(format!("{name:?} is reserved."))
    } else {
        Ok(())
    }
}

fn even(number: &i32) -> Result<(), ValidationError> {
    if number % 2 == 0 {
        Ok(())
    } else {
        Err(ValidationError::new("Must be even.").with_code("odd"))
    }
}

#[derive(Model, Debug, Clone)]
#[model(app = "val")]
struct Room {
    id: i64,
    #[field(max_length = 20, unique, min_length = 2, validators = [not_reserved])]
    name: String,
    #[field(max_length = 100, email, unique)]
    contact: Option<String>,
    #[field(max_length = 200, url, blank)]
    website: String,
    #[field(min = 1, max = 500, validators = [even])]
    seats: i32,
    #[field(min = 0.5, max_digits = 5, decimal_places = 2)]
    price: Decimal,
    #[field(max_length = 10, choices = [("open", "Open"), ("closed", "Closed")])]
    status: String,
    #[field(max_length = 30, blank = false)]
    note: Option<String>,
}

fn room(name: &str) -> Room {
    Room {
        id: 0,
        name: name.to_owned(),
        contact: None,
        website: String::new(),
        seats: 10,
        price: Decimal::new(1250, 2),
        status: "open".to_owned(),
        note: Some("ground floor".to_owned()),
    }
}

#[derive(Model, Debug, Clone)]
#[model(app = "val", unique_together = [["room", "day", "slot"]], clean = Booking::check)]
struct Booking {
    id: i64,
    #[field(on_delete = "cascade")]
    room: ForeignKey<Room>,
    day: i32,
    slot: Option<i32>,
    #[field(max_length = 50)]
    title: String,
    start: i32,
    end: i32,
}

impl Booking {
    fn check(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if self.end <= self.start {
            errors.add("end", "Ends before it starts.");
        }
        if self.title == "double" && self.day == 0 {
            errors.add_non_field("Day 0 is not bookable twice.");
        }
        errors.into_result()
    }
}

fn booking(room: &Room, day: i32, slot: Option<i32>) -> Booking {
    Booking {
        id: 0,
        room: ForeignKey::to(room),
        day,
        slot,
        title: "meeting".to_owned(),
        start: 9,
        end: 10,
    }
}

#[derive(Model, Debug, Clone)]
#[model(app = "val", clean = Badge::check)]
struct Badge {
    #[field(primary_key, max_length = 10)]
    code: String,
    #[field(on_delete = "cascade")]
    room: OneToOne<Room>,
}

impl Badge {
    fn check(&self) -> Result<(), &'static str> {
        if self.code.starts_with('x') {
            Err("Codes do not start with x.")
        } else {
            Ok(())
        }
    }
}

async fn tables(db: &impl Connection, backend: &str) {
    flagon_orm::schema::create_tables(db, &[Room::META, Booking::META, Badge::META])
        .await
        .unwrap_or_else(|err| panic!("{backend}: {err}"));
}

/// The errors `full_clean` found, or a panic naming what else happened.
async fn invalid<M: Model>(object: &M, db: &impl Connection, backend: &str) -> ValidationErrors {
    match object.full_clean(db).await {
        Err(OrmError::Invalid(errors)) => errors,
        Ok(()) => panic!("{backend}: full_clean passed"),
        Err(other) => panic!("{backend}: {other}"),
    }
}

fn codes(errors: &ValidationErrors, field: &str) -> Vec<String> {
    errors
        .field(field)
        .iter()
        .map(|error| error.code.to_string())
        .collect()
}

#[test]
fn clean_fields_checks_every_field_without_a_database() {
    assert_eq!(room("Hall").clean_fields(), Ok(()));
    let mut bad = room("admin");
    bad.contact = Some("nobody@".to_owned());
    bad.website = "example".to_owned();
    bad.seats = 501;
    bad.price = Decimal::new(1, 1);
    bad.status = "gone".to_owned();
    bad.note = None;
    let errors = bad.clean_fields().expect_err("invalid");
    assert_eq!(errors.field("name")[0].message, "\"admin\" is reserved.");
    assert_eq!(codes(&errors, "name"), ["invalid"]);
    assert_eq!(
        errors.field("contact")[0].message,
        "Enter a valid email address."
    );
    assert_eq!(errors.field("website")[0].message, "Enter a valid URL.");
    // A failed range check does not stop the functions: every error shows.
    assert_eq!(codes(&errors, "seats"), ["max_value", "odd"]);
    assert_eq!(
        errors.field("price")[0].message,
        "Ensure this value is greater than or equal to 0.5."
    );
    assert_eq!(
        errors.field("status")[0].message,
        "Value 'gone' is not a valid choice."
    );
    assert_eq!(codes(&errors, "note"), ["blank"]);
    let fields: Vec<&str> = errors.iter().map(|(field, _)| field).collect();
    assert_eq!(
        fields,
        ["name", "contact", "website", "seats", "price", "status", "note"],
        "errors come in field order"
    );

    // Empty values: refused unless blank (an `Option` is blank unless it
    // says `blank = false`), and never given to validators.
    let mut empty = room("");
    empty.contact = None;
    empty.note = Some(String::new());
    let errors = empty.clean_fields().expect_err("blank name");
    assert_eq!(codes(&errors, "name"), ["blank"]);
    assert_eq!(
        errors.field("name")[0].message,
        "This field cannot be blank."
    );
    assert_eq!(codes(&errors, "note"), ["blank"]);
    assert!(!errors.has("contact") && !errors.has("website"));

    // max_length and decimal digits are field errors too.
    let mut long = room(&"x".repeat(21));
    long.price = Decimal::new(12_345, 1);
    let errors = long.clean_fields().expect_err("too long");
    assert_eq!(codes(&errors, "name"), ["max_length"]);
    assert_eq!(
        errors.field("name")[0].message,
        "Ensure this value has at most 20 characters (it has 21)."
    );
    assert_eq!(codes(&errors, "price"), ["max_whole_digits"]);
    assert_eq!(
        codes(&room("a").clean_fields().unwrap_err(), "name"),
        ["min_length"]
    );
}

#[test]
fn errors_serialize_for_forms_and_convert_with_the_question_mark() {
    let mut bad = room("Hall");
    bad.seats = 3;
    let errors = bad.clean_fields().expect_err("odd");
    assert_eq!(
        serde_json::to_value(&errors).expect("serializes"),
        serde_json::json!({"seats": [{"message": "Must be even.", "code": "odd"}]})
    );

    fn check(room: &Room) -> Result<(), OrmError> {
        room.clean_fields()?;
        Ok(())
    }
    let error = check(&bad).expect_err("converted");
    assert_eq!(error.to_string(), "invalid values: seats: Must be even.");
    assert!(error.validation_errors().is_some_and(|e| e.has("seats")));
    let source = std::error::Error::source(&error).map(ToString::to_string);
    assert_eq!(source.as_deref(), Some("seats: Must be even."));
}

#[test]
fn the_derive_records_validators_for_forms() {
    use flagon_orm::validation::{Limit, Validator};
    let field = |name: &str| Room::META.field(name).expect("a field");
    assert_eq!(field("contact").validators, &[Validator::Email]);
    assert_eq!(
        field("seats").validators,
        &[
            Validator::Min(Limit::Int(1)),
            Validator::Max(Limit::Int(500))
        ]
    );
    assert_eq!(field("name").validators, &[Validator::MinLength(2)]);
    assert!(field("website").blank && field("contact").blank);
    assert!(!field("name").blank && !field("note").blank);
    assert!(!Room::META.primary_key().blank);
}

#[tokio::test]
async fn unique_fields_are_checked_against_saved_rows_but_not_the_row_itself() {
    on_each_backend(|t| async move {
        let b = t.backend;
        tables(&t.db, b).await;
        let mut hall = room("Hall");
        hall.contact = Some("hall@example.com".to_owned());
        hall.full_clean(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        hall.save(&t.db).await.expect("saved");
        // The saved row is not its own duplicate.
        hall.full_clean(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: the row itself: {err}"));
        hall.validate_unique(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: the row itself: {err}"));

        let mut twin = room("Hall");
        twin.contact = Some("hall@example.com".to_owned());
        let errors = invalid(&twin, &t.db, b).await;
        assert_eq!(
            errors.field("name")[0].message,
            "Room with this Name already exists.",
            "{b}"
        );
        assert_eq!(codes(&errors, "name"), ["unique"], "{b}");
        assert_eq!(codes(&errors, "contact"), ["unique"], "{b}");

        // A saved row taking another's value collides too.
        let mut annex = room("Annex");
        annex.save(&t.db).await.expect("saved");
        annex.name = "Hall".to_owned();
        let errors = invalid(&annex, &t.db, b).await;
        assert_eq!(codes(&errors, "name"), ["unique"], "{b}");
        annex.name = "Annex 2".to_owned();
        annex
            .full_clean(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));

        // NULLs never collide: two rooms without a contact are fine.
        assert!(annex.contact.is_none());
        let mut third = room("Third");
        third
            .full_clean(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: NULL contact: {err}"));
        third.save(&t.db).await.expect("saved");

        // A field that failed is not checked for uniqueness, and excluded
        // fields are not checked at all.
        let mut failing = room("Hall");
        failing.seats = 3;
        failing.contact = Some("hall@example".to_owned());
        let errors = invalid(&failing, &t.db, b).await;
        assert_eq!(codes(&errors, "contact"), ["invalid"], "{b}");
        assert_eq!(codes(&errors, "name"), ["unique"], "{b}");
        failing.seats = 4;
        failing
            .full_clean_except(&t.db, &["name", "contact"])
            .await
            .unwrap_or_else(|err| panic!("{b}: excluded: {err}"));

        // Django's save() does not validate; neither does Flagon's.
        let mut unchecked = room("Unchecked");
        unchecked.seats = 3;
        unchecked.status = "gone".to_owned();
        unchecked
            .save(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: save without full_clean: {err}"));
        t
    })
    .await;
}

#[tokio::test]
async fn unique_together_is_an_error_of_no_field() {
    on_each_backend(|t| async move {
        let b = t.backend;
        tables(&t.db, b).await;
        let mut hall = room("Hall");
        hall.save(&t.db).await.expect("saved");
        let mut first = booking(&hall, 1, Some(1));
        first.save(&t.db).await.expect("saved");
        first
            .full_clean(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: the row itself: {err}"));

        let errors = invalid(&booking(&hall, 1, Some(1)), &t.db, b).await;
        assert_eq!(
            errors.non_field()[0].message,
            "Booking with this Room, Day and Slot already exists.",
            "{b}"
        );
        assert_eq!(codes(&errors, "__all__"), ["unique_together"], "{b}");
        assert_eq!(errors.iter().count(), 1, "{b}: {errors}");

        // Another value in the group, a NULL in it, or a field of it
        // excluded: no collision.
        for other in [booking(&hall, 2, Some(1)), booking(&hall, 1, Some(2))] {
            other
                .full_clean(&t.db)
                .await
                .unwrap_or_else(|err| panic!("{b}: {err}"));
        }
        let mut open = booking(&hall, 1, None);
        open.save(&t.db).await.expect("saved");
        booking(&hall, 1, None)
            .full_clean(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: NULL in the group: {err}"));
        booking(&hall, 1, Some(1))
            .full_clean_except(&t.db, &["slot"])
            .await
            .unwrap_or_else(|err| panic!("{b}: excluded: {err}"));

        // Moving a saved booking onto a taken slot collides.
        open.slot = Some(1);
        let errors = invalid(&open, &t.db, b).await;
        assert_eq!(codes(&errors, "__all__"), ["unique_together"], "{b}");
        t
    })
    .await;
}

#[tokio::test]
async fn foreign_keys_and_the_model_clean() {
    on_each_backend(|t| async move {
        let b = t.backend;
        tables(&t.db, b).await;
        let mut hall = room("Hall");
        hall.save(&t.db).await.expect("saved");

        // A key to no row.
        let mut lost = booking(&hall, 1, None);
        lost.room = ForeignKey::new(hall.id + 1000);
        let errors = invalid(&lost, &t.db, b).await;
        assert_eq!(
            errors.field("room")[0].message,
            format!("Room instance with id {} does not exist.", hall.id + 1000),
            "{b}"
        );

        // The model's clean runs even when a field failed, and its errors
        // may name a field or none.
        let mut wrong = booking(&hall, 0, None);
        wrong.title = "double".to_owned();
        wrong.end = 8;
        wrong.room = ForeignKey::new(hall.id + 1000);
        let errors = invalid(&wrong, &t.db, b).await;
        assert!(errors.has("room"), "{b}: {errors}");
        assert_eq!(errors.field("end")[0].message, "Ends before it starts.");
        assert_eq!(
            errors.non_field()[0].message,
            "Day 0 is not bookable twice."
        );
        // clean_fields alone neither reads the database nor runs clean.
        assert_eq!(wrong.clean_fields(), Ok(()));

        // A one-to-one link is unique; a primary key of one's own is the
        // row itself; a clean returning text is an error of no field.
        let mut badge = Badge {
            code: "a1".to_owned(),
            room: OneToOne::to(&hall),
        };
        badge.save(&t.db).await.expect("saved");
        badge
            .full_clean(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        let second = Badge {
            code: "x2".to_owned(),
            room: OneToOne::to(&hall),
        };
        let errors = invalid(&second, &t.db, b).await;
        assert_eq!(
            errors.field("room")[0].message,
            "Badge with this Room already exists.",
            "{b}"
        );
        assert_eq!(
            errors.non_field()[0].message,
            "Codes do not start with x.",
            "{b}"
        );
        t
    })
    .await;
}

#[tokio::test]
async fn full_clean_sees_the_rows_of_its_transaction() {
    on_each_backend(|t| async move {
        let b = t.backend;
        tables(&t.db, b).await;
        let result: Result<(), OrmError> =
            t.db.transaction(|tx| async move {
                let mut hall = room("Hall");
                hall.full_clean(&tx).await?;
                hall.save(&tx).await?;
                room("Hall").full_clean(&tx).await
            })
            .await;
        match result {
            Err(OrmError::Invalid(errors)) => {
                assert_eq!(codes(&errors, "name"), ["unique"], "{b}")
            }
            other => panic!("{b}: {other:?}"),
        }
        // Rolled back: the name is free again.
        room("Hall")
            .full_clean(&t.db)
            .await
            .unwrap_or_else(|err| panic!("{b}: {err}"));
        t
    })
    .await;
}
