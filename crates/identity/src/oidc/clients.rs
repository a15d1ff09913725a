//! Relying parties (agency systems, banks) registered by an operator. Redirect URIs are
//! compared exactly, character for character (OAuth 2.0 Security BCP, RFC 9700 §4.1.3).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use store::timestamp;

use crate::accounts::Identity;
use crate::error::IdentityError;
use crate::sessions::digest;
use crate::store::clients as store_clients;

#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub(crate) secret_hash: Option<String>,
    pub id_token_alg: IdTokenAlg,
}

/// The algorithm a relying party's ID tokens are signed with, its
/// `id_token_signed_response_alg` (OpenID Connect Dynamic Client Registration §2). The
/// specification's default is RS256; this provider's is ES256, which every client
/// registered before RS256 existed relies on (docs/adr/0017-rs256-id-tokens.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IdTokenAlg {
    #[default]
    Es256,
    Rs256,
}

impl IdTokenAlg {
    /// The JWS `alg` name (RFC 7518 §3.1).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
        }
    }
}

impl std::str::FromStr for IdTokenAlg {
    type Err = IdentityError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "ES256" => Ok(Self::Es256),
            "RS256" => Ok(Self::Rs256),
            other => Err(IdentityError::Invalid {
                field: "id_token_alg",
                reason: format!("{other:?}: must be ES256 or RS256"),
            }),
        }
    }
}

/// What an operator registers.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub name: String,
    pub redirect_uris: Vec<String>,
    /// A server-side application that can keep a secret; public clients (mobile apps,
    /// single-page apps) get none and rely on PKCE alone.
    pub confidential: bool,
    pub id_token_alg: IdTokenAlg,
}

fn check_redirect_uri(uri: &str) -> Result<(), IdentityError> {
    let invalid = |reason: &str| {
        Err(IdentityError::Invalid {
            field: "redirect_uri",
            reason: format!("{uri:?}: {reason}"),
        })
    };
    let loopback = [
        "http://127.0.0.1:",
        "http://127.0.0.1/",
        "http://localhost:",
        "http://localhost/",
        "http://[::1]:",
    ];
    if !(uri.starts_with("https://") || loopback.iter().any(|p| uri.starts_with(p))) {
        return invalid("must use https (plain http only on the loopback address)");
    }
    if uri.contains('#') || uri.chars().any(char::is_whitespace) {
        return invalid("must have no fragment and no spaces");
    }
    Ok(())
}

impl Identity {
    /// Registers a relying party; returns its id and, for a confidential client, its
    /// secret, shown this once (only a hash is kept).
    pub async fn register_client(
        &self,
        client: NewClient,
    ) -> Result<(String, Option<String>), IdentityError> {
        if client.name.trim().is_empty() {
            return Err(IdentityError::Invalid {
                field: "name",
                reason: "is required".into(),
            });
        }
        if client.redirect_uris.is_empty() {
            return Err(IdentityError::Invalid {
                field: "redirect_uri",
                reason: "give at least one".into(),
            });
        }
        for uri in &client.redirect_uris {
            check_redirect_uri(uri)?;
        }
        let client_id = uuid::Uuid::now_v7().simple().to_string();
        let secret = client.confidential.then(|| {
            let mut bytes = [0_u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            URL_SAFE_NO_PAD.encode(bytes)
        });
        let mut tx = self.db.begin().await?;
        let new_client = store_clients::NewClient {
            client_id: &client_id,
            name: client.name.trim(),
            redirect_uris: &client.redirect_uris,
            secret_hash: secret.as_deref().map(digest),
            id_token_alg: client.id_token_alg,
            created_at: timestamp::now(),
        };
        store_clients::insert(&mut tx, new_client).await?;
        tx.commit().await?;
        Ok((client_id, secret))
    }

    pub async fn client(&self, client_id: &str) -> Result<Option<Client>, IdentityError> {
        store_clients::get(&self.db, client_id).await
    }
}
