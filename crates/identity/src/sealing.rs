//! Secrets the identity provider must read back (TOTP seeds, OpenID Connect signing keys)
//! are sealed before they reach the database: AES-256-GCM with a key kept in a file beside
//! it, so a copy of the database (a backup, a replica, a dump) holds no usable secret. The
//! row each value belongs to is bound in as associated data, so a sealed value moved to
//! another row does not open.
//!
//! Stored form: `sealed:v1:` + base64url(12-byte nonce ‖ ciphertext ‖ tag). Values written
//! before sealing existed are read as they are and sealed the next time they are written.

use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use crate::error::IdentityError;

const PREFIX: &str = "sealed:v1:";

/// The sealing key. Cheap to clone.
#[derive(Clone)]
pub struct SealingKey(Arc<LessSafeKey>);

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(…)")
    }
}

fn key_from(bytes: &[u8]) -> Result<SealingKey, String> {
    UnboundKey::new(&AES_256_GCM, bytes)
        .map(|key| SealingKey(Arc::new(LessSafeKey::new(key))))
        .map_err(|_| "must hold exactly 32 bytes".to_owned())
}

impl SealingKey {
    /// A key that lives as long as the process: for tests and throw-away set-ups only, since
    /// nothing it sealed can be opened after a restart.
    pub fn ephemeral() -> Self {
        let mut bytes = [0_u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        #[allow(clippy::expect_used)] // 32 bytes always make an AES-256 key
        key_from(&bytes).expect("a 32-byte AES-256 key")
    }

    /// Reads the key file, creating it (owner-only) on first use. Every node that shares a
    /// database needs the same file.
    pub fn load_or_create(path: &Path) -> Result<Self, String> {
        let named = |reason: String| format!("{}: {reason}", path.display());
        match std::fs::read(path) {
            Ok(bytes) => {
                store::keyfile::check_private(path).map_err(named)?;
                key_from(&bytes).map_err(named)
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0_u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut bytes);
                match store::keyfile::create_private(path, &bytes) {
                    Ok(()) => key_from(&bytes).map_err(named),
                    // Another process made it first: use theirs.
                    Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                        Self::load_or_create(path)
                    }
                    Err(error) => Err(named(error.to_string())),
                }
            }
            Err(error) => Err(named(error.to_string())),
        }
    }

    /// Seals `secret` for the row named by `context` (for example `totp:<account id>`).
    pub fn seal(&self, secret: &str, context: &str) -> Result<String, IdentityError> {
        let mut nonce = [0_u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let mut sealed = secret.as_bytes().to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| IdentityError::Internal("sealing a secret failed".into()))?;
        let mut stored = nonce.to_vec();
        stored.append(&mut sealed);
        Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(stored)))
    }

    /// Like `open`, but refuses a value that was never sealed: for sealed values that come
    /// back from outside, where plain text can only be a forgery.
    pub fn open_sealed(&self, stored: &str, context: &str) -> Result<String, IdentityError> {
        if !stored.starts_with(PREFIX) {
            return Err(IdentityError::Internal(format!(
                "a value for {context} was expected sealed"
            )));
        }
        self.open(stored, context)
    }

    /// Opens a value sealed for `context`; a value from before sealing is returned as it is.
    pub fn open(&self, stored: &str, context: &str) -> Result<String, IdentityError> {
        let Some(encoded) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let refused = || {
            IdentityError::Internal(format!(
                "a sealed secret for {context} does not open with this node's sealing key"
            ))
        };
        let mut bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| refused())?;
        if bytes.len() < NONCE_LEN {
            return Err(refused());
        }
        let mut ciphertext = bytes.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&bytes).map_err(|_| refused())?;
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut ciphertext)
            .map_err(|_| refused())?;
        String::from_utf8(plain.to_vec()).map_err(|_| refused())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_for_their_row_and_key() -> Result<(), IdentityError> {
        let key = SealingKey::ephemeral();
        let sealed = key.seal("GEZDGNBVGY3TQOJQ", "totp:a1")?;
        assert!(sealed.starts_with("sealed:v1:") && !sealed.contains("GEZDGNBVGY3TQOJQ"));
        assert_eq!(key.open(&sealed, "totp:a1")?, "GEZDGNBVGY3TQOJQ");
        assert!(
            key.open(&sealed, "totp:a2").is_err(),
            "moved to another row"
        );
        assert!(
            SealingKey::ephemeral().open(&sealed, "totp:a1").is_err(),
            "another key"
        );
        let mut tampered = sealed.clone();
        tampered.push('A');
        assert!(key.open(&tampered, "totp:a1").is_err());
        assert_eq!(key.open("LEGACYPLAIN", "totp:a1")?, "LEGACYPLAIN");
        Ok(())
    }

    #[test]
    fn the_key_file_is_made_once_and_read_back() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("identity-sealing.key");
        let first = SealingKey::load_or_create(&path)?;
        let sealed = first.seal("secret", "ctx")?;
        let again = SealingKey::load_or_create(&path)?;
        assert_eq!(again.open(&sealed, "ctx")?, "secret");
        store::keyfile::create_private(&dir.path().join("short.key"), &[1_u8; 5])?;
        let short = SealingKey::load_or_create(&dir.path().join("short.key"));
        assert!(short.is_err_and(|e| e.contains("32 bytes")));
        Ok(())
    }
}
