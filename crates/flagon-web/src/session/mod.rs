//! Sessions: data kept across a visitor's requests, behind a cookie.
//!
//! The default [`CookieStore`] keeps the data in a signed cookie, as Flask
//! does: the visitor can read it but not change it. [`MemoryStore`] keeps it
//! in the server's memory (tests, single-process apps); a database store
//! comes with the ORM and Redis with the scale-out work. Each is a
//! [`SessionStore`].

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::future::BoxFuture;
use http::request::Parts;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::context::RequestContext;
use crate::error::Error;
use crate::extract::FromRequestParts;
use crate::signing::Keys;

mod cookie_store;
mod memory_store;

pub use cookie_store::CookieStore;
pub use memory_store::MemoryStore;

/// A session's contents: a JSON object.
pub type SessionData = serde_json::Map<String, serde_json::Value>;

/// What a store may need besides the cookie: the signing keys and the
/// session lifetime.
#[derive(Clone, Copy)]
pub struct StoreContext<'a> {
    /// Keys derived from the app's secret key.
    pub keys: &'a Keys,
    /// How long a session lasts after it was last saved.
    pub max_age: Duration,
}

impl std::fmt::Debug for StoreContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreContext")
            .field("max_age", &self.max_age)
            .finish()
    }
}

/// Where session data lives. One small trait: load, save, delete.
///
/// A store must treat a cookie it does not recognise (tampered, expired,
/// from an old key) as no session: `Ok(None)`, never an error.
pub trait SessionStore: Send + Sync + 'static {
    /// The data for the session whose cookie value is `cookie`.
    fn load<'a>(
        &'a self,
        cookie: &'a str,
        ctx: StoreContext<'a>,
    ) -> BoxFuture<'a, Result<Option<SessionData>, Error>>;

    /// Saves `data` and returns the cookie value to send. `cookie` is the
    /// session's current cookie value, `None` for a new session (or one
    /// whose id is being rotated).
    fn save<'a>(
        &'a self,
        cookie: Option<&'a str>,
        data: &'a SessionData,
        ctx: StoreContext<'a>,
    ) -> BoxFuture<'a, Result<String, Error>>;

    /// Forgets the session whose cookie value is `cookie`.
    fn delete<'a>(
        &'a self,
        cookie: &'a str,
        ctx: StoreContext<'a>,
    ) -> BoxFuture<'a, Result<(), Error>>;
}

/// The visitor's session, read and changed by handlers.
///
/// ```
/// use flagon_web::Session;
///
/// async fn counter(session: Session) -> flagon_web::Result<String> {
///     let visits: u64 = session.get("visits").unwrap_or(0) + 1;
///     session.insert("visits", visits)?;
///     Ok(format!("visit number {visits}"))
/// }
/// ```
#[derive(Clone)]
pub struct Session(Arc<Mutex<SessionState>>);

#[derive(Default)]
pub(crate) struct SessionState {
    pub(crate) data: SessionData,
    /// The cookie value the session was loaded from.
    pub(crate) cookie: Option<String>,
    pub(crate) modified: bool,
    /// Give the session a new id (and forget the old one) when saving.
    pub(crate) cycle: bool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("keys", &self.keys())
            .finish()
    }
}

impl FromRequestParts for Session {
    async fn from_request_parts(parts: &mut Parts) -> Result<Self, Error> {
        <Option<Session> as FromRequestParts>::from_request_parts(parts)
            .await?
            .ok_or_else(|| {
                Error::internal("sessions are turned off for this app (App::without_sessions)")
            })
    }
}

/// `None` when sessions are off for the app; a store that fails is still
/// an error.
impl crate::extract::OptionalFromRequestParts for Session {
    async fn from_request_parts(parts: &mut Parts) -> Result<Option<Self>, Error> {
        let context = RequestContext::from_parts(parts)?;
        context.mark_varies_by_cookie();
        Ok(context.load_session().await?.cloned())
    }
}

/// A request's session, read from its store the first time something
/// uses it (a handler's [`Session`] or [`crate::Flash`] extractor, a
/// template, the CSRF check when the secret lives in the session). A
/// request that never touches its session never reads the store: a static
/// file keeps working while a database session store is down.
pub(crate) enum SessionSlot {
    /// Sessions are off for this app.
    Off,
    /// Read from the app's store on first use; `cookie` is the session
    /// cookie the request sent, if any (none: a new, empty session).
    Lazy {
        cookie: Option<String>,
        cell: std::sync::OnceLock<Session>,
    },
    /// The app this one is mounted in owns the session (one cookie, one
    /// session), loads and saves it.
    Outer(crate::context::RequestContext),
}

impl SessionSlot {
    /// A slot loading the session with `cookie` on first use.
    pub(crate) fn lazy(cookie: Option<String>) -> Self {
        SessionSlot::Lazy {
            cookie,
            cell: std::sync::OnceLock::new(),
        }
    }

