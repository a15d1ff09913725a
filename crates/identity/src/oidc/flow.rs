//! The authorization code flow with PKCE (RFC 6749 §4.1, RFC 7636 with S256 only), the token
//! exchange, and the claims released per scope.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use exchange::client::Purpose;
use rand::RngCore;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use store::timestamp;
use time::{Duration, OffsetDateTime};

use super::clients::IdTokenAlg;
use crate::accounts::Identity;
use crate::error::IdentityError;
use crate::sessions::digest;
use crate::store::accounts as store_accounts;
use crate::store::grants::{self, CodeRow, NewCode};
use crate::store::tokens::{self, AccessRow, Issued, NewToken, RefreshRow};

const CODE_SECONDS: i64 = 60;
const TOKEN_SECONDS: i64 = 600;
const REFRESH_DAYS: i64 = 30;

/// Scopes and the registry facts each releases.
pub const SCOPES: [(&str, &[&str]); 5] = [
    ("openid", &["sub"]),
    ("profile", &["name", "birthdate", "gender"]),
    ("personal_id", &["personal_id"]),
    ("address", &["address"]),
    ("phone", &["phone_number"]),
];

/// A validated request to sign someone in to a client.
#[derive(Debug, Clone)]
pub struct Authorization {
    pub client_id: String,
    pub client_name: String,
    pub redirect_uri: String,
    /// Known scopes, sorted, space-separated; always includes `openid`.
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: String,
}

/// The `error` codes of RFC 6749 §5.2 this provider answers a token request with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthError {
    InvalidClient,
    InvalidGrant,
    InvalidScope,
}

impl OAuthError {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::InvalidScope => "invalid_scope",
        }
    }
}

/// Why a token request failed, as RFC 6749 §5.2 names it.
#[derive(Debug, thiserror::Error)]
#[error("{}: {description}", error.as_str())]
pub struct TokenError {
    pub error: OAuthError,
    pub description: String,
}

pub(super) fn token_error(error: OAuthError, description: impl Into<String>) -> IdentityError {
    IdentityError::Token(TokenError {
        error,
        description: description.into(),
    })
}

