//! Passkeys (WebAuthn Level 3): phishing-resistant sign-in. A passkey proves possession of a
//! private key bound to this site's domain and, with user verification required, that the
//! person unlocked it with a PIN or biometric: two factors in one gesture, so it opens a
//! complete session without a TOTP code (NIST SP 800-63B §5.1.8). The cryptographic checks
//! are the webauthn-rs library's; this module keeps credentials and registration ceremonies
//! in the database, and sign-in ceremonies sealed in their own ids (anyone may start one), so
//! a challenge issued by one node can be answered on another, once.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kernel::event::{Event, PasskeyChanged};
use rand::RngCore;
use serde::Serialize;
use store::timestamp;
use time::{Duration, OffsetDateTime};
use web::Principal;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};

use crate::accounts::Identity;
use crate::error::IdentityError;
use crate::sessions::SignInMethod;
use crate::store::accounts as store_accounts;
use crate::store::ceremonies::{self, Ceremony, StoredCeremony};
use crate::store::{attempts as store_attempts, passkeys as store_passkeys};

/// How long a challenge may be answered. WebAuthn L3 §15.1 recommends 300 s to 600 s for
/// ceremonies with user verification; the shorter end keeps the table small.
const CEREMONY_SECONDS: i64 = 300;
/// Enough for a phone, a laptop and a spare security key, with room to spare.
const MAX_PASSKEYS: i64 = 10;
const MAX_NAME_CHARS: usize = 60;

/// The relying party for one request: the site's domain (the RP ID, which every passkey is
/// bound to) and the origin the browser must report.
#[derive(Debug, Clone)]
pub struct RelyingParty {
    webauthn: Webauthn,
}

/// A challenge for the browser: `ceremony` names the server-side state to finish with,
/// `options` is what `navigator.credentials.create()` or `.get()` takes (binary fields in
/// base64url, as in WebAuthn L3 §5.1.8's JSON forms).
#[derive(Debug, Clone, Serialize)]
pub struct PasskeyChallenge {
    pub ceremony: String,
    pub options: serde_json::Value,
}

