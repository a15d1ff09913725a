//! Agency systems registered for `client_credentials` (`oidc_machine_clients`).

use store::{Db, Tx};

use crate::error::IdentityError;

/// An enabled agency system as stored: its public key in PEM, its scopes space-separated.
#[derive(sqlx::FromRow)]
pub(crate) struct MachineClientRow {
    pub name: String,
    pub subject: String,
    pub public_key: String,
    pub scopes: String,
}

/// An agency system as it is registered.
pub(crate) struct NewMachineClient<'a> {
    pub client_id: &'a str,
    pub name: &'a str,
    pub subject: &'a str,
    pub public_key: &'a str,
    pub scopes: String,
    pub created_at: String,
}

pub(crate) async fn insert(tx: &mut Tx, client: NewMachineClient<'_>) -> Result<(), IdentityError> {
    sqlx::query("INSERT INTO oidc_machine_clients (client_id, name, subject, public_key, scopes, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(client.client_id)
        .bind(client.name)
        .bind(client.subject)
        .bind(client.public_key)
        .bind(client.scopes)
        .bind(client.created_at)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Disables the client; false when it is unknown or already disabled.
pub(crate) async fn disable(
    tx: &mut Tx,
    now: String,
    client_id: &str,
) -> Result<bool, IdentityError> {
    let done = sqlx::query("UPDATE oidc_machine_clients SET disabled_at = $1 WHERE client_id = $2 AND disabled_at IS NULL")
        .bind(now)
        .bind(client_id)
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The client, if it is registered and not disabled.
pub(crate) async fn enabled(
    db: &Db,
    client_id: &str,
) -> Result<Option<MachineClientRow>, IdentityError> {
    Ok(sqlx::query_as::<_, MachineClientRow>("SELECT name, subject, public_key, scopes FROM oidc_machine_clients WHERE client_id = $1 AND disabled_at IS NULL")
        .bind(client_id)
        .fetch_optional(db.reader())
        .await?)
}
