//! Time-based one-time codes (RFC 6238: SHA-1, 6 digits, 30-second steps, the settings every
//! authenticator app understands) as the second factor after the password. A code is
//! accepted for the current step or one step either side (clock drift), and never for a
//! step at or before the last one accepted, so an observed code cannot be replayed.

use store::timestamp;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::accounts::Identity;
use crate::attempts::{self, AccountKey, Factor, Reservation};
use crate::error::IdentityError;
use crate::store::sessions as store_sessions;
use crate::store::totp::{self as store_totp, Seed};

const STEP_SECONDS: u64 = 30;
const ISSUER: &str = "lienthong";

/// The row a TOTP seed is sealed for (see sealing.rs).
fn totp_context(account_id: &str) -> String {
    format!("totp:{account_id}")
}

fn totp(secret_base32: &str, account: &str) -> Result<TOTP, IdentityError> {
    let bytes = Secret::Encoded(secret_base32.to_owned())
        .to_bytes()
        .map_err(|e| IdentityError::Internal(format!("{e:?}")))?;
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        STEP_SECONDS,
        bytes,
        Some(ISSUER.to_owned()),
        account.to_owned(),
    )
    .map_err(|e| IdentityError::Internal(format!("{e:?}")))
}

/// The step whose code `code` is, if it is the current one or a neighbour and newer than
/// `last_step`.
fn matching_step(totp: &TOTP, code: &str, now: u64, last_step: Option<i64>) -> Option<i64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = now / STEP_SECONDS;
    [current.saturating_sub(1), current, current + 1]
        .into_iter()
        .filter(|step| last_step.is_none_or(|last| i64::try_from(*step).unwrap_or(i64::MAX) > last))
        .find(|step| {
            constant_time_eq(
                totp.generate(step * STEP_SECONDS).as_bytes(),
                code.as_bytes(),
            )
        })
        .and_then(|step| i64::try_from(step).ok())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What the person needs to add the account to an authenticator app.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// Base32, for typing in by hand.
    pub secret: String,
    /// `otpauth://totp/…`, for apps that open links.
    pub url: String,
}

impl Identity {
    /// Starts enrolment, or shows again the one already started: the secret stays the same
    /// across reloads until a code confirms it, so a phone that scanned it once keeps working
    /// on a slow network that reloads the page. It takes effect once confirmed.
    pub async fn begin_totp(
        &self,
        account_id: &str,
        label: &str,
    ) -> Result<Enrolment, IdentityError> {
        let pending = store_totp::unconfirmed(&self.db, account_id)
            .await?
            .and_then(|row| row.totp_secret);
        if let Some(sealed) = pending {
            let secret = self.sealing.open(&sealed, &totp_context(account_id))?;
            let url = totp(&secret, label)?.get_url();
            return Ok(Enrolment { secret, url });
        }
        let secret = match Secret::generate_secret().to_encoded() {
            Secret::Encoded(text) => text,
            Secret::Raw(_) => return Err(IdentityError::Internal("secret not encoded".into())),
        };
        let url = totp(&secret, label)?.get_url();
        let mut tx = self.db.begin().await?;
        let sealed = self.sealing.seal(&secret, &totp_context(account_id))?;
        let begun = store_totp::begin(&mut tx, sealed, account_id).await?;
        if !begun {
            return Err(IdentityError::Invalid {
                field: "totp",
                reason: "a second factor is already set up".into(),
            });
        }
        tx.commit().await?;
        Ok(Enrolment { secret, url })
    }

