//! The flat row used for bulk import and export, the same columns in CSV and NDJSON.
//! Nested facts become column groups (`permanent_province`, `permanent_address`); lists
//! (`other_names`) are joined with `|`.
//!
//! CSV cells that a spreadsheet would run as a formula are neutralised on the way out and
//! restored on the way in (OWASP, "CSV Injection"): a cell that starts with `=`, `+`, `-`,
//! `@`, tab or carriage return, after any apostrophes, gets one apostrophe more in front,
//! and import takes exactly one away from such a cell. What export wrote reads back as it
//! was; any other cell, a hand-written `'Tí` included, is left alone both ways. NDJSON is
//! not opened by spreadsheets and is written as is.

use std::borrow::Cow;
use std::io::Write;

use kernel::{Message, PersonalId, ProvinceCode, Sex};
use serde::{Deserialize, Serialize};
use time::Date;
use time::macros::format_description;

use crate::domain::record::{
    Address, BloodGroup, CitizenRecord, FieldIssue, MaritalStatus, Membership, Relationship,
    Relative,
};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlatCitizen {
    pub personal_id: Option<String>,
    pub full_name: Option<String>,
    #[serde(default)]
    pub other_names: Option<String>,
    pub birth_date: Option<String>,
    pub sex: Option<String>,
    #[serde(default)]
    pub place_of_birth: Option<String>,
    pub birth_registration_province: Option<String>,
    #[serde(default)]
    pub hometown: Option<String>,
    pub ethnicity: Option<String>,
    pub religion: Option<String>,
    pub nationality: Option<String>,
    pub marital_status: Option<String>,
    #[serde(default)]
    pub blood_group: Option<String>,
    #[serde(default)]
    pub old_id_number: Option<String>,
    #[serde(default)]
    pub permanent_province: Option<String>,
    #[serde(default)]
    pub permanent_address: Option<String>,
    #[serde(default)]
    pub temporary_province: Option<String>,
    #[serde(default)]
    pub temporary_address: Option<String>,
    #[serde(default)]
    pub current_province: Option<String>,
    #[serde(default)]
    pub current_address: Option<String>,
    #[serde(default)]
    pub household_id: Option<String>,
    #[serde(default)]
    pub relationship_to_head: Option<String>,
    #[serde(default)]
    pub father_id: Option<String>,
    #[serde(default)]
    pub father_name: Option<String>,
    #[serde(default)]
    pub mother_id: Option<String>,
    #[serde(default)]
    pub mother_name: Option<String>,
    #[serde(default)]
    pub spouse_id: Option<String>,
    #[serde(default)]
    pub spouse_name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub occupation: Option<String>,
    #[serde(default)]
    pub death_date: Option<String>,
}

const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

fn reads_as_formula(cell: &str) -> bool {
    cell.trim_start_matches('\'').starts_with(FORMULA_STARTS)
}

/// The cell as a spreadsheet will show it without running it.
pub fn neutralise_formula(cell: &str) -> Cow<'_, str> {
    if reads_as_formula(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The cell as it was before `neutralise_formula`.
pub fn restore_formula(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if reads_as_formula(cell) => rest,
        _ => cell,
    }
}

/// Writes flat rows as CSV, the header before the first row, every cell neutralised.
pub struct CsvWriter<W: Write> {
    csv: csv::Writer<W>,
    header_written: bool,
}

impl<W: Write> CsvWriter<W> {
    pub fn new(writer: W) -> Self {
        Self {
            csv: csv::Writer::from_writer(writer),
            header_written: false,
        }
    }

    pub fn write(&mut self, row: &FlatCitizen) -> csv::Result<()> {
        if !self.header_written {
            self.csv.write_record(FlatCitizen::columns())?;
            self.header_written = true;
        }
        let cells = row
            .cells()
            .map(|cell| neutralise_formula(cell.unwrap_or_default()));
        self.csv
            .write_record(cells.iter().map(|cell| cell.as_bytes()))
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.csv.flush()
    }
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// Collects parse failures so one pass reports every bad field of a row.
struct Parser {
    issues: Vec<FieldIssue>,
}

impl Parser {
    fn fail(&mut self, field: &str, message: Message) {
        self.issues.push(FieldIssue::new(field, message));
    }

