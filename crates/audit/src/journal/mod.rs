//! Journal mode (ADR 0011): a writer thread makes each batch durable in the journal before
//! acknowledging it; the indexer copies the batches into the database. At start, whatever
//! an earlier run journalled but did not index is replayed first.

mod files;
mod indexer;
pub(crate) mod replay;
mod writer;

use std::path::Path;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::commit::ChainWriter;
use crate::domain::entry::Record;
use crate::error::Error;
use crate::progress::{Progress, Reply};
use files::{JournalLock, Segment, Spare};
use writer::{JournalWriter, prepare_spare};

/// Replays, then starts the writer thread and the indexer. Returns the shared progress.
pub(crate) async fn start(
    dir: &Path,
    chain: ChainWriter,
    receiver: mpsc::Receiver<(Record, Reply)>,
) -> Result<Arc<Progress>, Error> {
    let lock = Arc::new(JournalLock::take(dir)?);
    let every = chain.options.checkpoint_every;
    let (replayed, head) = replay::replay(&lock, &chain.db, &chain.signer, every).await?;
    if replayed.entries > 0 {
        tracing::info!(
            entries = replayed.entries,
            "audit entries replayed from the journal"
        );
    }
    let segment_bytes = chain.options.journal_segment_bytes;
    let segment = Segment::create(
        &lock,
        head.0 + 1,
        Spare::prepare(lock.dir(), segment_bytes)?,
    )?;
    let progress = Progress::new(head.0);
    let (to_index, from_writer) = mpsc::channel(chain.options.max_batch.saturating_mul(8));
    let thread = JournalWriter {
        next_spare: Some(prepare_spare(&lock, segment_bytes)),
        segment_bytes,
        lock: lock.clone(),
        segment,
        head,
        max_batch: chain.options.max_batch,
        counters: chain.counters.clone(),
        progress: progress.clone(),
        to_index,
    };
    std::thread::Builder::new()
        .name("audit-journal".into())
        .spawn(move || thread.run(receiver))?;
    tokio::spawn(indexer::index(chain, lock, progress.clone(), from_writer));
    Ok(progress)
}
