//! Route patterns: `/post/<int:id>/<slug>` parsed into segments.

use std::sync::Arc;

use super::converters::{Converter, ConverterRegistry};

/// One `/`-separated piece of a route pattern.
#[derive(Clone)]
pub(crate) enum Segment {
    /// Literal text that must match exactly.
    Static(String),
    /// A `<converter:name>` parameter.
    Param {
        name: Arc<str>,
        converter_name: String,
        converter: Arc<dyn Converter>,
    },
}

/// A parsed route pattern.
#[derive(Clone)]
pub(crate) struct Pattern {
    pub(crate) source: String,
    pub(crate) segments: Vec<Segment>,
}

impl std::fmt::Debug for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source)
    }
}

impl Pattern {
    /// Parses `source`, resolving converter names in `converters`.
    pub(crate) fn parse(source: &str, converters: &ConverterRegistry) -> Result<Pattern, String> {
        let Some(rest) = source.strip_prefix('/') else {
            return Err(format!("route `{source}` must start with `/`"));
        };
        if rest.starts_with('/') {
            // Its URLs would start with `//`, which browsers read as a host.
            return Err(format!(
                "route `{source}` must start with a single `/` (a URL starting with `//` names another host)"
            ));
        }
        let mut segments = Vec::new();
        let mut names: Vec<Arc<str>> = Vec::new();
        for piece in rest.split('/') {
            if !piece.contains(['<', '>']) {
                segments.push(Segment::Static(piece.to_owned()));
                continue;
            }
            let inner = piece
                .strip_prefix('<')
                .and_then(|p| p.strip_suffix('>'))
                .filter(|inner| !inner.contains(['<', '>']))
                .ok_or_else(|| {
                    format!("route `{source}`: the segment `{piece}` must be exactly one `<converter:name>` parameter")
                })?;
            let (converter_name, name) = match inner.split_once(':') {
                Some((conv, name)) => (conv.trim(), name.trim()),
                None => ("str", inner.trim()),
            };
            let valid_name = !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid_name {
                return Err(format!(
                    "route `{source}`: `{name}` is not a valid parameter name (use letters, digits and `_`)"
                ));
            }
            if names.iter().any(|existing| &**existing == name) {
                return Err(format!(
                    "route `{source}`: the parameter `{name}` appears twice"
                ));
            }
            let converter = converters.get(converter_name).ok_or_else(|| {
                format!(
                    "route `{source}`: unknown converter `{converter_name}` (known: {}); register it with App::converter",
                    converters.names().join(", ")
                )
            })?;
            let name: Arc<str> = Arc::from(name);
            names.push(name.clone());
            segments.push(Segment::Param {
                name,
                converter_name: converter_name.to_owned(),
                converter,
            });
        }
        Ok(Pattern {
            source: source.to_owned(),
            segments,
        })
    }

    /// Whether `self` and `other` match the same paths: the same static
    /// segments and the same converters in the same places, whatever the
    /// parameters are called (`/a/<int:x>` and `/a/<int:y>`). Converters are
    /// compared by identity, so `str` and `string` are one, and `int` and
    /// `str` are not.
    pub(crate) fn same_shape(&self, other: &Pattern) -> bool {
        self.segments.len() == other.segments.len()
            && self
                .segments
                .iter()
                .zip(&other.segments)
                .all(|pair| match pair {
                    (Segment::Static(a), Segment::Static(b)) => a == b,
                    (Segment::Param { converter: a, .. }, Segment::Param { converter: b, .. }) => {
                        Arc::ptr_eq(a, b)
                    }
                    _ => false,
                })
    }

    /// The parameter names, in order.
    #[cfg(test)]
    pub(crate) fn param_names(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|segment| match segment {
            Segment::Param { name, .. } => Some(&**name),
            Segment::Static(_) => None,
        })
    }

    /// A route path under a blueprint prefix such as `/blog`.
    ///
    /// Joined with exactly one `/`, as Flask does: `("/blog", "edit")` and
    /// `("/blog", "/edit")` both give `/blog/edit`, `("/blog", "")` gives
    /// `/blog`.
    pub(crate) fn prefixed(prefix: &str, path: &str) -> String {
        let prefix = prefix.trim_end_matches('/');
        match path {
            "" if !prefix.is_empty() => prefix.to_owned(),
            "" | "/" => format!("{prefix}/"),
            _ => format!("{prefix}/{}", path.trim_start_matches('/')),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_static_and_typed_segments() {
        let pattern =
            Pattern::parse("/post/<int:id>/<slug>/", &ConverterRegistry::default()).unwrap();
        assert_eq!(pattern.segments.len(), 4);
        assert!(matches!(&pattern.segments[0], Segment::Static(s) if s == "post"));
        assert!(
            matches!(&pattern.segments[1], Segment::Param { converter_name, .. } if converter_name == "int")
        );
        assert!(
            matches!(&pattern.segments[2], Segment::Param { converter_name, .. } if converter_name == "str")
        );
        assert!(matches!(&pattern.segments[3], Segment::Static(s) if s.is_empty()));
        assert_eq!(pattern.param_names().collect::<Vec<_>>(), ["id", "slug"]);
    }

    #[test]
    fn rejects_bad_patterns_with_reasons() {
        let converters = ConverterRegistry::default();
        let err = Pattern::parse("post", &converters).unwrap_err();
        assert!(err.contains("must start with `/`"));
        let err = Pattern::parse("//<p>", &converters).unwrap_err();
        assert!(err.contains("a single `/`"), "{err}");
        let err = Pattern::parse("/file-<id>", &converters).unwrap_err();
        assert!(err.contains("exactly one"));
        let err = Pattern::parse("/<nope:id>", &converters).unwrap_err();
        assert!(err.contains("unknown converter `nope`"));
        let err = Pattern::parse("/<a>/<a>", &converters).unwrap_err();
        assert!(err.contains("appears twice"));
        let err = Pattern::parse("/<int:1x>", &converters).unwrap_err();
        assert!(err.contains("not a valid parameter name"));
    }

    #[test]
    fn shapes_ignore_parameter_names_but_not_converters() {
        let converters = ConverterRegistry::default();
        let parse = |source| Pattern::parse(source, &converters).unwrap();
        assert!(parse("/a/<int:x>").same_shape(&parse("/a/<int:y>")));
        assert!(parse("/a/<x>").same_shape(&parse("/a/<string:y>")));
        assert!(parse("/a/<str:x>/b").same_shape(&parse("/a/<y>/b")));
        assert!(!parse("/a/<int:x>").same_shape(&parse("/a/<str:x>")));
        assert!(!parse("/a/<int:x>").same_shape(&parse("/b/<int:x>")));
        assert!(!parse("/a/<int:x>").same_shape(&parse("/a/<int:x>/")));
        assert!(!parse("/a/<x>").same_shape(&parse("/a/x")));
        assert!(!parse("/a/<path:x>").same_shape(&parse("/a/<x>")));
    }

    #[test]
    fn prefixes_join_cleanly() {
        assert_eq!(Pattern::prefixed("/blog", "/"), "/blog/");
        assert_eq!(Pattern::prefixed("/blog/", "/post"), "/blog/post");
        assert_eq!(Pattern::prefixed("", "/"), "/");
        assert_eq!(Pattern::prefixed("/blog", "edit"), "/blog/edit");
        assert_eq!(Pattern::prefixed("/blog", ""), "/blog");
        assert_eq!(Pattern::prefixed("", "post"), "/post");
    }
}
