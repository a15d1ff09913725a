//! What the rest of the platform reads from the log: a citizen's data tracker (who exchanged
//! what about them), the live traffic of a member, and exchanges per client member per day
//! (operations centre).

use std::collections::BTreeMap;

use store::Db;
use time::{Date, Time, UtcOffset};

use crate::domain::recorded::{Entry, member_of};
use crate::error::Error;

/// The latest `limit` exchanges concerning the citizen with personal ID number `subject`,
/// newest first.
pub async fn entries_about(db: &Db, subject: &str, limit: i64) -> Result<Vec<Entry>, Error> {
    crate::store::entries_about(db, subject, limit)
        .await?
        .into_iter()
        .map(Entry::try_from)
        .collect()
}

/// The latest entries where `member` is the client's or the provider's member (every entry
/// when `member` is `None`), newest first: the live traffic an operator or a member sees.
pub async fn recent(db: &Db, member: Option<&str>, limit: i64) -> Result<Vec<Entry>, Error> {
    crate::store::entries_of_member(db, member, limit)
        .await?
        .into_iter()
        .map(Entry::try_from)
        .collect()
}

/// Exchanges on `day` (the calendar day in Vietnam, UTC+7) per client member, by member.
pub async fn daily_counts(db: &Db, day: Date) -> Result<Vec<(String, i64)>, Error> {
    let vietnam = UtcOffset::from_hms(7, 0, 0).unwrap_or(UtcOffset::UTC);
    let start = day.with_time(Time::MIDNIGHT).assume_offset(vietnam);
    let end = start + time::Duration::DAY;
    // Grouped by client in SQL, by member here: the number of clients is small, and no
    // member column has to be kept in step with the client.
    let per_client = crate::store::count_per_client(
        db,
        &store::timestamp::format(start),
        &store::timestamp::format(end),
    )
    .await?;
    let mut members: BTreeMap<String, i64> = BTreeMap::new();
    for (client, count) in per_client {
        *members.entry(member_of(&client).to_owned()).or_default() += count;
    }
    Ok(members.into_iter().collect())
}
