//! Database mode: each batch is chained onto the head read under a lock and committed in
//! one transaction before it is acknowledged, so several servers sharing one PostgreSQL
//! database can extend one chain.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::commit::{
    ChainWriter, Signed, SigningClock, gather, insert_sealed, seal_all, sleep_until,
};
use crate::domain::entry::{GENESIS, Record};
use crate::error::Error;
use crate::progress::{Progress, Reply, Sealed};

/// Starts the writer task on the chain as the database holds it. Returns the shared progress.
pub(crate) async fn start(
    writer: ChainWriter,
    receiver: mpsc::Receiver<(Record, Reply)>,
) -> Result<Arc<Progress>, Error> {
    let mut tx = writer.db.begin().await?;
    let head = crate::store::read_head(&mut tx)
        .await?
        .map_or(0, |(seq, _)| seq);
    tx.rollback().await?;
    let progress = Progress::new(head);
    let task = DatabaseWriter {
        chain: writer,
        progress: progress.clone(),
    };
    tokio::spawn(task.run(receiver));
    Ok(progress)
}

struct DatabaseWriter {
    chain: ChainWriter,
    progress: Arc<Progress>,
}

impl DatabaseWriter {
    async fn run(self, mut receiver: mpsc::Receiver<(Record, Reply)>) {
        let mut clock = SigningClock::new(self.chain.options.checkpoint_interval, false);
        loop {
            let first = tokio::select! {
                received = receiver.recv() => match received {
                    Some(first) => first,
                    None => break,
                },
                () = sleep_until(clock.deadline()) => {
                    clock.head_signed(self.chain.sign_head().await);
                    continue;
                }
            };
            let batch = gather(first, &mut receiver, self.chain.options.max_batch);
            let (records, replies): (Vec<Record>, Vec<Reply>) = batch.into_iter().unzip();
            let count = records.len();
            match self.write_batch(records, clock.tail_due()).await {
                Ok((sealed, signed)) => {
                    self.chain.counters.durable(count);
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
                    self.chain.signer.anchor(&signed.checkpoints).await;
                }
                Err(error) => {
                    self.chain.counters.failed();
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
            self.chain.sign_head().await;
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
        let mut tx = self.chain.db.begin().await?;
        crate::store::lock_chain(&mut tx).await?;
        let head = crate::store::read_head(&mut tx)
            .await?
            .unwrap_or((0, GENESIS));
        let (sealed, _) = seal_all(&mut records, head);
        let signed = insert_sealed(
            &mut tx,
            &self.chain.signer,
            records,
            self.chain.options.checkpoint_every,
            sign_tail,
        )
        .await?;
        tx.commit().await?;
        self.chain.counters.signed(signed.checkpoints.len() as u64);
        Ok((sealed, signed))
    }
}