pub(super) fn random_token() -> String {
    let mut bytes = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Unknown scopes are dropped (RFC 6749 §3.3 lets the server grant less than asked).
pub fn normalise_scope(requested: &str) -> Option<String> {
    let mut scopes: Vec<&str> = requested
        .split_whitespace()
        .filter(|s| SCOPES.iter().any(|(known, _)| known == s))
        .collect();
    if !scopes.contains(&"openid") {
        return None;
    }
    scopes.sort_unstable();
    scopes.dedup();
    Some(scopes.join(" "))
}

impl Identity {
    /// A known client, with its secret checked when it has one (public clients have none
    /// and rely on PKCE).
    async fn authenticate_client(
        &self,
        client_id: &str,
        client_secret: Option<&str>,
    ) -> Result<(), IdentityError> {
        let Some(client) = self.client(client_id).await? else {
            return Err(token_error(OAuthError::InvalidClient, "unknown client"));
        };
        match &client.secret_hash {
            Some(expected) if client_secret.map(digest).as_deref() != Some(expected.as_str()) => {
                Err(token_error(
                    OAuthError::InvalidClient,
                    "client authentication failed",
                ))
            }
            _ => Ok(()),
        }
    }

    pub async fn has_consent(
        &self,
        account_id: &str,
        client_id: &str,
        scope: &str,
    ) -> Result<bool, IdentityError> {
        grants::has_consent(&self.db, account_id, client_id, scope).await
    }

    /// Records consent (remembered for this client and scope set) and issues a code.
    pub async fn grant(
        &self,
        account_id: &str,
        request: &Authorization,
        remember: bool,
    ) -> Result<String, IdentityError> {
        let code = random_token();
        let now = OffsetDateTime::now_utc();
        let mut tx = self.db.begin().await?;
        if remember {
            grants::remember_consent(
                &mut tx,
                account_id,
                &request.client_id,
                &request.scope,
                timestamp::format(now),
            )
            .await?;
        }
        let new_code = NewCode {
            code_hash: digest(&code),
            client_id: &request.client_id,
            account_id,
            redirect_uri: &request.redirect_uri,
            scope: &request.scope,
            nonce: &request.nonce,
            code_challenge: &request.code_challenge,
            auth_time: now.unix_timestamp(),
            expires_at: timestamp::format(now + Duration::seconds(CODE_SECONDS)),
        };
        grants::insert_code(&mut tx, new_code).await?;
        tx.commit().await?;
        Ok(code)
    }

    /// Exchanges a code for tokens. A code is single-use: presenting it again revokes the
    /// tokens it produced (RFC 6749 §4.1.2), since one of the two presenters stole it.
    pub async fn exchange_code(
        &self,
        issuer: &str,
        client_id: &str,
        client_secret: Option<&str>,
        code: &str,
        redirect_uri: &str,
        code_verifier: &str,
    ) -> Result<Value, IdentityError> {
        self.authenticate_client(client_id, client_secret).await?;
        let code_hash = digest(code);
        let row = grants::code(&self.db, &code_hash).await?;
        let Some(row) = row else {
            return Err(token_error(OAuthError::InvalidGrant, "unknown code"));
        };
        let now = OffsetDateTime::now_utc();
        let mut tx = self.db.begin().await?;
        let fresh = grants::spend_code(&mut tx, timestamp::format(now), &code_hash).await?;
        if !fresh {
            tokens::revoke_family(&mut tx, &code_hash, &timestamp::format(now)).await?;
            tx.commit().await?;
            return Err(token_error(
                OAuthError::InvalidGrant,
                "the code was already used; its tokens are revoked",
            ));
        }
        let checks = [
            (
                row.client_id == client_id,
                "the code was issued to another client",
            ),
            (
                row.redirect_uri == redirect_uri,
                "redirect_uri differs from the authorization request",
            ),
            (
                timestamp::parse(&row.expires_at).is_ok_and(|e| e > now),
                "the code has expired",
            ),
            (
                URL_SAFE_NO_PAD.encode(Sha256::digest(code_verifier.as_bytes()))
                    == row.code_challenge,
                "code_verifier does not match the code_challenge",
            ),
        ];
        if let Some((_, reason)) = checks.iter().find(|(ok, _)| !ok) {
            tx.commit().await?; // the code stays spent
            return Err(token_error(OAuthError::InvalidGrant, *reason));
        }
        let CodeRow {
            account_id,
            scope,
            nonce,
            auth_time,
            ..
        } = row;
        let access_token = issue(
            &mut tx,
            Issued::Access,
            &code_hash,
            &account_id,
            client_id,
            &scope,
            now,
        )
        .await?;
        let refresh_token = issue(
            &mut tx,
            Issued::Refresh,
            &code_hash,
            &account_id,
            client_id,
            &scope,
            now,
        )
        .await?;
        let level = store_accounts::assurance_level_in(&mut tx, &account_id).await?;
        tx.commit().await?;
        let mut claims = json!({
            "iss": issuer,
            "sub": account_id,
            "aud": client_id,
            "iat": now.unix_timestamp(),
            "exp": (now + Duration::seconds(TOKEN_SECONDS)).unix_timestamp(),
            "auth_time": auth_time,
            // The e-ID assurance level (Decree 69/2024) travels as the authentication context.
            "acr": format!("urn:vn:eid:level{level}"),
        });
        if let (Some(nonce), Some(object)) = (nonce, claims.as_object_mut()) {
            object.insert("nonce".into(), Value::String(nonce));
        }
        let id_token = match self.client(client_id).await?.map(|c| c.id_token_alg) {
            Some(IdTokenAlg::Rs256) => self.rsa_signing_key().await?.sign(&claims)?,
            _ => self.signing_key().await?.sign(&claims)?,
        };
        Ok(json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": TOKEN_SECONDS,
            "id_token": id_token,
            "refresh_token": refresh_token,
            "scope": scope,
        }))
    }

    /// A new access token (and the next refresh token) for a refresh token. Presenting a
    /// token that was already used revokes its whole family: one of the two presenters stole
    /// it (OAuth 2.0 Security BCP, RFC 9700 §4.14.2).
    pub async fn refresh(
        &self,
        client_id: &str,
        client_secret: Option<&str>,
        refresh_token: &str,
    ) -> Result<Value, IdentityError> {
        self.authenticate_client(client_id, client_secret).await?;
        let row = tokens::refresh_token(&self.db, digest(refresh_token)).await?;
        let Some(row) = row else {
            return Err(token_error(
                OAuthError::InvalidGrant,
                "unknown refresh token",
            ));
        };
        // A token shown by another client is refused before it is spent: that client may
        // only be mistaken, and the owner must be able to go on using it.
        if row.client_id != client_id {
            return Err(token_error(
                OAuthError::InvalidGrant,
                "the refresh token belongs to another client",
            ));
        }
        let RefreshRow {
            family,
            account_id,
            scope,
            expires_at,
            ..
        } = row;
        let now = OffsetDateTime::now_utc();
        let mut tx = self.db.begin().await?;
        let spent =
            tokens::spend_refresh(&mut tx, timestamp::format(now), digest(refresh_token)).await?;
        if !spent {
            tokens::revoke_family(&mut tx, &family, &timestamp::format(now)).await?;
            tx.commit().await?;
            return Err(token_error(
                OAuthError::InvalidGrant,
                "the refresh token was already used or revoked; its family is revoked",
            ));
        }
        if !timestamp::parse(&expires_at).is_ok_and(|e| e > now) {
            tx.commit().await?;
            return Err(token_error(
                OAuthError::InvalidGrant,
                "the refresh token has expired",
            ));
        }
        let access_token = issue(
            &mut tx,
            Issued::Access,
            &family,
            &account_id,
            client_id,
            &scope,
            now,
        )
        .await?;
        let next = issue(
            &mut tx,
            Issued::Refresh,
            &family,
            &account_id,
            client_id,
            &scope,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(
            json!({ "access_token": access_token, "token_type": "Bearer", "expires_in": TOKEN_SECONDS, "refresh_token": next, "scope": scope }),
        )
    }

    /// Revokes a token presented by the client it was issued to (RFC 7009). A refresh token
    /// takes its whole grant with it, access tokens included (§2.1); an access token goes
    /// alone. Unknown tokens are not an error: the answer must not tell which tokens exist.
    pub async fn revoke_token(
        &self,
        client_id: &str,
        client_secret: Option<&str>,
        token: &str,
    ) -> Result<(), IdentityError> {
        self.authenticate_client(client_id, client_secret).await?;
        let token_hash = digest(token);
        let now = OffsetDateTime::now_utc();
        let mut tx = self.db.begin().await?;
        let family = tokens::refresh_family(&mut tx, &token_hash, client_id).await?;
        match family {
            Some(family) => {
                tokens::revoke_family(&mut tx, &family, &timestamp::format(now)).await?
            }
            None => {
                tokens::revoke_access(&mut tx, timestamp::format(now), &token_hash, client_id)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The claims an access token's scopes release, from the registry; `None` for a token
    /// that is unknown, expired or revoked.
    pub async fn userinfo(&self, access_token: &str) -> Result<Option<Value>, IdentityError> {
        let row = tokens::live_access(&self.db, digest(access_token), timestamp::now()).await?;
        let Some(AccessRow {
            account_id,
            client_id,
            scope,
            personal_id,
        }) = row
        else {
            return Ok(None);
        };
        let personal_id = kernel::PersonalId::parse(&personal_id)
            .map_err(|e| IdentityError::Internal(e.reason))?;
        // The citizen sees the read under the relying party's registered name.
        let relying_party = self
            .client(&client_id)
            .await?
            .map_or(client_id, |client| client.name);
        let record = self
            .population
            .person(
                personal_id,
                Purpose {
                    on_behalf_of: Some(&relying_party),
                    issue: USERINFO_PURPOSE,
                },
            )
            .await?;
        let mut claims = serde_json::Map::new();
        claims.insert("sub".into(), Value::String(account_id));
        if let Some(record) = record {
            for granted in scope.split_whitespace() {
                match granted {
                    "profile" => {
                        claims.insert("name".into(), json!(record.full_name));
                        claims.insert("birthdate".into(), json!(record.birth_date.to_string()));
                        claims.insert("gender".into(), json!(record.sex.as_str()));
                    }
                    "personal_id" => {
                        claims.insert("personal_id".into(), json!(record.personal_id.to_string()));
                    }
                    "address" => {
                        if let Some(address) = &record.permanent_residence {
                            claims.insert("address".into(), json!({ "formatted": address.detail, "region": address.province.to_string(), "country": "VN" }));
                        }
                    }
                    "phone" => {
                        if let Some(phone) = record.phone.as_deref().and_then(e164) {
                            claims.insert("phone_number".into(), json!(phone));
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(Some(Value::Object(claims)))
    }
}

/// Why the e-ID system reads the registry at `/oauth/userinfo`.
const USERINFO_PURPOSE: &str =
    "Đăng nhập bằng định danh điện tử: cung cấp thông tin theo phạm vi công dân đồng ý";

/// A Vietnamese number as OIDC Core §5.1 wants `phone_number`: E.164, `+84` and the
/// national number without its trunk prefix `0`.
fn e164(phone: &str) -> Option<String> {
    let national = phone
        .strip_prefix("+84")
        .or_else(|| phone.strip_prefix('0'))?;
    let digits = national.len();
    ((8..=10).contains(&digits) && national.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("+84{national}"))
}

/// How long each kind of token lives.
fn lifetime(kind: Issued) -> Duration {
    match kind {
        Issued::Access => Duration::seconds(TOKEN_SECONDS),
        Issued::Refresh => Duration::days(REFRESH_DAYS),
    }
}

async fn issue(
    tx: &mut store::Tx,
    kind: Issued,
    family: &str,
    account_id: &str,
    client_id: &str,
    scope: &str,
    now: OffsetDateTime,
) -> Result<String, IdentityError> {
    let token = random_token();
    let new_token = NewToken {
        token_hash: digest(&token),
        family,
        account_id,
        client_id,
        scope,
        expires_at: timestamp::format(now + lifetime(kind)),
    };
    tokens::insert(tx, kind, new_token).await?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::normalise_scope;

    #[test]
    fn phone_numbers_are_written_in_e164() {
        assert_eq!(super::e164("0912345678").as_deref(), Some("+84912345678"));
        assert_eq!(super::e164("+84912345678").as_deref(), Some("+84912345678"));
        assert_eq!(super::e164("912345678"), None);
        assert_eq!(super::e164("09123x5678"), None);
    }

    #[test]
    fn scopes_are_known_sorted_and_need_openid() {
        assert_eq!(
            normalise_scope("profile openid made-up profile").as_deref(),
            Some("openid profile")
        );
        assert_eq!(normalise_scope("profile"), None);
    }
}
