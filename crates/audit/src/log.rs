//! [`AuditLog`], the write side's handle: it starts the writer in journal or database mode,
//! hands it entries and waits until each is durable.
//!
//! - **Journal** (the default for a server): entries are chained in memory by one writer
//!   thread and made durable in an append-only file before they are acknowledged; the
//!   indexer copies them into the database right after. One process owns the chain.
//! - **Database**: each batch is committed in one transaction before it is acknowledged, so
//!   several servers sharing one PostgreSQL database can extend one chain.

use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::VerifyingKey;
use store::Db;
use tokio::sync::{mpsc, oneshot};

use crate::commit::ChainWriter;
use crate::domain::entry::{NewEntry, Record};
use crate::error::Error;
use crate::options::AuditOptions;
use crate::progress::{Counters, Progress, Reply, Sealed, WriterStats};
use crate::signer::CheckpointSigner;

/// How long a read waits for the indexer to catch up before reading what is there.
const SETTLE_WAIT: Duration = Duration::from_secs(5);

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
        let writer = ChainWriter {
            _writers_lock: crate::store::writers_lock(&db, journal.is_some()).await?,
            db,
            signer,
            options,
            counters: counters.clone(),
        };
        let progress = match journal {
            Some(dir) => crate::journal::start(&dir, writer, receiver).await?,
            None => crate::database_mode::start(writer, receiver).await?,
        };
        tracing::info!(
            key_id,
            head_seq = progress.head(),
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
        if !self.progress.settled(SETTLE_WAIT).await {
            tracing::warn!(
                target_seq = self.progress.head(),
                "the audit database lags the journal; reading what it has"
            );
        }
    }

    pub fn stats(&self) -> WriterStats {
        self.counters.stats()
    }
}
