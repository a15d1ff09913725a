//! Journal mode (ADR 0011): a writer thread chains entries in memory and makes each batch
//! durable in the journal before acknowledging it; the indexer task copies the batches into
//! the database, signs checkpoints, and deletes segments the database holds entirely. At
//! start, whatever an earlier run journalled but did not index is replayed first.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use store::Db;
use tokio::sync::mpsc;

use crate::Error;
use crate::chain::{GENESIS, Hash, Record, hex};
use crate::checkpoint::CheckpointSigner;
use crate::journal::{JournalLock, Segment, Spare, read_segment};
use crate::writer::{
    AuditOptions, Counters, Progress, Reply, SigningClock, WritersLock, gather, insert_sealed,
    read_head, seal_all, sign_head, sleep_until,
};

/// Entries copied into the database in one transaction, at most.
const INDEX_BATCH: usize = 4096;

/// How long the indexer lets entries gather before copying them, unless a reader waits
/// for them. Few, larger transactions keep the database's own syncs from competing with
/// the journal's for the disk.
const INDEX_DELAY: Duration = Duration::from_millis(50);

/// The longest pause between attempts while the database refuses a batch.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);

/// What the writer thread hands the indexer, in journal order.
enum ToIndex {
    Entries(Vec<Record>),
    /// A segment the writer has finished; every entry in it was sent before this.
    SegmentClosed(PathBuf),
}

pub(crate) struct Started {
    pub db: Db,
    pub signer: CheckpointSigner,
    pub options: AuditOptions,
    pub counters: Arc<Counters>,
    pub writers_lock: WritersLock,
}

/// What [`replay_journal`] found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Replayed {
    /// Entries the database lacked and now holds.
    pub entries: usize,
    /// Bytes after the last whole entry: a batch a crash cut short, never acknowledged.
    pub torn_bytes: u64,
}

/// Copies into the database the entries a stopped server left in the journal at `dir`, then
/// removes the journal's segments. Refused with [`Error::Busy`] while a server is writing it.
pub async fn replay_journal(
    db: &Db,
    dir: &Path,
    signer: &CheckpointSigner,
    checkpoint_every: i64,
) -> Result<Replayed, Error> {
    if !dir.exists() {
        return Ok(Replayed::default());
    }
    let lock = JournalLock::take(dir)?;
    let (replayed, _) = replay(&lock, db, signer, checkpoint_every).await?;
    Ok(replayed)
}

/// Replays the journal under `lock`; returns what it did and the chain's head afterwards.
async fn replay(
    lock: &JournalLock,
    db: &Db,
    signer: &CheckpointSigner,
    every: i64,
) -> Result<(Replayed, (i64, Hash)), Error> {
    let mut tx = db.begin().await?;
    let (mut seq, mut prev) = read_head(&mut tx).await?.unwrap_or((0, GENESIS));
    tx.rollback().await?;
    let segments = lock.segments()?;
    let mut missing = Vec::new();
    let mut replayed = Replayed::default();
    for (index, (_, path)) in segments.iter().enumerate() {
        let read = read_segment(path)?;
        if read.torn_bytes > 0 && index + 1 != segments.len() {
            return Err(Error::Corrupt {
                seq: seq + 1,
                reason: format!(
                    "journal segment {} is damaged before its end",
                    path.display()
                ),
            });
        }
        replayed.torn_bytes += read.torn_bytes;
        for record in read.records {
            if record.seq <= seq {
                continue; // already in the database
            }
            let hash = record.compute_hash(&prev);
            let chained = record.seq == seq + 1
                && record.prev_hash == hex(&prev)
                && hex(&hash) == record.entry_hash;
            if !chained {
                return Err(Error::Corrupt {
                    seq: record.seq,
                    reason: format!(
                        "journal entry in {} does not follow entry {seq} of the database",
                        path.display()
                    ),
                });
            }
            seq = record.seq;
            prev = hash;
            missing.push(record);
        }
    }
    replayed.entries = missing.len();
    let mut rest = missing;
    while !rest.is_empty() {
        let later = rest.split_off(rest.len().min(INDEX_BATCH));
        copy(db, signer, rest, every, later.is_empty()).await?;
        rest = later;
    }
    if replayed.torn_bytes > 0 {
        tracing::warn!(
            bytes = replayed.torn_bytes,
            "the audit journal ended in a batch cut short by a crash; it was never acknowledged"
        );
    }
    for (_, path) in segments {
        lock.remove(&path)?;
    }
    Ok((replayed, (seq, prev)))
}

