//! Parsing of the `#[model(...)]` and `#[field(...)]` attributes.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ExprLit, Lit, LitStr, Token};

/// The keys `#[model(...)]` accepts.
pub(crate) const MODEL_KEYS: &[&str] = &[
    "app",
    "table",
    "ordering",
    "unique_together",
    "indexes",
    "constraints",
    "clean",
];

/// The keys `#[field(...)]` accepts.
pub(crate) const FIELD_KEYS: &[&str] = &[
    "primary_key",
    "auto",
    "max_length",
    "max_digits",
    "decimal_places",
    "default",
    "on_delete",
    "through",
    "unique",
    "index",
    "db_column",
    "verbose_name",
    "help_text",
    "choices",
    "blank",
    "email",
    "url",
    "min",
    "max",
    "min_length",
    "validators",
    "auto_now",
    "auto_now_add",
];

/// The values `on_delete` takes.
pub(crate) const ON_DELETE: &[&str] = &["cascade", "protect", "restrict", "set_null", "do_nothing"];

/// One entry of `ordering`: a field name, descending when written with `-`.
#[derive(Clone)]
pub(crate) struct OrderBy {
    /// The field name without the `-`.
    pub field: String,
    /// Whether the field was written with a leading `-`.
    pub descending: bool,
    /// The string literal, for errors.
    pub span: Span,
}

/// The parsed `#[model(...)]` attributes of a struct.
#[derive(Default)]
pub(crate) struct ModelAttrs {
    /// `app = "..."`.
    pub app: Option<LitStr>,
    /// `table = "..."`.
    pub table: Option<LitStr>,
    /// `ordering = [...]`.
    pub ordering: Option<Vec<OrderBy>>,
    /// `unique_together = [[...], ...]`.
    pub unique_together: Option<Vec<Vec<LitStr>>>,
    /// `indexes = [[...], ...]`.
    pub indexes: Option<Vec<Vec<LitStr>>>,
    /// `constraints = [unique(..), check(..)]`.
    pub constraints: Option<Vec<ConstraintAttr>>,
    /// `clean = path::to_fn`: the model's cross-field checks.
    pub clean: Option<Expr>,
}

/// One entry of `constraints = [..]`.
pub(crate) struct ConstraintAttr {
    /// `name = ".."`.
    pub name: LitStr,
    /// `fields = [..]` of `unique(..)` (empty for `check(..)`).
    pub fields: Vec<LitStr>,
    /// `condition = ".."`.
    pub condition: Option<LitStr>,
    /// Whether this is `check(..)`.
    pub check: bool,
}

/// The literal of `#[field(default = ..)]`.
#[derive(Clone)]
pub(crate) enum DefaultLit {
    /// An integer, possibly negative.
    Int(i64),
    /// A float, possibly negative.
    Float(f64),
    /// `true` or `false`.
    Bool(bool),
    /// A string.
    Str(String),
}

/// A bound of `min = ..` or `max = ..`: an integer or float literal.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum LimitLit {
    /// An integer, possibly negative.
    Int(i64),
    /// A float, possibly negative.
    Float(f64),
}

impl LimitLit {
    /// The bound as a float, to compare two bounds.
    pub fn as_f64(self) -> f64 {
        match self {
            LimitLit::Int(value) => value as f64,
            LimitLit::Float(value) => value,
        }
    }
}

/// A boolean flag and where it was written.
#[derive(Clone, Copy)]
pub(crate) struct Flag {
    /// The flag's value (`true` when written bare).
    pub value: bool,
    /// The flag's key, for errors.
    pub span: Span,
}

/// The parsed `#[field(...)]` attributes of a field.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    /// `primary_key`.
    pub primary_key: Option<Flag>,
    /// `auto`.
    pub auto: Option<Flag>,
    /// `unique`.
    pub unique: Option<Flag>,
    /// `index`.
    pub index: Option<Flag>,
    /// `max_length = N` and the span of `max_length`.
    pub max_length: Option<(u32, Span)>,
    /// `max_digits = N` and the span of `max_digits`.
    pub max_digits: Option<(u32, Span)>,
    /// `decimal_places = N` and the span of `decimal_places`.
    pub decimal_places: Option<(u32, Span)>,
    /// `on_delete = "cascade"` (a relation field's), checked.
    pub on_delete: Option<LitStr>,
    /// `through = Model` (a many-to-many field's own through model).
    pub through: Option<syn::Path>,
    /// `default = <literal>` and the span of the literal.
    pub default: Option<(DefaultLit, Span)>,
    /// `db_column = "..."`.
    pub db_column: Option<LitStr>,
    /// `verbose_name = "..."`.
    pub verbose_name: Option<LitStr>,
    /// `help_text = "..."`.
    pub help_text: Option<LitStr>,
    /// `choices = [("value", "label"), ...]`.
    pub choices: Option<Vec<(LitStr, LitStr)>>,
    /// `blank`: validation allows an empty value.
    pub blank: Option<Flag>,
    /// `email`: the value is an email address.
    pub email: Option<Flag>,
    /// `url`: the value is a URL.
    pub url: Option<Flag>,
    /// `min = N` and the span of `min`.
    pub min: Option<(LimitLit, Span)>,
    /// `max = N` and the span of `max`.
    pub max: Option<(LimitLit, Span)>,
    /// `min_length = N` and the span of `min_length`.
    pub min_length: Option<(u32, Span)>,
    /// `validators = [path, ...]`: functions run on the value.
    pub validators: Option<Vec<Expr>>,
    /// `auto_now`: the field is set to now on every save.
    pub auto_now: Option<Flag>,
    /// `auto_now_add`: the field is set to now when the row is inserted.
    pub auto_now_add: Option<Flag>,
}

