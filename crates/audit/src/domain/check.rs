//! Checking the chain: one pass in seq order that stops at the first problem and says which
//! entry it is and what happened to it. The same checker serves the database and exports.

use std::collections::BTreeMap;
use std::fmt;

use ed25519_dalek::VerifyingKey;
use serde::Serialize;

use crate::domain::checkpoint::{Checkpoint, keyring};
use crate::domain::entry::{GENESIS, Hash, Record, parse_hash};

/// The first thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The entry (or, for checkpoint problems, the checkpoint's entry) where the chain breaks.
    pub seq: i64,
    /// The message id stored at `seq`, if an entry is stored there.
    pub message_id: Option<String>,
    pub kind: ProblemKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProblemKind {
    /// The entry's stored fields or hashes differ from what was hashed when it was recorded.
    Altered,
    /// Entries `seq..=through` are missing: deleted from the middle, or cut off the end
    /// (a signed checkpoint names a later seq than the log holds).
    Removed { through: i64 },
    /// The entry stored at `seq` was chained after a different entry: rows were swapped,
    /// moved or renumbered.
    Reordered,
    /// The entry stored at `seq` is not in the chain as recorded: the entry after it was
    /// recorded right after entry `seq - 1`, and moved one place on to make room.
    Inserted,
    /// The checkpoint at `seq` is not a valid signature by one of the given keys.
    BadCheckpoint { reason: String },
    /// The chain is consistent by its own hashes but not with the checkpoint signed for
    /// `seq`: an entry after `after` (the last checkpoint that matched) and at or before `seq`
    /// was changed and the hashes after it recomputed.
    Rewritten { after: i64 },
    /// The chain differs from the checkpoint for `seq` anchored outside the database: an
    /// entry after `after` (the last anchor that matched) and at or before `seq` was
    /// changed, the hashes after it recomputed and the database's checkpoints replaced.
    AnchorMismatch { after: i64 },
    /// Line `line` of the anchor file is not a checkpoint signed by one of the given keys,
    /// or contradicts another line.
    BadAnchor { line: u64, reason: String },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seq = self.seq;
        let entry = match &self.message_id {
            Some(id) => format!("entry {seq} (message {id})"),
            None => format!("entry {seq}"),
        };
        match &self.kind {
            ProblemKind::Altered => {
                write!(f, "{entry} was altered: its contents do not match its hash")
            }
            ProblemKind::Removed { through } if *through == seq => {
                write!(f, "entry {seq} was removed")
            }
            ProblemKind::Removed { through } => {
                write!(f, "entries {seq} to {through} were removed")
            }
            ProblemKind::Reordered => write!(
                f,
                "{entry} is out of place: it was recorded after a different entry"
            ),
            ProblemKind::Inserted => write!(
                f,
                "{entry} was inserted: the entry after it was recorded right after entry {}",
                seq - 1
            ),
            ProblemKind::BadCheckpoint { reason } => {
                write!(f, "the checkpoint at entry {seq} is not valid: {reason}")
            }
            ProblemKind::AnchorMismatch { after } => write!(
                f,
                "{entry} differs from the checkpoint anchored outside the database: an entry after {after} and at or before {seq} was altered, removed or reordered, and the hashes and checkpoints after it replaced"
            ),
            ProblemKind::BadAnchor { line, reason } => {
                write!(f, "line {line} of the anchor file is not valid: {reason}")
            }
            ProblemKind::Rewritten { after } => write!(
                f,
                "the chain up to {entry} differs from its signed checkpoint: an entry after {after} and at or before {seq} was altered, removed or reordered, and the hashes after it recomputed"
            ),
        }
    }
}