    fn required<'a>(&mut self, field: &str, value: &'a Option<String>) -> Option<&'a str> {
        let found = present(value);
        if found.is_none() {
            self.fail(field, Message::new("field.required"));
        }
        found
    }

    fn parse<T>(
        &mut self,
        field: &str,
        value: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, Message>,
    ) -> Option<T> {
        match parse(value?) {
            Ok(parsed) => Some(parsed),
            Err(message) => {
                self.fail(field, message);
                None
            }
        }
    }

    fn date(&mut self, field: &str, value: Option<&str>) -> Option<Date> {
        self.parse(field, value, |v| {
            Date::parse(v, format_description!("[year]-[month]-[day]"))
                .map_err(|_| Message::new("field.date").with("found", format!("{v:?}")))
        })
    }

    fn province(&mut self, field: &str, value: Option<&str>) -> Option<ProvinceCode> {
        self.parse(field, value, |v| {
            ProvinceCode::parse(v).map_err(|e| e.message)
        })
    }

    fn personal_id(&mut self, field: &str, value: Option<&str>) -> Option<PersonalId> {
        self.parse(field, value, |v| {
            PersonalId::parse(v).map_err(|e| e.message)
        })
    }

    fn address(
        &mut self,
        prefix: &str,
        province: &Option<String>,
        detail: &Option<String>,
    ) -> Option<Address> {
        match (present(province), present(detail)) {
            (None, None) => None,
            (Some(province), Some(detail)) => Some(Address {
                province: self.province(&format!("{prefix}_province"), Some(province))?,
                detail: detail.to_owned(),
            }),
            _ => {
                self.fail(
                    &format!("{prefix}_address"),
                    Message::new("flat.address_pair"),
                );
                None
            }
        }
    }

    fn relative(
        &mut self,
        prefix: &str,
        id: &Option<String>,
        name: &Option<String>,
    ) -> Option<Relative> {
        let personal_id = self.personal_id(&format!("{prefix}_id"), present(id));
        match present(name) {
            Some(name) => Some(Relative {
                full_name: name.to_owned(),
                personal_id,
                nationality: "VN".to_owned(),
            }),
            None if personal_id.is_some() => {
                self.fail(
                    &format!("{prefix}_name"),
                    Message::new("flat.relative_name"),
                );
                None
            }
            None => None,
        }
    }
}

impl FlatCitizen {
    /// The column names, in file order.
    pub fn columns() -> [&'static str; 32] {
        [
            "personal_id",
            "full_name",
            "other_names",
            "birth_date",
            "sex",
            "place_of_birth",
            "birth_registration_province",
            "hometown",
            "ethnicity",
            "religion",
            "nationality",
            "marital_status",
            "blood_group",
            "old_id_number",
            "permanent_province",
            "permanent_address",
            "temporary_province",
            "temporary_address",
            "current_province",
            "current_address",
            "household_id",
            "relationship_to_head",
            "father_id",
            "father_name",
            "mother_id",
            "mother_name",
            "spouse_id",
            "spouse_name",
            "phone",
            "email",
            "occupation",
            "death_date",
        ]
    }

    /// The cells in column order (`columns`).
    pub fn cells(&self) -> [Option<&str>; 32] {
        [
            self.personal_id.as_deref(),
            self.full_name.as_deref(),
            self.other_names.as_deref(),
            self.birth_date.as_deref(),
            self.sex.as_deref(),
            self.place_of_birth.as_deref(),
            self.birth_registration_province.as_deref(),
            self.hometown.as_deref(),
            self.ethnicity.as_deref(),
            self.religion.as_deref(),
            self.nationality.as_deref(),
            self.marital_status.as_deref(),
            self.blood_group.as_deref(),
            self.old_id_number.as_deref(),
            self.permanent_province.as_deref(),
            self.permanent_address.as_deref(),
            self.temporary_province.as_deref(),
            self.temporary_address.as_deref(),
            self.current_province.as_deref(),
            self.current_address.as_deref(),
            self.household_id.as_deref(),
            self.relationship_to_head.as_deref(),
            self.father_id.as_deref(),
            self.father_name.as_deref(),
            self.mother_id.as_deref(),
            self.mother_name.as_deref(),
            self.spouse_id.as_deref(),
            self.spouse_name.as_deref(),
            self.phone.as_deref(),
            self.email.as_deref(),
            self.occupation.as_deref(),
            self.death_date.as_deref(),
        ]
    }