    /// The session, read from `store` now if this is its first use.
    /// `None` when sessions are off.
    pub(crate) fn load<'a>(
        &'a self,
        store: Option<&'a dyn SessionStore>,
        ctx: StoreContext<'a>,
    ) -> BoxFuture<'a, Result<Option<&'a Session>, Error>> {
        Box::pin(async move {
            match (self, store) {
                (SessionSlot::Off, _) | (SessionSlot::Lazy { .. }, None) => Ok(None),
                (SessionSlot::Lazy { cookie, cell }, Some(store)) => {
                    if let Some(session) = cell.get() {
                        return Ok(Some(session));
                    }
                    let session = match cookie {
                        None => Session::new(SessionData::new(), None),
                        Some(cookie) => match store.load(cookie, ctx).await? {
                            Some(data) => Session::new(data, Some(cookie.clone())),
                            None => Session::new(SessionData::new(), None),
                        },
                    };
                    // Two tasks of one request loading at once: the first
                    // stored wins, and both use it.
                    Ok(Some(cell.get_or_init(|| session)))
                }
                (SessionSlot::Outer(outer), _) => outer.load_session().await,
            }
        })
    }

    /// The session if it has been loaded (or, for a new session, made):
    /// what the request used, and so what must be saved.
    pub(crate) fn loaded(&self) -> Option<&Session> {
        match self {
            SessionSlot::Off => None,
            SessionSlot::Lazy { cell, .. } => cell.get(),
            SessionSlot::Outer(outer) => outer.session.loaded(),
        }
    }

    /// Whether the session belongs to the app this one is mounted in.
    pub(crate) fn is_outer(&self) -> bool {
        matches!(self, SessionSlot::Outer(_))
    }

    /// Whether sessions are on.
    pub(crate) fn is_on(&self) -> bool {
        !matches!(self, SessionSlot::Off)
    }
}

impl Session {
    pub(crate) fn new(data: SessionData, cookie: Option<String>) -> Self {
        Session(Arc::new(Mutex::new(SessionState {
            data,
            cookie,
            ..SessionState::default()
        })))
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, SessionState> {
        // A panic while holding the lock cannot leave the map half-written
        // (each method makes one insert or remove), so a poisoned lock is safe to reuse.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The value under `key`, if present and of type `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let state = self.state();
        serde_json::from_value(state.data.get(key)?.clone()).ok()
    }

    /// The raw JSON value under `key`.
    pub fn get_value(&self, key: &str) -> Option<serde_json::Value> {
        self.state().data.get(key).cloned()
    }

    /// Stores `value` under `key`.
    pub fn insert<T: Serialize>(&self, key: &str, value: T) -> Result<(), Error> {
        let value = serde_json::to_value(value)?;
        let mut state = self.state();
        state.data.insert(key.to_owned(), value);
        state.modified = true;
        Ok(())
    }

    /// Removes and returns the value under `key`.
    pub fn remove(&self, key: &str) -> Option<serde_json::Value> {
        let mut state = self.state();
        let removed = state.data.remove(key);
        if removed.is_some() {
            state.modified = true;
        }
        removed
    }

    /// Whether `key` is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.state().data.contains_key(key)
    }

    /// The keys currently set.
    pub fn keys(&self) -> Vec<String> {
        self.state().data.keys().cloned().collect()
    }

    /// Removes everything; the cookie is deleted at the end of the request.
    pub fn clear(&self) {
        let mut state = self.state();
        state.data.clear();
        state.modified = true;
    }

    /// Removes everything and forgets the session id (Django's `flush`,
    /// for logout).
    pub fn flush(&self) {
        let mut state = self.state();
        state.data.clear();
        state.modified = true;
        state.cycle = true;
    }

    /// Keeps the data under a new session id and forgets the old one
    /// (Django's `cycle_key`), so an id known before login is useless
    /// after it. Call it when the user's privileges change.
    pub fn cycle_id(&self) {
        let mut state = self.state();
        state.modified = true;
        state.cycle = true;
    }

    /// Marks the session as changed, for values changed in place.
    pub fn mark_modified(&self) {
        self.state().modified = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_remove_track_changes() {
        let session = Session::new(SessionData::new(), None);
        assert!(!session.state().modified);
        assert_eq!(session.get::<u32>("n"), None);
        session.insert("n", 3).unwrap();
        assert_eq!(session.get::<u32>("n"), Some(3));
        assert_eq!(
            session.get::<String>("n"),
            None,
            "wrong type reads as absent"
        );
        assert!(session.state().modified);
        assert!(session.remove("n").is_some());
        assert!(!session.contains_key("n"));
        session.cycle_id();
        assert!(session.state().cycle);
    }
}
