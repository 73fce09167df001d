//! Model validation, as Django's `Model.full_clean()`: the checks a form
//! runs before saving, with the errors it shows beside each field.
//!
//! Options of `#[field(..)]` declare the checks; `blank` decides whether an
//! empty value (an empty string, `None`) is allowed:
//!
//! | option | checks | code |
//! |---|---|---|
//! | (every field) | not empty, unless `blank` (an `Option` field is `blank` unless it says `blank = false`) | `blank` |
//! | `choices = [(..)]` | the value is one of them | `invalid_choice` |
//! | `max_length = N` | at most N characters | `max_length` |
//! | `max_digits`, `decimal_places` | the digits of a `Decimal` | `max_digits`, `max_decimal_places`, `max_whole_digits` |
//! | `email`, `url` | an email address, an http(s)/ftp(s) URL, as Django's validators accept | `invalid` |
//! | `min = ..`, `max = ..` | a number in range (integers, floats, `Decimal`) | `min_value`, `max_value` |
//! | `min_length = N` | at least N characters | `min_length` |
//! | `validators = [f, ..]` | your functions `fn(&T) -> Result<(), E>`, `E: Into<ValidationError>` (`String`, `&str` or a [`ValidationError`] with a code of yours); for an `Option<T>` field they get the `&T` inside | yours, else `invalid` |
//! | `unique`, `#[model(unique_together)]` | no other row holds the value(s) | `unique`, `unique_together` |
//! | a `ForeignKey`/`OneToOne` | the row it points to exists | `invalid` |
//! | `#[model(constraints = [check(..)])]` | the condition is not false for the object's values | `constraint` |
//! | `#[model(constraints = [unique(.., condition = ..)])]` | when the object satisfies the condition, no other row under it holds the values | `constraint` (`unique_together` without a condition) |
//!
//! `#[model(clean = path)]` names a function `fn(&Model) -> Result<(), E>`
//! for checks across fields (Django's `Model.clean()`), where `E` is
//! [`ValidationErrors`] (whose errors may name fields) or anything that
//! converts into it (a `String` or `&str` is an error of no field).
//!
//! [`ModelExt::clean_fields`](crate::ModelExt::clean_fields) runs the
//! field checks without a database; [`ModelExt::full_clean`](crate::ModelExt::full_clean) runs
//! everything, and fails with [`OrmError::Invalid`](crate::OrmError::Invalid)
//! holding every error at once. As in Django, `save()` does **not** call
//! `full_clean`: call it where input comes in (a form, a JSON body), so
//! that code writing rows it built itself does not pay for the queries.
//! The database's own constraints still hold either way.
//!
//! ```
//! use flagon_orm::{Model, ModelExt, OrmError, ValidationErrors};
//!
//! fn not_reserved(name: &String) -> Result<(), String> {
//!     if name == "admin" { Err(format!("{name:?} is reserved.")) } else { Ok(()) }
//! }
//!
//! #[derive(Model, Debug)]
//! #[model(app = "club", clean = Member::check_guest)]
//! struct Member {
//!     id: i64,
//!     #[field(max_length = 30, unique, min_length = 2, validators = [not_reserved])]
//!     name: String,
//!     #[field(max_length = 254, email)]
//!     email: String,
//!     #[field(max_length = 200, url)]
//!     homepage: Option<String>,
//!     #[field(min = 0, max = 150)]
//!     age: i32,
//!     #[field(max_length = 10, choices = [("member", "Member"), ("guest", "Guest")])]
//!     kind: String,
//! }
//!
//! impl Member {
//!     fn check_guest(&self) -> Result<(), ValidationErrors> {
//!         if self.kind == "guest" && self.homepage.is_some() {
//!             return Err(ValidationErrors::new().with("homepage", "Guests have no homepage."));
//!         }
//!         Ok(())
//!     }
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let db = flagon_orm::Db::connect("sqlite::memory:").await?;
//! flagon_orm::schema::create_table(&db, Member::META).await?;
//! let mut ann = Member {
//!     id: 0, name: "ann".into(), email: "ann@example.com".into(),
//!     homepage: None, age: 30, kind: "member".into(),
//! };
//! ann.full_clean(&db).await?;
//! ann.save(&db).await?;
//!
//! let bad = Member {
//!     id: 0, name: "ann".into(), email: "ann@".into(),
//!     homepage: Some("example".into()), age: -1, kind: "guest".into(),
//! };
//! let Err(OrmError::Invalid(errors)) = bad.full_clean(&db).await else { panic!() };
//! assert_eq!(errors.field("name")[0].message, "Member with this Name already exists.");
//! assert_eq!(errors.field("email")[0].message, "Enter a valid email address.");
//! assert_eq!(errors.field("homepage").len(), 2); // not a URL, and the model's clean
//! assert_eq!(errors.field("age")[0].code, "min_value");
//! // Without a database: everything but the unique checks, foreign keys and clean.
//! assert!(!bad.clean_fields().unwrap_err().has("name"));
//! # Ok::<(), OrmError>(())
//! # }).unwrap();
//! ```
//!
//! Misused options are compile errors naming the field:
//!
//! ```compile_fail
//! # use flagon_orm::Model;
//! #[derive(Model)]
//! #[model(app = "club")]
//! struct Member { id: i64, #[field(email)] age: i32 } // `email` is for strings
//! ```
//!
//! ```compile_fail
//! # use flagon_orm::Model;
//! #[derive(Model)]
//! #[model(app = "club")]
//! struct Member { id: i64, #[field(min = 1)] name: String } // `min` is for numbers
//! ```
//!
//! ```compile_fail
//! # use flagon_orm::Model;
//! #[derive(Model)]
//! #[model(app = "club")]
//! struct Member { id: i64, #[field(max = 1)] joined: bool } // not a number either
//! ```
//!
//! ```compile_fail
//! # use flagon_orm::Model;
//! #[derive(Model)]
//! #[model(app = "club")]
//! struct Member { id: i64, #[field(min = 10, max = 1)] age: i32 } // an empty range
//! ```
//!
//! ```compile_fail
//! # use flagon_orm::Model;
//! fn short(text: &String) -> Result<(), String> { Ok(()) }
//! #[derive(Model)]
//! #[model(app = "club")]
//! struct Member { id: i64, #[field(validators = [short])] age: i32 } // takes &String, not &i32
//! ```
//!
//! ```compile_fail
//! # use flagon_orm::Model;
//! fn check(member: Member) -> Result<(), String> { Ok(()) }
//! #[derive(Model)]
//! #[model(app = "club", clean = check)] // must take &Member
//! struct Member { id: i64 }
//! ```

mod database;
mod errors;
mod fields;
mod validators;

pub use errors::{ValidationError, ValidationErrors};
pub use fields::{check_value, is_empty};
pub use validators::{is_email, is_url, Limit, Validator};

pub(crate) use database::{full_clean, validate_unique};
pub(crate) use fields::clean_fields;

/// Adds what a validator function returned to `errors`: the derive's
/// generated `run_validators` calls it. Not a public API.
#[doc(hidden)]
pub fn __push<E: Into<ValidationError>>(errors: &mut Vec<ValidationError>, result: Result<(), E>) {
    if let Err(error) = result {
        errors.push(error.into());
    }
}
