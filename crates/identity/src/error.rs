//! `IdentityError`, the one error identity's operations return. `http/error.rs` turns it
//! into what a caller sees.

use kernel::{Role, Scope};

use crate::oidc::{TokenError, TokenRejected};
use crate::password;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error(
        "the personal ID number, full name and date of birth do not match the population registry"
    )]
    NoMatch,
    #[error("an account already exists for this personal ID number")]
    AccountExists,
    #[error("wrong personal ID number or password")]
    BadCredentials,
    #[error(
        "too many failed attempts: sign-in is blocked until {} (UTC)",
        kernel::timestamp::format(*.until)
    )]
    Locked { until: time::OffsetDateTime },
    #[error("too many failed attempts from this address: try again in {retry_after_seconds} s")]
    Throttled { retry_after_seconds: u64 },
    #[error("too many sign-ins at once: try again in {retry_after_seconds} s")]
    Busy { retry_after_seconds: u64 },
    #[error("this needs the role {0}")]
    Forbidden(Role),
    #[error("no account for this personal ID number")]
    NoAccount,
    #[error("the passkey was not accepted: {0}")]
    PasskeyRefused(String),
    #[error("passkeys are not available: {0}")]
    PasskeysUnavailable(String),
    #[error("no active mandate from this citizen: it was never given, has expired or was revoked")]
    NoMandate,
    #[error("the citizen's mandate does not cover this: it needs the scope {0}")]
    OutOfScope(Scope),
    /// A token request refused as OAuth 2.0 names it (RFC 6749 §5.2).
    #[error(transparent)]
    Token(#[from] TokenError),
    /// A machine access token the exchange must not accept.
    #[error(transparent)]
    TokenRejected(#[from] TokenRejected),
    #[error("population registry: {0}")]
    Population(#[from] exchange::ClientError),
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<password::Busy> for IdentityError {
    fn from(busy: password::Busy) -> Self {
        Self::Busy {
            retry_after_seconds: busy.retry_after_seconds,
        }
    }
}

impl IdentityError {
    /// A wrong secret, or a refusal because of earlier wrong ones: what uses up a client
    /// address's allowance of failures.
    pub(crate) fn is_failed_attempt(&self) -> bool {
        matches!(
            self,
            Self::BadCredentials | Self::Locked { .. } | Self::PasskeyRefused(_)
        )
    }

    /// For a refusal that passes with time: how long to wait.
    pub fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            Self::Throttled {
                retry_after_seconds,
            }
            | Self::Busy {
                retry_after_seconds,
            } => Some(*retry_after_seconds),
            _ => None,
        }
    }
}

/// A stored time that no longer reads is a decoding failure of the store.
impl From<time::error::Parse> for IdentityError {
    fn from(error: time::error::Parse) -> Self {
        Self::Store(store::Error::Sql(sqlx::Error::Decode(Box::new(error))))
    }
}

impl From<sqlx::Error> for IdentityError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(store::Error::Sql(error))
    }
}