/// Replays, then starts the writer thread and the indexer. Returns the shared progress.
pub(crate) async fn start(
    dir: &Path,
    started: Started,
    receiver: mpsc::Receiver<(Record, Reply)>,
) -> Result<Arc<Progress>, Error> {
    let lock = Arc::new(JournalLock::take(dir)?);
    let every = started.options.checkpoint_every;
    let (replayed, head) = replay(&lock, &started.db, &started.signer, every).await?;
    if replayed.entries > 0 {
        tracing::info!(
            entries = replayed.entries,
            "audit entries replayed from the journal"
        );
    }
    let segment_bytes = started.options.journal_segment_bytes;
    let segment = Segment::create(
        &lock,
        head.0 + 1,
        Spare::prepare(lock.dir(), segment_bytes)?,
    )?;
    let progress = Progress::new(head.0);
    let (to_index, from_writer) = mpsc::channel(started.options.max_batch.saturating_mul(8));
    let thread = JournalWriter {
        next_spare: Some(prepare_spare(&lock, segment_bytes)),
        segment_bytes,
        lock: lock.clone(),
        segment,
        head,
        max_batch: started.options.max_batch,
        counters: started.counters.clone(),
        progress: progress.clone(),
        to_index,
    };
    std::thread::Builder::new()
        .name("audit-journal".into())
        .spawn(move || thread.run(receiver))?;
    tokio::spawn(index(started, lock, progress.clone(), from_writer));
    Ok(progress)
}

/// Zero-fills the next segment on a thread of its own while the current one fills up.
fn prepare_spare(lock: &JournalLock, bytes: u64) -> std::thread::JoinHandle<Result<Spare, Error>> {
    let dir = lock.dir().to_path_buf();
    std::thread::spawn(move || Spare::prepare(&dir, bytes))
}

struct JournalWriter {
    lock: Arc<JournalLock>,
    segment: Segment,
    next_spare: Option<std::thread::JoinHandle<Result<Spare, Error>>>,
    segment_bytes: u64,
    head: (i64, Hash),
    max_batch: usize,
    counters: Arc<Counters>,
    progress: Arc<Progress>,
    to_index: mpsc::Sender<ToIndex>,
}

impl JournalWriter {
    /// Group commit on its own thread, so waiting for the disk never holds up the runtime.
    fn run(mut self, mut receiver: mpsc::Receiver<(Record, Reply)>) {
        while let Some(first) = receiver.blocking_recv() {
            let batch = gather(first, &mut receiver, self.max_batch);
            let (mut records, replies): (Vec<Record>, Vec<Reply>) = batch.into_iter().unzip();
            let (sealed, head) = seal_all(&mut records, self.head);
            if let Err(error) = self.segment.append(&records) {
                // What reached the file is unknown after a failed write or sync, so nothing
                // more is appended: the log stops, and a restart replays what is whole.
                self.counters.failed();
                tracing::error!(%error, "audit journal write failed; the audit log stops");
                let reason = error.to_string();
                for reply in replies {
                    let _ = reply.send(Err(Error::NotRecorded(reason.clone())));
                }
                return;
            }
            self.head = head;
            self.counters.durable(records.len());
            self.progress.acknowledged(head.0);
            for (reply, sealed) in replies.into_iter().zip(sealed) {
                // A caller that stopped waiting still has its entry recorded.
                let _ = reply.send(Ok(sealed));
            }
            if self
                .to_index
                .blocking_send(ToIndex::Entries(records))
                .is_err()
            {
                tracing::error!("the audit indexer stopped; entries stay in the journal");
                return;
            }
            if self.segment.is_full() && !self.rotate() {
                return;
            }
        }
    }

