//! Syntactic checks on field types.
//!
//! A derive macro sees types as written, before name resolution, so these
//! checks go by the last path segment: `String`, `std::string::String` and
//! `Option<String>` are strings; a type alias of `String` is not recognised.

use syn::{GenericArgument, PathArguments, Type};

/// The type inside `Option<...>`, if `ty` is written as an `Option`.
pub(crate) fn option_inner(ty: &Type) -> Option<&Type> {
    wrapped(ty, "Option")
}

/// The type inside `Deferred<...>`, if `ty` is written as a `Deferred`.
pub(crate) fn deferred_inner(ty: &Type) -> Option<&Type> {
    wrapped(ty, "Deferred")
}

/// The one type argument of `ty` if its last path segment is `wrapper`
/// (`Option<T>`, `std::option::Option<T>`).
fn wrapped<'a>(ty: &'a Type, wrapper: &str) -> Option<&'a Type> {
    let Type::Path(path) = strip_groups(ty) else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    if last.ident != wrapper {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    if args.args.len() != 1 {
        return None;
    }
    match args.args.first()? {
        GenericArgument::Type(inner) => Some(inner),
        _ => None,
    }
}

/// The last segment's name of a plain path type without generic arguments.
fn plain_name(ty: &Type) -> Option<String> {
    let ty = strip_groups(ty);
    let Type::Path(path) = ty else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    if !last.arguments.is_none() {
        return None;
    }
    Some(last.ident.to_string())
}

/// `ty` without invisible groups and parentheses.
fn strip_groups(mut ty: &Type) -> &Type {
    loop {
        match ty {
            Type::Group(group) => ty = &group.elem,
            Type::Paren(paren) => ty = &paren.elem,
            _ => return ty,
        }
    }
}

/// `ty` or, for `Option<U>`, `U`.
pub(crate) fn non_null(ty: &Type) -> &Type {
    let ty = strip_groups(ty);
    option_inner(ty).unwrap_or(ty)
}

/// Whether `ty` is `String` or `Option<String>`.
pub(crate) fn is_string(ty: &Type) -> bool {
    plain_name(non_null(ty)).is_some_and(|name| name == "String")
}

/// Whether `ty` is written as a plain path ending in `name` (`i64`,
/// `core::primitive::i64`).
pub(crate) fn is_named(ty: &Type, name: &str) -> bool {
    plain_name(ty).is_some_and(|plain| plain == name)
}

/// The date types `auto_now` and `auto_now_add` fill in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DateKind {
    /// `DateTime<Utc>`: the instant.
    DateTime,
    /// `NaiveDate`: the date in UTC.
    Date,
}

/// The date kind of `ty` (or of the type in its `Option`): `DateTime<Utc>`
/// or `NaiveDate`, by their last path segments.
pub(crate) fn date_kind(ty: &Type) -> Option<DateKind> {
    let inner = strip_groups(non_null(ty));
    if is_named(inner, "NaiveDate") {
        return Some(DateKind::Date);
    }
    let Type::Path(path) = inner else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    if last.ident != "DateTime" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(zone) if args.args.len() == 1 && is_named(zone, "Utc") => {
            Some(DateKind::DateTime)
        }
        _ => None,
    }
}

/// `"ForeignKey"` or `"OneToOne"` if `ty` (or the type in its `Option`)
/// is written as one of them (by its last path segment).
pub(crate) fn relation_name(ty: &Type) -> Option<&'static str> {
    let Type::Path(path) = strip_groups(non_null(ty)) else {
        return None;
    };
    match path.path.segments.last()?.ident.to_string().as_str() {
        "ForeignKey" => Some("ForeignKey"),
        "OneToOne" => Some("OneToOne"),
        _ => None,
    }
}

/// The type in `ManyToMany<T>`, if `ty` is written as one.
pub(crate) fn many_to_many_target(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = strip_groups(ty) else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != "ManyToMany" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(inner) if args.args.len() == 1 => Some(inner),
        _ => None,
    }
}

/// The last path segment of `ty` (`blog::Tag` → `Tag`).
pub(crate) fn last_segment(ty: &Type) -> Option<String> {
    let Type::Path(path) = strip_groups(ty) else {
        return None;
    };
    path.path
        .segments
        .last()
        .map(|segment| segment.ident.to_string())
}

/// Whether `ty` is a primitive integer or an `Option` of one.
pub(crate) fn is_integer(ty: &Type) -> bool {
    const INTEGERS: &[&str] = &[
        "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize",
    ];
    plain_name(non_null(ty)).is_some_and(|name| INTEGERS.contains(&name.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    #[test]
    fn strings() {
        assert!(is_string(&parse_quote!(String)));
        assert!(is_string(&parse_quote!(std::string::String)));
        assert!(is_string(&parse_quote!(Option<String>)));
        assert!(is_string(&parse_quote!(::core::option::Option<String>)));
        assert!(!is_string(&parse_quote!(i64)));
        assert!(!is_string(&parse_quote!(Vec<u8>)));
        assert!(!is_string(&parse_quote!(Option<Option<String>>)));
        assert!(!is_string(&parse_quote!(&'static str)));
    }

    #[test]
    fn integers() {
        assert!(is_integer(&parse_quote!(i64)));
        assert!(is_integer(&parse_quote!(i32)));
        assert!(is_integer(&parse_quote!(i16)));
        assert!(is_integer(&parse_quote!(Option<i64>)));
        assert!(is_integer(&parse_quote!(core::primitive::i64)));
        assert!(!is_integer(&parse_quote!(String)));
        assert!(!is_integer(&parse_quote!(f64)));
        assert!(!is_integer(&parse_quote!(bool)));
    }

    fn text(ty: Option<&Type>) -> Option<String> {
        ty.map(|ty| quote::quote!(#ty).to_string())
    }

    #[test]
    fn option_inner_type() {
        let ty: Type = parse_quote!(Option<i32>);
        assert_eq!(text(option_inner(&ty)).as_deref(), Some("i32"));
        assert_eq!(text(option_inner(&parse_quote!(i32))), None);
        assert_eq!(text(option_inner(&parse_quote!(Option<i32, u8>))), None);
        assert_eq!(text(Some(non_null(&ty))).as_deref(), Some("i32"));
        assert_eq!(
            text(Some(non_null(&parse_quote!(String)))).as_deref(),
            Some("String")
        );
    }

    #[test]
    fn deferred_inner_type() {
        let ty: Type = parse_quote!(flagon::Deferred<Option<String>>);
        assert_eq!(
            text(deferred_inner(&ty)).as_deref(),
            Some("Option < String >")
        );
        assert_eq!(text(deferred_inner(&parse_quote!(String))), None);
        assert_eq!(
            text(deferred_inner(&parse_quote!(Option<Deferred<i32>>))),
            None
        );
    }

    #[test]
    fn relations() {
        assert_eq!(
            relation_name(&parse_quote!(ForeignKey<Author>)),
            Some("ForeignKey")
        );
        assert_eq!(
            relation_name(&parse_quote!(Option<flagon::orm::OneToOne<User>>)),
            Some("OneToOne")
        );
        assert_eq!(relation_name(&parse_quote!(i64)), None);
    }

    #[test]
    fn named() {
        assert!(is_named(&parse_quote!(i64), "i64"));
        assert!(is_named(&parse_quote!(core::primitive::i64), "i64"));
        assert!(!is_named(&parse_quote!(i32), "i64"));
        assert!(!is_named(&parse_quote!(Option<i64>), "i64"));
    }
}
