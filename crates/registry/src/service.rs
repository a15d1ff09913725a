use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use kernel::{PersonalId, ProvinceCode, Sex};
use rand::Rng;
use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;
use store::bulk::{self, Value};
use store::events::{self, NewEvent};
use store::{Db, Tx, timestamp};
use time::{Date, OffsetDateTime};

use crate::lists::Lists;
use crate::record::{Absence, Address, CitizenRecord, FieldIssue, Membership, Relative};

/// Who makes a change and on which legal basis or request.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    pub actor: &'a str,
    pub basis: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("the record is not acceptable: {}", list(.0))]
    Invalid(Vec<FieldIssue>),
    #[error("no citizen has this personal ID number")]
    NotFound,
    #[error("personal ID number {0} is already registered")]
    AlreadyRegistered(String),
    #[error(
        "the record is at version {current}, not {expected}: reload it and apply the change again"
    )]
    VersionConflict { expected: i64, current: i64 },
    #[error("no unused personal ID number could be drawn for this province, century and year")]
    NumbersExhausted,
    #[error(transparent)]
    Store(#[from] store::Error),
}

fn list(issues: &[FieldIssue]) -> String {
    issues
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<sqlx::Error> for RegistryError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(store::Error::Sql(error))
    }
}

impl From<serde_json::Error> for RegistryError {
    fn from(error: serde_json::Error) -> Self {
        Self::Store(store::Error::Sql(sqlx::Error::Decode(Box::new(error))))
    }
}

/// A record with its version number and when that version was recorded.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Versioned {
    pub record: CitizenRecord,
    pub version: i64,
    pub recorded_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct VersionEntry {
    pub version: i64,
    pub recorded_at: String,
    pub changed_by: String,
    pub basis: String,
    pub change: String,
    /// Top-level fields that differ from the previous version.
    pub fields: Vec<String>,
}

/// What a search returns: enough to tell people apart, no more.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Summary {
    pub personal_id: String,
    pub full_name: String,
    pub birth_date: String,
    pub household_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResidenceKind {
    /// Permanent residence registered (or moved) to the address.
    Permanent,
    /// Temporary residence registered at the address.
    Temporary,
    /// Temporary residence ended.
    TemporaryEnded,
    /// Current place of residence updated.
    Current,
    /// Temporary absence declared; the address is the destination.
    Absence,
    /// Back from temporary absence.
    AbsenceEnded,
}

impl ResidenceKind {
    const ALL: [(Self, &'static str); 6] = [
        (Self::Permanent, "permanent"),
        (Self::Temporary, "temporary"),
        (Self::TemporaryEnded, "temporary_ended"),
        (Self::Current, "current"),
        (Self::Absence, "absence"),
        (Self::AbsenceEnded, "absence_ended"),
    ];

    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(kind, _)| *kind == self)
            .map_or("", |(_, text)| text)
    }

    pub fn parse(input: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .find(|(_, text)| *text == input)
            .map(|(kind, _)| *kind)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|(_, text)| *text).collect();
                format!("kind must be one of {}, got {input:?}", names.join(", "))
            })
    }
}

#[derive(Debug, Clone)]
pub struct ResidenceChange {
    pub kind: ResidenceKind,
    /// Required except when something ends.
    pub address: Option<Address>,
    pub effective_from: Date,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ResidenceEvent {
    pub kind: String,
    pub province: Option<String>,
    pub address: Option<String>,
    pub effective_from: String,
    pub recorded_at: String,
    pub basis: String,
}

/// Whether submitted identity facts agree with the registry, field by field. It never
/// carries the recorded values themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IdentityMatch {
    pub personal_id: bool,
    pub full_name: bool,
    pub birth_date: bool,
    /// False when the record shows a death or a declaration of missing.
    pub living: bool,
}

