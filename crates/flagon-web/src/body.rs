//! The body type shared by requests and responses.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::TryStream;
use http_body::{Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Limited, StreamBody};

use crate::error::{BoxError, Error};

/// A request or response body.
///
/// Small bodies (`Body::from("text")`) are kept as one buffer without boxing;
/// bodies read from a connection stay hyper's own type; anything else
/// (streams, other `http_body::Body` types) is boxed.
///
/// ```
/// use flagon_web::Body;
/// let body = Body::from("Hello");
/// # let _ = body;
/// let empty = Body::empty();
/// # let _ = empty;
/// ```
pub struct Body(Inner);

enum Inner {
    Empty,
    Full(Option<Bytes>),
    /// Boxed: the deadlines make it several times the size of the other
    /// variants, and a request (moved many times on its way) carries it.
    Incoming(Box<crate::server::IncomingBody>),
    Boxed(UnsyncBoxBody<Bytes, BoxError>),
}

impl Body {
    /// An empty body.
    pub const fn empty() -> Self {
        Body(Inner::Empty)
    }

    /// Wraps any [`http_body::Body`] whose data is [`Bytes`] (a `Body` is
    /// returned as it is, not boxed again).
    pub fn new<B>(body: B) -> Self
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let mut slot = Some(body);
        if let Some(same) = (&mut slot as &mut dyn std::any::Any).downcast_mut::<Option<Body>>() {
            if let Some(body) = same.take() {
                return body;
            }
        }
        match slot {
            Some(body) => Body(Inner::Boxed(body.map_err(Into::into).boxed_unsync())),
            None => Body::empty(),
        }
    }

    /// A body streamed from a [`futures_util::Stream`] of byte chunks.
    ///
    /// ```
    /// use flagon_web::Body;
    /// let chunks = futures_util::stream::iter(vec![
    ///     Ok::<_, std::io::Error>("one, "),
    ///     Ok("two"),
    /// ]);
    /// let body = Body::from_stream(chunks);
    /// # let _ = body;
    /// ```
    pub fn from_stream<S>(stream: S) -> Self
    where
        S: TryStream + Send + 'static,
        S::Ok: Into<Bytes>,
        S::Error: Into<BoxError>,
    {
        use futures_util::TryStreamExt;
        let frames = stream
            .map_ok(|chunk| Frame::data(chunk.into()))
            .map_err(Into::into);
        Body(Inner::Boxed(StreamBody::new(frames).boxed_unsync()))
    }

    /// The body of a request the server read: empty when the request has
    /// none (most `GET`s, which then carry no deadlines), else hyper's body
    /// with its deadlines.
    pub(crate) fn from_incoming(incoming: crate::server::IncomingBody) -> Self {
        if http_body::Body::is_end_stream(&incoming) {
            return Body::empty();
        }
        Body(Inner::Incoming(Box::new(incoming)))
    }

    /// Reads the whole body into memory, refusing more than `limit` bytes.
    ///
    /// A body over the limit is an [`Error`] with status 413; a client that
    /// stops sending it ([`ReadTimeout`]) a 408; a connection that fails
    /// while sending is a 400.
    pub async fn to_bytes(self, limit: usize) -> Result<Bytes, Error> {
        if let Inner::Full(bytes) = self.0 {
            let bytes = bytes.unwrap_or_default();
            if bytes.len() > limit {
                return Err(Error::payload_too_large(limit));
            }
            return Ok(bytes);
        }
        match Limited::new(self, limit).collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(err) => Err(read_error(err)),
        }
    }

    /// The body's bytes if it is held in memory, without consuming it.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match &self.0 {
            Inner::Empty => Some(&[]),
            Inner::Full(bytes) => Some(bytes.as_deref().unwrap_or_default()),
            _ => None,
        }
    }
}

/// The error a failed read of a request body answers with: 408 when the
/// client stopped sending it ([`ReadTimeout`], or a
/// `RequestBodyTimeoutLayer`'s timeout), 413 for a body over a limit (the
/// extractor's, or a `RequestBodyLimitLayer`'s), else 400.
pub(crate) fn read_error(err: BoxError) -> Error {
    if let Some(timeout) = ReadTimeout::find(&*err) {
        return timeout.to_error();
    }
    let answer = if err.is::<http_body_util::LengthLimitError>() {
        Some((
            http::StatusCode::PAYLOAD_TOO_LARGE,
            "The request body is larger than the limit.",
        ))
    } else if err.is::<tower_http::timeout::TimeoutError>() {
        Some((
            http::StatusCode::REQUEST_TIMEOUT,
            "The request body did not arrive in time.",
        ))
    } else {
        None
    };
    if let Some((status, message)) = answer {
        return Error::new(status, message)
            .with_header(
                http::header::CONNECTION,
                http::HeaderValue::from_static("close"),
            )
            .with_source(err);
    }
    Error::bad_request(format!("the request body could not be read: {err}"))
}

/// The error a request body read by Flagon's server fails with when the
/// client stops sending it: it sent none of it for the
/// `limits.body_read_timeout` setting, or (for the first request of a
/// connection) the request was not in by `limits.header_read_timeout`.
///
/// The extractors that read the body (`String`, `Bytes`, `Form`, `Json`,
/// `Multipart`) answer it with 408 Request Timeout and close the
/// connection. Code reading a [`Body`] itself finds it in the error:
///
/// ```
/// use flagon_web::body::ReadTimeout;
/// use flagon_web::{Body, Error, StatusCode};
/// use http_body_util::BodyExt;
///
/// async fn count_bytes(mut body: Body) -> Result<usize, Error> {
///     let mut count = 0;
///     while let Some(frame) = body.frame().await {
///         match frame {
///             Ok(frame) => count += frame.data_ref().map_or(0, |data| data.len()),
///             Err(err) if err.is::<ReadTimeout>() => {
///                 return Err(Error::new(StatusCode::REQUEST_TIMEOUT, err.to_string()))
///             }
///             Err(err) => return Err(Error::bad_request(err.to_string())),
///         }
///     }
///     Ok(count)
/// }
/// ```
#[derive(Clone, Debug)]
pub struct ReadTimeout {
    /// The body read timeout that passed; `None` for the first-request
    /// deadline.
    waited: Option<Duration>,
}

