//! Sessions kept in the database (Django's default session backend).

use chrono::{DateTime, Utc};
use flagon_orm::migrations::prelude::*;
use flagon_orm::migrations::AppConfig;
use flagon_orm::{Model, ModelExt};
use flagon_web::session::{SessionData, SessionStore, StoreContext};
use flagon_web::Error;
use futures_util::future::BoxFuture;
use rand::distributions::{Alphanumeric, DistString};

/// A stored session: its key, its data as JSON, and when it expires.
#[derive(Model, Debug, Clone)]
#[model(app = "flagon_sessions", table = "flagon_session")]
pub struct SessionRecord {
    /// The random key the cookie carries.
    #[field(primary_key, max_length = 40)]
    pub session_key: String,
    /// The session data, as a JSON object.
    pub session_data: String,
    /// When the session stops being valid.
    #[field(index)]
    pub expire_date: DateTime<Utc>,
}

/// Keeps sessions in the `flagon_session` table under random 32-character
/// keys: the cookie holds only the key, the data stays on the server, and
/// every process sharing the database shares the sessions.
///
/// ```no_run
/// # async fn demo(db: flagon::orm::Db) -> flagon::Result<()> {
/// use flagon::prelude::*;
/// use flagon::DatabaseSessionStore;
///
/// let store = DatabaseSessionStore::new(db.clone());
/// store.create_table().await?;
/// let app = App::new().database(db).session_store(store);
/// # let _ = app; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct DatabaseSessionStore {
    db: flagon_orm::Db,
}

impl DatabaseSessionStore {
    /// A store in `db`.
    pub fn new(db: flagon_orm::Db) -> Self {
        DatabaseSessionStore { db }
    }

    /// Creates the `flagon_session` table directly (for tests and
    /// scripts); a project registers [`DatabaseSessionStore::app`] instead
    /// and lets `migrate` create it.
    pub async fn create_table(&self) -> Result<(), flagon_orm::OrmError> {
        flagon_orm::schema::create_table(&self.db, SessionRecord::META).await
    }

    /// The `flagon_sessions` app: the session table and its migration, to
    /// register with the project's apps so that `migrate` creates it.
    ///
    /// ```
    /// use flagon::orm::migrations::Apps;
    /// let apps = Apps::new().app(flagon::DatabaseSessionStore::app());
    /// # let _ = apps;
    /// ```
    pub fn app() -> AppConfig {
        AppConfig::new("flagon_sessions")
            .model::<SessionRecord>()
            .migrations(&[initial_migration])
    }

    /// Deletes expired sessions (Django's `clearsessions`); returns how many.
    pub async fn clear_expired(&self) -> Result<u64, flagon_orm::OrmError> {
        SessionRecord::objects()
            .filter(SessionRecord::EXPIRE_DATE.lt(Utc::now()))
            .delete(&self.db)
            .await
    }
}

/// The migration that creates `flagon_session` (as `makemigrations` wrote it).
fn initial_migration() -> Migration {
    Migration::new("flagon_sessions", "0001_initial").operation(Operation::create_model(
        ModelState::new("flagon_sessions", "SessionRecord", "flagon_session")
            .field(
                FieldState::new("session_key", FieldKind::String)
                    .max_length(40)
                    .primary_key(),
            )
            .field(FieldState::new("session_data", FieldKind::Text))
            .field(FieldState::new("expire_date", FieldKind::DateTime).index()),
    ))
}

fn expiry(ctx: StoreContext<'_>) -> DateTime<Utc> {
    let lifetime = chrono::Duration::from_std(ctx.max_age).unwrap_or(chrono::Duration::MAX);
    Utc::now()
        .checked_add_signed(lifetime)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl SessionStore for DatabaseSessionStore {
    fn load<'a>(
        &'a self,
        cookie: &'a str,
        _ctx: StoreContext<'a>,
    ) -> BoxFuture<'a, Result<Option<SessionData>, Error>> {
        Box::pin(async move {
            if cookie.len() > 40 {
                return Ok(None);
            }
            let record = SessionRecord::objects()
                .filter(
                    SessionRecord::SESSION_KEY.eq(cookie)
                        & SessionRecord::EXPIRE_DATE.gt(Utc::now()),
                )
                .first(&self.db)
                .await?;
            Ok(record.and_then(|record| serde_json::from_str(&record.session_data).ok()))
        })
    }

    fn save<'a>(
        &'a self,
        cookie: Option<&'a str>,
        data: &'a SessionData,
        ctx: StoreContext<'a>,
    ) -> BoxFuture<'a, Result<String, Error>> {
        Box::pin(async move {
            let session_data = serde_json::to_string(data)?;
            let expire_date = expiry(ctx);
            if let Some(key) = cookie {
                let updated = SessionRecord::objects()
                    .filter(SessionRecord::SESSION_KEY.eq(key))
                    .update(
                        &self.db,
                        [
                            SessionRecord::SESSION_DATA.set(session_data.clone()),
                            SessionRecord::EXPIRE_DATE.set(expire_date),
                        ],
                    )
                    .await?;
                if updated > 0 {
                    return Ok(key.to_owned());
                }
            }
            // A new session (or one whose row is gone): a fresh key, never
            // one the client chose.
            let mut record = SessionRecord {
                session_key: Alphanumeric.sample_string(&mut rand::rngs::OsRng, 32),
                session_data,
                expire_date,
            };
            record.insert(&self.db).await?;
            Ok(record.session_key)
        })
    }

    fn delete<'a>(
        &'a self,
        cookie: &'a str,
        _ctx: StoreContext<'a>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            SessionRecord::objects()
                .filter(SessionRecord::SESSION_KEY.eq(cookie))
                .delete(&self.db)
                .await?;
            Ok(())
        })
    }
}
