//! Agency systems acting as themselves: the `client_credentials` grant (RFC 6749 §4.4) with
//! `private_key_jwt` client authentication (RFC 7523 §2.2, OpenID Connect Core §9). The
//! client proves itself with a short-lived JWT signed by its own key, so no shared secret
//! exists to leak; the provider keeps only the public key. Access tokens are JWTs (RFC 9068)
//! that the exchange verifies without a database round trip.
//!
//! Issuance reads no database on its hot path: registered keys and the signing key are
//! cached for `CACHE_SECONDS`. Used assertion ids (`jti`) are written to the database, so
//! a replay is refused after a restart or on another node, and remembered in memory too, so
//! a replay within one process costs no round trip; both keep them until the assertion can
//! no longer be accepted (`exp` plus the clock skew). A client disabled by another process stays usable for at most
//! `CACHE_SECONDS` plus the lifetime of the tokens it already holds.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::VerifyingKey;
use p256::pkcs8::DecodePublicKey;
use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use store::timestamp;
use time::OffsetDateTime;

use super::flow::{OAuthError, random_token, token_error};
use super::keys::Key;
use crate::accounts::Identity;
use crate::error::IdentityError;
use crate::store::{assertion_ids, machine_clients};

/// RFC 7523 §2.2: the `client_assertion_type` that announces a JWT.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The audience of machine access tokens: the exchange that accepts them.
pub const EXCHANGE_AUDIENCE: &str = "urn:lienthong:exchange";
/// Short, because a JWT access token cannot be recalled: a disabled client loses access
/// when its last token expires.
pub const MACHINE_TOKEN_SECONDS: i64 = 300;
/// Assertions valid for longer are refused, which bounds how long a `jti` is remembered.
const MAX_ASSERTION_SECONDS: i64 = 600;
const CLOCK_SKEW_SECONDS: i64 = 30;
const CACHE_SECONDS: u64 = 60;
/// Verified access tokens remembered at most.
const VERIFIED_TOKENS: usize = 10_000;

/// What an operator registers for an agency system.
#[derive(Debug, Clone)]
pub struct NewMachineClient {
    pub name: String,
    /// The identity its tokens carry: the exchange subsystem it acts as, for example
    /// `VN/GOV/000.00.00.H41/portal`.
    pub subject: String,
    /// The client's P-256 public key as PEM (SubjectPublicKeyInfo), as `openssl ec -pubout`
    /// writes it.
    pub public_key_pem: String,
    /// Scopes it may ask for; tokens get the requested subset, or all when none is asked.
    pub scopes: Vec<String>,
}

/// A verified machine access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineToken {
    pub client_id: String,
    pub subject: String,
    pub scope: String,
    pub expires_at: i64,
}

/// Why a presented access token is not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenRejected {
    #[error("the access token is not a well-formed JWT: {0}")]
    Malformed(&'static str),
    #[error("the access token's signature does not verify with any published key")]
    BadSignature,
    #[error("the access token has expired")]
    Expired,
    #[error("the access token is not meant for the exchange")]
    WrongAudience,
}

/// A P-256 public key as an uncompressed SEC1 point, verified with `ring` (see keys.rs).
type PublicPoint = Vec<u8>;

pub(super) fn verifies(point: &[u8], compact: &Compact<'_>) -> bool {
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
        .verify(compact.signing_input.as_bytes(), &compact.signature)
        .is_ok()
}

fn point_of(key: &VerifyingKey) -> PublicPoint {
    key.to_encoded_point(false).as_bytes().to_vec()
}

/// The provider's published keys by `kid`.
type PublishedKeys = Vec<(String, PublicPoint)>;

#[derive(Clone)]
pub(crate) struct Registered {
    pub name: String,
    subject: String,
    key: PublicPoint,
    scopes: Vec<String>,
    loaded: Instant,
}

