//! `#[derive(Model)]`: the metadata, primary key handling and typed field
//! constants it generates (no database needed).

use chrono::{DateTime, Utc};
use flagon_orm::{Field, FieldKind, FieldMeta, Model, Value};

/// The example from the derive's documentation, with every attribute.
#[derive(Model, Debug, Clone, PartialEq)]
#[model(
    app = "polls",
    table = "polls_question",
    ordering = ["-pub_date", "id"],
    unique_together = [["question_text", "pub_date"]]
)]
struct Question {
    id: i64,
    #[field(
        max_length = 200,
        unique,
        index,
        db_column = "text",
        verbose_name = "question",
        help_text = "What is asked.",
        choices = [("a", "A"), ("b", "B")]
    )]
    question_text: String,
    pub_date: DateTime<Utc>,
    note: Option<String>,
}

/// Defaults everywhere: app from the crate name, table from app and model.
#[derive(Model, Debug, Clone, PartialEq)]
struct BlogPost {
    id: i32,
    title: String,
    rating: Option<f64>,
    published: bool,
    body: Vec<u8>,
    views: i16,
}

/// An explicit, non-automatic primary key; `id` is then a plain field.
#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "geo")]
struct Country {
    #[field(primary_key, max_length = 2)]
    code: String,
    id: i64,
}

/// An explicit automatic key with another name, and a raw identifier.
#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "shop", table = "tickets")]
struct Ticket {
    #[field(primary_key, auto)]
    number: i32,
    r#type: String,
}

/// An automatic key that is `None` until saved.
#[derive(Model, Debug, Clone, PartialEq)]
#[model(app = "shop")]
struct Tag {
    id: Option<i64>,
    name: String,
}

fn field(meta: &FieldMeta) -> (&str, &str, FieldKind, bool, bool, bool) {
    (
        meta.name,
        meta.column,
        meta.kind,
        meta.null,
        meta.primary_key,
        meta.auto,
    )
}

#[test]
fn full_meta() {
    let meta = Question::META;
    assert_eq!(meta.app, "polls");
    assert_eq!(meta.name, "Question");
    assert_eq!(meta.table, "polls_question");
    let fields: Vec<_> = meta.fields.iter().map(field).collect();
    assert_eq!(
        fields,
        [
            ("id", "id", FieldKind::BigInteger, false, true, true),
            (
                "question_text",
                "text",
                FieldKind::String,
                false,
                false,
                false
            ),
            (
                "pub_date",
                "pub_date",
                FieldKind::DateTime,
                false,
                false,
                false
            ),
            ("note", "note", FieldKind::Text, true, false, false),
        ]
    );
    assert_eq!(meta.primary_key().name, "id");
    assert_eq!(meta.ordering, &[("pub_date", true), ("id", false)]);
    assert_eq!(meta.unique_together, &[&["question_text", "pub_date"][..]]);

    let text = meta.field("question_text").expect("question_text");
    assert_eq!(text.max_length, Some(200));
    assert!(text.unique);
    assert!(text.index);
    assert_eq!(text.verbose_name, "question");
    assert_eq!(text.help_text, "What is asked.");
    assert_eq!(text.choices, &[("a", "A"), ("b", "B")]);

    let date = meta.field("pub_date").expect("pub_date");
    assert_eq!(date.max_length, None);
    assert!(!date.unique);
    assert!(!date.index);
    assert_eq!(date.verbose_name, "pub date");
    assert_eq!(date.help_text, "");
    assert!(date.choices.is_empty());
}

#[test]
fn default_meta() {
    let meta = BlogPost::META;
    // Integration tests are crates of their own: this one is `derive`.
    assert_eq!(meta.app, "derive");
    assert_eq!(meta.name, "BlogPost");
    assert_eq!(meta.table, "derive_blogpost");
    let fields: Vec<_> = meta.fields.iter().map(field).collect();
    assert_eq!(
        fields,
        [
            ("id", "id", FieldKind::Integer, false, true, true),
            ("title", "title", FieldKind::Text, false, false, false),
            ("rating", "rating", FieldKind::Double, true, false, false),
            (
                "published",
                "published",
                FieldKind::Boolean,
                false,
                false,
                false
            ),
            ("body", "body", FieldKind::Bytes, false, false, false),
            (
                "views",
                "views",
                FieldKind::SmallInteger,
                false,
                false,
                false
            ),
        ]
    );
    assert!(meta.ordering.is_empty());
    assert!(meta.unique_together.is_empty());
    assert!(meta.fields.iter().all(|field| field.max_length.is_none()));
}

