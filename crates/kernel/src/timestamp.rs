//! Instants as text: fixed-width RFC 3339 in UTC with microseconds
//! (`2026-11-23T07:08:43.123456Z`), so text order is time order. Domain types hold
//! `time::OffsetDateTime`; this text form is what the databases store and the JSON APIs carry
//! (`#[serde(with = "kernel::timestamp::text")]`).

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

pub fn format(at: OffsetDateTime) -> String {
    let utc = at.to_offset(UtcOffset::UTC);
    let layout =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    // Formatting a UTC date-time with this layout cannot fail for years 0..=9999.
    utc.format(layout).unwrap_or_default()
}

/// Reads any RFC 3339 instant (other offsets and precisions included).
pub fn parse(text: &str) -> Result<OffsetDateTime, time::error::Parse> {
    OffsetDateTime::parse(text, &Rfc3339)
}

/// Serde in the text form. `time::serde::rfc3339` would drop trailing zeros of the
/// microseconds, and with them fixed width and the JSON the APIs have always sent.
pub mod text {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};
    use time::OffsetDateTime;

    pub fn serialize<S: Serializer>(at: &OffsetDateTime, to: S) -> Result<S::Ok, S::Error> {
        to.serialize_str(&super::format(*at))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(from: D) -> Result<OffsetDateTime, D::Error> {
        let text = String::deserialize(from)?;
        super::parse(&text)
            .map_err(|e| D::Error::custom(format!("{text:?} is not an RFC 3339 instant: {e}")))
    }

    /// The same for an instant that may be absent (`null`).
    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(
            at: &Option<OffsetDateTime>,
            to: S,
        ) -> Result<S::Ok, S::Error> {
            match at {
                Some(at) => super::serialize(at, to),
                None => to.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            from: D,
        ) -> Result<Option<OffsetDateTime>, D::Error> {
            Option::<String>::deserialize(from)?
                .map(|text| {
                    crate::timestamp::parse(&text).map_err(|e| {
                        D::Error::custom(format!("{text:?} is not an RFC 3339 instant: {e}"))
                    })
                })
                .transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};
    use time::macros::datetime;

    #[test]
    fn round_trips_and_sorts_as_text() -> Result<(), time::error::Parse> {
        let early = datetime!(2026-01-02 03:04:05.000007 +07:00);
        let late = datetime!(2026-01-02 03:04:05.1 UTC);
        assert_eq!(format(early), "2026-01-01T20:04:05.000007Z");
        assert_eq!(parse(&format(early))?, early);
        assert!(format(early) < format(late));
        Ok(())
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Stamped {
        #[serde(with = "text")]
        at: OffsetDateTime,
        #[serde(with = "text::option")]
        ended: Option<OffsetDateTime>,
    }

    #[test]
    fn json_keeps_the_stored_text_including_trailing_zeros() -> Result<(), serde_json::Error> {
        let stamped = Stamped {
            at: datetime!(2026-11-23 07:08:43.1 UTC),
            ended: None,
        };
        let json = serde_json::to_string(&stamped)?;
        assert_eq!(json, r#"{"at":"2026-11-23T07:08:43.100000Z","ended":null}"#);
        assert_eq!(serde_json::from_str::<Stamped>(&json)?, stamped);
        Ok(())
    }

    #[test]
    fn text_that_is_not_an_instant_is_refused_by_name() {
        let refused = serde_json::from_str::<Stamped>(r#"{"at":"23/11/2026","ended":null}"#);
        let message = refused
            .map(|_| ())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            message.contains("\"23/11/2026\" is not an RFC 3339 instant"),
            "{message}"
        );
    }
}
