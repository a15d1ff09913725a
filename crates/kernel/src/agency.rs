use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::catalog::Unit;
use crate::invalid::Invalid;
use crate::message::Message;

/// lienthong's short code for a ministry or ministry-level agency: 2 to 12 upper-case ASCII
/// letters, the usual Vietnamese abbreviation without diacritics (BCA = Bộ Công an).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AgencyCode(String);

impl AgencyCode {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let valid_length = (2..=12).contains(&input.len());
        if valid_length && input.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(input.to_owned()))
        } else {
            Err(Invalid::new(
                Message::new("agency.code").with("found", format!("{input:?}")),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AgencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for AgencyCode {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for AgencyCode {
    type Error = Invalid;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<AgencyCode> for String {
    fn from(code: AgencyCode) -> Self {
        code.0
    }
}

/// Ministries (bộ) and ministry-level agencies (cơ quan ngang bộ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgencyKind {
    Ministry,
    Agency,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Agency {
    pub code: AgencyCode,
    pub name_vi: String,
    pub name_en: String,
    pub kind: AgencyKind,
    /// The agency that took over this one's remit at the end of its period (for a split
    /// remit, the main one).
    pub successor: Option<AgencyCode>,
}

impl Unit for Agency {
    type Code = AgencyCode;
    fn code(&self) -> AgencyCode {
        self.code.clone()
    }
    fn successor(&self) -> Option<AgencyCode> {
        self.successor.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_upper_case_letters_make_a_code() {
        assert_eq!(
            AgencyCode::parse("BCA").map(|c| c.to_string()),
            Ok("BCA".into())
        );
        for bad in ["", "B", "bca", "B C", "BỘ", "B1", "ABCDEFGHIJKLM"] {
            assert!(AgencyCode::parse(bad).is_err(), "{bad:?} must not parse");
        }
    }
}
