//! Signing with the secret key (Django's `django.core.signing`): the keys
//! derived from `secret_key` and its fallbacks, HMAC-SHA256 signatures for
//! session cookies ([`Keys::sign`], [`Keys::unsign`]), and the `cookie`
//! crate's keys for signed and private cookies.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::settings::Settings;

type HmacSha256 = Hmac<Sha256>;

/// Keys derived from the secret key: the current one and the fallbacks
/// still accepted for reading. Session stores use it to sign cookies.
pub struct Keys {
    /// Signing keys, current first.
    signing: Vec<Vec<u8>>,
    /// Keys for the `cookie` crate's signed and private jars, current first.
    pub(crate) cookie: Vec<cookie::Key>,
}

impl Keys {
    pub(crate) fn from_settings(settings: &Settings) -> Result<Keys, Error> {
        let mut secrets: Vec<String> = Vec::new();
        if settings.secret_key.is_empty() {
            settings.check_for_production()?;
            // Debug mode without a key: a random one, so sessions work until restart.
            use rand::RngCore;
            let mut bytes = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            secrets.push(bytes.iter().map(|b| format!("{b:02x}")).collect());
        } else {
            if !settings.debug && settings.secret_key.expose().len() < 32 {
                tracing::warn!(
                    target: "flagon::settings",
                    "the secret key is shorter than 32 characters: use a long random one (openssl rand -base64 48)"
                );
            }
            secrets.push(settings.secret_key.expose().to_owned());
        }
        secrets.extend(
            settings
                .secret_key_fallbacks
                .iter()
                .filter(|s| !s.is_empty())
                .map(|s| s.expose().to_owned()),
        );
        Ok(Keys {
            signing: secrets
                .iter()
                .map(|s| derive(s, b"flagon.signing"))
                .collect(),
            cookie: secrets
                .iter()
                .map(|s| cookie::Key::derive_from(&derive(s, b"flagon.cookies")))
                .collect(),
        })
    }

    /// `value` followed by `.` and its HMAC-SHA256 signature (base64url).
    pub fn sign(&self, value: &str) -> String {
        let signature = mac(&self.signing[0], value.as_bytes());
        format!("{value}.{}", b64(&signature))
    }

    /// The value of a signed string, if the current key or a fallback signed it.
    pub fn unsign<'a>(&self, signed: &'a str) -> Option<&'a str> {
        let (value, signature) = signed.rsplit_once('.')?;
        let signature = unb64(signature)?;
        self.signing.iter().find_map(|key| {
            let mut verifier = HmacSha256::new_from_slice(key).ok()?;
            verifier.update(value.as_bytes());
            verifier.verify_slice(&signature).ok().map(|()| value)
        })
    }
}

/// A 32-byte key for `purpose`, derived from `secret` (HMAC-SHA256 keyed by
/// a hash of the secret, so secrets of any length work).
fn derive(secret: &str, purpose: &[u8]) -> Vec<u8> {
    let master = Sha256::digest(secret.as_bytes());
    mac(&master, purpose)
}

fn mac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length; this cannot fail.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return Vec::new(),
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn unb64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Secret;

    fn keys(secret: &str, fallbacks: &[&str]) -> Keys {
        let settings = Settings {
            secret_key: Secret::new(secret),
            secret_key_fallbacks: fallbacks.iter().map(|s| Secret::new(*s)).collect(),
            ..Settings::default()
        };
        Keys::from_settings(&settings).unwrap()
    }

    #[test]
    fn signatures_verify_and_tampering_fails() {
        let keys = keys("secret", &[]);
        let signed = keys.sign("hello");
        assert_eq!(keys.unsign(&signed), Some("hello"));
        assert_eq!(keys.unsign(&signed.replace("hello", "hellp")), None);
        assert_eq!(keys.unsign("hello"), None);
        assert_eq!(keys.unsign("hello.!!!"), None);
    }

    #[test]
    fn fallback_keys_still_verify() {
        let old = keys("old", &[]);
        let signed = old.sign("data");
        let rotated = keys("new", &["old"]);
        assert_eq!(rotated.unsign(&signed), Some("data"));
        assert_eq!(keys("new", &[]).unsign(&signed), None);
    }

    #[test]
    fn production_without_a_key_is_refused() {
        assert!(Keys::from_settings(&Settings::default()).is_err());
    }
}