/// What [`crate::verify`] or [`crate::verify_export`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Entries that passed, in seq order from 1.
    pub entries: u64,
    /// Checkpoints whose signature and hash both held.
    pub checkpoints: u64,
    /// The last entry that passed (0 if none).
    pub head_seq: i64,
    /// The latest seq covered by a valid checkpoint (0 if none): how far the signatures
    /// vouch for the chain. Entries after it rest on the hash chain alone.
    pub last_signed_seq: i64,
    /// With an anchor file: the latest entry whose hash matched an anchored checkpoint (0 if
    /// none). Entries after it rest on the database alone and are reported as not anchored.
    pub last_anchored_seq: Option<i64>,
    /// The first problem, if any; checking stops there.
    pub problem: Option<Problem>,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.problem.is_none()
    }

    /// How many entries after the last anchored one the database holds (0 without an
    /// anchor file): they cannot be told apart from entries made up in the database.
    pub fn unanchored(&self) -> i64 {
        self.last_anchored_seq
            .map_or(0, |anchored| (self.head_seq - anchored).max(0))
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.problem, self.last_anchored_seq) {
            (None, Some(anchored)) if self.unanchored() > 0 => write!(
                f,
                "intact through entry {anchored} (anchored outside the database); entries {} to {} are NOT anchored: they rest on the database alone ({} entries, {} checkpoints, signed through entry {})",
                anchored + 1,
                self.head_seq,
                self.entries,
                self.checkpoints,
                self.last_signed_seq
            ),
            (None, Some(anchored)) => write!(
                f,
                "intact: {} entries, {} checkpoints, signed through entry {}, anchored through entry {anchored}",
                self.entries, self.checkpoints, self.last_signed_seq
            ),
            (None, None) => write!(
                f,
                "intact: {} entries, {} checkpoints, signed through entry {}",
                self.entries, self.checkpoints, self.last_signed_seq
            ),
            (Some(problem), _) => {
                write!(f, "{problem} (entries 1 to {} are intact)", self.head_seq)
            }
        }
    }
}

enum Verdict {
    Passes(Hash),
    Fails(Problem),
    /// This entry is sound but shows that the one before it is not.
    PredecessorFails(Problem),
}

/// Fed entries in seq order, each checkpoint after the entry it covers.
pub(crate) struct Checker {
    keys: Vec<(String, VerifyingKey)>,
    /// The last entry that passed: its seq, stored hash and message id.
    seq: i64,
    hash: Hash,
    message_id: Option<String>,
    /// The hash the last entry that passed was chained after.
    before: Hash,
    /// Checkpoints for entries not seen yet.
    pending: BTreeMap<i64, Checkpoint>,
    /// The checkpoint for the last entry passed, weighed when the next entry arrives.
    deferred: Option<Checkpoint>,
    last_signed: i64,
    /// Anchored hashes by seq; `None` when no anchor file is consulted.
    anchors: Option<BTreeMap<i64, Hash>>,
    last_anchored: i64,
    entries: u64,
    checkpoints: u64,
    problem: Option<Problem>,
}

impl Checker {
    pub(crate) fn new(keys: &[VerifyingKey]) -> Self {
        Self {
            keys: keyring(keys),
            seq: 0,
            hash: GENESIS,
            message_id: None,
            before: GENESIS,
            pending: BTreeMap::new(),
            deferred: None,
            last_signed: 0,
            anchors: None,
            last_anchored: 0,
            entries: 0,
            checkpoints: 0,
            problem: None,
        }
    }

    /// A checker that also holds the chain against anchored checkpoints: with no anchor line
    /// given, the report says that nothing is anchored.
    pub(crate) fn anchored(keys: &[VerifyingKey]) -> Self {
        Self {
            anchors: Some(BTreeMap::new()),
            ..Self::new(keys)
        }
    }

    /// Checks the next entry. After the first problem every call fails with it again.
    pub(crate) fn entry(&mut self, record: &Record) -> Result<(), Problem> {
        if let Some(problem) = &self.problem {
            return Err(problem.clone());
        }
        if let Err(problem) = self.check_entry(record) {
            self.problem = Some(problem.clone());
            return Err(problem);
        }
        Ok(())
    }

