//! Every change to a record is a new version, kept with who made it and on which basis.

use serde::Serialize;

use crate::domain::record::CitizenRecord;

/// Who makes a change and on which legal basis or request.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    pub actor: &'a str,
    pub basis: &'a str,
}

/// A record with its version number and when that version was recorded.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Versioned {
    pub record: CitizenRecord,
    pub version: i64,
    #[serde(with = "kernel::timestamp::text")]
    #[schema(value_type = String, format = DateTime)]
    pub recorded_at: time::OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct VersionEntry {
    pub version: i64,
    #[serde(with = "kernel::timestamp::text")]
    #[schema(value_type = String, format = DateTime)]
    pub recorded_at: time::OffsetDateTime,
    pub changed_by: String,
    pub basis: String,
    pub change: String,
    /// Top-level fields that differ from the previous version.
    pub fields: Vec<String>,
}

/// The top-level fields of a record (as JSON) that differ between two versions, sorted;
/// none for the first version.
pub fn changed_fields(
    previous: Option<&serde_json::Value>,
    current: &serde_json::Value,
) -> Vec<String> {
    let (Some(previous), Some(current)) =
        (previous.and_then(|p| p.as_object()), current.as_object())
    else {
        return Vec::new();
    };
    let mut fields: Vec<String> = current
        .iter()
        .filter(|(key, value)| previous.get(*key) != Some(value))
        .map(|(key, _)| key.clone())
        .chain(
            previous
                .keys()
                .filter(|key| !current.contains_key(*key))
                .cloned(),
        )
        .collect();
    fields.sort();
    fields
}
