//! The in-memory session store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::future::BoxFuture;
use rand::distributions::{Alphanumeric, DistString};

use super::{SessionData, SessionStore, StoreContext};
use crate::error::Error;

/// Keeps sessions in this process's memory under random 32-character ids.
///
/// Sessions vanish on restart and are not shared between processes: for
/// tests and single-process apps. Expired sessions are dropped when read and
/// swept as new ones are saved.
#[derive(Clone, Default)]
pub struct MemoryStore {
    sessions: Arc<Mutex<HashMap<String, (SessionData, Instant)>>>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("sessions", &self.len())
            .finish()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// How many sessions are held (expired ones included until swept).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (SessionData, Instant)>> {
        // Every operation is a single map call, so a poisoned map is consistent.
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SessionStore for MemoryStore {
    fn load<'a>(
        &'a self,
        cookie: &'a str,
        _ctx: StoreContext<'a>,
    ) -> BoxFuture<'a, Result<Option<SessionData>, Error>> {
        Box::pin(async move {
            let mut sessions = self.lock();
            match sessions.get(cookie) {
                Some((_, expires)) if *expires <= Instant::now() => {
                    sessions.remove(cookie);
                    Ok(None)
                }
                Some((data, _)) => Ok(Some(data.clone())),
                None => Ok(None),
            }
        })
    }

    fn save<'a>(
        &'a self,
        cookie: Option<&'a str>,
        data: &'a SessionData,
        ctx: StoreContext<'a>,
    ) -> BoxFuture<'a, Result<String, Error>> {
        Box::pin(async move {
            let now = Instant::now();
            let mut sessions = self.lock();
            let id = match cookie {
                Some(id) if sessions.contains_key(id) => id.to_owned(),
                _ => {
                    sessions.retain(|_, (_, expires)| *expires > now);
                    Alphanumeric.sample_string(&mut rand::rngs::OsRng, 32)
                }
            };
            sessions.insert(id.clone(), (data.clone(), now + ctx.max_age));
            Ok(id)
        })
    }

    fn delete<'a>(
        &'a self,
        cookie: &'a str,
        _ctx: StoreContext<'a>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            self.lock().remove(cookie);
            Ok(())
        })
    }
}
