//! Static files, served by tower-http's `ServeDir`: ETag, Last-Modified,
//! conditional requests, ranges, precompressed variants, content types, and
//! no escaping the folder.

use std::path::Path;

use http::StatusCode;
use tower::ServiceExt;
use tower_http::services::ServeDir;

use crate::error::Error;
use crate::extract::path::PathParams;
use crate::extract::Request;
use crate::response::{IntoResponse, Response};
use crate::routing::url::encode_segment;
use crate::routing::{get, MethodRouter};

/// The `GET` route serving `folder` under `<prefix>/<path:filename>`, named
/// `static` (inside a blueprint: `<blueprint>.static`).
pub(crate) fn static_route(folder: &Path) -> MethodRouter {
    let serve = ServeDir::new(folder)
        .append_index_html_on_directories(false)
        .precompressed_br()
        .precompressed_gzip();
    get(move |request: Request| serve_file(serve.clone(), request)).name("static")
}

async fn serve_file(serve: ServeDir, request: Request) -> Response {
    let filename = request
        .extensions()
        .get::<PathParams>()
        .and_then(|params| params.get("filename"))
        .unwrap_or_default()
        .to_owned();
    // Names no file system holds are a plain 404, not an I/O error.
    let impossible = filename.contains('\0')
        || filename.len() > MAX_PATH_LEN
        || filename
            .split('/')
            .any(|segment| segment.len() > MAX_NAME_LEN);
    if impossible {
        return Error::not_found().into_response();
    }
    let encoded: Vec<String> = filename.split('/').map(encode_segment).collect();
    let (mut parts, body) = request.into_parts();
    parts.uri = match format!("/{}", encoded.join("/")).parse() {
        Ok(uri) => uri,
        Err(_) => return Error::not_found().into_response(),
    };
    let response = match serve.oneshot(Request::from_parts(parts, body)).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    if response.status() == StatusCode::NOT_FOUND {
        return Error::not_found().into_response();
    }
    if response.status().is_server_error() {
        return Error::internal(format!(
            "the static file {filename:?} could not be read ({})",
            response.status()
        ))
        .into_response();
    }
    response.into_response()
}

/// Longest file name most file systems allow, in bytes.
const MAX_NAME_LEN: usize = 255;
/// Longest path Linux allows, in bytes.
const MAX_PATH_LEN: usize = 4096;
