//! Argon2id password hashing with the OWASP Password Storage Cheat Sheet's minimum
//! parameters (19 MiB of memory, 2 passes, 1 lane). Hashing takes tens of milliseconds of
//! CPU, so it runs on the blocking pool, never on the async workers.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

fn hasher() -> Result<Argon2<'static>, argon2::Error> {
    Ok(Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19 * 1024, 2, 1, None)?,
    ))
}

pub async fn hash(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .map_err(|e| e.to_string())?
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Verifies against a stored hash; `None` (no such account) still spends the same work, so
/// timing does not reveal which accounts exist.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let Ok(argon) = hasher() else { return false };
        match stored.as_deref().map(PasswordHash::new) {
            Some(Ok(parsed)) => argon.verify_password(password.as_bytes(), &parsed).is_ok(),
            _ => {
                let salt = SaltString::generate(&mut OsRng);
                let _same_work = argon.hash_password(password.as_bytes(), &salt);
                false
            }
        }
    })
    .await
    .unwrap_or(false)
}

/// NIST SP 800-63B §5.1.1: at least 8 characters; we ask for 10 and refuse the most
/// common choices and passwords that contain the ID number.
pub fn check_strength(password: &str, personal_id: &str) -> Result<(), &'static str> {
    const COMMON: [&str; 8] = [
        "1234567890",
        "0123456789",
        "matkhau123",
        "password12",
        "qwertyuiop",
        "1111111111",
        "abc1234567",
        "12345678910",
    ];
    if password.chars().count() < 10 {
        return Err("must be at least 10 characters");
    }
    if password.chars().count() > 128 {
        return Err("must be at most 128 characters");
    }
    if COMMON.contains(&password.to_lowercase().as_str()) {
        return Err("is one of the most common passwords");
    }
    if password.contains(personal_id) {
        return Err("must not contain the personal ID number");
    }
    Ok(())
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

    #[test]
    fn weak_passwords_are_named() {
        assert_eq!(
            check_strength("short", "001090000042"),
            Err("must be at least 10 characters")
        );
        assert_eq!(
            check_strength("1234567890", "001090000042"),
            Err("is one of the most common passwords")
        );
        assert_eq!(
            check_strength("x001090000042x", "001090000042"),
            Err("must not contain the personal ID number")
        );
        assert_eq!(check_strength("hoa sen trắng 1975", "001090000042"), Ok(()));
    }
}
