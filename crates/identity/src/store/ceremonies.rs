//! WebAuthn registration ceremonies waiting for their answer, and the ids of sign-in
//! ceremonies already answered (`identity_webauthn_ceremonies`).

use store::Tx;

use crate::error::IdentityError;

/// A ceremony's server-side state.
#[derive(sqlx::FromRow)]
pub(crate) struct Ceremony {
    pub purpose: String,
    pub account_id: Option<String>,
    pub name: Option<String>,
    pub state: String,
}

/// A ceremony as stored, until it runs out.
#[derive(sqlx::FromRow)]
pub(crate) struct StoredCeremony {
    #[sqlx(flatten)]
    pub ceremony: Ceremony,
    pub expires_at: String,
}

/// Forgets the ceremonies that ran out before `now`.
pub(crate) async fn clear_expired(tx: &mut Tx, now: String) -> Result<(), IdentityError> {
    sqlx::query("DELETE FROM identity_webauthn_ceremonies WHERE expires_at < $1")
        .bind(now)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Marks the ceremony `id` answered until `expires_at`; false when it already was.
pub(crate) async fn mark_spent(
    tx: &mut Tx,
    id: String,
    expires_at: String,
) -> Result<bool, IdentityError> {
    let spent = sqlx::query(
        "INSERT INTO identity_webauthn_ceremonies (id, purpose, account_id, name, state, expires_at) \
         VALUES ($1, 'spent', NULL, NULL, '', $2) ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(expires_at)
    .execute(tx.conn())
    .await?;
    Ok(spent.rows_affected() != 0)
}

pub(crate) async fn insert(
    tx: &mut Tx,
    id: &str,
    ceremony: &Ceremony,
    expires_at: String,
) -> Result<(), IdentityError> {
    sqlx::query(
        "INSERT INTO identity_webauthn_ceremonies (id, purpose, account_id, name, state, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(&ceremony.purpose)
    .bind(ceremony.account_id.as_deref())
    .bind(ceremony.name.as_deref())
    .bind(&ceremony.state)
    .bind(expires_at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Deletes the ceremony `id` (never a spent mark) and returns it as it was.
pub(crate) async fn take(tx: &mut Tx, id: &str) -> Result<Option<StoredCeremony>, IdentityError> {
    Ok(sqlx::query_as::<_, StoredCeremony>(
        "DELETE FROM identity_webauthn_ceremonies WHERE id = $1 AND purpose <> 'spent' RETURNING purpose, account_id, name, state, expires_at",
    )
    .bind(id)
    .fetch_optional(tx.conn())
    .await?)
}
