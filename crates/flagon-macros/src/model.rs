//! `#[derive(Model)]`: checks the struct and its attributes, then generates
//! the `Model` impl and the typed field constants.

use std::collections::HashMap;

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Data, DataStruct, DeriveInput, Fields, LitStr, Type};

use crate::attrs::{
    parse_field_attrs, parse_model_attrs, DefaultLit, FieldAttrs, LimitLit, ModelAttrs,
};
use crate::types;

/// Expands `#[derive(Model)]` on `input`.
pub(crate) fn expand(input: DeriveInput) -> syn::Result<TokenStream> {
    expand_with(&input, &orm_path())
}

/// The path of the ORM crate as seen from the crate being compiled:
/// `::flagon_orm` when it depends on `flagon-orm` (or is `flagon-orm`,
/// which declares `extern crate self as flagon_orm;`), `::flagon::orm` when
/// it depends only on the facade, honouring renamed dependencies.
fn orm_path() -> TokenStream {
    use proc_macro_crate::{crate_name, FoundCrate};

    match crate_name("flagon-orm") {
        Ok(FoundCrate::Itself) => quote!(::flagon_orm),
        Ok(FoundCrate::Name(name)) => {
            let name = Ident::new(&name, Span::call_site());
            quote!(::#name)
        }
        Err(_) => match crate_name("flagon") {
            Ok(FoundCrate::Itself) => quote!(::flagon::orm),
            Ok(FoundCrate::Name(name)) => {
                let name = Ident::new(&name, Span::call_site());
                quote!(::#name::orm)
            }
            // Neither is a declared dependency (a build without Cargo, say):
            // the likeliest name, which fails with a clear "unresolved" error.
            Err(_) => quote!(::flagon_orm),
        },
    }
}

/// One field of the model, checked.
struct FieldInfo<'a> {
    /// The Rust identifier as written (possibly raw, `r#type`).
    ident: &'a Ident,
    /// The field name without `r#`.
    name: String,
    /// The type as written.
    ty: &'a Type,
    /// The type of the value: the `T` of `Deferred<T>`, else `ty`.
    value_ty: &'a Type,
    /// Whether the field is written as `Deferred<T>`.
    deferred: bool,
    /// The column name.
    column: String,
    /// The `#[field(...)]` attributes.
    attrs: FieldAttrs,
}

/// The primary key: its position and whether the database assigns it.
struct PrimaryKey {
    index: usize,
    auto: bool,
}

/// Expands the derive with `orm` as the path of the ORM crate.
pub(crate) fn expand_with(input: &DeriveInput, orm: &TokenStream) -> syn::Result<TokenStream> {
    let named = named_fields(input)?;
    if !input.generics.params.is_empty() || input.generics.where_clause.is_some() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "`Model` cannot be derived for a generic struct",
        ));
    }
    let model_attrs = parse_model_attrs(&input.attrs)?;

    let mut errors = Errors::default();
    let mut fields = Vec::with_capacity(named.len());
    for field in named {
        let ident = field.ident.as_ref().expect("named fields have names");
        let attrs = match parse_field_attrs(&field.attrs) {
            Ok(attrs) => attrs,
            Err(error) => {
                errors.push(error);
                continue;
            }
        };
        let name = ident.unraw().to_string();
        // A relation's column is named for the key it holds (`author_id`).
        let column = attrs.db_column.as_ref().map_or_else(
            || match types::relation_name(&field.ty) {
                Some(_) => format!("{name}_id"),
                None => name.clone(),
            },
            LitStr::value,
        );
        let deferred = types::deferred_inner(&field.ty);
        fields.push(FieldInfo {
            ident,
            name,
            ty: &field.ty,
            value_ty: deferred.unwrap_or(&field.ty),
            deferred: deferred.is_some(),
            column,
            attrs,
        });
    }
    errors.finish()?;

    // Many-to-many fields are not columns.
    let (many_to_many, fields): (Vec<FieldInfo<'_>>, Vec<FieldInfo<'_>>) = fields
        .into_iter()
        .partition(|field| types::many_to_many_target(field.ty).is_some());
    check_many_to_many(&many_to_many, &mut errors);
    check_fields(&fields, &mut errors);
    check_validators(&fields, &mut errors);
    check_auto_now(&fields, &mut errors);
    check_deferred(&fields, &mut errors);
    let pk = primary_key(input, &fields);
    let pk = match pk {
        Ok(pk) => Some(pk),
        Err(error) => {
            errors.push(error);
            None
        }
    };
    check_auto(&fields, pk.as_ref(), &mut errors);
    check_model_attrs(&model_attrs, &fields, &mut errors);
    errors.finish()?;
    let pk = pk.expect("errors.finish() returned early without a primary key");

    Ok(generate(
        input,
        orm,
        &model_attrs,
        &fields,
        &many_to_many,
        &pk,
    ))
}

/// The named fields of a struct, or an error for any other shape.
fn named_fields(
    input: &DeriveInput,
) -> syn::Result<&syn::punctuated::Punctuated<syn::Field, syn::Token![,]>> {
    const MESSAGE: &str = "`Model` can only be derived for a struct with named fields";
    match &input.data {
        Data::Struct(DataStruct {
            fields: Fields::Named(named),
            ..
        }) => {
            if named.named.is_empty() {
                Err(syn::Error::new_spanned(
                    named,
                    "a model needs at least one field (its primary key)",
                ))
            } else {
                Ok(&named.named)
            }
        }
        Data::Struct(DataStruct {
            fields: Fields::Unnamed(unnamed),
            ..
        }) => Err(syn::Error::new_spanned(
            unnamed,
            format!("{MESSAGE}, not a tuple struct"),
        )),
        Data::Struct(DataStruct {
            fields: Fields::Unit,
            ..
        }) => Err(syn::Error::new_spanned(
            &input.ident,
            format!("{MESSAGE}, not a unit struct"),
        )),
        Data::Enum(data) => Err(syn::Error::new_spanned(
            data.enum_token,
            format!("{MESSAGE}, not an enum"),
        )),
        Data::Union(data) => Err(syn::Error::new_spanned(
            data.union_token,
            format!("{MESSAGE}, not a union"),
        )),
    }
}

