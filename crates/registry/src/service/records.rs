//! Citizens' records: registration of numbers issued elsewhere, amendments, and officials'
//! reads of a record, its versions and everything the record page shows.

use kernel::event::{CitizenVersion, Event};
use kernel::{Message, PersonalId};
use store::events;
use store::{Tx, timestamp};
use time::{Date, OffsetDateTime};

use super::Registry;
use crate::domain::access::Holder;
use crate::domain::access::Reader;
use crate::domain::matching::IdentityMatch;
use crate::domain::record::{CitizenRecord, FieldIssue, canonical_phone};
use crate::domain::version::{Change, VersionEntry, Versioned};
use crate::domain::{CitizenFile, OwnFile};
use crate::error::RegistryError;
use crate::store::{citizens, numbers, residence};

/// Contact details and occupation, the part of a record an official edits on its page.
#[derive(Debug, Clone, Default)]
pub struct ContactChange {
    pub phone: Option<String>,
    pub email: Option<String>,
    pub occupation: Option<String>,
}

impl Registry {
    /// Registers a record whose number was issued elsewhere (migration from older systems).
    pub async fn register(
        &self,
        record: &CitizenRecord,
        change: Change<'_>,
        today: Date,
    ) -> Result<(), RegistryError> {
        self.validate(record, today)?;
        let now = timestamp::now();
        let mut tx = self.db().begin().await?;
        if numbers::claim(&mut tx, &[record.personal_id], &now)
            .await?
            .is_empty()
        {
            return Err(RegistryError::AlreadyRegistered(
                record.personal_id.masked(),
            ));
        }
        citizens::insert_new(&mut tx, &[record], change, "registered", &now).await?;
        registered_event(&mut tx, record).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the record with `record` if it is still at `expected_version`; returns the new
    /// version, or the current one when `record` changes nothing (a save with no change makes
    /// no version). The personal ID number itself never changes.
    pub async fn amend(
        &self,
        personal_id: PersonalId,
        expected_version: i64,
        record: &CitizenRecord,
        change: Change<'_>,
        today: Date,
    ) -> Result<i64, RegistryError> {
        if record.personal_id != personal_id {
            return Err(RegistryError::Invalid(vec![FieldIssue::new(
                "personal_id",
                Message::new("record.id_never_changes"),
            )]));
        }
        self.validate(record, today)?;
        if let Some(current) = self.get(personal_id).await?
            && current.version == expected_version
            && current.record == *record
        {
            return Ok(current.version);
        }
        let mut tx = self.db().begin().await?;
        let version = write_version(
            &mut tx,
            record,
            expected_version,
            change,
            "amended",
            Event::CitizenAmended,
        )
        .await?;
        tx.commit().await?;
        Ok(version)
    }

    /// Replaces the contact details and occupation, keeping the rest of the record.
    pub async fn amend_contact(
        &self,
        personal_id: PersonalId,
        expected_version: i64,
        contact: ContactChange,
        change: Change<'_>,
        today: Date,
    ) -> Result<i64, RegistryError> {
        let current = self
            .get(personal_id)
            .await?
            .ok_or(RegistryError::NotFound)?;
        let record = CitizenRecord {
            phone: contact.phone.map(canonical_phone),
            email: contact.email,
            occupation: contact.occupation,
            ..current.record
        };
        self.amend(personal_id, expected_version, &record, change, today)
            .await
    }

    /// Only for the exchange provider and callers being moved to it (issue 12).
    ///
    /// The current record, read without an entry in the access log: whoever calls this logs
    /// the read in its own trail.
    pub async fn get(&self, personal_id: PersonalId) -> Result<Option<Versioned>, RegistryError> {
        citizens::current(self.db(), personal_id).await
    }

    /// The current record, for an official; the view is logged.
    pub async fn record(
        &self,
        reader: Reader<'_>,
        personal_id: PersonalId,
    ) -> Result<Versioned, RegistryError> {
        let current = self
            .get(personal_id)
            .await?
            .ok_or(RegistryError::NotFound)?;
        self.log_reads([personal_id.to_string().as_str()], reader)
            .await?;
        Ok(current)
    }

    /// The record as it stood at `at`: the last version recorded at or before it. The view
    /// is logged when there was one.
    pub async fn as_of(
        &self,
        reader: Reader<'_>,
        personal_id: PersonalId,
        at: OffsetDateTime,
    ) -> Result<Option<Versioned>, RegistryError> {
        let then = citizens::as_of(self.db(), personal_id, &timestamp::format(at)).await?;
        if then.is_some() {
            self.log_reads([personal_id.to_string().as_str()], reader)
                .await?;
        }
        Ok(then)
    }

    /// Every version, oldest first, with the fields each one changed; the view is logged.
    pub async fn history(
        &self,
        reader: Reader<'_>,
        personal_id: PersonalId,
    ) -> Result<Vec<VersionEntry>, RegistryError> {
        let history = citizens::versions(self.db(), personal_id).await?;
        if history.is_empty() {
            return Err(RegistryError::NotFound);
        }
        self.log_reads([personal_id.to_string().as_str()], reader)
            .await?;
        Ok(history)
    }

    /// What the officials' record page shows. The household's members are listed with their
    /// names and birth dates, so their data is read too: each citizen shown is logged once.
    pub async fn citizen_file(
        &self,
        reader: Reader<'_>,
        personal_id: PersonalId,
    ) -> Result<CitizenFile, RegistryError> {
        let current = self
            .get(personal_id)
            .await?
            .ok_or(RegistryError::NotFound)?;
        let history = citizens::versions(self.db(), personal_id).await?;
        let residence = residence::events_of(self.db(), personal_id).await?;
        let household = match &current.record.household {
            Some(h) => citizens::household_members(self.db(), &h.household_id).await?,
            None => Vec::new(),
        };
        let subject = personal_id.to_string();
        let shown = std::iter::once(subject.as_str())
            .chain(household.iter().map(|m| m.personal_id.as_str()));
        self.log_reads(shown, reader).await?;
        Ok(CitizenFile {
            current,
            history,
            residence,
            household,
        })
    }

    /// A person's own record and residence history, as "my data" shows them. The household's
    /// other members are not read: their data is theirs.
    pub async fn own_file(&self, holder: Holder) -> Result<OwnFile, RegistryError> {
        let personal_id = holder.personal_id();
        let current = self
            .get(personal_id)
            .await?
            .ok_or(RegistryError::NotFound)?;
        let residence = residence::events_of(self.db(), personal_id).await?;
        Ok(OwnFile { current, residence })
    }

    /// Only for the exchange provider and callers being moved to it (issue 12).
    ///
    /// Compares submitted facts with the record (see [`IdentityMatch::of`]); the caller logs
    /// the check in its own trail.
    pub async fn match_identity(
        &self,
        personal_id: PersonalId,
        full_name: &str,
        birth_date: Date,
    ) -> Result<IdentityMatch, RegistryError> {
        let current = self.get(personal_id).await?;
        Ok(IdentityMatch::of(
            current.as_ref().map(|c| &c.record),
            full_name,
            birth_date,
        ))
    }
}

/// The event of one registration.
pub(super) async fn registered_event(
    tx: &mut Tx,
    record: &CitizenRecord,
) -> Result<(), RegistryError> {
    let id = record.personal_id.to_string();
    let registered = Event::CitizenRegistered(CitizenVersion { version: 1 });
    events::append(tx, &id, &registered).await?;
    Ok(())
}

/// Keeps a new version of the record, with the `event` of the change.
pub(super) async fn write_version(
    tx: &mut Tx,
    record: &CitizenRecord,
    expected_version: i64,
    change: Change<'_>,
    kind: &str,
    event: fn(CitizenVersion) -> Event,
) -> Result<i64, RegistryError> {
    let now = timestamp::now();
    let version =
        citizens::insert_version(tx, record, expected_version, change, kind, &now).await?;
    let id = record.personal_id.to_string();
    events::append(tx, &id, &event(CitizenVersion { version })).await?;
    Ok(version)
}
