//! Timestamps are stored as `kernel::timestamp`'s fixed-width RFC 3339 text in UTC with
//! microseconds, so text order is time order on both backends.

pub use kernel::timestamp::{format, parse};
use time::OffsetDateTime;

pub fn now() -> String {
    format(OffsetDateTime::now_utc())
}