#[test]
fn explicit_primary_key() {
    let meta = Country::META;
    assert_eq!(meta.table, "geo_country");
    let fields: Vec<_> = meta.fields.iter().map(field).collect();
    assert_eq!(
        fields,
        [
            ("code", "code", FieldKind::String, false, true, false),
            ("id", "id", FieldKind::BigInteger, false, false, false),
        ]
    );
    assert_eq!(meta.primary_key().name, "code");
    assert_eq!(meta.primary_key().max_length, Some(2));

    let mut country = Country {
        code: "fr".to_owned(),
        id: 7,
    };
    assert_eq!(country.pk(), Value::from("fr".to_owned()));
    // Not automatic: nothing to assign.
    country.set_auto_pk(42);
    assert_eq!(country.id, 7);
    assert_eq!(country.code, "fr");
}

#[test]
fn explicit_auto_key_and_raw_identifier() {
    let meta = Ticket::META;
    assert_eq!(meta.table, "tickets");
    let fields: Vec<_> = meta.fields.iter().map(field).collect();
    assert_eq!(
        fields,
        [
            ("number", "number", FieldKind::Integer, false, true, true),
            ("type", "type", FieldKind::Text, false, false, false),
        ]
    );

    let mut ticket = Ticket {
        number: 0,
        r#type: "bug".to_owned(),
    };
    ticket.set_auto_pk(12);
    assert_eq!(ticket.number, 12);
    assert_eq!(ticket.pk(), Value::Int(Some(12)));
    // An id that does not fit the field leaves it unchanged.
    ticket.set_auto_pk(i64::from(i32::MAX) + 1);
    assert_eq!(ticket.number, 12);
    ticket.set_auto_pk(-1);
    assert_eq!(ticket.number, -1);
}

#[test]
fn optional_auto_key() {
    let meta = Tag::META;
    assert_eq!(meta.table, "shop_tag");
    // The key column is never NULL, even when the Rust field is an Option.
    assert_eq!(
        field(meta.primary_key()),
        ("id", "id", FieldKind::BigInteger, false, true, true)
    );

    let mut tag = Tag {
        id: None,
        name: "rust".to_owned(),
    };
    assert_eq!(tag.pk(), Value::BigInt(None));
    tag.set_auto_pk(3);
    assert_eq!(tag.id, Some(3));
    assert_eq!(tag.pk(), Value::BigInt(Some(3)));
}

#[test]
fn conventional_auto_key() {
    let mut question = Question {
        id: 0,
        question_text: "What's new?".to_owned(),
        pub_date: DateTime::<Utc>::UNIX_EPOCH,
        note: None,
    };
    assert_eq!(question.pk(), Value::BigInt(Some(0)));
    question.set_auto_pk(i64::MAX);
    assert_eq!(question.id, i64::MAX);
    assert_eq!(question.pk(), Value::BigInt(Some(i64::MAX)));

    let mut post = BlogPost {
        id: 0,
        title: String::new(),
        rating: None,
        published: false,
        body: Vec::new(),
        views: 0,
    };
    post.set_auto_pk(5);
    assert_eq!(post.id, 5);
    post.set_auto_pk(i64::MIN);
    assert_eq!(post.id, 5);
}

#[test]
fn values_follow_the_fields() {
    let question = Question {
        id: 4,
        question_text: "Why?".to_owned(),
        pub_date: DateTime::<Utc>::UNIX_EPOCH,
        note: Some("n".to_owned()),
    };
    let values = question.values();
    assert_eq!(values.len(), Question::META.fields.len());
    assert_eq!(values[0], Value::BigInt(Some(4)));
    assert_eq!(values[1], Value::from("Why?".to_owned()));
    assert_eq!(values[3], Value::from(Some("n".to_owned())));
}

#[test]
fn typed_field_constants() {
    let id: Field<Question, i64> = Question::ID;
    let text: Field<Question, String> = Question::QUESTION_TEXT;
    let date: Field<Question, DateTime<Utc>> = Question::PUB_DATE;
    let note: Field<Question, Option<String>> = Question::NOTE;
    assert_eq!((id.name(), id.column()), ("id", "id"));
    assert_eq!((text.name(), text.column()), ("question_text", "text"));
    assert_eq!((date.name(), date.column()), ("pub_date", "pub_date"));
    assert_eq!((note.name(), note.column()), ("note", "note"));

    let _: Field<BlogPost, Option<f64>> = BlogPost::RATING;
    let _: Field<BlogPost, Vec<u8>> = BlogPost::BODY;
    let _: Field<Country, String> = Country::CODE;
    let _: Field<Tag, Option<i64>> = Tag::ID;
    let kind: Field<Ticket, String> = Ticket::TYPE;
    assert_eq!(kind.name(), "type");

    // Every constant matches its field in META.
    for (meta, constant) in Question::META.fields.iter().zip([
        (id.name(), id.column()),
        (text.name(), text.column()),
        (date.name(), date.column()),
        (note.name(), note.column()),
    ]) {
        assert_eq!((meta.name, meta.column), constant);
    }
}

#[test]
fn meta_is_usable_in_const_context() {
    const TABLE: &str = Question::META.table;
    const FIELDS: usize = Question::META.fields.len();
    assert_eq!(TABLE, "polls_question");
    assert_eq!(FIELDS, 4);
}
