//! How the e-ID system reads the population registry: through the exchange, as its own
//! subsystem (`VN/GOV/BCA/eid`), like any agency would. Every read is allowed by a right in
//! the catalogue, recorded in the audit log and shown in the citizen's data tracker with its
//! purpose and, where the e-ID system reads for someone (a relying party, a bank, a helper),
//! for whom.

use std::sync::{Arc, OnceLock};

use exchange::client::Purpose;
use exchange::{Client, NewRight, ServiceId, SubsystemId};
use kernel::{PersonalId, ProvinceCode, Sex};
use serde::{Deserialize, Serialize};
use time::Date;

use crate::IdentityError;
use crate::store::accounts as store_accounts;

/// The e-ID system's subsystem code under the Ministry of Public Security.
pub const SUBSYSTEM_CODE: &str = "eid";

/// The registry's fields the e-ID system may read: what OpenID Connect claims, pages and
/// assisted use show, and nothing else.
const FIELDS: [&str; 6] = [
    "personal_id",
    "full_name",
    "birth_date",
    "sex",
    "permanent_residence",
    "phone",
];

/// The registry's services the e-ID system calls, by code.
const SERVICES: [&str; 3] = ["citizens", "identity-check", "access-log"];

/// The part of a citizen's record the e-ID system reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Person {
    pub personal_id: PersonalId,
    pub full_name: String,
    pub birth_date: Date,
    pub sex: Sex,
    pub permanent_residence: Option<Residence>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Residence {
    pub province: ProvinceCode,
    pub detail: String,
}

/// The registry's answer to an identity check, per fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistryMatch {
    pub personal_id: bool,
    pub full_name: bool,
    pub birth_date: bool,
    pub living: bool,
}

impl RegistryMatch {
    pub fn all(&self) -> bool {
        self.personal_id && self.full_name && self.birth_date && self.living
    }
}

#[derive(Deserialize)]
struct CheckAnswer {
    personal_id: String,
    full_name: String,
    birth_date: String,
    living: String,
}

#[derive(Serialize)]
struct CheckClaim<'a> {
    personal_id: String,
    full_name: &'a str,
    birth_date: Date,
}

/// An official's view of a citizen's registry record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecordView {
    pub viewer: String,
    pub agency: String,
    pub purpose: String,
    #[serde(with = "kernel::timestamp::text")]
    #[schema(value_type = String, format = DateTime)]
    pub viewed_at: time::OffsetDateTime,
}

struct Connected {
    client: Client,
    audit: audit::AuditLog,
    citizens: ServiceId,
    identity_check: ServiceId,
    access_log: ServiceId,
}

/// The e-ID system's road to the registry; connected once the exchange is running (the
/// exchange in turn checks tokens that identity issues, so one is made before the other).
/// Clones share the connection.
#[derive(Clone, Default)]
pub struct Population(Arc<OnceLock<Connected>>);

impl std::fmt::Debug for Population {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Population")
            .field("connected", &self.0.get().is_some())
            .finish()
    }
}

impl Population {
    /// Registers the e-ID subsystem and its rights to the registry's services (idempotent)
    /// and connects through it. `registry` is the registry's subsystem
    /// (`VN/GOV/BCA/registry`).
    pub async fn connect(
        &self,
        exchange: &exchange::Exchange,
        audit: &audit::AuditLog,
        registry: &SubsystemId,
    ) -> Result<(), IdentityError> {
        let subsystem = format!("{}/{SUBSYSTEM_CODE}", registry.member);
        let id = SubsystemId::parse(&subsystem).map_err(internal)?;
        let service = |code: &str| ServiceId::parse(&format!("{registry}/{code}"));
        let (citizens, identity_check, access_log) = (
            service(SERVICES[0]).map_err(internal)?,
            service(SERVICES[1]).map_err(internal)?,
            service(SERVICES[2]).map_err(internal)?,
        );
        let snapshot = exchange.catalog.snapshot().await;
        if !snapshot.has_subsystem(&id) {
            exchange
                .catalog
                .add_subsystem(&subsystem, "Hệ thống định danh và xác thực điện tử")
                .await
                .map_err(internal)?;
        }
        for service in [&citizens, &identity_check, &access_log] {
            if snapshot
                .rights_of(&exchange::ClientId::Subsystem(id.clone()), service)
                .is_empty()
            {
                let fields = (service == &citizens)
                    .then(|| FIELDS.iter().map(|f| (*f).to_owned()).collect());
                exchange
                    .catalog
                    .grant(
                        NewRight {
                            client: subsystem.clone(),
                            service: service.to_string(),
                            method: None,
                            path: None,
                            fields,
                        },
                        "lienthong:start-up",
                    )
                    .await
                    .map_err(internal)?;
            }
        }
        let _already = self.0.set(Connected {
            client: exchange.client(id),
            audit: audit.clone(),
            citizens,
            identity_check,
            access_log,
        });
        Ok(())
    }

