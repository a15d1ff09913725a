//! The registry's reference lists: ethnic groups and religions (data files in `../data`,
//! sources in `../data/SOURCES.md`) and the province codes that records may use.

use std::collections::{BTreeMap, BTreeSet};

use kernel::{ProvinceCode, Reference};
use serde::Deserialize;
use time::macros::date;

#[derive(Debug, thiserror::Error)]
#[error("registry list {file}: {problem}")]
pub struct ListError {
    pub file: &'static str,
    pub problem: String,
}

#[derive(Debug, Clone)]
pub struct Lists {
    ethnicities: BTreeMap<String, String>,
    religions: BTreeMap<String, String>,
    /// Codes of Circular 07/2016's province table, used in ID numbers.
    id_provinces: BTreeSet<ProvinceCode>,
    /// Provincial units in force now, used in addresses.
    current_provinces: BTreeSet<ProvinceCode>,
}

#[derive(Deserialize)]
struct NamedCode {
    code: String,
    name_vi: String,
}

fn read_codes(file: &'static str, text: &str) -> Result<BTreeMap<String, String>, ListError> {
    let mut codes = BTreeMap::new();
    for (index, row) in csv::Reader::from_reader(text.as_bytes())
        .deserialize::<NamedCode>()
        .enumerate()
    {
        let row = row.map_err(|e| ListError {
            file,
            problem: format!("line {}: {e}", index + 2),
        })?;
        if codes.insert(row.code.clone(), row.name_vi).is_some() {
            return Err(ListError {
                file,
                problem: format!("code {} appears twice", row.code),
            });
        }
    }
    Ok(codes)
}

impl Lists {
    pub fn load(reference: &Reference) -> Result<Self, ListError> {
        let codes_in_force = |day| -> BTreeSet<ProvinceCode> {
            reference
                .provinces
                .period_at(day)
                .map(|period| period.units.iter().map(|p| p.code).collect())
                .unwrap_or_default()
        };
        Ok(Self {
            ethnicities: read_codes(
                "ethnic-groups.csv",
                include_str!("../data/ethnic-groups.csv"),
            )?,
            religions: read_codes("religions.csv", include_str!("../data/religions.csv"))?,
            // Circular 07/2016 was issued under the 63-province structure.
            id_provinces: codes_in_force(date!(2016 - 02 - 16)),
            current_provinces: reference
                .provinces
                .periods()
                .last()
                .map(|period| period.units.iter().map(|p| p.code).collect())
                .unwrap_or_default(),
        })
    }

    pub fn is_ethnicity(&self, code: &str) -> bool {
        self.ethnicities.contains_key(code)
    }

    pub fn is_religion(&self, code: &str) -> bool {
        self.religions.contains_key(code)
    }

    /// The 54 ethnic groups by code, for a choice on a form.
    pub fn ethnicities(&self) -> impl Iterator<Item = (&str, &str)> {
        self.ethnicities
            .iter()
            .map(|(code, name)| (code.as_str(), name.as_str()))
    }

    pub fn ethnicity_name(&self, code: &str) -> Option<&str> {
        self.ethnicities.get(code).map(String::as_str)
    }

    pub fn religion_name(&self, code: &str) -> Option<&str> {
        self.religions.get(code).map(String::as_str)
    }

    pub fn is_id_province(&self, code: ProvinceCode) -> bool {
        self.id_provinces.contains(&code)
    }

    pub fn is_current_province(&self, code: ProvinceCode) -> bool {
        self.current_provinces.contains(&code)
    }
}
