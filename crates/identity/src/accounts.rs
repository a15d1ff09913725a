use std::net::IpAddr;

use exchange::client::Purpose;
use kernel::event::{AccountRegistered, Event};
use kernel::{AgencyCode, PersonalId, PhoneNumber, Role};
use store::{Db, timestamp};
use time::Date;
use web::Principal;

use crate::attempts::{self, AccountKey, Factor, Reservation};
use crate::error::IdentityError;
use crate::password::{self, PasswordChecks};
use crate::store::accounts::{self as store_accounts, NewAccount, PasswordCheck};

/// Why registration reads the registry; the citizen whose number was given sees it.
const REGISTRATION_PURPOSE: &str =
    "Đăng ký tài khoản định danh điện tử: đối chiếu thông tin khai báo";

/// Self-registration at level 1: facts checked against the registry, plus a contact channel.
#[derive(Debug, Clone)]
pub struct Registration {
    pub personal_id: PersonalId,
    pub full_name: String,
    pub birth_date: Date,
    /// As typed: `0713 697 553`, `+84 713 697 553` and the like are read as one number and
    /// kept in the national form `0713697553`.
    pub phone: Option<String>,
    pub email: Option<String>,
    pub password: String,
}

#[derive(Debug, Clone)]
pub struct Identity {
    pub(crate) db: Db,
    pub(crate) population: crate::population::Population,
    pub(crate) throttle: std::sync::Arc<crate::throttle::FailureThrottle>,
    pub(crate) password_checks: PasswordChecks,
    pub(crate) machine: std::sync::Arc<crate::oidc::MachineCache>,
    pub(crate) sealing: crate::sealing::SealingKey,
    /// Mark the session cookie `Secure` (browsers also accept it on http://localhost).
    pub cookie_secure: bool,
    /// The public base URL, the OpenID Connect issuer; taken from the request when unset.
    pub public_url: Option<String>,
}

impl Identity {
    /// An identity service whose registry reads wait for [`Identity::population`] to be
    /// connected to the exchange.
    pub fn new(db: Db, cookie_secure: bool) -> Self {
        Self {
            db,
            population: crate::population::Population::default(),
            throttle: std::sync::Arc::default(),
            password_checks: PasswordChecks::sized_to_cores(),
            machine: std::sync::Arc::default(),
            // Good for one process only; a server sets its key file with `with_sealing_key`.
            sealing: crate::sealing::SealingKey::ephemeral(),
            cookie_secure,
            public_url: None,
        }
    }

    /// Bounds password hashes with `checks` instead of one per core.
    pub fn with_password_checks(mut self, checks: PasswordChecks) -> Self {
        self.password_checks = checks;
        self
    }

    /// The bound on password hashes in flight, shared by every sign-in path.
    /// The road to the population registry, connected at start-up.
    pub fn population(&self) -> &crate::population::Population {
        &self.population
    }

    pub fn password_checks(&self) -> &PasswordChecks {
        &self.password_checks
    }

    /// Seals TOTP seeds and signing keys with `key` (the node's key file) from now on.
    pub fn with_sealing_key(mut self, key: crate::sealing::SealingKey) -> Self {
        self.sealing = key;
        self
    }

    pub async fn register(&self, registration: Registration) -> Result<String, IdentityError> {
        let id_text = registration.personal_id.to_string();
        let phone = registration
            .phone
            .filter(|p| !p.trim().is_empty())
            .map(|typed| PhoneNumber::parse(&typed))
            .transpose()
            .map_err(|e| IdentityError::Invalid {
                field: "phone",
                reason: e.reason,
            })?;
        let email = registration.email.filter(|e| !e.trim().is_empty());
        if phone.is_none() && email.is_none() {
            return Err(IdentityError::Invalid {
                field: "phone",
                reason: "give a phone number or an e-mail address to receive codes".into(),
            });
        }
        let own_facts = password::OwnFacts {
            personal_id: &id_text,
            phones: phone.as_slice(),
            birth_date: Some(registration.birth_date),
        };
        password::check_strength(&registration.password, &own_facts).map_err(|reason| {
            IdentityError::Invalid {
                field: "password",
                reason: reason.into(),
            }
        })?;
        let matched = self
            .population
            .check(
                registration.personal_id,
                &registration.full_name,
                registration.birth_date,
                Purpose {
                    on_behalf_of: None,
                    issue: REGISTRATION_PURPOSE,
                },
            )
            .await?;
        if !matched.all() {
            return Err(IdentityError::NoMatch);
        }
        let hash = self
            .password_checks
            .acquire()
            .await?
            .hash(registration.password)
            .await
            .map_err(IdentityError::Internal)?;
        let account_id = uuid::Uuid::now_v7().to_string();
        let mut tx = self.db.begin().await?;
        let account = NewAccount {
            id: &account_id,
            personal_id: &id_text,
            password_hash: hash,
            phone: phone.map(|number| number.to_string()),
            email,
            created_at: timestamp::now(),
        };
        if !store_accounts::insert(&mut tx, account).await? {
            return Err(IdentityError::AccountExists);
        }
        let registered = Event::AccountRegistered(AccountRegistered { level: 1 });
        store::events::append(&mut tx, &account_id, &registered).await?;
        tx.commit().await?;
        Ok(account_id)
    }