    /// Takes one line of the anchor file, before any entry.
    pub(crate) fn anchor(&mut self, line: u64, text: &str) -> Result<(), Problem> {
        if let Some(problem) = &self.problem {
            return Err(problem.clone());
        }
        let anchors = self.anchors.get_or_insert_with(BTreeMap::new);
        let bad = |seq: i64, reason: String| Problem {
            seq,
            message_id: None,
            kind: ProblemKind::BadAnchor { line, reason },
        };
        let checked = serde_json::from_str::<Checkpoint>(text)
            .map_err(|e| bad(0, format!("not a checkpoint: {e}")))
            .and_then(|checkpoint| {
                if let Some(reason) = checkpoint.signature_problem(&self.keys) {
                    return Err(bad(checkpoint.seq, reason));
                }
                let hash = parse_hash(&checkpoint.entry_hash).ok_or_else(|| {
                    bad(checkpoint.seq, "its entry hash is not hexadecimal".into())
                })?;
                match anchors.insert(checkpoint.seq, hash) {
                    Some(earlier) if earlier != hash => Err(bad(
                        checkpoint.seq,
                        "an earlier line anchors a different hash for this entry".into(),
                    )),
                    _ => Ok(()),
                }
            });
        if let Err(problem) = &checked {
            self.problem = Some(problem.clone());
        }
        checked
    }

    /// Holds the entry just passed against its anchor, if it has one.
    fn match_anchor(&mut self, seq: i64) -> Result<(), Problem> {
        let Some(anchored) = self.anchors.as_ref().and_then(|a| a.get(&seq)) else {
            return Ok(());
        };
        if *anchored != self.hash {
            let problem = Problem {
                seq,
                message_id: self.message_id.clone(),
                kind: ProblemKind::AnchorMismatch {
                    after: self.last_anchored,
                },
            };
            // Only what the last matching anchor vouches for is known to be intact.
            self.seq = self.last_anchored;
            self.entries = u64::try_from(self.last_anchored).unwrap_or(0);
            return Err(problem);
        }
        self.last_anchored = seq;
        Ok(())
    }

    fn check_entry(&mut self, record: &Record) -> Result<(), Problem> {
        let stored = match self.judge(record) {
            Verdict::Passes(stored) => Ok(stored),
            Verdict::Fails(problem) => Err(problem),
            Verdict::PredecessorFails(problem) => {
                // The predecessor is the first bad entry, so it no longer counts as passed.
                self.seq -= 1;
                self.entries = self.entries.saturating_sub(1);
                return Err(problem);
            }
        };
        // A checkpoint speaks for entries up to its seq, so it is weighed before this one.
        if let Some(checkpoint) = self.deferred.take() {
            self.match_checkpoint(&checkpoint)?;
        }
        let stored = stored?;
        self.seq = record.seq;
        self.before = self.hash;
        self.hash = stored;
        self.message_id = Some(record.message_id.clone());
        self.entries += 1;
        self.deferred = self.pending.remove(&record.seq);
        self.match_anchor(record.seq)
    }

