//! Sending a file as the response, Flask's `send_file`.

use std::path::Path;

use http::header::{self, HeaderValue};
use tokio_util::io::ReaderStream;

use crate::body::Body;
use crate::error::Error;
use crate::response::{IntoResponse, Response};

/// A file streamed as the response, with its content type guessed from the
/// extension and its length announced.
///
/// To serve a folder of assets use the static files instead, which also
/// answer conditional and range requests.
///
/// ```no_run
/// use flagon_web::File;
///
/// async fn report() -> flagon_web::Result<File> {
///     Ok(File::open("reports/2024.pdf").await?.attachment("report-2024.pdf"))
/// }
/// ```
#[derive(Debug)]
pub struct File {
    file: tokio::fs::File,
    length: u64,
    content_type: String,
    disposition: Option<String>,
}

impl File {
    /// Opens `name` inside `folder`, Flask's `send_from_directory`: `name`
    /// usually comes from the URL, so anything that would leave the folder
    /// (`..`, an absolute path, a drive prefix) is a 404, like a missing file.
    ///
    /// ```no_run
    /// use flagon_web::{File, Path};
    ///
    /// async fn download(Path(name): Path<String>) -> flagon_web::Result<File> {
    ///     File::open_in("uploads", &name).await
    /// }
    /// ```
    pub async fn open_in(folder: impl AsRef<Path>, name: &str) -> Result<File, Error> {
        let relative = Path::new(name);
        let inside = relative.components().all(|part| {
            matches!(
                part,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        });
        if name.is_empty() || name.contains('\0') || !inside {
            return Err(Error::not_found());
        }
        File::open(folder.as_ref().join(relative)).await
    }

    /// Opens `path`. A missing file is a 404; another failure a 500.
    pub async fn open(path: impl AsRef<Path>) -> Result<File, Error> {
        let path = path.as_ref();
        let not_readable = |err: std::io::Error| {
            if err.kind() == std::io::ErrorKind::NotFound {
                Error::not_found()
            } else {
                Error::internal(format!("cannot read {}: {err}", path.display()))
            }
        };
        let file = tokio::fs::File::open(path).await.map_err(not_readable)?;
        let metadata = file.metadata().await.map_err(not_readable)?;
        if !metadata.is_file() {
            return Err(Error::not_found());
        }
        let content_type = mime_guess::from_path(path)
            .first_raw()
            .unwrap_or("application/octet-stream")
            .to_owned();
        Ok(File {
            file,
            length: metadata.len(),
            content_type,
            disposition: None,
        })
    }

    /// Replaces the guessed content type.
    pub fn content_type(mut self, content_type: &str) -> Self {
        content_type.clone_into(&mut self.content_type);
        self
    }

    /// Asks the browser to download the file as `file_name`.
    pub fn attachment(mut self, file_name: &str) -> Self {
        let ascii: String = file_name
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() && c != '"' && c != '\\' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let encoded =
            percent_encoding::utf8_percent_encode(file_name, percent_encoding::NON_ALPHANUMERIC);
        self.disposition = Some(format!(
            "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
        ));
        self
    }
}

impl IntoResponse for File {
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::from_stream(ReaderStream::new(self.file)));
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&self.content_type) {
            headers.insert(header::CONTENT_TYPE, value);
        }
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(self.length));
        if let Some(disposition) = self
            .disposition
            .and_then(|d| HeaderValue::from_str(&d).ok())
        {
            headers.insert(header::CONTENT_DISPOSITION, disposition);
        }
        response
    }
}
