//! Timestamps are stored as fixed-width RFC 3339 text in UTC with microseconds
//! (`2026-11-23T07:08:43.123456Z`), so text order is time order on both backends.

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

pub fn now() -> String {
    format(OffsetDateTime::now_utc())
}

pub fn parse(text: &str) -> Result<OffsetDateTime, time::error::Parse> {
    OffsetDateTime::parse(text, &Rfc3339)
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
