//! Identity verification for banks (seed 001: bank accounts checked against the population
//! database). A bank's system, signed in as itself with a machine token, submits what its
//! customer declared and learns, field by field, whether it matches the registry; never the
//! record. The check goes through the exchange to the registry's `identity-check` service, so
//! it is in the audit log and the citizen's data tracker under the bank's name.

use exchange::client::Purpose;
use kernel::PersonalId;
use serde::{Deserialize, Serialize};
use store::timestamp;
use time::Date;
use utoipa::ToSchema;

use crate::accounts::Identity;
use crate::error::IdentityError;
use crate::oidc::MachineToken;
use crate::store::verifications as store_verifications;

/// The scope a bank's client needs.
pub const VERIFY_SCOPE: &str = "identity.verify";
/// What the citizen sees as the purpose of the check.
const PURPOSE: &str = "Xác minh danh tính chủ tài khoản ngân hàng";

/// What the bank's customer declared.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolderClaim {
    /// 12-digit personal ID number.
    pub personal_id: String,
    /// As the citizen's papers write it, with its diacritics ("Trần Đức Thành", not
    /// "TRAN DUC THANH"); case, spacing and Unicode normalisation form do not matter.
    pub full_name: String,
    #[schema(value_type = String, format = Date)]
    pub birth_date: Date,
    /// The bank's own reference for the check (an application or account number).
    pub reference: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Match,
    NoMatch,
}

impl From<bool> for Outcome {
    fn from(matched: bool) -> Self {
        if matched { Self::Match } else { Self::NoMatch }
    }
}

/// Per-field outcome; `living` is no match when the registry records a death or missing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HolderCheck {
    pub check_id: String,
    #[serde(with = "kernel::timestamp::text")]
    #[schema(value_type = String, format = DateTime)]
    pub checked_at: time::OffsetDateTime,
    pub personal_id: Outcome,
    pub full_name: Outcome,
    pub birth_date: Outcome,
    pub living: Outcome,
}

impl Identity {
    /// Compares a declared identity with the registry and keeps the check.
    pub async fn verify_holder(
        &self,
        caller: &MachineToken,
        claim: HolderClaim,
    ) -> Result<HolderCheck, IdentityError> {
        let personal_id =
            PersonalId::parse(claim.personal_id.trim()).map_err(|e| IdentityError::Invalid {
                field: "personal_id",
                reason: e.reason,
            })?;
        if claim.full_name.trim().is_empty() {
            return Err(IdentityError::Invalid {
                field: "full_name",
                reason: "is required".into(),
            });
        }
        let reference = claim.reference.filter(|r| !r.trim().is_empty());
        if reference.as_ref().is_some_and(|r| r.chars().count() > 100) {
            return Err(IdentityError::Invalid {
                field: "reference",
                reason: "at most 100 characters".into(),
            });
        }
        // The citizen sees the bank by the name its operator registered.
        let bank = self
            .machine_client(&caller.client_id)
            .await?
            .map_or_else(|| caller.subject.clone(), |client| client.name);
        let matched = self
            .population
            .check(
                personal_id,
                claim.full_name.trim(),
                claim.birth_date,
                Purpose {
                    on_behalf_of: Some(&bank),
                    issue: PURPOSE,
                },
            )
            .await?;
        let check = HolderCheck {
            check_id: uuid::Uuid::now_v7().to_string(),
            checked_at: time::OffsetDateTime::now_utc(),
            personal_id: matched.personal_id.into(),
            full_name: matched.full_name.into(),
            birth_date: matched.birth_date.into(),
            living: matched.living.into(),
        };
        let mut tx = self.db.begin().await?;
        let kept = store_verifications::Check {
            id: &check.check_id,
            client_id: &caller.client_id,
            subject: &caller.subject,
            personal_id: personal_id.to_string(),
            personal_id_match: matched.personal_id,
            full_name_match: matched.full_name,
            birth_date_match: matched.birth_date,
            living_match: matched.living,
            reference: &reference,
            checked_at: &timestamp::format(check.checked_at),
        };
        store_verifications::insert(&mut tx, kept).await?;
        tx.commit().await?;
        Ok(check)
    }
}
