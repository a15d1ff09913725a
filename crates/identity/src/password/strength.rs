//! Which new passwords are refused. NIST SP 800-63B §5.1.1.2: at least 8 characters (we ask
//! for 10), and refuse values known to be commonly used, expected or compromised: passwords
//! from a list of the most common ones, repetitive or sequential characters, and
//! context-specific words, here what others know or can find about the person (their ID
//! number, phone number and date of birth). No rules about mixing kinds of characters.

use std::collections::HashSet;
use std::sync::OnceLock;

use kernel::PhoneNumber;
use time::Date;

const MIN_CHARS: usize = 10;
const MAX_CHARS: usize = 128;

/// zxcvbn's 30,000 most common passwords (MIT; source and update steps in
/// `assets/README.md`, choice in ADR 0029).
const COMMON_LIST: &str = include_str!("../../assets/common-passwords.txt");

/// Passwords Vietnamese people choose that the list above, built from English-speaking
/// sites, does not hold ("mật khẩu" is "password", "anh yêu em" "I love you").
const VIETNAMESE_COMMON: [&str; 6] = [
    "matkhau123",
    "matkhau1234",
    "matkhau12345",
    "anhyeuem123",
    "emyeuanh123",
    "abc1234567",
];

/// Characters people put between groups of digits, which do not make a number stronger.
const DIGIT_SEPARATORS: [char; 5] = [' ', '.', '-', '/', '_'];

/// What a password must not contain: facts about its owner that others know or can find.
#[derive(Debug, Clone, Copy)]
pub struct OwnFacts<'a> {
    /// The personal ID number, as typed when it has not been parsed.
    pub personal_id: &'a str,
    pub phones: &'a [PhoneNumber],
    pub birth_date: Option<Date>,
}

/// Why `password` is refused, in the words shown after "password:", if it is.
pub fn check_strength(password: &str, facts: &OwnFacts<'_>) -> Result<(), &'static str> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err("must be at least 10 characters");
    }
    if chars > MAX_CHARS {
        return Err("must be at most 128 characters");
    }
    let lower = password.to_lowercase();
    let squeezed: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
    if is_common(&lower) || is_common(&squeezed) {
        return Err("is one of the most common passwords");
    }
    if password
        .chars()
        .all(|c| c.is_ascii_digit() || DIGIT_SEPARATORS.contains(&c))
    {
        return Err(
            "must not be digits only: numbers such as dates and phone numbers are guessed first",
        );
    }
    if is_run(&squeezed) {
        return Err("must not be a character repeated or a run such as abcdef or hahaha");
    }
    // Digits read in order, whatever stands between them: "0713 697 553" and "0713.697.553"
    // hold the same number.
    let digits: String = password.chars().filter(char::is_ascii_digit).collect();
    let id = facts.personal_id.trim();
    if !id.is_empty() && digits.contains(id) {
        return Err("must not contain the personal ID number");
    }
    if facts
        .phones
        .iter()
        .any(|phone| digits.contains(phone.national_digits()))
    {
        return Err("must not contain the phone number");
    }
    if facts
        .birth_date
        .is_some_and(|date| date_spellings(date).iter().any(|d| digits.contains(d)))
    {
        return Err("must not contain the date of birth");
    }
    Ok(())
}

/// Whether `lower` (in lower case) is on the list. Only entries long enough to pass the
/// length rule are kept in memory: about 1,100 of the 30,000.
fn is_common(lower: &str) -> bool {
    static LONG_ENOUGH: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LONG_ENOUGH
        .get_or_init(|| {
            COMMON_LIST
                .lines()
                .chain(VIETNAMESE_COMMON)
                .filter(|entry| entry.chars().count() >= MIN_CHARS)
                .collect()
        })
        .contains(lower)
}

