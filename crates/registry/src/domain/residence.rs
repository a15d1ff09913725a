//! Residence changes (Law on Residence 2020): what each kind does to a record, and the
//! history kept of them with their effective dates.

use kernel::Message;
use kernel::event::{CitizenVersion, Event};
use serde::Serialize;
use time::Date;

use crate::domain::record::{Absence, Address, CitizenRecord, FieldIssue};

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

    /// The event recorded with a change of this kind.
    pub(crate) fn event(self) -> fn(CitizenVersion) -> Event {
        match self {
            Self::Permanent => Event::PermanentResidence,
            Self::Temporary => Event::TemporaryResidence,
            Self::TemporaryEnded => Event::TemporaryResidenceEnded,
            Self::Current => Event::CurrentResidence,
            Self::Absence => Event::AbsenceDeclared,
            Self::AbsenceEnded => Event::AbsenceEnded,
        }
    }

    pub fn parse(input: &str) -> Result<Self, Message> {
        Self::ALL
            .iter()
            .find(|(_, text)| *text == input)
            .map(|(kind, _)| *kind)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|(_, text)| *text).collect();
                Message::new("residence.kind")
                    .with("found", format!("{input:?}"))
                    .with("known", names.join(", "))
            })
    }

    /// Only an ending needs no address.
    fn needs_address(self) -> bool {
        !matches!(self, Self::TemporaryEnded | Self::AbsenceEnded)
    }
}

#[derive(Debug, Clone)]
pub struct ResidenceChange {
    pub kind: ResidenceKind,
    /// Required except when something ends.
    pub address: Option<Address>,
    pub effective_from: Date,
}

impl ResidenceChange {
    /// The record after this change, or why the change cannot be made. The result still has
    /// to pass the record's own checks.
    pub fn apply_to(
        &self,
        mut record: CitizenRecord,
        today: Date,
    ) -> Result<CitizenRecord, FieldIssue> {
        if self.kind.needs_address() && self.address.is_none() {
            return Err(FieldIssue::new(
                "address",
                Message::new("residence.address_required"),
            ));
        }
        if self.effective_from > today {
            return Err(FieldIssue::new(
                "effective_from",
                Message::new("residence.effective_future"),
            ));
        }
        match self.kind {
            ResidenceKind::Permanent => {
                record.permanent_residence = self.address.clone();
                record.current_residence = self.address.clone();
            }
            ResidenceKind::Temporary => {
                record.temporary_residence = self.address.clone();
                record.current_residence = self.address.clone();
            }
            ResidenceKind::TemporaryEnded => {
                record.temporary_residence = None;
                record.current_residence = record.permanent_residence.clone();
            }
            ResidenceKind::Current => record.current_residence = self.address.clone(),
            ResidenceKind::Absence => {
                record.temporary_absence = self.address.as_ref().map(|a| Absence {
                    since: self.effective_from,
                    until: None,
                    destination: a.detail.clone(),
                });
            }
            ResidenceKind::AbsenceEnded => record.temporary_absence = None,
        }
        Ok(record)
    }
}

/// One entry of a citizen's residence history.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ResidenceEvent {
    pub kind: String,
    pub province: Option<String>,
    pub address: Option<String>,
    pub effective_from: String,
    #[serde(with = "kernel::timestamp::text")]
    #[schema(value_type = String, format = DateTime)]
    pub recorded_at: time::OffsetDateTime,
    pub basis: String,
}
