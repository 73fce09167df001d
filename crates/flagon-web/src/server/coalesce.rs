//! Write coalescing: the responses a connection's task writes while it runs
//! are gathered in one buffer and sent with one `write` when the task
//! yields.
//!
//! hyper writes and flushes each HTTP/1 response as soon as it is ready, so
//! a client that pipelines sixteen requests costs sixteen system calls.
//! hyper's own `pipeline_flush` setting would gather them, but it lifts the
//! cap on hyper's write buffer (a slow reader of a large body then makes the
//! server hold all of it) and it drops what it holds when the connection
//! closes with request bytes unread (a 413 answer to a client still sending
//! its body is lost). Here the gathering happens beneath hyper, in the
//! connection's IO: at most [`GATHER_LIMIT`] bytes wait, and a shutdown
//! sends what waits before closing.
//!
//! The IO ([`CoalescingIo`]) holds writes back only while [`Coalesced`] is
//! polling the connection, and `Coalesced` sends them before the task
//! yields; an IO used elsewhere (an upgraded connection, after hyper hands
//! it over) writes and flushes as usual.
//!
//! Holding a write back costs a copy, worth it only when more answers
//! follow. When the connection's last read found nothing (so it holds no
//! request it has not answered) and nothing waits, its next write goes
//! straight to the socket instead: that answer is the only one before the
//! task yields. Bytes never overtake one another: a direct write first
//! sends whatever waits. A burst that grew the buffer past
//! [`RETAINED_CAPACITY`] gives the memory back once it is sent.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::stall::StallTimer;

/// The most bytes held back; a write that would pass it sends what waits
/// first, and a write larger than it goes to the socket directly.
pub(crate) const GATHER_LIMIT: usize = 64 * 1024;

/// The most buffer capacity kept once a burst has been sent.
const RETAINED_CAPACITY: usize = 16 * 1024;

/// Wraps the two halves of a connection: the IO to give hyper, and the
/// handle [`Coalesced`] sends the gathered bytes with. Writes to `writer`
/// that make no progress for `write_timeout` fail with `TimedOut`.
pub(crate) fn coalescing<R, W>(
    reader: R,
    writer: W,
    write_timeout: Duration,
) -> (CoalescingIo<R, W>, Outgoing<W>) {
    let shared = Arc::new(Shared {
        deferring: AtomicBool::new(false),
        pending: Mutex::new(Pending {
            writer: TimedWriter {
                writer,
                timeout: write_timeout,
                stall: StallTimer::new(),
            },
            gathered: Vec::new(),
            sent: 0,
            failed: None,
        }),
    });
    (
        CoalescingIo {
            reader,
            drained: false,
            shared: shared.clone(),
        },
        Outgoing { shared },
    )
}

struct Shared<W> {
    /// Whether [`Coalesced`] is polling the connection (and so will send
    /// what is gathered before the task yields).
    deferring: AtomicBool,
    pending: Mutex<Pending<W>>,
}

impl<W> Shared<W> {
    fn lock(&self) -> MutexGuard<'_, Pending<W>> {
        // The state stays consistent at every point a panic could occur.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The socket's writing half, whose writes fail once they have been
/// waiting (the client reads nothing) for `timeout`.
struct TimedWriter<W> {
    writer: W,
    timeout: Duration,
    stall: StallTimer,
}

impl<W: AsyncWrite + Unpin> TimedWriter<W> {
    fn poll<T>(
        &mut self,
        cx: &mut Context<'_>,
        op: impl FnOnce(Pin<&mut W>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if let Poll::Ready(result) = op(Pin::new(&mut self.writer), cx) {
            self.stall.progressed();
            return Poll::Ready(result);
        }
        ready!(self.stall.poll_expired(cx, self.timeout));
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "the client read nothing for {:?} (limits.write_timeout)",
                self.timeout
            ),
        )))
    }
}

struct Pending<W> {
    writer: TimedWriter<W>,
    /// Bytes written by the connection and not yet sent; `sent` of them
    /// have gone out already.
    gathered: Vec<u8>,
    sent: usize,
    /// A failed send, reported to the connection at its next write.
    failed: Option<(io::ErrorKind, String)>,
}

impl<W: AsyncWrite + Unpin> Pending<W> {
    fn waiting(&self) -> usize {
        self.gathered.len() - self.sent
    }

    fn check_failed(&self) -> io::Result<()> {
        match &self.failed {
            Some((kind, message)) => Err(io::Error::new(*kind, message.clone())),
            None => Ok(()),
        }
    }

