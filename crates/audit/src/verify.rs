//! Verifying the chain in the database, alone or against the anchor file.

use std::path::Path;

use ed25519_dalek::VerifyingKey;
use store::Db;

use crate::domain::check::{Checker, VerifyReport};
use crate::error::Error;
use crate::walk::{Item, Walker};

/// Checks the whole chain in the database: every entry's hash and link, every checkpoint's
/// signature against `keys` and its hash against the chain. Reads in pages from one
/// snapshot; never holds the whole log in memory.
pub async fn verify(db: &Db, keys: &[VerifyingKey]) -> Result<VerifyReport, Error> {
    walk(db, Checker::new(keys)).await
}

/// [`verify`], and holds the chain against the checkpoints anchored in the file at
/// `anchors` (ADR 0019): an entry whose hash differs from its anchor, or an anchor beyond the
/// last entry (a cut tail), is a problem even when the database's own checkpoints were
/// deleted or replaced; entries after the last anchor are reported as not anchored.
pub async fn verify_anchored(
    db: &Db,
    keys: &[VerifyingKey],
    anchors: &Path,
) -> Result<VerifyReport, Error> {
    let mut checker = Checker::anchored(keys);
    for (line, text) in crate::anchor::read_lines(anchors)? {
        if checker.anchor(line, &text).is_err() {
            break;
        }
    }
    walk(db, checker).await
}

async fn walk(db: &Db, mut checker: Checker) -> Result<VerifyReport, Error> {
    let mut walker = Walker::open(db).await?;
    while let Some(item) = walker.next().await? {
        let checked = match &item {
            Item::Entry(record) => checker.entry(record),
            Item::Checkpoint(checkpoint) => checker.checkpoint(checkpoint),
        };
        if checked.is_err() {
            break;
        }
    }
    Ok(checker.finish())
}
