//! The single writer task: group commit of waiting entries, chained onto the head read under
//! a lock, with checkpoints signed in the same transaction.

use ed25519_dalek::VerifyingKey;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::Row;
use store::bulk;
use store::{Backend, Db, Tx};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::Error;
use crate::chain::{COLUMNS, GENESIS, Hash, NewEntry, Record, parse_hash};
use crate::checkpoint::{CHECKPOINT_COLUMNS, CheckpointSigner};

/// Serialises chain writers on PostgreSQL from reading the head to commit, so several
/// servers sharing one database extend one chain. (SQLite has a single writer already.)
/// The number is arbitrary but fixed, and differs from the event-order lock.
const CHAIN_LOCK: i64 = 0x6c69_656e_6175;

#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// The most entries written in one transaction.
    pub max_batch: usize,
    /// Sign a checkpoint at every seq that is a multiple of this (0: never by count).
    pub checkpoint_every: i64,
    /// Sign the head when it has gone unsigned this long, even if no entry arrives.
    pub checkpoint_interval: Duration,
}

impl Default for AuditOptions {
    fn default() -> Self {
        Self {
            max_batch: 512,
            checkpoint_every: 1000,
            checkpoint_interval: Duration::from_secs(60),
        }
    }
}

/// Where a recorded entry landed in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub seq: i64,
    /// The entry's hash, 64 lowercase hexadecimal digits.
    pub entry_hash: String,
}

/// Counters since [`AuditLog::start`], for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Entries committed.
    pub entries: u64,
    /// Transactions that committed entries (entries / batches is the grouping achieved).
    pub batches: u64,
    /// Batches that failed; each of their waiters got an error.
    pub failed_batches: u64,
    /// Checkpoints signed and committed by this writer (one that another server wrote first
    /// for the same seq is kept instead, but still counted here).
    pub checkpoints: u64,
}

#[derive(Debug, Default)]
struct Counters {
    entries: AtomicU64,
    batches: AtomicU64,
    failed_batches: AtomicU64,
    checkpoints: AtomicU64,
}

type Reply = oneshot::Sender<Result<Sealed, Error>>;

/// The audit log's write side. Cheap to clone; all clones feed one writer task, which stops
/// when the last clone is dropped (after signing the head).
#[derive(Debug, Clone)]
pub struct AuditLog {
    queue: mpsc::Sender<(Record, Reply)>,
    counters: Arc<Counters>,
    verifying_key: VerifyingKey,
}

impl AuditLog {
    /// Starts the writer task on the current Tokio runtime. Fails if the audit tables cannot
    /// be read (database not migrated).
    pub async fn start(
        db: Db,
        signer: CheckpointSigner,
        options: AuditOptions,
    ) -> Result<Self, Error> {
        let mut tx = db.begin().await?;
        let head = read_head(&mut tx).await?;
        tx.rollback().await?;
        tracing::info!(
            key_id = signer.key_id(),
            head_seq = head.map_or(0, |(seq, _)| seq),
            "audit log writer started"
        );
        let options = AuditOptions {
            max_batch: options.max_batch.max(1),
            ..options
        };
        let (queue, receiver) = mpsc::channel(options.max_batch.saturating_mul(4));
        let counters = Arc::new(Counters::default());
        let verifying_key = signer.verifying_key();
        let writer = Writer {
            db,
            signer,
            options,
            counters: counters.clone(),
        };
        tokio::spawn(writer.run(receiver));
        Ok(Self {
            queue,
            counters,
            verifying_key,
        })
    }

    /// The public key that checks this writer's checkpoints.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.verifying_key
    }

    /// Appends one entry. Returns only after the transaction holding it has committed, so a
    /// response may be released to the client once this returns `Ok`. An error means the
    /// entry is not in the log (or, if the database failed while acknowledging the commit,
    /// that it may be): the exchange must then fail.
    ///
    /// If the caller stops waiting, the entry is still written.
    pub async fn record(&self, entry: NewEntry) -> Result<Sealed, Error> {
        let record = Record::unsealed(entry)?;
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((record, reply))
            .await
            .map_err(|_| Error::Closed)?;
        answer.await.map_err(|_| Error::Closed)?
    }

    pub fn stats(&self) -> WriterStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        WriterStats {
            entries: read(&self.counters.entries),
            batches: read(&self.counters.batches),
            failed_batches: read(&self.counters.failed_batches),
            checkpoints: read(&self.counters.checkpoints),
        }
    }
}

struct Writer {
    db: Db,
    signer: CheckpointSigner,
    options: AuditOptions,
    counters: Arc<Counters>,
}

