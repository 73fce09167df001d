//! The declarative validators a field names in `#[field(..)]`: email, URL,
//! number ranges and a minimum length, checked without a database.

use std::cmp::Ordering;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use super::ValidationError;
use crate::value::Value;

/// A bound of `#[field(min = ..)]` or `#[field(max = ..)]`: the literal as
/// written.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Limit {
    /// A whole number (`min = 0`).
    Int(i64),
    /// A number with a point (`max = 99.5`).
    Float(f64),
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Int(value) => write!(f, "{value}"),
            Limit::Float(value) => write!(f, "{value}"),
        }
    }
}

impl Limit {
    /// How `value` compares with this bound; `None` for a value that is not
    /// a number (or is NaN), which no bound refuses.
    fn compare(&self, value: &Value) -> Option<Ordering> {
        let float = |number: f64| match self {
            Limit::Int(limit) => number.partial_cmp(&(*limit as f64)),
            Limit::Float(limit) => number.partial_cmp(limit),
        };
        let int = |number: i64| match self {
            Limit::Int(limit) => Some(number.cmp(limit)),
            Limit::Float(limit) => (number as f64).partial_cmp(limit),
        };
        match value {
            Value::TinyInt(Some(number)) => int(i64::from(*number)),
            Value::SmallInt(Some(number)) => int(i64::from(*number)),
            Value::Int(Some(number)) => int(i64::from(*number)),
            Value::BigInt(Some(number)) => int(*number),
            Value::Float(Some(number)) => float(f64::from(*number)),
            Value::Double(Some(number)) => float(*number),
            Value::Decimal(Some(number)) => {
                // The bound's shortest decimal form, so `min = 0.1` is
                // exactly 0.1 and not the float nearest to it.
                let limit = match self {
                    Limit::Int(limit) => Some(Decimal::from(*limit)),
                    Limit::Float(limit) => Decimal::from_str(&limit.to_string()).ok(),
                };
                match limit {
                    Some(limit) => Some(number.cmp(&limit)),
                    None => number.to_f64().and_then(float),
                }
            }
            _ => None,
        }
    }
}

/// A check on one field's value, written as an option of
/// `#[field(..)]`. Forms and the admin can read a field's validators from
/// [`FieldMeta::validators`](crate::FieldMeta::validators) (to render
/// `type="email"`, `min`, `minlength`) and run them on submitted values.
///
/// Validators see only values that are not empty (a NULL, an empty
/// string): whether those are allowed is the field's `blank`.
///
/// ```
/// use flagon_orm::validation::{Limit, Validator};
/// use flagon_orm::Value;
///
/// assert!(Validator::Email.check(&Value::from("ann@example.com")).is_ok());
/// let error = Validator::Min(Limit::Int(1)).check(&Value::from(0_i32)).unwrap_err();
/// assert_eq!(error.message, "Ensure this value is greater than or equal to 1.");
/// assert_eq!(error.code, "min_value");
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Validator {
    /// `email`: an email address, as Django's `EmailValidator` accepts.
    Email,
    /// `url`: an `http`, `https`, `ftp` or `ftps` URL, as Django's
    /// `URLValidator` accepts.
    Url,
    /// `min = ..`: at least this number (`MinValueValidator`).
    Min(Limit),
    /// `max = ..`: at most this number (`MaxValueValidator`).
    Max(Limit),
    /// `min_length = N`: at least N characters (`MinLengthValidator`).
    MinLength(u32),
}

impl Validator {
    /// Checks `value`; values of a type the validator is not for pass.
    pub fn check(&self, value: &Value) -> Result<(), ValidationError> {
        match self {
            Validator::Email => match value {
                Value::String(Some(text)) if !is_email(text) => Err(ValidationError::coded(
                    "invalid",
                    "Enter a valid email address.",
                )),
                _ => Ok(()),
            },
            Validator::Url => match value {
                Value::String(Some(text)) if !is_url(text) => {
                    Err(ValidationError::coded("invalid", "Enter a valid URL."))
                }
                _ => Ok(()),
            },
            Validator::Min(limit) => match limit.compare(value) {
                Some(Ordering::Less) => Err(ValidationError::coded(
                    "min_value",
                    format!("Ensure this value is greater than or equal to {limit}."),
                )),
                _ => Ok(()),
            },
            Validator::Max(limit) => match limit.compare(value) {
                Some(Ordering::Greater) => Err(ValidationError::coded(
                    "max_value",
                    format!("Ensure this value is less than or equal to {limit}."),
                )),
                _ => Ok(()),
            },
            Validator::MinLength(min) => match value {
                Value::String(Some(text)) => {
                    let length = text.chars().count();
                    if length < *min as usize {
                        let unit = if *min == 1 { "character" } else { "characters" };
                        Err(ValidationError::coded(
                            "min_length",
                            format!(
                                "Ensure this value has at least {min} {unit} (it has {length})."
                            ),
                        ))
                    } else {
                        Ok(())
                    }
                }
                _ => Ok(()),
            },
        }
    }
}