    /// Confirms enrolment with a first code from the app.
    pub async fn confirm_totp(&self, account_id: &str, code: &str) -> Result<(), IdentityError> {
        let row = store_totp::unconfirmed(&self.db, account_id).await?;
        let Some(row) = row else {
            return Err(IdentityError::Invalid {
                field: "totp",
                reason: "start the set-up first".into(),
            });
        };
        let Some(sealed) = row.totp_secret else {
            return Err(IdentityError::Invalid {
                field: "totp",
                reason: "start the set-up first".into(),
            });
        };
        let secret = self.sealing.open(&sealed, &totp_context(account_id))?;
        let step = matching_step(
            &totp(&secret, account_id)?,
            code,
            unix_now(),
            row.totp_last_step,
        )
        .ok_or(IdentityError::Invalid {
            field: "code",
            reason: "the code is not right; check the phone's clock".into(),
        })?;
        let mut tx = self.db.begin().await?;
        store_totp::confirm(&mut tx, timestamp::now(), step, account_id).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn has_totp(&self, account_id: &str) -> Result<bool, IdentityError> {
        let confirmed = store_totp::confirmed_at(&self.db, account_id).await?;
        Ok(confirmed.flatten().is_some())
    }

    /// Completes a sign-in that is waiting for its second factor. A wrong code counts
    /// towards the lockout on its own count, which a right password does not reset. A right
    /// code ends the waiting session and returns a new token: the one handed out before the
    /// code no longer signs anyone in (session fixation, OWASP Session Management Cheat
    /// Sheet: renew the session ID after any privilege level change).
    pub async fn complete_sign_in(
        &self,
        token: &str,
        code: &str,
        client: Option<std::net::IpAddr>,
    ) -> Result<String, IdentityError> {
        self.counted_against(client, self.check_code(token, code))
            .await
    }

    async fn check_code(&self, token: &str, code: &str) -> Result<String, IdentityError> {
        let account_id = store_sessions::awaiting_code(
            &self.db,
            crate::sessions::digest(token),
            timestamp::now(),
        )
        .await?;
        let Some(account_id) = account_id else {
            return Err(IdentityError::BadCredentials);
        };
        let (row, locks_until) = match attempts::reserve::<Seed>(
            &self.db,
            Factor::Code,
            AccountKey::Id(&account_id),
        )
        .await?
        {
            Reservation::Counted { row, locks_until } => (row, locks_until),
            Reservation::Locked { until } => {
                tracing::info!(account = %account_id, "second factor refused: the account is locked");
                return Err(IdentityError::Locked { until });
            }
            Reservation::NoAccount => return Err(IdentityError::BadCredentials),
        };
        let sealed = row.totp_secret.unwrap_or_default();
        let secret = self.sealing.open(&sealed, &totp_context(&account_id))?;
        let step = matching_step(
            &totp(&secret, &account_id)?,
            code,
            unix_now(),
            row.totp_last_step,
        );
        let wrong_code = |locks_until: Option<String>| {
            if locks_until.is_some() {
                tracing::warn!(account = %account_id, "account locked after repeated wrong codes");
            } else {
                tracing::info!(account = %account_id, "second factor refused: wrong code");
            }
            attempts::wrong_answer(locks_until)
        };
        let Some(step) = step else {
            return Err(wrong_code(locks_until));
        };
        let mut tx = self.db.begin().await?;
        // The step condition makes two concurrent uses of one code impossible.
        let accepted = store_totp::accept_step(&mut tx, step, &account_id).await?;
        if !accepted {
            return Err(wrong_code(locks_until));
        }
        attempts::forgive(&mut tx, Factor::Code, &account_id).await?;
        let renewed = crate::sessions::renew_after_code(&mut tx, token).await?;
        tx.commit().await?;
        Ok(renewed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_their_step_and_never_an_older_one() -> Result<(), IdentityError> {
        // RFC 6238 Appendix B's SHA-1 key, "12345678901234567890", in base32.
        let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        let totp = totp(secret, "test")?;
        // Appendix B: at T = 59 s the 8-digit code is 94287082, so the 6-digit one is 287082.
        assert_eq!(totp.generate(59), "287082");
        let now = 1_111_111_109; // Appendix B's second test time
        let code = totp.generate(now);
        assert_eq!(code, "081804");
        let step = i64::try_from(now / 30).unwrap_or_default();
        assert_eq!(matching_step(&totp, &code, now, None), Some(step));
        assert_eq!(
            matching_step(&totp, &code, now + 30, None),
            Some(step),
            "one step of drift is tolerated"
        );
        assert_eq!(
            matching_step(&totp, &code, now + 90, None),
            None,
            "three steps later it is stale"
        );
        assert_eq!(
            matching_step(&totp, &code, now, Some(step)),
            None,
            "a used step cannot be replayed"
        );
        assert_eq!(matching_step(&totp, "12345", now, None), None);
        Ok(())
    }
}