    /// Sends everything gathered; ready once nothing waits.
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check_failed()?;
        while self.sent < self.gathered.len() {
            let waiting = &self.gathered[self.sent..];
            let result = self
                .writer
                .poll(cx, |writer, cx| writer.poll_write(cx, waiting));
            match ready!(result) {
                Ok(0) => return Poll::Ready(Err(self.fail(io::ErrorKind::WriteZero.into()))),
                Ok(n) => self.sent += n,
                Err(err) => return Poll::Ready(Err(self.fail(err))),
            }
        }
        if self.gathered.capacity() > RETAINED_CAPACITY {
            // A burst grew the buffer: give the memory back rather than
            // hold it for the life of an idle keep-alive connection.
            self.gathered = Vec::new();
        } else {
            self.gathered.clear();
        }
        self.sent = 0;
        Poll::Ready(Ok(()))
    }

    /// Records a failed send (what waits is dropped: the peer is gone).
    fn fail(&mut self, err: io::Error) -> io::Error {
        self.failed = Some((err.kind(), err.to_string()));
        self.gathered = Vec::new();
        self.sent = 0;
        err
    }
}

/// A connection's IO whose writes wait to be sent together while
/// [`Coalesced`] polls the connection.
pub(crate) struct CoalescingIo<R, W> {
    reader: R,
    /// Whether the last read found nothing to read (or the end): the
    /// connection then holds no complete request it has not answered, so
    /// the answer it writes next is the only one before the task yields.
    drained: bool,
    shared: Arc<Shared<W>>,
}

impl<R: AsyncRead + Unpin, W> AsyncRead for CoalescingIo<R, W> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.reader).poll_read(cx, buf);
        match &polled {
            Poll::Pending => self.drained = true,
            Poll::Ready(Ok(())) => self.drained = buf.filled().len() == before,
            Poll::Ready(Err(_)) => {}
        }
        polled
    }
}

impl<R: Unpin, W: AsyncWrite + Unpin> AsyncWrite for CoalescingIo<R, W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let deferring = self.shared.deferring.load(Ordering::Relaxed);
        let mut pending = self.shared.lock();
        pending.check_failed()?;
        let len: usize = bufs.iter().map(|buf| buf.len()).sum();
        // Straight to the socket, without a copy: outside `Coalesced`, a
        // write too large to hold, or a lone answer (nothing waits and no
        // request is left unanswered, so nothing would join it).
        let direct = !deferring || len > GATHER_LIMIT || (self.drained && pending.waiting() == 0);
        if direct || pending.waiting() + len > GATHER_LIMIT {
            // What waits goes first, to keep the order of the bytes.
            ready!(pending.poll_send(cx))?;
            if direct {
                return pending
                    .writer
                    .poll(cx, |writer, cx| writer.poll_write_vectored(cx, bufs));
            }
        }
        for buf in bufs {
            pending.gathered.extend_from_slice(buf);
        }
        Poll::Ready(Ok(len))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut pending = self.shared.lock();
        if self.shared.deferring.load(Ordering::Relaxed) {
            // `Coalesced` sends it all before the task yields; a send that
            // failed already is the connection's to hear of now.
            return Poll::Ready(pending.check_failed());
        }
        ready!(pending.poll_send(cx))?;
        pending.writer.poll(cx, |writer, cx| writer.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut pending = self.shared.lock();
        ready!(pending.poll_send(cx))?;
        pending
            .writer
            .poll(cx, |writer, cx| writer.poll_shutdown(cx))
    }
}

/// The sending side of [`coalescing`], given to [`Coalesced`].
pub(crate) struct Outgoing<W> {
    shared: Arc<Shared<W>>,
}

/// Drives a connection future whose IO is a [`CoalescingIo`]: each time
/// the connection has done what it can, the bytes it wrote go out in one
/// send (or, if the socket is full, as soon as it has room).
pub(crate) struct Coalesced<F: Future, W> {
    connection: Pin<Box<F>>,
    outgoing: Outgoing<W>,
    /// The connection's result, held while its last bytes are still sent.
    output: Option<F::Output>,
}

impl<F: Future, W> Coalesced<F, W> {
    pub(crate) fn new(connection: F, outgoing: Outgoing<W>) -> Self {
        Coalesced {
            connection: Box::pin(connection),
            outgoing,
            output: None,
        }
    }
}

