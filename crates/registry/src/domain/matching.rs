//! Identity checks: whether facts someone submits (a bank, a relying party) agree with the
//! record, without handing out the record.

use serde::Serialize;
use time::Date;
use unicode_normalization::UnicodeNormalization;

use crate::domain::record::CitizenRecord;

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
    /// regard to case, spacing or Unicode normalisation form (a name typed on one device
    /// arrives composed, NFC, and on another decomposed, NFD), but never without diacritics:
    /// "Tran Duc Thanh" is not "Trần Đức Thành" and "Bính" is not "Bình", or a guessed
    /// identity would be easier to claim.
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
    comparable(submitted) == comparable(recorded)
}

/// A name in NFC, lower case, its words separated by single spaces.
fn comparable(name: &str) -> String {
    name.nfc()
        .flat_map(char::to_lowercase)
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::names_agree;

    #[test]
    fn names_agree_on_case_spacing_and_normalisation_form_but_not_on_diacritics() {
        assert!(names_agree("nguyễn  văn AN", "Nguyễn Văn An"));
        assert!(names_agree(" TRẦN ĐỨC THÀNH ", "Trần Đức Thành"));
        let decomposed = "Tra\u{302}\u{300}n \u{110}u\u{31b}\u{301}c Tha\u{300}nh";
        assert!(names_agree(decomposed, "Trần Đức Thành"), "NFD against NFC");
        assert!(!names_agree("Tran Duc Thanh", "Trần Đức Thành"));
        assert!(!names_agree("NGUYEN VAN AN", "Nguyễn Văn An"));
        assert!(!names_agree("Nguyễn Văn Ân", "Nguyễn Văn An"));
        assert!(!names_agree("Lê Văn Bính", "Lê Văn Bình"));
        assert!(!names_agree("Nguyễn Văn Anh", "Nguyễn Văn An"));
    }
}
