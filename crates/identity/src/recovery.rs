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
use crate::store::accounts as store_accounts;
use crate::store::recovery_codes::{self, CodeHolder, NewCode};
use crate::store::{passkeys as store_passkeys, sessions as store_sessions, tokens};

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
        let account = store_accounts::id_by_personal_id(&self.db, &personal_id.to_string()).await?;
        let account = account.ok_or(IdentityError::NoAccount)?;
        let mut bytes = [0_u8; 15];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let code = URL_SAFE_NO_PAD.encode(bytes);
        let now = OffsetDateTime::now_utc();
        let mut tx = self.db.begin().await?;
        let issued_at = timestamp::format(now);
        recovery_codes::retire_unused(&mut tx, &issued_at, &account).await?;
        let new_code = NewCode {
            code_hash: digest(&code),
            account_id: &account,
            issued_by: format!("{}@{agency}", official.actor()),
            issued_at: &issued_at,
            expires_at: timestamp::format(now + Duration::minutes(CODE_MINUTES)),
        };
        recovery_codes::insert(&mut tx, new_code).await?;
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
        let account =
            recovery_codes::holder(&self.db, digest(code.trim()), personal_id, timestamp::now())
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
        if !recovery_codes::spend(&mut tx, &now, digest(code.trim())).await? {
            return Err(IdentityError::BadCredentials);
        }
        store_accounts::reset_credentials(&mut tx, hash, &account).await?;
        store_passkeys::remove_all(&mut tx, &account).await?;
        store_sessions::revoke_all(&mut tx, &now, &account).await?;
        tokens::revoke_account(&mut tx, &account, &now).await?;
        tx.commit().await?;
        Ok(())
    }
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
