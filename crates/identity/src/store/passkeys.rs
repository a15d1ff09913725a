//! Passkeys (`identity_passkeys`): each credential as webauthn-rs serialises it, with the
//! name its owner gave it.

use store::{Db, Tx};

use crate::error::IdentityError;
use crate::passkeys::PasskeyInfo;

/// A passkey and the state of its account, read to check a sign-in answer.
#[derive(sqlx::FromRow)]
pub(crate) struct PasskeyOwner {
    pub account_id: String,
    pub credential: String,
    pub locked_until: Option<String>,
    pub failed_logins: i64,
    pub failed_codes: i64,
}

/// A credential as stored: its id and the serialised passkey.
#[derive(sqlx::FromRow)]
pub(crate) struct StoredCredential {
    pub credential_id: String,
    pub credential: String,
}

#[derive(sqlx::FromRow)]
struct ListedPasskey {
    credential_id: String,
    name: String,
    created_at: String,
    last_used_at: Option<String>,
}

impl TryFrom<ListedPasskey> for PasskeyInfo {
    type Error = IdentityError;

    fn try_from(row: ListedPasskey) -> Result<Self, IdentityError> {
        Ok(Self {
            id: row.credential_id,
            name: row.name,
            created_at: store::timestamp::parse(&row.created_at)?,
            last_used_at: row
                .last_used_at
                .as_deref()
                .map(store::timestamp::parse)
                .transpose()?,
        })
    }
}

/// Keeps a new passkey; false when its credential ID is already registered, to anyone.
pub(crate) async fn insert(
    tx: &mut Tx,
    info: &PasskeyInfo,
    account_id: &str,
    credential: String,
) -> Result<bool, IdentityError> {
    let inserted = sqlx::query(
        "INSERT INTO identity_passkeys (credential_id, account_id, name, credential, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (credential_id) DO NOTHING",
    )
    .bind(&info.id)
    .bind(account_id)
    .bind(&info.name)
    .bind(credential)
    .bind(store::timestamp::format(info.created_at))
    .execute(tx.conn())
    .await?;
    Ok(inserted.rows_affected() != 0)
}

pub(crate) async fn owner(
    db: &Db,
    credential_id: &str,
) -> Result<Option<PasskeyOwner>, IdentityError> {
    Ok(sqlx::query_as::<_, PasskeyOwner>(
        "SELECT p.account_id, p.credential, a.locked_until, a.failed_logins, a.failed_codes FROM identity_passkeys p \
         JOIN identity_accounts a ON a.id = p.account_id WHERE p.credential_id = $1",
    )
    .bind(credential_id)
    .fetch_optional(db.reader())
    .await?)
}

/// Records a use and the credential as it changed (signature counter, backup flags).
pub(crate) async fn used_changed(
    tx: &mut Tx,
    credential: String,
    now: &str,
    credential_id: &str,
) -> Result<(), IdentityError> {
    sqlx::query(
        "UPDATE identity_passkeys SET credential = $1, last_used_at = $2 WHERE credential_id = $3",
    )
    .bind(credential)
    .bind(now)
    .bind(credential_id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Records a use of an unchanged credential.
pub(crate) async fn used(tx: &mut Tx, now: &str, credential_id: &str) -> Result<(), IdentityError> {
    sqlx::query("UPDATE identity_passkeys SET last_used_at = $1 WHERE credential_id = $2")
        .bind(now)
        .bind(credential_id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// The account's passkeys as its owner sees them, oldest first.
pub(crate) async fn listed(db: &Db, account_id: &str) -> Result<Vec<PasskeyInfo>, IdentityError> {
    let rows = sqlx::query_as::<_, ListedPasskey>(
        "SELECT credential_id, name, created_at, last_used_at FROM identity_passkeys WHERE account_id = $1 ORDER BY created_at, credential_id",
    )
    .bind(account_id)
    .fetch_all(db.reader())
    .await?;
    rows.into_iter().map(PasskeyInfo::try_from).collect()
}

pub(crate) async fn credentials(
    db: &Db,
    account_id: &str,
) -> Result<Vec<StoredCredential>, IdentityError> {
    Ok(sqlx::query_as::<_, StoredCredential>(
        "SELECT credential_id, credential FROM identity_passkeys WHERE account_id = $1",
    )
    .bind(account_id)
    .fetch_all(db.reader())
    .await?)
}

/// Removes one of the account's passkeys; false when it had no such passkey.
pub(crate) async fn remove(tx: &mut Tx, account_id: &str, id: &str) -> Result<bool, IdentityError> {
    let removed =
        sqlx::query("DELETE FROM identity_passkeys WHERE account_id = $1 AND credential_id = $2")
            .bind(account_id)
            .bind(id)
            .execute(tx.conn())
            .await?;
    Ok(removed.rows_affected() > 0)
}

/// Removes every passkey of the account.
pub(crate) async fn remove_all(tx: &mut Tx, account_id: &str) -> Result<(), IdentityError> {
    sqlx::query("DELETE FROM identity_passkeys WHERE account_id = $1")
        .bind(account_id)
        .execute(tx.conn())
        .await?;
    Ok(())
}