    fn judge(&self, record: &Record) -> Verdict {
        let expected = self.seq + 1;
        let here = |kind| {
            Verdict::Fails(Problem {
                seq: record.seq,
                message_id: Some(record.message_id.clone()),
                kind,
            })
        };
        if record.seq > expected {
            return Verdict::Fails(Problem {
                seq: expected,
                message_id: None,
                kind: ProblemKind::Removed {
                    through: record.seq - 1,
                },
            });
        }
        if record.seq < expected {
            // Only an export can repeat or go back; the database reads in seq order.
            return here(ProblemKind::Reordered);
        }
        let (Some(stored), Some(claimed_prev)) = (
            parse_hash(&record.entry_hash),
            parse_hash(&record.prev_hash),
        ) else {
            return here(ProblemKind::Altered);
        };
        if claimed_prev == self.hash {
            if record.compute_hash(&claimed_prev) == stored {
                Verdict::Passes(stored)
            } else {
                here(ProblemKind::Altered)
            }
        } else if record.compute_hash(&self.hash) == stored {
            // Everything but the stored prev_hash is as recorded.
            here(ProblemKind::Altered)
        } else if record.compute_hash(&claimed_prev) == stored {
            if record.seq == 1 {
                // Hashed as the first entry, yet after something: made up.
                return here(ProblemKind::Altered);
            }
            // A genuine entry whose predecessor was replaced by a row hashed to look valid
            // (a checkpoint at the predecessor would only say "somewhere before").
            Verdict::PredecessorFails(Problem {
                seq: self.seq,
                message_id: self.message_id.clone(),
                kind: ProblemKind::Altered,
            })
        } else if record.seq > 1
            && claimed_prev == self.before
            && record.hash_at(record.seq - 1, &claimed_prev) == stored
        {
            // A genuine entry one place on from where it was recorded, right after the entry
            // it was recorded after: the one before it was inserted.
            Verdict::PredecessorFails(Problem {
                seq: self.seq,
                message_id: self.message_id.clone(),
                kind: ProblemKind::Inserted,
            })
        } else {
            here(ProblemKind::Reordered)
        }
    }

    /// Checks a checkpoint's signature now, and its hash once its entry has been seen.
    pub(crate) fn checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<(), Problem> {
        if let Some(problem) = &self.problem {
            return Err(problem.clone());
        }
        if let Err(problem) = self.check_checkpoint(checkpoint) {
            self.problem = Some(problem.clone());
            return Err(problem);
        }
        Ok(())
    }

    fn check_checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<(), Problem> {
        let bad = |reason: String| Problem {
            seq: checkpoint.seq,
            message_id: None,
            kind: ProblemKind::BadCheckpoint { reason },
        };
        if let Some(reason) = checkpoint.signature_problem(&self.keys) {
            return Err(bad(reason));
        }
        if checkpoint.seq < 1 {
            return Err(bad("it names no entry".into()));
        }
        if checkpoint.seq < self.seq {
            return Err(bad("it comes after later entries".into()));
        }
        let duplicate = if checkpoint.seq == self.seq {
            self.deferred.replace(checkpoint.clone()).is_some()
        } else {
            self.pending
                .insert(checkpoint.seq, checkpoint.clone())
                .is_some()
        };
        if duplicate {
            return Err(bad("there are two checkpoints for this entry".into()));
        }
        Ok(())
    }

    /// Called while `self.hash` is the hash stored (and verified) at the checkpoint's seq.
    fn match_checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<(), Problem> {
        if parse_hash(&checkpoint.entry_hash) != Some(self.hash) {
            let problem = Problem {
                seq: checkpoint.seq,
                message_id: self.message_id.clone(),
                kind: ProblemKind::Rewritten {
                    after: self.last_signed,
                },
            };
            // Only the entries the last good checkpoint vouches for are known to be intact.
            self.seq = self.last_signed;
            self.entries = u64::try_from(self.last_signed).unwrap_or(0);
            return Err(problem);
        }
        self.last_signed = checkpoint.seq;
        self.checkpoints += 1;
        Ok(())
    }

