//! Account recovery in person. A citizen who lost the password or the phone with the
//! authenticator goes to the police, as for a level-2 account (Decree 69/2024); an official
//! holding `identity.verifier` checks the person and hands over a one-time code. With it the
//! citizen sets a new password: every session and every token held by a relying party ends,
//! and the second factor and passkeys are removed, since the lost phone may be in someone
//! else's hands.

use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use exchange::client::Purpose;
use kernel::{PersonalId, PhoneNumber, Role};
use rand::RngCore;
use store::timestamp;
use time::{Date, Duration, OffsetDateTime};
use web::Principal;

use crate::accounts::Identity;
use crate::error::IdentityError;
use crate::password;
use crate::sessions::digest;

const CODE_MINUTES: i64 = 30;

impl Identity {
    /// Issues a one-time recovery code for the account of `personal_id`; only the official
    /// sees it, to hand over in person. Earlier unused codes stop working.
    pub async fn issue_recovery_code(
        &self,
        personal_id: PersonalId,
        official: &Principal,
    ) -> Result<String, IdentityError> {
        let agency = official
            .agency_with(Role::IdentityVerifier)
            .ok_or(IdentityError::Forbidden(Role::IdentityVerifier))?;
        let account: Option<String> =
            sqlx::query_scalar("SELECT id FROM identity_accounts WHERE personal_id = $1")
                .bind(personal_id.to_string())
                .fetch_optional(self.db.reader())
                .await?;
        let account = account.ok_or(IdentityError::NoAccount)?;
        let mut bytes = [0_u8; 15];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let code = URL_SAFE_NO_PAD.encode(bytes);
        let now = OffsetDateTime::now_utc();
        let mut tx = self.db.begin().await?;
        sqlx::query("UPDATE identity_recovery_codes SET used_at = $1 WHERE account_id = $2 AND used_at IS NULL")
            .bind(timestamp::format(now))
            .bind(&account)
            .execute(tx.conn())
            .await?;
        sqlx::query("INSERT INTO identity_recovery_codes (code_hash, account_id, issued_by, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(digest(&code))
            .bind(&account)
            .bind(format!("{}@{agency}", official.actor()))
            .bind(timestamp::format(now))
            .bind(timestamp::format(now + Duration::minutes(CODE_MINUTES)))
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        Ok(code)
    }

    /// Sets a new password with a recovery code: ends every session, revokes every token
    /// issued to relying parties, resets the second factor and the failure count, removes the
    /// passkeys. A wrong or used code changes nothing, and counts against `client`'s address
    /// like a wrong password.
    pub async fn recover(
        &self,
        personal_id: &str,
        code: &str,
        new_password: String,
        client: Option<IpAddr>,
    ) -> Result<(), IdentityError> {
        self.counted_against(
            client,
            self.recover_with_code(personal_id, code, new_password),
        )
        .await
    }

    async fn recover_with_code(
        &self,
        personal_id: &str,
        code: &str,
        new_password: String,
    ) -> Result<(), IdentityError> {
        let refused = |reason: &'static str| IdentityError::Invalid {
            field: "password",
            reason: reason.into(),
        };
        let id_only = password::OwnFacts {
            personal_id,
            phones: &[],
            birth_date: None,
        };
        password::check_strength(&new_password, &id_only).map_err(refused)?;
        let account: Option<CodeHolder> = sqlx::query_as(
            "SELECT r.account_id, a.phone FROM identity_recovery_codes r JOIN identity_accounts a ON a.id = r.account_id \
             WHERE r.code_hash = $1 AND a.personal_id = $2 AND r.used_at IS NULL AND r.expires_at > $3",
        )
        .bind(digest(code.trim()))
        .bind(personal_id)
        .bind(timestamp::now())
        .fetch_optional(self.db.reader())
        .await?;
        let Some(CodeHolder {
            account_id: account,
            phone,
        }) = account
        else {
            return Err(IdentityError::BadCredentials);
        };
        // Only once the code is known good: the registry read is logged for the citizen.
        let known = self.known_about(personal_id, phone.as_deref()).await?;
        let facts = password::OwnFacts {
            personal_id,
            phones: &known.phones,
            birth_date: known.birth_date,
        };
        password::check_strength(&new_password, &facts).map_err(refused)?;
        let hash = self
            .password_checks
            .acquire()
            .await?
            .hash(new_password)
            .await
            .map_err(IdentityError::Internal)?;
        let now = timestamp::now();
        let mut tx = self.db.begin().await?;
        // Conditional on the code still being unused: two concurrent uses cannot both win.
        let used = sqlx::query("UPDATE identity_recovery_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL")
            .bind(&now)
            .bind(digest(code.trim()))
            .execute(tx.conn())
            .await?;
        if used.rows_affected() == 0 {
            return Err(IdentityError::BadCredentials);
        }
        sqlx::query(
            "UPDATE identity_accounts SET password_hash = $1, failed_logins = 0, locked_until = NULL, \
             totp_secret = NULL, totp_confirmed_at = NULL, totp_last_step = NULL WHERE id = $2",
        )
        .bind(hash)
        .bind(&account)
        .execute(tx.conn())
        .await?;
        sqlx::query("DELETE FROM identity_passkeys WHERE account_id = $1")
            .bind(&account)
            .execute(tx.conn())
            .await?;
        sqlx::query("UPDATE identity_sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL")
            .bind(&now)
            .bind(&account)
            .execute(tx.conn())
            .await?;
        crate::oidc::revoke_account_tokens(&mut tx, &account, &now).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The account a recovery code was issued for, and the phone number it gave.
#[derive(sqlx::FromRow)]
struct CodeHolder {
    account_id: String,
    phone: Option<String>,
}

/// What others may know about a citizen, for refusing a password built from it.
struct KnownFacts {
    phones: Vec<PhoneNumber>,
    birth_date: Option<Date>,
}

/// Why the e-ID system reads the registry during recovery; the citizen sees it.
const RECOVERY_PURPOSE: &str =
    "Khôi phục tài khoản định danh điện tử: mật khẩu mới không được chứa số điện thoại, ngày sinh";

impl Identity {
    /// The account's phone number, and the phone number and date of birth the registry holds.
    async fn known_about(
        &self,
        personal_id: &str,
        account_phone: Option<&str>,
    ) -> Result<KnownFacts, IdentityError> {
        let person = match PersonalId::parse(personal_id) {
            Ok(id) => {
                let purpose = Purpose {
                    on_behalf_of: None,
                    issue: RECOVERY_PURPOSE,
                };
                self.population.person(id, purpose).await?
            }
            Err(_) => None,
        };
        let registry_phone = person.as_ref().and_then(|p| p.phone.as_deref());
        let phones = [account_phone, registry_phone]
            .into_iter()
            .flatten()
            .filter_map(|typed| PhoneNumber::parse(typed).ok())
            .collect();
        Ok(KnownFacts {
            phones,
            birth_date: person.map(|p| p.birth_date),
        })
    }
}
