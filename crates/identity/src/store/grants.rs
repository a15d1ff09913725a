//! What a citizen granted a relying party: remembered consents (`oidc_consents`) and
//! authorization codes (`oidc_codes`), kept as their SHA-256.

use store::{Db, Tx};

use crate::error::IdentityError;

/// An authorization code as stored, to check a token request against.
#[derive(sqlx::FromRow)]
pub(crate) struct CodeRow {
    pub client_id: String,
    pub account_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: String,
    pub auth_time: i64,
    pub expires_at: String,
}

/// An authorization code as it is issued.
pub(crate) struct NewCode<'a> {
    pub code_hash: String,
    pub client_id: &'a str,
    pub account_id: &'a str,
    pub redirect_uri: &'a str,
    pub scope: &'a str,
    pub nonce: &'a Option<String>,
    pub code_challenge: &'a str,
    pub auth_time: i64,
    pub expires_at: String,
}

pub(crate) async fn has_consent(
    db: &Db,
    account_id: &str,
    client_id: &str,
    scope: &str,
) -> Result<bool, IdentityError> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT scope FROM oidc_consents WHERE account_id = $1 AND client_id = $2 AND scope = $3",
    )
    .bind(account_id)
    .bind(client_id)
    .bind(scope)
    .fetch_optional(db.reader())
    .await?;
    Ok(found.is_some())
}

pub(crate) async fn remember_consent(
    tx: &mut Tx,
    account_id: &str,
    client_id: &str,
    scope: &str,
    at: String,
) -> Result<(), IdentityError> {
    sqlx::query("INSERT INTO oidc_consents (account_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, client_id, scope) DO NOTHING")
        .bind(account_id)
        .bind(client_id)
        .bind(scope)
        .bind(at)
        .execute(tx.conn())
        .await?;
    Ok(())
}

pub(crate) async fn insert_code(tx: &mut Tx, code: NewCode<'_>) -> Result<(), IdentityError> {
    sqlx::query(
        "INSERT INTO oidc_codes (code_hash, client_id, account_id, redirect_uri, scope, nonce, code_challenge, auth_time, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(code.code_hash)
    .bind(code.client_id)
    .bind(code.account_id)
    .bind(code.redirect_uri)
    .bind(code.scope)
    .bind(code.nonce)
    .bind(code.code_challenge)
    .bind(code.auth_time)
    .bind(code.expires_at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub(crate) async fn code(db: &Db, code_hash: &str) -> Result<Option<CodeRow>, IdentityError> {
    Ok(sqlx::query_as::<_, CodeRow>(
        "SELECT client_id, account_id, redirect_uri, scope, nonce, code_challenge, auth_time, expires_at FROM oidc_codes WHERE code_hash = $1",
    )
    .bind(code_hash)
    .fetch_optional(db.reader())
    .await?)
}

/// Uses the code if it is still unused; false when it was used before.
pub(crate) async fn spend_code(
    tx: &mut Tx,
    now: String,
    code_hash: &str,
) -> Result<bool, IdentityError> {
    let used =
        sqlx::query("UPDATE oidc_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL")
            .bind(now)
            .bind(code_hash)
            .execute(tx.conn())
            .await?;
    Ok(used.rows_affected() != 0)
}
