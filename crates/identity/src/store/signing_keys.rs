//! ID-token signing keys, sealed: ES256 (`oidc_signing_keys`) and RSA for RS256
//! (`oidc_rsa_signing_keys`). Both tables have the same shape and the same rotation.

use store::{Db, Tx};

use crate::error::IdentityError;

/// Which table of keys.
#[derive(Debug, Clone, Copy)]
pub(crate) enum KeyTable {
    Es256,
    Rsa,
}

/// A signing key as stored: sealed for its `kid`.
#[derive(sqlx::FromRow)]
pub(crate) struct SealedKey {
    pub kid: String,
    pub private_key: String,
}

impl KeyTable {
    fn published(self) -> &'static str {
        match self {
            Self::Es256 => {
                "SELECT kid, private_key FROM oidc_signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, kid"
            }
            Self::Rsa => {
                "SELECT kid, private_key FROM oidc_rsa_signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, kid"
            }
        }
    }

    fn insert(self) -> &'static str {
        match self {
            Self::Es256 => {
                "INSERT INTO oidc_signing_keys (kid, private_key, created_at) VALUES ($1, $2, $3)"
            }
            Self::Rsa => {
                "INSERT INTO oidc_rsa_signing_keys (kid, private_key, created_at) VALUES ($1, $2, $3)"
            }
        }
    }

    /// Retires all but the two newest keys: the one that signs and the one before it.
    fn retire(self) -> &'static str {
        match self {
            Self::Es256 => {
                "UPDATE oidc_signing_keys SET retired_at = $1 WHERE retired_at IS NULL AND kid NOT IN \
                 (SELECT kid FROM oidc_signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, kid LIMIT 2)"
            }
            Self::Rsa => {
                "UPDATE oidc_rsa_signing_keys SET retired_at = $1 WHERE retired_at IS NULL AND kid NOT IN \
                 (SELECT kid FROM oidc_rsa_signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, kid LIMIT 2)"
            }
        }
    }
}

/// The keys not retired, newest first.
pub(crate) async fn published(db: &Db, table: KeyTable) -> Result<Vec<SealedKey>, IdentityError> {
    Ok(sqlx::query_as::<_, SealedKey>(table.published())
        .fetch_all(db.reader())
        .await?)
}

/// Adds a sealed key, then retires all but the two newest.
pub(crate) async fn add(
    tx: &mut Tx,
    table: KeyTable,
    kid: &str,
    sealed_key: String,
    now: &str,
) -> Result<(), IdentityError> {
    sqlx::query(table.insert())
        .bind(kid)
        .bind(sealed_key)
        .bind(now)
        .execute(tx.conn())
        .await?;
    sqlx::query(table.retire())
        .bind(now)
        .execute(tx.conn())
        .await?;
    Ok(())
}
