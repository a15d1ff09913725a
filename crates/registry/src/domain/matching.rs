//! Identity checks: whether facts someone submits (a bank, a relying party) agree with the
//! record, without handing out the record.

use serde::Serialize;
use time::Date;

use crate::domain::record::{CitizenRecord, fold_name};

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
    /// Compares submitted facts with the record, if there is one. Names compare without
    /// regard to case or spacing; a name written without any diacritics (as banks often hold
    /// it: "NGUYEN VAN AN") is compared without them, but one written with diacritics must
    /// have the right ones: "Bính" is not "Bình".
    pub fn of(record: Option<&CitizenRecord>, full_name: &str, birth_date: Date) -> Self {
        match record {
            None => Self {
                personal_id: false,
                full_name: false,
                birth_date: false,
                living: false,
            },
            Some(record) => Self {
                personal_id: true,
                full_name: names_agree(full_name, &record.full_name),
                birth_date: record.birth_date == birth_date,
                living: record.death_date.is_none() && record.missing_declared_on.is_none(),
            },
        }
    }

    pub fn all(&self) -> bool {
        self.personal_id && self.full_name && self.birth_date && self.living
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
        fold_name(submitted) == fold_name(recorded)
    } else {
        spaced_lower(submitted) == spaced_lower(recorded)
    }
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