// No field is pinned in place: the connection is boxed.
impl<F: Future, W> Unpin for Coalesced<F, W> {}

impl<F: Future, W: AsyncWrite + Unpin> Future for Coalesced<F, W> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let shared = &this.outgoing.shared;
        if this.output.is_none() {
            shared.deferring.store(true, Ordering::Relaxed);
            let polled = this.connection.as_mut().poll(cx);
            shared.deferring.store(false, Ordering::Relaxed);
            if let Poll::Ready(output) = polled {
                this.output = Some(output);
            }
        }
        let sent = {
            let mut pending = shared.lock();
            let failed_before = pending.failed.is_some();
            pending
                .poll_send(cx)
                .map(|result| result.is_err() && !failed_before)
        };
        match sent {
            // The socket is full: it wakes the task when it has room.
            Poll::Pending => Poll::Pending,
            // Sent, or the peer is gone (the connection hears of it at its
            // next write).
            Poll::Ready(just_failed) => match this.output.take() {
                Some(output) => Poll::Ready(output),
                None => {
                    if just_failed {
                        // Let the connection find out now rather than at
                        // its next request (once: the failure stays
                        // recorded, and waking on every poll would spin).
                        cx.waker().wake_by_ref();
                    }
                    Poll::Pending
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const TEST_WRITE_TIMEOUT: Duration = Duration::from_secs(5);

    /// A writer that counts its writes.
    struct Counting<W> {
        inner: W,
        writes: Arc<AtomicUsize>,
    }

    impl<W: AsyncWrite + Unpin> AsyncWrite for Counting<W> {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let result = Pin::new(&mut self.inner).poll_write(cx, buf);
            if result.is_ready() {
                self.writes.fetch_add(1, Ordering::Relaxed);
            }
            result
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
            if result.is_ready() {
                self.writes.fetch_add(1, Ordering::Relaxed);
            }
            result
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.inner).poll_flush(cx)
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.inner).poll_shutdown(cx)
        }
    }

    /// Serves hyper's HTTP/1 over a coalescing in-memory pipe; returns the
    /// client's end and the count of the server's writes.
    fn serve(body: &'static str, close_after: bool) -> (tokio::io::DuplexStream, Arc<AtomicUsize>) {
        let (client, server) = tokio::io::duplex(1 << 20);
        let (read, write) = tokio::io::split(server);
        let writes = Arc::new(AtomicUsize::new(0));
        let (io, outgoing) = coalescing(
            read,
            Counting {
                inner: write,
                writes: writes.clone(),
            },
            TEST_WRITE_TIMEOUT,
        );
        let service = hyper::service::service_fn(move |_request| async move {
            let mut response = http::Response::new(http_body_util::Full::new(
                bytes::Bytes::from_static(body.as_bytes()),
            ));
            if close_after {
                response
                    .headers_mut()
                    .insert(http::header::CONNECTION, "close".parse().unwrap());
            }
            Ok::<_, std::convert::Infallible>(response)
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .serve_connection(hyper_util::rt::TokioIo::new(io), service);
        tokio::spawn(Coalesced::new(connection, outgoing));
        (client, writes)
    }

    async fn read_responses(client: &mut tokio::io::DuplexStream, count: usize) -> String {
        let mut received = String::new();
        let mut buf = vec![0u8; 64 * 1024];
        while received.matches("HTTP/1.1 200").count() < count || !received.ends_with("hi") {
            let n = client.read(&mut buf).await.unwrap();
            assert!(n > 0, "the connection closed early: {received}");
            received.push_str(std::str::from_utf8(&buf[..n]).unwrap());
        }
        received
    }

    #[tokio::test]
    async fn pipelined_responses_go_out_in_one_write() {
        let (mut client, writes) = serve("hi", false);
        let requests = "GET / HTTP/1.1\r\nhost: x\r\n\r\n".repeat(16);
        client.write_all(requests.as_bytes()).await.unwrap();
        let received = read_responses(&mut client, 16).await;
        assert_eq!(received.matches("HTTP/1.1 200 OK").count(), 16);
        assert_eq!(writes.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn requests_one_at_a_time_are_answered_one_at_a_time() {
        let (mut client, writes) = serve("hi", false);
        for round in 1..=3 {
            client
                .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
                .await
                .unwrap();
            let received = read_responses(&mut client, 1).await;
            assert!(received.starts_with("HTTP/1.1 200 OK"), "{received}");
            assert_eq!(writes.load(Ordering::Relaxed), round);
        }
    }

    #[tokio::test]
    async fn a_closing_connection_sends_what_it_gathered() {
        let (mut client, _writes) = serve("hi", true);
        // A second request waits unread when the first answer closes.
        let requests = "GET / HTTP/1.1\r\nhost: x\r\n\r\n".repeat(2);
        client.write_all(requests.as_bytes()).await.unwrap();
        let mut received = String::new();
        client.read_to_string(&mut received).await.unwrap();
        assert_eq!(received.matches("HTTP/1.1 200 OK").count(), 1);
        assert!(received.ends_with("hi"), "{received}");
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_written_in_full() {
        let big: &'static str = Box::leak("x".repeat(3 * GATHER_LIMIT).into_boxed_str());
        let (mut client, _writes) = serve(big, true);
        client
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut received = String::new();
        client.read_to_string(&mut received).await.unwrap();
        let body = received.split("\r\n\r\n").nth(1).unwrap();
        assert_eq!(body.len(), big.len());
    }

    /// A writer whose peer is gone.
    struct Broken;

    impl AsyncWrite for Broken {
        fn poll_write(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            _buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()))
        }

        fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    struct CountingWaker(AtomicUsize);

    impl std::task::Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }

        fn wake_by_ref(self: &Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn a_failed_send_wakes_the_connection_once() {
        let (mut io, outgoing) = coalescing(tokio::io::empty(), Broken, TEST_WRITE_TIMEOUT);
        // A connection that writes a response, then waits (for a slow
        // handler, say) without touching its IO again.
        let mut wrote = false;
        let connection = std::future::poll_fn(move |cx| {
            if !wrote {
                wrote = true;
                let written = Pin::new(&mut io).poll_write(cx, b"HTTP/1.1 200 OK\r\n\r\n");
                assert!(matches!(written, Poll::Ready(Ok(_))), "gathered, not sent");
            }
            Poll::<()>::Pending
        });
        let mut driver = Coalesced::new(connection, outgoing);
        let wakes = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = std::task::Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        for _ in 0..3 {
            assert!(Pin::new(&mut driver).poll(&mut cx).is_pending());
        }
        assert_eq!(wakes.0.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn without_the_driver_writes_go_straight_out() {
        let (mut client, server) = tokio::io::duplex(1024);
        let (read, write) = tokio::io::split(server);
        let (mut io, _outgoing) = coalescing(read, write, TEST_WRITE_TIMEOUT);
        io.write_all(b"upgraded").await.unwrap();
        io.flush().await.unwrap();
        let mut buf = [0u8; 8];
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"upgraded");
    }

    /// A connection future made of a closure, for driving the IO by hand.
    fn connection(
        mut poll: impl FnMut(&mut Context<'_>) -> Poll<()> + Unpin,
    ) -> impl Future<Output = ()> + Unpin {
        std::future::poll_fn(move |cx| poll(cx))
    }

    #[tokio::test]
    async fn a_lone_write_goes_straight_out_without_a_copy() {
        // A client that sent nothing yet: reading finds nothing.
        let (_client, server) = tokio::io::duplex(1024);
        let (read, write) = tokio::io::split(server);
        let writes = Arc::new(AtomicUsize::new(0));
        let (mut io, outgoing) = coalescing(
            read,
            Counting {
                inner: write,
                writes: writes.clone(),
            },
            TEST_WRITE_TIMEOUT,
        );
        let shared = io.shared.clone();
        let seen_writes = writes.clone();
        let mut done = false;
        let driver = Coalesced::new(
            connection(move |cx| {
                if done {
                    return Poll::Ready(());
                }
                let mut buf = [0u8; 64];
                let mut buf = ReadBuf::new(&mut buf);
                assert!(Pin::new(&mut io).poll_read(cx, &mut buf).is_pending());
                let written = Pin::new(&mut io).poll_write(cx, b"HTTP/1.1 200 OK\r\n\r\n");
                assert!(matches!(written, Poll::Ready(Ok(19))), "{written:?}");
                // Written during the call, not gathered for later.
                assert_eq!(seen_writes.load(Ordering::Relaxed), 1);
                done = true;
                Poll::Ready(())
            }),
            outgoing,
        );
        driver.await;
        assert_eq!(writes.load(Ordering::Relaxed), 1);
        assert_eq!(
            shared.lock().gathered.capacity(),
            0,
            "the bytes were copied"
        );
    }

    #[tokio::test]
    async fn the_buffer_shrinks_after_a_burst() {
        let (mut client, server) = tokio::io::duplex(1 << 20);
        let (read, write) = tokio::io::split(server);
        let (mut io, outgoing) = coalescing(read, write, TEST_WRITE_TIMEOUT);
        let shared = io.shared.clone();
        let gathered = shared.clone();
        client.write_all(b"requests").await.unwrap();
        let mut wrote = false;
        let driver = Coalesced::new(
            connection(move |cx| {
                if wrote {
                    return Poll::Ready(());
                }
                // Requests arrived: what is written next is gathered.
                let mut buf = [0u8; 64];
                let mut buf = ReadBuf::new(&mut buf);
                assert!(Pin::new(&mut io).poll_read(cx, &mut buf).is_ready());
                for _ in 0..40 {
                    let written = Pin::new(&mut io).poll_write(cx, &[b'x'; 1024]);
                    assert!(matches!(written, Poll::Ready(Ok(1024))), "{written:?}");
                }
                assert!(gathered.lock().gathered.capacity() >= 40 * 1024);
                wrote = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }),
            outgoing,
        );
        driver.await;
        let mut received = vec![0u8; 40 * 1024];
        client.read_exact(&mut received).await.unwrap();
        assert!(received.iter().all(|&b| b == b'x'));
        let capacity = shared.lock().gathered.capacity();
        assert!(capacity <= RETAINED_CAPACITY, "{capacity} bytes kept");
    }

    #[test]
    fn a_failed_send_surfaces_from_flush() {
        let (mut io, outgoing) = coalescing(tokio::io::empty(), Broken, TEST_WRITE_TIMEOUT);
        let mut step = 0;
        let flushed = Arc::new(Mutex::new(None));
        let seen = flushed.clone();
        let mut driver = Coalesced::new(
            connection(move |cx| {
                step += 1;
                if step == 1 {
                    let written = Pin::new(&mut io).poll_write(cx, b"HTTP/1.1 200 OK\r\n\r\n");
                    assert!(matches!(written, Poll::Ready(Ok(_))), "gathered, not sent");
                    return Poll::Pending;
                }
                // Woken by the failed send.
                if let Poll::Ready(result) = Pin::new(&mut io).poll_flush(cx) {
                    *seen.lock().unwrap() = Some(result.map_err(|err| err.kind()));
                }
                Poll::Ready(())
            }),
            outgoing,
        );
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(Pin::new(&mut driver).poll(&mut cx).is_pending());
        assert!(Pin::new(&mut driver).poll(&mut cx).is_ready());
        assert_eq!(
            *flushed.lock().unwrap(),
            Some(Err(io::ErrorKind::BrokenPipe))
        );
    }

    /// A writer that takes at most `most` bytes a call and, every other
    /// call, none: it reports itself full (and wakes the task at once, as
    /// a socket that drains would).
    struct Stingy<W> {
        inner: W,
        most: usize,
        calls: usize,
    }

    impl<W: AsyncWrite + Unpin> AsyncWrite for Stingy<W> {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.calls += 1;
            if self.calls % 2 == 0 {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let most = self.most.min(buf.len());
            Pin::new(&mut self.inner).poll_write(cx, &buf[..most])
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.inner).poll_flush(cx)
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.inner).poll_shutdown(cx)
        }
    }

    /// The body `/big` answers with: over the gathering limit.
    fn big_body() -> String {
        "0123456789abcdef".repeat(GATHER_LIMIT / 8)
    }

    /// Serves hyper's HTTP/1, answering each request with its path (or
    /// [`big_body`] for `/big`), over an in-memory pipe of `capacity` bytes
    /// whose server side writes at most `most` bytes a call.
    fn serve_paths(capacity: usize, most: usize) -> tokio::io::DuplexStream {
        let (client, server) = tokio::io::duplex(capacity);
        let (read, write) = tokio::io::split(server);
        let writer = Stingy {
            inner: write,
            most,
            calls: 0,
        };
        let (io, outgoing) = coalescing(read, writer, TEST_WRITE_TIMEOUT);
        let service = hyper::service::service_fn(|request: http::Request<_>| async move {
            let body = match request.uri().path() {
                "/big" => big_body(),
                path => path.to_owned(),
            };
            Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::new(
                bytes::Bytes::from(body),
            )))
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .serve_connection(hyper_util::rt::TokioIo::new(io), service);
        tokio::spawn(Coalesced::new(connection, outgoing));
        client
    }

    /// Reads `count` responses with a `content-length`; returns their bodies.
    async fn read_bodies(client: &mut (impl AsyncRead + Unpin), count: usize) -> Vec<String> {
        let mut received = Vec::new();
        let mut bodies = Vec::new();
        let mut chunk = vec![0u8; 4096];
        while bodies.len() < count {
            let text = String::from_utf8_lossy(&received).into_owned();
            if let Some(head_end) = text.find("\r\n\r\n") {
                let head = &text[..head_end];
                assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
                let length: usize = head
                    .lines()
                    .find_map(|line| line.strip_prefix("content-length: "))
                    .expect("a content-length")
                    .parse()
                    .unwrap();
                if received.len() >= head_end + 4 + length {
                    let body = received[head_end + 4..head_end + 4 + length].to_vec();
                    bodies.push(String::from_utf8(body).unwrap());
                    received.drain(..head_end + 4 + length);
                    continue;
                }
            }
            let n = client.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the connection closed early");
            received.extend_from_slice(&chunk[..n]);
        }
        bodies
    }

    #[tokio::test]
    async fn partial_writes_to_a_full_pipe_keep_the_bytes_in_order() {
        for (capacity, most) in [(64, 5), (1000, 333), (1 << 20, 4096)] {
            let client = serve_paths(capacity, most);
            let (mut read, mut write) = tokio::io::split(client);
            let paths = ["/0", "/1", "/big", "/2", "/3", "/big", "/4"];
            let requests: String = paths
                .iter()
                .map(|path| format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n"))
                .collect();
            // The requests go out while the answers come back: the pipe
            // holds only `capacity` bytes each way.
            let sender = tokio::spawn(async move {
                write.write_all(requests.as_bytes()).await.unwrap();
                write
            });
            let bodies = tokio::time::timeout(
                std::time::Duration::from_secs(30),
                read_bodies(&mut read, paths.len()),
            )
            .await
            .expect("all the answers within 30 s");
            let expected: Vec<String> = paths
                .iter()
                .map(|path| match *path {
                    "/big" => big_body(),
                    path => path.to_owned(),
                })
                .collect();
            assert!(
                bodies == expected,
                "answers out of order or torn (capacity {capacity}, {most} bytes a write)"
            );
            drop(sender.await.unwrap());
        }
    }

    /// A socket whose peer never reads: every write waits forever.
    struct Stuck;

    impl AsyncWrite for Stuck {
        fn poll_write(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            _buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Pending
        }

        fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Pending
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_without_progress_times_out() {
        let (mut io, outgoing) = coalescing(tokio::io::empty(), Stuck, TEST_WRITE_TIMEOUT);
        let big = vec![b'x'; 2 * GATHER_LIMIT];
        let started = tokio::time::Instant::now();
        let driver = Coalesced::new(Box::pin(async move { io.write_all(&big).await }), outgoing);
        let result = tokio::time::timeout(Duration::from_secs(60), driver)
            .await
            .expect("the write gives up within the write timeout");
        assert_eq!(result.unwrap_err().kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), TEST_WRITE_TIMEOUT);
    }

    #[tokio::test(start_paused = true)]
    async fn the_last_send_of_a_closing_connection_times_out() {
        let (mut io, outgoing) = coalescing(&b"GET / HTTP/1.1"[..], Stuck, TEST_WRITE_TIMEOUT);
        let shared = io.shared.clone();
        // The connection reads a request, writes its answer (held back)
        // and ends at once.
        let driver = Coalesced::new(
            connection(move |cx| {
                let mut buf = [0u8; 8];
                let mut buf = ReadBuf::new(&mut buf);
                assert!(Pin::new(&mut io).poll_read(cx, &mut buf).is_ready());
                let written = Pin::new(&mut io).poll_write(cx, b"HTTP/1.1 200 OK\r\n\r\n");
                assert!(matches!(written, Poll::Ready(Ok(_))), "{written:?}");
                Poll::Ready(())
            }),
            outgoing,
        );
        let started = tokio::time::Instant::now();
        tokio::time::timeout(Duration::from_secs(60), driver)
            .await
            .expect("the driver gives up on the last send within the write timeout");
        assert_eq!(started.elapsed(), TEST_WRITE_TIMEOUT);
        let failed = shared.lock().failed.clone();
        assert_eq!(failed.map(|(kind, _)| kind), Some(io::ErrorKind::TimedOut));
    }
}
