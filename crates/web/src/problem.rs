//! Errors as `application/problem+json` (RFC 9457) with a stable machine-readable `code`
//! and, where one input is at fault, the `field` that holds it. Every error response of the
//! JSON API goes through [`Problem`], including those raised by middleware.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kernel::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error to report to the client. Holds only what varies; the RFC 9457 `type` and
/// `title` are derived from `code` and `status` when serialised. A problem told as a
/// [`Message`] can be shown on a page in the reader's language; one with `issues` names every
/// field at fault, so a form can mark each of them.
#[derive(Debug, Clone)]
pub struct Problem {
    status: StatusCode,
    code: &'static str,
    detail: String,
    field: Option<String>,
    // Boxed: a `Problem` travels in every handler's `Err`, which should stay small.
    message: Option<Box<Message>>,
    issues: Vec<FieldMessage>,
}

/// One input at fault and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldMessage {
    pub field: String,
    pub message: Message,
}

/// One entry of a problem's `errors` list as sent on the wire.
#[derive(Serialize, ToSchema)]
struct FieldDocument<'a> {
    field: &'a str,
    detail: String,
}

/// The problem document as sent on the wire.
#[derive(Serialize, ToSchema)]
#[schema(as = Problem)]
struct ProblemDocument<'a> {
    /// `/problems/{code}`: a stable identifier of the kind of problem.
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    /// Stable machine-readable code, e.g. `unknown-province`.
    code: &'a str,
    /// The input at fault: a JSON path (`codes[1]`), a query or path parameter name.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    /// Every input at fault, when there are several.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<FieldDocument<'a>>,
}

impl utoipa::PartialSchema for Problem {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        ProblemDocument::schema()
    }
}

impl ToSchema for Problem {
    fn name() -> std::borrow::Cow<'static, str> {
        "Problem".into()
    }
}

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            field: None,
            message: None,
            issues: Vec::new(),
        }
    }

    /// A problem told as a catalogue message: the API sends its English text, a page shows
    /// it in the reader's language.
    pub fn told(status: StatusCode, code: &'static str, message: Message) -> Self {
        Self {
            detail: message.english(),
            message: Some(Box::new(message)),
            ..Self::new(status, code, String::new())
        }
    }

    /// Names every input at fault; the first becomes the problem's `field`.
    pub fn issues(mut self, issues: impl IntoIterator<Item = FieldMessage>) -> Self {
        self.issues = issues.into_iter().collect();
        if self.field.is_none() {
            self.field = self.issues.first().map(|issue| issue.field.clone());
        }
        self
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// The same problem reported with another status (a lookup that is a 404 on its own
    /// path is a 422 when it is one value inside a request body).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// The same problem told in other words (the reader's language, for a page's script).
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    pub fn not_found(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, detail)
    }

    /// For failures the caller cannot fix. The cause goes to the log (with the request id
    /// the response also carries), never into the response.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server could not complete the request; quote the x-request-id header when reporting it",
        )
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The human-readable explanation, for pages that show it in place.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// What to tell a person, when the problem was told as a message.
    pub fn message(&self) -> Option<&Message> {
        self.message.as_deref()
    }

    pub fn field_name(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// Every input at fault with what is wrong with it: the listed issues, or the one field
    /// the problem names when it was told as a message.
    pub fn field_messages(&self) -> Vec<FieldMessage> {
        if !self.issues.is_empty() {
            return self.issues.clone();
        }
        match (&self.field, &self.message) {
            (Some(field), Some(message)) => vec![FieldMessage {
                field: field.clone(),
                message: (**message).clone(),
            }],
            _ => Vec::new(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let document = ProblemDocument {
            kind: format!("/problems/{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error"),
            status: self.status.as_u16(),
            detail: &self.detail,
            code: self.code,
            field: self.field.as_deref(),
            errors: self
                .issues
                .iter()
                .map(|issue| FieldDocument {
                    field: &issue.field,
                    detail: issue.message.english(),
                })
                .collect(),
        };
        let body = serde_json::to_vec(&document).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        // For the page layer, which shows the problem to a person instead of the JSON.
        response.extensions_mut().insert(self);
        response
    }
}

/// A JSON request body. Unlike `axum::Json`, every rejection is a [`Problem`], and a body
/// that does not fit the expected shape names the JSON path of the value at fault.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime.eq_ignore_ascii_case("application/json") || mime.ends_with("+json")
            });
        if !is_json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "the request body must be JSON, sent with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    too_large()
                } else {
                    Problem::new(rejection.status(), "unreadable-body", rejection.body_text())
                }
            })?;
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner();
            if inner.is_data() {
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid-field",
                    format!("{path}: {inner}"),
                )
                .field(path)
            } else {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "malformed-json",
                    format!("the body is not valid JSON: {inner}"),
                )
            }
        })?;
        deserializer.end().map_err(|e| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "malformed-json",
                format!("the body is not valid JSON: {e}"),
            )
        })?;
        Ok(Self(value))
    }
}

