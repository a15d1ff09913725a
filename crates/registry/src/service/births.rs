//! Birth registration and the issuing of personal ID numbers.

use kernel::{PersonalId, ProvinceCode, Sex};
use rand::Rng;
use store::{Tx, timestamp};
use time::Date;

use super::Registry;
use super::records::registered_event;
use crate::domain::birth::BirthRegistration;
use crate::domain::record::{CitizenRecord, FieldIssue};
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
            .map_err(|e| RegistryError::Invalid(vec![FieldIssue::new("birth_date", e.reason)]))?;
        if numbers::claim_one(tx, candidate, &timestamp::now()).await? {
            return Ok(candidate);
        }
    }
    Err(RegistryError::NumbersExhausted)
}
