//! Checkpoints: the signed statement that entry `seq` has a given hash, the message signed
//! (specified in the crate documentation), key ids and the PEM form auditors are given.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePublicKey, EncodePublicKey};
use ed25519_dalek::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::entry::{Hash, hex, parse_hash};
use crate::error::Error;

const CHECKPOINT_TAG: &[u8; 29] = b"lienthong-audit-checkpoint-v1";

/// A signed statement that the chain's entry `seq` has hash `entry_hash`, as stored and
/// exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[serde(deny_unknown_fields)]
pub(crate) struct Checkpoint {
    pub seq: i64,
    pub entry_hash: String,
    pub signed_at: String,
    pub key_id: String,
    pub signature: String,
}

impl Checkpoint {
    /// Why the signature does not hold, if it does not. `keys` pairs key ids with keys.
    pub(crate) fn signature_problem(&self, keys: &[(String, VerifyingKey)]) -> Option<String> {
        let Some((_, key)) = keys.iter().find(|(id, _)| *id == self.key_id) else {
            return Some(format!(
                "signed with key {}, which is not among the keys given",
                self.key_id
            ));
        };
        let Some(hash) = parse_hash(&self.entry_hash) else {
            return Some("its entry hash is not 64 lowercase hexadecimal digits".into());
        };
        let signature = STANDARD
            .decode(&self.signature)
            .ok()
            .and_then(|bytes| Signature::from_slice(&bytes).ok());
        let Some(signature) = signature else {
            return Some("its signature is not a base64 Ed25519 signature".into());
        };
        let message = message(self.seq, &hash, &self.signed_at);
        match key.verify_strict(&message, &signature) {
            Ok(()) => None,
            Err(_) => Some(format!(
                "the signature does not match key {} (seq, hash or time changed)",
                self.key_id
            )),
        }
    }
}

pub(crate) fn message(seq: i64, entry_hash: &Hash, signed_at: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(CHECKPOINT_TAG.len() + 8 + 32 + 4 + signed_at.len());
    bytes.extend_from_slice(CHECKPOINT_TAG);
    bytes.extend_from_slice(&seq.to_be_bytes());
    bytes.extend_from_slice(entry_hash);
    let length = u32::try_from(signed_at.len()).unwrap_or(u32::MAX);
    bytes.extend_from_slice(&length.to_be_bytes());
    bytes.extend_from_slice(signed_at.as_bytes());
    bytes
}

/// The first 16 hexadecimal digits of SHA-256 of the raw 32-byte public key.
pub fn key_id(key: &VerifyingKey) -> String {
    let digest = Sha256::digest(key.as_bytes());
    hex(digest.get(..8).unwrap_or_default())
}

/// The public key as PEM (`-----BEGIN PUBLIC KEY-----`, SPKI), the form auditors are given.
pub fn public_key_pem(key: &VerifyingKey) -> String {
    // Encoding a valid 32-byte key as SPKI cannot fail; an empty string would fail to parse.
    key.to_public_key_pem(LineEnding::LF).unwrap_or_default()
}

/// Reads a public key in PEM (SPKI) form, as [`public_key_pem`] writes it.
pub fn parse_public_key(pem: &str) -> Result<VerifyingKey, Error> {
    VerifyingKey::from_public_key_pem(pem.trim()).map_err(|e| Error::PublicKey(e.to_string()))
}

/// Pairs each key with its id, as checkpoints name them.
pub(crate) fn keyring(keys: &[VerifyingKey]) -> Vec<(String, VerifyingKey)> {
    keys.iter().map(|key| (key_id(key), *key)).collect()
}
