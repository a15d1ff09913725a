//! What the writer reports back: each entry's place in the chain to its caller, counters
//! for metrics, and how far the chain is acknowledged and in the database (for readers who
//! must see what was just recorded).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use crate::error::Error;

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

    pub(crate) fn stats(&self) -> WriterStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        WriterStats {
            entries: read(&self.entries),
            batches: read(&self.batches),
            failed_batches: read(&self.failed_batches),
            checkpoints: read(&self.checkpoints),
        }
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

    /// The last seq acknowledged to a caller.
    pub(crate) fn head(&self) -> i64 {
        self.acknowledged.load(Ordering::Acquire)
    }

    /// Waits until every entry acknowledged so far is in the database, at most `patience`;
    /// false if it was not by then.
    pub(crate) async fn settled(&self, patience: Duration) -> bool {
        let target = self.head();
        let mut in_database = self.in_database.subscribe();
        if *in_database.borrow() < target {
            self.hurry.notify_one();
        }
        tokio::time::timeout(patience, in_database.wait_for(|indexed| *indexed >= target))
            .await
            .is_ok()
    }
}

pub(crate) type Reply = oneshot::Sender<Result<Sealed, Error>>;