    /// The record this row describes, or every field that could not be read. Rules that
    /// span fields (the ID agreeing with sex and birth year) are checked afterwards by
    /// `CitizenRecord::check`.
    pub fn to_record(&self) -> Result<CitizenRecord, Vec<FieldIssue>> {
        let mut p = Parser { issues: Vec::new() };
        let personal_id_text = p.required("personal_id", &self.personal_id);
        let personal_id = p.personal_id("personal_id", personal_id_text);
        let full_name = p.required("full_name", &self.full_name).map(str::to_owned);
        let birth_date_text = p.required("birth_date", &self.birth_date);
        let birth_date = p.date("birth_date", birth_date_text);
        let sex_text = p.required("sex", &self.sex);
        let sex = p.parse("sex", sex_text, |v| Sex::parse(v).map_err(|e| e.message));
        let province_text = p.required(
            "birth_registration_province",
            &self.birth_registration_province,
        );
        let birth_registration_province = p.province("birth_registration_province", province_text);
        let ethnicity = p.required("ethnicity", &self.ethnicity).map(str::to_owned);
        let religion = p.required("religion", &self.religion).map(str::to_owned);
        let nationality = p
            .required("nationality", &self.nationality)
            .map(str::to_owned);
        let marital_text = p.required("marital_status", &self.marital_status);
        let marital_status = p.parse("marital_status", marital_text, MaritalStatus::parse);
        let blood_group = p.parse("blood_group", present(&self.blood_group), BloodGroup::parse);
        let household = match (
            present(&self.household_id),
            present(&self.relationship_to_head),
        ) {
            (None, None) => None,
            (Some(id), Some(relationship)) => p
                .parse(
                    "relationship_to_head",
                    Some(relationship),
                    Relationship::parse,
                )
                .map(|relationship_to_head| Membership {
                    household_id: id.to_owned(),
                    relationship_to_head,
                }),
            _ => {
                p.fail("relationship_to_head", Message::new("flat.household_pair"));
                None
            }
        };
        let permanent_residence = p.address(
            "permanent",
            &self.permanent_province,
            &self.permanent_address,
        );
        let temporary_residence = p.address(
            "temporary",
            &self.temporary_province,
            &self.temporary_address,
        );
        let current_residence = p.address("current", &self.current_province, &self.current_address);
        let father = p.relative("father", &self.father_id, &self.father_name);
        let mother = p.relative("mother", &self.mother_id, &self.mother_name);
        let spouse = p.relative("spouse", &self.spouse_id, &self.spouse_name);
        let death_date = p.date("death_date", present(&self.death_date));
        let (
            Some(personal_id),
            Some(full_name),
            Some(birth_date),
            Some(sex),
            Some(birth_registration_province),
            Some(ethnicity),
            Some(religion),
            Some(nationality),
            Some(marital_status),
        ) = (
            personal_id,
            full_name,
            birth_date,
            sex,
            birth_registration_province,
            ethnicity,
            religion,
            nationality,
            marital_status,
        )
        else {
            return Err(p.issues);
        };
        if !p.issues.is_empty() {
            return Err(p.issues);
        }
        Ok(CitizenRecord {
            personal_id,
            full_name,
            other_names: present(&self.other_names)
                .map(|v| v.split('|').map(|n| n.trim().to_owned()).collect())
                .unwrap_or_default(),
            birth_date,
            sex,
            place_of_birth: present(&self.place_of_birth).map(str::to_owned),
            birth_registration_province,
            hometown: present(&self.hometown).map(str::to_owned),
            ethnicity,
            religion,
            nationality,
            marital_status,
            blood_group,
            old_id_number: present(&self.old_id_number).map(str::to_owned),
            permanent_residence,
            temporary_residence,
            current_residence,
            temporary_absence: None,
            household,
            father,
            mother,
            spouse,
            children: Vec::new(),
            legal_representative: None,
            phone: present(&self.phone).map(str::to_owned),
            email: present(&self.email).map(str::to_owned),
            occupation: present(&self.occupation).map(str::to_owned),
            death_date,
            missing_declared_on: None,
        })
    }

