//! The exchange's error: what its catalogue, certificate authority and services return.

use kernel::Message;

use crate::ids::InvalidId;

#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// Input that names what is wrong with it.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: Message,
    },
    #[error("{} {id} is not registered", .entry.as_str())]
    Unknown { entry: Entry, id: String },
    #[error("{} {id} is already registered", .entry.as_str())]
    Exists { entry: Entry, id: String },
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
    /// `by` and `at`: who revoked it and when; none when another revocation won the race a
    /// moment ago.
    #[error("{}", already_revoked(serial, by_at))]
    AlreadyRevoked {
        serial: String,
        by_at: Option<(String, time::OffsetDateTime)>,
    },
    #[error(transparent)]
    Audit(#[from] audit::Error),
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// What to tell a manager who revokes a certificate that is already revoked.
pub(crate) fn already_revoked(
    serial: &str,
    by_at: &Option<(String, time::OffsetDateTime)>,
) -> Message {
    match by_at {
        Some((by, at)) => Message::new("exchange.already_revoked")
            .with("serial", serial)
            .with("by", by)
            .with("at", web::layout::local_time(at)),
        None => Message::new("exchange.already_revoked_now").with("serial", serial),
    }
}

/// The kinds of catalogue entry a change can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    Member,
    Subsystem,
    Service,
    /// A client as X-Road names it: `MEMBER` or `SUBSYSTEM` and the identifier.
    Client,
    Right,
    Certificate,
}

impl Entry {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Subsystem => "subsystem",
            Self::Service => "service",
            Self::Client => "client",
            Self::Right => "right",
            Self::Certificate => "certificate",
        }
    }
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
        by: String,
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
        Self::invalid(field, error.message)
    }

    pub(crate) fn invalid(field: &'static str, message: Message) -> Self {
        Self::Invalid { field, message }
    }

    pub(crate) fn unknown(entry: Entry, id: impl std::fmt::Display) -> Self {
        Self::Unknown {
            entry,
            id: id.to_string(),
        }
    }

    pub(crate) fn exists(entry: Entry, id: impl std::fmt::Display) -> Self {
        Self::Exists {
            entry,
            id: id.to_string(),
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
