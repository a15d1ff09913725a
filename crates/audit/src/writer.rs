//! The write side: [`AuditLog`], its two ways of making entries durable, and the database
//! writes both share.
//!
//! - **Journal** (the default for a server): entries are chained in memory by one writer
//!   thread and made durable in an append-only file (journal.rs) before they are
//!   acknowledged; the indexer (indexer.rs) copies them into the database right after. One
//!   process owns the chain.
//! - **Database**: each batch is chained onto the head read under a lock and committed in one
//!   transaction before it is acknowledged, so several servers sharing one PostgreSQL
//!   database can extend one chain.

use ed25519_dalek::VerifyingKey;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use sqlx::Row;
use store::bulk;
use store::{Backend, Db, Tx};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::Error;
use crate::chain::{COLUMNS, GENESIS, Hash, NewEntry, Record, parse_hash};
use crate::checkpoint::{CHECKPOINT_COLUMNS, Checkpoint, CheckpointSigner};

/// Serialises chain writers on PostgreSQL from reading the head to commit, so several
/// servers sharing one database extend one chain. (SQLite has a single writer already.)
/// The number is arbitrary but fixed, and differs from the event-order lock.
const CHAIN_LOCK: i64 = 0x6c69_656e_6175;

/// Held for a writer's lifetime on PostgreSQL: exclusively by a journal writer, shared by
/// database-mode writers, so a journal writer never runs beside any other writer.
const WRITERS_LOCK: i64 = 0x6c69_656e_6176;

/// How long a read waits for the indexer to catch up before reading what is there.
const SETTLE_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// The most entries made durable together.
    pub max_batch: usize,
    /// Sign a checkpoint at every seq that is a multiple of this (0: never by count).
    pub checkpoint_every: i64,
    /// Sign the head when it has gone unsigned this long, even if no entry arrives.
    pub checkpoint_interval: Duration,
    /// The journal directory (journal mode); `None` for database mode.
    pub journal: Option<PathBuf>,
    /// Size of a journal segment: zero-filled ahead, then filled with entries; the indexer
    /// deletes whole segments once the database holds them.
    pub journal_segment_bytes: u64,
}