    /// Level 2: an authorised official confirms the person in person; who and when is kept.
    pub async fn confirm_level2(
        &self,
        personal_id: PersonalId,
        official: &Principal,
    ) -> Result<(), IdentityError> {
        let agency = official
            .agency_with(Role::IdentityVerifier)
            .ok_or(IdentityError::Forbidden(Role::IdentityVerifier))?;
        let mut tx = self.db.begin().await?;
        let confirmed = store_accounts::confirm_level2(
            &mut tx,
            &format!("{}@{agency}", official.actor()),
            &timestamp::now(),
            &personal_id.to_string(),
        )
        .await?;
        if !confirmed {
            return Err(IdentityError::NoAccount);
        }
        tx.commit().await?;
        Ok(())
    }

    /// Gives the account of `personal_id` a role in an agency (an operator's act).
    pub async fn grant_role(
        &self,
        personal_id: PersonalId,
        agency: &AgencyCode,
        role: Role,
        granted_by: &str,
    ) -> Result<(), IdentityError> {
        let mut tx = self.db.begin().await?;
        let account = store_accounts::id_by_personal_id_in(&mut tx, &personal_id.to_string())
            .await?
            .ok_or(IdentityError::NoAccount)?;
        store_accounts::grant_role(
            &mut tx,
            account,
            agency.as_str(),
            role.as_str(),
            granted_by,
            timestamp::now(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Checks the password and opens a session. With a second factor set up, the session
    /// signs nobody in until `complete_sign_in` accepts a code. The attempt is counted
    /// against the client's address and the account before the hash is checked.
    pub async fn login(
        &self,
        personal_id: &str,
        password: &str,
        user_agent: &str,
        client: Option<IpAddr>,
    ) -> Result<SignIn, IdentityError> {
        // The turn to hash comes first: a sign-in refused as busy has changed nothing, and
        // an address has no more attempts reserved at once than there are turns, so many
        // right passwords at once from one office behind NAT are not taken for a spray.
        let permit = self.password_checks.acquire().await?;
        self.counted_against(
            client,
            self.check_password(permit, personal_id, password, user_agent),
        )
        .await
    }

    /// Runs a sign-in step after reserving a failure for the client's address (OWASP
    /// Authentication Cheat Sheet: throttle by source as well as by account); the
    /// reservation is given back unless the step failed on a wrong secret.
    pub(crate) async fn counted_against<T>(
        &self,
        client: Option<IpAddr>,
        step: impl Future<Output = Result<T, IdentityError>>,
    ) -> Result<T, IdentityError> {
        if let Some(address) = client {
            self.throttle
                .reserve(address)
                .map_err(|seconds| IdentityError::Throttled {
                    retry_after_seconds: seconds,
                })?;
        }
        let outcome = step.await;
        if let Some(address) = client
            && outcome
                .as_ref()
                .err()
                .is_none_or(|e| !e.is_failed_attempt())
        {
            self.throttle.release(address);
        }
        outcome
    }

    async fn check_password(
        &self,
        permit: password::PasswordPermit,
        personal_id: &str,
        password: &str,
        user_agent: &str,
    ) -> Result<SignIn, IdentityError> {
        let reservation = attempts::reserve::<PasswordCheck>(
            &self.db,
            Factor::Password,
            AccountKey::PersonalId(personal_id),
        )
        .await?;
        let (row, locks_until) = match reservation {
            Reservation::Counted { row, locks_until } => (row, locks_until),
            Reservation::Locked { until } => {
                tracing::info!("sign-in refused: the account is locked");
                return Err(IdentityError::Locked { until });
            }
            Reservation::NoAccount => {
                // The same work as for an account, so timing does not tell which exist.
                permit.verify(password.to_owned(), None).await;
                tracing::info!("sign-in refused: no account for the personal ID given");
                return Err(IdentityError::BadCredentials);
            }
        };
        let PasswordCheck {
            id: account_id,
            password_hash: stored,
            totp_confirmed_at,
        } = row;
        let has_second_factor = totp_confirmed_at.is_some();
        if !permit.verify(password.to_owned(), Some(stored)).await {
            if locks_until.is_some() {
                tracing::warn!(account = %account_id, "account locked after repeated wrong passwords");
            } else {
                tracing::info!(account = %account_id, "sign-in refused: wrong password");
            }
            return Err(attempts::wrong_answer(locks_until));
        }
        let mut tx = self.db.begin().await?;
        attempts::forgive(&mut tx, Factor::Password, &account_id).await?;
        let method = if has_second_factor {
            crate::sessions::SignInMethod::PasswordAndCode
        } else {
            crate::sessions::SignInMethod::Password
        };
        let token = crate::sessions::open(&mut tx, &account_id, user_agent, method).await?;
        tx.commit().await?;
        Ok(if has_second_factor {
            SignIn::NeedsCode(token)
        } else {
            SignIn::Complete(token)
        })
    }
}

/// The outcome of a right password: a session token, complete or waiting for a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    Complete(String),
    NeedsCode(String),
}

impl SignIn {
    pub fn token(&self) -> &str {
        match self {
            Self::Complete(token) | Self::NeedsCode(token) => token,
        }
    }
}