/// A many-to-many field takes only `through`, `verbose_name` and `help_text`.
fn check_many_to_many(fields: &[FieldInfo<'_>], errors: &mut Errors) {
    for field in fields {
        let attrs = &field.attrs;
        let stray = attrs.primary_key.is_some()
            || attrs.auto.is_some()
            || attrs.unique.is_some()
            || attrs.index.is_some()
            || attrs.max_length.is_some()
            || attrs.max_digits.is_some()
            || attrs.decimal_places.is_some()
            || attrs.on_delete.is_some()
            || attrs.default.is_some()
            || attrs.db_column.is_some()
            || attrs.choices.is_some()
            || attrs.blank.is_some()
            || attrs.email.is_some()
            || attrs.url.is_some()
            || attrs.min.is_some()
            || attrs.max.is_some()
            || attrs.min_length.is_some()
            || attrs.validators.is_some()
            || attrs.auto_now.is_some()
            || attrs.auto_now_add.is_some();
        if stray {
            errors.push(syn::Error::new(
                field.ident.span(),
                format!(
                    "`{}` is a ManyToMany field: only `through`, `verbose_name` and `help_text` apply to it",
                    field.name
                ),
            ));
        }
    }
}

/// Checks each field on its own and the columns across fields.
fn check_fields(fields: &[FieldInfo<'_>], errors: &mut Errors) {
    let mut columns: HashMap<&str, &str> = HashMap::new();
    for field in fields {
        if let Some((_, span)) = field.attrs.max_length {
            if !types::is_string(field.value_ty) {
                errors.push(syn::Error::new(
                    span,
                    format!(
                        "`max_length` is only for `String` (or `Option<String>`) fields; `{}` is `{}`",
                        field.name,
                        type_string(field.ty)
                    ),
                ));
            }
        }
        if let (Some((digits, _)), Some((places, span))) =
            (field.attrs.max_digits, field.attrs.decimal_places)
        {
            if places > digits {
                errors.push(syn::Error::new(
                    span,
                    format!(
                        "`decimal_places` ({places}) cannot exceed `max_digits` ({digits}) on `{}`",
                        field.name
                    ),
                ));
            }
        }
        if let Some(other) = columns.insert(&field.column, &field.name) {
            let span = field
                .attrs
                .db_column
                .as_ref()
                .map_or_else(|| field.ident.span(), LitStr::span);
            errors.push(syn::Error::new(
                span,
                format!(
                    "fields `{other}` and `{}` both use the column `{}`",
                    field.name, field.column
                ),
            ));
        }
    }
}

/// The validation options suit the field's type and each other: `email`,
/// `url` and `min_length` on strings, `min` and `max` not on strings or
/// relations (the rest of their check is on the type's kind, generated),
/// `min <= max`, `min_length <= max_length`.
fn check_validators(fields: &[FieldInfo<'_>], errors: &mut Errors) {
    for field in fields {
        let attrs = &field.attrs;
        if !types::is_string(field.value_ty) {
            for (key, span) in attrs.string_validators() {
                errors.push(syn::Error::new(
                    span,
                    format!(
                        "`{key}` is only for `String` (or `Option<String>`) fields; `{}` is `{}`",
                        field.name,
                        type_string(field.ty)
                    ),
                ));
            }
        }
        let not_number = if types::is_string(field.value_ty) {
            Some(" (for a length, use `min_length` or `max_length`)")
        } else if types::relation_name(field.value_ty).is_some() {
            Some("")
        } else {
            None
        };
        if let Some(hint) = not_number {
            for (key, span) in attrs.number_validators() {
                errors.push(syn::Error::new(
                    span,
                    format!(
                        "`{key}` is for number fields (integers, floats, Decimal); `{}` is `{}`{hint}",
                        field.name,
                        type_string(field.ty)
                    ),
                ));
            }
        }
        if let (Some((min, _)), Some((max, span))) = (attrs.min, attrs.max) {
            if min.as_f64() > max.as_f64() {
                errors.push(syn::Error::new(
                    span,
                    format!(
                        "`min` ({}) is greater than `max` ({}) on `{}`: no value could pass",
                        limit_string(min),
                        limit_string(max),
                        field.name
                    ),
                ));
            }
        }
        if let (Some((min, span)), Some((max, _))) = (attrs.min_length, attrs.max_length) {
            if min > max {
                errors.push(syn::Error::new(
                    span,
                    format!(
                        "`min_length` ({min}) is greater than `max_length` ({max}) on `{}`: no value could pass",
                        field.name
                    ),
                ));
            }
        }
    }
}

/// `auto_now` and `auto_now_add`: on a `DateTime<Utc>` or `NaiveDate`
/// field (or its `Option`), one of them at most, and without `default`
/// (the value is always set on save, as Django refuses the mix).
fn check_auto_now(fields: &[FieldInfo<'_>], errors: &mut Errors) {
    for field in fields {
        let attrs = &field.attrs;
        let set: Vec<(&str, Span)> = [
            ("auto_now", attrs.auto_now),
            ("auto_now_add", attrs.auto_now_add),
        ]
        .into_iter()
        .filter_map(|(key, flag)| flag.filter(|flag| flag.value).map(|flag| (key, flag.span)))
        .collect();
        let Some(&(key, span)) = set.first() else {
            continue;
        };
        if set.len() > 1 {
            errors.push(syn::Error::new(
                set[1].1,
                format!(
                    "`auto_now` and `auto_now_add` cannot both be set on `{}`: pick `auto_now` (every save) or `auto_now_add` (the first insert)",
                    field.name
                ),
            ));
        }
        if types::date_kind(field.ty).is_none() {
            errors.push(syn::Error::new(
                span,
                format!(
                    "`{key}` is only for `DateTime<Utc>` or `NaiveDate` (or their `Option`) fields; `{}` is `{}`",
                    field.name,
                    type_string(field.ty)
                ),
            ));
        }
        if let Some((_, default_span)) = attrs.default {
            errors.push(syn::Error::new(
                default_span,
                format!(
                    "`{key}` and `default` cannot both be set on `{}`: `{key}` sets the value itself",
                    field.name
                ),
            ));
        }
        if attrs.is_primary_key() {
            errors.push(syn::Error::new(
                span,
                format!("`{key}` cannot be set on the primary key `{}`", field.name),
            ));
        }
    }
}

/// `Deferred<T>` holds a plain value that may be left unread: not the
/// primary key, nor a value the save sets (`auto`, `auto_now`), nor a
/// relation (whose key `select_related` and the deletions read), nor
/// wrapped in an `Option` (write `Deferred<Option<T>>`) or another
/// `Deferred`.
fn check_deferred(fields: &[FieldInfo<'_>], errors: &mut Errors) {
    for field in fields {
        let refusal = if let Some(inner) = types::option_inner(field.ty) {
            types::deferred_inner(inner)
                .is_some()
                .then(|| "write `Deferred<Option<T>>`, not `Option<Deferred<T>>`".to_owned())
        } else if !field.deferred {
            None
        } else if types::deferred_inner(field.value_ty).is_some() {
            Some("a `Deferred` inside a `Deferred` means nothing more".to_owned())
        } else if types::relation_name(field.value_ty).is_some() {
            Some("a relation cannot be deferred (its key is read to follow it)".to_owned())
        } else if field.attrs.is_primary_key() || field.attrs.auto.is_some() {
            Some("the primary key is always read".to_owned())
        } else if field.attrs.is_auto_now() || field.attrs.is_auto_now_add() {
            Some("`auto_now` and `auto_now_add` fields are written by every save".to_owned())
        } else {
            None
        };
        if let Some(reason) = refusal {
            errors.push(syn::Error::new(
                field.ident.span(),
                format!("`{}` cannot be `Deferred`: {reason}", field.name),
            ));
        }
    }
}

/// A bound as written.
fn limit_string(limit: LimitLit) -> String {
    match limit {
        LimitLit::Int(value) => value.to_string(),
        LimitLit::Float(value) => format!("{value:?}"),
    }
}

/// Finds the primary key: the field marked `#[field(primary_key)]`, else a
/// field named `id` of an integer type (automatic).
fn primary_key(input: &DeriveInput, fields: &[FieldInfo<'_>]) -> syn::Result<PrimaryKey> {
    let mut explicit = fields
        .iter()
        .enumerate()
        .filter(|(_, field)| field.attrs.is_primary_key());
    if let Some((index, first)) = explicit.next() {
        if let Some((_, second)) = explicit.next() {
            let span = second
                .attrs
                .primary_key
                .map_or_else(|| second.ident.span(), |flag| flag.span);
            return Err(syn::Error::new(
                span,
                format!(
                    "a model has a single primary key, and `{}` is already it; \
                     use `#[model(unique_together = [[...]])]` for a composite unique key",
                    first.name
                ),
            ));
        }
        return Ok(PrimaryKey {
            index,
            auto: first.attrs.is_auto(),
        });
    }
    match fields.iter().position(|field| field.name == "id") {
        Some(index) if types::is_integer(fields[index].ty) => Ok(PrimaryKey { index, auto: true }),
        Some(index) => Err(syn::Error::new_spanned(
            fields[index].ty,
            format!(
                "no primary key: the field `id` is `{}`, not an integer, so it is not an \
                 automatic primary key; mark the primary key with `#[field(primary_key)]`",
                type_string(fields[index].ty)
            ),
        )),
        None => Err(syn::Error::new_spanned(
            &input.ident,
            "no primary key: add an integer field `id` (an automatic primary key, \
             as in `pub id: i64`) or mark a field with `#[field(primary_key)]`",
        )),
    }
}

/// `auto` belongs on an integer primary key.
fn check_auto(fields: &[FieldInfo<'_>], pk: Option<&PrimaryKey>, errors: &mut Errors) {
    for (index, field) in fields.iter().enumerate() {
        let Some(flag) = field.attrs.auto.filter(|flag| flag.value) else {
            continue;
        };
        let is_pk = pk.is_some_and(|pk| pk.index == index);
        if !is_pk && !field.attrs.is_primary_key() {
            errors.push(syn::Error::new(
                flag.span,
                "`auto` is only for the primary key: write `#[field(primary_key, auto)]`",
            ));
        } else if !types::is_integer(field.ty) {
            errors.push(syn::Error::new(
                flag.span,
                format!(
                    "`auto` needs an integer field (such as `i64`); `{}` is `{}`",
                    field.name,
                    type_string(field.ty)
                ),
            ));
        }
    }
}

/// `ordering` and `unique_together` name existing fields.
fn check_model_attrs(attrs: &ModelAttrs, fields: &[FieldInfo<'_>], errors: &mut Errors) {
    let known = |name: &str| fields.iter().any(|field| field.name == name);
    let names = || {
        fields
            .iter()
            .map(|field| field.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    for order in attrs.ordering.iter().flatten() {
        if !known(&order.field) {
            errors.push(syn::Error::new(
                order.span,
                format!(
                    "`ordering` names an unknown field `{}`; the fields are: {}",
                    order.field,
                    names()
                ),
            ));
        }
    }
    let groups = [
        ("unique_together", &attrs.unique_together),
        ("indexes", &attrs.indexes),
    ];
    for constraint in attrs.constraints.iter().flatten() {
        for lit in &constraint.fields {
            let name = lit.value();
            if !known(&name) {
                errors.push(syn::Error::new(
                    lit.span(),
                    format!(
                        "`constraints` names an unknown field `{name}`; the fields are: {}",
                        names()
                    ),
                ));
            }
        }
        let condition = constraint.condition.as_ref();
        let tokens = condition.and_then(|lit| crate::condition_sql::parse(&lit.value()).ok());
        if let (Some(lit), Some(tokens)) = (condition, tokens) {
            for name in crate::condition_sql::fields(&tokens) {
                if !known(name) {
                    errors.push(syn::Error::new(
                        lit.span(),
                        format!(
                            "constraint condition names an unknown field `{name}`; the fields are: {}",
                            names()
                        ),
                    ));
                }
            }
        }
    }
    for (key, groups) in groups {
        for group in groups.iter().flatten() {
            for (position, lit) in group.iter().enumerate() {
                let name = lit.value();
                if !known(&name) {
                    errors.push(syn::Error::new(
                        lit.span(),
                        format!(
                            "`{key}` names an unknown field `{name}`; the fields are: {}",
                            names()
                        ),
                    ));
                } else if group[..position].iter().any(|other| other.value() == name) {
                    errors.push(syn::Error::new(
                        lit.span(),
                        format!("`{name}` appears twice in this `{key}` group"),
                    ));
                }
            }
        }
    }
}

/// Generates the `Model` impl and the field constants.
fn generate(
    input: &DeriveInput,
    orm: &TokenStream,
    attrs: &ModelAttrs,
    fields: &[FieldInfo<'_>],
    many_to_many: &[FieldInfo<'_>],
    pk: &PrimaryKey,
) -> TokenStream {
    let ident = &input.ident;
    let model_name = ident.unraw().to_string();
    let lower_name = model_name.to_lowercase();

    let app = match &attrs.app {
        Some(app) => quote!(#app),
        None => quote!(::core::env!("CARGO_CRATE_NAME")),
    };
    let table = match (&attrs.table, &attrs.app) {
        (Some(table), _) => quote!(#table),
        (None, Some(app)) => {
            let table = format!("{}_{lower_name}", app.value());
            quote!(#table)
        }
        (None, None) => {
            quote!(::core::concat!(::core::env!("CARGO_CRATE_NAME"), "_", #lower_name))
        }
    };

    let field_metas = fields.iter().enumerate().map(|(index, field)| {
        field_meta(orm, field, index == pk.index, index == pk.index && pk.auto)
    });

    let ordering = attrs.ordering.iter().flatten().map(|order| {
        let field = &order.field;
        let descending = order.descending;
        quote!((#field, #descending))
    });
    let groups = |groups: &Option<Vec<Vec<LitStr>>>| -> Vec<TokenStream> {
        groups
            .iter()
            .flatten()
            .map(|group| {
                let names = group.iter().map(LitStr::value);
                quote!(&[#(#names),*])
            })
            .collect()
    };
    let unique_together = groups(&attrs.unique_together);
    let indexes = groups(&attrs.indexes);
    let constraints: Vec<TokenStream> = attrs
        .constraints
        .iter()
        .flatten()
        .map(|constraint| {
            let name = &constraint.name;
            let fields = &constraint.fields;
            let check = constraint.check;
            let condition = match &constraint.condition {
                Some(condition) => quote!(::core::option::Option::Some(#condition)),
                None => quote!(::core::option::Option::None),
            };
            quote!(#orm::ConstraintMeta {
                name: #name,
                fields: &[#(#fields),*],
                condition: #condition,
                check: #check,
            })
        })
        .collect();
    let decimal_checks = fields.iter().map(|field| {
        let ty = field.ty;
        let kind = quote_spanned!(ty.span()=> <#ty as #orm::FieldType>::KIND);
        let has_precision =
            field.attrs.max_digits.is_some() && field.attrs.decimal_places.is_some();
        let has_any = field.attrs.max_digits.is_some() || field.attrs.decimal_places.is_some();
        let needs = format!(
            "the Decimal field `{}` needs `#[field(max_digits = .., decimal_places = ..)]`",
            field.name
        );
        let stray = format!(
            "`max_digits` and `decimal_places` are for Decimal fields; `{}` is not one",
            field.name
        );
        if has_any {
            quote_spanned! {ty.span()=>
                const _: () = ::core::assert!(
                    ::core::matches!(#kind, #orm::FieldKind::Decimal) && #has_precision,
                    #stray
                );
            }
        } else {
            quote_spanned! {ty.span()=>
                const _: () = ::core::assert!(
                    !::core::matches!(#kind, #orm::FieldKind::Decimal),
                    #needs
                );
            }
        }
    });
    let relation_checks = fields.iter().map(|field| {
        let ty = field.ty;
        let relation = quote_spanned!(ty.span()=> <#ty as #orm::FieldType>::RELATION);
        let nullable = quote_spanned!(ty.span()=> <#ty as #orm::FieldType>::NULLABLE);
        match &field.attrs.on_delete {
            None => {
                let needs = format!(
                    "the relation field `{}` needs `#[field(on_delete = \"cascade\")]` \
                     (or protect, restrict, set_null, do_nothing)",
                    field.name
                );
                quote_spanned! {ty.span()=>
                    const _: () = ::core::assert!(#relation.is_none(), #needs);
                }
            }
            Some(value) => {
                let set_null = value.value() == "set_null";
                let stray = format!(
                    "`on_delete` is for ForeignKey and OneToOne fields; `{}` is not one",
                    field.name
                );
                let null = format!(
                    "`on_delete = \"set_null\"` needs a field that can be NULL: make `{}` an `Option<..>`",
                    field.name
                );
                quote_spanned! {ty.span()=>
                    const _: () = ::core::assert!(#relation.is_some(), #stray);
                    const _: () = ::core::assert!(!#set_null || #nullable, #null);
                }
            }
        }
    });
    let number_checks = fields.iter().filter_map(|field| {
        let (key, _) = field.attrs.number_validators().into_iter().next()?;
        let ty = field.ty;
        let kind = quote_spanned!(ty.span()=> <#ty as #orm::FieldType>::KIND);
        let message = format!(
            "`{key}` is for number fields (integers, floats, Decimal); `{}` is not one",
            field.name
        );
        Some(quote_spanned! {ty.span()=>
            const _: () = ::core::assert!(
                ::core::matches!(
                    #kind,
                    #orm::FieldKind::SmallInteger
                        | #orm::FieldKind::Integer
                        | #orm::FieldKind::BigInteger
                        | #orm::FieldKind::Float
                        | #orm::FieldKind::Double
                        | #orm::FieldKind::Decimal
                ),
                #message
            );
        })
    });
    let validator_arms: Vec<TokenStream> = fields
        .iter()
        .filter_map(|field| {
            let functions = field
                .attrs
                .validators
                .as_ref()
                .filter(|list| !list.is_empty())?;
            let ident = field.ident;
            let name = &field.name;
            let calls = functions.iter().map(|function| {
                quote_spanned! {function.span()=>
                    #orm::validation::__push(errors, (#function)(value));
                }
            });
            // An `Option` field's functions get the value inside; a NULL is
            // empty, and validators never see empty values. A `Deferred`
            // field's get its value, when it was read.
            let value = if field.deferred {
                quote!(self.#ident.get())
            } else {
                quote!(::core::option::Option::Some(&self.#ident))
            };
            let body = if types::option_inner(field.value_ty).is_some() {
                quote! {
                    if let ::core::option::Option::Some(::core::option::Option::Some(value)) = #value {
                        #(#calls)*
                    }
                }
            } else {
                quote! {
                    if let ::core::option::Option::Some(value) = #value {
                        #(#calls)*
                    }
                }
            };
            Some(quote!(#name => { #body }))
        })
        .collect();
    let run_validators = if validator_arms.is_empty() {
        quote!()
    } else {
        quote! {
            fn run_validators(
                &self,
                field: &str,
                errors: &mut ::std::vec::Vec<#orm::ValidationError>,
            ) {
                match field {
                    #(#validator_arms)*
                    _ => {}
                }
            }
        }
    };
    let clean = match &attrs.clean {
        Some(function) => quote_spanned! {function.span()=>
            fn clean(&self) -> ::core::result::Result<(), #orm::ValidationErrors> {
                ::core::result::Result::map_err((#function)(self), ::core::convert::Into::into)
            }
        },
        None => quote!(),
    };
    let set_related = fields.iter().map(|field| {
        let ident = field.ident;
        let ty = field.ty;
        let name = &field.name;
        quote!(#name => <#ty as #orm::FieldType>::attach_related(&mut self.#ident, object),)
    });
    let default_checks = fields.iter().filter_map(|field| {
        let (value, span) = field.attrs.default.as_ref()?;
        let ty = field.ty;
        let kind = match field.attrs.max_length {
            Some(_) => quote!(#orm::FieldKind::String),
            None => quote_spanned!(ty.span()=> <#ty as #orm::FieldType>::KIND),
        };
        let default = default_tokens(orm, value);
        let message = format!(
            "the `default` of field `{}` does not suit its type `{}`",
            field.name,
            type_string(ty)
        );
        Some(quote_spanned! {*span=>
            const _: () = ::core::assert!(#default.fits(#kind), #message);
        })
    });

    let decode = fields.iter().enumerate().map(|(index, field)| {
        let field_ident = field.ident;
        let ty = field.ty;
        let index = Literal::usize_unsuffixed(index);
        let decode = quote_spanned!(ty.span()=> <#ty as #orm::FieldType>::decode);
        quote!(#field_ident: #decode(row, offset + #index)?)
    });
    let m2m_defaults: Vec<TokenStream> = many_to_many
        .iter()
        .map(|field| {
            let field_ident = field.ident;
            quote!(#field_ident: ::core::default::Default::default())
        })
        .collect();
    let deferring = fields.iter().any(|field| field.deferred).then(|| {
        let decode = fields.iter().map(|field| {
            let field_ident = field.ident;
            let ty = field.ty;
            let name = &field.name;
            let decode = quote_spanned!(ty.span()=> <#ty as #orm::FieldType>::decode);
            let read = quote! {{
                index += 1;
                #decode(row, index - 1)?
            }};
            // By the type, not the syntax: a `Deferred` behind an alias
            // is left out of the select too (`FieldMeta::deferrable`).
            let unloaded = quote_spanned!(ty.span()=> <#ty as #orm::FieldType>::unloaded);
            quote! {
                #field_ident: match #unloaded().filter(|_| deferred.contains(&#name)) {
                    ::core::option::Option::Some(unread) => unread,
                    ::core::option::Option::None => #read,
                }
            }
        });
        let unread = fields.iter().map(|field| {
            let field_ident = field.ident;
            let ty = field.ty;
            let name = &field.name;
            quote! {
                if !<#ty as #orm::FieldType>::is_loaded(&self.#field_ident) {
                    unread.push(#name);
                }
            }
        });
        quote! {
            fn from_row_deferring(
                row: &#orm::Row,
                offset: usize,
                deferred: &[&str],
            ) -> ::core::result::Result<Self, #orm::OrmError> {
                let mut index = offset;
                ::core::result::Result::Ok(Self {
                    #(#decode,)*
                    #(#m2m_defaults,)*
                })
            }

            fn deferred_fields(&self) -> ::std::vec::Vec<&'static str> {
                let mut unread = ::std::vec::Vec::new();
                #(#unread)*
                unread
            }
        }
    });
    let load_arms = fields.iter().map(|field| {
        let field_ident = field.ident;
        let ty = field.ty;
        let name = &field.name;
        let decode = quote_spanned!(ty.span()=> <#ty as #orm::FieldType>::decode);
        quote!(#name => { self.#field_ident = #decode(row, index)?; })
    });
    let values = fields.iter().map(|field| {
        let field_ident = field.ident;
        let ty = field.ty;
        let to_value = quote_spanned!(ty.span()=> <#ty as #orm::FieldType>::to_value);
        quote!(#to_value(&self.#field_ident))
    });

    let m2m_metas = many_to_many.iter().map(|field| {
        let name = &field.name;
        let target = types::many_to_many_target(field.ty).expect("partitioned on it");
        let target_name = types::last_segment(target)
            .unwrap_or_default()
            .to_lowercase();
        let (source_column, target_column) = if target_name == lower_name {
            (
                format!("from_{lower_name}_id"),
                format!("to_{lower_name}_id"),
            )
        } else {
            (format!("{lower_name}_id"), format!("{target_name}_id"))
        };
        let through = match &field.attrs.through {
            Some(path) => quote!(::core::option::Option::Some(
                || <#path as #orm::Model>::META
            )),
            None => quote!(::core::option::Option::None),
        };
        let suffix = format!("_{name}");
        quote! {
            #orm::many_to_many::ManyToManyMeta {
                name: #name,
                target: || <#target as #orm::Model>::META,
                through: #through,
                table: ::core::concat!(#table, #suffix),
                source_column: #source_column,
                target_column: #target_column,
            }
        }
    });
    let m2m_constants = many_to_many.iter().map(|field| {
        let const_ident = format_ident!("{}", field.name.to_uppercase());
        let ty = field.ty;
        let name = &field.name;
        let doc = format!(
            "The many-to-many field `{name}` of `{model_name}`: link, unlink and follow it."
        );
        quote! {
            #[doc = #doc]
            pub const #const_ident: #orm::Field<#ident, #ty> = #orm::Field::new(#name, "");
        }
    });

    let pk_field = &fields[pk.index];
    let pk_ident = pk_field.ident;
    let pk_ty = pk_field.ty;
    let key_ty = types::non_null(pk_ty);
    let key_expr = if types::option_inner(pk_ty).is_some() {
        quote!(::core::clone::Clone::clone(&self.#pk_ident).unwrap_or_default())
    } else {
        quote!(::core::clone::Clone::clone(&self.#pk_ident))
    };
    let set_auto_pk = if pk.auto {
        let inner = types::non_null(pk_ty);
        let value = if types::option_inner(pk_ty).is_some() {
            quote!(::core::option::Option::Some(id))
        } else {
            quote!(id)
        };
        let body = if types::is_named(inner, "i64") {
            quote!(self.#pk_ident = #value;)
        } else {
            quote! {
                if let ::core::result::Result::Ok(id) =
                    <#inner as ::core::convert::TryFrom<i64>>::try_from(id)
                {
                    self.#pk_ident = #value;
                }
            }
        };
        quote! {
            fn set_auto_pk(&mut self, id: i64) {
                #body
            }
        }
    } else {
        quote! {
            fn set_auto_pk(&mut self, _id: i64) {}
        }
    };

    let now_arms: Vec<TokenStream> = fields
        .iter()
        .filter(|field| field.attrs.is_auto_now() || field.attrs.is_auto_now_add())
        .filter_map(|field| {
            let ident = field.ident;
            let name = &field.name;
            let value = match types::date_kind(field.ty)? {
                types::DateKind::DateTime => quote!(now),
                types::DateKind::Date => quote!(now.date_naive()),
            };
            let value = if types::option_inner(field.ty).is_some() {
                quote!(::core::option::Option::Some(#value))
            } else {
                value
            };
            Some(quote!(#name => { self.#ident = #value; true }))
        })
        .collect();
    let set_now = if now_arms.is_empty() {
        quote!()
    } else {
        quote! {
            fn set_now(
                &mut self,
                field: &str,
                now: #orm::__private::chrono::DateTime<#orm::__private::chrono::Utc>,
            ) -> bool {
                match field {
                    #(#now_arms)*
                    _ => false,
                }
            }
        }
    };

    let constants = fields.iter().map(|field| {
        let const_ident = format_ident!("{}", field.name.to_uppercase());
        let ty = field.ty;
        let name = &field.name;
        let column = &field.column;
        let doc = format!(
            "The `{name}` field of `{model_name}` (column `{column}`), for building queries."
        );
        quote! {
            #[doc = #doc]
            pub const #const_ident: #orm::Field<#ident, #ty> = #orm::Field::new(#name, #column);
        }
    });

    quote! {
        #[automatically_derived]
        impl #orm::Model for #ident {
            const META: &'static #orm::ModelMeta = &#orm::ModelMeta {
                app: #app,
                name: #model_name,
                table: #table,
                fields: &[#(#field_metas),*],
                ordering: &[#(#ordering),*],
                unique_together: &[#(#unique_together),*],
                indexes: &[#(#indexes),*],
                constraints: &[#(#constraints),*],
                many_to_many: &[#(#m2m_metas),*],
            };

            fn from_row_at(
                row: &#orm::Row,
                offset: usize,
            ) -> ::core::result::Result<Self, #orm::OrmError> {
                ::core::result::Result::Ok(Self {
                    #(#decode,)*
                    #(#m2m_defaults,)*
                })
            }

            fn values(&self) -> ::std::vec::Vec<#orm::Value> {
                ::std::vec![#(#values),*]
            }

            fn load_field(
                &mut self,
                field: &str,
                row: &#orm::Row,
                index: usize,
            ) -> ::core::result::Result<bool, #orm::OrmError> {
                match field {
                    #(#load_arms)*
                    _ => return ::core::result::Result::Ok(false),
                }
                ::core::result::Result::Ok(true)
            }

            #deferring

            fn pk(&self) -> #orm::Value {
                <#pk_ty as #orm::FieldType>::to_value(&self.#pk_ident)
            }

            type Key = #key_ty;

            fn key(&self) -> #key_ty {
                #key_expr
            }

            fn set_related(
                &mut self,
                field: &str,
                object: ::std::sync::Arc<dyn ::core::any::Any + ::core::marker::Send + ::core::marker::Sync>,
            ) -> bool {
                match field {
                    #(#set_related)*
                    _ => false,
                }
            }

            #set_auto_pk
            #set_now

            #run_validators

            #clean
        }

        #[allow(dead_code)]
        impl #ident {
            #(#constants)*
            #(#m2m_constants)*
        }

        #(#default_checks)*
        #(#decimal_checks)*
        #(#relation_checks)*
        #(#number_checks)*
    }
}

/// The `FieldDefault` expression of a `default` literal.
fn default_tokens(orm: &TokenStream, value: &DefaultLit) -> TokenStream {
    match value {
        DefaultLit::Int(value) => quote!(#orm::FieldDefault::Int(#value)),
        DefaultLit::Float(value) => quote!(#orm::FieldDefault::Float(#value)),
        DefaultLit::Bool(value) => quote!(#orm::FieldDefault::Bool(#value)),
        DefaultLit::Str(value) => {
            quote!(#orm::FieldDefault::Str(::std::borrow::Cow::Borrowed(#value)))
        }
    }
}

/// The `FieldMeta` literal of one field.
fn field_meta(
    orm: &TokenStream,
    field: &FieldInfo<'_>,
    primary_key: bool,
    auto: bool,
) -> TokenStream {
    let ty = field.ty;
    let name = &field.name;
    let column = &field.column;
    let attrs = &field.attrs;
    let kind = match attrs.max_length {
        Some(_) => quote!(#orm::FieldKind::String),
        None => quote_spanned!(ty.span()=> <#ty as #orm::FieldType>::KIND),
    };
    // A primary key column is never NULL; `Option<i64>` there only means
    // "not assigned yet".
    let null = if primary_key {
        quote!(false)
    } else {
        quote_spanned!(ty.span()=> <#ty as #orm::FieldType>::NULLABLE)
    };
    let relation = types::relation_name(ty);
    // A one-to-one link is unique; a foreign key is indexed, as in Django.
    let unique = attrs.is_unique() || relation == Some("OneToOne");
    let index = attrs.is_index() || (relation == Some("ForeignKey") && !unique);
    let on_delete = match &attrs.on_delete {
        Some(value) => {
            let variant = match value.value().as_str() {
                "protect" => quote!(Protect),
                "restrict" => quote!(Restrict),
                "set_null" => quote!(SetNull),
                "do_nothing" => quote!(DoNothing),
                _ => quote!(Cascade),
            };
            quote!(::core::option::Option::Some(#orm::OnDelete::#variant))
        }
        None => quote!(::core::option::Option::None),
    };
    let max_length = match attrs.max_length {
        Some((length, _)) => quote!(::core::option::Option::Some(#length)),
        None => quote!(::core::option::Option::None),
    };
    let count = |value: Option<(u32, Span)>| match value {
        Some((value, _)) => quote!(::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
    };
    let max_digits = count(attrs.max_digits);
    let decimal_places = count(attrs.decimal_places);
    let default = match &attrs.default {
        Some((value, _)) => {
            let value = default_tokens(orm, value);
            quote!(::core::option::Option::Some(#value))
        }
        None => quote!(::core::option::Option::None),
    };
    let verbose_name = attrs
        .verbose_name
        .as_ref()
        .map_or_else(|| name.replace('_', " "), LitStr::value);
    let help_text = attrs
        .help_text
        .as_ref()
        .map_or_else(String::new, LitStr::value);
    let blank = match attrs.blank {
        Some(flag) => {
            let value = flag.value;
            quote!(#value)
        }
        // An `auto_now` field is filled in on save (Django makes it
        // `blank`).
        None if attrs.is_auto_now() || attrs.is_auto_now_add() => quote!(true),
        // An `Option` field may be empty unless it says otherwise.
        None => null.clone(),
    };
    let auto_now = attrs.is_auto_now();
    let auto_now_add = attrs.is_auto_now_add();
    let mut validators = Vec::new();
    if attrs.email.is_some_and(|flag| flag.value) {
        validators.push(quote!(#orm::validation::Validator::Email));
    }
    if attrs.url.is_some_and(|flag| flag.value) {
        validators.push(quote!(#orm::validation::Validator::Url));
    }
    let limit = |value: LimitLit| match value {
        LimitLit::Int(value) => quote!(#orm::validation::Limit::Int(#value)),
        LimitLit::Float(value) => quote!(#orm::validation::Limit::Float(#value)),
    };
    if let Some((value, _)) = attrs.min {
        let value = limit(value);
        validators.push(quote!(#orm::validation::Validator::Min(#value)));
    }
    if let Some((value, _)) = attrs.max {
        let value = limit(value);
        validators.push(quote!(#orm::validation::Validator::Max(#value)));
    }
    if let Some((length, _)) = attrs.min_length {
        validators.push(quote!(#orm::validation::Validator::MinLength(#length)));
    }
    let choices = attrs.choices.iter().flatten().map(|(value, label)| {
        let value = value.value();
        let label = label.value();
        quote!((#value, #label))
    });
    quote! {
        #orm::FieldMeta {
            name: #name,
            column: #column,
            kind: #kind,
            null: #null,
            primary_key: #primary_key,
            auto: #auto,
            unique: #unique,
            index: #index,
            max_length: #max_length,
            default: #default,
            max_digits: #max_digits,
            decimal_places: #decimal_places,
            relation: #orm::relation::relation_of::<#ty>(#on_delete),
            verbose_name: #verbose_name,
            help_text: #help_text,
            choices: &[#(#choices),*],
            blank: #blank,
            validators: &[#(#validators),*],
            auto_now: #auto_now,
            auto_now_add: #auto_now_add,
            deferrable: <#ty as #orm::FieldType>::DEFERRABLE,
        }
    }
}

/// A type as source text, for error messages.
fn type_string(ty: &Type) -> String {
    quote!(#ty)
        .to_string()
        .replace(" < ", "<")
        .replace(" >", ">")
        .replace(" :: ", "::")
}

/// Errors gathered so that one compilation reports them all.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    /// Adds an error.
    fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// Fails with every error gathered so far, if any.
    fn finish(&mut self) -> syn::Result<()> {
        match self.0.take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn expand_ok(input: DeriveInput) -> String {
        match expand_with(&input, &quote!(::flagon_orm)) {
            Ok(tokens) => tokens.to_string(),
            Err(error) => panic!("unexpected error: {error}"),
        }
    }

    fn expand_err(input: DeriveInput) -> Vec<String> {
        match expand_with(&input, &quote!(::flagon_orm)) {
            Ok(tokens) => panic!("expected an error, got {tokens}"),
            Err(error) => error.into_iter().map(|error| error.to_string()).collect(),
        }
    }

    fn one_err(input: DeriveInput) -> String {
        let errors = expand_err(input);
        assert_eq!(errors.len(), 1, "{errors:?}");
        errors.into_iter().next().unwrap_or_default()
    }

    /// Token text without spaces, so that expectations read like code.
    fn compact(text: &str) -> String {
        text.chars().filter(|c| !c.is_whitespace()).collect()
    }

    #[test]
    fn full_example() {
        let out = compact(&expand_ok(parse_quote! {
            #[model(app = "polls", ordering = ["-pub_date", "id"], unique_together = [["question_text", "pub_date"]])]
            pub struct Question {
                pub id: i64,
                #[field(max_length = 200, unique, index, db_column = "text", verbose_name = "question",
                        help_text = "The text.", choices = [("a", "A"), ("b", "B")])]
                pub question_text: String,
                pub pub_date: chrono::DateTime<chrono::Utc>,
                pub note: Option<String>,
            }
        }));
        for expected in [
            "impl::flagon_orm::ModelforQuestion",
            "constMETA:&'static::flagon_orm::ModelMeta=&::flagon_orm::ModelMeta{app:\"polls\",name:\"Question\",table:\"polls_question\",",
            "::flagon_orm::FieldMeta{name:\"id\",column:\"id\",kind:<i64as::flagon_orm::FieldType>::KIND,null:false,primary_key:true,auto:true,unique:false,index:false,max_length:::core::option::Option::None,default:::core::option::Option::None,max_digits:::core::option::Option::None,decimal_places:::core::option::Option::None,relation:::flagon_orm::relation::relation_of::<i64>(::core::option::Option::None),verbose_name:\"id\",help_text:\"\",choices:&[],blank:false,validators:&[],auto_now:false,auto_now_add:false,deferrable:<i64as::flagon_orm::FieldType>::DEFERRABLE,}",
            "::flagon_orm::FieldMeta{name:\"question_text\",column:\"text\",kind:::flagon_orm::FieldKind::String,null:<Stringas::flagon_orm::FieldType>::NULLABLE,primary_key:false,auto:false,unique:true,index:true,max_length:::core::option::Option::Some(200u32),default:::core::option::Option::None,max_digits:::core::option::Option::None,decimal_places:::core::option::Option::None,relation:::flagon_orm::relation::relation_of::<String>(::core::option::Option::None),verbose_name:\"question\",help_text:\"Thetext.\",choices:&[(\"a\",\"A\"),(\"b\",\"B\")],blank:<Stringas::flagon_orm::FieldType>::NULLABLE,validators:&[],auto_now:false,auto_now_add:false,deferrable:<Stringas::flagon_orm::FieldType>::DEFERRABLE,}",
            "name:\"pub_date\",column:\"pub_date\",kind:<chrono::DateTime<chrono::Utc>as::flagon_orm::FieldType>::KIND",
            "verbose_name:\"pubdate\"",
            "name:\"note\",column:\"note\",kind:<Option<String>as::flagon_orm::FieldType>::KIND,null:<Option<String>as::flagon_orm::FieldType>::NULLABLE",
            "ordering:&[(\"pub_date\",true),(\"id\",false)],unique_together:&[&[\"question_text\",\"pub_date\"]],indexes:&[],constraints:&[],many_to_many:&[],",
            "::core::result::Result::Ok(Self{id:<i64as::flagon_orm::FieldType>::decode(row,offset+0)?,question_text:<Stringas::flagon_orm::FieldType>::decode(row,offset+1)?,pub_date:<chrono::DateTime<chrono::Utc>as::flagon_orm::FieldType>::decode(row,offset+2)?,note:<Option<String>as::flagon_orm::FieldType>::decode(row,offset+3)?,})",
            "::std::vec![<i64as::flagon_orm::FieldType>::to_value(&self.id),<Stringas::flagon_orm::FieldType>::to_value(&self.question_text)",
            "fnpk(&self)->::flagon_orm::Value{<i64as::flagon_orm::FieldType>::to_value(&self.id)}",
            "fnset_auto_pk(&mutself,id:i64){self.id=id;}",
            "pubconstID:::flagon_orm::Field<Question,i64>=::flagon_orm::Field::new(\"id\",\"id\");",
            "pubconstQUESTION_TEXT:::flagon_orm::Field<Question,String>=::flagon_orm::Field::new(\"question_text\",\"text\");",
            "pubconstPUB_DATE:::flagon_orm::Field<Question,chrono::DateTime<chrono::Utc>>",
            "pubconstNOTE:::flagon_orm::Field<Question,Option<String>>=::flagon_orm::Field::new(\"note\",\"note\");",
        ] {
            assert!(out.contains(&compact(expected)), "missing {expected}\nin {out}");
        }
        // The text (the `help_text`) kept its space: compact() removed it
        // from both sides above, so check the original too.
        assert!(out.contains("#[doc="));
    }

    #[test]
    fn default_app_and_table() {
        let out = compact(&expand_ok(parse_quote! {
            struct BlogPost { id: i32 }
        }));
        assert!(
            out.contains("app:::core::env!(\"CARGO_CRATE_NAME\")"),
            "{out}"
        );
        assert!(
            out.contains(
                "table:::core::concat!(::core::env!(\"CARGO_CRATE_NAME\"),\"_\",\"blogpost\")"
            ),
            "{out}"
        );
        // A narrower automatic key is assigned through a checked conversion.
        assert!(
            out.contains("iflet::core::result::Result::Ok(id)=<i32as::core::convert::TryFrom<i64>>::try_from(id){self.id=id;}"),
            "{out}"
        );
    }

    #[test]
    fn explicit_table_wins() {
        let out = compact(&expand_ok(parse_quote! {
            #[model(table = "things")]
            struct Thing { id: i64 }
        }));
        assert!(out.contains("table:\"things\""), "{out}");
    }

    #[test]
    fn optional_auto_key() {
        let out = compact(&expand_ok(parse_quote! {
            struct Thing { id: Option<i64>, n: Option<i16> }
        }));
        assert!(
            out.contains("self.id=::core::option::Option::Some(id);"),
            "{out}"
        );
        assert!(out.contains("name:\"id\",column:\"id\",kind:<Option<i64>as::flagon_orm::FieldType>::KIND,null:false,primary_key:true,auto:true"), "{out}");
    }

    #[test]
    fn explicit_primary_key_replaces_id() {
        let out = compact(&expand_ok(parse_quote! {
            struct Country {
                id: i64,
                #[field(primary_key, max_length = 2)]
                code: String,
            }
        }));
        assert!(out.contains("name:\"id\",column:\"id\",kind:<i64as::flagon_orm::FieldType>::KIND,null:<i64as::flagon_orm::FieldType>::NULLABLE,primary_key:false,auto:false"), "{out}");
        assert!(out.contains("name:\"code\",column:\"code\",kind:::flagon_orm::FieldKind::String,null:false,primary_key:true,auto:false"), "{out}");
        assert!(out.contains("fnpk(&self)->::flagon_orm::Value{<Stringas::flagon_orm::FieldType>::to_value(&self.code)}"), "{out}");
        assert!(out.contains("fnset_auto_pk(&mutself,_id:i64){}"), "{out}");
    }

    #[test]
    fn explicit_auto_key() {
        let out = compact(&expand_ok(parse_quote! {
            struct Ticket {
                #[field(primary_key, auto)]
                number: u32,
            }
        }));
        assert!(out.contains("primary_key:true,auto:true"), "{out}");
        assert!(
            out.contains("<u32as::core::convert::TryFrom<i64>>::try_from(id){self.number=id;}"),
            "{out}"
        );
    }

    #[test]
    fn raw_identifiers() {
        let out = compact(&expand_ok(parse_quote! {
            struct r#Match { id: i64, r#type: String }
        }));
        assert!(out.contains("name:\"Match\""), "{out}");
        assert!(out.contains("name:\"type\",column:\"type\""), "{out}");
        assert!(
            out.contains("r#type:<Stringas::flagon_orm::FieldType>::decode(row,offset+1)?"),
            "{out}"
        );
        assert!(
            out.contains("pubconstTYPE:::flagon_orm::Field<r#Match,String>"),
            "{out}"
        );
    }

    #[test]
    fn expand_finds_a_path() {
        // Outside a crate that depends on the ORM the path falls back to
        // `::flagon_orm`.
        let out = expand(parse_quote!(
            struct Thing {
                id: i64,
            }
        ))
        .map(|tokens| compact(&tokens.to_string()));
        assert!(out.is_ok_and(|out| out.contains("impl::flagon_orm::ModelforThing")));
    }

    #[test]
    fn wrong_shapes() {
        let message = one_err(parse_quote!(
            enum Thing {
                A,
            }
        ));
        assert!(message.contains("not an enum"), "{message}");
        let message = one_err(parse_quote!(
            struct Thing(i64);
        ));
        assert!(message.contains("not a tuple struct"), "{message}");
        let message = one_err(parse_quote!(
            struct Thing;
        ));
        assert!(message.contains("not a unit struct"), "{message}");
        let message = one_err(parse_quote!(union Thing { a: i64 }));
        assert!(message.contains("not a union"), "{message}");
        let message = one_err(parse_quote!(
            struct Thing {}
        ));
        assert!(message.contains("at least one field"), "{message}");
        let message = one_err(parse_quote!(
            struct Thing<T> {
                id: i64,
                t: T,
            }
        ));
        assert!(message.contains("generic"), "{message}");
    }

    #[test]
    fn unknown_attribute() {
        let message = one_err(parse_quote! {
            struct Thing { id: i64, #[field(max_len = 3)] name: String }
        });
        assert!(
            message.contains("unknown `field` attribute `max_len`; expected one of:"),
            "{message}"
        );
        let message = one_err(parse_quote! {
            #[model(tabel = "x")]
            struct Thing { id: i64 }
        });
        assert!(
            message.contains("unknown `model` attribute `tabel`"),
            "{message}"
        );
    }

    #[test]
    fn max_length_on_non_string() {
        let message = one_err(parse_quote! {
            struct Thing { id: i64, #[field(max_length = 3)] count: i32 }
        });
        assert!(
            message.contains("`max_length` is only for `String`"),
            "{message}"
        );
        assert!(message.contains("`count` is `i32`"), "{message}");
        // Option<String> is fine.
        expand_ok(parse_quote! {
            struct Thing { id: i64, #[field(max_length = 3)] name: Option<String> }
        });
    }

    #[test]
    fn no_primary_key() {
        let message = one_err(parse_quote!(
            struct Thing {
                name: String,
            }
        ));
        assert!(message.contains("no primary key"), "{message}");
        let message = one_err(parse_quote!(
            struct Thing {
                id: String,
            }
        ));
        assert!(
            message.contains("the field `id` is `String`, not an integer"),
            "{message}"
        );
    }

    #[test]
    fn constraints() {
        let ok = expand_ok(parse_quote!(
            #[model(constraints = [
                unique(fields = ["a"], condition = "b IS NOT NULL", name = "t_a"),
                check(condition = "a >= 0 AND (b IS NULL OR b < a)", name = "t_b"),
            ])]
            struct Thing {
                id: i64,
                a: i64,
                b: Option<i64>,
            }
        ));
        let ok = ok.to_string().replace(' ', "");
        assert!(ok.contains("constraints:&["), "{ok}");
        assert!(
            ok.contains("condition:::core::option::Option::Some(\"bISNOTNULL\")"),
            "{ok}"
        );
        let cases: [(syn::DeriveInput, &str); 5] = [
            (
                parse_quote!(
                    #[model(constraints = [check(condition = "a >", name = "c")])]
                    struct T {
                        id: i64,
                        a: i64,
                    }
                ),
                "malformed constraint condition: expected a field or a value",
            ),
            (
                parse_quote!(
                    #[model(constraints = [check(condition = "z > 0", name = "c")])]
                    struct T {
                        id: i64,
                        a: i64,
                    }
                ),
                "constraint condition names an unknown field `z`",
            ),
            (
                parse_quote!(
                    #[model(constraints = [unique(fields = ["z"], name = "c")])]
                    struct T {
                        id: i64,
                        a: i64,
                    }
                ),
                "`constraints` names an unknown field `z`",
            ),
            (
                parse_quote!(
                    #[model(constraints = [check(name = "c")])]
                    struct T {
                        id: i64,
                        a: i64,
                    }
                ),
                "`check(..)` needs a `condition",
            ),
            (
                parse_quote!(
                    #[model(constraints = [unique(fields = ["a"])])]
                    struct T {
                        id: i64,
                        a: i64,
                    }
                ),
                "`unique(..)` needs a `name",
            ),
        ];
        for (input, says) in cases {
            let message = one_err(input);
            assert!(message.contains(says), "{message}");
        }
    }

    #[test]
    fn two_primary_keys() {
        let message = one_err(parse_quote! {
            struct Thing {
                #[field(primary_key)] a: i64,
                #[field(primary_key)] b: i64,
            }
        });
        assert!(
            message.contains("single primary key, and `a` is already it"),
            "{message}"
        );
        // `primary_key = false` is not a primary key.
        expand_ok(parse_quote! {
            struct Thing { id: i64, #[field(primary_key = false)] b: i64 }
        });
    }

    #[test]
    fn misplaced_auto() {
        let message = one_err(parse_quote! {
            struct Thing { id: i64, #[field(auto)] n: i64 }
        });
        assert!(
            message.contains("`auto` is only for the primary key"),
            "{message}"
        );
        let message = one_err(parse_quote! {
            struct Thing { #[field(primary_key, auto)] code: String }
        });
        assert!(
            message.contains("`auto` needs an integer field"),
            "{message}"
        );
        // Redundant but harmless on the conventional key.
        expand_ok(parse_quote!(
            struct Thing {
                #[field(auto)]
                id: i64,
            }
        ));
    }

    #[test]
    fn model_attributes_name_fields() {
        let message = one_err(parse_quote! {
            #[model(ordering = ["-created"])]
            struct Thing { id: i64, name: String }
        });
        assert!(
            message
                .contains("`ordering` names an unknown field `created`; the fields are: id, name"),
            "{message}"
        );
        let message = one_err(parse_quote! {
            #[model(unique_together = [["id", "nme"]])]
            struct Thing { id: i64, name: String }
        });
        assert!(
            message.contains("`unique_together` names an unknown field `nme`"),
            "{message}"
        );
        let message = one_err(parse_quote! {
            #[model(unique_together = [["name", "name"]])]
            struct Thing { id: i64, name: String }
        });
        assert!(message.contains("appears twice"), "{message}");
    }

    #[test]
    fn validation_options_generate_metadata_and_functions() {
        let out = compact(&expand_ok(parse_quote! {
            #[model(clean = Self::check)]
            struct Member {
                id: i64,
                #[field(max_length = 50, email, min_length = 3, validators = [not_admin, rules::short])]
                email: Option<String>,
                #[field(min = -1, max = 2.5, blank)]
                score: f64,
                #[field(validators = [even])]
                seats: i32,
            }
        }));
        assert!(
            out.contains("validators:&[::flagon_orm::validation::Validator::Email,::flagon_orm::validation::Validator::MinLength(3u32)]"),
            "{out}"
        );
        assert!(
            out.contains("::flagon_orm::validation::Validator::Min(::flagon_orm::validation::Limit::Int(-1i64)),::flagon_orm::validation::Validator::Max(::flagon_orm::validation::Limit::Float(2.5f64))"),
            "{out}"
        );
        assert!(out.contains("blank:true"), "{out}");
        // An `Option` field is blank unless it says otherwise.
        assert!(
            out.contains("blank:<Option<String>as::flagon_orm::FieldType>::NULLABLE"),
            "{out}"
        );
        assert!(
            out.contains("\"email\"=>{iflet::core::option::Option::Some(::core::option::Option::Some(value))=::core::option::Option::Some(&self.email){::flagon_orm::validation::__push(errors,(not_admin)(value));::flagon_orm::validation::__push(errors,(rules::short)(value));}}"),
            "{out}"
        );
        assert!(
            out.contains("\"seats\"=>{iflet::core::option::Option::Some(value)=::core::option::Option::Some(&self.seats){::flagon_orm::validation::__push(errors,(even)(value));}}"),
            "{out}"
        );
        assert!(
            out.contains("fnclean(&self)->::core::result::Result<(),::flagon_orm::ValidationErrors>{::core::result::Result::map_err((Self::check)(self),::core::convert::Into::into)}"),
            "{out}"
        );
        // Without options, the trait's defaults stay.
        let plain = compact(&expand_ok(parse_quote!(
            struct Thing {
                id: i64,
            }
        )));
        assert!(!plain.contains("fnrun_validators") && !plain.contains("fnclean"));
        assert!(plain.contains("validators:&[]"), "{plain}");
    }

    #[test]
    fn validation_options_on_the_wrong_type_name_the_field() {
        let errors = expand_err(parse_quote! {
            struct Thing { id: i64, #[field(email, url, min_length = 2)] age: i32 }
        });
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(
            errors[0].contains(
                "`email` is only for `String` (or `Option<String>`) fields; `age` is `i32`"
            ),
            "{errors:?}"
        );
        assert!(
            errors[1].contains("`url` is only for `String`"),
            "{errors:?}"
        );
        assert!(
            errors[2].contains("`min_length` is only for `String`"),
            "{errors:?}"
        );
        let message = one_err(parse_quote! {
            struct Thing { id: i64, #[field(max_length = 5, min = 1)] name: String }
        });
        assert!(
            message.contains("`min` is for number fields (integers, floats, Decimal); `name` is `String` (for a length, use `min_length` or `max_length`)"),
            "{message}"
        );
        let message = one_err(parse_quote! {
            struct Thing { id: i64, #[field(on_delete = "cascade", max = 1)] owner: ForeignKey<User> }
        });
        assert!(message.contains("`max` is for number fields"), "{message}");
        let message = one_err(parse_quote! {
            struct Thing { id: i64, #[field(min = 10, max = 1.5)] age: i32 }
        });
        assert!(
            message.contains("`min` (10) is greater than `max` (1.5) on `age`"),
            "{message}"
        );
        let message = one_err(parse_quote! {
            struct Thing { id: i64, #[field(max_length = 3, min_length = 4)] code: String }
        });
        assert!(
            message.contains("`min_length` (4) is greater than `max_length` (3) on `code`"),
            "{message}"
        );
        let message = one_err(parse_quote! {
            struct Thing { id: i64, #[field(email)] tags: ManyToMany<Tag> }
        });
        assert!(message.contains("is a ManyToMany field"), "{message}");
        // Types the macro cannot judge get a generated check on their kind.
        let out = compact(&expand_ok(parse_quote! {
            struct Thing { id: i64, #[field(min = 1)] joined: bool }
        }));
        assert!(
            out.contains("`min`isfornumberfields(integers,floats,Decimal);`joined`isnotone"),
            "{out}"
        );
    }

    #[test]
    fn auto_now_fields_get_set_now() {
        let out = compact(&expand_ok(parse_quote! {
            struct Entry {
                id: i64,
                #[field(auto_now_add)] created: chrono::DateTime<chrono::Utc>,
                #[field(auto_now)] day: Option<NaiveDate>,
                #[field(auto_now = false)] other: DateTime<Utc>,
            }
        }));
        assert!(
            out.contains("\"created\"=>{self.created=now;true}"),
            "{out}"
        );
        assert!(
            out.contains("\"day\"=>{self.day=::core::option::Option::Some(now.date_naive());true}"),
            "{out}"
        );
        assert!(!out.contains("\"other\"=>{self.other=now"), "{out}");
        assert!(
            out.contains("blank:true,validators:&[],auto_now:false,auto_now_add:true"),
            "{out}"
        );
        assert!(out.contains("auto_now:true,auto_now_add:false,"), "{out}");
        let plain = compact(&expand_ok(parse_quote!(
            struct Thing {
                id: i64,
            }
        )));
        assert!(!plain.contains("fnset_now"), "{plain}");
    }

    #[test]
    fn deferred_fields_decode_unread_and_take_the_value_options() {
        let out = compact(&expand_ok(parse_quote! {
            struct Post {
                id: i64,
                #[field(max_length = 10, validators = [short])]
                summary: Deferred<String>,
                body: Deferred<Option<String>>,
            }
        }));
        assert!(
            out.contains("max_length:::core::option::Option::Some(10u32)"),
            "{out}"
        );
        assert!(
            out.contains("summary:match<Deferred<String>as::flagon_orm::FieldType>::unloaded().filter(|_|deferred.contains(&\"summary\")){::core::option::Option::Some(unread)=>unread,::core::option::Option::None=>{index+=1;<Deferred<String>as::flagon_orm::FieldType>::decode(row,index-1)?},}"),
            "{out}"
        );
        assert!(
            out.contains("id:match<i64as::flagon_orm::FieldType>::unloaded().filter(|_|deferred.contains(&\"id\")){"),
            "{out}"
        );
        assert!(
            out.contains("if!<Deferred<Option<String>>as::flagon_orm::FieldType>::is_loaded(&self.body){unread.push(\"body\");}"),
            "{out}"
        );
        assert!(
            out.contains(
                "\"summary\"=>{iflet::core::option::Option::Some(value)=self.summary.get(){"
            ),
            "{out}"
        );
    }

    #[test]
    fn deferred_misuse_names_the_field() {
        for (input, reason) in [
            (
                parse_quote! { struct Thing { #[field(primary_key)] code: Deferred<i64> } },
                "`code` cannot be `Deferred`: the primary key is always read",
            ),
            (
                parse_quote! { struct Thing { id: i64, #[field(auto_now)] at: Deferred<DateTime<Utc>> } },
                "`at` cannot be `Deferred`: `auto_now` and `auto_now_add` fields are written by every save",
            ),
            (
                parse_quote! { struct Thing { id: i64, #[field(on_delete = "cascade")] owner: Deferred<ForeignKey<User>> } },
                "`owner` cannot be `Deferred`: a relation cannot be deferred",
            ),
            (
                parse_quote! { struct Thing { id: i64, note: Option<Deferred<String>> } },
                "`note` cannot be `Deferred`: write `Deferred<Option<T>>`",
            ),
            (
                parse_quote! { struct Thing { id: i64, note: Deferred<Deferred<String>> } },
                "`note` cannot be `Deferred`: a `Deferred` inside a `Deferred`",
            ),
        ] {
            let messages = expand_err(input);
            assert!(
                messages.iter().any(|message| message.contains(reason)),
                "{messages:?}"
            );
        }
    }

    #[test]
    fn auto_now_misuse_names_the_field() {
        let message = one_err(parse_quote! {
            struct Thing { id: i64, #[field(auto_now)] views: i64 }
        });
        assert!(
            message.contains("`auto_now` is only for `DateTime<Utc>` or `NaiveDate` (or their `Option`) fields; `views` is `i64`"),
            "{message}"
        );
        let message = one_err(parse_quote! {
            struct Thing { id: i64, #[field(auto_now_add)] at: DateTime<Local> }
        });
        assert!(message.contains("`auto_now_add` is only for"), "{message}");
        let message = one_err(parse_quote! {
            struct Thing { id: i64, #[field(auto_now, auto_now_add)] at: DateTime<Utc> }
        });
        assert!(
            message.contains("`auto_now` and `auto_now_add` cannot both be set on `at`"),
            "{message}"
        );
        let message = one_err(parse_quote! {
            struct Thing { id: i64, #[field(auto_now, default = 1)] at: NaiveDate }
        });
        assert!(
            message.contains("`auto_now` and `default` cannot both be set on `at`"),
            "{message}"
        );
        let message = one_err(parse_quote! {
            struct Thing { id: i64, #[field(auto_now)] tags: ManyToMany<Tag> }
        });
        assert!(message.contains("is a ManyToMany field"), "{message}");
    }

    #[test]
    fn duplicate_columns() {
        let message = one_err(parse_quote! {
            struct Thing { id: i64, #[field(db_column = "id")] other: i64 }
        });
        assert!(
            message.contains("fields `id` and `other` both use the column `id`"),
            "{message}"
        );
    }

    #[test]
    fn errors_are_gathered() {
        let errors = expand_err(parse_quote! {
            struct Thing {
                #[field(bogus)] a: i64,
                #[field(max_length = "x")] b: String,
            }
        });
        assert_eq!(errors.len(), 2, "{errors:?}");
        let errors = expand_err(parse_quote! {
            #[model(ordering = ["zzz"])]
            struct Thing { #[field(max_length = 3)] n: i64 }
        });
        assert_eq!(errors.len(), 3, "{errors:?}");
    }
}