    /// The report. A checkpoint left waiting for its entry means entries were cut off.
    pub(crate) fn finish(mut self) -> VerifyReport {
        if self.problem.is_none()
            && let Some(checkpoint) = self.deferred.take()
            && let Err(problem) = self.match_checkpoint(&checkpoint)
        {
            self.problem = Some(problem);
        }
        if self.problem.is_none()
            && let Some((&through, _)) = self.pending.last_key_value()
        {
            self.problem = Some(Problem {
                seq: self.seq + 1,
                message_id: None,
                kind: ProblemKind::Removed { through },
            });
        }
        // An anchor beyond the last entry: the tail was cut, with its database checkpoints.
        if self.problem.is_none()
            && let Some((&through, _)) = self.anchors.as_ref().and_then(BTreeMap::last_key_value)
            && through > self.seq
        {
            self.problem = Some(Problem {
                seq: self.seq + 1,
                message_id: None,
                kind: ProblemKind::Removed { through },
            });
        }
        VerifyReport {
            entries: self.entries,
            checkpoints: self.checkpoints,
            head_seq: self.seq,
            last_signed_seq: self.last_signed,
            last_anchored_seq: self.anchors.as_ref().map(|_| self.last_anchored),
            problem: self.problem,
        }
    }
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::domain::entry::hex;
    use crate::domain::entry::tests::sample;
    use crate::signer::CheckpointSigner;

    const EVERY: i64 = 4;

    /// A chain of `n` entries with a checkpoint at every multiple of EVERY.
    fn chain(n: i64, signer: &CheckpointSigner) -> (Vec<Record>, Vec<Checkpoint>) {
        let mut prev = GENESIS;
        let mut records = Vec::new();
        let mut checkpoints = Vec::new();
        for seq in 1..=n {
            let mut record = sample(seq);
            prev = record.seal(seq, &prev);
            if seq % EVERY == 0 {
                checkpoints.push(signer.sign(seq, &prev));
            }
            records.push(record);
        }
        (records, checkpoints)
    }

    /// Feeds the checker in the order the walker and exports use.
    fn check(
        records: &[Record],
        checkpoints: &[Checkpoint],
        keys: &[VerifyingKey],
    ) -> VerifyReport {
        let mut checker = Checker::new(keys);
        let mut pending = checkpoints.iter().peekable();
        for record in records {
            if checker.entry(record).is_err() {
                return checker.finish();
            }
            while let Some(checkpoint) = pending.next_if(|c| c.seq <= record.seq) {
                if checker.checkpoint(checkpoint).is_err() {
                    return checker.finish();
                }
            }
        }
        for checkpoint in pending {
            if checker.checkpoint(checkpoint).is_err() {
                break;
            }
        }
        checker.finish()
    }

    fn problem(seq: i64, message: Option<i64>, kind: ProblemKind) -> Option<Problem> {
        Some(Problem {
            seq,
            message_id: message.map(|n| format!("m{n}")),
            kind,
        })
    }

    /// Recomputes every hash from `from` on, as someone without the key would.
    fn rehash(records: &mut [Record], from: usize) {
        let mut prev = match from {
            0 => GENESIS,
            _ => parse_hash(&records[from - 1].entry_hash).unwrap(),
        };
        for record in &mut records[from..] {
            let seq = record.seq;
            prev = record.seal(seq, &prev);
        }
    }

    #[test]
    fn an_untouched_chain_is_intact() {
        let signer = CheckpointSigner::generate();
        let (records, checkpoints) = chain(10, &signer);
        let report = check(&records, &checkpoints, &[signer.verifying_key()]);
        assert_eq!(report.problem, None);
        assert_eq!((report.entries, report.checkpoints), (10, 2));
        assert_eq!((report.head_seq, report.last_signed_seq), (10, 8));
        assert!(check(&[], &[], &[]).is_intact());
    }

