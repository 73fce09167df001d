//! `TestClient`: calls the app in-process (no socket), keeps cookies,
//! follows redirects when asked, sends forms, JSON and multipart bodies,
//! handles the CSRF token when asked, and shows which template rendered a
//! page and with what context.

use std::collections::BTreeMap;
use std::sync::Mutex;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::app::App;
use crate::body::Body;
use crate::error::Error;
use crate::error_page::RenderedError;
use crate::extract::Request;
use crate::service::AppService;
use crate::settings::{Secret, Settings};
use crate::templates::RenderedTemplate;

/// A client for tests, like Django's test client and Flask's `test_client`.
///
/// ```
/// use flagon_web::{App, get};
/// use flagon_web::testing::TestClient;
///
/// # tokio_test();
/// # fn tokio_test() {
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let client = TestClient::new(App::new().route("/", get(|| async { "hi" })));
/// let response = client.get("/").send().await;
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.text(), "hi");
/// # });
/// # }
/// ```
pub struct TestClient {
    service: AppService,
    cookies: Mutex<BTreeMap<String, String>>,
    follow_redirects: bool,
    csrf: bool,
    host: String,
    client_addr: std::net::SocketAddr,
}

impl std::fmt::Debug for TestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestClient")
            .field("cookies", &self.cookies())
            .field("follow_redirects", &self.follow_redirects)
            .finish()
    }
}

/// Settings for tests: the defaults with a random secret key; the
/// environment and `flagon.toml` are not read, so tests do not depend on
/// the machine.
pub fn test_settings() -> Settings {
    use rand::distributions::{Alphanumeric, DistString};
    Settings {
        secret_key: Secret::new(Alphanumeric.sample_string(&mut rand::rngs::OsRng, 50)),
        ..Settings::default()
    }
}

impl TestClient {
    /// A client for `app`, built with [`test_settings`] unless the app was
    /// given settings. Panics if the app cannot be built (a test failure).
    pub fn new(app: App) -> Self {
        let service = match app.build_for_tests() {
            Ok(service) => service,
            Err(err) => panic!("the app could not be built: {err}"),
        };
        TestClient::from_service(service)
    }

    /// A client for an already built app.
    pub fn from_service(service: AppService) -> Self {
        TestClient {
            service,
            cookies: Mutex::new(BTreeMap::new()),
            follow_redirects: false,
            csrf: false,
            host: "localhost".to_owned(),
            client_addr: std::net::SocketAddr::from(([127, 0, 0, 1], 50000)),
        }
    }

    /// Follow redirects (up to 10) for every request.
    pub fn follow_redirects(mut self, follow: bool) -> Self {
        self.follow_redirects = follow;
        self
    }

    /// Send the CSRF token with every unsafe request, as a browser that
    /// loaded the form would (a CSRF cookie is made if there is none).
    ///
    /// With `csrf.use_sessions` the secret lives in the session, out of the
    /// client's reach: take the token from a rendered form instead.
    pub fn with_csrf(mut self) -> Self {
        self.csrf = true;
        self
    }

    /// The `Host` header to send (default `localhost`).
    pub fn host(mut self, host: &str) -> Self {
        self.host = host.to_owned();
        self
    }

    /// The address requests come from, as the server would see it
    /// (default `127.0.0.1:50000`): what `RequestContext::remote_addr` and
    /// [`crate::ClientAddr`] give handlers.
    pub fn client_addr(mut self, addr: std::net::SocketAddr) -> Self {
        self.client_addr = addr;
        self
    }

    /// The built app.
    pub fn service(&self) -> &AppService {
        &self.service
    }

    /// The cookies the client holds.
    pub fn cookies(&self) -> BTreeMap<String, String> {
        self.cookies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The value of cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies().get(name).cloned()
    }

