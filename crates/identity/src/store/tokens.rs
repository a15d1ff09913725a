//! Access and refresh tokens issued to relying parties (`oidc_access_tokens`,
//! `oidc_refresh_tokens`), kept as their SHA-256. The tokens one code produced, and those
//! refreshed from them, share a `family`: the code's hash.

use store::{Db, Tx};

use crate::error::IdentityError;

/// The two kinds of token a grant issues, each in its own table.
#[derive(Clone, Copy)]
pub(crate) enum Issued {
    Access,
    Refresh,
}

impl Issued {
    const BOTH: [Self; 2] = [Self::Access, Self::Refresh];

    fn table(self) -> &'static str {
        match self {
            Self::Access => "oidc_access_tokens",
            Self::Refresh => "oidc_refresh_tokens",
        }
    }
}

/// A token as it is issued.
pub(crate) struct NewToken<'a> {
    pub token_hash: String,
    pub family: &'a str,
    pub account_id: &'a str,
    pub client_id: &'a str,
    pub scope: &'a str,
    pub expires_at: String,
}

/// A refresh token as stored.
#[derive(sqlx::FromRow)]
pub(crate) struct RefreshRow {
    pub family: String,
    pub account_id: String,
    pub client_id: String,
    pub scope: String,
    pub expires_at: String,
}

/// A live access token and the personal ID of its account.
#[derive(sqlx::FromRow)]
pub(crate) struct AccessRow {
    pub account_id: String,
    pub client_id: String,
    pub scope: String,
    pub personal_id: String,
}

pub(crate) async fn insert(
    tx: &mut Tx,
    kind: Issued,
    token: NewToken<'_>,
) -> Result<(), IdentityError> {
    sqlx::query(&format!(
        "INSERT INTO {} (token_hash, family, account_id, client_id, scope, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        kind.table()
    ))
    .bind(token.token_hash)
    .bind(token.family)
    .bind(token.account_id)
    .bind(token.client_id)
    .bind(token.scope)
    .bind(token.expires_at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub(crate) async fn refresh_token(
    db: &Db,
    token_hash: String,
) -> Result<Option<RefreshRow>, IdentityError> {
    Ok(sqlx::query_as::<_, RefreshRow>("SELECT family, account_id, client_id, scope, expires_at FROM oidc_refresh_tokens WHERE token_hash = $1")
        .bind(token_hash)
        .fetch_optional(db.reader())
        .await?)
}

/// Uses the refresh token if it is neither used nor revoked; false otherwise.
pub(crate) async fn spend_refresh(
    tx: &mut Tx,
    now: String,
    token_hash: String,
) -> Result<bool, IdentityError> {
    let spent = sqlx::query("UPDATE oidc_refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND revoked_at IS NULL")
        .bind(now)
        .bind(token_hash)
        .execute(tx.conn())
        .await?;
    Ok(spent.rows_affected() != 0)
}

/// The family of the client's refresh token with this hash.
pub(crate) async fn refresh_family(
    tx: &mut Tx,
    token_hash: &str,
    client_id: &str,
) -> Result<Option<String>, IdentityError> {
    Ok(sqlx::query_scalar(
        "SELECT family FROM oidc_refresh_tokens WHERE token_hash = $1 AND client_id = $2",
    )
    .bind(token_hash)
    .bind(client_id)
    .fetch_optional(tx.conn())
    .await?)
}

/// Revokes the client's access token with this hash, alone.
pub(crate) async fn revoke_access(
    tx: &mut Tx,
    now: String,
    token_hash: &str,
    client_id: &str,
) -> Result<(), IdentityError> {
    sqlx::query("UPDATE oidc_access_tokens SET revoked_at = $1 WHERE token_hash = $2 AND client_id = $3 AND revoked_at IS NULL")
        .bind(now)
        .bind(token_hash)
        .bind(client_id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// The access token with this hash if it is live at `now`.
pub(crate) async fn live_access(
    db: &Db,
    token_hash: String,
    now: String,
) -> Result<Option<AccessRow>, IdentityError> {
    Ok(sqlx::query_as::<_, AccessRow>(
        "SELECT t.account_id, t.client_id, t.scope, a.personal_id FROM oidc_access_tokens t JOIN identity_accounts a ON a.id = t.account_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(db.reader())
    .await?)
}

/// Revokes every access and refresh token of an account, for every client: after a
/// recovery in person, whoever held the lost credentials may hold these too.
pub(crate) async fn revoke_account(
    tx: &mut Tx,
    account_id: &str,
    now: &str,
) -> Result<(), IdentityError> {
    for kind in Issued::BOTH {
        sqlx::query(&format!(
            "UPDATE {} SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
            kind.table()
        ))
        .bind(now)
        .bind(account_id)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

/// Revokes every access and refresh token of one family.
pub(crate) async fn revoke_family(
    tx: &mut Tx,
    family: &str,
    now: &str,
) -> Result<(), IdentityError> {
    for kind in Issued::BOTH {
        sqlx::query(&format!(
            "UPDATE {} SET revoked_at = $1 WHERE family = $2 AND revoked_at IS NULL",
            kind.table()
        ))
        .bind(now)
        .bind(family)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}
