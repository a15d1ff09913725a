//! OpenID Connect relying parties (`oidc_clients`).

use store::{Db, Tx};

use crate::error::IdentityError;
use crate::oidc::{Client, IdTokenAlg};

#[derive(sqlx::FromRow)]
struct ClientRow {
    client_id: String,
    name: String,
    /// One per line.
    redirect_uris: String,
    secret_hash: Option<String>,
    id_token_alg: String,
}

impl ClientRow {
    fn into_client(self) -> Result<Client, IdentityError> {
        Ok(Client {
            client_id: self.client_id,
            name: self.name,
            redirect_uris: self.redirect_uris.lines().map(str::to_owned).collect(),
            secret_hash: self.secret_hash,
            id_token_alg: self.id_token_alg.parse()?,
        })
    }
}

/// A relying party as it is registered; only the hash of its secret is kept.
pub(crate) struct NewClient<'a> {
    pub client_id: &'a str,
    pub name: &'a str,
    pub redirect_uris: &'a [String],
    pub secret_hash: Option<String>,
    pub id_token_alg: IdTokenAlg,
    pub created_at: String,
}

pub(crate) async fn insert(tx: &mut Tx, client: NewClient<'_>) -> Result<(), IdentityError> {
    sqlx::query("INSERT INTO oidc_clients (client_id, name, redirect_uris, secret_hash, id_token_alg, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(client.client_id)
        .bind(client.name)
        .bind(client.redirect_uris.join("\n"))
        .bind(client.secret_hash)
        .bind(client.id_token_alg.as_str())
        .bind(client.created_at)
        .execute(tx.conn())
        .await?;
    Ok(())
}

pub(crate) async fn get(db: &Db, client_id: &str) -> Result<Option<Client>, IdentityError> {
    sqlx::query_as::<_, ClientRow>("SELECT client_id, name, redirect_uris, secret_hash, id_token_alg FROM oidc_clients WHERE client_id = $1")
        .bind(client_id)
        .fetch_optional(db.reader())
        .await?
        .map(ClientRow::into_client)
        .transpose()
}
