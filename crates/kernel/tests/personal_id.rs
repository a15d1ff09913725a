//! Properties of the personal ID number against its layout in DOMAIN.md (Decree 137/2015
//! art. 13; Circular 07/2016/TT-BCA art. 7): `PPP G YY RRRRRR`, province of birth
//! registration, century-and-sex digit, last two digits of the birth year, six random digits;
//! no check digit.

use kernel::{PersonalId, ProvinceCode, Sex};
use proptest::prelude::*;

fn sex() -> impl Strategy<Value = Sex> {
    prop_oneof![Just(Sex::Male), Just(Sex::Female)]
}

/// The 2100s..2300s are in the layout even if no one born then is registered yet.
fn birth_year() -> impl Strategy<Value = i32> {
    1900..=2399_i32
}

fn province() -> impl Strategy<Value = ProvinceCode> {
    (1..=99_u8).prop_filter_map("a province code", |n| {
        ProvinceCode::parse(&format!("{n:02}")).ok()
    })
}

proptest! {
    #[test]
    fn composed_numbers_format_and_parse_back_to_their_parts(
        province in province(),
        sex in sex(),
        year in birth_year(),
        serial in 0..1_000_000_u32,
    ) {
        let id = PersonalId::compose(province, sex, year, serial)?;
        let text = id.to_string();
        prop_assert_eq!(text.len(), 12);
        prop_assert_eq!(PersonalId::parse(&text)?, id);
        prop_assert_eq!((id.province(), id.sex(), id.birth_year()), (province, sex, year));
        let (prefix, serial_digits) = (province.id_number_prefix(), format!("{serial:06}"));
        prop_assert_eq!(text.get(..3), Some(prefix.as_str()));
        prop_assert_eq!(text.get(6..), Some(serial_digits.as_str()));
    }

    /// Every digit of a well-formed number means what the layout says: `G` is even for men
    /// and odd for women, and with `YY` gives the birth year from 1900 to 2399.
    #[test]
    fn any_twelve_digits_parse_by_the_layout_or_name_the_province_prefix(
        digits in proptest::collection::vec(0..=9_u8, 12),
    ) {
        let text: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
        let at = |i: usize| i32::from(digits.get(i).copied().unwrap_or_default());
        let province_prefix_valid = at(0) == 0 && (at(1), at(2)) != (0, 0);
        match PersonalId::parse(&text) {
            Ok(id) => {
                prop_assert!(province_prefix_valid, "{text} parsed");
                prop_assert_eq!(id.to_string(), text.clone());
                prop_assert_eq!(id.province().to_string(), text.get(1..3).unwrap_or_default());
                let sex = if at(3) % 2 == 0 { Sex::Male } else { Sex::Female };
                prop_assert_eq!(id.sex(), sex);
                prop_assert_eq!(id.birth_year(), 1900 + 100 * (at(3) / 2) + 10 * at(4) + at(5));
            }
            Err(error) => {
                prop_assert!(!province_prefix_valid, "{text} refused: {}", error.reason);
                prop_assert!(error.reason.contains("province code"), "{}", error.reason);
                // The six random digits identify a person; an error message never carries them.
                prop_assert!(!error.reason.contains(text.get(6..).unwrap_or_default()), "{}", error.reason);
            }
        }
    }

    /// Whatever the input, parsing answers without panicking; anything that is not twelve
    /// ASCII digits is refused saying so, with all but its first six characters hidden.
    #[test]
    fn any_text_parses_or_is_refused_without_panicking(input in any::<String>()) {
        let twelve_digits = input.len() == 12 && input.bytes().all(|b| b.is_ascii_digit());
        match PersonalId::parse(&input) {
            Ok(id) => prop_assert_eq!(id.to_string(), input),
            Err(error) if !twelve_digits => {
                prop_assert!(error.reason.contains("12 digits"), "{}", error.reason);
                let masked: String = input
                    .chars()
                    .enumerate()
                    .map(|(i, c)| if i < 6 { c } else { '*' })
                    .collect();
                prop_assert!(error.reason.ends_with(&format!("{masked:?}")), "{}", error.reason);
            }
            Err(error) => prop_assert!(error.reason.contains("province code"), "{}", error.reason),
        }
    }

    #[test]
    fn years_outside_the_five_centuries_of_the_layout_are_refused(
        province in province(),
        sex in sex(),
        year in prop_oneof![-10_000..1900_i32, 2400..10_000_i32],
        serial in any::<u32>(),
    ) {
        let refused = PersonalId::compose(province, sex, year, serial);
        prop_assert!(refused.is_err());
        let reason = refused.err().map(|e| e.reason).unwrap_or_default();
        prop_assert!(reason.contains(&year.to_string()), "{}", reason);
    }
}
