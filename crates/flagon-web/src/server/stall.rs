//! A deadline for waits on the client: writing to a client that does not
//! read, reading a body the client does not send.
//!
//! Only a wait arms it, so an exchange that never waits costs nothing: no
//! clock reading, no timer. The timer is allocated at the first wait and
//! reused by the later ones.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

pub(crate) struct StallTimer {
    sleep: Option<Pin<Box<Sleep>>>,
    /// When the wait going on began (`None`: no wait going on).
    since: Option<Instant>,
}

impl StallTimer {
    pub(crate) const fn new() -> Self {
        StallTimer {
            sleep: None,
            since: None,
        }
    }

    /// The IO is waiting on the client. A new wait may last `limit` (a
    /// wait going on keeps its deadline); ready once it has passed, else
    /// the task is woken when it does.
    pub(crate) fn poll_expired(&mut self, cx: &mut Context<'_>, limit: Duration) -> Poll<()> {
        if self.since.is_none() {
            let now = Instant::now();
            self.since = Some(now);
            // A limit too far away to add up is no limit.
            let Some(deadline) = now.checked_add(limit) else {
                self.sleep = None;
                return Poll::Pending;
            };
            match &mut self.sleep {
                Some(sleep) => sleep.as_mut().reset(deadline),
                None => self.sleep = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
        }
        match &mut self.sleep {
            Some(sleep) => sleep.as_mut().poll(cx),
            None => Poll::Pending,
        }
    }

    /// The client made progress: the wait going on (if any) is over, and
    /// the next one gets a deadline of its own. Returns when it began.
    pub(crate) fn progressed(&mut self) -> Option<Instant> {
        self.since.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_wait_expires_after_its_limit_and_progress_starts_anew() {
        let limit = Duration::from_secs(5);
        let mut timer = StallTimer::new();
        let started = Instant::now();
        std::future::poll_fn(|cx| timer.poll_expired(cx, limit)).await;
        assert_eq!(started.elapsed(), limit);
        // Later polls of the same wait keep its deadline.
        std::future::poll_fn(|cx| timer.poll_expired(cx, Duration::from_secs(60))).await;
        assert_eq!(started.elapsed(), limit);
        assert_eq!(timer.progressed(), Some(started));
        assert_eq!(timer.progressed(), None);
        let again = Instant::now();
        std::future::poll_fn(|cx| timer.poll_expired(cx, limit)).await;
        assert_eq!(again.elapsed(), limit);
    }

    #[tokio::test(start_paused = true)]
    async fn a_limit_beyond_the_clock_never_expires() {
        let mut timer = StallTimer::new();
        let waited = tokio::time::timeout(
            Duration::from_secs(3600),
            std::future::poll_fn(|cx| timer.poll_expired(cx, Duration::MAX)),
        )
        .await;
        assert!(waited.is_err());
    }
}
