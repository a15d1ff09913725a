//! Properties of the checker over generated chains: any chain as written verifies, and any
//! one change to it (an entry altered, removed, swapped with another or inserted, the tail
//! cut, a checkpoint altered, forged or removed) is named where it first shows. The database
//! walk that feeds the checker is exercised the same way in `tests/chain_properties.rs`.

use std::time::Duration;

use ed25519_dalek::VerifyingKey;
use proptest::prelude::*;
use time::OffsetDateTime;

use super::{Checker, Problem, ProblemKind, VerifyReport};
use crate::domain::checkpoint::Checkpoint;
use crate::domain::entry::{GENESIS, Hash, NewEntry, Record, hex};
use crate::signer::CheckpointSigner;

/// Text a gateway may record: ASCII identifiers and any printable Unicode (never NUL).
fn text() -> impl Strategy<Value = String> {
    prop_oneof!["[a-zA-Z0-9/._-]{1,24}", "\\PC{1,6}"]
}

prop_compose! {
    fn new_entry()(
        (message_id, micros, client, service, method, path) in (
            text(),
            0i64..4_000_000_000_000_000,
            text(),
            text(),
            "[A-Z]{1,7}",
            text(),
        ),
        (user_id, issue, subject, status, latency, request_hash, response_hash) in (
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::option::of("[0-9]{12}"),
            100u16..600,
            0u64..60_000_000,
            any::<[u8; 32]>(),
            any::<[u8; 32]>(),
        ),
    ) -> NewEntry {
        NewEntry {
            message_id,
            at: OffsetDateTime::UNIX_EPOCH + time::Duration::microseconds(micros),
            client,
            service,
            method,
            path,
            user_id,
            issue,
            subject,
            status,
            latency: Duration::from_micros(latency),
            request_hash,
            response_hash,
        }
    }
}

/// A chain as the writer leaves it: entries sealed in order, a checkpoint at every
/// multiple of `every`.
struct Chain {
    records: Vec<Record>,
    checkpoints: Vec<Checkpoint>,
    signer: CheckpointSigner,
}

impl Chain {
    fn write(entries: Vec<NewEntry>, every: i64) -> Self {
        let signer = CheckpointSigner::generate();
        let mut prev = GENESIS;
        let mut records = Vec::new();
        let mut checkpoints = Vec::new();
        for (seq, entry) in (1..).zip(entries) {
            let mut record = Record::unsealed(entry).expect("generated fields are acceptable");
            prev = record.seal(seq, &prev);
            if seq % every == 0 {
                checkpoints.push(signer.sign(seq, &prev));
            }
            records.push(record);
        }
        Self {
            records,
            checkpoints,
            signer,
        }
    }

    fn keys(&self) -> [VerifyingKey; 1] {
        [self.signer.verifying_key()]
    }