/// A registered passkey as its owner sees it.
#[derive(Debug, Clone, Serialize)]
pub struct PasskeyInfo {
    /// The credential ID in base64url: names the passkey for removal.
    pub id: String,
    pub name: String,
    #[serde(with = "kernel::timestamp::text")]
    pub created_at: OffsetDateTime,
    #[serde(with = "kernel::timestamp::text::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

fn refused(reason: impl Into<String>) -> IdentityError {
    IdentityError::PasskeyRefused(reason.into())
}

fn internal(error: impl std::fmt::Display) -> IdentityError {
    IdentityError::Internal(error.to_string())
}

fn random_id() -> String {
    let mut bytes = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The WebAuthn user handle: the account's UUID, never the ID number, since the handle is
/// stored in authenticators and must carry no personal information (WebAuthn L3 §14.6.1).
fn user_handle(account_id: &str) -> Result<Uuid, IdentityError> {
    Uuid::parse_str(account_id).map_err(internal)
}

/// The associated data sign-in ceremonies are sealed with, so no other sealed value passes
/// for one.
const SIGN_IN_CONTEXT: &str = "webauthn:sign-in";

#[derive(Serialize, serde::Deserialize)]
struct SealedSignIn {
    purpose: String,
    account_id: Option<String>,
    state: String,
    expires_at: String,
}

/// Marks an answered sign-in ceremony as spent, so its challenge is answered once
/// (WebAuthn L3 §13.4.3). Written only for an answer that checked out, which a stranger
/// cannot make; two concurrent uses meet on the primary key and one is refused.
async fn spend_sign_in(tx: &mut store::Tx, sealed: &str) -> Result<(), IdentityError> {
    let now = OffsetDateTime::now_utc();
    ceremonies::clear_expired(tx, timestamp::format(now)).await?;
    let spent = ceremonies::mark_spent(
        tx,
        format!("spent:{}", crate::sessions::digest(sealed)),
        timestamp::format(now + Duration::seconds(CEREMONY_SECONDS)),
    )
    .await?;
    if !spent {
        return Err(refused(
            "the challenge is unknown, used or expired; start again",
        ));
    }
    Ok(())
}

impl Identity {
    /// The relying party: from the configured public URL, or else from the request's host
    /// over plain HTTP, which browsers accept for WebAuthn only on `localhost` (a secure
    /// context). The RP ID must be a domain: an IP address such as 127.0.0.1 cannot hold
    /// passkeys (WebAuthn L3 §5.1.3 step 8 and §5.1.4.1 step 7, via the HTML "valid domain").
    pub fn relying_party(&self, request_host: Option<&str>) -> Result<RelyingParty, IdentityError> {
        let origin = match &self.public_url {
            Some(url) => url.clone(),
            None => format!("http://{}", request_host.unwrap_or("localhost")),
        };
        let url = Url::parse(&origin).map_err(|e| IdentityError::Invalid {
            field: "public_url",
            reason: e.to_string(),
        })?;
        let Some(rp_id) = url.domain() else {
            return Err(IdentityError::PasskeysUnavailable(format!(
                "passkeys are bound to a domain name and {origin} has none; open the site by its name (for a local demo: http://localhost:{})",
                url.port_or_known_default().unwrap_or(80)
            )));
        };
        // Only scheme, host and port take part in the comparison (WebAuthn L3 §7.1 step 9).
        let origin = Url::parse(&url.origin().ascii_serialization()).map_err(internal)?;
        let webauthn = WebauthnBuilder::new(rp_id, &origin)
            .and_then(|builder| builder.rp_name("Liên thông").build())
            .map_err(|e| IdentityError::PasskeysUnavailable(e.to_string()))?;
        Ok(RelyingParty { webauthn })
    }

    /// Starts adding a passkey named `name` to the signed-in person's account.
    pub async fn begin_passkey_registration(
        &self,
        rp: &RelyingParty,
        principal: &Principal,
        name: &str,
    ) -> Result<PasskeyChallenge, IdentityError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(IdentityError::Invalid {
                field: "name",
                reason: format!(
                    "give the passkey a name of 1 to {MAX_NAME_CHARS} characters, e.g. \"Điện thoại của tôi\""
                ),
            });
        }
        let existing = self.stored_passkeys(&principal.account_id).await?;
        if i64::try_from(existing.len()).unwrap_or(i64::MAX) >= MAX_PASSKEYS {
            return Err(IdentityError::Invalid {
                field: "name",
                reason: format!(
                    "an account holds at most {MAX_PASSKEYS} passkeys; remove one first"
                ),
            });
        }
        // Passkeys the account already has are excluded, so one authenticator is not
        // registered twice (WebAuthn L3 §5.4 excludeCredentials).
        let exclude = existing
            .iter()
            .map(|(_, passkey)| passkey.cred_id().clone())
            .collect();
        let (options, state) = rp
            .webauthn
            .start_passkey_registration(
                user_handle(&principal.account_id)?,
                &principal.personal_id.to_string(),
                &principal.full_name,
                Some(exclude),
            )
            .map_err(internal)?;
        let mut options = serde_json::to_value(&options).map_err(internal)?;
        // A discoverable credential (resident key) is what lets a person sign in without
        // typing the ID number (WebAuthn L3 §5.4.4, §6.2.2); the library asks for none.
        if let Some(selection) = options
            .pointer_mut("/publicKey/authenticatorSelection")
            .and_then(serde_json::Value::as_object_mut)
        {
            selection.insert("residentKey".into(), "required".into());
            selection.insert("requireResidentKey".into(), true.into());
        }
        let ceremony = self
            .save_ceremony("register", Some(&principal.account_id), Some(name), &state)
            .await?;
        Ok(PasskeyChallenge { ceremony, options })
    }