/// Whether `c` is one of the characters of a dot-atom (RFC 5322) besides
/// letters and digits.
fn is_atom_symbol(c: char) -> bool {
    "-!#$%&'*+/=?^_`{}|~".contains(c)
}

/// Django's `EmailValidator`: a dot-atom or quoted local part, then a
/// domain with a top-level label of two or more characters, `localhost`,
/// or an IP literal (`[192.0.2.1]`); at most 320 characters. Letters beyond
/// ASCII count as letters in the domain (Django accepts the domain once it
/// is punycode).
pub fn is_email(value: &str) -> bool {
    if value.is_empty() || value.chars().count() > 320 {
        return false;
    }
    let Some((user, domain)) = value.rsplit_once('@') else {
        return false;
    };
    is_email_user(user) && (domain == "localhost" || is_email_domain(domain))
}

fn is_email_user(user: &str) -> bool {
    if let Some(inner) = user
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .filter(|_| user.len() >= 2)
    {
        // A quoted string: printable ASCII but `"` and `\`, or escapes.
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            let code = c as u32;
            if c == '\\' {
                match chars.next() {
                    Some(escaped) if matches!(escaped as u32, 1..=9 | 11 | 12 | 14..=127) => {}
                    _ => return false,
                }
            } else if c == '"' || !matches!(code, 1..=8 | 11 | 12 | 14..=31 | 32..=127) {
                return false;
            }
        }
        return true;
    }
    !user.is_empty()
        && user.split('.').all(|atom| {
            !atom.is_empty()
                && atom
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || is_atom_symbol(c))
        })
}

/// A letter or digit of a domain label: ASCII, or any printable
/// character beyond it (what punycode would encode).
fn is_label_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || (!c.is_ascii() && !c.is_whitespace() && !c.is_control())
}

fn is_email_domain(domain: &str) -> bool {
    if let Some(literal) = domain
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
    {
        return literal.parse::<Ipv4Addr>().is_ok() || literal.parse::<Ipv6Addr>().is_ok();
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let Some((top, rest)) = labels.split_last() else {
        return false;
    };
    if rest.is_empty() {
        return false;
    }
    let top_length = top.chars().count();
    let top_ok = (2..=63).contains(&top_length)
        && !top.ends_with('-')
        && top.chars().all(|c| is_label_char(c) || c == '-');
    top_ok
        && rest.iter().all(|label| {
            let length = label.chars().count();
            (1..=63).contains(&length)
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| is_label_char(c) || c == '-')
        })
}

/// A character Django's `URLValidator` takes for a letter in a host name:
/// ASCII letters and U+00A1 to U+FFFF.
fn is_url_letter(c: char) -> bool {
    c.is_ascii_alphabetic() || (0xA1..=0xFFFF).contains(&(c as u32))
}

