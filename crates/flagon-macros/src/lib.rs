//! Derive macros for Flagon.
//!
//! The only macro is [`derive@Model`], re-exported by `flagon-orm` (and by
//! the `flagon` facade as `flagon::orm`); depend on one of those rather than
//! on this crate directly.

mod attrs;
// The constraint condition language, shared with the ORM (which renders
// conditions into DDL) so that the derive checks them at compile time.
#[allow(dead_code)]
#[path = "../../flagon-orm/src/condition_sql.rs"]
mod condition_sql;
mod model;
mod types;

use proc_macro::TokenStream;

/// Derives `flagon_orm::Model` for a struct with named fields.
///
/// ```text
/// #[derive(Model)]
/// #[model(app = "polls", table = "polls_question",
///         ordering = ["-pub_date", "id"], unique_together = [["a", "b"]])]
/// pub struct Question {
///     pub id: i64,
///     #[field(max_length = 200, unique, index, db_column = "text",
///             verbose_name = "question", help_text = "...",
///             choices = [("a", "A"), ("b", "B")])]
///     pub question_text: String,
///     pub pub_date: chrono::DateTime<chrono::Utc>,
///     pub note: Option<String>,
/// }
/// ```
///
/// Every `#[model(...)]` key is optional:
///
/// - `app = "..."`: the app label (default: the crate name).
/// - `table = "..."`: the table (default: `<app>_<lowercased struct name>`).
/// - `ordering = ["field", "-field"]`: the default ordering; a leading `-`
///   sorts that field in descending order.
/// - `unique_together = [["a", "b"], ...]`: groups of fields whose values
///   must be unique together.
/// - `indexes = [["a", "b"], ...]`: groups of fields indexed together.
/// - `constraints = [..]`: named constraints (Django's `Meta.constraints`):
///   `unique(fields = ["a", "b"], condition = "..", name = "..")`, values
///   unique together (with `condition`, only among the rows it selects: a
///   partial unique index, which MySQL/MariaDB cannot make), and
///   `check(condition = "..", name = "..")`, a condition every row must
///   satisfy. Conditions are a small portable SQL language over field
///   names (comparisons, `AND`/`OR`/`NOT`, `IS [NOT] NULL`, `IN (..)`,
///   arithmetic, numbers, `'strings'`, `TRUE`/`FALSE`/`NULL`), checked at
///   compile time.
/// - `clean = path`: a function `fn(&Self) -> Result<(), E>` (`E` being
///   `ValidationErrors`, `String` or `&str`) for checks across fields, run
///   by `full_clean` (Django's `Model.clean()`).
///
/// Every `#[field(...)]` key is optional:
///
/// - `primary_key`: this field is the primary key. Without it, a field named
///   `id` of an integer type (`i64`, `i32`, ..., or `Option` of one) is the
///   automatic (database-assigned) primary key.
/// - `auto`: with `primary_key` on an integer field, the database assigns it.
/// - `max_length = N`: a `String` field stored as `VARCHAR(N)`.
/// - `unique`, `index`: a unique constraint, an index. Flags also accept
///   `= true` or `= false`.
/// - `db_column = "..."`: the column name (default: the field name).
/// - `verbose_name = "..."`: the human name (default: the field name with
///   `_` replaced by spaces).
/// - `help_text = "..."`: help for forms and the admin.
/// - `choices = [("value", "Label"), ...]`: the allowed values
///   (`full_clean` refuses others).
///
/// Validation options, checked by `clean_fields`/`full_clean` (not by
/// `save`; see `flagon_orm::validation`):
///
/// - `blank`: an empty value (an empty string, `None`) is allowed; `Option`
///   fields are `blank` unless they say `blank = false`.
/// - `email`, `url`, `min_length = N`: for `String` fields.
/// - `min = N`, `max = N`: number literals, for integer, float and
///   `Decimal` fields.
/// - `validators = [path, ...]`: functions `fn(&T) -> Result<(), E>`
///   where `T` is the field's type (the type inside an `Option`) and `E`
///   converts into `ValidationError` (`String`, `&str`).
///
/// An option on a field of the wrong type is a compile error naming the
/// field.
///
/// Besides the `Model` impl, the derive adds one typed field constant per
/// field to the struct, named after the field in upper case
/// (`Question::QUESTION_TEXT: Field<Question, String>`), for building
/// queries.
#[proc_macro_derive(Model, attributes(model, field))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    model::expand(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
