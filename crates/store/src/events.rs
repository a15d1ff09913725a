//! Domain events (the outbox). A context appends an event inside the transaction that makes
//! the change, so the event exists if and only if the change does. Consumers read by
//! position, at least once, and record how far they got in `event_cursors`.

use serde_json::Value;
use sqlx::Row;
use time::OffsetDateTime;

use crate::{Backend, Db, Error, Tx, timestamp};

/// Serialises event writers on PostgreSQL until commit, so positions become visible in
/// order and a reader that resumes after position N never skips a later-committing N-1.
/// (SQLite has a single writer already.) The number is arbitrary but fixed.
const EVENT_ORDER_LOCK: i64 = 0x6c69_656e_7468;

pub struct NewEvent<'a> {
    /// The kind of thing that changed, e.g. `citizen`.
    pub stream: &'a str,
    /// Which one, e.g. the personal ID number.
    pub stream_id: &'a str,
    /// What happened, e.g. `citizen.registered`.
    pub kind: &'a str,
    pub payload: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub position: i64,
    pub stream: String,
    pub stream_id: String,
    pub kind: String,
    pub payload: Value,
    pub occurred_at: OffsetDateTime,
}

/// Appends an event in the caller's transaction and returns its position.
pub async fn append(tx: &mut Tx, event: NewEvent<'_>) -> Result<i64, Error> {
    if tx.backend() == Backend::Postgres {
        sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1)) AS locked")
            .bind(EVENT_ORDER_LOCK)
            .execute(tx.conn())
            .await?;
    }
    let position: i64 = sqlx::query_scalar(
        "INSERT INTO events (stream, stream_id, kind, payload, occurred_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING position",
    )
    .bind(event.stream)
    .bind(event.stream_id)
    .bind(event.kind)
    .bind(event.payload.to_string())
    .bind(timestamp::now())
    .fetch_one(tx.conn())
    .await?;
    Ok(position)
}

/// Events after `position`, oldest first, at most `limit`.
pub async fn read_after(db: &Db, position: i64, limit: i64) -> Result<Vec<StoredEvent>, Error> {
    let rows = sqlx::query(
        "SELECT position, stream, stream_id, kind, payload, occurred_at FROM events \
         WHERE position > $1 ORDER BY position LIMIT $2",
    )
    .bind(position)
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.into_iter()
        .map(|row| {
            let payload: String = row.try_get("payload")?;
            let occurred_at: String = row.try_get("occurred_at")?;
            Ok(StoredEvent {
                position: row.try_get("position")?,
                stream: row.try_get("stream")?,
                stream_id: row.try_get("stream_id")?,
                kind: row.try_get("kind")?,
                payload: serde_json::from_str(&payload)
                    .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                occurred_at: timestamp::parse(&occurred_at)
                    .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Error::from)
}

/// A named consumer that resumes where it last acknowledged.
#[derive(Debug, Clone)]
pub struct Consumer {
    name: String,
}

impl Consumer {
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }

    /// The last position this consumer acknowledged (0 before its first).
    pub async fn position(&self, db: &Db) -> Result<i64, Error> {
        let position: Option<i64> =
            sqlx::query_scalar("SELECT position FROM event_cursors WHERE consumer = $1")
                .bind(&self.name)
                .fetch_optional(db.reader())
                .await?;
        Ok(position.unwrap_or(0))
    }

    /// The next events this consumer has not acknowledged.
    pub async fn next_batch(&self, db: &Db, limit: i64) -> Result<Vec<StoredEvent>, Error> {
        read_after(db, self.position(db).await?, limit).await
    }

    /// Records that every event up to `position` has been handled. Never moves backwards,
    /// so a slow duplicate acknowledgement cannot replay events.
    pub async fn acknowledge(&self, db: &Db, position: i64) -> Result<(), Error> {
        let mut tx = db.begin().await?;
        sqlx::query(
            "INSERT INTO event_cursors (consumer, position, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (consumer) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at \
             WHERE event_cursors.position < excluded.position",
        )
        .bind(&self.name)
        .bind(position)
        .bind(timestamp::now())
        .execute(tx.conn())
        .await?;
        tx.commit().await
    }
}
