//! The indexer: copies journalled batches into the database in few, larger transactions,
//! signs checkpoints, and deletes segments the database holds entirely.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::commit::{ChainWriter, SigningClock, commit_sealed, sleep_until};
use crate::domain::entry::Record;
use crate::journal::files::JournalLock;
use crate::progress::Progress;

/// Entries copied into the database in one transaction, at most.
pub(crate) const INDEX_BATCH: usize = 4096;

/// How long the indexer lets entries gather before copying them, unless a reader waits
/// for them. Few, larger transactions keep the database's own syncs from competing with
/// the journal's for the disk.
const INDEX_DELAY: Duration = Duration::from_millis(50);

/// The longest pause between attempts while the database refuses a batch.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);

/// What the writer thread hands the indexer, in journal order.
pub(crate) enum ToIndex {
    Entries(Vec<Record>),
    /// A segment the writer has finished; every entry in it was sent before this.
    SegmentClosed(PathBuf),
}

/// Copies journalled batches into the database until the writer thread stops.
pub(crate) async fn index(
    chain: ChainWriter,
    lock: Arc<JournalLock>,
    progress: Arc<Progress>,
    mut from_writer: mpsc::Receiver<ToIndex>,
) {
    let ChainWriter {
        db,
        signer,
        options,
        counters,
        ..
    } = &chain;
    let mut clock = SigningClock::new(options.checkpoint_interval, false);
    loop {
        let first = tokio::select! {
            received = from_writer.recv() => match received {
                Some(first) => first,
                None => break,
            },
            () = sleep_until(clock.deadline()) => {
                clock.head_signed(chain.sign_head().await);
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
                match commit_sealed(
                    db,
                    signer,
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
        chain.sign_head().await;
    }
    tracing::info!("audit log writer stopped");
}
