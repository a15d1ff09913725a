//! A recorded exchange as the rest of the platform reads it: typed, with its time parsed.

use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;

use crate::domain::entry::Record;
use crate::error::Error;

/// One recorded exchange, typed. In JSON, `at` is RFC 3339 and the latency is
/// `latency_micros`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub seq: i64,
    pub message_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub client: String,
    pub service: String,
    pub method: String,
    pub path: String,
    pub user_id: Option<String>,
    pub issue: Option<String>,
    pub subject: Option<String>,
    pub status: u16,
    #[serde(rename = "latency_micros", serialize_with = "micros")]
    pub latency: Duration,
    /// SHA-256 of the request body, 64 lowercase hexadecimal digits.
    pub request_hash: String,
    pub response_hash: String,
    pub entry_hash: String,
}

fn micros<S: serde::Serializer>(latency: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX))
}

impl TryFrom<Record> for Entry {
    type Error = Error;

    fn try_from(record: Record) -> Result<Self, Error> {
        let seq = record.seq;
        let corrupt = |reason: String| Error::Corrupt { seq, reason };
        Ok(Self {
            seq,
            at: store::timestamp::parse(&record.at)
                .map_err(|e| corrupt(format!("at is not a timestamp: {e}")))?,
            status: u16::try_from(record.status)
                .map_err(|_| corrupt(format!("status {} is not an HTTP status", record.status)))?,
            latency: u64::try_from(record.latency_micros)
                .map(Duration::from_micros)
                .map_err(|_| corrupt("latency is negative".into()))?,
            message_id: record.message_id,
            client: record.client,
            service: record.service,
            method: record.method,
            path: record.path,
            user_id: record.user_id,
            issue: record.issue,
            subject: record.subject,
            request_hash: record.request_hash,
            response_hash: record.response_hash,
            entry_hash: record.entry_hash,
        })
    }
}

/// The member a client subsystem belongs to: the first three parts of
/// `instance/class/member/subsystem` (`VN/GOV/000.00.00.H41/portal` → `VN/GOV/000.00.00.H41`).
/// An id with fewer parts is its own member.
pub fn member_of(client: &str) -> &str {
    match client.match_indices('/').nth(2) {
        Some((slash, _)) => client.get(..slash).unwrap_or(client),
        None => client,
    }
}

#[cfg(test)]
mod tests {
    use super::member_of;

    #[test]
    fn a_member_is_the_first_three_parts() {
        assert_eq!(
            member_of("VN/GOV/000.00.00.H41/portal"),
            "VN/GOV/000.00.00.H41"
        );
        assert_eq!(
            member_of("VN/GOV/000.00.00.H41/portal/extra"),
            "VN/GOV/000.00.00.H41"
        );
        assert_eq!(member_of("VN/GOV/000.00.00.H41"), "VN/GOV/000.00.00.H41");
        assert_eq!(member_of("VN/GOV"), "VN/GOV");
    }
}