    fn connected(&self) -> Result<&Connected, IdentityError> {
        self.0.get().ok_or_else(|| {
            IdentityError::Internal("the population registry is not connected".into())
        })
    }

    /// The citizen's record as far as the e-ID system may read it; `None` when the registry
    /// has no such citizen.
    pub async fn person(
        &self,
        personal_id: PersonalId,
        purpose: Purpose<'_>,
    ) -> Result<Option<Person>, IdentityError> {
        let connected = self.connected()?;
        let answer = connected
            .client
            .get(&connected.citizens, &format!("/{personal_id}"), purpose)
            .await?;
        match answer.status.as_u16() {
            404 => Ok(None),
            200 => Ok(Some(answer.json()?)),
            status => Err(IdentityError::Internal(format!(
                "the registry's citizens service answered {status}"
            ))),
        }
    }

    /// Compares declared facts with the registry's record (the registry says match or no
    /// match per fact, never the record).
    pub async fn check(
        &self,
        personal_id: PersonalId,
        full_name: &str,
        birth_date: Date,
        purpose: Purpose<'_>,
    ) -> Result<RegistryMatch, IdentityError> {
        let connected = self.connected()?;
        let claim = CheckClaim {
            personal_id: personal_id.to_string(),
            full_name,
            birth_date,
        };
        let answer = connected
            .client
            .post_json(&connected.identity_check, "/", &claim, purpose)
            .await?;
        let checked: CheckAnswer = answer.json()?;
        let matched = |outcome: &str| outcome == "match";
        Ok(RegistryMatch {
            personal_id: matched(&checked.personal_id),
            full_name: matched(&checked.full_name),
            birth_date: matched(&checked.birth_date),
            living: matched(&checked.living),
        })
    }

    /// Officials' views of the citizen's registry record, newest first.
    pub async fn views_of(
        &self,
        personal_id: PersonalId,
        purpose: Purpose<'_>,
    ) -> Result<Vec<RecordView>, IdentityError> {
        let connected = self.connected()?;
        let answer = connected
            .client
            .get(&connected.access_log, &format!("/{personal_id}"), purpose)
            .await?;
        Ok(answer.json()?)
    }
}

/// Why the e-ID system reads an account holder's name: it shows on their own pages and in
/// mandate lists.
const NAME_PURPOSE: &str = "Hiển thị họ tên chủ tài khoản định danh điện tử";

impl crate::Identity {
    /// An account holder's name, read from the registry once and kept with the account;
    /// empty when the registry has no such record.
    pub(crate) async fn name_of(&self, personal_id: &str) -> Result<String, IdentityError> {
        let Ok(id) = PersonalId::parse(personal_id) else {
            return Ok(String::new());
        };
        let kept = store_accounts::name_by_personal_id(&self.db, personal_id).await?;
        if let Some(Some(name)) = kept {
            return Ok(name);
        }
        let purpose = Purpose {
            on_behalf_of: None,
            issue: NAME_PURPOSE,
        };
        let Some(person) = self.population.person(id, purpose).await? else {
            return Ok(String::new());
        };
        if kept.is_some() {
            let mut tx = self.db.begin().await?;
            store_accounts::keep_name(&mut tx, personal_id, &person.full_name).await?;
            tx.commit().await?;
        }
        Ok(person.full_name)
    }
}

/// Why the e-ID system reads a citizen's access log for the citizen's own account page.
const OWN_LOG_PURPOSE: &str = "Công dân xem ai đã truy cập dữ liệu của mình";

impl crate::Identity {
    /// Who looked at the citizen's data, newest first: officials' views of the registry
    /// record, and reads through the exchange made for someone (a relying party, a bank, a
    /// helper's team), shown under that someone's name. The e-ID system's own reads for the
    /// citizen (their name, this very list) are in the data tracker, not here.
    pub async fn who_viewed(
        &self,
        personal_id: PersonalId,
    ) -> Result<Vec<RecordView>, IdentityError> {
        let connected = self.population.connected()?;
        let purpose = Purpose {
            on_behalf_of: None,
            issue: OWN_LOG_PURPOSE,
        };
        let mut views = self.population.views_of(personal_id, purpose).await?;
        connected.audit.settled().await;
        let entries = audit::entries_about(&self.db, &personal_id.to_string(), 200)
            .await
            .map_err(internal)?;
        views.extend(entries.into_iter().filter_map(|entry| {
            let for_whom = entry.user_id?;
            Some(RecordView {
                viewer: entry.client,
                agency: for_whom,
                purpose: entry.issue.unwrap_or_default(),
                viewed_at: entry.at,
            })
        }));
        views.sort_by_key(|view| std::cmp::Reverse(view.viewed_at));
        Ok(views)
    }
}

fn internal(error: impl std::fmt::Display) -> IdentityError {
    IdentityError::Internal(error.to_string())
}
