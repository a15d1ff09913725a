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
    /// The caller may not do this; the text names the role or member it needs.
    #[error("{0}")]
    Forbidden(String),
    #[error("no active right {0}")]
    NoActiveRight(String),
    /// A certificate was asked for a subsystem that is not registered.
    #[error("subsystem: {0} is not registered")]
    UnregisteredSubsystem(String),
    /// The certificate a new one should replace cannot be replaced.
    #[error("replaces: {0}")]
    NotReplaceable(NotReplaceable),
    #[error("no certificate has the serial {0}")]
    UnknownCertificate(String),
    /// `how`: when and by whom, or "a moment ago" when another revocation won the race.
    #[error("certificate {serial} was already revoked {how}")]
    AlreadyRevoked { serial: String, how: String },
    #[error(transparent)]
    Audit(#[from] audit::Error),
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// Why a certificate named in `replaces` cannot be replaced by the one being issued.
#[derive(Debug, thiserror::Error)]
pub enum NotReplaceable {
    #[error("no certificate has the serial {serial}")]
    Unknown { serial: String },
    #[error("certificate {serial} belongs to {owner}, not {subsystem}")]
    OtherSubsystem {
        serial: String,
        owner: String,
        subsystem: String,
    },
    #[error("certificate {serial} was already revoked at {}", kernel::timestamp::format(*.at))]
    Revoked {
        serial: String,
        at: time::OffsetDateTime,
    },
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

    /// A stored value that no longer reads: a decoding failure of the store.
    pub(crate) fn stored(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Store(store::Error::Sql(sqlx::Error::Decode(Box::new(error))))
    }

    /// The certificate authority failed at `what`.
    pub(crate) fn authority(what: &str, reason: impl std::fmt::Display) -> Self {
        Self::Authority(format!("{what}: {reason}"))
    }
}