    /// Checks the chain as the database walk feeds it: each checkpoint after its entry.
    fn verify(&self) -> VerifyReport {
        let mut checkpoints = self.checkpoints.clone();
        checkpoints.sort_by_key(|c| c.seq);
        let mut checker = Checker::new(&self.keys());
        let mut pending = checkpoints.iter().peekable();
        for record in &self.records {
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

    fn seq_of(&self, index: usize) -> i64 {
        self.records[index].seq
    }

    fn hash_of(&self, index: usize) -> Hash {
        crate::domain::entry::parse_hash(&self.records[index].entry_hash).expect("sealed")
    }

    /// The checkpoint seqs, ascending.
    fn signed(&self) -> Vec<i64> {
        let mut seqs: Vec<i64> = self.checkpoints.iter().map(|c| c.seq).collect();
        seqs.sort_unstable();
        seqs
    }
}

fn at(seq: i64, message_id: Option<&str>, kind: ProblemKind) -> Option<Problem> {
    Some(Problem {
        seq,
        message_id: message_id.map(str::to_owned),
        kind,
    })
}

/// One change someone with write access to the rows might make. Positions are indexes into
/// the chain, reduced modulo its length when applied.
#[derive(Debug, Clone)]
enum Tamper {
    /// One stored field of an entry changed (which field: `field` modulo 8).
    Alter { index: usize, field: usize },
    /// An entry's stored `prev_hash` changed, its other fields left as they were.
    Relink { index: usize },
    /// An entry changed and its own hash recomputed, nothing after it.
    Reseal { index: usize },
    /// An entry deleted, the others left where they are.
    Remove { index: usize },
    /// Two entries exchanged, each taking the other's seq.
    Swap { index: usize, other: usize },
    /// A made-up entry, hashed after its predecessor, inserted before entry `index`; the
    /// entries after it renumbered (seq + 1) but not re-hashed, so checkpoints after it no
    /// longer match either.
    Insert { index: usize, entry: Box<NewEntry> },
    /// Every entry after `index` deleted, checkpoints left in place.
    CutTail { index: usize },
    /// An entry changed and every hash from it on recomputed, as someone without the key
    /// would.
    Rewrite { index: usize },
    /// One field of a checkpoint changed (`field` modulo 4).
    AlterCheckpoint { which: usize, field: usize },
    /// A checkpoint signed by a key that is not the log's, at an entry that has none.
    ForgeCheckpoint { index: usize },
    /// A checkpoint deleted.
    RemoveCheckpoint { which: usize },
}

fn tamper() -> impl Strategy<Value = Tamper> {
    let index = any::<usize>();
    prop_oneof![
        (index, 0usize..8).prop_map(|(index, field)| Tamper::Alter { index, field }),
        index.prop_map(|index| Tamper::Relink { index }),
        index.prop_map(|index| Tamper::Reseal { index }),
        index.prop_map(|index| Tamper::Remove { index }),
        (index, index).prop_map(|(index, other)| Tamper::Swap { index, other }),
        (index, new_entry()).prop_map(|(index, entry)| Tamper::Insert {
            index,
            entry: Box::new(entry),
        }),
        index.prop_map(|index| Tamper::CutTail { index }),
        index.prop_map(|index| Tamper::Rewrite { index }),
        (index, 0usize..4).prop_map(|(which, field)| Tamper::AlterCheckpoint { which, field }),
        index.prop_map(|index| Tamper::ForgeCheckpoint { index }),
        index.prop_map(|which| Tamper::RemoveCheckpoint { which }),
    ]
}

/// Applies `tamper` to `chain` and returns the problem `verify` must name; `None` where the
/// change hides nothing or is, as documented, beyond what the checks can show.
fn apply(chain: &mut Chain, tamper: Tamper) -> Option<Problem> {
    let n = chain.records.len();
    // Entry changes touch any entry but the last: a change to the last entry alone is
    // caught only by a checkpoint covering it, which the `Rewrite` case covers.
    let inner = |index: usize| index % (n - 1);
    match tamper {
        Tamper::Alter { index, field } => {
            let k = inner(index);
            let record = &mut chain.records[k];
            match field {
                0 => record.message_id.push('x'),
                1 => record.at = "2099-01-01T00:00:00.000000Z".into(),
                2 => record.client.push('x'),
                3 => record.path.push('x'),
                4 => record.status += 1,
                5 => record.latency_micros += 1,
                6 => record.subject = record.subject.take().map_or(Some("x".into()), |_| None),
                _ => record.response_hash = hex(&[7; 32]),
            }
            let seq = chain.seq_of(k);
            at(
                seq,
                Some(&chain.records[k].message_id),
                ProblemKind::Altered,
            )
        }
        Tamper::Relink { index } => {
            let k = inner(index);
            chain.records[k].prev_hash = hex(&[9; 32]);
            let record = &chain.records[k];
            at(record.seq, Some(&record.message_id), ProblemKind::Altered)
        }
        Tamper::Reseal { index } => {
            let k = inner(index);
            let prev = if k == 0 {
                GENESIS
            } else {
                chain.hash_of(k - 1)
            };
            let record = &mut chain.records[k];
            record.method.push('X');
            let seq = record.seq;
            record.seal(seq, &prev);
            // Sound on its own; the next entry's link shows it.
            at(seq, Some(&record.message_id), ProblemKind::Altered)
        }
        Tamper::Remove { index } => {
            let k = inner(index);
            let seq = chain.seq_of(k);
            chain.records.remove(k);
            at(seq, None, ProblemKind::Removed { through: seq })
        }
        Tamper::Swap { index, other } => {
            let k = inner(index);
            let j = k + 1 + other % (n - 1 - k);
            let (a, b) = (chain.seq_of(k), chain.seq_of(j));
            chain.records.swap(k, j);
            chain.records[k].seq = a;
            chain.records[j].seq = b;
            at(
                a,
                Some(&chain.records[k].message_id),
                ProblemKind::Reordered,
            )
        }
        Tamper::Insert { index, entry } => {
            let k = index % n;
            let prev = if k == 0 {
                GENESIS
            } else {
                chain.hash_of(k - 1)
            };
            let seq = k as i64 + 1;
            let mut made_up = Record::unsealed(*entry).expect("generated fields are acceptable");
            made_up.seal(seq, &prev);
            for record in &mut chain.records[k..] {
                record.seq += 1;
            }
            chain.records.insert(k, made_up);
            // Hashed as the writer would have, it passes; the entry it pushed along names it.
            at(
                seq,
                Some(&chain.records[k].message_id),
                ProblemKind::Inserted,
            )
        }
        Tamper::CutTail { index } => {
            let k = inner(index);
            let seq = chain.seq_of(k);
            chain.records.truncate(k + 1);
            let through = chain.signed().into_iter().filter(|&c| c > seq).max();
            // Without a checkpoint past the cut, a shorter chain is all there is to see.
            through.and_then(|through| at(seq + 1, None, ProblemKind::Removed { through }))
        }
        Tamper::Rewrite { index } => {
            let k = index % n;
            chain.records[k].client = "VN/GOV/forged/x".into();
            let mut prev = if k == 0 {
                GENESIS
            } else {
                chain.hash_of(k - 1)
            };
            for record in &mut chain.records[k..] {
                let seq = record.seq;
                prev = record.seal(seq, &prev);
            }
            let seq = k as i64 + 1;
            let signed = chain.signed();
            let after = signed.iter().copied().filter(|&c| c < seq).max();
            // Past the last checkpoint a rewrite is invisible (documented).
            signed.into_iter().find(|&c| c >= seq).and_then(|c| {
                at(
                    c,
                    Some(&chain.records[c as usize - 1].message_id),
                    ProblemKind::Rewritten {
                        after: after.unwrap_or(0),
                    },
                )
            })
        }
        Tamper::AlterCheckpoint { which, field } => {
            if chain.checkpoints.is_empty() {
                return None;
            }
            let i = which % chain.checkpoints.len();
            let checkpoint = &mut chain.checkpoints[i];
            match field {
                0 => checkpoint.seq += 1,
                1 => checkpoint.entry_hash = hex(&[5; 32]),
                2 => checkpoint.signed_at.push('0'),
                _ => checkpoint.key_id = "0000000000000000".into(),
            }
            let seq = checkpoint.seq;
            let reason = String::new();
            at(seq, None, ProblemKind::BadCheckpoint { reason })
        }
        Tamper::ForgeCheckpoint { index } => {
            let k = index % n;
            let seq = chain.seq_of(k);
            if chain.signed().contains(&seq) {
                return None;
            }
            let stranger = CheckpointSigner::generate();
            chain
                .checkpoints
                .push(stranger.sign(seq, &chain.hash_of(k)));
            let reason = String::new();
            at(seq, None, ProblemKind::BadCheckpoint { reason })
        }
        Tamper::RemoveCheckpoint { which } => {
            if !chain.checkpoints.is_empty() {
                chain.checkpoints.remove(which % chain.checkpoints.len());
            }
            // A checkpoint vouches for entries that are still checked link by link.
            None
        }
    }
}

/// Compares problems, ignoring the wording of a bad checkpoint's reason.
fn same(found: &Option<Problem>, expected: &Option<Problem>) -> bool {
    let without_reason = |problem: &Option<Problem>| {
        problem.clone().map(|mut p| {
            if let ProblemKind::BadCheckpoint { reason } = &mut p.kind {
                reason.clear();
            }
            p
        })
    };
    without_reason(found) == without_reason(expected)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_chain_as_written_verifies(
        entries in proptest::collection::vec(new_entry(), 0..24),
        every in 1i64..6,
    ) {
        let n = entries.len() as i64;
        let chain = Chain::write(entries, every);
        let report = chain.verify();
        prop_assert_eq!(&report.problem, &None);
        prop_assert_eq!((report.entries, report.head_seq), (n as u64, n));
        prop_assert_eq!(report.checkpoints, (n / every) as u64);
        prop_assert_eq!(report.last_signed_seq, n - n % every);
    }

    #[test]
    fn any_one_change_is_named_where_it_first_shows(
        entries in proptest::collection::vec(new_entry(), 2..16),
        every in 1i64..6,
        tamper in tamper(),
    ) {
        let mut chain = Chain::write(entries, every);
        let expected = apply(&mut chain, tamper);
        let report = chain.verify();
        prop_assert!(
            same(&report.problem, &expected),
            "found {:?}, expected {:?}",
            report.problem,
            expected
        );
        match &report.problem {
            // Nothing before the problem is reported as passed beyond it.
            Some(problem) => {
                let at_checkpoint = matches!(problem.kind, ProblemKind::BadCheckpoint { .. });
                prop_assert!(report.head_seq < problem.seq || at_checkpoint);
                prop_assert_eq!(report.entries, report.head_seq as u64);
            }
            None => prop_assert!(report.is_intact()),
        }
    }
}
