//! The 12-digit personal identification number (số định danh cá nhân).
//!
//! Layout `PPP G YY RRRRRR` (Decree 137/2015/NĐ-CP art. 13; Circular 07/2016/TT-BCA art. 7):
//! `PPP` the province where the birth was registered, `G` century and sex, `YY` the last two
//! digits of the birth year, `RRRRRR` random. There is no check digit, so parsing checks the
//! layout and the record-level check compares it with the recorded facts.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::invalid::Invalid;
use crate::message::Message;
use crate::province::ProvinceCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        match input {
            "male" | "M" | "nam" | "Nam" => Ok(Self::Male),
            "female" | "F" | "nữ" | "Nữ" => Ok(Self::Female),
            _ => Err(Invalid::new(
                Message::new("sex.unknown").with("found", format!("{input:?}")),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Male => "male",
            Self::Female => "female",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonalId([u8; 12]);

impl PersonalId {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let bytes = input.as_bytes();
        if bytes.len() != 12 || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(Invalid::new(
                Message::new("personal_id.length").with("found", format!("{:?}", mask(input))),
            ));
        }
        let mut digits = [0_u8; 12];
        for (slot, byte) in digits.iter_mut().zip(bytes) {
            *slot = byte - b'0';
        }
        let prefix = input.get(..3).unwrap_or_default();
        ProvinceCode::parse(prefix).map_err(|_| {
            Invalid::new(Message::new("personal_id.province").with("found", format!("{prefix:?}")))
        })?;
        Ok(Self(digits))
    }

    /// Builds a number from its parts; `serial` is taken modulo 1,000,000.
    pub fn compose(
        province: ProvinceCode,
        sex: Sex,
        birth_year: i32,
        serial: u32,
    ) -> Result<Self, Invalid> {
        let century = birth_year.div_euclid(100) - 19;
        if !(0..=4).contains(&century) {
            return Err(Invalid::new(
                Message::new("personal_id.birth_year").with("year", birth_year),
            ));
        }
        let sex_digit = match sex {
            Sex::Male => 0,
            Sex::Female => 1,
        };
        let text = format!(
            "{}{}{:02}{:06}",
            province.id_number_prefix(),
            century * 2 + sex_digit,
            birth_year.rem_euclid(100),
            serial % 1_000_000
        );
        Self::parse(&text)
    }

    fn digit(&self, index: usize) -> u8 {
        self.0.get(index).copied().unwrap_or_default()
    }

    /// Where the birth was registered.
    pub fn province(&self) -> ProvinceCode {
        ProvinceCode::from_id_digits(self.digit(1), self.digit(2))
    }

    /// Even century-and-sex digits are male, odd female.
    pub fn sex(&self) -> Sex {
        if self.digit(3).is_multiple_of(2) {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// 0/1 mean the 1900s, 2/3 the 2000s, and so on to 8/9 for the 2300s.
    pub fn birth_year(&self) -> i32 {
        let century = 1900 + 100 * i32::from(self.digit(3) / 2);
        century + i32::from(self.digit(4)) * 10 + i32::from(self.digit(5))
    }

    /// The number with its serial hidden, for places where the whole number is not needed.
    pub fn masked(&self) -> String {
        mask(&self.to_string())
    }
}

/// Keeps the first six characters (province, century-sex, year) and hides the rest: an ID
/// number in an error message must not disclose a person.
fn mask(input: &str) -> String {
    input
        .chars()
        .enumerate()
        .map(|(i, c)| if i < 6 { c } else { '*' })
        .collect()
}

impl fmt::Display for PersonalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for digit in self.0 {
            write!(f, "{digit}")?;
        }
        Ok(())
    }
}

impl FromStr for PersonalId {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for PersonalId {
    type Error = Invalid;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<PersonalId> for String {
    fn from(id: PersonalId) -> Self {
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_layout_of_the_domain_example() -> Result<(), Invalid> {
        // DOMAIN.md: 087084000999 is Đồng Tháp, male, born 1984.
        let id = PersonalId::parse("087084000999")?;
        assert_eq!(id.province().to_string(), "87");
        assert_eq!((id.sex(), id.birth_year()), (Sex::Male, 1984));
        assert_eq!(id.to_string(), "087084000999");
        let woman_2005 = PersonalId::parse("001305123456")?;
        assert_eq!(
            (woman_2005.sex(), woman_2005.birth_year()),
            (Sex::Female, 2005)
        );
        Ok(())
    }

    #[test]
    fn compose_round_trips_through_the_parts() -> Result<(), Invalid> {
        let province = ProvinceCode::parse("79")?;
        for (sex, year) in [
            (Sex::Male, 1900),
            (Sex::Female, 1999),
            (Sex::Female, 2000),
            (Sex::Male, 2399),
        ] {
            let id = PersonalId::compose(province, sex, year, 1_234_567)?;
            assert_eq!(
                (id.province(), id.sex(), id.birth_year()),
                (province, sex, year)
            );
            assert!(id.to_string().ends_with("234567"));
        }
        assert!(PersonalId::compose(province, Sex::Male, 1899, 1).is_err());
        Ok(())
    }

    #[test]
    fn malformed_numbers_are_rejected_without_disclosing_them() {
        for bad in [
            "",
            "08708400099",
            "0870840009999",
            "08708400099x",
            "000084000999",
            "A87084000999",
        ] {
            assert!(PersonalId::parse(bad).is_err(), "{bad:?}");
        }
        let message = PersonalId::parse("08708400099")
            .err()
            .map(|e| e.reason)
            .unwrap_or_default();
        assert!(
            message.contains("087084*****") && !message.contains("00099"),
            "{message}"
        );
    }
}