    /// Checks the browser's answer to a registration challenge and keeps the new passkey.
    pub async fn finish_passkey_registration(
        &self,
        rp: &RelyingParty,
        account_id: &str,
        ceremony: &str,
        credential: &serde_json::Value,
    ) -> Result<PasskeyInfo, IdentityError> {
        let ceremony = self
            .take_ceremony(ceremony, &["register"])
            .await?
            .filter(|c| c.account_id.as_deref() == Some(account_id))
            .ok_or_else(|| refused("the challenge is unknown, used or expired; start again"))?;
        let state: PasskeyRegistration = serde_json::from_str(&ceremony.state).map_err(internal)?;
        let credential: RegisterPublicKeyCredential = serde_json::from_value(credential.clone())
            .map_err(|e| IdentityError::Invalid {
                field: "credential",
                reason: format!("not a WebAuthn registration response: {e}"),
            })?;
        let passkey = rp
            .webauthn
            .finish_passkey_registration(&credential, &state)
            .map_err(|e| refused(e.to_string()))?;
        let info = PasskeyInfo {
            id: URL_SAFE_NO_PAD.encode(passkey.cred_id()),
            name: ceremony.name.unwrap_or_default(),
            created_at: OffsetDateTime::now_utc(),
            last_used_at: None,
        };
        let mut tx = self.db.begin().await?;
        // A credential ID already registered, to anyone, is refused (WebAuthn L3 §7.1 step 26).
        let credential = serde_json::to_string(&passkey).map_err(internal)?;
        let inserted = store_passkeys::insert(&mut tx, &info, account_id, credential).await?;
        if !inserted {
            return Err(refused("this passkey is already registered"));
        }
        let added = Event::PasskeyAdded(PasskeyChanged {});
        store::events::append(&mut tx, account_id, &added).await?;
        tx.commit().await?;
        Ok(info)
    }

    /// Starts a sign-in. With a personal ID number whose account has passkeys, only those
    /// are allowed; otherwise the authenticator offers the passkeys it holds for this site
    /// (a discoverable-credential ceremony, WebAuthn L3 §7.2 with empty allowCredentials).
    pub async fn begin_passkey_sign_in(
        &self,
        rp: &RelyingParty,
        personal_id: Option<&str>,
    ) -> Result<PasskeyChallenge, IdentityError> {
        let account = match personal_id.map(str::trim).filter(|id| !id.is_empty()) {
            Some(id) => store_accounts::id_by_personal_id(&self.db, id).await?,
            None => None,
        };
        let passkeys = match &account {
            Some(account) => self.stored_passkeys(account).await?,
            None => Vec::new(),
        };
        let (ceremony, options) = match account.filter(|_| !passkeys.is_empty()) {
            Some(account) => {
                let keys: Vec<Passkey> = passkeys.into_iter().map(|(_, key)| key).collect();
                let (options, state) = rp
                    .webauthn
                    .start_passkey_authentication(&keys)
                    .map_err(internal)?;
                let id = self.seal_sign_in("sign_in", Some(&account), &state)?;
                (id, serde_json::to_value(&options).map_err(internal)?)
            }
            None => {
                let (mut options, state) = rp
                    .webauthn
                    .start_discoverable_authentication()
                    .map_err(internal)?;
                // The library asks for conditional mediation (autofill); the page asks on a
                // button press instead, which every browser with passkeys supports.
                options.mediation = None;
                let id = self.seal_sign_in("discoverable", None, &state)?;
                (id, serde_json::to_value(&options).map_err(internal)?)
            }
        };
        Ok(PasskeyChallenge { ceremony, options })
    }

    /// Checks the browser's answer to a sign-in challenge and opens a complete session.
    /// A locked account stays locked. Returns the session token. A refused answer counts
    /// against `client`'s address, like a wrong password; it does not count against the
    /// account, since forging a signature is no guess at a secret and counting it would let
    /// strangers lock people out.
    pub async fn finish_passkey_sign_in(
        &self,
        rp: &RelyingParty,
        ceremony: &str,
        credential: &serde_json::Value,
        user_agent: &str,
        client: Option<std::net::IpAddr>,
    ) -> Result<String, IdentityError> {
        self.counted_against(
            client,
            self.check_passkey_answer(rp, ceremony, credential, user_agent),
        )
        .await
    }