impl FieldAttrs {
    /// Whether `primary_key` is set (and not `= false`).
    pub fn is_primary_key(&self) -> bool {
        self.primary_key.is_some_and(|flag| flag.value)
    }

    /// Whether `auto` is set (and not `= false`).
    pub fn is_auto(&self) -> bool {
        self.auto.is_some_and(|flag| flag.value)
    }

    /// Whether `unique` is set (and not `= false`).
    pub fn is_unique(&self) -> bool {
        self.unique.is_some_and(|flag| flag.value)
    }

    /// Whether `index` is set (and not `= false`).
    pub fn is_index(&self) -> bool {
        self.index.is_some_and(|flag| flag.value)
    }

    /// Whether `auto_now` is set (and not `= false`).
    pub fn is_auto_now(&self) -> bool {
        self.auto_now.is_some_and(|flag| flag.value)
    }

    /// Whether `auto_now_add` is set (and not `= false`).
    pub fn is_auto_now_add(&self) -> bool {
        self.auto_now_add.is_some_and(|flag| flag.value)
    }

    /// The options that declare checks of the value for strings, with the
    /// span of each that is set: `email`, `url`, `min_length`.
    pub fn string_validators(&self) -> Vec<(&'static str, Span)> {
        let mut found = Vec::new();
        if let Some(flag) = self.email.filter(|flag| flag.value) {
            found.push(("email", flag.span));
        }
        if let Some(flag) = self.url.filter(|flag| flag.value) {
            found.push(("url", flag.span));
        }
        if let Some((_, span)) = self.min_length {
            found.push(("min_length", span));
        }
        found
    }

    /// `min` and `max`, with their spans, where set.
    pub fn number_validators(&self) -> Vec<(&'static str, Span)> {
        let mut found = Vec::new();
        if let Some((_, span)) = self.min {
            found.push(("min", span));
        }
        if let Some((_, span)) = self.max {
            found.push(("max", span));
        }
        found
    }
}

/// Parses every `#[model(...)]` attribute among `attrs`; other attributes
/// are ignored except a misplaced `#[field(...)]`.
pub(crate) fn parse_model_attrs(attrs: &[Attribute]) -> syn::Result<ModelAttrs> {
    let mut out = ModelAttrs::default();
    for attr in attrs {
        if attr.path().is_ident("field") {
            return Err(syn::Error::new_spanned(
                attr,
                "`#[field(...)]` belongs on a field; use `#[model(...)]` on the struct",
            ));
        }
        if !attr.path().is_ident("model") {
            continue;
        }
        attr.parse_nested_meta(|meta| {
            let key = key_of(&meta, "model", MODEL_KEYS)?;
            match key.as_str() {
                "app" => {
                    let value = non_empty(parse_str(&meta, &key)?, &key)?;
                    set_once(&meta, &key, &mut out.app, value)
                }
                "table" => {
                    let value = non_empty(parse_str(&meta, &key)?, &key)?;
                    set_once(&meta, &key, &mut out.table, value)
                }
                "ordering" => {
                    let value = parse_ordering(&value_expr(&meta, &key, "[\"-field\"]")?)?;
                    set_once(&meta, &key, &mut out.ordering, value)
                }
                "unique_together" => {
                    let expr = value_expr(&meta, &key, "[[\"a\", \"b\"]]")?;
                    let value = parse_field_groups(&expr, "unique_together")?;
                    set_once(&meta, &key, &mut out.unique_together, value)
                }
                "indexes" => {
                    let expr = value_expr(&meta, &key, "[[\"a\", \"b\"]]")?;
                    let value = parse_field_groups(&expr, "indexes")?;
                    set_once(&meta, &key, &mut out.indexes, value)
                }
                "constraints" => {
                    let expr = value_expr(
                        &meta,
                        &key,
                        "[check(condition = \"price >= 0\", name = \"price_positive\")]",
                    )?;
                    let value = parse_constraints(&expr)?;
                    set_once(&meta, &key, &mut out.constraints, value)
                }
                "clean" => {
                    let expr = value_expr(&meta, &key, "Self::check")?;
                    let value = parse_function(&expr, &key)?;
                    set_once(&meta, &key, &mut out.clean, value)
                }
                _ => unreachable!("key_of accepts only MODEL_KEYS"),
            }
        })?;
    }
    Ok(out)
}

