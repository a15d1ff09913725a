//! What the rest of the platform reads from the log: a citizen's data tracker (who exchanged
//! what about them) and exchanges per client member per day (operations centre).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use store::Db;
use time::{Date, OffsetDateTime, Time, UtcOffset};

use crate::Error;
use crate::chain::{COLUMNS, Record};

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

/// The latest `limit` exchanges concerning the citizen with personal ID number `subject`,
/// newest first.
pub async fn entries_about(db: &Db, subject: &str, limit: i64) -> Result<Vec<Entry>, Error> {
    let sql = format!(
        "SELECT {} FROM audit_entries WHERE subject = $1 ORDER BY seq DESC LIMIT $2",
        COLUMNS.join(", ")
    );
    let rows = sqlx::query(&sql)
        .bind(subject)
        .bind(limit.max(0))
        .fetch_all(db.reader())
        .await?;
    rows.iter()
        .map(|row| Entry::try_from(Record::from_row(row)?))
        .collect()
}

/// The latest entries where `member` is the client's or the provider's member (every entry
/// when `member` is `None`), newest first: the live traffic an operator or a member sees.
pub async fn recent(db: &Db, member: Option<&str>, limit: i64) -> Result<Vec<Entry>, Error> {
    let sql = format!(
        "SELECT {} FROM audit_entries WHERE $1 = '' OR client LIKE $2 OR service LIKE $2 ORDER BY seq DESC LIMIT $3",
        COLUMNS.join(", ")
    );
    // Identifier parts never hold % or _ unescaped (X-Road allows neither), so the member
    // prefix is a literal LIKE pattern.
    let rows = sqlx::query(&sql)
        .bind(member.unwrap_or_default())
        .bind(format!("{}/%", member.unwrap_or_default()))
        .bind(limit.max(0))
        .fetch_all(db.reader())
        .await?;
    rows.iter()
        .map(|row| Entry::try_from(Record::from_row(row)?))
        .collect()
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

/// Exchanges on `day` (the calendar day in Vietnam, UTC+7) per client member, by member.
pub async fn daily_counts(db: &Db, day: Date) -> Result<Vec<(String, i64)>, Error> {
    let vietnam = UtcOffset::from_hms(7, 0, 0).unwrap_or(UtcOffset::UTC);
    let start = day.with_time(Time::MIDNIGHT).assume_offset(vietnam);
    let end = start + time::Duration::DAY;
    // Grouped by client in SQL (the index holds at and client), by member here: the number
    // of clients is small, and no member column has to be kept in step with the client.
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT client, COUNT(*) FROM audit_entries WHERE at >= $1 AND at < $2 GROUP BY client",
    )
    .bind(store::timestamp::format(start))
    .bind(store::timestamp::format(end))
    .fetch_all(db.reader())
    .await?;
    let mut members: BTreeMap<String, i64> = BTreeMap::new();
    for (client, count) in rows {
        *members.entry(member_of(&client).to_owned()).or_default() += count;
    }
    Ok(members.into_iter().collect())
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
