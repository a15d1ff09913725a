//! Birth registration: the registry issues the child's personal ID number (Law on
//! Identification 2023, art. 12) and opens the record with what the birth registration says.

use kernel::{PersonalId, ProvinceCode, Sex};
use time::Date;

use crate::domain::record::{Address, CitizenRecord, Membership, Relative};

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

impl BirthRegistration {
    /// The child's first record, under the number just issued; the child lives where the
    /// permanent residence is registered.
    pub fn into_record(self, personal_id: PersonalId) -> CitizenRecord {
        CitizenRecord {
            place_of_birth: self.place_of_birth,
            birth_registration_province: self.birth_registration_province,
            religion: self.religion,
            nationality: self.nationality,
            current_residence: self.permanent_residence.clone(),
            permanent_residence: self.permanent_residence,
            household: self.household,
            father: self.father,
            mother: self.mother,
            ..CitizenRecord::new(
                personal_id,
                self.full_name,
                self.birth_date,
                self.sex,
                self.ethnicity,
            )
        }
    }
}