    /// Sets a cookie as if the server had.
    pub fn set_cookie(&self, name: &str, value: &str) {
        self.cookies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_owned(), value.to_owned());
    }

    /// Forgets cookie `name`.
    pub fn remove_cookie(&self, name: &str) {
        self.cookies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
    }

    /// A request with any method.
    pub fn request(&self, method: Method, path: &str) -> TestRequest<'_> {
        TestRequest {
            client: self,
            method,
            path: path.to_owned(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
            follow_redirects: self.follow_redirects,
        }
    }

    /// A `GET` request.
    pub fn get(&self, path: &str) -> TestRequest<'_> {
        self.request(Method::GET, path)
    }

    /// A `POST` request.
    pub fn post(&self, path: &str) -> TestRequest<'_> {
        self.request(Method::POST, path)
    }

    /// A `PUT` request.
    pub fn put(&self, path: &str) -> TestRequest<'_> {
        self.request(Method::PUT, path)
    }

    /// A `PATCH` request.
    pub fn patch(&self, path: &str) -> TestRequest<'_> {
        self.request(Method::PATCH, path)
    }

    /// A `DELETE` request.
    pub fn delete(&self, path: &str) -> TestRequest<'_> {
        self.request(Method::DELETE, path)
    }

    /// A `HEAD` request.
    pub fn head(&self, path: &str) -> TestRequest<'_> {
        self.request(Method::HEAD, path)
    }

    /// An `OPTIONS` request.
    pub fn options(&self, path: &str) -> TestRequest<'_> {
        self.request(Method::OPTIONS, path)
    }

    fn csrf_secret(&self) -> String {
        let name = self.service.settings().csrf.cookie_name.clone();
        let mut cookies = self.cookies.lock().unwrap_or_else(|p| p.into_inner());
        cookies
            .entry(name)
            .or_insert_with(|| {
                use rand::distributions::{Alphanumeric, DistString};
                Alphanumeric.sample_string(&mut rand::rngs::OsRng, crate::csrf::SECRET_LEN)
            })
            .clone()
    }

    fn store_cookies(&self, headers: &HeaderMap) {
        let mut cookies = self.cookies.lock().unwrap_or_else(|p| p.into_inner());
        for value in headers.get_all(header::SET_COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            let Ok(cookie) = cookie::Cookie::parse_encoded(text.to_owned()) else {
                continue;
            };
            let expired = cookie
                .max_age()
                .is_some_and(|age| age.is_zero() || age.is_negative())
                || cookie
                    .expires_datetime()
                    .is_some_and(|when| when <= cookie::time::OffsetDateTime::now_utc());
            if expired {
                cookies.remove(cookie.name());
            } else {
                cookies.insert(cookie.name().to_owned(), cookie.value().to_owned());
            }
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<TestResponse, Error> {
        let mut request = Request::new(Body::from(body));
        *request.method_mut() = method.clone();
        *request.uri_mut() = path
            .parse()
            .map_err(|err| Error::internal(format!("TestClient: invalid path {path:?}: {err}")))?;
        request
            .extensions_mut()
            .insert(crate::server::ClientAddr(self.client_addr));
        let request_headers = request.headers_mut();
        request_headers.insert(header::HOST, HeaderValue::from_str(&self.host)?);
        for (name, value) in headers {
            request_headers.append(name, value.clone());
        }
        if self.csrf
            && crate::csrf::needs_check(&method)
            && !headers.contains_key(self.csrf_header()?)
        {
            let secret = self.csrf_secret();
            request_headers.insert(
                self.csrf_header()?,
                HeaderValue::from_str(&crate::csrf::mask(&secret))?,
            );
        }
        let cookie_header = self
            .cookies()
            .iter()
            .map(|(name, value)| {
                cookie::Cookie::new(name.as_str(), value.as_str())
                    .encoded()
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("; ");
        if !cookie_header.is_empty() && !headers.contains_key(header::COOKIE) {
            request_headers.insert(header::COOKIE, HeaderValue::from_str(&cookie_header)?);
        }
        let response = self.service.handle(request).await;
        self.store_cookies(response.headers());
        let (parts, body) = response.into_parts();
        let bytes = body.to_bytes(usize::MAX).await?;
        Ok(TestResponse {
            status: parts.status,
            headers: parts.headers,
            body: bytes,
            template: parts.extensions.get::<RenderedTemplate>().cloned(),
            error: parts.extensions.get::<RenderedError>().cloned(),
            url: path.to_owned(),
            redirects: Vec::new(),
        })
    }

    fn csrf_header(&self) -> Result<HeaderName, Error> {
        HeaderName::try_from(self.service.settings().csrf.header_name.as_str())
            .map_err(|err| Error::internal(format!("invalid csrf.header_name: {err}")))
    }
}

impl App {
    pub(crate) fn build_for_tests(self) -> Result<AppService, Error> {
        if self.has_settings() {
            self.build()
        } else {
            self.build_with(test_settings())
        }
    }
}

/// A request being prepared by a [`TestClient`].
#[derive(Debug)]
pub struct TestRequest<'a> {
    client: &'a TestClient,
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
    follow_redirects: bool,
}

impl TestRequest<'_> {
    /// Adds a header. Panics on an invalid name or value (a test bug).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let name = HeaderName::try_from(name)
            .unwrap_or_else(|err| panic!("invalid header name {name:?}: {err}"));
        let value = HeaderValue::from_str(value)
            .unwrap_or_else(|err| panic!("invalid header value {value:?}: {err}"));
        self.headers.append(name, value);
        self
    }

    /// Sends `form` url-encoded.
    pub fn form<T: Serialize + ?Sized>(mut self, form: &T) -> Self {
        let body = serde_html_form::to_string(form)
            .unwrap_or_else(|err| panic!("the form does not serialize: {err}"));
        self.body = Bytes::from(body);
        self.content_type("application/x-www-form-urlencoded")
    }

    /// Sends `value` as JSON.
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        let body = serde_json::to_vec(value)
            .unwrap_or_else(|err| panic!("the value does not serialize: {err}"));
        self.body = Bytes::from(body);
        self.content_type("application/json")
    }

    /// Sends a multipart form.
    pub fn multipart(mut self, form: MultipartForm) -> Self {
        let (content_type, body) = form.finish();
        self.body = body;
        self.content_type(&content_type)
    }

    /// Sends raw bytes as the body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Follows redirects (or not) for this request.
    pub fn follow_redirects(mut self, follow: bool) -> Self {
        self.follow_redirects = follow;
        self
    }

    fn content_type(mut self, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.insert(header::CONTENT_TYPE, value);
        }
        self
    }

    /// Sends the request. Panics if the request itself cannot be made (a
    /// test bug); the app's errors are responses, as a browser sees them.
    pub async fn send(self) -> TestResponse {
        let mut method = self.method;
        let mut path = self.path;
        let mut headers = self.headers;
        let mut body = self.body;
        let mut redirects = Vec::new();
        loop {
            let mut response = match self
                .client
                .send(method.clone(), &path, &headers, body.clone())
                .await
            {
                Ok(response) => response,
                Err(err) => panic!("TestClient could not send {method} {path}: {err}"),
            };
            let location = response.header("location").map(str::to_owned);
            let follow =
                self.follow_redirects && response.status.is_redirection() && redirects.len() < 10;
            match location {
                Some(location) if follow => {
                    redirects.push((response.status, location.clone()));
                    if matches!(
                        response.status,
                        StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND | StatusCode::SEE_OTHER
                    ) && method != Method::HEAD
                    {
                        method = Method::GET;
                        body = Bytes::new();
                        headers.remove(header::CONTENT_TYPE);
                    }
                    path = relative_location(&location);
                }
                _ => {
                    response.redirects = redirects;
                    return response;
                }
            }
        }
    }
}

