//! The one mapping from [`ExchangeError`] to a problem document, for the API and the pages.

use axum::http::StatusCode;
use web::Problem;

use crate::ExchangeError;

impl From<ExchangeError> for Problem {
    fn from(error: ExchangeError) -> Self {
        match error {
            ExchangeError::Invalid { field, reason } => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-field",
                format!("{field}: {reason}"),
            )
            .field(field),
            ExchangeError::Unknown(what) => {
                Problem::not_found("not-found", format!("{what} is not registered"))
            }
            ExchangeError::Exists(what) => Problem::new(
                StatusCode::CONFLICT,
                "exists",
                format!("{what} is already registered"),
            ),
            // The cause may name the server's files: it goes to the log, not to the caller.
            ExchangeError::Authority(cause) => {
                tracing::error!(%cause, "the exchange certificate authority failed");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "certificate-authority-unavailable",
                    "the platform's certificate authority is not available; the operator has been told in the log",
                )
            }
            ExchangeError::Store(error) => Problem::internal(&error),
        }
    }
}
