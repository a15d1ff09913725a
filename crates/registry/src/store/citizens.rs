//! Citizens' current records (`registry_citizens`), every version of them
//! (`registry_citizen_versions`) and the households their heads head.

use std::collections::HashMap;

use kernel::PersonalId;
use store::bulk::{self, Value};
use store::{Db, Tx};
use time::Date;

use crate::domain::record::{CitizenRecord, Relationship};
use crate::domain::summary::Summary;
use crate::domain::version::{Change, VersionEntry, Versioned, changed_fields};
use crate::error::RegistryError;

const SUMMARY_COLUMNS: &str = "personal_id, full_name, birth_date, household_id";

#[derive(sqlx::FromRow)]
struct VersionedRow {
    record: String,
    version: i64,
    recorded_at: String,
}

impl VersionedRow {
    fn into_versioned(self) -> Result<Versioned, RegistryError> {
        Ok(Versioned {
            record: serde_json::from_str(&self.record)?,
            version: self.version,
            recorded_at: store::timestamp::parse(&self.recorded_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct VersionRow {
    version: i64,
    record: String,
    recorded_at: String,
    changed_by: String,
    basis: String,
    change: String,
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    personal_id: String,
    full_name: String,
    birth_date: String,
    household_id: Option<String>,
}

impl From<SummaryRow> for Summary {
    fn from(row: SummaryRow) -> Self {
        Self {
            personal_id: row.personal_id,
            full_name: row.full_name,
            birth_date: row.birth_date,
            household_id: row.household_id,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ExportRow {
    personal_id: String,
    record: String,
}

/// The current version of a record.
pub(crate) async fn current(
    db: &Db,
    personal_id: PersonalId,
) -> Result<Option<Versioned>, RegistryError> {
    sqlx::query_as::<_, VersionedRow>(
        "SELECT v.record, c.version, c.updated_at AS recorded_at FROM registry_citizens c \
         JOIN registry_citizen_versions v ON v.personal_id = c.personal_id AND v.version = c.version \
         WHERE c.personal_id = $1",
    )
    .bind(personal_id.to_string())
    .fetch_optional(db.reader())
    .await?
    .map(VersionedRow::into_versioned)
    .transpose()
}

/// The last version recorded at or before `at` (stored text form).
pub(crate) async fn as_of(
    db: &Db,
    personal_id: PersonalId,
    at: &str,
) -> Result<Option<Versioned>, RegistryError> {
    sqlx::query_as::<_, VersionedRow>(
        "SELECT record, version, recorded_at FROM registry_citizen_versions \
         WHERE personal_id = $1 AND recorded_at <= $2 ORDER BY version DESC LIMIT 1",
    )
    .bind(personal_id.to_string())
    .bind(at)
    .fetch_optional(db.reader())
    .await?
    .map(VersionedRow::into_versioned)
    .transpose()
}

/// Every version, oldest first, with the fields each one changed.
pub(crate) async fn versions(
    db: &Db,
    personal_id: PersonalId,
) -> Result<Vec<VersionEntry>, RegistryError> {
    let rows = sqlx::query_as::<_, VersionRow>(
        "SELECT version, record, recorded_at, changed_by, basis, change FROM registry_citizen_versions \
         WHERE personal_id = $1 ORDER BY version",
    )
    .bind(personal_id.to_string())
    .fetch_all(db.reader())
    .await?;
    let mut previous: Option<serde_json::Value> = None;
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        let record: serde_json::Value = serde_json::from_str(&row.record)?;
        entries.push(VersionEntry {
            version: row.version,
            recorded_at: store::timestamp::parse(&row.recorded_at)?,
            changed_by: row.changed_by,
            basis: row.basis,
            change: row.change,
            fields: changed_fields(previous.as_ref(), &record),
        });
        previous = Some(record);
    }
    Ok(entries)
}

/// People whose folded name is `name_key`, optionally born on `birth_date`.
pub(crate) async fn by_name(
    db: &Db,
    name_key: &str,
    birth_date: Option<Date>,
    limit: i64,
) -> Result<Vec<Summary>, RegistryError> {
    by_name_from(db, name_key, birth_date, limit, 0).await
}

/// As [`by_name`], skipping the first `offset` in personal ID order (one page of many).
pub(crate) async fn by_name_from(
    db: &Db,
    name_key: &str,
    birth_date: Option<Date>,
    limit: i64,
    offset: i64,
) -> Result<Vec<Summary>, RegistryError> {
    // An absent date matches every date: one statement serves both searches.
    let rows = sqlx::query_as::<_, SummaryRow>(&format!(
        "SELECT {SUMMARY_COLUMNS} FROM registry_citizens WHERE name_key = $1 AND ($2 IS NULL OR birth_date = $2) ORDER BY personal_id LIMIT $3 OFFSET $4"
    ))
    .bind(name_key)
    .bind(birth_date.map(|d| d.to_string()))
    .bind(limit)
    .bind(offset)
    .fetch_all(db.reader())
    .await?;
    Ok(rows.into_iter().map(Summary::from).collect())
}

/// How many people [`by_name`] would find with no limit.
pub(crate) async fn count_by_name(
    db: &Db,
    name_key: &str,
    birth_date: Option<Date>,
) -> Result<u64, RegistryError> {
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM registry_citizens WHERE name_key = $1 AND ($2 IS NULL OR birth_date = $2)",
    )
    .bind(name_key)
    .bind(birth_date.map(|d| d.to_string()))
    .fetch_one(db.reader())
    .await?;
    Ok(u64::try_from(count).unwrap_or_default())
}

/// The members of a household, oldest first.
pub(crate) async fn household_members(
    db: &Db,
    household_id: &str,
) -> Result<Vec<Summary>, RegistryError> {
    let rows = sqlx::query_as::<_, SummaryRow>(&format!(
        "SELECT {SUMMARY_COLUMNS} FROM registry_citizens WHERE household_id = $1 ORDER BY birth_date, personal_id"
    ))
    .bind(household_id)
    .fetch_all(db.reader())
    .await?;
    Ok(rows.into_iter().map(Summary::from).collect())
}

pub(crate) async fn count(db: &Db) -> Result<i64, RegistryError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM registry_citizens")
        .fetch_one(db.reader())
        .await?)
}

/// Up to `limit` current records after personal ID `after`, in personal-ID order, with the
/// number to continue after; an empty page ends the walk.
pub(crate) async fn page_after(
    db: &Db,
    after: &str,
    limit: i64,
) -> Result<(Vec<CitizenRecord>, Option<String>), RegistryError> {
    let rows = sqlx::query_as::<_, ExportRow>(
        "SELECT c.personal_id, v.record FROM registry_citizens c \
         JOIN registry_citizen_versions v ON v.personal_id = c.personal_id AND v.version = c.version \
         WHERE c.personal_id > $1 ORDER BY c.personal_id LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    let last = rows.last().map(|row| row.personal_id.clone());
    let records = rows
        .iter()
        .map(|row| serde_json::from_str(&row.record))
        .collect::<Result<_, _>>()?;
    Ok((records, last))
}

/// Writes version 1 of each record (numbers already claimed), and the households that
/// their heads head. Multi-row statements: the same code serves one record and a bulk import.
pub(crate) async fn insert_new(
    tx: &mut Tx,
    records: &[&CitizenRecord],
    change: Change<'_>,
    kind: &str,
    now: &str,
) -> Result<(), RegistryError> {
    let mut citizens = Vec::with_capacity(records.len());
    let mut versions = Vec::with_capacity(records.len());
    let mut households: HashMap<String, Vec<Value>> = HashMap::new();
    for record in records {
        let id = record.personal_id.to_string();
        let json = serde_json::to_string(record)?;
        citizens.push(vec![
            Value::Text(id.clone()),
            Value::Int(1),
            Value::Text(record.full_name.clone()),
            Value::Text(record.name_key()),
            Value::Text(record.birth_date.to_string()),
            Value::OptionalText(record.household.as_ref().map(|h| h.household_id.clone())),
            Value::Text(now.to_owned()),
        ]);
        versions.push(vec![
            Value::Text(id.clone()),
            Value::Int(1),
            Value::Text(json),
            Value::Text(now.to_owned()),
            Value::Text(change.actor.to_owned()),
            Value::Text(change.basis.to_owned()),
            Value::Text(kind.to_owned()),
        ]);
        if let Some(membership) = &record.household
            && membership.relationship_to_head == Relationship::Head
        {
            let address = record.permanent_residence.as_ref();
            // Keyed by household: one statement may not update the same row twice.
            households.insert(
                membership.household_id.clone(),
                vec![
                    Value::Text(membership.household_id.clone()),
                    Value::Text(id),
                    Value::Text(address.map(|a| a.province.to_string()).unwrap_or_default()),
                    Value::Text(address.map(|a| a.detail.clone()).unwrap_or_default()),
                    Value::Text(now.to_owned()),
                ],
            );
        }
    }
    bulk::insert_rows(
        tx,
        "registry_citizens",
        &[
            "personal_id",
            "version",
            "full_name",
            "name_key",
            "birth_date",
            "household_id",
            "updated_at",
        ],
        citizens,
        "",
    )
    .await?;
    bulk::insert_rows(
        tx,
        "registry_citizen_versions",
        &[
            "personal_id",
            "version",
            "record",
            "recorded_at",
            "changed_by",
            "basis",
            "change",
        ],
        versions,
        "",
    )
    .await?;
    bulk::insert_rows(
        tx,
        "registry_households",
        &["id", "head_id", "province_code", "address", "created_at"],
        households.into_values().collect(),
        "ON CONFLICT (id) DO UPDATE SET head_id = excluded.head_id, province_code = excluded.province_code, address = excluded.address",
    )
    .await?;
    Ok(())
}

/// Replaces the current record if it is at `expected_version` and keeps the new version;
/// returns the new version number.
pub(crate) async fn insert_version(
    tx: &mut Tx,
    record: &CitizenRecord,
    expected_version: i64,
    change: Change<'_>,
    kind: &str,
    now: &str,
) -> Result<i64, RegistryError> {
    let id = record.personal_id.to_string();
    let json = serde_json::to_string(record)?;
    let version = expected_version + 1;
    let updated = sqlx::query(
        "UPDATE registry_citizens SET version = $1, full_name = $2, name_key = $3, birth_date = $4, household_id = $5, updated_at = $6 \
         WHERE personal_id = $7 AND version = $8",
    )
    .bind(version)
    .bind(&record.full_name)
    .bind(record.name_key())
    .bind(record.birth_date.to_string())
    .bind(record.household.as_ref().map(|h| h.household_id.clone()))
    .bind(now)
    .bind(&id)
    .bind(expected_version)
    .execute(tx.conn())
    .await?;
    if updated.rows_affected() == 0 {
        let current: Option<i64> =
            sqlx::query_scalar("SELECT version FROM registry_citizens WHERE personal_id = $1")
                .bind(&id)
                .fetch_optional(tx.conn())
                .await?;
        return Err(match current {
            None => RegistryError::NotFound,
            Some(current) => RegistryError::VersionConflict {
                expected: expected_version,
                current,
            },
        });
    }
    sqlx::query(
        "INSERT INTO registry_citizen_versions (personal_id, version, record, recorded_at, changed_by, basis, change) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(version)
    .bind(json)
    .bind(now)
    .bind(change.actor)
    .bind(change.basis)
    .bind(kind)
    .execute(tx.conn())
    .await?;
    Ok(version)
}