    #[test]
    fn every_kind_of_tampering_is_named_at_the_first_entry_it_touches() {
        let signer = CheckpointSigner::generate();
        let keys = [signer.verifying_key()];
        let mut rng = ChaCha8Rng::seed_from_u64(2026);
        for round in 0..300 {
            let n: i64 = rng.gen_range(3..=20);
            let (mut records, checkpoints) = chain(n, &signer);
            // Positions are 0-based indexes; seq = index + 1.
            let k = rng.gen_range(0..n as usize - 1);
            let seq = k as i64 + 1;
            let case = rng.gen_range(0..7);
            let expected = match case {
                0 => {
                    match rng.gen_range(0..4) {
                        0 => records[k].path.push('x'),
                        1 => records[k].status = 500,
                        2 => records[k].subject = None,
                        _ => records[k].at = "2030-01-01T00:00:00.000000Z".into(),
                    }
                    problem(seq, Some(seq), ProblemKind::Altered)
                }
                1 => {
                    records.remove(k);
                    problem(seq, None, ProblemKind::Removed { through: seq })
                }
                2 => {
                    let j = rng.gen_range(k + 1..n as usize);
                    let (a, b) = (records[k].seq, records[j].seq);
                    records.swap(k, j);
                    records[k].seq = a;
                    records[j].seq = b;
                    problem(seq, Some(b), ProblemKind::Reordered)
                }
                3 => {
                    records[k].prev_hash = hex(&[9; 32]);
                    problem(seq, Some(seq), ProblemKind::Altered)
                }
                4 => {
                    // One row changed and re-hashed to look consistent on its own.
                    records[k].method = "DELETE".into();
                    let prev = parse_hash(&records[k].prev_hash).unwrap();
                    records[k].seal(seq, &prev);
                    problem(seq, Some(seq), ProblemKind::Altered)
                }
                5 => {
                    // The tail after `seq` cut off, checkpoints left in place.
                    records.truncate(k + 1);
                    match checkpoints.iter().map(|c| c.seq).filter(|&c| c > seq).max() {
                        Some(through) => problem(seq + 1, None, ProblemKind::Removed { through }),
                        None => None,
                    }
                }
                _ => {
                    // Changed and every later hash recomputed: only a checkpoint can tell.
                    records[k].client = "VN/GOV/forged/x".into();
                    rehash(&mut records, k);
                    let after = checkpoints.iter().map(|c| c.seq).filter(|&c| c < seq).max();
                    match checkpoints.iter().map(|c| c.seq).find(|&c| c >= seq) {
                        Some(at) => problem(
                            at,
                            Some(at),
                            ProblemKind::Rewritten {
                                after: after.unwrap_or(0),
                            },
                        ),
                        // Past the last checkpoint a rewrite is invisible (documented).
                        None => None,
                    }
                }
            };
            let report = check(&records, &checkpoints, &keys);
            assert_eq!(
                report.problem, expected,
                "round {round}, case {case}, seq {seq}, n {n}"
            );
            if let Some(problem) = &report.problem {
                assert!(report.head_seq < problem.seq, "round {round}, case {case}");
                assert_eq!(report.entries, report.head_seq as u64);
            }
        }
    }

    #[test]
    fn a_checkpoint_by_another_key_or_changed_is_named() {
        let signer = CheckpointSigner::generate();
        let (records, mut checkpoints) = chain(9, &signer);
        let stranger = [CheckpointSigner::generate().verifying_key()];
        let report = check(&records, &checkpoints, &stranger);
        assert!(matches!(
            report.problem,
            Some(Problem {
                seq: 4,
                kind: ProblemKind::BadCheckpoint { .. },
                ..
            })
        ));
        checkpoints[1].signature = checkpoints[0].signature.clone();
        let report = check(&records, &checkpoints, &[signer.verifying_key()]);
        assert!(matches!(
            report.problem,
            Some(Problem {
                seq: 8,
                kind: ProblemKind::BadCheckpoint { .. },
                ..
            })
        ));
        assert_eq!(report.last_signed_seq, 4);
    }

    #[test]
    fn problems_read_as_sentences() {
        let altered = problem(7, Some(7), ProblemKind::Altered).unwrap();
        assert_eq!(
            altered.to_string(),
            "entry 7 (message m7) was altered: its contents do not match its hash"
        );
        let removed = problem(5, None, ProblemKind::Removed { through: 6 }).unwrap();
        assert_eq!(removed.to_string(), "entries 5 to 6 were removed");
    }
}
