//! The in-memory session store.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use rand::distributions::{Alphanumeric, DistString};

use super::{SessionData, SessionStore, StoreContext};
use crate::error::Error;

/// Keeps sessions in this process's memory under random 32-character ids.
///
/// Sessions vanish on restart and are not shared between processes: for
/// tests and single-process apps.
///
/// The store is bounded: it holds at most [`MemoryStore::DEFAULT_MAX_SESSIONS`]
/// sessions, or the number given to [`MemoryStore::max_sessions`]. When it
/// is full, a new session evicts the one that expires first (every session
/// lives `session.max_age` from its last save, so that is the one saved
/// longest ago), and that visitor starts over with an empty session.
/// Expired sessions are never returned; they are dropped when read and,
/// oldest first, as sessions are saved, each looked at once (sessions are
/// kept in order of expiry, so saving costs O(log n), not a sweep of all).
///
/// ```
/// use flagon_web::{App, MemoryStore};
///
/// let app = App::new().session_store(MemoryStore::new().max_sessions(50_000));
/// # let _ = app;
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    sessions: Arc<Mutex<Sessions>>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new()
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sessions = self.lock();
        f.debug_struct("MemoryStore")
            .field("sessions", &sessions.len())
            .field("max_sessions", &sessions.max)
            .finish()
    }
}

impl MemoryStore {
    /// How many sessions a store holds unless told otherwise
    /// ([`MemoryStore::max_sessions`]).
    pub const DEFAULT_MAX_SESSIONS: usize = 10_000;

    /// An empty store holding at most [`MemoryStore::DEFAULT_MAX_SESSIONS`] sessions.
    ///
    /// ```
    /// let store = flagon_web::MemoryStore::new();
    /// assert!(store.is_empty());
    /// ```
    pub fn new() -> Self {
        MemoryStore {
            sessions: Arc::new(Mutex::new(Sessions::new(Self::DEFAULT_MAX_SESSIONS))),
        }
    }

    /// Holds at most `max` sessions (at least one); when full, a new
    /// session evicts the one that expires first.
    ///
    /// ```
    /// let store = flagon_web::MemoryStore::new().max_sessions(100);
    /// # let _ = store;
    /// ```
    pub fn max_sessions(self, max: usize) -> Self {
        {
            let mut sessions = self.lock();
            let max = max.max(1);
            sessions.max = max;
            sessions.evict_to(max);
        }
        self
    }

    /// How many sessions are held (expired ones included until dropped).
    ///
    /// ```
    /// assert_eq!(flagon_web::MemoryStore::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no session is held.
    ///
    /// ```
    /// assert!(flagon_web::MemoryStore::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Sessions> {
        // Nothing between the paired updates of the map and the expiry
        // order can panic (short of running out of memory), so a poisoned
        // lock still guards consistent data.
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The sessions by id, and their ids in order of expiry: the bookkeeping
/// of [`MemoryStore`], free of IO and of the clock (each call is told the
/// time) so it is tested directly.
struct Sessions {
    by_id: HashMap<String, (SessionData, Instant)>,
    /// `(expires, id)` for every session in `by_id`: the first expires first.
    by_expiry: BTreeSet<(Instant, String)>,
    max: usize,
    /// How many entries expiry and eviction have looked at, for tests.
    #[cfg(test)]
    examined: usize,
}

impl Sessions {
    fn new(max: usize) -> Self {
        Sessions {
            by_id: HashMap::new(),
            by_expiry: BTreeSet::new(),
            max,
            #[cfg(test)]
            examined: 0,
        }
    }

    fn len(&self) -> usize {
        self.by_id.len()
    }

    /// The data of session `id`, unless it is unknown or expired at `now`.
    fn load(&mut self, id: &str, now: Instant) -> Option<SessionData> {
        let (data, expires) = self.by_id.get(id)?;
        if *expires > now {
            return Some(data.clone());
        }
        let expires = *expires;
        self.remove(id, expires);
        None
    }