/// Parses every `#[field(...)]` attribute among `attrs`; other attributes
/// are ignored except a misplaced `#[model(...)]`.
pub(crate) fn parse_field_attrs(attrs: &[Attribute]) -> syn::Result<FieldAttrs> {
    let mut out = FieldAttrs::default();
    for attr in attrs {
        if attr.path().is_ident("model") {
            return Err(syn::Error::new_spanned(
                attr,
                "`#[model(...)]` belongs on the struct; use `#[field(...)]` on a field",
            ));
        }
        if !attr.path().is_ident("field") {
            continue;
        }
        attr.parse_nested_meta(|meta| {
            let key = key_of(&meta, "field", FIELD_KEYS)?;
            match key.as_str() {
                "primary_key" => {
                    let flag = parse_flag(&meta)?;
                    set_once(&meta, &key, &mut out.primary_key, flag)
                }
                "auto" => {
                    let flag = parse_flag(&meta)?;
                    set_once(&meta, &key, &mut out.auto, flag)
                }
                "unique" => {
                    let flag = parse_flag(&meta)?;
                    set_once(&meta, &key, &mut out.unique, flag)
                }
                "index" => {
                    let flag = parse_flag(&meta)?;
                    set_once(&meta, &key, &mut out.index, flag)
                }
                "max_length" => {
                    let value = parse_max_length(&value_expr(&meta, &key, "200")?)?;
                    set_once(&meta, &key, &mut out.max_length, (value, meta.path.span()))
                }
                "max_digits" => {
                    let value = parse_count(&value_expr(&meta, &key, "10")?, &key, 1)?;
                    set_once(&meta, &key, &mut out.max_digits, (value, meta.path.span()))
                }
                "decimal_places" => {
                    let value = parse_count(&value_expr(&meta, &key, "2")?, &key, 0)?;
                    set_once(
                        &meta,
                        &key,
                        &mut out.decimal_places,
                        (value, meta.path.span()),
                    )
                }
                "on_delete" => {
                    let value = parse_str(&meta, &key)?;
                    if !ON_DELETE.contains(&value.value().as_str()) {
                        return Err(syn::Error::new(
                            value.span(),
                            format!("`on_delete` is one of: {}", ON_DELETE.join(", ")),
                        ));
                    }
                    set_once(&meta, &key, &mut out.on_delete, value)
                }
                "through" => {
                    let expr = value_expr(&meta, &key, "Membership")?;
                    let path = match strip_expr(&expr) {
                        Expr::Path(path) => path.path.clone(),
                        other => {
                            return Err(syn::Error::new_spanned(
                                other,
                                "`through` expects a model type, as in `through = Membership`",
                            ))
                        }
                    };
                    set_once(&meta, &key, &mut out.through, path)
                }
                "default" => {
                    let expr = value_expr(&meta, &key, "0")?;
                    let value = (parse_default(&expr)?, expr.span());
                    set_once(&meta, &key, &mut out.default, value)
                }
                "db_column" => {
                    let value = non_empty(parse_str(&meta, &key)?, &key)?;
                    set_once(&meta, &key, &mut out.db_column, value)
                }
                "verbose_name" => {
                    let value = parse_str(&meta, &key)?;
                    set_once(&meta, &key, &mut out.verbose_name, value)
                }
                "help_text" => {
                    let value = parse_str(&meta, &key)?;
                    set_once(&meta, &key, &mut out.help_text, value)
                }
                "choices" => {
                    let expr = value_expr(&meta, &key, "[(\"value\", \"Label\")]")?;
                    let value = parse_choices(&expr)?;
                    set_once(&meta, &key, &mut out.choices, value)
                }
                "blank" => {
                    let flag = parse_flag(&meta)?;
                    set_once(&meta, &key, &mut out.blank, flag)
                }
                "email" => {
                    let flag = parse_flag(&meta)?;
                    set_once(&meta, &key, &mut out.email, flag)
                }
                "auto_now" => {
                    let flag = parse_flag(&meta)?;
                    set_once(&meta, &key, &mut out.auto_now, flag)
                }
                "auto_now_add" => {
                    let flag = parse_flag(&meta)?;
                    set_once(&meta, &key, &mut out.auto_now_add, flag)
                }
                "url" => {
                    let flag = parse_flag(&meta)?;
                    set_once(&meta, &key, &mut out.url, flag)
                }
                "min" => {
                    let value = parse_limit(&value_expr(&meta, &key, "0")?, &key)?;
                    set_once(&meta, &key, &mut out.min, (value, meta.path.span()))
                }
                "max" => {
                    let value = parse_limit(&value_expr(&meta, &key, "100")?, &key)?;
                    set_once(&meta, &key, &mut out.max, (value, meta.path.span()))
                }
                "min_length" => {
                    let value = parse_count(&value_expr(&meta, &key, "2")?, &key, 1)?;
                    set_once(&meta, &key, &mut out.min_length, (value, meta.path.span()))
                }
                "validators" => {
                    let expr = value_expr(&meta, &key, "[path::to_fn]")?;
                    let message = "`validators` expects an array of functions, as in `validators = [not_reserved]`";
                    let value = expect_array(&expr, message)?
                        .into_iter()
                        .map(|item| parse_function(item, &key))
                        .collect::<syn::Result<Vec<_>>>()?;
                    set_once(&meta, &key, &mut out.validators, value)
                }
                _ => unreachable!("key_of accepts only FIELD_KEYS"),
            }
        })?;
    }
    Ok(out)
}

/// The key of one nested meta item, checked against `valid`.
fn key_of(meta: &ParseNestedMeta<'_>, attr: &str, valid: &[&str]) -> syn::Result<String> {
    let key = meta
        .path
        .get_ident()
        .map(ToString::to_string)
        .filter(|key| valid.contains(&key.as_str()));
    match key {
        Some(key) => Ok(key),
        None => {
            let written = meta
                .path
                .segments
                .iter()
                .map(|segment| segment.ident.to_string())
                .collect::<Vec<_>>()
                .join("::");
            let mut message = format!(
                "unknown `{attr}` attribute `{written}`; expected one of: {}",
                valid.join(", ")
            );
            if attr == "field" && (written == "null" || written == "blank") {
                message.push_str(" (a field is nullable when its type is `Option<T>`)");
            }
            Err(meta.error(message))
        }
    }
}

