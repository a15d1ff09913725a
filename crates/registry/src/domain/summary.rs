//! What searches and household listings show of each person.

use serde::Serialize;

use crate::domain::record::CitizenRecord;

/// What a search returns: enough to tell people apart, no more.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Summary {
    pub personal_id: String,
    pub full_name: String,
    pub birth_date: String,
    pub household_id: Option<String>,
}

impl From<&CitizenRecord> for Summary {
    fn from(record: &CitizenRecord) -> Self {
        Self {
            personal_id: record.personal_id.to_string(),
            full_name: record.full_name.clone(),
            birth_date: record.birth_date.to_string(),
            household_id: record.household.as_ref().map(|h| h.household_id.clone()),
        }
    }
}