    /// Begins a new segment; false if that failed (the log stops, as for a failed write).
    fn rotate(&mut self) -> bool {
        let spare = match self.next_spare.take().map(std::thread::JoinHandle::join) {
            Some(Ok(Ok(spare))) => Ok(spare),
            Some(Ok(Err(error))) => {
                tracing::warn!(%error, "the next audit journal segment was not prepared; trying again");
                Spare::prepare(self.lock.dir(), self.segment_bytes)
            }
            Some(Err(_)) | None => Spare::prepare(self.lock.dir(), self.segment_bytes),
        };
        match spare.and_then(|spare| Segment::create(&self.lock, self.head.0 + 1, spare)) {
            Ok(next) => {
                self.next_spare = Some(prepare_spare(&self.lock, self.segment_bytes));
                let closed = std::mem::replace(&mut self.segment, next);
                let path = closed.path().to_path_buf();
                self.to_index
                    .blocking_send(ToIndex::SegmentClosed(path))
                    .is_ok()
            }
            Err(error) => {
                tracing::error!(%error, "no new audit journal segment; the audit log stops");
                false
            }
        }
    }
}

/// Copies journalled batches into the database until the writer thread stops.
async fn index(
    started: Started,
    lock: Arc<JournalLock>,
    progress: Arc<Progress>,
    mut from_writer: mpsc::Receiver<ToIndex>,
) {
    let Started {
        db,
        signer,
        options,
        counters,
        writers_lock: _writers_lock,
    } = started;
    let mut clock = SigningClock::new(options.checkpoint_interval, false);
    loop {
        let first = tokio::select! {
            received = from_writer.recv() => match received {
                Some(first) => first,
                None => break,
            },
            () = sleep_until(clock.deadline()) => {
                clock.head_signed(sign_head(&db, &signer, &counters).await);
                continue;
            }
        };
        tokio::select! {
            () = tokio::time::sleep(INDEX_DELAY) => {}
            () = progress.hurry.notified() => {}
        }
        let mut records = Vec::new();
        let mut closed = Vec::new();
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                ToIndex::Entries(batch) => records.extend(batch),
                ToIndex::SegmentClosed(path) => closed.push(path),
            }
            if records.len() < INDEX_BATCH {
                next = from_writer.try_recv().ok();
            }
        }
        if let Some(last) = records.last().map(|record| record.seq) {
            let sign_tail = clock.tail_due();
            let mut delay = Duration::from_millis(50);
            loop {
                match copy(
                    &db,
                    &signer,
                    records.clone(),
                    options.checkpoint_every,
                    sign_tail,
                )
                .await
                {
                    Ok(signed) => {
                        counters.signed(signed.checkpoints.len() as u64);
                        clock.committed(signed.tail_signed);
                        break;
                    }
                    Err(error) => {
                        // The entries are safe in the journal; the database is retried.
                        tracing::error!(%error, "audit entries not yet in the database; retrying");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(MAX_RETRY_DELAY);
                    }
                }
            }
            progress.in_database(last);
        }
        for path in closed {
            if let Err(error) = lock.remove(&path) {
                tracing::warn!(%error, "an indexed audit journal segment was not removed");
            }
        }
    }
    if clock.unsigned() {
        sign_head(&db, &signer, &counters).await;
    }
    tracing::info!("audit log writer stopped");
}

/// Inserts sealed records, with the checkpoints due, in one transaction.
async fn copy(
    db: &Db,
    signer: &CheckpointSigner,
    records: Vec<Record>,
    every: i64,
    sign_tail: bool,
) -> Result<crate::writer::Signed, Error> {
    let mut tx = db.begin().await?;
    let signed = insert_sealed(&mut tx, signer, records, every, sign_tail).await?;
    tx.commit().await?;
    signer.anchor(&signed.checkpoints).await;
    Ok(signed)
}