    async fn check_passkey_answer(
        &self,
        rp: &RelyingParty,
        ceremony: &str,
        credential: &serde_json::Value,
        user_agent: &str,
    ) -> Result<String, IdentityError> {
        let sealed_ceremony = ceremony;
        let ceremony = self
            .open_sign_in(sealed_ceremony)
            .ok_or_else(|| refused("the challenge is unknown, used or expired; start again"))?;
        let credential: PublicKeyCredential =
            serde_json::from_value(credential.clone()).map_err(|e| IdentityError::Invalid {
                field: "credential",
                reason: format!("not a WebAuthn authentication response: {e}"),
            })?;
        let credential_id = URL_SAFE_NO_PAD.encode(credential.get_credential_id());
        let row = store_passkeys::owner(&self.db, &credential_id).await?;
        // Unknown, or removed since: WebAuthn L3 §7.2 step 6 wants the credential known.
        let row = row.ok_or_else(|| refused("this passkey is not registered here"))?;
        let account_id = row.account_id;
        let mut passkey: Passkey = serde_json::from_str(&row.credential).map_err(internal)?;
        let locked_until = row
            .locked_until
            .as_deref()
            .map(timestamp::parse)
            .transpose()?;
        if let Some(until) = locked_until
            && until > OffsetDateTime::now_utc()
        {
            return Err(IdentityError::Locked { until });
        }
        let result = if ceremony.purpose == "sign_in" {
            // The ceremony allowed only this account's passkeys.
            if ceremony.account_id.as_deref() != Some(account_id.as_str()) {
                return Err(refused("this passkey belongs to another account"));
            }
            let state: PasskeyAuthentication =
                serde_json::from_str(&ceremony.state).map_err(internal)?;
            rp.webauthn
                .finish_passkey_authentication(&credential, &state)
        } else {
            // The user handle the authenticator returned must be the credential's owner
            // (WebAuthn L3 §7.2 step 6).
            let expected = user_handle(&account_id)?;
            if credential.get_user_unique_id() != Some(expected.as_bytes().as_slice()) {
                return Err(refused(
                    "the user handle does not match the passkey's account",
                ));
            }
            let state: DiscoverableAuthentication =
                serde_json::from_str(&ceremony.state).map_err(internal)?;
            rp.webauthn
                .finish_discoverable_authentication_v2(&credential, state, &passkey)
        }
        .map_err(|e| refused(e.to_string()))?;
        // The signature counter moves on (a counter that went back was refused above as a
        // possible clone, WebAuthn L3 §6.1.1), and so do the backup flags.
        let changed = passkey.update_credential(&result).unwrap_or(false);
        let now = timestamp::now();
        let mut tx = self.db.begin().await?;
        spend_sign_in(&mut tx, sealed_ceremony).await?;
        if changed {
            let updated = serde_json::to_string(&passkey).map_err(internal)?;
            store_passkeys::used_changed(&mut tx, updated, &now, &credential_id).await?;
        } else {
            store_passkeys::used(&mut tx, &now, &credential_id).await?;
        }
        // A passkey proves both factors at once, so it forgives failures of either.
        if row.failed_logins > 0 || row.failed_codes > 0 {
            store_attempts::forgive_both(&mut tx, &account_id).await?;
        }
        let token =
            crate::sessions::open(&mut tx, &account_id, user_agent, SignInMethod::Passkey).await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The account's passkeys, oldest first.
    pub async fn passkeys(&self, account_id: &str) -> Result<Vec<PasskeyInfo>, IdentityError> {
        store_passkeys::listed(&self.db, account_id).await
    }

    /// Removes one of the account's passkeys; it cannot sign in from then on.
    pub async fn remove_passkey(&self, account_id: &str, id: &str) -> Result<bool, IdentityError> {
        let mut tx = self.db.begin().await?;
        let removed = store_passkeys::remove(&mut tx, account_id, id).await?;
        if removed {
            let event = Event::PasskeyRemoved(PasskeyChanged {});
            store::events::append(&mut tx, account_id, &event).await?;
        }
        tx.commit().await?;
        Ok(removed)
    }

    async fn stored_passkeys(
        &self,
        account_id: &str,
    ) -> Result<Vec<(String, Passkey)>, IdentityError> {
        let rows = store_passkeys::credentials(&self.db, account_id).await?;
        rows.into_iter()
            .map(|row| {
                let passkey = serde_json::from_str(&row.credential).map_err(internal)?;
                Ok((row.credential_id, passkey))
            })
            .collect()
    }

    async fn save_ceremony(
        &self,
        purpose: &str,
        account_id: Option<&str>,
        name: Option<&str>,
        state: &impl Serialize,
    ) -> Result<String, IdentityError> {
        let id = random_id();
        let now = OffsetDateTime::now_utc();
        let mut tx = self.db.begin().await?;
        // Expired ceremonies are cleared as new ones start: no background job needed.
        ceremonies::clear_expired(&mut tx, timestamp::format(now)).await?;
        let ceremony = Ceremony {
            purpose: purpose.to_owned(),
            account_id: account_id.map(str::to_owned),
            name: name.map(str::to_owned),
            state: serde_json::to_string(state).map_err(internal)?,
        };
        let expires_at = timestamp::format(now + Duration::seconds(CEREMONY_SECONDS));
        ceremonies::insert(&mut tx, &id, &ceremony, expires_at).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A sign-in ceremony travels sealed in its own id instead of in a row: anyone may start
    /// one, so storing each would let strangers fill the table (issue 11). The seal
    /// (sealing.rs, bound to `SIGN_IN_CONTEXT`) keeps the state from being read or forged.
    fn seal_sign_in(
        &self,
        purpose: &str,
        account_id: Option<&str>,
        state: &impl Serialize,
    ) -> Result<String, IdentityError> {
        let expires_at = OffsetDateTime::now_utc() + Duration::seconds(CEREMONY_SECONDS);
        let ceremony = SealedSignIn {
            purpose: purpose.to_owned(),
            account_id: account_id.map(str::to_owned),
            state: serde_json::to_string(state).map_err(internal)?,
            expires_at: timestamp::format(expires_at),
        };
        let plain = serde_json::to_string(&ceremony).map_err(internal)?;
        self.sealing.seal(&plain, SIGN_IN_CONTEXT)
    }

    /// The sign-in ceremony sealed in `id`, if it opens and is live. Whether it was already
    /// answered is settled by `spend_sign_in`, once the answer checks out.
    fn open_sign_in(&self, id: &str) -> Option<Ceremony> {
        let plain = self.sealing.open_sealed(id, SIGN_IN_CONTEXT).ok()?;
        let ceremony: SealedSignIn = serde_json::from_str(&plain).ok()?;
        let live =
            timestamp::parse(&ceremony.expires_at).is_ok_and(|at| at > OffsetDateTime::now_utc());
        live.then_some(Ceremony {
            purpose: ceremony.purpose,
            account_id: ceremony.account_id,
            name: None,
            state: ceremony.state,
        })
    }

    /// Deletes the ceremony and returns it if it was live: whatever happens next, its
    /// challenge cannot be answered again (WebAuthn L3 §13.4.3).
    async fn take_ceremony(
        &self,
        id: &str,
        purposes: &[&str],
    ) -> Result<Option<Ceremony>, IdentityError> {
        let mut tx = self.db.begin().await?;
        let row = ceremonies::take(&mut tx, id).await?;
        tx.commit().await?;
        let Some(StoredCeremony {
            ceremony,
            expires_at,
        }) = row
        else {
            return Ok(None);
        };
        let live = timestamp::parse(&expires_at).is_ok_and(|at| at > OffsetDateTime::now_utc());
        if !live || !purposes.contains(&ceremony.purpose.as_str()) {
            return Ok(None);
        }
        Ok(Some(ceremony))
    }
}