/// Stores `value` in `slot`, or fails if the key was already given.
fn set_once<T>(
    meta: &ParseNestedMeta<'_>,
    key: &str,
    slot: &mut Option<T>,
    value: T,
) -> syn::Result<()> {
    if slot.is_some() {
        return Err(meta.error(format!("duplicate attribute `{key}`")));
    }
    *slot = Some(value);
    Ok(())
}

/// The expression after `key =`, or an error showing `example`.
fn value_expr(meta: &ParseNestedMeta<'_>, key: &str, example: &str) -> syn::Result<Expr> {
    if !meta.input.peek(Token![=]) {
        return Err(meta.error(format!(
            "`{key}` expects a value, as in `{key} = {example}`"
        )));
    }
    meta.value()?.parse()
}

/// A bare flag (`unique`) or one with a boolean (`unique = false`).
fn parse_flag(meta: &ParseNestedMeta<'_>) -> syn::Result<Flag> {
    let span = meta.path.span();
    if !meta.input.peek(Token![=]) {
        return Ok(Flag { value: true, span });
    }
    let expr: Expr = meta.value()?.parse()?;
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(value),
            ..
        }) => Ok(Flag {
            value: value.value,
            span,
        }),
        other => Err(syn::Error::new_spanned(
            other,
            "expected `true` or `false` (or write the flag alone)",
        )),
    }
}

/// `key = "..."`.
fn parse_str(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<LitStr> {
    let expr = value_expr(meta, key, "\"...\"")?;
    expect_str(
        &expr,
        &format!("`{key}` expects a string literal, as in `{key} = \"...\"`"),
    )
}

/// Fails on an empty string.
fn non_empty(lit: LitStr, key: &str) -> syn::Result<LitStr> {
    if lit.value().is_empty() {
        return Err(syn::Error::new(
            lit.span(),
            format!("`{key}` cannot be empty"),
        ));
    }
    Ok(lit)
}

/// A string literal, or an error with `message`.
fn expect_str(expr: &Expr, message: &str) -> syn::Result<LitStr> {
    match strip_expr(expr) {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(lit.clone()),
        other => Err(syn::Error::new_spanned(other, message)),
    }
}

/// The elements of an array literal `[...]`, or an error with `message`.
fn expect_array<'a>(expr: &'a Expr, message: &str) -> syn::Result<Vec<&'a Expr>> {
    match strip_expr(expr) {
        Expr::Array(array) => Ok(array.elems.iter().collect()),
        other => Err(syn::Error::new_spanned(other, message)),
    }
}

/// `expr` without invisible groups (from `macro_rules!` fragments).
fn strip_expr(mut expr: &Expr) -> &Expr {
    while let Expr::Group(group) = expr {
        expr = &group.expr;
    }
    expr
}

/// `max_length = N` with `1 <= N <= u32::MAX`.
pub(crate) fn parse_max_length(expr: &Expr) -> syn::Result<u32> {
    let message = "`max_length` expects a positive integer literal, as in `max_length = 200`";
    let Expr::Lit(ExprLit {
        lit: Lit::Int(lit), ..
    }) = strip_expr(expr)
    else {
        return Err(syn::Error::new_spanned(expr, message));
    };
    if !matches!(lit.suffix(), "" | "u32" | "usize" | "u64") {
        return Err(syn::Error::new_spanned(lit, message));
    }
    let value: u32 = lit
        .base10_parse()
        .map_err(|_| syn::Error::new_spanned(lit, "`max_length` must fit in a u32"))?;
    if value == 0 {
        return Err(syn::Error::new_spanned(
            lit,
            "`max_length` must be at least 1",
        ));
    }
    Ok(value)
}

/// `ordering = ["field", "-field"]`.
pub(crate) fn parse_ordering(expr: &Expr) -> syn::Result<Vec<OrderBy>> {
    let message =
        "`ordering` expects an array of field names, as in `ordering = [\"-pub_date\", \"id\"]`";
    expect_array(expr, message)?
        .into_iter()
        .map(|item| {
            let lit = expect_str(item, message)?;
            let value = lit.value();
            let (field, descending) = match value.strip_prefix('-') {
                Some(rest) => (rest.to_owned(), true),
                None => (value, false),
            };
            if field.is_empty() {
                return Err(syn::Error::new(
                    lit.span(),
                    "empty field name in `ordering`",
                ));
            }
            Ok(OrderBy {
                field,
                descending,
                span: lit.span(),
            })
        })
        .collect()
}

/// `key = N`: an integer literal of at least `min` that fits a u32.
pub(crate) fn parse_count(expr: &Expr, key: &str, min: u32) -> syn::Result<u32> {
    let message = format!(
        "`{key}` expects an integer literal, as in `{key} = {}`",
        min.max(2)
    );
    let Expr::Lit(ExprLit {
        lit: Lit::Int(lit), ..
    }) = strip_expr(expr)
    else {
        return Err(syn::Error::new_spanned(expr, message));
    };
    let value: u32 = lit
        .base10_parse()
        .map_err(|_| syn::Error::new_spanned(lit, format!("`{key}` must fit in a u32")))?;
    if value < min {
        return Err(syn::Error::new_spanned(
            lit,
            format!("`{key}` must be at least {min}"),
        ));
    }
    Ok(value)
}

