//! The body of a request read by the server: hyper's, with deadlines on
//! the waits for the client to send it.

use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Frame, SizeHint};

use super::stall::StallTimer;
use crate::body::ReadTimeout;
use crate::error::BoxError;

/// A request body as it arrives, which fails with [`ReadTimeout`] when the
/// client stops sending it.
///
/// Only the time spent waiting for the client counts: a handler that
/// reads the body late (or never) is not held against the client.
pub(crate) struct IncomingBody {
    incoming: hyper::body::Incoming,
    /// How long one wait for more of the body may last
    /// (`limits.body_read_timeout`).
    idle: Duration,
    /// For the connection's first request, the waiting left before the
    /// first-request deadline (`limits.header_read_timeout` from the
    /// connection's start) passes.
    budget: Option<Duration>,
    stall: StallTimer,
    /// The timeout, once it happened: every later read fails with it too.
    timed_out: Option<ReadTimeout>,
}

impl IncomingBody {
    pub(crate) fn new(
        incoming: hyper::body::Incoming,
        idle: Duration,
        budget: Option<Duration>,
    ) -> Self {
        IncomingBody {
            incoming,
            idle,
            budget,
            stall: StallTimer::new(),
            timed_out: None,
        }
    }

    /// The limit of a new wait, and whether it is the first-request
    /// deadline (rather than the body read timeout) that sets it.
    fn limit(&self) -> (Duration, bool) {
        match self.budget {
            Some(budget) if budget < self.idle => (budget, true),
            _ => (self.idle, false),
        }
    }
}

impl http_body::Body for IncomingBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Some(timeout) = &this.timed_out {
            return Poll::Ready(Some(Err(Box::new(timeout.clone()))));
        }
        if let Poll::Ready(frame) = Pin::new(&mut this.incoming).poll_frame(cx) {
            if let (Some(since), Some(budget)) = (this.stall.progressed(), &mut this.budget) {
                *budget = budget.saturating_sub(since.elapsed());
            }
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        let (limit, first_request) = this.limit();
        ready!(this.stall.poll_expired(cx, limit));
        let timeout = if first_request {
            ReadTimeout::first_request()
        } else {
            ReadTimeout::body(this.idle)
        };
        this.timed_out = Some(timeout.clone());
        Poll::Ready(Some(Err(Box::new(timeout))))
    }

    fn is_end_stream(&self) -> bool {
        self.timed_out.is_none() && self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming.size_hint()
    }
}
