//! Birth registration and the issuing of personal ID numbers.

use kernel::{Message, PersonalId, ProvinceCode, Sex};
use rand::Rng;
use store::{Tx, timestamp};
use time::Date;

use super::Registry;
use super::records::registered_event;
use crate::domain::access::Reader;
use crate::domain::birth::BirthRegistration;
use crate::domain::record::{CitizenRecord, FieldIssue, Relative, fold_name};
use crate::domain::summary::Summary;
use crate::domain::version::Change;
use crate::error::RegistryError;
use crate::store::{citizens, numbers};

impl Registry {
    /// Registers a birth and issues a personal ID number never issued before.
    pub async fn register_birth(
        &self,
        birth: BirthRegistration,
        change: Change<'_>,
        today: Date,
    ) -> Result<CitizenRecord, RegistryError> {
        self.check_birth(&birth, today).await?;
        let mut tx = self.db().begin().await?;
        let personal_id = issue_number(
            &mut tx,
            birth.birth_registration_province,
            birth.sex,
            birth.birth_date.year(),
        )
        .await?;
        let record = birth.into_record(personal_id);
        self.validate(&record, today)?;
        citizens::insert_new(&mut tx, &[&record], change, "registered", &timestamp::now()).await?;
        registered_event(&mut tx, &record).await?;
        tx.commit().await?;
        Ok(record)
    }
}

impl Registry {
    /// Every rule a birth registration must meet before a number is issued: the province
    /// registering the birth is one in force today (a code merged away on 1 July 2025 issues
    /// no new numbers), each parent's ID number names a registered citizen, and the record
    /// the child would get passes the record's own checks.
    pub async fn check_birth(
        &self,
        birth: &BirthRegistration,
        today: Date,
    ) -> Result<(), RegistryError> {
        let mut issues = Vec::new();
        let province = birth.birth_registration_province;
        if !self.lists().is_current_province(province) {
            issues.push(FieldIssue::new(
                "birth_registration_province",
                Message::new("birth.province_not_in_force").with("province", province),
            ));
        }
        for (field, parent) in [("father_id", &birth.father), ("mother_id", &birth.mother)] {
            if let Some(id) = parent.as_ref().and_then(|p| p.personal_id)
                && self.get(id).await?.is_none()
            {
                issues.push(FieldIssue::new(
                    field,
                    Message::new("birth.parent_unknown").with("id", id.masked()),
                ));
            }
        }
        // The number is drawn only on registration; serial 0 stands in for it here, since
        // the checks read only its province, century, sex and year.
        match PersonalId::compose(province, birth.sex, birth.birth_date.year(), 0) {
            Ok(provisional) => issues.extend(
                birth
                    .clone()
                    .into_record(provisional)
                    .check(self.lists(), today),
            ),
            Err(invalid) => issues.push(FieldIssue::new("birth_date", invalid.message)),
        }
        if issues.is_empty() {
            Ok(())
        } else {
            Err(RegistryError::Invalid(issues))
        }
    }

    /// Children already registered with this name, date of birth and mother (by ID number
    /// when both have one, else by name): registering one birth twice gives one child two
    /// numbers, so the page shows these and asks before issuing. Each one shown is logged.
    pub async fn same_birth(
        &self,
        reader: Reader<'_>,
        birth: &BirthRegistration,
    ) -> Result<Vec<Summary>, RegistryError> {
        let namesakes = citizens::by_name(
            self.db(),
            &fold_name(&birth.full_name),
            Some(birth.birth_date),
            50,
        )
        .await?;
        let mut same = Vec::new();
        for summary in namesakes {
            let Ok(id) = PersonalId::parse(&summary.personal_id) else {
                continue;
            };
            let Some(current) = self.get(id).await? else {
                continue;
            };
            if same_mother(current.record.mother.as_ref(), birth.mother.as_ref()) {
                same.push(summary);
            }
        }
        self.log_shown(&same, reader).await?;
        Ok(same)
    }
}

fn same_mother(recorded: Option<&Relative>, declared: Option<&Relative>) -> bool {
    match (recorded, declared) {
        (None, None) => true,
        (Some(recorded), Some(declared)) => match (recorded.personal_id, declared.personal_id) {
            (Some(a), Some(b)) => a == b,
            _ => fold_name(&recorded.full_name) == fold_name(&declared.full_name),
        },
        _ => false,
    }
}

/// Draws random serials until one is unused for this prefix and claims it in the same
/// transaction.
async fn issue_number(
    tx: &mut Tx,
    province: ProvinceCode,
    sex: Sex,
    year: i32,
) -> Result<PersonalId, RegistryError> {
    const ATTEMPTS: usize = 64;
    for _ in 0..ATTEMPTS {
        let serial = rand::thread_rng().gen_range(0..1_000_000);
        let candidate = PersonalId::compose(province, sex, year, serial)
            .map_err(|e| RegistryError::Invalid(vec![FieldIssue::new("birth_date", e.message)]))?;
        if numbers::claim_one(tx, candidate, &timestamp::now()).await? {
            return Ok(candidate);
        }
    }
    Err(RegistryError::NumbersExhausted)
}
