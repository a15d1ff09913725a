//! ES256 signing keys (ECDSA on P-256, RFC 7518 §3.4) for ID tokens, published as a JSON Web
//! Key Set. Rotation adds a key and signs with it at once; the previous key stays published
//! so tokens it signed still verify, and older ones are retired.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::elliptic_curve::rand_core::OsRng;
use serde_json::{Value, json};
use sqlx::Row;
use store::timestamp;

use crate::accounts::{Identity, IdentityError};

pub(crate) struct Key {
    pub kid: String,
    signing: SigningKey,
}

impl Key {
    fn jwk(&self) -> Value {
        let point = self.signing.verifying_key().to_encoded_point(false);
        let coordinate =
            |c: Option<&p256::FieldBytes>| c.map(|c| URL_SAFE_NO_PAD.encode(c)).unwrap_or_default();
        json!({ "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid,
                "x": coordinate(point.x()), "y": coordinate(point.y()) })
    }

    /// A compact JWS (RFC 7515) over `claims`.
    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({ "alg": "ES256", "typ": "JWT", "kid": self.kid });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature: Signature = self.signing.sign(signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        )
    }
}

fn decode(kid: String, stored: &str) -> Result<Key, IdentityError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(stored)
        .map_err(|e| IdentityError::Internal(e.to_string()))?;
    let signing =
        SigningKey::from_slice(&bytes).map_err(|e| IdentityError::Internal(e.to_string()))?;
    Ok(Key { kid, signing })
}

impl Identity {
    async fn published_keys(&self) -> Result<Vec<Key>, IdentityError> {
        let rows = sqlx::query("SELECT kid, private_key FROM oidc_signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, kid")
            .fetch_all(self.db.reader())
            .await?;
        rows.iter()
            .map(|row| {
                decode(
                    row.try_get("kid")?,
                    &row.try_get::<String, _>("private_key")?,
                )
            })
            .collect()
    }

    /// The key to sign with now: the newest, made on first use.
    pub(crate) async fn signing_key(&self) -> Result<Key, IdentityError> {
        match self.published_keys().await?.into_iter().next() {
            Some(key) => Ok(key),
            None => {
                self.rotate_signing_key().await?;
                self.published_keys()
                    .await?
                    .into_iter()
                    .next()
                    .ok_or_else(|| IdentityError::Internal("no signing key".into()))
            }
        }
    }

    /// Adds a new signing key and retires all but it and its predecessor.
    pub async fn rotate_signing_key(&self) -> Result<String, IdentityError> {
        let signing = SigningKey::random(&mut OsRng);
        let kid = uuid::Uuid::now_v7().simple().to_string();
        let now = timestamp::now();
        let mut tx = self.db.begin().await?;
        sqlx::query(
            "INSERT INTO oidc_signing_keys (kid, private_key, created_at) VALUES ($1, $2, $3)",
        )
        .bind(&kid)
        .bind(URL_SAFE_NO_PAD.encode(signing.to_bytes()))
        .bind(&now)
        .execute(tx.conn())
        .await?;
        sqlx::query(
            "UPDATE oidc_signing_keys SET retired_at = $1 WHERE retired_at IS NULL AND kid NOT IN \
             (SELECT kid FROM oidc_signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, kid LIMIT 2)",
        )
        .bind(&now)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(kid)
    }

    /// The JSON Web Key Set with every published key.
    pub async fn jwks(&self) -> Result<Value, IdentityError> {
        self.signing_key().await?;
        Ok(json!({ "keys": self.published_keys().await?.iter().map(Key::jwk).collect::<Vec<_>>() }))
    }
}
