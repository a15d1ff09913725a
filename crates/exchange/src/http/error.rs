//! The one mapping from [`ExchangeError`] to a problem document, for the API and the pages.
//! The `type` of each problem is part of the API: clients branch on it.

use axum::http::StatusCode;
use web::Problem;

use crate::ExchangeError;
use crate::error::NotReplaceable;

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
            ExchangeError::Forbidden(_) => {
                Problem::new(StatusCode::FORBIDDEN, "forbidden", error.to_string())
            }
            ExchangeError::NoActiveRight(_) => Problem::not_found("not-found", error.to_string()),
            ExchangeError::UnregisteredSubsystem(_) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown-subsystem",
                error.to_string(),
            )
            .field("subsystem"),
            ExchangeError::NotReplaceable(ref why) => {
                let code = match why {
                    NotReplaceable::Unknown { .. } => "unknown-certificate",
                    NotReplaceable::OtherSubsystem { .. } => "other-subsystem",
                    NotReplaceable::Revoked { .. } => "already-revoked",
                };
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, error.to_string())
                    .field("replaces")
            }
            ExchangeError::UnknownCertificate(_) => {
                Problem::not_found("unknown-certificate", error.to_string()).field("serial")
            }
            ExchangeError::AlreadyRevoked { .. } => {
                Problem::new(StatusCode::CONFLICT, "already-revoked", error.to_string())
                    .field("serial")
            }
            // The cause may name the server's files: it goes to the log, not to the caller.
            ExchangeError::Authority(cause) => {
                tracing::error!(%cause, "the exchange certificate authority failed");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "certificate-authority-unavailable",
                    "the platform's certificate authority is not available; the operator has been told in the log",
                )
            }
            ExchangeError::Audit(error) => Problem::internal(&error),
            ExchangeError::Store(error) => Problem::internal(&error),
        }
    }
}
