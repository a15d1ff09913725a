//! The second factor's columns on `identity_accounts`: the sealed TOTP seed, when it was
//! confirmed, and the last step a code was accepted for.

use store::{Db, Tx};

use crate::error::IdentityError;

/// An account's sealed TOTP seed and the last step a code was accepted for.
#[derive(sqlx::FromRow)]
pub(crate) struct Seed {
    pub totp_secret: Option<String>,
    pub totp_last_step: Option<i64>,
}

impl super::attempts::Checked for Seed {
    const COLUMNS: &'static str = "totp_secret, totp_last_step";
}

/// Keeps a new sealed seed unless a second factor is already confirmed; false if it is.
pub(crate) async fn begin(
    tx: &mut Tx,
    sealed_secret: String,
    account_id: &str,
) -> Result<bool, IdentityError> {
    let updated = sqlx::query("UPDATE identity_accounts SET totp_secret = $1, totp_last_step = NULL WHERE id = $2 AND totp_confirmed_at IS NULL")
        .bind(sealed_secret)
        .bind(account_id)
        .execute(tx.conn())
        .await?;
    Ok(updated.rows_affected() != 0)
}

/// The seed of an enrolment not confirmed yet.
pub(crate) async fn unconfirmed(db: &Db, account_id: &str) -> Result<Option<Seed>, IdentityError> {
    Ok(sqlx::query_as::<_, Seed>("SELECT totp_secret, totp_last_step FROM identity_accounts WHERE id = $1 AND totp_confirmed_at IS NULL")
        .bind(account_id)
        .fetch_optional(db.reader())
        .await?)
}

pub(crate) async fn confirm(
    tx: &mut Tx,
    at: String,
    step: i64,
    account_id: &str,
) -> Result<(), IdentityError> {
    sqlx::query(
        "UPDATE identity_accounts SET totp_confirmed_at = $1, totp_last_step = $2 WHERE id = $3",
    )
    .bind(at)
    .bind(step)
    .bind(account_id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// When the account's second factor was confirmed: `None` without such an account.
pub(crate) async fn confirmed_at(
    db: &Db,
    account_id: &str,
) -> Result<Option<Option<String>>, IdentityError> {
    Ok(
        sqlx::query_scalar("SELECT totp_confirmed_at FROM identity_accounts WHERE id = $1")
            .bind(account_id)
            .fetch_optional(db.reader())
            .await?,
    )
}

/// Accepts `step` only if it is newer than the last accepted one; false if it is not. The
/// condition makes two concurrent uses of one code impossible.
pub(crate) async fn accept_step(
    tx: &mut Tx,
    step: i64,
    account_id: &str,
) -> Result<bool, IdentityError> {
    let accepted = sqlx::query(
        "UPDATE identity_accounts SET totp_last_step = $1 \
         WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
    )
    .bind(step)
    .bind(account_id)
    .execute(tx.conn())
    .await?;
    Ok(accepted.rows_affected() != 0)
}
