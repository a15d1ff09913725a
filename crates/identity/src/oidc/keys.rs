//! ES256 signing keys (ECDSA on P-256, RFC 7518 §3.4) for ID tokens, published as a JSON Web
//! Key Set. Rotation adds a key and signs with it at once; the previous key stays published
//! so tokens it signed still verify, and older ones are retired.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::SigningKey;
use p256::elliptic_curve::rand_core::OsRng;
use p256::pkcs8::EncodePrivateKey;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use serde_json::{Value, json};
use store::timestamp;

use crate::accounts::Identity;
use crate::error::IdentityError;
use crate::store::signing_keys::{self, KeyTable};

/// A signing key. Signing goes through `ring`, whose assembly P-256 is several times faster
/// than the portable implementation; `p256` still makes keys and writes their JWK.
#[derive(Clone)]
pub(crate) struct Key {
    pub kid: String,
    signing: SigningKey,
    fast: std::sync::Arc<EcdsaKeyPair>,
}

impl Key {
    fn jwk(&self) -> Value {
        let point = self.signing.verifying_key().to_encoded_point(false);
        let coordinate =
            |c: Option<&p256::FieldBytes>| c.map(|c| URL_SAFE_NO_PAD.encode(c)).unwrap_or_default();
        json!({ "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid,
                "x": coordinate(point.x()), "y": coordinate(point.y()) })
    }

    fn new(kid: String, signing: SigningKey) -> Result<Self, IdentityError> {
        let pkcs8 = signing
            .to_pkcs8_der()
            .map_err(|e| IdentityError::Internal(format!("encoding a signing key: {e}")))?;
        let fast = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            pkcs8.as_bytes(),
            &SystemRandom::new(),
        )
        .map_err(|e| IdentityError::Internal(format!("loading a signing key: {e}")))?;
        Ok(Self {
            kid,
            signing,
            fast: std::sync::Arc::new(fast),
        })
    }

    /// A key that is published nowhere, for signing as a client.
    pub fn ephemeral(signing: SigningKey) -> Result<Self, IdentityError> {
        Self::new(String::new(), signing)
    }

    /// The public key as an uncompressed SEC1 point, the form `ring` verifies with.
    pub fn public_point(&self) -> Vec<u8> {
        self.signing
            .verifying_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec()
    }

    /// A compact JWS (RFC 7515) over `claims`.
    pub fn sign(&self, claims: &Value) -> Result<String, IdentityError> {
        self.sign_typed(claims, "JWT")
    }

    /// As `sign`, with the media type `typ` in the header (`at+jwt` for access tokens,
    /// RFC 9068 §2.1).
    pub fn sign_typed(&self, claims: &Value, typ: &str) -> Result<String, IdentityError> {
        let header = json!({ "alg": "ES256", "typ": typ, "kid": self.kid });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .fast
            .sign(&SystemRandom::new(), signing_input.as_bytes())
            .map_err(|e| IdentityError::Internal(format!("signing: {e}")))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        ))
    }
}

fn decode(kid: String, stored: &str) -> Result<Key, IdentityError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(stored)
        .map_err(|e| IdentityError::Internal(e.to_string()))?;
    let signing =
        SigningKey::from_slice(&bytes).map_err(|e| IdentityError::Internal(e.to_string()))?;
    Key::new(kid, signing)
}

/// The row a signing key is sealed for (see sealing.rs).
fn key_context(kid: &str) -> String {
    format!("oidc-signing-key:{kid}")
}

impl Identity {
    pub(super) async fn published_keys(&self) -> Result<Vec<Key>, IdentityError> {
        self.unsealed_keys(KeyTable::Es256, key_context)
            .await?
            .into_iter()
            .map(|(kid, opened)| decode(kid, &opened))
            .collect()
    }

    /// Stores a new key in `table` under a fresh kid, sealed for `context(kid)`, and retires
    /// all but the two newest: the new one signs, the one before stays published for tokens
    /// already issued.
    pub(super) async fn store_sealed_key(
        &self,
        table: KeyTable,
        private_key: &str,
        context: fn(&str) -> String,
    ) -> Result<String, IdentityError> {
        let kid = uuid::Uuid::now_v7().simple().to_string();
        let now = timestamp::now();
        let mut tx = self.db.begin().await?;
        let sealed = self.sealing.seal(private_key, &context(&kid))?;
        signing_keys::add(&mut tx, table, &kid, sealed, &now).await?;
        tx.commit().await?;
        Ok(kid)
    }

    /// The `(kid, private_key)` of the keys `table` publishes, newest first, each unsealed
    /// for the context `context(kid)` it was sealed for.
    pub(super) async fn unsealed_keys(
        &self,
        table: KeyTable,
        context: fn(&str) -> String,
    ) -> Result<Vec<(String, String)>, IdentityError> {
        let rows = signing_keys::published(&self.db, table).await?;
        rows.into_iter()
            .map(|row| {
                let opened = self.sealing.open(&row.private_key, &context(&row.kid))?;
                Ok((row.kid, opened))
            })
            .collect()
    }

    /// The key to sign with now: the newest, made on first use.
    pub(crate) async fn signing_key(&self) -> Result<Key, IdentityError> {
        match self.published_keys().await?.into_iter().next() {
            Some(key) => Ok(key),
            None => {
                self.add_signing_key().await?;
                self.published_keys()
                    .await?
                    .into_iter()
                    .next()
                    .ok_or_else(|| IdentityError::Internal("no signing key".into()))
            }
        }
    }

    /// Adds a new signing key and retires all but it and its predecessor; the RSA keys for
    /// RS256 ID tokens rotate with it. Returns the new ES256 key's id.
    pub async fn rotate_signing_key(&self) -> Result<String, IdentityError> {
        let kid = self.add_signing_key().await?;
        self.add_rsa_signing_key().await?;
        Ok(kid)
    }

    /// Adds a new ES256 signing key and retires all but it and its predecessor.
    async fn add_signing_key(&self) -> Result<String, IdentityError> {
        let signing = SigningKey::random(&mut OsRng);
        let kid = self
            .store_sealed_key(
                KeyTable::Es256,
                &URL_SAFE_NO_PAD.encode(signing.to_bytes()),
                key_context,
            )
            .await?;
        // Machine tokens are signed with the new key from now on, and the exchange accepts it
        // at once instead of waiting for its once-a-second reload on an unknown kid.
        self.machine.forget_keys();
        Ok(kid)
    }

    /// The JSON Web Key Set with every published key.
    pub async fn jwks(&self) -> Result<Value, IdentityError> {
        self.signing_key().await?;
        let mut keys: Vec<Value> = self.published_keys().await?.iter().map(Key::jwk).collect();
        keys.extend(self.rsa_jwks().await?);
        Ok(json!({ "keys": keys }))
    }
}