    /// Saves `data` under `id` (kept if it is a live session, else a new
    /// random one), to expire at `now + max_age`; returns the id.
    fn save(
        &mut self,
        id: Option<&str>,
        data: &SessionData,
        now: Instant,
        max_age: Duration,
    ) -> String {
        self.drop_expired(now);
        // A max_age past what the clock can hold: a century is forever here.
        let expires = now
            .checked_add(max_age)
            .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
            .unwrap_or(now);
        let id = match id.and_then(|id| self.by_id.get(id).map(|(_, old)| (id, *old))) {
            Some((id, old_expiry)) => {
                self.by_expiry.remove(&(old_expiry, id.to_owned()));
                id.to_owned()
            }
            None => {
                self.evict_to(self.max - 1);
                Alphanumeric.sample_string(&mut rand::rngs::OsRng, 32)
            }
        };
        self.by_expiry.insert((expires, id.clone()));
        self.by_id.insert(id.clone(), (data.clone(), expires));
        id
    }

    /// Forgets session `id`.
    fn delete(&mut self, id: &str) {
        if let Some((_, expires)) = self.by_id.get(id) {
            let expires = *expires;
            self.remove(id, expires);
        }
    }

    fn remove(&mut self, id: &str, expires: Instant) {
        self.by_id.remove(id);
        self.by_expiry.remove(&(expires, id.to_owned()));
    }

    /// Drops the sessions expired at `now`, soonest first, stopping at the
    /// first one still alive: each expired session is looked at once.
    fn drop_expired(&mut self, now: Instant) {
        while let Some((expires, _)) = self.by_expiry.first() {
            #[cfg(test)]
            {
                self.examined += 1;
            }
            if *expires > now {
                break;
            }
            if let Some((_, id)) = self.by_expiry.pop_first() {
                self.by_id.remove(&id);
            }
        }
    }