    pub fn from_record(record: &CitizenRecord) -> Self {
        let text = |s: &str| Some(s.to_owned());
        let address = |a: &Option<Address>| {
            (
                a.as_ref().map(|a| a.province.to_string()),
                a.as_ref().map(|a| a.detail.clone()),
            )
        };
        let relative = |r: &Option<Relative>| {
            (
                r.as_ref()
                    .and_then(|r| r.personal_id.map(|id| id.to_string())),
                r.as_ref().map(|r| r.full_name.clone()),
            )
        };
        let (permanent_province, permanent_address) = address(&record.permanent_residence);
        let (temporary_province, temporary_address) = address(&record.temporary_residence);
        let (current_province, current_address) = address(&record.current_residence);
        let (father_id, father_name) = relative(&record.father);
        let (mother_id, mother_name) = relative(&record.mother);
        let (spouse_id, spouse_name) = relative(&record.spouse);
        Self {
            personal_id: Some(record.personal_id.to_string()),
            full_name: text(&record.full_name),
            other_names: (!record.other_names.is_empty()).then(|| record.other_names.join("|")),
            birth_date: Some(record.birth_date.to_string()),
            sex: text(record.sex.as_str()),
            place_of_birth: record.place_of_birth.clone(),
            birth_registration_province: Some(record.birth_registration_province.to_string()),
            hometown: record.hometown.clone(),
            ethnicity: text(&record.ethnicity),
            religion: text(&record.religion),
            nationality: text(&record.nationality),
            marital_status: text(record.marital_status.as_str()),
            blood_group: record.blood_group.map(|b| b.as_str().to_owned()),
            old_id_number: record.old_id_number.clone(),
            permanent_province,
            permanent_address,
            temporary_province,
            temporary_address,
            current_province,
            current_address,
            household_id: record.household.as_ref().map(|h| h.household_id.clone()),
            relationship_to_head: record
                .household
                .as_ref()
                .map(|h| h.relationship_to_head.as_str().to_owned()),
            father_id,
            father_name,
            mother_id,
            mother_name,
            spouse_id,
            spouse_name,
            phone: record.phone.clone(),
            email: record.email.clone(),
            occupation: record.occupation.clone(),
            death_date: record.death_date.map(|d| d.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{FlatCitizen, neutralise_formula, restore_formula};

    #[test]
    fn cells_follow_the_columns() -> Result<(), serde_json::Error> {
        let columns = FlatCitizen::columns();
        let mut row = serde_json::Map::new();
        for column in columns {
            row.insert(
                column.to_owned(),
                serde_json::Value::String(column.to_owned()),
            );
        }
        let flat: FlatCitizen = serde_json::from_value(serde_json::Value::Object(row))?;
        assert_eq!(flat.cells().map(Option::unwrap_or_default), columns);
        Ok(())
    }

    #[test]
    fn formulas_are_neutralised_and_restored_and_other_cells_left_alone() {
        for (cell, written) in [
            ("=1+1", "'=1+1"),
            ("+84912345678", "'+84912345678"),
            ("-2 Lê Lợi", "'-2 Lê Lợi"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("'=1", "''=1"),
            ("'Tí", "'Tí"),
            ("Lê Lợi", "Lê Lợi"),
            ("", ""),
        ] {
            assert_eq!(neutralise_formula(cell), written);
            assert_eq!(restore_formula(written), cell);
        }
    }
}
