//! Domain events (the outbox). A context appends an event inside the transaction that makes
//! the change, so the event exists if and only if the change does. Consumers read by
//! position, at least once, and record how far they got in `event_cursors`.

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::{Backend, Db, Error, Tx, timestamp};

/// Serialises event writers on PostgreSQL until commit, so positions become visible in
/// order and a reader that resumes after position N never skips a later-committing N-1.
/// (SQLite has a single writer already.) The number is arbitrary but fixed.
const EVENT_ORDER_LOCK: i64 = 0x6c69_656e_7468;

/// What a context records: [`kernel::event::Event`]. It serialises as `{"kind": …,
/// "payload": …}` (serde's adjacent tagging), stored as the kind text and the payload's
/// JSON; tests may bring event types of their own of that shape.
pub trait DomainEvent: Serialize {
    /// The kind of thing that changed, e.g. `citizen`.
    fn stream(&self) -> &'static str;
}

impl DomainEvent for kernel::event::Event {
    fn stream(&self) -> &'static str {
        kernel::event::Event::stream(self)
    }
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

/// Appends `event` about `stream_id` (which one changed, e.g. the personal ID number) in
/// the caller's transaction and returns its position.
pub async fn append(tx: &mut Tx, stream_id: &str, event: &impl DomainEvent) -> Result<i64, Error> {
    let (kind, payload) = kind_and_payload(event)?;
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
    .bind(event.stream())
    .bind(stream_id)
    .bind(kind)
    .bind(payload.to_string())
    .bind(timestamp::now())
    .fetch_one(tx.conn())
    .await?;
    Ok(position)
}

/// Splits an event's serialised form into the two columns it is stored in.
fn kind_and_payload(event: &impl DomainEvent) -> Result<(String, Value), Error> {
    let not_an_event = |reason: String| Error::Sql(sqlx::Error::Encode(reason.into()));
    let Value::Object(mut fields) =
        serde_json::to_value(event).map_err(|e| not_an_event(e.to_string()))?
    else {
        return Err(not_an_event("an event serialises as an object".into()));
    };
    match (fields.remove("kind"), fields.remove("payload")) {
        (Some(Value::String(kind)), Some(payload)) if fields.is_empty() => Ok((kind, payload)),
        _ => Err(not_an_event(
            "an event serialises as {\"kind\": text, \"payload\": …} and nothing else".into(),
        )),
    }
}

/// An `events` row as stored.
#[derive(sqlx::FromRow)]
struct EventRow {
    position: i64,
    stream: String,
    stream_id: String,
    kind: String,
    payload: String,
    occurred_at: String,
}

impl TryFrom<EventRow> for StoredEvent {
    type Error = Error;

    fn try_from(row: EventRow) -> Result<Self, Error> {
        let undecodable =
            |e: Box<dyn std::error::Error + Send + Sync>| Error::Sql(sqlx::Error::Decode(e));
        Ok(Self {
            position: row.position,
            stream: row.stream,
            stream_id: row.stream_id,
            kind: row.kind,
            payload: serde_json::from_str(&row.payload).map_err(|e| undecodable(e.into()))?,
            occurred_at: timestamp::parse(&row.occurred_at).map_err(|e| undecodable(e.into()))?,
        })
    }
}

/// Events after `position`, oldest first, at most `limit`.
pub async fn read_after(db: &Db, position: i64, limit: i64) -> Result<Vec<StoredEvent>, Error> {
    let rows: Vec<EventRow> = sqlx::query_as(
        "SELECT position, stream, stream_id, kind, payload, occurred_at FROM events \
         WHERE position > $1 ORDER BY position LIMIT $2",
    )
    .bind(position)
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.into_iter().map(StoredEvent::try_from).collect()
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