    /// Evicts the sessions that expire first until at most `len` remain.
    fn evict_to(&mut self, len: usize) {
        while self.by_id.len() > len {
            let Some((_, id)) = self.by_expiry.pop_first() else {
                break;
            };
            #[cfg(test)]
            {
                self.examined += 1;
            }
            self.by_id.remove(&id);
        }
    }
}

impl SessionStore for MemoryStore {
    fn load<'a>(
        &'a self,
        cookie: &'a str,
        _ctx: StoreContext<'a>,
    ) -> BoxFuture<'a, Result<Option<SessionData>, Error>> {
        Box::pin(async move { Ok(self.lock().load(cookie, Instant::now())) })
    }

    fn save<'a>(
        &'a self,
        cookie: Option<&'a str>,
        data: &'a SessionData,
        ctx: StoreContext<'a>,
    ) -> BoxFuture<'a, Result<String, Error>> {
        Box::pin(async move { Ok(self.lock().save(cookie, data, Instant::now(), ctx.max_age)) })
    }

    fn delete<'a>(
        &'a self,
        cookie: &'a str,
        _ctx: StoreContext<'a>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            self.lock().delete(cookie);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::settings::Settings;
    use crate::signing::Keys;

    fn keys() -> Keys {
        Keys::from_settings(&Settings {
            debug: true,
            ..Settings::default()
        })
        .unwrap()
    }

    fn data(n: u64) -> SessionData {
        let mut data = SessionData::new();
        data.insert("n".into(), n.into());
        data
    }

    fn consistent(sessions: &Sessions) {
        assert_eq!(sessions.by_id.len(), sessions.by_expiry.len());
        for (expires, id) in &sessions.by_expiry {
            assert_eq!(sessions.by_id[id].1, *expires);
        }
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[tokio::test]
    async fn the_default_bound_holds() {
        let store = MemoryStore::new();
        let keys = keys();
        let ctx = StoreContext {
            keys: &keys,
            max_age: HOUR,
        };
        let data = SessionData::new();
        for _ in 0..10_001 {
            store.save(None, &data, ctx).await.unwrap();
        }
        assert_eq!(store.len(), 10_000);
        assert_eq!(store.len(), MemoryStore::DEFAULT_MAX_SESSIONS);
    }

    #[test]
    fn a_full_store_evicts_the_session_that_expires_first() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let mut sessions = Sessions::new(3);
        let ids: Vec<String> = (0..5)
            .map(|n| sessions.save(None, &data(n), at(n), HOUR))
            .collect();
        assert_eq!(sessions.len(), 3);
        for (n, id) in ids.iter().enumerate() {
            assert_eq!(sessions.load(id, at(5)).is_some(), n >= 2, "session {n}");
        }
        // Saving a live session again keeps its id and makes it the last to go.
        assert_eq!(sessions.save(Some(&ids[2]), &data(2), at(6), HOUR), ids[2]);
        sessions.save(None, &data(5), at(7), HOUR);
        assert!(sessions.load(&ids[2], at(8)).is_some());
        assert!(sessions.load(&ids[3], at(8)).is_none());
        assert_eq!(sessions.len(), 3);
        consistent(&sessions);
    }

    #[test]
    fn eviction_follows_the_expiry_not_the_order_of_saving() {
        let t0 = Instant::now();
        let mut sessions = Sessions::new(3);
        let long = sessions.save(None, &data(1), t0, HOUR * 10);
        let short = sessions.save(None, &data(2), t0, HOUR);
        let middle = sessions.save(None, &data(3), t0, HOUR * 5);
        sessions.save(None, &data(4), t0, HOUR * 10);
        assert_eq!(sessions.len(), 3);
        assert!(
            sessions.load(&short, t0).is_none(),
            "expires first: evicted"
        );
        assert!(sessions.load(&long, t0).is_some());
        assert!(sessions.load(&middle, t0).is_some());
        consistent(&sessions);
    }

    #[tokio::test]
    async fn an_expired_session_is_not_returned() {
        let store = MemoryStore::new();
        let keys = keys();
        let gone = StoreContext {
            keys: &keys,
            max_age: Duration::ZERO,
        };
        let id = store.save(None, &data(1), gone).await.unwrap();
        assert_eq!(store.load(&id, gone).await.unwrap(), None);
        assert!(store.is_empty(), "dropped when read");

        let t0 = Instant::now();
        let mut sessions = Sessions::new(10);
        let id = sessions.save(None, &data(1), t0, HOUR);
        assert_eq!(sessions.load(&id, t0 + HOUR / 2), Some(data(1)));
        assert_eq!(sessions.load(&id, t0 + HOUR), None);
        // Its id is not revived by a save either.
        let new_id = sessions.save(Some(&id), &data(2), t0 + HOUR * 2, HOUR);
        assert_ne!(new_id, id);
        consistent(&sessions);
    }

    #[test]
    fn new_sessions_look_only_at_what_expired() {
        let t0 = Instant::now();
        let mut sessions = Sessions::new(100_000);
        for n in 0..1000 {
            sessions.save(None, &data(n), t0 + Duration::from_millis(n), HOUR);
        }
        // Each save looked at one live session (the first) and stopped; a
        // sweep would have looked at about 500,000.
        assert_eq!(sessions.examined, 1000 - 1);
        assert_eq!(sessions.len(), 1000);

        // 300 have expired an hour and 299 ms later: exactly those go, and
        // the one that has not stops the search.
        let before = sessions.examined;
        let later = t0 + HOUR + Duration::from_millis(299);
        sessions.save(None, &data(0), later, HOUR);
        assert_eq!(sessions.examined - before, 300 + 1);
        assert_eq!(sessions.len(), 1000 - 300 + 1);
        consistent(&sessions);
    }

    #[test]
    fn lowering_the_bound_evicts_and_deleting_forgets() {
        let store = MemoryStore::new();
        let t0 = Instant::now();
        let ids: Vec<String> = (0..5)
            .map(|n| {
                store
                    .lock()
                    .save(None, &data(n), t0 + Duration::from_secs(n), HOUR)
            })
            .collect();
        let store = store.max_sessions(2);
        assert_eq!(store.len(), 2);
        let mut sessions = store.lock();
        assert!(sessions.load(&ids[4], t0).is_some());
        sessions.delete(&ids[4]);
        assert!(sessions.load(&ids[4], t0).is_none());
        assert_eq!(sessions.len(), 1);
        consistent(&sessions);
    }
}