/// In-memory state for issuance and verification; one per `Identity`, shared by its clones.
#[derive(Default)]
pub(crate) struct MachineCache {
    clients: RwLock<HashMap<String, Registered>>,
    signing: RwLock<Option<(Instant, Key)>>,
    published: RwLock<Option<(Instant, PublishedKeys)>>,
    /// `client_id` + `jti` of accepted assertions, with when to forget them (RFC 7523 §3
    /// item 7); the database holds them too (see `first_use`).
    seen: Mutex<HashMap<(String, String), i64>>,
    /// Access tokens already verified, by SHA-256, so a busy client is not re-verified on
    /// every call (a JWT access token cannot change before it expires).
    verified: Mutex<HashMap<[u8; 32], MachineToken>>,
}

impl std::fmt::Debug for MachineCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MachineCache").finish_non_exhaustive()
    }
}

impl MachineCache {
    /// Drops the cached signing and published keys, after a rotation.
    pub(crate) fn forget_keys(&self) {
        if let Ok(mut signing) = self.signing.write() {
            *signing = None;
        }
        if let Ok(mut published) = self.published.write() {
            *published = None;
        }
    }
}

fn fresh(loaded: Instant) -> bool {
    loaded.elapsed().as_secs() < CACHE_SECONDS
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, wanted: &[&str]) -> bool {
        match self {
            Self::One(one) => wanted.contains(&one.as_str()),
            Self::Many(many) => many.iter().any(|a| wanted.contains(&a.as_str())),
        }
    }
}

#[derive(Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    aud: Audience,
    exp: i64,
    jti: String,
    nbf: Option<i64>,
}

#[derive(Deserialize)]
struct AccessClaims {
    sub: String,
    aud: String,
    exp: i64,
    client_id: String,
    scope: String,
}

/// A compact ES256 JWS split into its parts, signature checked by the caller.
pub(super) struct Compact<'a> {
    signing_input: &'a str,
    header: Header,
    pub payload: Vec<u8>,
    /// ES256: r and s, 32 bytes each (RFC 7518 §3.4).
    signature: Vec<u8>,
}

impl Compact<'_> {
    pub(super) fn header_kid(&self) -> Option<&str> {
        self.header.kid.as_deref()
    }
}

pub(super) fn split_compact(token: &str) -> Result<Compact<'_>, &'static str> {
    let (signing_input, signature) = token.rsplit_once('.').ok_or("it has no signature part")?;
    let (header, payload) = signing_input
        .split_once('.')
        .ok_or("it has no payload part")?;
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| "a part is not base64url")
    };
    let header: Header = serde_json::from_slice(&decode(header)?)
        .map_err(|_| "the header is not the expected JSON")?;
    if header.alg != "ES256" {
        return Err("alg must be ES256");
    }
    let signature = decode(signature)?;
    if signature.len() != 64 {
        return Err("the signature is not an ES256 signature");
    }
    Ok(Compact {
        signing_input,
        header,
        payload: decode(payload)?,
        signature,
    })
}

/// The client's side of `private_key_jwt`: an assertion for `client_id`, addressed to the
/// token endpoint, valid for `seconds`, with a fresh `jti`. For agency systems built on this
/// code base (and the benchmarks and tests that play one).
pub fn sign_client_assertion(
    key: &p256::ecdsa::SigningKey,
    client_id: &str,
    token_endpoint: &str,
    seconds: i64,
) -> Result<String, IdentityError> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let claims = json!({ "iss": client_id, "sub": client_id, "aud": token_endpoint,
                         "iat": now, "exp": now + seconds, "jti": random_token() });
    Key::ephemeral(key.clone())?.sign(&claims)
}

fn check_scope_name(scope: &str) -> Result<(), IdentityError> {
    let valid = !scope.is_empty()
        && scope
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b".:_-".contains(&b));
    if valid {
        Ok(())
    } else {
        Err(IdentityError::Invalid {
            field: "scope",
            reason: format!("{scope:?}: use lower-case letters, digits and . : _ -"),
        })
    }
}

