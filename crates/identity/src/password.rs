//! Argon2id password hashing with the OWASP Password Storage Cheat Sheet's minimum
//! parameters (19 MiB of memory, 2 passes, 1 lane). Hashing takes tens of milliseconds of
//! CPU, so it runs on the blocking pool, never on the async workers, and only as many at
//! once as there are cores (`PasswordChecks`). Which new passwords are refused is
//! [`strength`]'s.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub mod strength;

pub use strength::{OwnFacts, check_strength};

/// How long a sign-in waits in line for a hash before it is told to come back: a short
/// burst is served, a flood is refused (503) instead of queueing without end.
const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(3);

/// Bounds the password hashes in flight. Each holds 19 MiB while it runs, so unbounded, 300
/// concurrent sign-ins took the process from 50 MB to 2.2 GB (issue 11); more hashes than
/// cores would not finish sooner anyway. Waiting is fair (first come, first served).
#[derive(Debug, Clone)]
pub struct PasswordChecks {
    permits: Arc<Semaphore>,
    max_wait: Duration,
}

/// All password hashes are busy and the wait ran out; ask again after `retry_after_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("every password check is busy: try again in {retry_after_seconds} s")]
pub struct Busy {
    pub retry_after_seconds: u64,
}

impl PasswordChecks {
    pub fn new(permits: NonZeroUsize, max_wait: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(permits.get())),
            max_wait,
        }
    }

    /// One hash per core, waiting at most a few seconds.
    pub fn sized_to_cores() -> Self {
        Self::new(
            std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
            DEFAULT_MAX_WAIT,
        )
    }

    /// Waits for a turn to hash, or gives up after the maximum wait.
    pub async fn acquire(&self) -> Result<PasswordPermit, Busy> {
        let busy = Busy {
            retry_after_seconds: self.max_wait.as_secs().max(1),
        };
        match tokio::time::timeout(self.max_wait, Arc::clone(&self.permits).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(PasswordPermit(permit)),
            // Timed out, or the semaphore was closed (it never is).
            _ => Err(busy),
        }
    }
}

/// A turn to hash. The permit moves into the blocking task, so it is held until the hash
/// is done even if the request that asked has gone away.
#[derive(Debug)]
pub struct PasswordPermit(OwnedSemaphorePermit);

impl PasswordPermit {
    pub async fn hash(self, password: String) -> Result<String, String> {
        let permit = self.0;
        tokio::task::spawn_blocking(move || {
            let hashed = hash_now(&password);
            drop(permit);
            hashed
        })
        .await
        .map_err(|e| e.to_string())?
    }

    pub async fn verify(self, password: String, stored: Option<String>) -> bool {
        let permit = self.0;
        tokio::task::spawn_blocking(move || {
            let verified = verify_now(&password, stored.as_deref());
            drop(permit);
            verified
        })
        .await
        .unwrap_or(false)
    }
}

fn hasher() -> Result<Argon2<'static>, argon2::Error> {
    Ok(Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19 * 1024, 2, 1, None)?,
    ))
}

fn hash_now(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .map_err(|e| e.to_string())?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Verifies against a stored hash; `None` (no such account) still spends the same work, so
/// timing does not reveal which accounts exist.
fn verify_now(password: &str, stored: Option<&str>) -> bool {
    let Ok(argon) = hasher() else { return false };
    match stored.map(PasswordHash::new) {
        Some(Ok(parsed)) => argon.verify_password(password.as_bytes(), &parsed).is_ok(),
        _ => {
            let salt = SaltString::generate(&mut OsRng);
            let _same_work = argon.hash_password(password.as_bytes(), &salt);
            false
        }
    }
}

/// Hashes outside any bound: for measuring (`lienthong bench`), not for requests.
pub async fn hash(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(|e| e.to_string())?
}

/// Verifies outside any bound: for measuring (`lienthong bench`), not for requests.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || verify_now(&password, stored.as_deref()))
        .await
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_only_the_right_password() -> Result<(), String> {
        let stored = hash("đúng mật khẩu 2026".into()).await?;
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("đúng mật khẩu 2026".into(), Some(stored.clone())).await);
        assert!(!verify("sai mật khẩu 2026".into(), Some(stored)).await);
        assert!(!verify("anything".into(), None).await);
        Ok(())
    }
}