/// A function given by its path (`check`, `Self::check`,
/// `rules::check::<T>`) or a closure.
pub(crate) fn parse_function(expr: &Expr, key: &str) -> syn::Result<Expr> {
    match strip_expr(expr) {
        inner @ (Expr::Path(_) | Expr::Closure(_)) => Ok(inner.clone()),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{key}` expects a function's path, as in `{key} = Self::check`"),
        )),
    }
}

/// `min = 0`, `max = -1.5`: an integer or float literal.
pub(crate) fn parse_limit(expr: &Expr, key: &str) -> syn::Result<LimitLit> {
    let message = format!("`{key}` expects a number literal, as in `{key} = 0` or `{key} = 0.5`");
    let (negative, inner) = match strip_expr(expr) {
        Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => (true, strip_expr(expr)),
        other => (false, other),
    };
    match inner {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => {
            let digits: i128 = int
                .base10_parse()
                .map_err(|_| syn::Error::new_spanned(int, format!("`{key}` must fit in an i64")))?;
            let value = if negative { -digits } else { digits };
            i64::try_from(value)
                .map(LimitLit::Int)
                .map_err(|_| syn::Error::new_spanned(int, format!("`{key}` must fit in an i64")))
        }
        Expr::Lit(ExprLit {
            lit: Lit::Float(float),
            ..
        }) => {
            let value: f64 = float.base10_parse()?;
            if !value.is_finite() {
                return Err(syn::Error::new_spanned(float, message));
            }
            Ok(LimitLit::Float(if negative { -value } else { value }))
        }
        _ => Err(syn::Error::new_spanned(expr, message)),
    }
}

/// `default = 0`, `-1.5`, `true` or `"text"`.
pub(crate) fn parse_default(expr: &Expr) -> syn::Result<DefaultLit> {
    let message = "`default` expects a literal: an integer, a float, `true`/`false` or a string";
    let (negative, inner) = match strip_expr(expr) {
        Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => (true, strip_expr(expr)),
        other => (false, other),
    };
    let Expr::Lit(ExprLit { lit, .. }) = inner else {
        return Err(syn::Error::new_spanned(expr, message));
    };
    match lit {
        Lit::Int(int) => {
            let digits: i128 = int
                .base10_parse()
                .map_err(|_| syn::Error::new_spanned(int, "`default` must fit in an i64"))?;
            let value = if negative { -digits } else { digits };
            i64::try_from(value)
                .map(DefaultLit::Int)
                .map_err(|_| syn::Error::new_spanned(int, "`default` must fit in an i64"))
        }
        Lit::Float(float) => {
            let value: f64 = float.base10_parse()?;
            Ok(DefaultLit::Float(if negative { -value } else { value }))
        }
        Lit::Bool(value) if !negative => Ok(DefaultLit::Bool(value.value)),
        Lit::Str(value) if !negative => Ok(DefaultLit::Str(value.value())),
        _ => Err(syn::Error::new_spanned(expr, message)),
    }
}

/// `unique_together = [["a", "b"], ...]` (or `indexes = ..`).
pub(crate) fn parse_field_groups(expr: &Expr, key: &str) -> syn::Result<Vec<Vec<LitStr>>> {
    let message = format!(
        "`{key}` expects an array of arrays of field names, as in `{key} = [[\"a\", \"b\"]]`"
    );
    let message = message.as_str();
    expect_array(expr, message)?
        .into_iter()
        .map(|group| {
            let names = expect_array(group, message)?
                .into_iter()
                .map(|name| expect_str(name, message))
                .collect::<syn::Result<Vec<_>>>()?;
            if names.is_empty() {
                return Err(syn::Error::new_spanned(
                    group,
                    format!("every `{key}` group needs at least one field"),
                ));
            }
            Ok(names)
        })
        .collect()
}

/// `constraints = [unique(fields = ["a", "b"], condition = "..", name = ".."),
/// check(condition = "..", name = "..")]`.
pub(crate) fn parse_constraints(expr: &Expr) -> syn::Result<Vec<ConstraintAttr>> {
    let message = "`constraints` expects an array of `unique(fields = [..], condition = \"..\", \
                   name = \"..\")` and `check(condition = \"..\", name = \"..\")`";
    expect_array(expr, message)?
        .into_iter()
        .map(|item| {
            let Expr::Call(call) = strip_expr(item) else {
                return Err(syn::Error::new_spanned(item, message));
            };
            let kind = match strip_expr(&call.func) {
                Expr::Path(path) if path.path.is_ident("unique") => "unique",
                Expr::Path(path) if path.path.is_ident("check") => "check",
                other => return Err(syn::Error::new_spanned(other, message)),
            };
            let mut name = None;
            let mut fields = None;
            let mut condition = None;
            for arg in &call.args {
                let Expr::Assign(assign) = strip_expr(arg) else {
                    return Err(syn::Error::new_spanned(arg, message));
                };
                let key = match strip_expr(&assign.left) {
                    Expr::Path(path) => path.path.get_ident().map(ToString::to_string),
                    _ => None,
                };
                let duplicate = || syn::Error::new_spanned(arg, "given twice");
                match key.as_deref() {
                    Some("name") if name.is_none() => {
                        name = Some(non_empty(expect_str(&assign.right, message)?, "name")?);
                    }
                    Some("condition") if condition.is_none() => {
                        let lit = expect_str(&assign.right, message)?;
                        if let Err(err) = crate::condition_sql::parse(&lit.value()) {
                            return Err(syn::Error::new_spanned(
                                &lit,
                                format!("malformed constraint condition: {err}"),
                            ));
                        }
                        condition = Some(lit);
                    }
                    Some("fields") if kind == "unique" && fields.is_none() => {
                        let names = expect_array(&assign.right, message)?
                            .into_iter()
                            .map(|name| expect_str(name, message))
                            .collect::<syn::Result<Vec<_>>>()?;
                        if names.is_empty() {
                            return Err(syn::Error::new_spanned(
                                &assign.right,
                                "a unique constraint needs at least one field",
                            ));
                        }
                        fields = Some(names);
                    }
                    Some("name" | "condition") => return Err(duplicate()),
                    Some("fields") if kind == "unique" => return Err(duplicate()),
                    _ => {
                        return Err(syn::Error::new_spanned(
                            &assign.left,
                            format!(
                                "`{kind}(..)` takes {}",
                                if kind == "unique" {
                                    "`fields`, `condition` and `name`"
                                } else {
                                    "`condition` and `name`"
                                }
                            ),
                        ))
                    }
                }
            }
            let Some(name) = name else {
                return Err(syn::Error::new_spanned(
                    call,
                    format!("`{kind}(..)` needs a `name = \"..\"`"),
                ));
            };
            if kind == "check" && condition.is_none() {
                return Err(syn::Error::new_spanned(
                    call,
                    "`check(..)` needs a `condition = \"..\"`",
                ));
            }
            let fields = match fields {
                Some(fields) => fields,
                None if kind == "unique" => {
                    return Err(syn::Error::new_spanned(
                        call,
                        "`unique(..)` needs `fields = [..]`",
                    ))
                }
                None => Vec::new(),
            };
            Ok(ConstraintAttr {
                name,
                fields,
                condition,
                check: kind == "check",
            })
        })
        .collect()
}

/// `choices = [("value", "Label"), ...]`.
pub(crate) fn parse_choices(expr: &Expr) -> syn::Result<Vec<(LitStr, LitStr)>> {
    let message =
        "`choices` expects an array of (value, label) string pairs, as in `choices = [(\"a\", \"A\")]`";
    expect_array(expr, message)?
        .into_iter()
        .map(|item| match strip_expr(item) {
            Expr::Tuple(tuple) if tuple.elems.len() == 2 => Ok((
                expect_str(&tuple.elems[0], message)?,
                expect_str(&tuple.elems[1], message)?,
            )),
            other => Err(syn::Error::new_spanned(other, message)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn model(attrs: Vec<Attribute>) -> syn::Result<ModelAttrs> {
        parse_model_attrs(&attrs)
    }

    fn field(attrs: Vec<Attribute>) -> syn::Result<FieldAttrs> {
        parse_field_attrs(&attrs)
    }

    fn err<T>(result: syn::Result<T>) -> String {
        match result {
            Ok(_) => panic!("expected an error"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn model_all_keys() {
        let attrs = model(vec![parse_quote!(
            #[model(app = "polls", table = "polls_question", ordering = ["-pub_date", "id"], unique_together = [["a", "b"], ["c"]])]
        )])
        .unwrap();
        assert_eq!(attrs.app.unwrap().value(), "polls");
        assert_eq!(attrs.table.unwrap().value(), "polls_question");
        let ordering = attrs.ordering.unwrap();
        let pairs: Vec<_> = ordering
            .iter()
            .map(|order| (order.field.as_str(), order.descending))
            .collect();
        assert_eq!(pairs, [("pub_date", true), ("id", false)]);
        let groups: Vec<Vec<String>> = attrs
            .unique_together
            .unwrap()
            .iter()
            .map(|group| group.iter().map(LitStr::value).collect())
            .collect();
        assert_eq!(groups, [vec!["a", "b"], vec!["c"]]);
    }

    #[test]
    fn model_defaults_and_other_attributes() {
        let attrs = model(vec![
            parse_quote!(#[derive(Debug)]),
            parse_quote!(#[doc = "A model."]),
        ])
        .unwrap();
        assert!(attrs.app.is_none());
        assert!(attrs.table.is_none());
        assert!(attrs.ordering.is_none());
        assert!(attrs.unique_together.is_none());
    }

    #[test]
    fn model_split_over_attributes_and_trailing_commas() {
        let attrs = model(vec![
            parse_quote!(#[model(app = "blog",)]),
            parse_quote!(#[model(ordering = ["title",], unique_together = [["a", "b",],])]),
        ])
        .unwrap();
        assert_eq!(attrs.app.unwrap().value(), "blog");
        assert_eq!(attrs.ordering.unwrap().len(), 1);
        assert_eq!(attrs.unique_together.unwrap()[0].len(), 2);
    }

    #[test]
    fn model_empty_lists() {
        let attrs = model(vec![
            parse_quote!(#[model(ordering = [], unique_together = [])]),
        ])
        .unwrap();
        assert!(attrs.ordering.unwrap().is_empty());
        assert!(attrs.unique_together.unwrap().is_empty());
    }

    #[test]
    fn model_unknown_key_names_valid_ones() {
        let message = err(model(vec![parse_quote!(#[model(db_table = "x")])]));
        assert!(
            message.contains("unknown `model` attribute `db_table`"),
            "{message}"
        );
        assert!(
            message.contains("app, table, ordering, unique_together"),
            "{message}"
        );
    }

    #[test]
    fn model_malformed_values() {
        let message = err(model(vec![parse_quote!(#[model(table = polls)])]));
        assert!(
            message.contains("`table` expects a string literal"),
            "{message}"
        );
        let message = err(model(vec![parse_quote!(#[model(table)])]));
        assert!(message.contains("`table` expects a value"), "{message}");
        let message = err(model(vec![parse_quote!(#[model(table = "")])]));
        assert!(message.contains("cannot be empty"), "{message}");
        let message = err(model(vec![parse_quote!(#[model(ordering = "-id")])]));
        assert!(message.contains("`ordering` expects an array"), "{message}");
        let message = err(model(vec![parse_quote!(#[model(ordering = [id])])]));
        assert!(message.contains("`ordering` expects an array"), "{message}");
        let message = err(model(vec![parse_quote!(#[model(ordering = ["-"])])]));
        assert!(message.contains("empty field name"), "{message}");
        let message = err(model(vec![
            parse_quote!(#[model(unique_together = ["a", "b"])]),
        ]));
        assert!(message.contains("`unique_together` expects"), "{message}");
        let message = err(model(vec![parse_quote!(#[model(unique_together = [[]])])]));
        assert!(message.contains("at least one field"), "{message}");
    }

    #[test]
    fn model_duplicate_key() {
        let message = err(model(vec![
            parse_quote!(#[model(app = "a")]),
            parse_quote!(#[model(app = "b")]),
        ]));
        assert!(message.contains("duplicate attribute `app`"), "{message}");
    }

    #[test]
    fn model_misplaced_field_attribute() {
        let message = err(model(vec![parse_quote!(#[field(unique)])]));
        assert!(message.contains("belongs on a field"), "{message}");
    }

    #[test]
    fn field_all_keys() {
        let attrs = field(vec![parse_quote!(
            #[field(max_length = 200, unique, index, db_column = "text", verbose_name = "question",
                    help_text = "The text.", choices = [("a", "A"), ("b", "B")])]
        )])
        .unwrap();
        assert_eq!(attrs.max_length.unwrap().0, 200);
        assert!(attrs.is_unique());
        assert!(attrs.is_index());
        assert!(!attrs.is_primary_key());
        assert!(!attrs.is_auto());
        assert_eq!(attrs.db_column.unwrap().value(), "text");
        assert_eq!(attrs.verbose_name.unwrap().value(), "question");
        assert_eq!(attrs.help_text.unwrap().value(), "The text.");
        let choices: Vec<(String, String)> = attrs
            .choices
            .unwrap()
            .iter()
            .map(|(value, label)| (value.value(), label.value()))
            .collect();
        assert_eq!(
            choices,
            [
                ("a".to_owned(), "A".to_owned()),
                ("b".to_owned(), "B".to_owned())
            ]
        );
    }

    #[test]
    fn field_defaults_of_each_literal_kind() {
        let default =
            |attr: Attribute| field(vec![attr]).map(|attrs| attrs.default.map(|(value, _)| value));
        assert!(matches!(
            default(parse_quote!(#[field(default = 7)])),
            Ok(Some(DefaultLit::Int(7)))
        ));
        assert!(matches!(
            default(parse_quote!(#[field(default = -7)])),
            Ok(Some(DefaultLit::Int(-7)))
        ));
        assert!(matches!(
            default(parse_quote!(#[field(default = -1.5)])),
            Ok(Some(DefaultLit::Float(value))) if value == -1.5
        ));
        assert!(matches!(
            default(parse_quote!(#[field(default = true)])),
            Ok(Some(DefaultLit::Bool(true)))
        ));
        assert!(matches!(
            default(parse_quote!(#[field(default = "draft")])),
            Ok(Some(DefaultLit::Str(text))) if text == "draft"
        ));
        for bad in [
            parse_quote!(#[field(default = some_fn())]),
            parse_quote!(#[field(default = -"x")]),
            parse_quote!(#[field(default = [1])]),
        ] {
            let message = err(default(bad));
            assert!(message.contains("`default` expects a literal"), "{message}");
        }
        let message = err(default(
            parse_quote!(#[field(default = 99999999999999999999)]),
        ));
        assert!(message.contains("fit in an i64"), "{message}");
    }

    #[test]
    fn model_indexes() {
        let attrs = model(vec![parse_quote!(#[model(indexes = [["a", "b"], ["c"]])])]).unwrap();
        let groups: Vec<Vec<String>> = attrs
            .indexes
            .unwrap()
            .iter()
            .map(|group| group.iter().map(LitStr::value).collect())
            .collect();
        assert_eq!(groups, [vec!["a", "b"], vec!["c"]]);
        let message = err(model(vec![parse_quote!(#[model(indexes = [[]])])]));
        assert!(
            message.contains("every `indexes` group needs at least one field"),
            "{message}"
        );
    }

    #[test]
    fn field_validation_keys() {
        let attrs = field(vec![parse_quote!(
            #[field(blank, email, url = false, min = -1, max = 2.5, min_length = 3,
                    validators = [check, rules::other::<u8>, |v: &i32| Ok::<(), String>(())])]
        )])
        .unwrap();
        assert!(attrs.blank.unwrap().value);
        assert_eq!(attrs.min.unwrap().0, LimitLit::Int(-1));
        assert_eq!(attrs.max.unwrap().0, LimitLit::Float(2.5));
        assert_eq!(attrs.min_length.unwrap().0, 3);
        assert_eq!(attrs.validators.as_ref().map(Vec::len), Some(3));
        let names: Vec<_> = attrs
            .string_validators()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, ["email", "min_length"]);
        for (attr, expected) in [
            (
                parse_quote!(#[field(min = "1")]),
                "`min` expects a number literal",
            ),
            (
                parse_quote!(#[field(max = x)]),
                "`max` expects a number literal",
            ),
            (
                parse_quote!(#[field(min = 99999999999999999999)]),
                "fit in an i64",
            ),
            (parse_quote!(#[field(min_length = 0)]), "at least 1"),
            (
                parse_quote!(#[field(validators = check)]),
                "`validators` expects an array",
            ),
            (
                parse_quote!(#[field(validators = ["check"])]),
                "expects a function's path",
            ),
            (
                parse_quote!(#[field(email = 1)]),
                "expected `true` or `false`",
            ),
        ] {
            let message = err(field(vec![attr]));
            assert!(message.contains(expected), "{message}");
        }
    }

    #[test]
    fn model_clean() {
        let attrs = model(vec![parse_quote!(#[model(clean = Self::check)])]).unwrap();
        assert!(attrs.clean.is_some());
        let message = err(model(vec![parse_quote!(#[model(clean = "check")])]));
        assert!(
            message.contains("`clean` expects a function's path"),
            "{message}"
        );
    }

    #[test]
    fn field_flags() {
        let attrs = field(vec![
            parse_quote!(#[field(primary_key, auto = true, unique = false)]),
        ])
        .unwrap();
        assert!(attrs.is_primary_key());
        assert!(attrs.is_auto());
        assert!(!attrs.is_unique());
        assert!(attrs.unique.is_some());
        assert!(!attrs.is_index());
        let message = err(field(vec![parse_quote!(#[field(unique = "yes")])]));
        assert!(message.contains("expected `true` or `false`"), "{message}");
    }

    #[test]
    fn field_defaults() {
        let attrs = field(vec![parse_quote!(#[doc = "x"])]).unwrap();
        assert!(attrs.max_length.is_none());
        assert!(attrs.db_column.is_none());
        assert!(attrs.choices.is_none());
        assert!(!attrs.is_primary_key());
    }

    #[test]
    fn field_unknown_key() {
        let message = err(field(vec![parse_quote!(#[field(maxlength = 3)])]));
        assert!(
            message.contains("unknown `field` attribute `maxlength`"),
            "{message}"
        );
        assert!(
            message.contains("primary_key, auto, max_length"),
            "{message}"
        );
        let message = err(field(vec![parse_quote!(#[field(null)])]));
        assert!(message.contains("Option<T>"), "{message}");
        let message = err(field(vec![parse_quote!(#[field(a::b)])]));
        assert!(message.contains("`a::b`"), "{message}");
    }

    #[test]
    fn field_malformed_max_length() {
        for attr in [
            parse_quote!(#[field(max_length = "200")]),
            parse_quote!(#[field(max_length = -1)]),
            parse_quote!(#[field(max_length = 2.5)]),
            parse_quote!(#[field(max_length = 10i8)]),
        ] {
            let message = err(field(vec![attr]));
            assert!(message.contains("positive integer literal"), "{message}");
        }
        let message = err(field(vec![parse_quote!(#[field(max_length = 0)])]));
        assert!(message.contains("at least 1"), "{message}");
        let message = err(field(vec![parse_quote!(#[field(max_length = 5000000000)])]));
        assert!(message.contains("fit in a u32"), "{message}");
        let message = err(field(vec![parse_quote!(#[field(max_length)])]));
        assert!(
            message.contains("`max_length` expects a value"),
            "{message}"
        );
        assert_eq!(
            field(vec![parse_quote!(#[field(max_length = 0x10)])])
                .unwrap()
                .max_length
                .unwrap()
                .0,
            16
        );
    }

    #[test]
    fn field_malformed_choices() {
        for attr in [
            parse_quote!(#[field(choices = ("a", "A"))]),
            parse_quote!(#[field(choices = ["a"])]),
            parse_quote!(#[field(choices = [("a", "A", "x")])]),
            parse_quote!(#[field(choices = [("a", 1)])]),
        ] {
            let message = err(field(vec![attr]));
            assert!(message.contains("`choices` expects"), "{message}");
        }
    }

    #[test]
    fn field_duplicate_and_misplaced() {
        let message = err(field(vec![parse_quote!(#[field(unique, unique)])]));
        assert!(
            message.contains("duplicate attribute `unique`"),
            "{message}"
        );
        let message = err(field(vec![
            parse_quote!(#[field(db_column = "a")]),
            parse_quote!(#[field(db_column = "b")]),
        ]));
        assert!(
            message.contains("duplicate attribute `db_column`"),
            "{message}"
        );
        let message = err(field(vec![parse_quote!(#[model(table = "t")])]));
        assert!(message.contains("belongs on the struct"), "{message}");
        let message = err(field(vec![parse_quote!(#[field])]));
        assert!(!message.is_empty());
    }
}
