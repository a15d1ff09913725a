//! How the writer is set up: batch size, when checkpoints are signed, and journal or
//! database mode.

use std::path::PathBuf;
use std::time::Duration;

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
