//! The journal writer: a thread that chains entries in memory, makes each batch durable in
//! the current segment before acknowledging it, hands it to the indexer, and begins a new
//! segment when one is full.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::commit::{gather, seal_all};
use crate::domain::entry::{Hash, Record};
use crate::error::Error;
use crate::journal::files::{JournalLock, Segment, Spare};
use crate::journal::indexer::ToIndex;
use crate::progress::{Counters, Progress, Reply};

/// Zero-fills the next segment on a thread of its own while the current one fills up.
pub(crate) fn prepare_spare(
    lock: &JournalLock,
    bytes: u64,
) -> std::thread::JoinHandle<Result<Spare, Error>> {
    let dir = lock.dir().to_path_buf();
    std::thread::spawn(move || Spare::prepare(&dir, bytes))
}

pub(crate) struct JournalWriter {
    pub(crate) lock: Arc<JournalLock>,
    pub(crate) segment: Segment,
    pub(crate) next_spare: Option<std::thread::JoinHandle<Result<Spare, Error>>>,
    pub(crate) segment_bytes: u64,
    pub(crate) head: (i64, Hash),
    pub(crate) max_batch: usize,
    pub(crate) counters: Arc<Counters>,
    pub(crate) progress: Arc<Progress>,
    pub(crate) to_index: mpsc::Sender<ToIndex>,
}

impl JournalWriter {
    /// Group commit on its own thread, so waiting for the disk never holds up the runtime.
    pub(crate) fn run(mut self, mut receiver: mpsc::Receiver<(Record, Reply)>) {
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
