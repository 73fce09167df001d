//! Flash messages: one-time messages kept in the session until shown.

use http::request::Parts;

use crate::error::Error;
use crate::extract::FromRequestParts;
use crate::session::Session;

const FLASHES_KEY: &str = "_flashes";

/// Queues messages for the next page the visitor sees, Flask's `flash()`.
/// Templates read them with `get_flashed_messages()`, which removes them.
///
/// ```
/// use flagon_web::{Flash, Redirect};
///
/// async fn save(flash: Flash) -> flagon_web::Result<Redirect> {
///     flash.success("Saved.")?;
///     Ok(Redirect::to("/"))
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Flash {
    session: Session,
}

impl FromRequestParts for Flash {
    async fn from_request_parts(parts: &mut Parts) -> Result<Self, Error> {
        Ok(Flash {
            session: Session::from_request_parts(parts).await?,
        })
    }
}

/// `None` when sessions are off.
impl crate::extract::OptionalFromRequestParts for Flash {
    async fn from_request_parts(parts: &mut Parts) -> Result<Option<Self>, Error> {
        let session = <Option<Session> as FromRequestParts>::from_request_parts(parts).await?;
        Ok(session.map(|session| Flash { session }))
    }
}

impl Flash {
    /// Queues `message` with the category `message` (Flask's default).
    pub fn push(&self, message: impl Into<String>) -> Result<(), Error> {
        self.with_category("message", message)
    }

    /// Queues `message` under `category` (such as `error` or `success`).
    pub fn with_category(&self, category: &str, message: impl Into<String>) -> Result<(), Error> {
        let mut flashes: Vec<(String, String)> = self.session.get(FLASHES_KEY).unwrap_or_default();
        flashes.push((category.to_owned(), message.into()));
        self.session.insert(FLASHES_KEY, flashes)
    }

    /// Queues a `success` message.
    pub fn success(&self, message: impl Into<String>) -> Result<(), Error> {
        self.with_category("success", message)
    }

    /// Queues an `info` message.
    pub fn info(&self, message: impl Into<String>) -> Result<(), Error> {
        self.with_category("info", message)
    }

    /// Queues a `warning` message.
    pub fn warning(&self, message: impl Into<String>) -> Result<(), Error> {
        self.with_category("warning", message)
    }

    /// Queues an `error` message.
    pub fn error(&self, message: impl Into<String>) -> Result<(), Error> {
        self.with_category("error", message)
    }

    /// Removes and returns the queued `(category, message)` pairs.
    pub fn take(&self) -> Vec<(String, String)> {
        take_flashes(&self.session)
    }
}

/// Removes and returns the session's queued messages.
pub(crate) fn take_flashes(session: &Session) -> Vec<(String, String)> {
    match session.remove(FLASHES_KEY) {
        Some(value) => serde_json::from_value(value).unwrap_or_default(),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SessionData;

    #[test]
    fn messages_are_taken_once_in_order() {
        let flash = Flash {
            session: Session::new(SessionData::new(), None),
        };
        flash.push("one").unwrap();
        flash.error("two").unwrap();
        assert_eq!(
            flash.take(),
            vec![
                ("message".to_string(), "one".to_string()),
                ("error".into(), "two".into())
            ]
        );
        assert!(flash.take().is_empty());
    }
}