/// Django's `URLValidator`: an `http`, `https`, `ftp` or `ftps` URL with an
/// optional `user:password@`, a host that is an IPv4 address, an IPv6
/// address in brackets, `localhost` or a name with a top-level label of
/// letters, an optional port (up to 65535), and any path, query and
/// fragment without whitespace; at most 2048 characters.
pub fn is_url(value: &str) -> bool {
    if value.chars().count() > 2048 || value.chars().any(char::is_whitespace) {
        return false;
    }
    let Some((scheme, rest)) = value.split_once("://") else {
        return false;
    };
    if !["http", "https", "ftp", "ftps"]
        .iter()
        .any(|known| scheme.eq_ignore_ascii_case(known))
    {
        return false;
    }
    let authority = rest.find(['/', '?', '#']).map_or(rest, |end| &rest[..end]);
    let host_port = match authority.rsplit_once('@') {
        Some((user_info, host_port)) => {
            let (user, password) = user_info.split_once(':').unwrap_or((user_info, ""));
            let bad = |part: &str| part.contains([':', '@', '/']);
            if user.is_empty() || bad(user) || bad(password) {
                return false;
            }
            host_port
        }
        None => authority,
    };
    let (host, port) = if let Some(inner) = host_port.strip_prefix('[') {
        let Some((address, after)) = inner.split_once(']') else {
            return false;
        };
        if address.parse::<Ipv6Addr>().is_err() {
            return false;
        }
        match after {
            "" => return true,
            _ => match after.strip_prefix(':') {
                Some(port) => ("[ipv6]", Some(port)),
                None => return false,
            },
        }
    } else {
        match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    if let Some(port) = port {
        let digits_ok = (1..=5).contains(&port.len()) && port.bytes().all(|b| b.is_ascii_digit());
        if !digits_ok || port.parse::<u32>().map_or(true, |port| port > 65535) {
            return false;
        }
    }
    host == "[ipv6]"
        || host.eq_ignore_ascii_case("localhost")
        || is_url_ipv4(host)
        || is_url_host_name(host)
}

/// Four numbers from 0 to 255 without leading zeros.
fn is_url_ipv4(host: &str) -> bool {
    let parts: Vec<&str> = host.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|part| {
            !part.is_empty()
                && part.len() <= 3
                && part.bytes().all(|b| b.is_ascii_digit())
                && (part.len() == 1 || !part.starts_with('0'))
                && part.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}

/// Labels of letters, digits and inner dashes, the last of two or more
/// letters (or a punycode `xn--` label), an optional trailing dot; at most
/// 253 characters.
fn is_url_host_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.chars().count() > 253 {
        return false;
    }
    let labels: Vec<&str> = host.split('.').collect();
    let Some((top, rest)) = labels.split_last() else {
        return false;
    };
    if rest.is_empty() {
        return false;
    }
    let label_ok = |label: &str| {
        let length = label.chars().count();
        (1..=63).contains(&length)
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| is_url_letter(c) || c.is_ascii_digit() || c == '-')
    };
    let top_length = top.chars().count();
    let punycode = top.len() <= 63
        && top
            .get(..4)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case("xn--"))
        && top.get(4..).is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric())
        });
    let top_ok = punycode
        || ((2..=63).contains(&top_length)
            && !top.starts_with('-')
            && !top.ends_with('-')
            && top.chars().all(|c| is_url_letter(c) || c == '-'));
    top_ok && rest.iter().all(|label| label_ok(label))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_django_accepts() {
        for email in [
            "email@here.com",
            "weirder-email@here.and.there.com",
            "email@[127.0.0.1]",
            "email@[2001:dB8::1]",
            "example@valid-----hyphens.com",
            "example@valid-with-hyphens.com",
            "test@domain.with.idn.tld.उदाहरण.परीक्षा",
            "email@localhost",
            "\"test@test\"@example.com",
            "a+b.c!d#e@example.co",
            "example@atm.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ] {
            assert!(is_email(email), "{email}");
        }
    }

    #[test]
    fn emails_django_refuses() {
        for email in [
            "",
            "abc",
            "abc@",
            "abc@bar",
            "a @x.cz",
            "abc@.com",
            "something@@somewhere.com",
            "email@127.0.0.1",
            "email@[127.0.0.256]",
            "example@invalid-.com",
            "example@-invalid.com",
            "example@invalid.com-",
            "example@inv-.alid-.com",
            "test@example.com\n\n<script src=\"x.js\">",
            "trailingdot@shouldfail.com.",
            "a..b@example.com",
            ".a@example.com",
            "example@atm.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ] {
            assert!(!is_email(email), "{email:?}");
        }
        assert!(!is_email(&format!("{}@example.com", "a".repeat(320))));
    }

    #[test]
    fn urls_django_accepts() {
        for url in [
            "http://www.djangoproject.com/",
            "HTTP://WWW.DJANGOPROJECT.COM/",
            "http://localhost/",
            "http://example.com/",
            "http://example.com./",
            "http://www.example.com:8000/test",
            "http://valid-with-hyphens.com/",
            "http://subdomain.example.com/",
            "http://200.8.9.10/",
            "http://200.8.9.10:8000/test",
            "http://su--b.valid-----hyphens.com/",
            "http://example.com?something=value",
            "http://example.com/index.php?something=value&another=value2",
            "https://example.com/",
            "ftp://example.com/",
            "ftps://example.com/",
            "http://foo.com/blah_blah_(wikipedia)",
            "http://userid:password@example.com:8080/",
            "http://userid@example.com",
            "http://142.42.1.1:8080/",
            "http://➡.ws/䨹",
            "http://مثال.إختبار",
            "http://例子.测试",
            "http://[2001:db8::1]/",
            "http://[::1]:8080/",
            "http://xn--7sbb4ac0ad0be6cf.xn--p1ai",
            "http://www.example.com:65535/",
            "http://0.0.0.0/",
            "http://example.com#fragment",
        ] {
            assert!(is_url(url), "{url}");
        }
    }

    #[test]
    fn urls_django_refuses() {
        for url in [
            "no_scheme",
            "foo",
            "http://",
            "http://example",
            "http://example.",
            "http://.com",
            "http://invalid-.com",
            "http://-invalid.com",
            "http://inv-.alid-.com",
            "http://inv-.-alid.com",
            "file://localhost/path",
            "git://example.com/",
            "http://.",
            "http://..",
            "http://../",
            "http://?",
            "http://##/",
            "http://foo.bar?q=Spaces should be encoded",
            "http://-error-.invalid/",
            "http://a.b-.co",
            "http://a.1",
            "http://example.xn--",
            "http://例子.测",
            "http://[::1",
            "http://[::1]x/",
            "http://[::1]:99999/",
            "http://3628126748",
            "http://999.1.1.1/",
            "http://01.1.1.1/",
            "http://[::zz]/",
            "http://www.example.com:65536/",
            "http://www.example.com:/",
            "http://user:pa:ss@example.com",
            "http://@example.com",
            "http://example.com\n",
            "http://1.1.1.1.1",
        ] {
            assert!(!is_url(url), "{url:?}");
        }
        assert!(!is_url(&format!("http://example.com/{}", "x".repeat(2048))));
    }

    #[test]
    fn no_input_makes_them_panic() {
        // Every string of up to four characters from an alphabet of
        // separators and multi-byte letters, after each prefix.
        let alphabet = ['a', '.', ':', '@', '[', ']', '-', '/', '测', 'é', '"', '\\'];
        let mut words = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = words
                .iter()
                .filter(|word| {
                    word.chars().count() == words.last().map_or(0, |w| w.chars().count())
                })
                .flat_map(|word| alphabet.iter().map(move |c| format!("{word}{c}")))
                .collect();
            words.extend(longer);
        }
        for word in &words {
            for prefix in ["", "http://", "http://[", "a@", "xn--"] {
                let text = format!("{prefix}{word}");
                let _ = (is_url(&text), is_email(&text));
            }
        }
    }

    #[test]
    fn ranges_compare_each_number_type() {
        let min = Validator::Min(Limit::Int(1));
        assert!(min.check(&Value::Int(Some(1))).is_ok());
        assert!(min.check(&Value::SmallInt(Some(0))).is_err());
        assert!(min.check(&Value::Double(Some(0.5))).is_err());
        assert!(min.check(&Value::Double(Some(f64::NAN))).is_ok());
        assert!(min.check(&Value::String(Some("0".into()))).is_ok());
        let max = Validator::Max(Limit::Float(0.1));
        let decimal = |text: &str| Value::Decimal(Some(text.parse().unwrap()));
        assert!(max.check(&decimal("0.1")).is_ok());
        let error = max.check(&decimal("0.10001")).unwrap_err();
        assert_eq!(
            error.message,
            "Ensure this value is less than or equal to 0.1."
        );
        assert_eq!(error.code, "max_value");
        assert!(Validator::Max(Limit::Float(2.5))
            .check(&Value::BigInt(Some(3)))
            .is_err());
        assert!(Validator::Min(Limit::Int(-5))
            .check(&Value::Float(Some(-5.0)))
            .is_ok());
    }

    #[test]
    fn min_length_counts_characters() {
        let check = |n, text: &str| Validator::MinLength(n).check(&Value::from(text));
        assert!(check(3, "été").is_ok());
        assert_eq!(
            check(4, "été").unwrap_err().message,
            "Ensure this value has at least 4 characters (it has 3)."
        );
        assert_eq!(
            check(1, "").unwrap_err().message,
            "Ensure this value has at least 1 character (it has 0)."
        );
    }
}
