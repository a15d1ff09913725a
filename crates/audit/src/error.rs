//! The one error the audit log returns.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("audit entry field {field} is not acceptable: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("the audit writer has stopped; no entry can be recorded")]
    Closed,
    /// The batch holding the entry did not commit; the entry is not in the log.
    #[error("the audit entry was not recorded: {0}")]
    NotRecorded(String),
    /// Another writer owns the chain or the journal.
    #[error("the audit log is in use: {0}")]
    Busy(String),
    #[error("audit signing key {path}: {reason}")]
    Key { path: String, reason: String },
    #[error("public key is not an Ed25519 public key in PEM (SPKI) form: {0}")]
    PublicKey(String),
    #[error("stored audit entry {seq} cannot be read: {reason}")]
    Corrupt { seq: i64, reason: String },
    #[error("audit export, line {line}: {reason}")]
    Export { line: u64, reason: String },
    #[error("audit file: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] store::Error),
}

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(store::Error::Sql(error))
    }
}