impl Default for AuditOptions {
    fn default() -> Self {
        Self {
            max_batch: 512,
            // With anchoring (ADR 0019) these bound the tail that rests on the database alone:
            // at most 1000 entries or 5 seconds.
            checkpoint_every: 1000,
            checkpoint_interval: Duration::from_secs(5),
            journal: None,
            journal_segment_bytes: 16 * 1024 * 1024,
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
    /// Entries made durable.
    pub entries: u64,
    /// Batches made durable (entries / batches is the grouping achieved).
    pub batches: u64,
    /// Batches that failed; each of their waiters got an error.
    pub failed_batches: u64,
    /// Checkpoints signed and committed by this writer (one that another server wrote first
    /// for the same seq is kept instead, but still counted here).
    pub checkpoints: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    entries: AtomicU64,
    batches: AtomicU64,
    failed_batches: AtomicU64,
    checkpoints: AtomicU64,
}

impl Counters {
    pub(crate) fn durable(&self, entries: usize) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.entries.fetch_add(entries as u64, Ordering::Relaxed);
    }

    pub(crate) fn failed(&self) {
        self.failed_batches.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn signed(&self, checkpoints: u64) {
        self.checkpoints.fetch_add(checkpoints, Ordering::Relaxed);
    }
}

/// How far the chain has been acknowledged, and how far it is in the database.
#[derive(Debug)]
pub(crate) struct Progress {
    acknowledged: AtomicI64,
    in_database: watch::Sender<i64>,
    /// A reader is waiting: the indexer copies what it has without waiting for more.
    pub(crate) hurry: tokio::sync::Notify,
}

impl Progress {
    pub(crate) fn new(head: i64) -> Arc<Self> {
        Arc::new(Self {
            acknowledged: AtomicI64::new(head),
            in_database: watch::Sender::new(head),
            hurry: tokio::sync::Notify::new(),
        })
    }

    pub(crate) fn acknowledged(&self, seq: i64) {
        self.acknowledged.fetch_max(seq, Ordering::Release);
    }

    pub(crate) fn in_database(&self, seq: i64) {
        self.in_database.send_if_modified(|known| {
            let newer = seq > *known;
            *known = (*known).max(seq);
            newer
        });
    }
}

pub(crate) type Reply = oneshot::Sender<Result<Sealed, Error>>;

/// The audit log's write side. Cheap to clone; all clones feed one writer, which stops when
/// the last clone is dropped (after signing the head).
#[derive(Debug, Clone)]
pub struct AuditLog {
    queue: mpsc::Sender<(Record, Reply)>,
    counters: Arc<Counters>,
    progress: Arc<Progress>,
    verifying_key: VerifyingKey,
}

impl AuditLog {
    /// Starts the writer on the current Tokio runtime, in journal mode when
    /// [`AuditOptions::journal`] is set (replaying first what an earlier run left there).
    /// Fails if the audit tables cannot be read (database not migrated), or if the chain has
    /// a writer that cannot work beside this one.
    pub async fn start(
        db: Db,
        signer: CheckpointSigner,
        options: AuditOptions,
    ) -> Result<Self, Error> {
        let options = AuditOptions {
            max_batch: options.max_batch.max(1),
            ..options
        };
        let (queue, receiver) = mpsc::channel(options.max_batch.saturating_mul(4));
        let counters = Arc::new(Counters::default());
        let verifying_key = signer.verifying_key();
        let key_id = signer.key_id().to_owned();
        let journal = options.journal.clone();
        let writers_lock = writers_lock(&db, journal.is_some()).await?;
        let progress = match journal {
            Some(dir) => {
                let started = crate::indexer::Started {
                    db,
                    signer,
                    options,
                    counters: counters.clone(),
                    writers_lock,
                };
                crate::indexer::start(&dir, started, receiver).await?
            }
            None => {
                let mut tx = db.begin().await?;
                let head = read_head(&mut tx).await?.map_or(0, |(seq, _)| seq);
                tx.rollback().await?;
                let progress = Progress::new(head);
                let writer = DatabaseWriter {
                    db,
                    signer,
                    options,
                    counters: counters.clone(),
                    progress: progress.clone(),
                    _writers_lock: writers_lock,
                };
                tokio::spawn(writer.run(receiver));
                progress
            }
        };
        tracing::info!(
            key_id,
            head_seq = progress.acknowledged.load(Ordering::Acquire),
            "audit log writer started"
        );
        Ok(Self {
            queue,
            counters,
            progress,
            verifying_key,
        })
    }

    /// A log for a process that carries no exchanges (the command-line tools): it records
    /// nothing, so a running server stays the chain's only writer. `record` is refused with
    /// [`Error::Closed`].
    pub fn without_writer(verifying_key: VerifyingKey) -> Self {
        let (queue, _) = mpsc::channel(1);
        Self {
            queue,
            counters: Arc::default(),
            progress: Progress::new(0),
            verifying_key,
        }
    }

    /// The public key that checks this writer's checkpoints.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.verifying_key
    }

    /// Appends one entry. Returns only after the entry is durable, so a response may be
    /// released to the client once this returns `Ok`. An error means the entry is not in the
    /// log (or, if the disk or database failed while acknowledging, that it may be): the
    /// exchange must then fail.
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

    /// Waits until every entry acknowledged so far can be read from the database, so a page
    /// read right after an exchange shows it. Gives up after a few seconds (the database is
    /// failing; the entries are safe in the journal) and lets the read see what is there.
    pub async fn settled(&self) {
        let target = self.progress.acknowledged.load(Ordering::Acquire);
        let mut in_database = self.progress.in_database.subscribe();
        if *in_database.borrow() < target {
            self.progress.hurry.notify_one();
        }
        let caught_up = tokio::time::timeout(
            SETTLE_WAIT,
            in_database.wait_for(|indexed| *indexed >= target),
        )
        .await;
        if caught_up.is_err() {
            tracing::warn!(
                target_seq = target,
                "the audit database lags the journal; reading what it has"
            );
        }
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

/// On PostgreSQL, the connection holding [`WRITERS_LOCK`]: kept, never used, for as long as
/// the writer lives. It is detached from the pool, so closing the pool does not wait for it;
/// the lock goes when the connection does. (The mutex only makes it shareable.)
#[derive(Debug)]
pub(crate) struct WritersLock {
    _connection: Option<std::sync::Mutex<sqlx::AnyConnection>>,
}

async fn writers_lock(db: &Db, exclusive: bool) -> Result<WritersLock, Error> {
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

/// When the head must be signed by time; kept by whichever task writes to the database.
pub(crate) struct SigningClock {
    interval: Duration,
    last_signed: Instant,
    /// Whether entries in the database are not yet covered by a checkpoint.
    unsigned: bool,
}

impl SigningClock {
    pub(crate) fn new(interval: Duration, unsigned: bool) -> Self {
        Self {
            interval,
            last_signed: Instant::now(),
            unsigned,
        }
    }

    /// When to sign the head if nothing else happens (`None`: no need, or "never by time").
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.last_signed
            .checked_add(self.interval)
            .filter(|_| self.unsigned)
    }

    /// Whether the next batch should sign its last entry.
    pub(crate) fn tail_due(&self) -> bool {
        self.last_signed.elapsed() >= self.interval
    }

    pub(crate) fn committed(&mut self, tail_signed: bool) {
        if tail_signed {
            self.last_signed = Instant::now();
        }
        self.unsigned = !tail_signed;
    }

    /// After trying to sign the head; on failure it is tried again an interval later.
    pub(crate) fn head_signed(&mut self, ok: bool) {
        self.last_signed = Instant::now();
        self.unsigned = !ok;
    }

    pub(crate) fn unsigned(&self) -> bool {
        self.unsigned
    }
}

/// Sleeps until `deadline`, or forever without one.
pub(crate) async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

struct DatabaseWriter {
    db: Db,
    signer: CheckpointSigner,
    options: AuditOptions,
    counters: Arc<Counters>,
    progress: Arc<Progress>,
    _writers_lock: WritersLock,
}

impl DatabaseWriter {
    async fn run(self, mut receiver: mpsc::Receiver<(Record, Reply)>) {
        let mut clock = SigningClock::new(self.options.checkpoint_interval, false);
        loop {
            let first = tokio::select! {
                received = receiver.recv() => match received {
                    Some(first) => first,
                    None => break,
                },
                () = sleep_until(clock.deadline()) => {
                    clock.head_signed(sign_head(&self.db, &self.signer, &self.counters).await);
                    continue;
                }
            };
            let batch = gather(first, &mut receiver, self.options.max_batch);
            let (records, replies): (Vec<Record>, Vec<Reply>) = batch.into_iter().unzip();
            let count = records.len();
            match self.write_batch(records, clock.tail_due()).await {
                Ok((sealed, signed)) => {
                    self.counters.durable(count);
                    clock.committed(signed.tail_signed);
                    if let Some(last) = sealed.last() {
                        self.progress.acknowledged(last.seq);
                        self.progress.in_database(last.seq);
                    }
                    for (reply, sealed) in replies.into_iter().zip(sealed) {
                        // A caller that stopped waiting still has its entry recorded.
                        let _ = reply.send(Ok(sealed));
                    }
                    // After the replies: the anchor's sync is not on the answers' path.
                    self.signer.anchor(&signed.checkpoints).await;
                }
                Err(error) => {
                    self.counters.failed();
                    // Errors carry no entry fields: no personal data reaches the log.
                    tracing::error!(entries = count, error = %error, "audit batch not committed");
                    let reason = error.to_string();
                    for reply in replies {
                        let _ = reply.send(Err(Error::NotRecorded(reason.clone())));
                    }
                }
            }
        }
        if clock.unsigned() {
            sign_head(&self.db, &self.signer, &self.counters).await;
        }
        tracing::info!("audit log writer stopped");
    }

    /// Chains `records` onto the current head and commits them in one transaction, with any
    /// checkpoints due. Returns each entry's place, and the checkpoints signed.
    async fn write_batch(
        &self,
        mut records: Vec<Record>,
        sign_tail: bool,
    ) -> Result<(Vec<Sealed>, Signed), Error> {
        let mut tx = self.db.begin().await?;
        lock_chain(&mut tx).await?;
        let head = read_head(&mut tx).await?.unwrap_or((0, GENESIS));
        let (sealed, _) = seal_all(&mut records, head);
        let signed = insert_sealed(
            &mut tx,
            &self.signer,
            records,
            self.options.checkpoint_every,
            sign_tail,
        )
        .await?;
        tx.commit().await?;
        self.counters.signed(signed.checkpoints.len() as u64);
        Ok((sealed, signed))
    }
}

/// Group commit: the first entry and everything that queued up behind it while the last
/// batch was made durable, up to `max`.
pub(crate) fn gather<T>(first: T, receiver: &mut mpsc::Receiver<T>, max: usize) -> Vec<T> {
    let mut batch = vec![first];
    while batch.len() < max {
        match receiver.try_recv() {
            Ok(next) => batch.push(next),
            Err(_) => break,
        }
    }
    batch
}

/// Chains `records` after `head`; returns each one's place and the new head.
pub(crate) fn seal_all(records: &mut [Record], head: (i64, Hash)) -> (Vec<Sealed>, (i64, Hash)) {
    let (mut seq, mut prev) = head;
    let mut sealed = Vec::with_capacity(records.len());
    for record in records {
        seq += 1;
        prev = record.seal(seq, &prev);
        sealed.push(Sealed {
            seq,
            entry_hash: record.entry_hash.clone(),
        });
    }
    (sealed, (seq, prev))
}

/// What [`insert_sealed`] signed.
pub(crate) struct Signed {
    pub checkpoints: Vec<Checkpoint>,
    pub tail_signed: bool,
}

/// Inserts chained records, with a checkpoint at every multiple of `every` and, if
/// `sign_tail`, at the last one.
pub(crate) async fn insert_sealed(
    tx: &mut Tx,
    signer: &CheckpointSigner,
    records: Vec<Record>,
    every: i64,
    sign_tail: bool,
) -> Result<Signed, Error> {
    let last = records.len();
    let mut checkpoints = Vec::new();
    let mut tail_signed = false;
    for (index, record) in records.iter().enumerate() {
        let by_count = every > 0 && record.seq % every == 0;
        let is_tail = index + 1 == last;
        if by_count || (sign_tail && is_tail) {
            let hash = parse_hash(&record.entry_hash).ok_or_else(|| Error::Corrupt {
                seq: record.seq,
                reason: "entry_hash is not 64 lowercase hexadecimal digits".into(),
            })?;
            checkpoints.push(signer.sign(record.seq, &hash));
            tail_signed = is_tail;
        }
    }
    let rows = records.into_iter().map(Record::into_values).collect();
    bulk::insert_rows(tx, "audit_entries", &COLUMNS, rows, "").await?;
    insert_checkpoints(
        tx,
        checkpoints
            .iter()
            .cloned()
            .map(Checkpoint::into_values)
            .collect(),
    )
    .await?;
    Ok(Signed {
        checkpoints,
        tail_signed,
    })
}

/// Signs the head if no checkpoint covers it (used when the log goes quiet, on stop, and
/// after a replay). False if that could not be done.
pub(crate) async fn sign_head(db: &Db, signer: &CheckpointSigner, counters: &Counters) -> bool {
    let signed = async {
        let mut tx = db.begin().await?;
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
        let checkpoint = signer.sign(seq, &hash);
        insert_checkpoints(&mut tx, vec![checkpoint.clone().into_values()]).await?;
        tx.commit().await?;
        counters.signed(1);
        signer.anchor(&[checkpoint]).await;
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
pub(crate) async fn read_head(tx: &mut Tx) -> Result<Option<(i64, Hash)>, Error> {
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