impl ReadTimeout {
    /// The client sent nothing for `waited` (`limits.body_read_timeout`).
    pub(crate) fn body(waited: Duration) -> Self {
        ReadTimeout {
            waited: Some(waited),
        }
    }

    /// The connection's first request was not in within
    /// `limits.header_read_timeout`.
    pub(crate) fn first_request() -> Self {
        ReadTimeout { waited: None }
    }

    /// The `ReadTimeout` among `err` and its causes, if there is one.
    pub(crate) fn find<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a ReadTimeout> {
        let mut next = Some(err);
        while let Some(err) = next {
            if let Some(timeout) = err.downcast_ref::<ReadTimeout>() {
                return Some(timeout);
            }
            // An `io::Error`'s `source` skips the error it wraps.
            next = match err
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
            {
                Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
                None => err.source(),
            };
        }
        None
    }

    /// The 408 it answers with; the connection is closed, since the rest
    /// of the body is still on its way.
    pub(crate) fn to_error(&self) -> Error {
        Error::new(
            http::StatusCode::REQUEST_TIMEOUT,
            format!("The request was not received in time: {self}."),
        )
        .with_header(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        )
    }
}

impl std::fmt::Display for ReadTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.waited {
            Some(waited) => write!(
                f,
                "the client sent none of the request body for {waited:?} (limits.body_read_timeout)"
            ),
            None => f.write_str(
                "the client did not send its first request in full within limits.header_read_timeout",
            ),
        }
    }
}

impl std::error::Error for ReadTimeout {}

impl Default for Body {
    fn default() -> Self {
        Body::empty()
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.0 {
            Inner::Empty => "empty",
            Inner::Full(_) => "full",
            Inner::Incoming(_) => "incoming",
            Inner::Boxed(_) => "boxed",
        };
        f.debug_tuple("Body").field(&kind).finish()
    }
}

macro_rules! body_from {
    ($($ty:ty),*) => {$(
        impl From<$ty> for Body {
            fn from(value: $ty) -> Self {
                Body(Inner::Full(Some(Bytes::from(value))))
            }
        }
    )*};
}
body_from!(Bytes, String, &'static str, Vec<u8>, &'static [u8]);

impl From<std::borrow::Cow<'static, str>> for Body {
    fn from(value: std::borrow::Cow<'static, str>) -> Self {
        match value {
            std::borrow::Cow::Borrowed(s) => Body::from(s),
            std::borrow::Cow::Owned(s) => Body::from(s),
        }
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.get_mut().0 {
            Inner::Empty => Poll::Ready(None),
            Inner::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Inner::Incoming(incoming) => Pin::new(incoming).poll_frame(cx),
            Inner::Boxed(boxed) => Pin::new(boxed).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            Inner::Empty => true,
            Inner::Full(bytes) => bytes.is_none(),
            Inner::Incoming(incoming) => incoming.is_end_stream(),
            Inner::Boxed(boxed) => boxed.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            Inner::Empty => SizeHint::with_exact(0),
            Inner::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            Inner::Incoming(incoming) => incoming.size_hint(),
            Inner::Boxed(boxed) => boxed.size_hint(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::IntoResponse;

    #[tokio::test]
    async fn full_body_reads_back() {
        let bytes = Body::from("hello").to_bytes(10).await.unwrap();
        assert_eq!(&bytes[..], b"hello");
    }

    #[tokio::test]
    async fn body_over_limit_is_413() {
        let err = Body::from("hello world").to_bytes(5).await.unwrap_err();
        assert_eq!(err.status(), http::StatusCode::PAYLOAD_TOO_LARGE);
        let stream = futures_util::stream::iter(vec![Ok::<_, std::io::Error>("abc"), Ok("def")]);
        let err = Body::from_stream(stream).to_bytes(4).await.unwrap_err();
        assert_eq!(err.status(), http::StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn a_read_timeout_is_408_however_it_is_wrapped() {
        let timeout = || ReadTimeout::body(Duration::from_millis(300));
        let chunks = futures_util::stream::iter(vec![
            Ok::<_, BoxError>(Bytes::from_static(b"abc")),
            Err(Box::new(timeout()) as BoxError),
        ]);
        let err = Body::from_stream(chunks).to_bytes(100).await.unwrap_err();
        assert_eq!(err.status(), http::StatusCode::REQUEST_TIMEOUT);
        assert!(
            err.message().contains("limits.body_read_timeout"),
            "{}",
            err.message()
        );
        assert_eq!(
            err.into_response().headers()[http::header::CONNECTION],
            "close"
        );

        let in_io = std::io::Error::other(timeout());
        assert!(ReadTimeout::find(&in_io).is_some());
        let in_multer = multer::Error::StreamReadFailed(Box::new(std::io::Error::other(timeout())));
        assert!(ReadTimeout::find(&in_multer).is_some());
        assert!(ReadTimeout::find(&std::io::Error::other("reset")).is_none());

        let chunks =
            futures_util::stream::iter(vec![Err::<Bytes, _>(std::io::Error::other("reset"))]);
        let err = Body::from_stream(chunks).to_bytes(100).await.unwrap_err();
        assert_eq!(err.status(), http::StatusCode::BAD_REQUEST);
    }
}
