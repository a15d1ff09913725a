//! Group commit, shared by both modes: what a writer task owns, gathering a batch, chaining
//! it, committing it with the checkpoints due, and signing the head when the log goes quiet.

use std::sync::Arc;
use std::time::Duration;

use store::{Db, Tx};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::domain::checkpoint::Checkpoint;
use crate::domain::entry::{Hash, Record, parse_hash};
use crate::error::Error;
use crate::options::AuditOptions;
use crate::progress::{Counters, Sealed};
use crate::signer::CheckpointSigner;
use crate::store::WritersLock;

/// What the task that writes the chain owns, in either mode.
pub(crate) struct ChainWriter {
    pub db: Db,
    pub signer: CheckpointSigner,
    pub options: AuditOptions,
    pub counters: Arc<Counters>,
    /// Held, never used, while the task runs.
    pub _writers_lock: WritersLock,
}

impl ChainWriter {
    /// Signs the head if no checkpoint covers it (used when the log goes quiet, on stop, and
    /// after a replay). False if that could not be done.
    pub(crate) async fn sign_head(&self) -> bool {
        let signed = async {
            let mut tx = self.db.begin().await?;
            crate::store::lock_chain(&mut tx).await?;
            let Some((seq, hash)) = crate::store::read_head(&mut tx).await? else {
                return tx.rollback().await.map_err(Error::from);
            };
            let latest = crate::store::latest_checkpoint(&mut tx).await?;
            if latest.is_some_and(|latest| latest >= seq) {
                return tx.rollback().await.map_err(Error::from);
            }
            let checkpoint = self.signer.sign(seq, &hash);
            crate::store::insert_checkpoints(&mut tx, std::slice::from_ref(&checkpoint)).await?;
            tx.commit().await?;
            self.counters.signed(1);
            self.signer.anchor(&[checkpoint]).await;
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
    crate::store::insert_entries(tx, records).await?;
    crate::store::insert_checkpoints(tx, &checkpoints).await?;
    Ok(Signed {
        checkpoints,
        tail_signed,
    })
}

/// Inserts sealed records, with the checkpoints due, in one transaction.
pub(crate) async fn commit_sealed(
    db: &Db,
    signer: &CheckpointSigner,
    records: Vec<Record>,
    every: i64,
    sign_tail: bool,
) -> Result<Signed, Error> {
    let mut tx = db.begin().await?;
    let signed = insert_sealed(&mut tx, signer, records, every, sign_tail).await?;
    tx.commit().await?;
    signer.anchor(&signed.checkpoints).await;
    Ok(signed)
}
