//! The one error the registry's service returns; `http::error` turns it into answers.

use crate::domain::access::NotAnOfficial;
use crate::domain::record::FieldIssue;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("the record is not acceptable: {}", list(.0))]
    Invalid(Vec<FieldIssue>),
    #[error("no citizen has this personal ID number")]
    NotFound,
    #[error("no household has this id")]
    UnknownHousehold,
    #[error("personal ID number {0} is already registered")]
    AlreadyRegistered(String),
    #[error(
        "the record is at version {current}, not {expected}: reload it and apply the change again"
    )]
    VersionConflict { expected: i64, current: i64 },
    #[error("no unused personal ID number could be drawn for this province, century and year")]
    NumbersExhausted,
    #[error(transparent)]
    Forbidden(#[from] NotAnOfficial),
    #[error(transparent)]
    Store(#[from] store::Error),
}

fn list(issues: &[FieldIssue]) -> String {
    issues
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<sqlx::Error> for RegistryError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(store::Error::Sql(error))
    }
}

/// A stored record that no longer reads as JSON is a decoding failure of the store.
impl From<serde_json::Error> for RegistryError {
    fn from(error: serde_json::Error) -> Self {
        Self::Store(store::Error::Sql(sqlx::Error::Decode(Box::new(error))))
    }
}

/// So is a stored timestamp that no longer parses.
impl From<time::error::Parse> for RegistryError {
    fn from(error: time::error::Parse) -> Self {
        Self::Store(store::Error::Sql(sqlx::Error::Decode(Box::new(error))))
    }
}