impl Identity {
    /// Registers an agency system; returns its `client_id`.
    pub async fn register_machine_client(
        &self,
        client: NewMachineClient,
    ) -> Result<String, IdentityError> {
        let invalid = |field, reason: &str| IdentityError::Invalid {
            field,
            reason: reason.into(),
        };
        if client.name.trim().is_empty() {
            return Err(invalid("name", "is required"));
        }
        if client.subject.trim().is_empty() || client.subject.chars().any(char::is_whitespace) {
            return Err(invalid("subject", "is required and has no spaces"));
        }
        VerifyingKey::from_public_key_pem(client.public_key_pem.trim()).map_err(|_| {
            invalid(
                "public_key",
                "must be a P-256 public key in PEM (BEGIN PUBLIC KEY)",
            )
        })?;
        if client.scopes.is_empty() {
            return Err(invalid("scope", "give at least one"));
        }
        for scope in &client.scopes {
            check_scope_name(scope)?;
        }
        let client_id = uuid::Uuid::now_v7().simple().to_string();
        let mut tx = self.db.begin().await?;
        let registered = machine_clients::NewMachineClient {
            client_id: &client_id,
            name: client.name.trim(),
            subject: client.subject.trim(),
            public_key: client.public_key_pem.trim(),
            scopes: client.scopes.join(" "),
            created_at: timestamp::now(),
        };
        machine_clients::insert(&mut tx, registered).await?;
        tx.commit().await?;
        Ok(client_id)
    }

    /// Stops a client from getting new tokens; returns false for an unknown client.
    pub async fn disable_machine_client(&self, client_id: &str) -> Result<bool, IdentityError> {
        let mut tx = self.db.begin().await?;
        let done = machine_clients::disable(&mut tx, timestamp::now(), client_id).await?;
        tx.commit().await?;
        if let Ok(mut clients) = self.machine.clients.write() {
            clients.remove(client_id);
        }
        Ok(done)
    }

    pub(crate) async fn machine_client(
        &self,
        client_id: &str,
    ) -> Result<Option<Registered>, IdentityError> {
        let cached = self
            .machine
            .clients
            .read()
            .ok()
            .and_then(|clients| clients.get(client_id).cloned());
        if let Some(registered) = cached.filter(|r| fresh(r.loaded)) {
            return Ok(Some(registered));
        }
        let row = machine_clients::enabled(&self.db, client_id).await?;
        let Some(row) = row else { return Ok(None) };
        let key = VerifyingKey::from_public_key_pem(&row.public_key)
            .map_err(|e| IdentityError::Internal(format!("stored client key: {e}")))?;
        let registered = Registered {
            name: row.name,
            subject: row.subject,
            key: point_of(&key),
            scopes: row.scopes.split_whitespace().map(str::to_owned).collect(),
            loaded: Instant::now(),
        };
        if let Ok(mut clients) = self.machine.clients.write() {
            clients.insert(client_id.to_owned(), registered.clone());
        }
        Ok(Some(registered))
    }

    async fn cached_signing_key(&self) -> Result<Key, IdentityError> {
        let cached = self.machine.signing.read().ok().and_then(|s| s.clone());
        if let Some((_, key)) = cached.filter(|(loaded, _)| fresh(*loaded)) {
            return Ok(key);
        }
        let key = self.signing_key().await?;
        if let Ok(mut signing) = self.machine.signing.write() {
            *signing = Some((Instant::now(), key.clone()));
        }
        Ok(key)
    }

