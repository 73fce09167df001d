//! `Multipart`: streamed `multipart/form-data` bodies (file uploads).

use bytes::Bytes;
use http_body_util::BodyDataStream;

use super::{FromRequest, Request};
use crate::error::Error;

/// A `multipart/form-data` body, read field by field as it arrives.
///
/// The whole body may not exceed the app's `limits.max_upload_size`
/// setting; going over is a 413 and reading stops there.
///
/// ```
/// use flagon_web::Multipart;
///
/// async fn upload(mut form: Multipart) -> flagon_web::Result<String> {
///     let mut report = String::new();
///     while let Some(field) = form.next_field().await? {
///         let name = field.name().unwrap_or("?").to_owned();
///         let size = field.bytes().await?.len();
///         report.push_str(&format!("{name}: {size} bytes\n"));
///     }
///     Ok(report)
/// }
/// ```
pub struct Multipart {
    inner: multer::Multipart<'static>,
    limit: usize,
}

impl std::fmt::Debug for Multipart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Multipart")
            .field("limit", &self.limit)
            .finish()
    }
}

/// `None` when the request has no `Content-Type` (no body was sent).
impl crate::extract::OptionalFromRequest for Multipart {
    async fn from_request(request: Request) -> Result<Option<Self>, Error> {
        if !crate::extract::has_content_type(&request) {
            return Ok(None);
        }
        <Multipart as FromRequest>::from_request(request)
            .await
            .map(Some)
    }
}

impl FromRequest for Multipart {
    async fn from_request(request: Request) -> Result<Self, Error> {
        let content_type = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let boundary = multer::parse_boundary(content_type).map_err(|_| {
            Error::new(
                http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "expected a multipart/form-data body with a boundary",
            )
        })?;
        let limit = request
            .extensions()
            .get::<crate::app::RequestContext>()
            .map_or(crate::settings::Limits::default().max_upload_size, |ctx| {
                ctx.app.settings.limits.max_upload_size
            });
        let constraints = multer::Constraints::new()
            .size_limit(multer::SizeLimit::new().whole_stream(limit as u64));
        let stream = BodyDataStream::new(request.into_body());
        Ok(Multipart {
            inner: multer::Multipart::with_constraints(stream, boundary, constraints),
            limit,
        })
    }
}

impl Multipart {
    /// The next field, or `None` after the last one.
    pub async fn next_field(&mut self) -> Result<Option<Field>, Error> {
        let limit = self.limit;
        match self.inner.next_field().await {
            Ok(field) => Ok(field.map(|inner| Field { inner, limit })),
            Err(err) => Err(multipart_error(err, limit)),
        }
    }
}

/// One field of a multipart body: a form value or an uploaded file.
pub struct Field {
    inner: multer::Field<'static>,
    limit: usize,
}

impl std::fmt::Debug for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Field")
            .field("name", &self.name())
            .field("file_name", &self.file_name())
            .finish()
    }
}

impl Field {
    /// The field's name in the form.
    pub fn name(&self) -> Option<&str> {
        self.inner.name()
    }

    /// The uploaded file's name, for file fields. Never use it as a path
    /// without cleaning it: it comes from the client.
    pub fn file_name(&self) -> Option<&str> {
        self.inner.file_name()
    }

    /// The field's content type, if the client sent one.
    pub fn content_type(&self) -> Option<&str> {
        self.inner.content_type().map(|m| m.essence_str())
    }

    /// The next chunk of the field's data, for streaming large uploads.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        let limit = self.limit;
        self.inner
            .chunk()
            .await
            .map_err(|err| multipart_error(err, limit))
    }

    /// The whole field's data.
    pub async fn bytes(self) -> Result<Bytes, Error> {
        let limit = self.limit;
        self.inner
            .bytes()
            .await
            .map_err(|err| multipart_error(err, limit))
    }

    /// The whole field as UTF-8 text.
    pub async fn text(self) -> Result<String, Error> {
        let name = self.name().unwrap_or("?").to_owned();
        let bytes = self.bytes().await?;
        String::from_utf8(bytes.into())
            .map_err(|_| Error::bad_request(format!("multipart field `{name}` is not valid UTF-8")))
    }
}

fn multipart_error(err: multer::Error, limit: usize) -> Error {
    match err {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => {
            Error::payload_too_large(limit)
        }
        other => match crate::body::ReadTimeout::find(&other) {
            Some(timeout) => timeout.to_error(),
            None => Error::bad_request(format!("malformed multipart body: {other}")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::{Body, ReadTimeout};
    use crate::error::BoxError;

    #[tokio::test]
    async fn a_stalled_upload_is_408() {
        let chunks = futures_util::stream::iter(vec![
            Ok::<_, BoxError>(Bytes::from_static(
                b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\nsome",
            )),
            Err(Box::new(ReadTimeout::body(std::time::Duration::from_secs(30))) as BoxError),
        ]);
        let request = http::Request::post("/")
            .header(
                http::header::CONTENT_TYPE,
                "multipart/form-data; boundary=b",
            )
            .body(Body::from_stream(chunks))
            .unwrap();
        let mut form = Multipart::from_request(request).await.unwrap();
        let err = match form.next_field().await {
            Ok(Some(field)) => field.bytes().await.unwrap_err(),
            Ok(None) => panic!("no field"),
            Err(err) => err,
        };
        assert_eq!(err.status(), http::StatusCode::REQUEST_TIMEOUT, "{err}");
    }
}