impl Writer {
    async fn run(self, mut receiver: mpsc::Receiver<(Record, Reply)>) {
        let interval = self.options.checkpoint_interval;
        let mut last_signed = Instant::now();
        // Whether this writer has committed entries that no checkpoint covers yet.
        let mut unsigned = false;
        loop {
            // An interval too long to represent means "never by time".
            let deadline = last_signed.checked_add(interval);
            let first = tokio::select! {
                received = receiver.recv() => match received {
                    Some(first) => first,
                    None => break,
                },
                () = tokio::time::sleep_until(deadline.unwrap_or(last_signed)), if unsigned && deadline.is_some() => {
                    // On failure, try again an interval later rather than at once.
                    unsigned = !self.sign_head().await;
                    last_signed = Instant::now();
                    continue;
                }
            };
            // Group commit: everything that queued up while the last batch committed goes
            // into this one.
            let mut batch = vec![first];
            while batch.len() < self.options.max_batch {
                match receiver.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            let sign_tail = last_signed.elapsed() >= interval;
            let (records, replies): (Vec<Record>, Vec<Reply>) = batch.into_iter().unzip();
            let count = records.len();
            match self.write_batch(records, sign_tail).await {
                Ok((sealed, tail_signed)) => {
                    self.counters.batches.fetch_add(1, Ordering::Relaxed);
                    self.counters
                        .entries
                        .fetch_add(count as u64, Ordering::Relaxed);
                    if tail_signed {
                        last_signed = Instant::now();
                        unsigned = false;
                    } else {
                        unsigned = true;
                    }
                    for (reply, sealed) in replies.into_iter().zip(sealed) {
                        // A caller that stopped waiting still has its entry recorded.
                        let _ = reply.send(Ok(sealed));
                    }
                }
                Err(error) => {
                    self.counters.failed_batches.fetch_add(1, Ordering::Relaxed);
                    // Errors carry no entry fields: no personal data reaches the log.
                    tracing::error!(entries = count, error = %error, "audit batch not committed");
                    let reason = error.to_string();
                    for reply in replies {
                        let _ = reply.send(Err(Error::NotRecorded(reason.clone())));
                    }
                }
            }
        }
        if unsigned {
            self.sign_head().await;
        }
        tracing::info!("audit log writer stopped");
    }

    /// Writes `records` after the current head in one transaction, with any checkpoints due.
    /// Returns each entry's place, and whether the last one is covered by a checkpoint.
    async fn write_batch(
        &self,
        mut records: Vec<Record>,
        sign_tail: bool,
    ) -> Result<(Vec<Sealed>, bool), Error> {
        let mut tx = self.db.begin().await?;
        lock_chain(&mut tx).await?;
        let (mut seq, mut prev) = read_head(&mut tx).await?.unwrap_or((0, GENESIS));
        let every = self.options.checkpoint_every;
        let mut checkpoints = Vec::new();
        let mut sealed = Vec::with_capacity(records.len());
        let last = records.len();
        for (index, record) in records.iter_mut().enumerate() {
            seq += 1;
            prev = record.seal(seq, &prev);
            let due = (every > 0 && seq % every == 0) || (sign_tail && index + 1 == last);
            if due {
                checkpoints.push(self.signer.sign(seq, &prev).into_values());
            }
            sealed.push(Sealed {
                seq,
                entry_hash: record.entry_hash.clone(),
            });
        }
        let tail_signed = sign_tail || (every > 0 && seq % every == 0);
        let signed = checkpoints.len() as u64;
        let rows = records.into_iter().map(Record::into_values).collect();
        bulk::insert_rows(&mut tx, "audit_entries", &COLUMNS, rows, "").await?;
        insert_checkpoints(&mut tx, checkpoints).await?;
        tx.commit().await?;
        self.counters
            .checkpoints
            .fetch_add(signed, Ordering::Relaxed);
        Ok((sealed, tail_signed))
    }

    /// Signs the head if no checkpoint covers it (used when the log goes quiet, and on stop).
    /// False if that could not be done.
    async fn sign_head(&self) -> bool {
        let signed = async {
            let mut tx = self.db.begin().await?;
            lock_chain(&mut tx).await?;
            let Some((seq, hash)) = read_head(&mut tx).await? else {
                return tx.rollback().await.map_err(Error::from);
            };
            let latest: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM audit_checkpoints")
                .fetch_one(tx.conn())
                .await?;
            if latest.is_some_and(|latest| latest >= seq) {
                return tx.rollback().await.map_err(Error::from);
            }
            insert_checkpoints(&mut tx, vec![self.signer.sign(seq, &hash).into_values()]).await?;
            tx.commit().await?;
            self.counters.checkpoints.fetch_add(1, Ordering::Relaxed);
            Ok::<_, Error>(())
        };
        match signed.await {
            Ok(()) => true,
            Err(error) => {
                // The chain itself is unaffected; only its signature waits.
                tracing::warn!(error = %error, "audit checkpoint not written");
                false
            }
        }
    }
}

async fn lock_chain(tx: &mut Tx) -> Result<(), Error> {
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
async fn read_head(tx: &mut Tx) -> Result<Option<(i64, Hash)>, Error> {
    let row = sqlx::query("SELECT seq, entry_hash FROM audit_entries ORDER BY seq DESC LIMIT 1")
        .fetch_optional(tx.conn())
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let seq: i64 = row.try_get("seq")?;
    let text: String = row.try_get("entry_hash")?;
    let hash = parse_hash(&text).ok_or_else(|| Error::Corrupt {
        seq,
        reason: "entry_hash is not 64 lowercase hexadecimal digits".into(),
    })?;
    Ok(Some((seq, hash)))
}

/// Several processes may sign the same head; the first checkpoint stands.
async fn insert_checkpoints(tx: &mut Tx, rows: Vec<Vec<bulk::Value>>) -> Result<(), Error> {
    if !rows.is_empty() {
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
