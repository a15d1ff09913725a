//! Sessions (`identity_sessions`), named by the SHA-256 of their token, and the mandate a
//! helper's session acts under.

use store::{Db, Tx};

use crate::error::IdentityError;

/// A session as it is opened.
pub(crate) struct NewSession<'a> {
    pub token_hash: String,
    pub account_id: &'a str,
    pub created_at: String,
    pub expires_at: String,
    pub user_agent: String,
    pub pending_code: bool,
    pub method: &'static str,
}

/// The session that waited for a code, as it ends.
#[derive(sqlx::FromRow)]
pub(crate) struct Ended {
    pub account_id: String,
    pub user_agent: String,
}

/// A live session and the account it signs in.
#[derive(sqlx::FromRow)]
pub(crate) struct LiveSession {
    pub id: String,
    pub personal_id: String,
    pub assurance_level: i64,
    pub acting_mandate: Option<String>,
}

/// A session in its owner's list.
#[derive(sqlx::FromRow)]
pub(crate) struct ListedSession {
    pub token_hash: String,
    pub created_at: String,
    pub expires_at: String,
    pub user_agent: String,
    pub method: String,
}

pub(crate) async fn insert(tx: &mut Tx, session: NewSession<'_>) -> Result<(), IdentityError> {
    sqlx::query(
        "INSERT INTO identity_sessions (token_hash, account_id, created_at, expires_at, user_agent, pending_code, method) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(session.token_hash)
    .bind(session.account_id)
    .bind(session.created_at)
    .bind(session.expires_at)
    .bind(session.user_agent)
    .bind(i64::from(session.pending_code))
    .bind(session.method)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Ends the live session waiting for a code; `None` when there is none (any more).
pub(crate) async fn end_pending(
    tx: &mut Tx,
    now: String,
    token_hash: String,
) -> Result<Option<Ended>, IdentityError> {
    Ok(sqlx::query_as::<_, Ended>(
        "UPDATE identity_sessions SET revoked_at = $1 WHERE token_hash = $2 AND pending_code = 1 AND revoked_at IS NULL \
         RETURNING account_id, user_agent",
    )
    .bind(now)
    .bind(token_hash)
    .fetch_optional(tx.conn())
    .await?)
}

/// The account a live session waiting for a code belongs to, if it has a second factor.
pub(crate) async fn awaiting_code(
    db: &Db,
    token_hash: String,
    now: String,
) -> Result<Option<String>, IdentityError> {
    Ok(sqlx::query_scalar(
        "SELECT a.id FROM identity_sessions s JOIN identity_accounts a ON a.id = s.account_id \
         WHERE s.token_hash = $1 AND s.pending_code = 1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND a.totp_confirmed_at IS NOT NULL",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(db.reader())
    .await?)
}

pub(crate) async fn live(
    db: &Db,
    token_hash: String,
    now: String,
) -> Result<Option<LiveSession>, IdentityError> {
    Ok(sqlx::query_as::<_, LiveSession>(
        "SELECT a.id, a.personal_id, a.assurance_level, s.acting_mandate FROM identity_sessions s JOIN identity_accounts a ON a.id = s.account_id \
         WHERE s.token_hash = $1 AND s.pending_code = 0 AND s.revoked_at IS NULL AND s.expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(db.reader())
    .await?)
}

/// The account's live sessions, newest first.
pub(crate) async fn listed(
    db: &Db,
    account_id: &str,
    now: String,
) -> Result<Vec<ListedSession>, IdentityError> {
    Ok(sqlx::query_as::<_, ListedSession>(
        "SELECT token_hash, created_at, expires_at, user_agent, method FROM identity_sessions \
         WHERE account_id = $1 AND pending_code = 0 AND revoked_at IS NULL AND expires_at > $2 ORDER BY created_at DESC",
    )
    .bind(account_id)
    .bind(now)
    .fetch_all(db.reader())
    .await?)
}

/// Ends the account's sessions whose token hash starts with `prefix`; how many ended.
pub(crate) async fn revoke_by_prefix(
    tx: &mut Tx,
    now: String,
    account_id: &str,
    prefix: &str,
) -> Result<u64, IdentityError> {
    let revoked = sqlx::query("UPDATE identity_sessions SET revoked_at = $1 WHERE account_id = $2 AND token_hash LIKE $3 AND revoked_at IS NULL")
        .bind(now)
        .bind(account_id)
        .bind(format!("{prefix}%"))
        .execute(tx.conn())
        .await?;
    Ok(revoked.rows_affected())
}

pub(crate) async fn revoke(
    tx: &mut Tx,
    now: String,
    token_hash: String,
) -> Result<(), IdentityError> {
    sqlx::query(
        "UPDATE identity_sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(token_hash)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Ends every session of the account.
pub(crate) async fn revoke_all(
    tx: &mut Tx,
    now: &str,
    account_id: &str,
) -> Result<(), IdentityError> {
    sqlx::query(
        "UPDATE identity_sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(account_id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Makes the helper's live session act under `mandate_id`; false when there is no such
/// session.
pub(crate) async fn start_acting(
    tx: &mut Tx,
    mandate_id: &str,
    token_hash: String,
    account_id: &str,
) -> Result<bool, IdentityError> {
    let updated = sqlx::query(
        "UPDATE identity_sessions SET acting_mandate = $1 WHERE token_hash = $2 AND account_id = $3 AND revoked_at IS NULL",
    )
    .bind(mandate_id)
    .bind(token_hash)
    .bind(account_id)
    .execute(tx.conn())
    .await?;
    Ok(updated.rows_affected() != 0)
}

pub(crate) async fn stop_acting(
    tx: &mut Tx,
    token_hash: String,
    account_id: &str,
) -> Result<(), IdentityError> {
    sqlx::query("UPDATE identity_sessions SET acting_mandate = NULL WHERE token_hash = $1 AND account_id = $2")
        .bind(token_hash)
        .bind(account_id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Every session acting under `mandate_id` stops acting.
pub(crate) async fn stop_acting_under(tx: &mut Tx, mandate_id: &str) -> Result<(), IdentityError> {
    sqlx::query("UPDATE identity_sessions SET acting_mandate = NULL WHERE acting_mandate = $1")
        .bind(mandate_id)
        .execute(tx.conn())
        .await?;
    Ok(())
}
