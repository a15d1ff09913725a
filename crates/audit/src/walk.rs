//! Reads the whole chain in seq order, a page at a time, from one consistent snapshot, with
//! each checkpoint right after the entry it covers (checkpoints past the last entry come
//! last). Verification and export both walk it, so they see exactly the same thing.

use std::collections::VecDeque;

use sqlx::{Any, Transaction};
use store::Db;

use crate::domain::checkpoint::Checkpoint;
use crate::domain::entry::Record;
use crate::error::Error;

const PAGE: i64 = 1000;

pub(crate) enum Item {
    Entry(Box<Record>),
    Checkpoint(Checkpoint),
}

pub(crate) struct Walker {
    /// One snapshot for the whole walk: otherwise a checkpoint committed after the last page
    /// of entries was read would look like entries cut off the end.
    tx: Transaction<'static, Any>,
    entries: VecDeque<Record>,
    checkpoints: VecDeque<Checkpoint>,
    /// Entries and checkpoints up to this seq have been fetched.
    fetched_through: i64,
    /// The seq of the last entry handed out.
    emitted_seq: i64,
    exhausted: bool,
}

impl Walker {
    pub(crate) async fn open(db: &Db) -> Result<Self, Error> {
        Ok(Self {
            tx: crate::store::snapshot(db).await?,
            entries: VecDeque::new(),
            checkpoints: VecDeque::new(),
            fetched_through: 0,
            emitted_seq: 0,
            exhausted: false,
        })
    }

    pub(crate) async fn next(&mut self) -> Result<Option<Item>, Error> {
        loop {
            if let Some(checkpoint) = self.checkpoints.front()
                && (checkpoint.seq <= self.emitted_seq || self.exhausted)
            {
                return Ok(self.checkpoints.pop_front().map(Item::Checkpoint));
            }
            if let Some(entry) = self.entries.pop_front() {
                self.emitted_seq = entry.seq;
                return Ok(Some(Item::Entry(Box::new(entry))));
            }
            if self.exhausted {
                return Ok(None);
            }
            self.fetch_page().await?;
        }
    }

    async fn fetch_page(&mut self) -> Result<(), Error> {
        let page = crate::store::entries_after(&mut self.tx, self.fetched_through, PAGE).await?;
        let through = match page.last() {
            Some(last) => last.seq,
            None => {
                self.exhausted = true;
                i64::MAX
            }
        };
        let checkpoints =
            crate::store::checkpoints_between(&mut self.tx, self.fetched_through, through).await?;
        self.checkpoints.extend(checkpoints);
        self.entries.extend(page);
        self.fetched_through = through;
        Ok(())
    }
}
