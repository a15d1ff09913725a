//! Vietnamese mobile numbers as people write them: `0713 697 553`, `0713.697.553`,
//! `+84 713 697 553` or `84713697553` are one number, kept in one form.
//!
//! The national numbering plan (Circular 22/2014/TT-BTTTT, mobile numbers moved to ten digits
//! in 2018) gives a mobile number as the trunk prefix `0` and nine digits; abroad it is written
//! with the country code 84 (ITU-T E.164) in place of the `0`.

use std::fmt;

use crate::invalid::Invalid;
use crate::message::Message;

/// A mobile number, held as its nine national digits; shown as `0XXXXXXXXX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PhoneNumber([u8; 9]);

/// What people put between groups of digits.
const SEPARATORS: [char; 3] = [' ', '.', '-'];

impl PhoneNumber {
    /// Reads `0` and nine digits, or `+84` or `84` and nine digits, with spaces, dots or
    /// hyphens anywhere between the digits.
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let compact: String = input
            .trim()
            .chars()
            .filter(|c| !SEPARATORS.contains(c))
            .collect();
        let national = compact
            .strip_prefix("+84")
            .or_else(|| compact.strip_prefix("84").filter(|rest| rest.len() == 9))
            .or_else(|| compact.strip_prefix('0'))
            .unwrap_or_default();
        let mut digits = [0_u8; 9];
        let bytes = national.as_bytes();
        if bytes.len() != digits.len() || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(Invalid::new(Message::new("phone.format")));
        }
        for (slot, byte) in digits.iter_mut().zip(bytes) {
            *slot = *byte;
        }
        Ok(Self(digits))
    }

    /// The nine digits after the trunk prefix or the country code, which every way of
    /// writing the number contains.
    pub fn national_digits(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// `+84` and the nine digits (E.164), as OpenID Connect's `phone_number` wants it.
    pub fn e164(&self) -> String {
        format!("+84{}", self.national_digits())
    }
}

/// The national form, `0` and nine digits: how the number is stored and shown.
impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0{}", self.national_digits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_common_way_of_writing_a_number_gives_the_same_number() -> Result<(), Invalid> {
        for written in [
            "0713697553",
            "0713 697 553",
            "0713.697.553",
            "0713-697-553",
            "+84 713 697 553",
            "+84713697553",
            "84713697553",
            "  0713 697 553 ",
        ] {
            let number = PhoneNumber::parse(written)?;
            assert_eq!(number.to_string(), "0713697553", "{written:?}");
            assert_eq!(number.e164(), "+84713697553");
            assert_eq!(number.national_digits(), "713697553");
        }
        Ok(())
    }

    #[test]
    fn other_shapes_are_refused() {
        for written in [
            "",
            "713697553",
            "07136975531",
            "071369755",
            "+85713697553",
            "+840713697553",
            "8471369755",
            "0713 697 55a",
            "0713/697/553",
            "٠٧١٣٦٩٧٥٥٣",
        ] {
            assert!(PhoneNumber::parse(written).is_err(), "{written:?}");
        }
    }
}
