//! Replaying the journal: copying into the database what a stopped server journalled but did
//! not index, at start or from the command line.

use std::path::Path;

use store::Db;

use crate::commit::commit_sealed;
use crate::domain::entry::{GENESIS, Hash, hex};
use crate::error::Error;
use crate::journal::files::{JournalLock, read_segment};
use crate::journal::indexer::INDEX_BATCH;
use crate::signer::CheckpointSigner;

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
pub(crate) async fn replay(
    lock: &JournalLock,
    db: &Db,
    signer: &CheckpointSigner,
    every: i64,
) -> Result<(Replayed, (i64, Hash)), Error> {
    let mut tx = db.begin().await?;
    let (mut seq, mut prev) = crate::store::read_head(&mut tx)
        .await?
        .unwrap_or((0, GENESIS));
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
        commit_sealed(db, signer, rest, every, later.is_empty()).await?;
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
