//! The key that signs checkpoints: kept in a file outside the database, and anchoring what
//! it signs (ADR 0019).

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use rand::RngCore;

use crate::anchor::AnchorFile;
use crate::domain::checkpoint::{Checkpoint, key_id, message};
use crate::domain::entry::{Hash, hex};
use crate::error::Error;

/// The key that signs checkpoints. It lives in a file outside the database, readable by
/// the server's user only, so that write access to the database is not enough to forge
/// history.
pub struct CheckpointSigner {
    key: SigningKey,
    key_id: String,
    anchor: Option<AnchorFile>,
}

impl fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the private key.
        f.debug_struct("CheckpointSigner")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl CheckpointSigner {
    /// A new random key, held in memory only (tests, demos).
    pub fn generate() -> Self {
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        Self::from_key(SigningKey::from_bytes(&secret))
    }

    fn from_key(key: SigningKey) -> Self {
        let key_id = key_id(&key.verifying_key());
        Self {
            key,
            key_id,
            anchor: None,
        }
    }

    /// Also appends every checkpoint committed from now on to the file at `path`, outside
    /// the database (ADR 0019).
    pub fn anchored_to(self, path: PathBuf) -> Self {
        Self {
            anchor: Some(AnchorFile::new(path)),
            ..self
        }
    }

    /// Anchors checkpoints once they are committed. A failure leaves them in the database
    /// only: the entries are recorded, and `verify_anchored` reports them as not anchored.
    pub(crate) async fn anchor(&self, checkpoints: &[Checkpoint]) {
        if let Some(anchor) = &self.anchor
            && let Err(error) = anchor.append(checkpoints).await
        {
            tracing::error!(%error, "audit checkpoint not anchored outside the database");
        }
    }

    /// Loads the PKCS#8 PEM key at `path`, or creates one there (mode 0600) if the file does
    /// not exist. Refuses a key file that other users may read.
    pub fn load_or_create(path: &Path) -> Result<Self, Error> {
        let fail = |reason: String| Error::Key {
            path: path.display().to_string(),
            reason,
        };
        match std::fs::read_to_string(path) {
            Ok(pem) => {
                store::keyfile::check_private(path).map_err(fail)?;
                let key = SigningKey::from_pkcs8_pem(&pem)
                    .map_err(|e| fail(format!("not an Ed25519 PKCS#8 PEM private key: {e}")))?;
                Ok(Self::from_key(key))
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let signer = Self::generate();
                match signer.write_new(path) {
                    Ok(()) => {
                        tracing::info!(key_id = %signer.key_id, path = %path.display(), "created audit checkpoint key");
                        Ok(signer)
                    }
                    // Another process created it first: use theirs, so both sign alike.
                    Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                        Self::load_or_create(path)
                    }
                    Err(error) => Err(fail(error.to_string())),
                }
            }
            Err(error) => Err(fail(error.to_string())),
        }
    }

    /// Writes the key where it is never half-written and never replaces another.
    fn write_new(&self, path: &Path) -> std::io::Result<()> {
        let pem = self
            .key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(std::io::Error::other)?;
        store::keyfile::create_private(path, pem.as_bytes())
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    pub(crate) fn sign(&self, seq: i64, entry_hash: &Hash) -> Checkpoint {
        let signed_at = store::timestamp::now();
        let signature = self.key.sign(&message(seq, entry_hash, &signed_at));
        Checkpoint {
            seq,
            entry_hash: hex(entry_hash),
            signed_at,
            key_id: self.key_id.clone(),
            signature: STANDARD.encode(signature.to_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::checkpoint::{keyring, parse_public_key, public_key_pem};

    #[test]
    fn a_signature_covers_seq_hash_and_time() {
        let signer = CheckpointSigner::generate();
        let keys = keyring(&[signer.verifying_key()]);
        let good = signer.sign(7, &[3; 32]);
        assert_eq!(good.signature_problem(&keys), None);
        let mut moved = good.clone();
        moved.seq = 8;
        assert!(moved.signature_problem(&keys).is_some());
        let mut rehashed = good.clone();
        rehashed.entry_hash = hex(&[4; 32]);
        assert!(rehashed.signature_problem(&keys).is_some());
        let mut redated = good.clone();
        redated.signed_at.push('0');
        assert!(redated.signature_problem(&keys).is_some());
        let stranger = keyring(&[CheckpointSigner::generate().verifying_key()]);
        assert!(
            good.signature_problem(&stranger)
                .is_some_and(|p| p.contains("not among the keys given"))
        );
    }

    #[test]
    fn the_public_key_round_trips_through_pem() {
        let signer = CheckpointSigner::generate();
        let pem = public_key_pem(&signer.verifying_key());
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"));
        let parsed = parse_public_key(&pem).expect("our own PEM");
        assert_eq!(key_id(&parsed), signer.key_id());
        assert_eq!(signer.key_id().len(), 16);
        assert!(parse_public_key("not a key").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn the_key_file_is_created_private_reloaded_and_refused_when_readable()
    -> Result<(), Box<dyn std::error::Error>> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("keys").join("audit.pem");
        let created = CheckpointSigner::load_or_create(&path)?;
        let mode = std::fs::metadata(&path)?.permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(std::fs::read_to_string(&path)?.starts_with("-----BEGIN PRIVATE KEY-----"));
        let loaded = CheckpointSigner::load_or_create(&path)?;
        assert_eq!(loaded.key_id(), created.key_id());
        assert!(!format!("{loaded:?}").contains("key:"));
        // Only the key file is left behind.
        assert_eq!(std::fs::read_dir(path.parent().unwrap())?.count(), 1);

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
        let refused = CheckpointSigner::load_or_create(&path)
            .err()
            .map(|e| e.to_string());
        assert!(
            refused.as_deref().is_some_and(|m| m.contains("mode 644")),
            "{refused:?}"
        );
        Ok(())
    }
}