/// One character repeated (`aaaaaaaaaa`), a run up or down (`abcdefghij`, `9876543210`),
/// or a short group repeated (`hahahahaha`, `abcabcabca`, `qwerqwerqwer`).
fn is_run(text: &str) -> bool {
    let chars: Vec<u32> = text.chars().map(u32::from).collect();
    let steps: Vec<i64> = chars
        .windows(2)
        .map(|pair| match pair {
            [a, b] => i64::from(*b) - i64::from(*a),
            _ => 0,
        })
        .collect();
    let sequential = steps
        .first()
        .is_some_and(|first| first.abs() <= 1 && steps.iter().all(|step| step == first));
    let repeated_group = (1..=4).any(|group| {
        chars.len() > group
            && chars
                .iter()
                .zip(chars.iter().skip(group))
                .all(|(a, b)| a == b)
    });
    sequential || repeated_group
}

/// The ways a date of birth is written as digits: 07031990, 19900307, 070390, 731990.
fn date_spellings(date: Date) -> Vec<String> {
    let (year, month, day) = (date.year(), u8::from(date.month()), date.day());
    let mut spellings = vec![
        format!("{day:02}{month:02}{year:04}"),
        format!("{year:04}{month:02}{day:02}"),
        format!("{day:02}{month:02}{:02}", year.rem_euclid(100)),
    ];
    let unpadded = format!("{day}{month}{year:04}");
    if !spellings.contains(&unpadded) {
        spellings.push(unpadded);
    }
    spellings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(phones: &[PhoneNumber]) -> OwnFacts<'_> {
        OwnFacts {
            personal_id: "001090000042",
            phones,
            birth_date: Some(time::macros::date!(1990 - 03 - 07)),
        }
    }

    #[test]
    fn the_list_is_the_published_one() {
        assert_eq!(COMMON_LIST.lines().count(), 30_000);
        assert_eq!(COMMON_LIST.lines().next(), Some("123456"));
        // Shorter entries are refused by length before the list is looked at.
        assert!(is_common("qwertyuiop") && is_common("password123") && is_common("1q2w3e4r5t"));
        assert!(
            !is_common("123456"),
            "kept only when long enough to pass the length rule"
        );
    }

    #[test]
    fn weak_passwords_are_named() -> Result<(), kernel::Invalid> {
        let phones = [PhoneNumber::parse("0713 697 553")?];
        let facts = facts(&phones);
        for (password, reason) in [
            ("short", "must be at least 10 characters"),
            ("password123", "is one of the most common passwords"),
            ("Password 123", "is one of the most common passwords"),
            ("QWERTYUIOP", "is one of the most common passwords"),
            ("Matkhau123", "is one of the most common passwords"),
            (
                "12345678901",
                "must not be digits only: numbers such as dates and phone numbers are guessed first",
            ),
            (
                "2024 1105 7788",
                "must not be digits only: numbers such as dates and phone numbers are guessed first",
            ),
            (
                "abcdefghijkl",
                "must not be a character repeated or a run such as abcdef or hahaha",
            ),
            (
                "zzzzzzzzzzzz",
                "must not be a character repeated or a run such as abcdef or hahaha",
            ),
            (
                "hahahahahaha",
                "must not be a character repeated or a run such as abcdef or hahaha",
            ),
            ("x001090000042x", "must not contain the personal ID number"),
            (
                "id 001 090 000 042",
                "must not contain the personal ID number",
            ),
            ("sđt 0713697553", "must not contain the phone number"),
            ("gọi +84 713.697.553", "must not contain the phone number"),
            ("hoa sen 07/03/1990", "must not contain the date of birth"),
            ("hoa sen 1990-03-07", "must not contain the date of birth"),
            ("hoa sen 070390", "must not contain the date of birth"),
            ("hoa sen 7.3.1990", "must not contain the date of birth"),
        ] {
            assert_eq!(
                check_strength(password, &facts),
                Err(reason),
                "{password:?}"
            );
        }
        assert_eq!(
            check_strength(&"x".repeat(129), &facts),
            Err("must be at most 128 characters")
        );
        Ok(())
    }

    #[test]
    fn good_passwords_pass() {
        let facts = facts(&[]);
        for password in [
            "hoa sen trắng 1975",
            "mật khẩu thử nghiệm cdef",
            "Ba con mèo ngủ trưa 3 giờ",
            "0713 hoa 697 sen 554",
        ] {
            assert_eq!(check_strength(password, &facts), Ok(()), "{password:?}");
        }
    }
}
