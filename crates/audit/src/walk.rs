//! Reads the whole chain in seq order, a page at a time, from one consistent snapshot, with
//! each checkpoint right after the entry it covers (checkpoints past the last entry come
//! last). Verification and export both walk it, so they see exactly the same thing.

use std::collections::VecDeque;

use sqlx::{Any, Transaction};
use store::{Backend, Db};

use crate::Error;
use crate::chain::{COLUMNS, Record};
use crate::checkpoint::{CHECKPOINT_COLUMNS, Checkpoint};

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
        let mut tx = db.reader().begin().await?;
        if db.backend() == Backend::Postgres {
            // SQLite keeps one snapshot per read transaction already (WAL).
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        Ok(Self {
            tx,
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
        let sql = format!(
            "SELECT {} FROM audit_entries WHERE seq > $1 ORDER BY seq LIMIT $2",
            COLUMNS.join(", ")
        );
        let rows = sqlx::query(&sql)
            .bind(self.fetched_through)
            .bind(PAGE)
            .fetch_all(&mut *self.tx)
            .await?;
        let page = rows
            .iter()
            .map(Record::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let through = match page.last() {
            Some(last) => last.seq,
            None => {
                self.exhausted = true;
                i64::MAX
            }
        };
        let sql = format!(
            "SELECT {} FROM audit_checkpoints WHERE seq > $1 AND seq <= $2 ORDER BY seq",
            CHECKPOINT_COLUMNS.join(", ")
        );
        let rows = sqlx::query(&sql)
            .bind(self.fetched_through)
            .bind(through)
            .fetch_all(&mut *self.tx)
            .await?;
        for row in &rows {
            self.checkpoints.push_back(Checkpoint::from_row(row)?);
        }
        self.entries.extend(page);
        self.fetched_through = through;
        Ok(())
    }
}
