//! Server-side sessions. The browser holds a random 256-bit token; the database keeps only
//! its SHA-256, so a copy of the database cannot be used to sign in.

use axum::extract::{Request, State};
use axum::http::header::COOKIE;
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kernel::{PersonalId, Role};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use store::{Tx, timestamp};
use time::{Duration, OffsetDateTime};
use web::Principal;
use web::auth::{ActingFor, AgencyRole};

use crate::accounts::Identity;
use crate::error::IdentityError;
use crate::store::accounts as store_accounts;
use crate::store::sessions::{self as store_sessions, Ended, NewSession};

pub const SESSION_COOKIE: &str = "lt_session";
/// How long a session lasts; the cookie's Max-Age says the same.
pub(crate) const SESSION_SECONDS: i64 = 12 * 3600;

pub(crate) fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How a session was opened, shown in the person's list of sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignInMethod {
    Password,
    /// A right password; the session waits for a TOTP code before it signs anyone in.
    PasswordAndCode,
    Passkey,
}

impl SignInMethod {
    fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::PasswordAndCode => "password_totp",
            Self::Passkey => "passkey",
        }
    }
}

/// Opens a session. After a password with a second factor set up, it signs nobody in until
/// the code is given.
pub(crate) async fn open(
    tx: &mut Tx,
    account_id: &str,
    user_agent: &str,
    method: SignInMethod,
) -> Result<String, IdentityError> {
    let pending_code = method == SignInMethod::PasswordAndCode;
    insert(tx, account_id, user_agent, method, pending_code).await
}

/// Ends the session that waited for a code and opens a complete one in its place, under a
/// new token, so a token planted or seen before the code is worth nothing after it.
pub(crate) async fn renew_after_code(
    tx: &mut Tx,
    pending_token: &str,
) -> Result<String, IdentityError> {
    let row = store_sessions::end_pending(tx, timestamp::now(), digest(pending_token)).await?;
    // Another request completed (or ended) this sign-in first.
    let Some(Ended {
        account_id,
        user_agent,
    }) = row
    else {
        return Err(IdentityError::BadCredentials);
    };
    insert(
        tx,
        &account_id,
        &user_agent,
        SignInMethod::PasswordAndCode,
        false,
    )
    .await
}

async fn insert(
    tx: &mut Tx,
    account_id: &str,
    user_agent: &str,
    method: SignInMethod,
    pending_code: bool,
) -> Result<String, IdentityError> {
    let mut bytes = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let now = OffsetDateTime::now_utc();
    let session = NewSession {
        token_hash: digest(&token),
        account_id,
        created_at: timestamp::format(now),
        expires_at: timestamp::format(now + Duration::seconds(SESSION_SECONDS)),
        user_agent: user_agent.chars().take(200).collect(),
        pending_code,
        method: method.as_str(),
    };
    store_sessions::insert(tx, session).await?;
    Ok(token)
}

/// A session as its owner sees it in the list; `id` is a prefix of the token's hash, enough
/// to revoke it, useless to sign in with.
#[derive(Debug, Clone, Serialize)]
pub struct SessionInfo {
    pub id: String,
    #[serde(with = "kernel::timestamp::text")]
    pub created_at: OffsetDateTime,
    #[serde(with = "kernel::timestamp::text")]
    pub expires_at: OffsetDateTime,
    pub user_agent: String,
    /// `password`, `password_totp` or `passkey`.
    pub method: String,
    pub current: bool,
}

impl Identity {
    /// The person behind a live session token.
    pub async fn principal(&self, token: &str) -> Result<Option<Principal>, IdentityError> {
        Ok(self.session(token).await?.map(|(principal, _)| principal))
    }

    /// The person behind a live session token, and the citizen they are acting for, if the
    /// session acts under a mandate that is still active.
    pub async fn session(
        &self,
        token: &str,
    ) -> Result<Option<(Principal, Option<ActingFor>)>, IdentityError> {
        let row = store_sessions::live(&self.db, digest(token), timestamp::now()).await?;
        let Some(row) = row else { return Ok(None) };
        let account_id = row.id;
        let personal_id =
            PersonalId::parse(&row.personal_id).map_err(|e| IdentityError::Internal(e.reason))?;
        let grants = store_accounts::grants(&self.db, &account_id).await?;
        let mut roles = Vec::with_capacity(grants.len());
        for store_accounts::Grant { agency, role } in grants {
            // Before roles were a closed list any text could be granted; such a grant
            // was never checked by anything, so it grants nothing now either.
            match Role::parse(&role) {
                Ok(role) => roles.push(AgencyRole { agency, role }),
                Err(_) => {
                    tracing::warn!(account = %account_id, %role, "ignoring a grant of an unknown role");
                }
            }
        }
        let full_name = self.name_of(&personal_id.to_string()).await?;
        let principal = Principal {
            account_id,
            personal_id,
            full_name,
            assurance_level: u8::try_from(row.assurance_level).unwrap_or(1),
            roles,
        };
        // Acting ends when the mandate does, or when the helper loses the role.
        let acting = match row.acting_mandate {
            Some(mandate) if principal.agency_with(Role::AssistHelper).is_some() => {
                self.acting_for(&mandate, &principal.account_id).await?
            }
            _ => None,
        };
        Ok(Some((principal, acting)))
    }

    pub async fn sessions(
        &self,
        account_id: &str,
        current_token: Option<&str>,
    ) -> Result<Vec<SessionInfo>, IdentityError> {
        let current = current_token.map(digest);
        let rows = store_sessions::listed(&self.db, account_id, timestamp::now()).await?;
        rows.into_iter()
            .map(|row| {
                Ok(SessionInfo {
                    id: row.token_hash.chars().take(16).collect(),
                    current: current.as_deref() == Some(row.token_hash.as_str()),
                    created_at: timestamp::parse(&row.created_at)?,
                    expires_at: timestamp::parse(&row.expires_at)?,
                    user_agent: row.user_agent,
                    method: row.method,
                })
            })
            .collect()
    }

    /// Ends one of the account's sessions, named by its listed id.
    pub async fn revoke(&self, account_id: &str, session_id: &str) -> Result<bool, IdentityError> {
        if session_id.len() != 16 || !session_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(false);
        }
        let mut tx = self.db.begin().await?;
        let revoked =
            store_sessions::revoke_by_prefix(&mut tx, timestamp::now(), account_id, session_id)
                .await?;
        tx.commit().await?;
        Ok(revoked > 0)
    }

    pub async fn logout(&self, token: &str) -> Result<(), IdentityError> {
        let mut tx = self.db.begin().await?;
        store_sessions::revoke(&mut tx, timestamp::now(), digest(token)).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The session token from the request's cookies.
pub fn session_token(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// Middleware: puts the [`Principal`] of a live session into the request's extensions, and
/// beside it the [`ActingFor`] of a helper acting under an active mandate.
pub async fn resolve_session(
    State(identity): State<Identity>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(token) = session_token(request.headers()) {
        match identity.session(&token).await {
            Ok(Some((principal, acting))) => {
                request.extensions_mut().insert(principal);
                if let Some(acting) = acting {
                    request.extensions_mut().insert(acting);
                }
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "session lookup failed"),
        }
    }
    next.run(request).await
}
