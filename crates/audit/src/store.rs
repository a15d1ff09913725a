//! Every SQL statement of the audit log: rows of `audit_entries` and `audit_checkpoints`
//! mapped with `FromRow`, the chain's head, and the PostgreSQL locks that keep writers apart.
//! One SQL text serves both backends.

use sqlx::{Any, AnyConnection, Transaction};
use store::bulk::{self, Value};
use store::{Backend, Db, Tx};

use crate::domain::checkpoint::Checkpoint;
use crate::domain::entry::{Hash, Record, parse_hash};
use crate::error::Error;

/// Serialises chain writers on PostgreSQL from reading the head to commit, so several
/// servers sharing one database extend one chain. (SQLite has a single writer already.)
/// The number is arbitrary but fixed, and differs from the event-order lock.
const CHAIN_LOCK: i64 = 0x6c69_656e_6175;

/// Held for a writer's lifetime on PostgreSQL: exclusively by a journal writer, shared by
/// database-mode writers, so a journal writer never runs beside any other writer.
const WRITERS_LOCK: i64 = 0x6c69_656e_6176;

/// The columns of `audit_entries`, in `Record` order.
const ENTRY_COLUMNS: [&str; 16] = [
    "seq",
    "message_id",
    "at",
    "client",
    "service",
    "method",
    "path",
    "user_id",
    "issue",
    "subject",
    "status",
    "latency_micros",
    "request_hash",
    "response_hash",
    "prev_hash",
    "entry_hash",
];

/// The columns of `audit_checkpoints`, in `Checkpoint` order.
const CHECKPOINT_COLUMNS: [&str; 5] = ["seq", "entry_hash", "signed_at", "key_id", "signature"];

/// Serialises chain writers until the transaction ends (PostgreSQL; see [`CHAIN_LOCK`]).
pub(crate) async fn lock_chain(tx: &mut Tx) -> Result<(), Error> {
    if tx.backend() == Backend::Postgres {
        sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1)) AS locked")
            .bind(CHAIN_LOCK)
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

/// The last entry's seq and hash, from the database rather than memory, so that writers in
/// other processes are taken into account. Refuses to extend a head whose hash is damaged.
pub(crate) async fn read_head(tx: &mut Tx) -> Result<Option<(i64, Hash)>, Error> {
    let head: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, entry_hash FROM audit_entries ORDER BY seq DESC LIMIT 1")
            .fetch_optional(tx.conn())
            .await?;
    let Some((seq, text)) = head else {
        return Ok(None);
    };
    let hash = parse_hash(&text).ok_or_else(|| Error::Corrupt {
        seq,
        reason: "entry_hash is not 64 lowercase hexadecimal digits".into(),
    })?;
    Ok(Some((seq, hash)))
}

/// The latest seq a stored checkpoint covers, if any.
pub(crate) async fn latest_checkpoint(tx: &mut Tx) -> Result<Option<i64>, Error> {
    let latest = sqlx::query_scalar("SELECT MAX(seq) FROM audit_checkpoints")
        .fetch_one(tx.conn())
        .await?;
    Ok(latest)
}

pub(crate) async fn insert_entries(tx: &mut Tx, records: Vec<Record>) -> Result<(), Error> {
    let rows = records.into_iter().map(entry_values).collect();
    bulk::insert_rows(tx, "audit_entries", &ENTRY_COLUMNS, rows, "").await?;
    Ok(())
}

/// Several processes may sign the same head; the first checkpoint stands.
pub(crate) async fn insert_checkpoints(
    tx: &mut Tx,
    checkpoints: &[Checkpoint],
) -> Result<(), Error> {
    if !checkpoints.is_empty() {
        let rows = checkpoints.iter().cloned().map(checkpoint_values).collect();
        bulk::insert_rows(
            tx,
            "audit_checkpoints",
            &CHECKPOINT_COLUMNS,
            rows,
            "ON CONFLICT (seq) DO NOTHING",
        )
        .await?;
    }
    Ok(())
}

fn entry_values(record: Record) -> Vec<Value> {
    use Value::{Int, OptionalText, Text};
    vec![
        Int(record.seq),
        Text(record.message_id),
        Text(record.at),
        Text(record.client),
        Text(record.service),
        Text(record.method),
        Text(record.path),
        OptionalText(record.user_id),
        OptionalText(record.issue),
        OptionalText(record.subject),
        Int(record.status),
        Int(record.latency_micros),
        Text(record.request_hash),
        Text(record.response_hash),
        Text(record.prev_hash),
        Text(record.entry_hash),
    ]
}

fn checkpoint_values(checkpoint: Checkpoint) -> Vec<Value> {
    use Value::{Int, Text};
    vec![
        Int(checkpoint.seq),
        Text(checkpoint.entry_hash),
        Text(checkpoint.signed_at),
        Text(checkpoint.key_id),
        Text(checkpoint.signature),
    ]
}