fn too_large() -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body-too-large",
        "the request body is larger than this server accepts",
    )
}

/// Query parameters whose rejection is a [`Problem`] naming the parameter.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(Self)
            .map_err(|error| {
                let field = error.path().to_string();
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "invalid-query",
                    format!("{field}: {}", error.into_inner()),
                )
                .field(field)
            })
    }
}

/// Turns error responses that carry no body of their own (405 from routing, 408 from the
/// timeout layer, 413 from the body limit, ...) into problem details, so API clients see
/// one error format whatever produced the error. HTML error pages are left alone.
pub async fn normalize_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    // Bodies a handler wrote on purpose stay: problems, pages, and JSON errors whose shape a
    // protocol fixes (OAuth 2.0, RFC 6749 §5.2; X-Road).
    let has_own_body = response.headers().get(CONTENT_TYPE).is_some_and(|v| {
        v.to_str().is_ok_and(|v| {
            v.starts_with(PROBLEM_JSON)
                || v.starts_with("text/html")
                || v.starts_with("application/json")
        })
    });
    if has_own_body {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let problem = match status {
        StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        StatusCode::METHOD_NOT_ALLOWED => Problem::new(
            status,
            "method-not-allowed",
            "this method is not allowed on this path",
        ),
        StatusCode::REQUEST_TIMEOUT => Problem::new(
            status,
            "timeout",
            "the request took longer than the server allows",
        ),
        StatusCode::NOT_FOUND => Problem::new(status, "not-found", "nothing exists at this path"),
        other => Problem::new(
            other,
            "http-error",
            other.canonical_reason().unwrap_or("error"),
        ),
    };
    parts.extensions.insert(problem.clone());
    let rebuilt = problem.into_response();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    Response::from_parts(parts, rebuilt.into_body())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::post;
    use http_body_util::BodyExt;
    use serde::Deserialize;
    use tower::ServiceExt;

    #[derive(Deserialize)]
    struct Order {
        items: Vec<Item>,
    }

    #[derive(Deserialize)]
    struct Item {
        quantity: u32,
    }

    async fn problem_of(
        body: &'static str,
        content_type: &str,
    ) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
        let app = Router::new().route(
            "/",
            post(|ApiJson(order): ApiJson<Order>| async move {
                order
                    .items
                    .iter()
                    .map(|i| i.quantity)
                    .sum::<u32>()
                    .to_string()
            }),
        );
        let request = Request::post("/")
            .header(CONTENT_TYPE, content_type)
            .body(Body::from(body))?;
        let response = app.oneshot(request).await?;
        assert_eq!(
            response.headers().get(CONTENT_TYPE).map(|v| v.as_bytes()),
            Some(PROBLEM_JSON.as_bytes())
        );
        Ok(serde_json::from_slice(
            &response.into_body().collect().await?.to_bytes(),
        )?)
    }

    #[tokio::test]
    async fn a_wrong_value_is_named_by_its_json_path() -> Result<(), Box<dyn std::error::Error>> {
        let problem = problem_of(
            r#"{"items":[{"quantity":1},{"quantity":-2}]}"#,
            "application/json",
        )
        .await?;
        assert_eq!(problem["code"], "invalid-field");
        assert_eq!(problem["field"], "items[1].quantity");
        assert_eq!(problem["status"], 422);
        Ok(())
    }

    #[tokio::test]
    async fn broken_json_and_wrong_media_type_are_told_apart()
    -> Result<(), Box<dyn std::error::Error>> {
        assert_eq!(
            problem_of(r#"{"items": ["#, "application/json").await?["code"],
            "malformed-json"
        );
        assert_eq!(
            problem_of(r#"{"items": []} trailing"#, "application/json").await?["code"],
            "malformed-json"
        );
        assert_eq!(
            problem_of(r#"{"items": []}"#, "text/plain").await?["code"],
            "unsupported-media-type"
        );
        Ok(())
    }
}
