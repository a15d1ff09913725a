//! The one place an [`IdentityError`] becomes what an HTTP caller sees: a status, a stable
//! problem `code` and, where one input is at fault, the field. Internal errors are logged
//! here with their cause and reach the caller without it.

use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use web::Problem;

use crate::error::IdentityError;

impl From<IdentityError> for Problem {
    fn from(error: IdentityError) -> Self {
        let detail = error.to_string();
        match error {
            IdentityError::Invalid { field, .. } => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-field", detail).field(field)
            }
            IdentityError::NoMatch => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "registry-mismatch",
                detail,
            ),
            IdentityError::AccountExists => {
                Problem::new(StatusCode::CONFLICT, "account-exists", detail)
            }
            IdentityError::BadCredentials => {
                Problem::new(StatusCode::UNAUTHORIZED, "bad-credentials", detail)
            }
            IdentityError::Locked { .. } => {
                Problem::new(StatusCode::TOO_MANY_REQUESTS, "account-locked", detail)
            }
            IdentityError::Throttled { .. } => {
                Problem::new(StatusCode::TOO_MANY_REQUESTS, "too-many-failures", detail)
            }
            IdentityError::Busy { .. } => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "busy", detail)
            }
            IdentityError::Forbidden(_) => Problem::new(StatusCode::FORBIDDEN, "forbidden", detail),
            IdentityError::NoAccount => {
                Problem::not_found("unknown-account", detail).field("personal_id")
            }
            IdentityError::PasskeyRefused(_) => {
                Problem::new(StatusCode::UNAUTHORIZED, "passkey-refused", detail)
                    .field("credential")
            }
            IdentityError::PasskeysUnavailable(_) => {
                Problem::new(StatusCode::BAD_REQUEST, "passkeys-unavailable", detail)
            }
            IdentityError::NoMandate => Problem::new(StatusCode::FORBIDDEN, "no-mandate", detail),
            IdentityError::OutOfScope(_) => {
                Problem::new(StatusCode::FORBIDDEN, "out-of-scope", detail)
            }
            IdentityError::Token(_) => {
                Problem::new(StatusCode::BAD_REQUEST, "token-request-refused", detail)
            }
            IdentityError::TokenRejected(_) => {
                Problem::new(StatusCode::UNAUTHORIZED, "invalid-token", detail)
            }
            IdentityError::Population(_) | IdentityError::Store(_) | IdentityError::Internal(_) => {
                Problem::internal(&error)
            }
        }
    }
}

/// Tells a refused caller when to come back, where that is known (RFC 9110 §10.2.3
/// Retry-After, on 429 and 503): see [`IdentityError::retry_after_seconds`].
pub(crate) fn with_retry_after(mut response: Response, seconds: Option<u64>) -> Response {
    if let Some(value) = seconds.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
        response.headers_mut().insert(RETRY_AFTER, value);
    }
    response
}
