//! The one mapping from the registry's errors to answers. The `type` of each problem is part
//! of the API: clients branch on it.

use axum::http::StatusCode;
use web::Problem;
use web::problem::FieldMessage;

use crate::error::RegistryError;

impl From<RegistryError> for Problem {
    fn from(error: RegistryError) -> Self {
        match error {
            RegistryError::NotFound => {
                Problem::not_found("unknown-citizen", "no citizen has this personal ID number")
            }
            RegistryError::UnknownHousehold => {
                Problem::not_found("unknown-household", error.to_string()).field("id")
            }
            RegistryError::VersionConflict { .. } => {
                Problem::new(StatusCode::CONFLICT, "version-conflict", error.to_string())
                    .field("expected_version")
            }
            RegistryError::Invalid(ref issues) => {
                let issues = issues.iter().map(|issue| FieldMessage {
                    field: issue.field.clone(),
                    message: issue.message.clone(),
                });
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid-record",
                    error.to_string(),
                )
                .issues(issues)
            }
            RegistryError::AlreadyRegistered(_) => Problem::new(
                StatusCode::CONFLICT,
                "already-registered",
                error.to_string(),
            ),
            RegistryError::Forbidden(_) => {
                Problem::new(StatusCode::FORBIDDEN, "forbidden", error.to_string())
            }
            RegistryError::NumbersExhausted | RegistryError::Store(_) => Problem::internal(&error),
        }
    }
}
