//! The body type shared by requests and responses.

use std::pin::Pin;
use std::task::{Context, Poll};

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
    Incoming(hyper::body::Incoming),
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

    pub(crate) fn from_incoming(incoming: hyper::body::Incoming) -> Self {
        Body(Inner::Incoming(incoming))
    }

    /// Reads the whole body into memory, refusing more than `limit` bytes.
    ///
    /// A body over the limit is an [`Error`] with status 413; a connection
    /// that fails while sending is a 400.
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

/// The error a failed body read answers with: 413 for a body over a limit
/// (this one, or a `RequestBodyLimitLayer`'s), 408 for a body that stopped
/// arriving (a `RequestBodyTimeoutLayer`'s timeout), 400 otherwise.
pub(crate) fn read_error(err: BoxError) -> Error {
    if err.is::<http_body_util::LengthLimitError>() {
        return Error::new(
            http::StatusCode::PAYLOAD_TOO_LARGE,
            "The request body is larger than the limit.",
        )
        .with_header(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        )
        .with_source(err);
    }
    if err.is::<tower_http::timeout::TimeoutError>() {
        return Error::new(
            http::StatusCode::REQUEST_TIMEOUT,
            "The request body did not arrive in time.",
        )
        .with_header(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        )
        .with_source(err);
    }
    Error::bad_request(format!("the request body could not be read: {err}"))
}

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
            Inner::Incoming(incoming) => Pin::new(incoming)
                .poll_frame(cx)
                .map_err(|err| Box::new(err) as BoxError),
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
}
