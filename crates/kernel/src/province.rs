use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::catalog::Unit;
use crate::invalid::Invalid;
use crate::message::Message;

/// Code of a provincial-level unit: the two-digit national administrative code
/// (Decision 124/2004/QĐ-TTg). Personal ID numbers carry the same code with a leading zero
/// (Circular 07/2016/TT-BCA, Appendix 1), so `079` and `79` both parse to Hồ Chí Minh.
/// Parsing checks the shape only; whether a unit with this code existed on a given date is
/// the catalogue's question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProvinceCode(u8);

impl ProvinceCode {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let digits = match input.len() {
            2 => input,
            3 if input.starts_with('0') => input.get(1..).unwrap_or_default(),
            _ => {
                return Err(Invalid::new(
                    Message::new("province.length").with("found", format!("{input:?}")),
                ));
            }
        };
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Invalid::new(
                Message::new("province.digits").with("found", format!("{input:?}")),
            ));
        }
        match digits.parse::<u8>() {
            Ok(0) | Err(_) => Err(Invalid::new(
                Message::new("province.range").with("found", format!("{input:?}")),
            )),
            Ok(n) => Ok(Self(n)),
        }
    }

    /// From the second and third digits of an ID number, which `PersonalId::parse` has
    /// already checked to form a code of 01 or more.
    pub(crate) fn from_id_digits(tens: u8, units: u8) -> Self {
        Self(tens * 10 + units)
    }

    /// The three digits that open a personal ID number registered in this province.
    pub fn id_number_prefix(self) -> String {
        format!("{:03}", self.0)
    }
}

impl fmt::Display for ProvinceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}", self.0)
    }
}

impl FromStr for ProvinceCode {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for ProvinceCode {
    type Error = Invalid;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<ProvinceCode> for String {
    fn from(code: ProvinceCode) -> Self {
        code.to_string()
    }
}

/// Centrally governed cities (thành phố trực thuộc trung ương) and provinces (tỉnh).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProvinceKind {
    City,
    Province,
}

impl ProvinceKind {
    /// The Vietnamese title that precedes the name: "Thành phố Hà Nội", "Tỉnh Cà Mau".
    pub fn title_vi(self) -> &'static str {
        match self {
            Self::City => "Thành phố",
            Self::Province => "Tỉnh",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Province {
    pub code: ProvinceCode,
    pub name_vi: String,
    pub name_en: String,
    pub kind: ProvinceKind,
    /// The unit that took this one over at the end of its period, if any.
    pub successor: Option<ProvinceCode>,
}

impl Province {
    pub fn full_name_vi(&self) -> String {
        format!("{} {}", self.kind.title_vi(), self.name_vi)
    }
}

impl Unit for Province {
    type Code = ProvinceCode;
    fn code(&self) -> ProvinceCode {
        self.code
    }
    fn successor(&self) -> Option<ProvinceCode> {
        self.successor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_and_three_digit_forms_name_the_same_province() {
        assert_eq!(ProvinceCode::parse("79"), ProvinceCode::parse("079"));
        assert_eq!(
            ProvinceCode::parse("087").map(ProvinceCode::id_number_prefix),
            Ok("087".to_owned())
        );
        assert_eq!(
            ProvinceCode::parse("1").map_err(|e| e.reason),
            Err(
                "province code must be 2 digits (79) or 3 digits as in an ID number (079), got \"1\""
                    .to_owned()
            )
        );
    }

    #[test]
    fn malformed_codes_are_rejected() {
        for bad in ["", "7", "179", "7a", "00", "000", "-1", "+79", "0079", "٧٩"] {
            assert!(ProvinceCode::parse(bad).is_err(), "{bad:?} must not parse");
        }
    }

    #[test]
    fn displays_as_two_digits() {
        assert_eq!(
            ProvinceCode::parse("001").map(|c| c.to_string()),
            Ok("01".into())
        );
    }
}
