//! The cap on connections served at once (`limits.max_connections`): a
//! connection over it is answered 503 and closed at once, rather than left
//! in the listen backlog to time out.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// The answer to a connection over the cap.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
    Connection: close\r\n\
    Content-Type: text/plain; charset=utf-8\r\n\
    Content-Length: 45\r\n\
    Retry-After: 1\r\n\
    \r\n\
    503 The server has too many connections open.";

/// Most refusals under way at once; past it (a flood), connections are
/// closed without an answer.
const MOST_REFUSALS: usize = 64;

/// How long a refusal may take, the client's reading of it included.
const REFUSAL_TIME: Duration = Duration::from_secs(2);

/// The least time between two warnings about refused connections.
const WARNING_INTERVAL: Duration = Duration::from_secs(10);

pub(crate) struct ConnectionCap {
    max: usize,
    open: Arc<Semaphore>,
    refusing: Arc<Semaphore>,
    /// Connections refused since the last warning.
    refused: u64,
    last_warning: Option<Instant>,
}

impl ConnectionCap {
    pub(crate) fn new(max: usize) -> Self {
        ConnectionCap {
            max,
            open: Arc::new(Semaphore::new(max.min(Semaphore::MAX_PERMITS))),
            refusing: Arc::new(Semaphore::new(MOST_REFUSALS)),
            refused: 0,
            last_warning: None,
        }
    }

    /// A place for a new connection, to hold while it is served; `None`
    /// when `max` connections are open.
    pub(crate) fn admit(&self) -> Option<OwnedSemaphorePermit> {
        self.open.clone().try_acquire_owned().ok()
    }

    /// Answers `stream` 503 and closes it, in a task added to `tasks`;
    /// logs a warning (at most one every [`WARNING_INTERVAL`]).
    pub(crate) fn refuse(&mut self, stream: TcpStream, peer: SocketAddr, tasks: &mut JoinSet<()>) {
        self.refused += 1;
        let now = Instant::now();
        if self
            .last_warning
            .is_none_or(|last| now.duration_since(last) >= WARNING_INTERVAL)
        {
            tracing::warn!(
                target: "flagon::server",
                "refused {} connection(s) with 503 (the last from {peer}): {} are open, the most limits.max_connections allows",
                self.refused,
                self.max
            );
            self.refused = 0;
            self.last_warning = Some(now);
        }
        if let Ok(permit) = self.refusing.clone().try_acquire_owned() {
            tasks.spawn(async move {
                let _ = tokio::time::timeout(REFUSAL_TIME, refuse(stream)).await;
                drop(permit);
            });
        }
    }
}

/// Writes [`REFUSAL`], then reads what the client sends until it closes:
/// closing with its request unread would reset the connection, and the
/// client could lose the answer.
async fn refuse(mut stream: TcpStream) -> std::io::Result<()> {
    stream.write_all(REFUSAL).await?;
    stream.shutdown().await?;
    let mut sink = [0u8; 1024];
    while stream.read(&mut sink).await? > 0 {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_is_well_formed() {
        let text = std::str::from_utf8(REFUSAL).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(length, body.len());
    }
}
