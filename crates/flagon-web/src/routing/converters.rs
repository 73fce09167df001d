//! URL converters: how a `<kind:name>` route parameter matches a segment.

use std::sync::Arc;

/// Decides which URL segments a route parameter accepts.
///
/// Converters are tried in order of [`Converter::weight`] (lower first), after
/// static segments; a segment the converter does not accept falls through to
/// the next candidate route. Values arrive percent-decoded.
///
/// ```
/// use flagon_web::routing::Converter;
///
/// /// Lower-case hexadecimal identifiers: `<hex:id>`.
/// struct Hex;
///
/// impl Converter for Hex {
///     fn matches(&self, segment: &str) -> bool {
///         !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
///     }
///     fn weight(&self) -> u32 { 40 }
/// }
///
/// let app = flagon_web::App::new().converter("hex", Hex);
/// # let _ = app;
/// ```
pub trait Converter: Send + Sync + 'static {
    /// Whether `segment` (one decoded path segment, or for
    /// [`Converter::spans_segments`] converters the rest of the path) is accepted.
    fn matches(&self, segment: &str) -> bool;

    /// Lower weights are tried first: static segments come before all
    /// converters, typed converters (int, uuid: 20-50) before `str` (100),
    /// and `path` (200) last.
    fn weight(&self) -> u32 {
        100
    }

    /// Whether the converter may match several segments joined by `/`
    /// (as `path` does).
    fn spans_segments(&self) -> bool {
        false
    }
}

/// `str` / `string` / untyped `<name>`: any non-empty segment without `/`.
#[derive(Debug, Clone, Copy)]
pub struct StrConverter;

impl Converter for StrConverter {
    fn matches(&self, segment: &str) -> bool {
        !segment.is_empty()
    }
}

/// `int`: ASCII digits (no sign), as Werkzeug's `int`.
#[derive(Debug, Clone, Copy)]
pub struct IntConverter;

impl Converter for IntConverter {
    fn matches(&self, segment: &str) -> bool {
        !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit())
    }

    fn weight(&self) -> u32 {
        50
    }
}

/// `float`: digits with one decimal point, such as `1.5`.
#[derive(Debug, Clone, Copy)]
pub struct FloatConverter;

impl Converter for FloatConverter {
    fn matches(&self, segment: &str) -> bool {
        match segment.split_once('.') {
            Some((whole, fraction)) => {
                !whole.is_empty()
                    && !fraction.is_empty()
                    && whole
                        .bytes()
                        .chain(fraction.bytes())
                        .all(|b| b.is_ascii_digit())
            }
            None => false,
        }
    }

    fn weight(&self) -> u32 {
        50
    }
}

/// `slug`: ASCII letters, digits, hyphens and underscores.
#[derive(Debug, Clone, Copy)]
pub struct SlugConverter;

impl Converter for SlugConverter {
    fn matches(&self, segment: &str) -> bool {
        !segment.is_empty()
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }

    fn weight(&self) -> u32 {
        60
    }
}

/// `uuid`: the hyphenated 8-4-4-4-12 hexadecimal form.
#[derive(Debug, Clone, Copy)]
pub struct UuidConverter;

impl Converter for UuidConverter {
    fn matches(&self, segment: &str) -> bool {
        let bytes = segment.as_bytes();
        bytes.len() == 36
            && bytes.iter().enumerate().all(|(i, b)| match i {
                8 | 13 | 18 | 23 => *b == b'-',
                _ => b.is_ascii_hexdigit(),
            })
    }

    fn weight(&self) -> u32 {
        20
    }
}

/// `path`: the rest of the path, slashes included (never empty).
///
/// When a URL is built, a value's leading `/` is written `%2F` (so
/// `/<path:p>` with `p = "/evil.com/x"` gives `/%2Fevil.com/x`, not the
/// protocol-relative `//evil.com/x`); the URL still matches the same value.
#[derive(Debug, Clone, Copy)]
pub struct PathConverter;

impl Converter for PathConverter {
    fn matches(&self, segment: &str) -> bool {
        !segment.is_empty()
    }

    fn weight(&self) -> u32 {
        200
    }

    fn spans_segments(&self) -> bool {
        true
    }
}

/// The converters known to an app, by name.
#[derive(Clone)]
pub(crate) struct ConverterRegistry {
    entries: Vec<(String, Arc<dyn Converter>)>,
}

impl Default for ConverterRegistry {
    fn default() -> Self {
        // One converter under both names, so routes using either have the
        // same shape (patterns compare converters by identity).
        let string: Arc<dyn Converter> = Arc::new(StrConverter);
        let builtins: [(&str, Arc<dyn Converter>); 7] = [
            ("str", string.clone()),
            ("string", string),
            ("int", Arc::new(IntConverter)),
            ("float", Arc::new(FloatConverter)),
            ("slug", Arc::new(SlugConverter)),
            ("uuid", Arc::new(UuidConverter)),
            ("path", Arc::new(PathConverter)),
        ];
        ConverterRegistry {
            entries: builtins
                .into_iter()
                .map(|(name, conv)| (name.to_owned(), conv))
                .collect(),
        }
    }
}

impl ConverterRegistry {
    pub(crate) fn insert(&mut self, name: &str, converter: Arc<dyn Converter>) {
        self.entries.retain(|(existing, _)| existing != name);
        self.entries.push((name.to_owned(), converter));
    }

    pub(crate) fn get(&self, name: &str) -> Option<Arc<dyn Converter>> {
        self.entries
            .iter()
            .find(|(existing, _)| existing == name)
            .map(|(_, conv)| conv.clone())
    }

    pub(crate) fn names(&self) -> Vec<&str> {
        self.entries.iter().map(|(name, _)| name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_converters_match_what_they_should() {
        assert!(IntConverter.matches("42"));
        assert!(!IntConverter.matches("-1"));
        assert!(!IntConverter.matches("4a"));
        assert!(FloatConverter.matches("1.5"));
        assert!(!FloatConverter.matches("1."));
        assert!(SlugConverter.matches("hello-world_2"));
        assert!(!SlugConverter.matches("hello world"));
        assert!(UuidConverter.matches("67e55044-10b1-426f-9247-bb680e5fe0c8"));
        assert!(!UuidConverter.matches("67e55044-10b1-426f-9247-bb680e5fe0c"));
        assert!(!StrConverter.matches(""));
        assert!(PathConverter.spans_segments());
    }
}
