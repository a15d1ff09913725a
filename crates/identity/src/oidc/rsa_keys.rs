//! RS256 signing keys (RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 §3.3) for relying parties
//! registered with `id_token_signed_response_alg` RS256 (OpenID Connect Dynamic Client
//! Registration §2). Sealed, published and rotated like the ES256 keys in keys.rs; see
//! docs/adr/0017-rs256-id-tokens.md.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rsa::RsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};

use crate::accounts::Identity;
use crate::error::IdentityError;
use crate::store::signing_keys::KeyTable;

/// RFC 7518 §3.3: at least 2048 bits.
const MODULUS_BITS: usize = 2048;

/// An RSA signing key. `rsa` makes it; `ring` signs with it, in constant time.
#[derive(Clone)]
pub(crate) struct RsaKey {
    pub kid: String,
    pair: Arc<RsaKeyPair>,
    modulus: Vec<u8>,
    exponent: Vec<u8>,
}

impl RsaKey {
    fn from_pkcs8(kid: String, der: &[u8]) -> Result<Self, IdentityError> {
        let private = RsaPrivateKey::from_pkcs8_der(der)
            .map_err(|e| IdentityError::Internal(format!("reading an RSA signing key: {e}")))?;
        let pair = RsaKeyPair::from_pkcs8(der)
            .map_err(|e| IdentityError::Internal(format!("loading an RSA signing key: {e}")))?;
        Ok(Self {
            kid,
            pair: Arc::new(pair),
            modulus: private.n().to_bytes_be(),
            exponent: private.e().to_bytes_be(),
        })
    }

    fn jwk(&self) -> Value {
        json!({ "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
                "n": URL_SAFE_NO_PAD.encode(&self.modulus),
                "e": URL_SAFE_NO_PAD.encode(&self.exponent) })
    }

    /// A compact JWS (RFC 7515) over `claims`, signed RS256.
    pub fn sign(&self, claims: &Value) -> Result<String, IdentityError> {
        let header = json!({ "alg": "RS256", "typ": "JWT", "kid": self.kid });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0_u8; self.pair.public().modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|e| IdentityError::Internal(format!("signing: {e}")))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(&signature)
        ))
    }
}

/// The row an RSA signing key is sealed for (see sealing.rs).
fn key_context(kid: &str) -> String {
    format!("oidc-rsa-signing-key:{kid}")
}

impl Identity {
    pub(super) async fn published_rsa_keys(&self) -> Result<Vec<RsaKey>, IdentityError> {
        self.unsealed_keys(KeyTable::Rsa, key_context)
            .await?
            .into_iter()
            .map(|(kid, opened)| {
                let der = URL_SAFE_NO_PAD
                    .decode(opened)
                    .map_err(|e| IdentityError::Internal(e.to_string()))?;
                RsaKey::from_pkcs8(kid, &der)
            })
            .collect()
    }

    /// The RSA key to sign with now: the newest, made on first use.
    pub(crate) async fn rsa_signing_key(&self) -> Result<RsaKey, IdentityError> {
        if let Some(key) = self.published_rsa_keys().await?.into_iter().next() {
            return Ok(key);
        }
        self.add_rsa_signing_key().await?;
        self.published_rsa_keys()
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| IdentityError::Internal("no RSA signing key".into()))
    }

    /// Adds a new RSA signing key and retires all but it and its predecessor, as
    /// `rotate_signing_key` does for ES256.
    pub(super) async fn add_rsa_signing_key(&self) -> Result<String, IdentityError> {
        // Finding two 1024-bit primes takes from a tenth of a second to seconds: off the
        // request threads.
        let der = tokio::task::spawn_blocking(|| {
            RsaPrivateKey::new(&mut rand::rngs::OsRng, MODULUS_BITS)
                .and_then(|key| key.to_pkcs8_der().map_err(rsa::Error::from))
                .map(|der| der.as_bytes().to_vec())
        })
        .await
        .map_err(|e| IdentityError::Internal(format!("making an RSA key: {e}")))?
        .map_err(|e| IdentityError::Internal(format!("making an RSA key: {e}")))?;
        self.store_sealed_key(KeyTable::Rsa, &URL_SAFE_NO_PAD.encode(&der), key_context)
            .await
    }

    /// The payload of an RS256 compact JWS signed with a published RSA key, or None (an
    /// `id_token_hint` of an RS256 client, OpenID Connect RP-Initiated Logout §2).
    pub(super) async fn rs256_payload(&self, token: &str) -> Option<Vec<u8>> {
        #[derive(serde::Deserialize)]
        struct Header {
            alg: String,
            kid: String,
        }
        let (signing_input, signature) = token.rsplit_once('.')?;
        let (header, payload) = signing_input.split_once('.')?;
        let header: Header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
        if header.alg != "RS256" {
            return None;
        }
        let keys = self.published_rsa_keys().await.ok()?;
        let key = keys.iter().find(|key| key.kid == header.kid)?;
        let public = ring::rsa::PublicKeyComponents {
            n: &key.modulus,
            e: &key.exponent,
        };
        public
            .verify(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                signing_input.as_bytes(),
                &URL_SAFE_NO_PAD.decode(signature).ok()?,
            )
            .ok()?;
        URL_SAFE_NO_PAD.decode(payload).ok()
    }

    /// The JWKs of every published RSA key, made on first use so relying parties can fetch
    /// it before the first RS256 token.
    pub(super) async fn rsa_jwks(&self) -> Result<Vec<Value>, IdentityError> {
        self.rsa_signing_key().await?;
        Ok(self
            .published_rsa_keys()
            .await?
            .iter()
            .map(RsaKey::jwk)
            .collect())
    }
}
