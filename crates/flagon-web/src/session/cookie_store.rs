//! The signed-cookie session store (the default, as in Flask).

use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::{SessionData, SessionStore, StoreContext};
use crate::error::Error;
use crate::signing::{b64, unb64};

/// Keeps the session in the cookie itself, signed with the secret key:
/// nothing is stored on the server, the visitor can read the data but any
/// change breaks the signature and the session is then ignored.
///
/// Browsers drop cookies over about 4 KB: keep such sessions small (ids, not
/// records). Rotating the id is a no-op here, as there is no id; flushing
/// empties the cookie.
#[derive(Clone, Copy, Debug, Default)]
pub struct CookieStore;

impl CookieStore {
    /// The store.
    pub fn new() -> Self {
        CookieStore
    }
}

#[derive(Serialize, Deserialize)]
struct Payload {
    /// Seconds since the epoch when the cookie was issued.
    t: u64,
    d: SessionData,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl CookieStore {
    fn decode(cookie: &str, ctx: StoreContext<'_>) -> Option<SessionData> {
        let value = ctx.keys.unsign(cookie)?;
        let json = unb64(value)?;
        let payload: Payload = serde_json::from_slice(&json).ok()?;
        let age = now().saturating_sub(payload.t);
        (age <= ctx.max_age.as_secs()).then_some(payload.d)
    }

    fn encode(data: &SessionData, ctx: StoreContext<'_>) -> Result<String, Error> {
        let json = serde_json::to_vec(&Payload {
            t: now(),
            d: data.clone(),
        })?;
        let cookie = ctx.keys.sign(&b64(&json));
        if cookie.len() > 4093 {
            tracing::warn!(
                size = cookie.len(),
                "the session cookie is larger than browsers keep (4093 bytes); store less in the session or use another SessionStore"
            );
        }
        Ok(cookie)
    }
}

impl SessionStore for CookieStore {
    fn load<'a>(
        &'a self,
        cookie: &'a str,
        ctx: StoreContext<'a>,
    ) -> BoxFuture<'a, Result<Option<SessionData>, Error>> {
        Box::pin(async move { Ok(CookieStore::decode(cookie, ctx)) })
    }

    fn save<'a>(
        &'a self,
        _cookie: Option<&'a str>,
        data: &'a SessionData,
        ctx: StoreContext<'a>,
    ) -> BoxFuture<'a, Result<String, Error>> {
        Box::pin(async move { CookieStore::encode(data, ctx) })
    }

    fn delete<'a>(
        &'a self,
        _cookie: &'a str,
        _ctx: StoreContext<'a>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{Secret, Settings};
    use crate::signing::Keys;
    use std::time::Duration;

    fn keys() -> Keys {
        let settings = Settings {
            secret_key: Secret::new("test secret"),
            ..Settings::default()
        };
        Keys::from_settings(&settings).unwrap()
    }

    #[test]
    fn round_trip_and_tampering() {
        let keys = keys();
        let ctx = StoreContext {
            keys: &keys,
            max_age: Duration::from_secs(60),
        };
        let mut data = SessionData::new();
        data.insert("user".into(), "ann".into());
        let cookie = CookieStore::encode(&data, ctx).unwrap();
        assert_eq!(CookieStore::decode(&cookie, ctx), Some(data));
        let mut tampered = cookie.clone().into_bytes();
        tampered[3] ^= 1;
        let tampered = String::from_utf8_lossy(&tampered).into_owned();
        assert_eq!(CookieStore::decode(&tampered, ctx), None);
        assert_eq!(CookieStore::decode("garbage", ctx), None);
    }

    #[test]
    fn expired_cookies_are_ignored() {
        let keys = keys();
        let json = serde_json::to_vec(&Payload {
            t: now() - 120,
            d: SessionData::new(),
        })
        .unwrap();
        let cookie = keys.sign(&b64(&json));
        let ctx = StoreContext {
            keys: &keys,
            max_age: Duration::from_secs(60),
        };
        assert_eq!(CookieStore::decode(&cookie, ctx), None);
    }
}