    /// Records an assertion id; false when it was already used. An id is kept until its
    /// assertion would be refused as expired (`exp` plus the clock skew), not a second less,
    /// or it could be replayed in between; forgetting older ones keeps the memory and the
    /// table bounded by the assertions of the last ten minutes.
    async fn first_use(
        &self,
        client_id: &str,
        jti: &str,
        exp: i64,
        now: i64,
    ) -> Result<bool, IdentityError> {
        let forget_at = exp + CLOCK_SKEW_SECONDS;
        let key = (client_id.to_owned(), jti.to_owned());
        {
            let Ok(mut seen) = self.machine.seen.lock() else {
                return Ok(false);
            };
            if seen.len() >= 4096 && seen.len().is_power_of_two() {
                seen.retain(|_, forget| *forget >= now);
            }
            if seen.insert(key, forget_at).is_some() {
                return Ok(false);
            }
        }
        let mut tx = self.db.begin().await?;
        assertion_ids::forget_before(&mut tx, now).await?;
        let recorded = assertion_ids::record(&mut tx, client_id, jti, forget_at).await?;
        tx.commit().await?;
        Ok(recorded)
    }

    /// The `client_credentials` grant: checks the client's signed assertion and issues an
    /// access token for its subject. `token_endpoint` and `issuer` are the audiences an
    /// assertion may name.
    pub async fn client_credentials(
        &self,
        issuer: &str,
        assertion_type: Option<&str>,
        assertion: Option<&str>,
        form_client_id: Option<&str>,
        requested_scope: Option<&str>,
    ) -> Result<Value, IdentityError> {
        if assertion_type != Some(ASSERTION_TYPE) {
            return Err(token_error(
                OAuthError::InvalidClient,
                format!("client_assertion_type must be {ASSERTION_TYPE} (private_key_jwt)"),
            ));
        }
        let Some(assertion) = assertion else {
            return Err(token_error(
                OAuthError::InvalidClient,
                "client_assertion is required",
            ));
        };
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let compact = match split_compact(assertion) {
            Ok(compact) => compact,
            Err(reason) => {
                return Err(token_error(
                    OAuthError::InvalidClient,
                    format!("client_assertion: {reason}"),
                ));
            }
        };
        let Ok(claims) = serde_json::from_slice::<AssertionClaims>(&compact.payload) else {
            return Err(token_error(
                OAuthError::InvalidClient,
                "client_assertion must carry iss, sub, aud, exp and jti",
            ));
        };
        if claims.iss != claims.sub || form_client_id.is_some_and(|id| id != claims.iss) {
            return Err(token_error(
                OAuthError::InvalidClient,
                "iss and sub of the assertion must both be the client_id",
            ));
        }
        let Some(client) = self.machine_client(&claims.iss).await? else {
            return Err(token_error(
                OAuthError::InvalidClient,
                "unknown or disabled client",
            ));
        };
        if !verifies(&client.key, &compact) {
            return Err(token_error(
                OAuthError::InvalidClient,
                "the assertion's signature does not verify with the registered key",
            ));
        }
        let token_endpoint = format!("{issuer}/oauth/token");
        let problem = if !claims.aud.contains(&[issuer, &token_endpoint]) {
            Some("aud must be the token endpoint or the issuer")
        } else if claims.exp + CLOCK_SKEW_SECONDS < now {
            Some("the assertion has expired")
        } else if claims.exp > now + MAX_ASSERTION_SECONDS {
            Some("the assertion is valid for too long (at most 600 s)")
        } else if claims.nbf.is_some_and(|nbf| nbf > now + CLOCK_SKEW_SECONDS) {
            Some("the assertion is not valid yet")
        } else {
            None
        };
        let problem = match problem {
            None if !self
                .first_use(&claims.iss, &claims.jti, claims.exp, now)
                .await? =>
            {
                Some("this assertion (jti) was already used")
            }
            problem => problem,
        };
        if let Some(reason) = problem {
            return Err(token_error(OAuthError::InvalidClient, reason));
        }
        let scope = match requested_scope.filter(|s| !s.trim().is_empty()) {
            None => client.scopes.join(" "),
            Some(requested) => {
                let asked: Vec<&str> = requested.split_whitespace().collect();
                if let Some(denied) = asked
                    .iter()
                    .find(|s| !client.scopes.iter().any(|c| c == *s))
                {
                    return Err(token_error(
                        OAuthError::InvalidScope,
                        format!("scope {denied:?} is not registered for this client"),
                    ));
                }
                asked.join(" ")
            }
        };
        let claims = json!({
            "iss": issuer,
            "sub": client.subject,
            "aud": EXCHANGE_AUDIENCE,
            "client_id": claims.iss,
            "scope": scope,
            "iat": now,
            "exp": now + MACHINE_TOKEN_SECONDS,
            "jti": random_token(),
        });
        let access_token = self
            .cached_signing_key()
            .await?
            .sign_typed(&claims, "at+jwt")?;
        Ok(json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": MACHINE_TOKEN_SECONDS,
            "scope": scope,
        }))
    }

    async fn published_verifying_keys(
        &self,
        refresh: bool,
    ) -> Result<PublishedKeys, IdentityError> {
        let cached = self.machine.published.read().ok().and_then(|p| p.clone());
        // A reload for an unknown kid happens at most once a second: tokens with made-up key
        // ids must not turn every request into a database read.
        let keep = |loaded: &Instant| {
            fresh(*loaded) && !(refresh && loaded.elapsed() >= Duration::from_secs(1))
        };
        if let Some((_, keys)) = cached.filter(|(loaded, _)| keep(loaded)) {
            return Ok(keys);
        }
        let keys: PublishedKeys = self
            .published_keys()
            .await?
            .iter()
            .map(|key| (key.kid.clone(), key.public_point()))
            .collect();
        if let Ok(mut published) = self.machine.published.write() {
            *published = Some((Instant::now(), keys.clone()));
        }
        Ok(keys)
    }

    /// Checks a machine access token as the exchange receives it; a token it must not accept
    /// is `IdentityError::TokenRejected`.
    pub async fn verify_machine_token(&self, token: &str) -> Result<MachineToken, IdentityError> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let remembered = self
            .machine
            .verified
            .lock()
            .ok()
            .and_then(|verified| verified.get(&digest).cloned())
            .filter(|token| token.expires_at >= now);
        if let Some(token) = remembered {
            return Ok(token);
        }
        let checked = self.check_machine_token(token).await?;
        if let Ok(mut verified) = self.machine.verified.lock() {
            if verified.len() >= VERIFIED_TOKENS {
                verified.retain(|_, token| token.expires_at >= now);
            }
            if verified.len() < VERIFIED_TOKENS {
                verified.insert(digest, checked.clone());
            }
        }
        Ok(checked)
    }

    /// The signature and claims of a machine access token.
    async fn check_machine_token(&self, token: &str) -> Result<MachineToken, IdentityError> {
        let compact = match split_compact(token) {
            Ok(compact) => compact,
            Err(reason) => return Err(TokenRejected::Malformed(reason).into()),
        };
        // Claims that refuse the token are read before the signature is checked: a refusal
        // does not depend on who wrote them, and a client that keeps sending its expired
        // token then costs a JSON parse per call, not an ECDSA verification.
        let Ok(claims) = serde_json::from_slice::<AccessClaims>(&compact.payload) else {
            return Err(TokenRejected::Malformed("claims are missing").into());
        };
        if claims.aud != EXCHANGE_AUDIENCE {
            return Err(TokenRejected::WrongAudience.into());
        }
        if claims.exp < OffsetDateTime::now_utc().unix_timestamp() {
            return Err(TokenRejected::Expired.into());
        }
        let kid = compact.header.kid.as_deref().unwrap_or_default();
        let mut keys = self.published_verifying_keys(false).await?;
        if !keys.iter().any(|(k, _)| k == kid) {
            // A key rotated in since the cache was filled.
            keys = self.published_verifying_keys(true).await?;
        }
        let Some((_, key)) = keys.iter().find(|(k, _)| k == kid) else {
            return Err(TokenRejected::BadSignature.into());
        };
        if !verifies(key, &compact) {
            return Err(TokenRejected::BadSignature.into());
        }
        Ok(MachineToken {
            client_id: claims.client_id,
            subject: claims.sub,
            scope: claims.scope,
            expires_at: claims.exp,
        })
    }
}