impl IdentityMatch {
    pub fn all(&self) -> bool {
        self.personal_id && self.full_name && self.birth_date && self.living
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ViewEntry {
    pub viewer: String,
    pub agency: String,
    pub purpose: String,
    pub viewed_at: String,
}

/// A birth to register: the registry issues the personal ID number.
#[derive(Debug, Clone)]
pub struct BirthRegistration {
    pub full_name: String,
    pub birth_date: Date,
    pub sex: Sex,
    pub birth_registration_province: ProvinceCode,
    pub place_of_birth: Option<String>,
    pub ethnicity: String,
    pub religion: String,
    pub nationality: String,
    pub father: Option<Relative>,
    pub mother: Option<Relative>,
    pub permanent_residence: Option<Address>,
    pub household: Option<Membership>,
}

#[derive(Debug, Clone)]
pub struct Registry {
    db: Db,
    lists: Arc<Lists>,
}

const SUMMARY_COLUMNS: &str = "personal_id, full_name, birth_date, household_id";

impl Registry {
    pub fn new(db: Db, lists: Arc<Lists>) -> Self {
        Self { db, lists }
    }

    pub fn lists(&self) -> &Lists {
        &self.lists
    }

    pub fn shared_lists(&self) -> Arc<Lists> {
        self.lists.clone()
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Checks a record against every rule; the error lists each failing field.
    pub fn validate(&self, record: &CitizenRecord, today: Date) -> Result<(), RegistryError> {
        let issues = record.check(&self.lists, today);
        if issues.is_empty() {
            Ok(())
        } else {
            Err(RegistryError::Invalid(issues))
        }
    }

    /// Registers a birth and issues a personal ID number never issued before.
    pub async fn register_birth(
        &self,
        birth: BirthRegistration,
        change: Change<'_>,
        today: Date,
    ) -> Result<CitizenRecord, RegistryError> {
        let mut tx = self.db.begin().await?;
        let personal_id = issue_number(
            &mut tx,
            birth.birth_registration_province,
            birth.sex,
            birth.birth_date.year(),
        )
        .await?;
        let record = CitizenRecord {
            place_of_birth: birth.place_of_birth,
            birth_registration_province: birth.birth_registration_province,
            religion: birth.religion,
            nationality: birth.nationality,
            current_residence: birth.permanent_residence.clone(),
            permanent_residence: birth.permanent_residence,
            household: birth.household,
            father: birth.father,
            mother: birth.mother,
            ..CitizenRecord::new(
                personal_id,
                birth.full_name,
                birth.birth_date,
                birth.sex,
                birth.ethnicity,
            )
        };
        self.validate(&record, today)?;
        write_new_records(&mut tx, &[&record], change, "registered").await?;
        registered_event(&mut tx, &record).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Registers a record whose number was issued elsewhere (migration from older systems).
    pub async fn register(
        &self,
        record: &CitizenRecord,
        change: Change<'_>,
        today: Date,
    ) -> Result<(), RegistryError> {
        self.validate(record, today)?;
        let mut tx = self.db.begin().await?;
        if claim_numbers(&mut tx, &[record.personal_id])
            .await?
            .is_empty()
        {
            return Err(RegistryError::AlreadyRegistered(
                record.personal_id.masked(),
            ));
        }
        write_new_records(&mut tx, &[record], change, "registered").await?;
        registered_event(&mut tx, record).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the record with `record` if it is still at `expected_version`; returns the new
    /// version. The personal ID number itself never changes.
    pub async fn amend(
        &self,
        personal_id: PersonalId,
        expected_version: i64,
        record: &CitizenRecord,
        change: Change<'_>,
        today: Date,
    ) -> Result<i64, RegistryError> {
        if record.personal_id != personal_id {
            return Err(RegistryError::Invalid(vec![FieldIssue {
                field: "personal_id".into(),
                reason: "a personal ID number never changes".into(),
            }]));
        }
        self.validate(record, today)?;
        let mut tx = self.db.begin().await?;
        let version = write_version(&mut tx, record, expected_version, change, "amended").await?;
        tx.commit().await?;
        Ok(version)
    }

    pub async fn get(&self, personal_id: PersonalId) -> Result<Option<Versioned>, RegistryError> {
        let row = sqlx::query(
            "SELECT v.record, c.version, c.updated_at FROM registry_citizens c \
             JOIN registry_citizen_versions v ON v.personal_id = c.personal_id AND v.version = c.version \
             WHERE c.personal_id = $1",
        )
            .bind(personal_id.to_string())
            .fetch_optional(self.db.reader())
            .await?;
        row.map(|row| versioned(&row, "updated_at")).transpose()
    }

    /// The record as it stood at `at`: the last version recorded at or before it.
    pub async fn as_of(
        &self,
        personal_id: PersonalId,
        at: OffsetDateTime,
    ) -> Result<Option<Versioned>, RegistryError> {
        let row = sqlx::query(
            "SELECT record, version, recorded_at FROM registry_citizen_versions \
             WHERE personal_id = $1 AND recorded_at <= $2 ORDER BY version DESC LIMIT 1",
        )
        .bind(personal_id.to_string())
        .bind(timestamp::format(at))
        .fetch_optional(self.db.reader())
        .await?;
        row.map(|row| versioned(&row, "recorded_at")).transpose()
    }

    /// Every version, oldest first, with the fields each one changed.
    pub async fn history(
        &self,
        personal_id: PersonalId,
    ) -> Result<Vec<VersionEntry>, RegistryError> {
        let rows = sqlx::query(
            "SELECT version, record, recorded_at, changed_by, basis, change FROM registry_citizen_versions \
             WHERE personal_id = $1 ORDER BY version",
        )
        .bind(personal_id.to_string())
        .fetch_all(self.db.reader())
        .await?;
        let mut previous: Option<serde_json::Value> = None;
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows {
            let record: serde_json::Value =
                serde_json::from_str(&row.try_get::<String, _>("record")?)?;
            entries.push(VersionEntry {
                version: row.try_get("version")?,
                recorded_at: row.try_get("recorded_at")?,
                changed_by: row.try_get("changed_by")?,
                basis: row.try_get("basis")?,
                change: row.try_get("change")?,
                fields: changed_fields(previous.as_ref(), &record),
            });
            previous = Some(record);
        }
        Ok(entries)
    }

    /// People whose folded name matches exactly, optionally born on `birth_date`.
    pub async fn search_by_name(
        &self,
        name: &str,
        birth_date: Option<Date>,
        limit: i64,
    ) -> Result<Vec<Summary>, RegistryError> {
        let key = crate::record::fold_name(name);
        let rows = match birth_date {
            Some(date) => {
                sqlx::query(&format!(
                    "SELECT {SUMMARY_COLUMNS} FROM registry_citizens WHERE name_key = $1 AND birth_date = $2 ORDER BY personal_id LIMIT $3"
                ))
                .bind(key)
                .bind(date.to_string())
                .bind(limit)
                .fetch_all(self.db.reader())
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {SUMMARY_COLUMNS} FROM registry_citizens WHERE name_key = $1 ORDER BY personal_id LIMIT $2"
                ))
                .bind(key)
                .bind(limit)
                .fetch_all(self.db.reader())
                .await?
            }
        };
        rows.iter().map(summary).collect()
    }

    pub async fn household_members(
        &self,
        household_id: &str,
    ) -> Result<Vec<Summary>, RegistryError> {
        let rows = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM registry_citizens WHERE household_id = $1 ORDER BY birth_date, personal_id"
        ))
        .bind(household_id)
        .fetch_all(self.db.reader())
        .await?;
        rows.iter().map(summary).collect()
    }

    /// Applies a residence change to the record (a new version) and keeps it in the history.
    pub async fn change_residence(
        &self,
        personal_id: PersonalId,
        expected_version: i64,
        residence: ResidenceChange,
        change: Change<'_>,
        today: Date,
    ) -> Result<i64, RegistryError> {
        let current = self
            .get(personal_id)
            .await?
            .ok_or(RegistryError::NotFound)?;
        let mut record = current.record;
        let needs_address = !matches!(
            residence.kind,
            ResidenceKind::TemporaryEnded | ResidenceKind::AbsenceEnded
        );
        if needs_address && residence.address.is_none() {
            return Err(RegistryError::Invalid(vec![FieldIssue {
                field: "address".into(),
                reason: "is required for this change".into(),
            }]));
        }
        if residence.effective_from > today {
            return Err(RegistryError::Invalid(vec![FieldIssue {
                field: "effective_from".into(),
                reason: "is in the future".into(),
            }]));
        }
        match residence.kind {
            ResidenceKind::Permanent => {
                record.permanent_residence = residence.address.clone();
                record.current_residence = residence.address.clone();
            }
            ResidenceKind::Temporary => {
                record.temporary_residence = residence.address.clone();
                record.current_residence = residence.address.clone();
            }
            ResidenceKind::TemporaryEnded => {
                record.temporary_residence = None;
                record.current_residence = record.permanent_residence.clone();
            }
            ResidenceKind::Current => record.current_residence = residence.address.clone(),
            ResidenceKind::Absence => {
                record.temporary_absence = residence.address.as_ref().map(|a| Absence {
                    since: residence.effective_from,
                    until: None,
                    destination: a.detail.clone(),
                });
            }
            ResidenceKind::AbsenceEnded => record.temporary_absence = None,
        }
        self.validate(&record, today)?;
        let mut tx = self.db.begin().await?;
        let version = write_version(
            &mut tx,
            &record,
            expected_version,
            change,
            residence.kind.as_str(),
        )
        .await?;
        sqlx::query(
            "INSERT INTO registry_residence_events (personal_id, kind, province_code, address, effective_from, recorded_at, basis) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(personal_id.to_string())
        .bind(residence.kind.as_str())
        .bind(residence.address.as_ref().map(|a| a.province.to_string()))
        .bind(residence.address.as_ref().map(|a| a.detail.clone()))
        .bind(residence.effective_from.to_string())
        .bind(timestamp::now())
        .bind(change.basis)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(version)
    }

    pub async fn residence_history(
        &self,
        personal_id: PersonalId,
    ) -> Result<Vec<ResidenceEvent>, RegistryError> {
        let rows = sqlx::query(
            "SELECT kind, province_code, address, effective_from, recorded_at, basis FROM registry_residence_events \
             WHERE personal_id = $1 ORDER BY effective_from, id",
        )
        .bind(personal_id.to_string())
        .fetch_all(self.db.reader())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ResidenceEvent {
                    kind: row.try_get("kind")?,
                    province: row.try_get("province_code")?,
                    address: row.try_get("address")?,
                    effective_from: row.try_get("effective_from")?,
                    recorded_at: row.try_get("recorded_at")?,
                    basis: row.try_get("basis")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(RegistryError::from)
    }

    /// Records that someone viewed a citizen's record, for the citizen's data tracker.
    pub async fn log_view(
        &self,
        personal_id: PersonalId,
        viewer: &str,
        agency: &str,
        purpose: &str,
    ) -> Result<(), RegistryError> {
        let mut tx = self.db.begin().await?;
        sqlx::query("INSERT INTO registry_record_views (personal_id, viewer, agency, purpose, viewed_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(personal_id.to_string())
            .bind(viewer)
            .bind(agency)
            .bind(purpose)
            .bind(timestamp::now())
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn views_of(&self, personal_id: PersonalId) -> Result<Vec<ViewEntry>, RegistryError> {
        let rows = sqlx::query("SELECT viewer, agency, purpose, viewed_at FROM registry_record_views WHERE personal_id = $1 ORDER BY viewed_at DESC, id DESC")
            .bind(personal_id.to_string())
            .fetch_all(self.db.reader())
            .await?;
        rows.iter()
            .map(|row| {
                Ok(ViewEntry {
                    viewer: row.try_get("viewer")?,
                    agency: row.try_get("agency")?,
                    purpose: row.try_get("purpose")?,
                    viewed_at: row.try_get("viewed_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(RegistryError::from)
    }

    /// Compares submitted facts with the record. Names compare without regard to case or
    /// spacing; a name written without any diacritics (as banks often hold it: "NGUYEN VAN
    /// AN") is compared without them, but one written with diacritics must have the right
    /// ones: "Bính" is not "Bình".
    pub async fn match_identity(
        &self,
        personal_id: PersonalId,
        full_name: &str,
        birth_date: Date,
    ) -> Result<IdentityMatch, RegistryError> {
        Ok(match self.get(personal_id).await? {
            None => IdentityMatch {
                personal_id: false,
                full_name: false,
                birth_date: false,
                living: false,
            },
            Some(current) => IdentityMatch {
                personal_id: true,
                full_name: names_agree(full_name, &current.record.full_name),
                birth_date: current.record.birth_date == birth_date,
                living: current.record.death_date.is_none()
                    && current.record.missing_declared_on.is_none(),
            },
        })
    }

    pub async fn count(&self) -> Result<i64, RegistryError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM registry_citizens")
            .fetch_one(self.db.reader())
            .await?)
    }
}

fn names_agree(submitted: &str, recorded: &str) -> bool {
    let spaced_lower = |name: &str| {
        name.split_whitespace()
            .map(str::to_lowercase)
            .collect::<Vec<_>>()
            .join(" ")
    };
    if submitted.is_ascii() {
        crate::record::fold_name(submitted) == crate::record::fold_name(recorded)
    } else {
        spaced_lower(submitted) == spaced_lower(recorded)
    }
}

fn versioned(row: &AnyRow, time_column: &str) -> Result<Versioned, RegistryError> {
    Ok(Versioned {
        record: serde_json::from_str(&row.try_get::<String, _>("record")?)?,
        version: row.try_get("version")?,
        recorded_at: row.try_get(time_column)?,
    })
}

fn summary(row: &AnyRow) -> Result<Summary, RegistryError> {
    Ok(Summary {
        personal_id: row.try_get("personal_id")?,
        full_name: row.try_get("full_name")?,
        birth_date: row.try_get("birth_date")?,
        household_id: row.try_get("household_id")?,
    })
}

fn changed_fields(
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

/// Draws random serials until one is unused for this prefix and claims it in the same
/// transaction; the primary key makes a repeat impossible even across nodes.
async fn issue_number(
    tx: &mut Tx,
    province: ProvinceCode,
    sex: Sex,
    year: i32,
) -> Result<PersonalId, RegistryError> {
    const ATTEMPTS: usize = 64;
    for _ in 0..ATTEMPTS {
        let serial = rand::thread_rng().gen_range(0..1_000_000);
        let candidate = PersonalId::compose(province, sex, year, serial).map_err(|e| {
            RegistryError::Invalid(vec![FieldIssue {
                field: "birth_date".into(),
                reason: e.reason,
            }])
        })?;
        let claimed = sqlx::query(
            "INSERT INTO registry_issued_ids (personal_id, issued_at) VALUES ($1, $2) ON CONFLICT (personal_id) DO NOTHING",
        )
        .bind(candidate.to_string())
        .bind(timestamp::now())
        .execute(tx.conn())
        .await?;
        if claimed.rows_affected() == 1 {
            return Ok(candidate);
        }
    }
    Err(RegistryError::NumbersExhausted)
}

/// Claims numbers issued elsewhere; returns those that were free and are now claimed.
pub(crate) async fn claim_numbers(
    tx: &mut Tx,
    ids: &[PersonalId],
) -> Result<HashSet<String>, RegistryError> {
    let now = timestamp::now();
    let rows = ids
        .iter()
        .map(|id| vec![Value::Text(id.to_string()), Value::Text(now.clone())])
        .collect();
    let claimed = bulk::insert_rows(
        tx,
        "registry_issued_ids",
        &["personal_id", "issued_at"],
        rows,
        "ON CONFLICT (personal_id) DO NOTHING RETURNING personal_id",
    )
    .await?;
    Ok(claimed.into_iter().collect())
}

/// Writes version 1 of each record (numbers already claimed), and the households that
/// their heads head. Multi-row statements: the same code serves one record and a bulk import.
pub(crate) async fn write_new_records(
    tx: &mut Tx,
    records: &[&CitizenRecord],
    change: Change<'_>,
    kind: &str,
) -> Result<(), RegistryError> {
    let now = timestamp::now();
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
            Value::Text(now.clone()),
        ]);
        versions.push(vec![
            Value::Text(id.clone()),
            Value::Int(1),
            Value::Text(json),
            Value::Text(now.clone()),
            Value::Text(change.actor.to_owned()),
            Value::Text(change.basis.to_owned()),
            Value::Text(kind.to_owned()),
        ]);
        if let Some(membership) = &record.household
            && membership.relationship_to_head == crate::record::Relationship::Head
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
                    Value::Text(now.clone()),
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

/// The event of one registration.
async fn registered_event(tx: &mut Tx, record: &CitizenRecord) -> Result<(), RegistryError> {
    let id = record.personal_id.to_string();
    events::append(
        tx,
        NewEvent {
            stream: "citizen",
            stream_id: &id,
            kind: "citizen.registered",
            payload: json!({ "version": 1 }),
        },
    )
    .await?;
    Ok(())
}

async fn insert_version(
    tx: &mut Tx,
    id: &str,
    version: i64,
    json: &str,
    now: &str,
    change: Change<'_>,
    kind: &str,
) -> Result<(), RegistryError> {
    sqlx::query(
        "INSERT INTO registry_citizen_versions (personal_id, version, record, recorded_at, changed_by, basis, change) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(version)
    .bind(json)
    .bind(now)
    .bind(change.actor)
    .bind(change.basis)
    .bind(kind)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Replaces the current record if it is at `expected_version` and keeps the new version.
async fn write_version(
    tx: &mut Tx,
    record: &CitizenRecord,
    expected_version: i64,
    change: Change<'_>,
    kind: &str,
) -> Result<i64, RegistryError> {
    let id = record.personal_id.to_string();
    let now = timestamp::now();
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
    .bind(&now)
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
    insert_version(tx, &id, version, &json, &now, change, kind).await?;
    events::append(
        tx,
        NewEvent {
            stream: "citizen",
            stream_id: &id,
            kind: &format!("citizen.{kind}"),
            payload: json!({ "version": version }),
        },
    )
    .await?;
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::names_agree;

    #[test]
    fn names_agree_on_case_and_spacing_and_on_diacritics_when_given() {
        assert!(names_agree("NGUYEN VAN AN", "Nguyễn Văn An"));
        assert!(names_agree("nguyễn  văn AN", "Nguyễn Văn An"));
        assert!(!names_agree("Nguyễn Văn Ân", "Nguyễn Văn An"));
        assert!(!names_agree("Lê Văn Bính", "Lê Văn Bình"));
        assert!(!names_agree("NGUYEN VAN ANH", "Nguyễn Văn An"));
    }
}
