//! Errors the gateway itself generates, in the X-Road form (PR-REST §4.6): a JSON body
//! `{"type", "message", "detail"}` and the header `X-Road-Error: <type>`; XML when the client
//! asks for it. `detail` is a fresh id under which the event is logged. Types follow the
//! reference security server: `Server.ClientProxy.*` for faults on the client's side of the
//! exchange, `Server.ServerProxy.*` for the provider's side. Status, as §4.6 has it: 400 for
//! requests that do not follow the protocol or that the gateway cannot take as sent (category
//! 3: malformed identifiers, oversized bodies or fields), 500 for everything else the gateway
//! generates (categories 2 and 4: credentials, limits, rights, the provider's failures). A
//! limit keeps its `Retry-After`.

use axum::http::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

pub const ERROR_HEADER: &str = "x-road-error";

#[derive(Debug, Clone)]
pub struct Fault {
    pub status: StatusCode,
    pub kind: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl Fault {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn missing_client() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "Server.ClientProxy.InvalidClientIdentifier",
            "The client identifier is missing (send X-Road-Client: INSTANCE/CLASS/MEMBER/SUBSYSTEM)",
        )
    }

    pub fn bad_client(reason: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "Server.ClientProxy.InvalidClientIdentifier",
            format!("Invalid X-Road-Client: {reason}"),
        )
    }

    pub fn bad_request(reason: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "Server.ClientProxy.InvalidRequest",
            format!("Invalid request URI: {reason}"),
        )
    }

    /// A header or the path the audit log could not record as sent (PR-REST §4.6 item 3).
    pub fn unauditable(what: &str, reason: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "Server.ClientProxy.InvalidRequest",
            format!("{what} cannot be recorded in the audit log: {reason}"),
        )
    }

    pub fn authentication(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Server.ClientProxy.SslAuthenticationFailed",
            message,
        )
    }

    pub fn unknown_member(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Server.ClientProxy.UnknownMember",
            message,
        )
    }

    pub fn unknown_service(service: &impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Server.ServerProxy.UnknownService",
            format!("Unknown service: SERVICE:{service}"),
        )
    }

    pub fn disabled(service: &impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Server.ServerProxy.ServiceDisabled",
            format!("Service SERVICE:{service} is disabled"),
        )
    }

    pub fn access_denied(service: &impl std::fmt::Display, method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Server.ServerProxy.AccessDenied",
            format!("Request is not allowed: SERVICE:{service} {method} {path}"),
        )
    }

    pub fn too_many(message: impl Into<String>, retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Server.ClientProxy.TooManyRequests",
                message,
            )
        }
    }

    pub fn too_large(limit: u64) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "Server.ClientProxy.IOError",
            format!("Message size exceeds the maximum of {limit} bytes"),
        )
    }

    pub fn network(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Server.ServerProxy.NetworkError",
            message,
        )
    }

    pub fn timeout(service: &impl std::fmt::Display, millis: u64) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Server.ServerProxy.IOError",
            format!("SERVICE:{service} did not answer within {millis} ms"),
        )
    }

    pub fn invalid_provider_request(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "Server.ServerProxy.InvalidRequest",
            message,
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Server.ServerProxy.InternalError",
            message,
        )
    }

    pub fn database(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Server.ServerProxy.DatabaseError",
            message,
        )
    }

    /// The response, in XML when `Accept` names an XML type (as the reference server does).
    pub fn respond(&self, request_headers: &HeaderMap) -> Response {
        let detail = uuid::Uuid::new_v4().to_string();
        tracing::info!(kind = self.kind, %detail, "exchange refused or failed");
        let wants_xml = request_headers
            .get_all(ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|m| m.split(';').next().unwrap_or_default().trim())
            .any(|m| matches!(m, "text/xml" | "application/xml" | "text/*"));
        let (content_type, body) = if wants_xml {
            let escape = |s: &str| {
                s.replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
            };
            (
                "text/xml;charset=utf-8",
                format!(
                    "<error><type>{}</type><message>{}</message><detail>{detail}</detail></error>",
                    self.kind,
                    escape(&self.message)
                ),
            )
        } else {
            (
                "application/json;charset=utf-8",
                serde_json::json!({ "type": self.kind, "message": self.message, "detail": detail })
                    .to_string(),
            )
        };
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(ERROR_HEADER, HeaderValue::from_static(self.kind));
        if let Some(seconds) = self.retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