/// The path (and query) of a redirect target.
fn relative_location(location: &str) -> String {
    match location.split_once("://") {
        Some((_, rest)) => match rest.find('/') {
            Some(index) => rest[index..].to_owned(),
            None => "/".to_owned(),
        },
        None => location.to_owned(),
    }
}

/// A multipart body for [`TestRequest::multipart`].
///
/// ```
/// use flagon_web::testing::MultipartForm;
/// let form = MultipartForm::new()
///     .text("title", "Holiday")
///     .file("photo", "beach.jpg", "image/jpeg", vec![0xff, 0xd8]);
/// # let _ = form;
/// ```
#[derive(Debug, Default)]
pub struct MultipartForm {
    parts: Vec<MultipartPart>,
}

/// One field of a [`MultipartForm`]: its name, for files the file name and
/// content type, and the data.
#[derive(Debug)]
struct MultipartPart {
    name: String,
    file: Option<(String, String)>,
    data: Bytes,
}

impl MultipartForm {
    /// An empty form.
    pub fn new() -> Self {
        MultipartForm::default()
    }

    /// Adds a text field.
    pub fn text(mut self, name: &str, value: &str) -> Self {
        self.parts.push(MultipartPart {
            name: name.to_owned(),
            file: None,
            data: Bytes::copy_from_slice(value.as_bytes()),
        });
        self
    }

    /// Adds a file field.
    pub fn file(
        mut self,
        name: &str,
        file_name: &str,
        content_type: &str,
        data: impl Into<Bytes>,
    ) -> Self {
        self.parts.push(MultipartPart {
            name: name.to_owned(),
            file: Some((file_name.to_owned(), content_type.to_owned())),
            data: data.into(),
        });
        self
    }

    fn finish(self) -> (String, Bytes) {
        let boundary = "flagon-test-boundary-7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for MultipartPart { name, file, data } in self.parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            match file {
                Some((file_name, content_type)) => body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
                    )
                    .as_bytes(),
                ),
                None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
            }
            body.extend_from_slice(&data);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        (
            format!("multipart/form-data; boundary={boundary}"),
            Bytes::from(body),
        )
    }
}

/// A response seen by a [`TestClient`].
#[derive(Debug)]
pub struct TestResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    template: Option<RenderedTemplate>,
    error: Option<RenderedError>,
    url: String,
    redirects: Vec<(StatusCode, String)>,
}

impl TestResponse {
    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.body
    }

    /// The body as text (lossy for invalid UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON. Panics with the body if it is not (a test failure).
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!(
                "the response is not the expected JSON ({err}): {}",
                self.text()
            )
        })
    }

    /// The name of the template that rendered the response.
    pub fn template(&self) -> Option<&str> {
        self.template.as_ref().map(|t| t.name.as_str())
    }

    /// The context the template was rendered with, as JSON.
    pub fn context(&self) -> Option<serde_json::Value> {
        self.template
            .as_ref()
            .and_then(|t| serde_json::to_value(&t.context).ok())
    }

    /// The error the response was rendered from, if any.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref().map(|e| &*e.0)
    }

    /// The path of the last request (after redirects).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The redirects followed, as `(status, location)`.
    pub fn redirects(&self) -> &[(StatusCode, String)] {
        &self.redirects
    }
}
