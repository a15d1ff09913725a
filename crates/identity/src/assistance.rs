//! Assisted use (MISSION S14): members of a commune's community digital technology team help
//! people use public services. A helper may act for a citizen only under the citizen's
//! recorded consent, a *mandate*: limited to scopes from a fixed list and to at most 30
//! days, revocable at any time, listed in both accounts. Which mandate a session acts under
//! is kept with the session on the server, never in a cookie; acting never makes the helper
//! *be* the citizen: the principal stays the helper, and each action taken is recorded
//! (who, for whom, what, when) and shown to the citizen.

use exchange::client::Purpose;
use kernel::event::{Event, MandateGranted, MandateRevoked};
use kernel::{PersonalId, Role, Scope};
use serde::Serialize;
use store::timestamp;
use time::{Duration, OffsetDateTime};
use web::Principal;
use web::auth::ActingFor;

use crate::accounts::Identity;
use crate::error::IdentityError;
use crate::population::RecordView;
use crate::sessions::digest;
use crate::store::accounts as store_accounts;
use crate::store::mandates::{self, Helper, NewAction, NewMandate, Party};
use crate::store::sessions as store_sessions;

/// The longest mandate a citizen can give in one go.
pub const MAX_DAYS: i64 = 30;

/// Where a mandate stands now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MandateStatus {
    Active,
    Expired,
    Revoked,
}

/// A mandate as both parties see it.
#[derive(Debug, Clone, Serialize)]
pub struct Mandate {
    pub id: String,
    pub citizen_name: String,
    pub citizen_personal_id: String,
    pub helper_name: String,
    /// The agency (team) in which the helper holds the helper role.
    pub helper_agency: String,
    pub scopes: Vec<Scope>,
    #[serde(with = "kernel::timestamp::text")]
    pub granted_at: OffsetDateTime,
    #[serde(with = "kernel::timestamp::text")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "kernel::timestamp::text::option")]
    pub revoked_at: Option<OffsetDateTime>,
    pub status: MandateStatus,
}