/// On PostgreSQL, the connection holding [`WRITERS_LOCK`]: kept, never used, for as long as
/// the writer lives. It is detached from the pool, so closing the pool does not wait for it;
/// the lock goes when the connection does. (The mutex only makes it shareable.)
#[derive(Debug)]
pub(crate) struct WritersLock {
    _connection: Option<std::sync::Mutex<AnyConnection>>,
}

/// Takes [`WRITERS_LOCK`]: exclusively for a journal writer, shared for a database-mode one.
pub(crate) async fn writers_lock(db: &Db, exclusive: bool) -> Result<WritersLock, Error> {
    if db.backend() != Backend::Postgres {
        return Ok(WritersLock { _connection: None });
    }
    let mut connection = db.reader().acquire().await?;
    let sql = if exclusive {
        "SELECT pg_try_advisory_lock($1)"
    } else {
        "SELECT pg_try_advisory_lock_shared($1)"
    };
    let taken: bool = sqlx::query_scalar(sql)
        .bind(WRITERS_LOCK)
        .fetch_one(&mut *connection)
        .await?;
    if !taken {
        return Err(Error::Busy(if exclusive {
            "another server writes this audit chain; a journal writer must be the only one \
             (set audit_mode = \"database\" on every server to share the chain)"
                .into()
        } else {
            "a server in journal mode owns this audit chain".into()
        }));
    }
    Ok(WritersLock {
        _connection: Some(std::sync::Mutex::new(connection.detach())),
    })
}

/// A read-only transaction that sees one snapshot of the log until it ends.
pub(crate) async fn snapshot(db: &Db) -> Result<Transaction<'static, Any>, Error> {
    let mut tx = db.reader().begin().await?;
    if db.backend() == Backend::Postgres {
        // SQLite keeps one snapshot per read transaction already (WAL).
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
    }
    Ok(tx)
}

/// At most `limit` entries after `after`, in seq order.
pub(crate) async fn entries_after(
    conn: &mut AnyConnection,
    after: i64,
    limit: i64,
) -> Result<Vec<Record>, Error> {
    let sql = format!(
        "SELECT {} FROM audit_entries WHERE seq > $1 ORDER BY seq LIMIT $2",
        ENTRY_COLUMNS.join(", ")
    );
    let records = sqlx::query_as(&sql)
        .bind(after)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    Ok(records)
}

/// The checkpoints for entries after `after` and at most `through`, in seq order.
pub(crate) async fn checkpoints_between(
    conn: &mut AnyConnection,
    after: i64,
    through: i64,
) -> Result<Vec<Checkpoint>, Error> {
    let sql = format!(
        "SELECT {} FROM audit_checkpoints WHERE seq > $1 AND seq <= $2 ORDER BY seq",
        CHECKPOINT_COLUMNS.join(", ")
    );
    let checkpoints = sqlx::query_as(&sql)
        .bind(after)
        .bind(through)
        .fetch_all(conn)
        .await?;
    Ok(checkpoints)
}

/// The latest `limit` entries about `subject`, newest first.
pub(crate) async fn entries_about(
    db: &Db,
    subject: &str,
    limit: i64,
) -> Result<Vec<Record>, Error> {
    let sql = format!(
        "SELECT {} FROM audit_entries WHERE subject = $1 ORDER BY seq DESC LIMIT $2",
        ENTRY_COLUMNS.join(", ")
    );
    let records = sqlx::query_as(&sql)
        .bind(subject)
        .bind(limit.max(0))
        .fetch_all(db.reader())
        .await?;
    Ok(records)
}

/// The latest `limit` entries whose client or service starts with `member/` (all entries
/// when `member` is `None`), newest first.
pub(crate) async fn entries_of_member(
    db: &Db,
    member: Option<&str>,
    limit: i64,
) -> Result<Vec<Record>, Error> {
    let sql = format!(
        "SELECT {} FROM audit_entries WHERE $1 = '' OR client LIKE $2 OR service LIKE $2 ORDER BY seq DESC LIMIT $3",
        ENTRY_COLUMNS.join(", ")
    );
    // Identifier parts never hold % or _ unescaped (X-Road allows neither), so the member
    // prefix is a literal LIKE pattern.
    let records = sqlx::query_as(&sql)
        .bind(member.unwrap_or_default())
        .bind(format!("{}/%", member.unwrap_or_default()))
        .bind(limit.max(0))
        .fetch_all(db.reader())
        .await?;
    Ok(records)
}

/// Entries per client with `from <= at < until` (stored timestamps), in no order.
pub(crate) async fn count_per_client(
    db: &Db,
    from: &str,
    until: &str,
) -> Result<Vec<(String, i64)>, Error> {
    // The index holds at and client, so grouping by client is cheap.
    let counts = sqlx::query_as(
        "SELECT client, COUNT(*) FROM audit_entries WHERE at >= $1 AND at < $2 GROUP BY client",
    )
    .bind(from)
    .bind(until)
    .fetch_all(db.reader())
    .await?;
    Ok(counts)
}
