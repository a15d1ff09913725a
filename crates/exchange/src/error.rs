//! The exchange's error: what its catalogue, certificate authority and services return.

use crate::ids::InvalidId;

#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// Input that names what is wrong with it.
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("{0} is not registered")]
    Unknown(String),
    #[error("{0} is already registered")]
    Exists(String),
    /// The platform's certificate authority could not do its part (its files, its key, a
    /// signature). The reason is for the operator's log: it may name server paths.
    #[error("certificate authority: {0}")]
    Authority(String),
    #[error(transparent)]
    Store(#[from] store::Error),
}

impl From<sqlx::Error> for ExchangeError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(store::Error::Sql(error))
    }
}

impl ExchangeError {
    pub(crate) fn id(field: &'static str, error: InvalidId) -> Self {
        Self::Invalid {
            field,
            reason: error.to_string(),
        }
    }

    pub(crate) fn invalid(field: &'static str, reason: impl std::fmt::Display) -> Self {
        Self::Invalid {
            field,
            reason: reason.to_string(),
        }
    }

    /// The certificate authority failed at `what`.
    pub(crate) fn authority(what: &str, reason: impl std::fmt::Display) -> Self {
        Self::Authority(format!("{what}: {reason}"))
    }
}