/// One action a helper took for a citizen.
#[derive(Debug, Clone, Serialize)]
pub struct AssistedAction {
    #[serde(with = "kernel::timestamp::text")]
    pub at: OffsetDateTime,
    pub helper_name: String,
    pub helper_agency: String,
    /// `assist.started`, `assist.stopped`, `profile.viewed` or `access_log.viewed`.
    pub action: String,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> IdentityError {
    IdentityError::Invalid {
        field,
        reason: reason.into(),
    }
}

fn parse_scopes(text: &str) -> Vec<Scope> {
    text.split_whitespace()
        .filter_map(|s| Scope::parse(s).ok())
        .collect()
}

impl Identity {
    /// The signed-in citizen gives `helper_personal_id`, a registered helper, a mandate for
    /// `scopes` during `days` days.
    pub async fn grant_mandate(
        &self,
        citizen: &Principal,
        helper_personal_id: &str,
        scopes: &[String],
        days: i64,
    ) -> Result<String, IdentityError> {
        let helper_id = PersonalId::parse(helper_personal_id.trim())
            .map_err(|e| invalid("helper_personal_id", e.reason))?;
        if helper_id == citizen.personal_id {
            return Err(invalid(
                "helper_personal_id",
                "a mandate is given to someone else",
            ));
        }
        let scopes = scopes
            .iter()
            .map(|s| Scope::parse(s.trim()).map_err(|e| invalid("scopes", e.reason)))
            .collect::<Result<Vec<_>, _>>()?;
        if scopes.is_empty() {
            return Err(invalid(
                "scopes",
                "choose at least one thing the helper may do",
            ));
        }
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(invalid("days", format!("from 1 to {MAX_DAYS} days")));
        }
        let Helper {
            id: helper_account,
            agency,
        } = mandates::helper(&self.db, Role::AssistHelper.as_str(), helper_id.to_string())
            .await?
            .ok_or_else(|| invalid("helper_personal_id", "no e-ID account has this number"))?;
        let agency = agency.ok_or_else(|| {
            invalid(
                "helper_personal_id",
                "this person is not a registered member of a community digital technology team",
            )
        })?;
        let now = OffsetDateTime::now_utc();
        let id = uuid::Uuid::now_v7().to_string();
        let mut scope_text: Vec<&str> = Scope::ALL
            .into_iter()
            .filter(|s| scopes.contains(s))
            .map(Scope::as_str)
            .collect();
        scope_text.dedup();
        let mut tx = self.db.begin().await?;
        // A new mandate to the same helper replaces the one in force: one line per helper on
        // the citizen's page, and the helper acts under the scopes and days just chosen.
        let in_force = mandates::in_force_between(
            &mut tx,
            &citizen.account_id,
            &helper_account,
            &timestamp::format(now),
        )
        .await?;
        for earlier in in_force {
            self.revoke_in(&mut tx, &citizen.account_id, &earlier)
                .await?;
        }
        let mandate = NewMandate {
            id: &id,
            citizen_account: &citizen.account_id,
            helper_account: &helper_account,
            helper_agency: &agency,
            scopes: scope_text.join(" "),
            granted_at: timestamp::format(now),
            expires_at: timestamp::format(now + Duration::days(days)),
        };
        mandates::insert(&mut tx, mandate).await?;
        let granted = MandateGranted {
            mandate: id.clone(),
            days,
        };
        store::events::append(
            &mut tx,
            &citizen.account_id,
            &Event::MandateGranted(granted),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The citizen withdraws a mandate; sessions acting under it stop at their next request.
    pub async fn revoke_mandate(
        &self,
        citizen_account: &str,
        mandate_id: &str,
    ) -> Result<bool, IdentityError> {
        let mut tx = self.db.begin().await?;
        let revoked = self.revoke_in(&mut tx, citizen_account, mandate_id).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    /// Revokes in `tx`: sessions acting under the mandate stop, and the revocation is an event.
    async fn revoke_in(
        &self,
        tx: &mut store::Tx,
        citizen_account: &str,
        mandate_id: &str,
    ) -> Result<bool, IdentityError> {
        let revoked = mandates::revoke(tx, timestamp::now(), mandate_id, citizen_account).await?;
        if revoked {
            store_sessions::stop_acting_under(tx, mandate_id).await?;
            let event = Event::MandateRevoked(MandateRevoked {
                mandate: mandate_id.to_owned(),
            });
            store::events::append(tx, citizen_account, &event).await?;
        }
        Ok(revoked)
    }

    /// Mandates the citizen gave, newest first.
    pub async fn mandates_given(
        &self,
        citizen_account: &str,
    ) -> Result<Vec<Mandate>, IdentityError> {
        self.mandates(Party::Citizen, citizen_account).await
    }

    /// Mandates given to the helper, newest first.
    pub async fn mandates_held(&self, helper_account: &str) -> Result<Vec<Mandate>, IdentityError> {
        self.mandates(Party::Helper, helper_account).await
    }

    async fn mandates(&self, party: Party, account: &str) -> Result<Vec<Mandate>, IdentityError> {
        let rows = mandates::of(&self.db, party, account).await?;
        let now = OffsetDateTime::now_utc();
        let mut mandates = Vec::with_capacity(rows.len());
        for row in rows {
            let status = if row.revoked_at.is_some() {
                MandateStatus::Revoked
            } else if timestamp::parse(&row.expires_at).is_ok_and(|at| at > now) {
                MandateStatus::Active
            } else {
                MandateStatus::Expired
            };
            mandates.push(Mandate {
                id: row.id,
                citizen_name: self.name_of(&row.citizen_pid).await?,
                citizen_personal_id: row.citizen_pid,
                helper_name: self.name_of(&row.helper_pid).await?,
                helper_agency: row.helper_agency,
                scopes: parse_scopes(&row.scopes),
                granted_at: timestamp::parse(&row.granted_at)?,
                expires_at: timestamp::parse(&row.expires_at)?,
                revoked_at: row
                    .revoked_at
                    .as_deref()
                    .map(timestamp::parse)
                    .transpose()?,
                status,
            });
        }
        Ok(mandates)
    }

    /// The mandate a session acts under, if it is still active for the session's account.
    pub(crate) async fn acting_for(
        &self,
        mandate_id: &str,
        helper_account: &str,
    ) -> Result<Option<ActingFor>, IdentityError> {
        let row = mandates::active(&self.db, mandate_id, helper_account, timestamp::now()).await?;
        let Some(row) = row else { return Ok(None) };
        let citizen_personal_id =
            PersonalId::parse(&row.personal_id).map_err(|e| IdentityError::Internal(e.reason))?;
        Ok(Some(ActingFor {
            mandate_id: row.id,
            citizen_account_id: row.citizen_account,
            citizen_personal_id,
            citizen_name: self.name_of(&row.personal_id).await?,
            scopes: parse_scopes(&row.scopes),
            expires_at: timestamp::parse(&row.expires_at)?,
        }))
    }

    /// The helper starts acting for a citizen in this session, under an active mandate the
    /// citizen gave them. The start is recorded.
    pub async fn start_acting(
        &self,
        session_token: &str,
        helper: &Principal,
        mandate_id: &str,
    ) -> Result<ActingFor, IdentityError> {
        if helper.agency_with(Role::AssistHelper).is_none() {
            return Err(IdentityError::Forbidden(Role::AssistHelper));
        }
        let acting = self
            .acting_for(mandate_id, &helper.account_id)
            .await?
            .ok_or(IdentityError::NoMandate)?;
        let mut tx = self.db.begin().await?;
        let started = store_sessions::start_acting(
            &mut tx,
            &acting.mandate_id,
            digest(session_token),
            &helper.account_id,
        )
        .await?;
        if !started {
            return Err(IdentityError::BadCredentials);
        }
        record(&mut tx, &acting, helper, "assist.started").await?;
        tx.commit().await?;
        Ok(acting)
    }

    /// Ends acting for anyone in this session; the end is recorded.
    pub async fn stop_acting(
        &self,
        session_token: &str,
        helper: &Principal,
        acting: Option<&ActingFor>,
    ) -> Result<(), IdentityError> {
        let mut tx = self.db.begin().await?;
        store_sessions::stop_acting(&mut tx, digest(session_token), &helper.account_id).await?;
        if let Some(acting) = acting {
            record(&mut tx, acting, helper, "assist.stopped").await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Checks that the mandate the helper acts under is still active and covers `scope`,
    /// and records `action` in the same transaction: an action is never taken unrecorded.
    pub async fn act(
        &self,
        helper: &Principal,
        acting: &ActingFor,
        scope: Scope,
        action: &str,
    ) -> Result<(), IdentityError> {
        if helper.agency_with(Role::AssistHelper).is_none() {
            return Err(IdentityError::Forbidden(Role::AssistHelper));
        }
        let current = self
            .acting_for(&acting.mandate_id, &helper.account_id)
            .await?
            .ok_or(IdentityError::NoMandate)?;
        if !current.allows(scope) {
            return Err(IdentityError::OutOfScope(scope));
        }
        let mut tx = self.db.begin().await?;
        record(&mut tx, &current, helper, action).await?;
        tx.commit().await?;
        Ok(())
    }

    /// What helpers did for the citizen, newest first.
    pub async fn assisted_actions(
        &self,
        citizen_account: &str,
    ) -> Result<Vec<AssistedAction>, IdentityError> {
        let rows = mandates::actions(&self.db, citizen_account).await?;
        let mut actions = Vec::with_capacity(rows.len());
        for row in rows {
            actions.push(AssistedAction {
                at: timestamp::parse(&row.acted_at)?,
                helper_name: self.name_of(&row.personal_id).await?,
                helper_agency: row.helper_agency,
                action: row.action,
            });
        }
        Ok(actions)
    }
}

/// What a helper sees of the citizen under `profile.view`.
#[derive(Debug, Clone, Serialize)]
pub struct AssistedProfile {
    pub full_name: String,
    pub personal_id: String,
    pub birth_date: time::Date,
    pub sex: kernel::Sex,
    pub permanent_residence: Option<String>,
    pub assurance_level: i64,
}

/// What the citizen reads as the purpose when a helper opened their registry facts.
const VIEW_PURPOSE: &str = "Tổ công nghệ số cộng đồng hỗ trợ theo ủy quyền của công dân";
/// Why a helper reads the citizen's access log.
const ACCESS_LOG_PURPOSE: &str =
    "Tổ công nghệ số cộng đồng xem nhật ký truy cập theo ủy quyền của công dân";

impl Identity {
    /// Under `profile.view`: the citizen's account and registry facts. Recorded as an
    /// assisted action, and as a view in the citizen's list of who viewed their data.
    pub async fn assisted_profile(
        &self,
        helper: &Principal,
        acting: &ActingFor,
    ) -> Result<AssistedProfile, IdentityError> {
        self.act(helper, acting, Scope::ProfileView, "profile.viewed")
            .await?;
        // The citizen sees the read under the helper's team, with the mandate as its purpose.
        let team = helper.agency_with(Role::AssistHelper).unwrap_or_default();
        let record = self
            .population
            .person(
                acting.citizen_personal_id,
                Purpose {
                    on_behalf_of: Some(team),
                    issue: VIEW_PURPOSE,
                },
            )
            .await?
            .ok_or(IdentityError::NoAccount)?;
        let level = store_accounts::assurance_level(&self.db, &acting.citizen_account_id).await?;
        Ok(AssistedProfile {
            full_name: record.full_name,
            personal_id: record.personal_id.to_string(),
            birth_date: record.birth_date,
            sex: record.sex,
            permanent_residence: record.permanent_residence.map(|a| a.detail),
            assurance_level: level,
        })
    }

    /// Under `access_log.view`: who viewed the citizen's registry data. Recorded.
    pub async fn assisted_access_log(
        &self,
        helper: &Principal,
        acting: &ActingFor,
    ) -> Result<Vec<RecordView>, IdentityError> {
        self.act(helper, acting, Scope::AccessLogView, "access_log.viewed")
            .await?;
        let team = helper.agency_with(Role::AssistHelper).unwrap_or_default();
        self.population
            .views_of(
                acting.citizen_personal_id,
                Purpose {
                    on_behalf_of: Some(team),
                    issue: ACCESS_LOG_PURPOSE,
                },
            )
            .await
    }
}

async fn record(
    tx: &mut store::Tx,
    acting: &ActingFor,
    helper: &Principal,
    action: &str,
) -> Result<(), IdentityError> {
    let recorded = NewAction {
        id: uuid::Uuid::now_v7().to_string(),
        mandate_id: &acting.mandate_id,
        citizen_account: &acting.citizen_account_id,
        helper_account: &helper.account_id,
        action,
        acted_at: timestamp::now(),
    };
    mandates::record_action(tx, recorded).await?;
    Ok(())
}
