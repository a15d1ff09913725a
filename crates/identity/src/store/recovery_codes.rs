//! One-time recovery codes (`identity_recovery_codes`), kept as their SHA-256.

use store::{Db, Tx};

use crate::error::IdentityError;

/// A recovery code as an official issues it.
pub(crate) struct NewCode<'a> {
    pub code_hash: String,
    pub account_id: &'a str,
    pub issued_by: String,
    pub issued_at: &'a str,
    pub expires_at: String,
}

/// The account a recovery code was issued for, and the phone number it gave.
#[derive(sqlx::FromRow)]
pub(crate) struct CodeHolder {
    pub account_id: String,
    pub phone: Option<String>,
}

/// Marks the account's unused codes used, so only the next one works.
pub(crate) async fn retire_unused(
    tx: &mut Tx,
    now: &str,
    account_id: &str,
) -> Result<(), IdentityError> {
    sqlx::query(
        "UPDATE identity_recovery_codes SET used_at = $1 WHERE account_id = $2 AND used_at IS NULL",
    )
    .bind(now)
    .bind(account_id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub(crate) async fn insert(tx: &mut Tx, code: NewCode<'_>) -> Result<(), IdentityError> {
    sqlx::query("INSERT INTO identity_recovery_codes (code_hash, account_id, issued_by, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(code.code_hash)
        .bind(code.account_id)
        .bind(code.issued_by)
        .bind(code.issued_at)
        .bind(code.expires_at)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Who holds the unused, unexpired code with this hash, if it was issued for `personal_id`.
pub(crate) async fn holder(
    db: &Db,
    code_hash: String,
    personal_id: &str,
    now: String,
) -> Result<Option<CodeHolder>, IdentityError> {
    Ok(sqlx::query_as::<_, CodeHolder>(
        "SELECT r.account_id, a.phone FROM identity_recovery_codes r JOIN identity_accounts a ON a.id = r.account_id \
         WHERE r.code_hash = $1 AND a.personal_id = $2 AND r.used_at IS NULL AND r.expires_at > $3",
    )
    .bind(code_hash)
    .bind(personal_id)
    .bind(now)
    .fetch_optional(db.reader())
    .await?)
}

/// Uses the code if it is still unused; false when another use came first.
pub(crate) async fn spend(
    tx: &mut Tx,
    now: &str,
    code_hash: String,
) -> Result<bool, IdentityError> {
    let used = sqlx::query(
        "UPDATE identity_recovery_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL",
    )
    .bind(now)
    .bind(code_hash)
    .execute(tx.conn())
    .await?;
    Ok(used.rows_affected() != 0)
}
