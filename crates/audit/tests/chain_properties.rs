//! Properties of the chain as stored, on SQLite and (when configured) PostgreSQL: whatever
//! entries are recorded verify, and one row of `audit_entries` changed, deleted, moved or
//! inserted with SQL, or one row of `audit_checkpoints` changed or copied, is named by
//! `verify` at its position. (Re-hashed forgeries are generated in the checker's own
//! properties, `src/domain/check/properties.rs`.)

use std::time::Duration;

use audit::{AuditLog, AuditOptions, CheckpointSigner, NewEntry, Problem, ProblemKind, body_hash};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use store::Db;
use store::testing::{TestBackend, TestResult};
use time::macros::datetime;

/// Few cases, each on a database that already exists: a few seconds per backend.
const CASES: u32 = 24;

/// The checkpoint interval of these tests' writers.
const EVERY: i64 = 3;

/// What varies from one recorded exchange to the next.
#[derive(Debug, Clone)]
struct Exchange {
    path: String,
    issue: Option<String>,
    subject: Option<String>,
    status: u16,
    body: Vec<u8>,
}

fn exchange() -> impl Strategy<Value = Exchange> {
    (
        "/[a-z0-9/]{0,16}|\\PC{1,12}",
        proptest::option::of("\\PC{1,12}"),
        proptest::option::of("[0-9]{12}"),
        100u16..600,
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(path, issue, subject, status, body)| Exchange {
            path,
            issue,
            subject,
            status,
            body,
        })
}

fn entry(seq: usize, exchange: &Exchange) -> NewEntry {
    NewEntry {
        message_id: format!("m{seq}"),
        at: datetime!(2026-11-23 02:00 UTC) + time::Duration::milliseconds(seq as i64),
        client: "VN/GOV/000.00.00.H41/portal".into(),
        service: "VN/GOV/000.00.00.B01/registry/citizens".into(),
        method: "GET".into(),
        path: exchange.path.clone(),
        user_id: Some("VN001099000002".into()),
        issue: exchange.issue.clone(),
        subject: exchange.subject.clone(),
        status: exchange.status,
        latency: Duration::from_micros(seq as u64),
        request_hash: body_hash(b""),
        response_hash: body_hash(&exchange.body),
    }
}

/// One change made with SQL by someone who can write to the database but holds no key.
/// Positions are reduced modulo the chain's length when applied.
#[derive(Debug, Clone)]
enum Tamper {
    /// One column of an entry changed (`column` modulo 4).
    Alter { at: usize, column: usize },
    /// An entry deleted.
    Remove { at: usize },
    /// Two entries exchange their seqs.
    Swap { at: usize, other: usize },
    /// A row inserted before entry `at`: a copy of that entry under another message id,
    /// the entries from `at` on renumbered to make room.
    Insert { at: usize },
    /// A checkpoint's signing time changed.
    AlterCheckpoint { which: usize },
    /// A checkpoint copied to an entry that has none.
    CopyCheckpoint { which: usize, to: usize },
}

fn tamper() -> impl Strategy<Value = Tamper> {
    let at = any::<usize>();
    prop_oneof![
        (at, 0usize..4).prop_map(|(at, column)| Tamper::Alter { at, column }),
        at.prop_map(|at| Tamper::Remove { at }),
        (at, at).prop_map(|(at, other)| Tamper::Swap { at, other }),
        at.prop_map(|at| Tamper::Insert { at }),
        at.prop_map(|which| Tamper::AlterCheckpoint { which }),
        (at, at).prop_map(|(which, to)| Tamper::CopyCheckpoint { which, to }),
    ]
}

fn problem(seq: i64, message: Option<i64>, kind: ProblemKind) -> Option<Problem> {
    Some(Problem {
        seq,
        message_id: message.map(|n| format!("m{n}")),
        kind,
    })
}

async fn run(db: &Db, statements: &[(&str, &[i64])]) -> Result<(), store::Error> {
    let mut tx = db.begin().await?;
    for (sql, values) in statements {
        let mut query = sqlx::query(sql);
        for value in *values {
            query = query.bind(*value);
        }
        query.execute(tx.conn()).await?;
    }
    tx.commit().await
}

/// Applies `tamper` to a chain of `n` entries with a checkpoint at every multiple of EVERY,
/// and returns the problem `verify` must name (`None`: nothing to tamper with).
async fn apply(db: &Db, n: i64, tamper: Tamper) -> Result<Option<Problem>, store::Error> {
    let seq_in = |at: usize, below: i64| (at as i64).rem_euclid(below) + 1;
    let signed: Vec<i64> = (1..=n).filter(|seq| seq % EVERY == 0).collect();
    Ok(match tamper {
        Tamper::Alter { at, column } => {
            let seq = seq_in(at, n);
            let sql = match column {
                0 => "UPDATE audit_entries SET path = path || 'x' WHERE seq = $1",
                1 => "UPDATE audit_entries SET status = status + 1 WHERE seq = $1",
                2 => "UPDATE audit_entries SET at = '2099-01-01T00:00:00.000000Z' WHERE seq = $1",
                _ => "UPDATE audit_entries SET message_id = message_id || 'x' WHERE seq = $1",
            };
            run(db, &[(sql, &[seq])]).await?;
            let mut found = problem(seq, Some(seq), ProblemKind::Altered);
            if column == 3
                && let Some(problem) = &mut found
            {
                problem.message_id = Some(format!("m{seq}x"));
            }
            found
        }
        Tamper::Remove { at } => {
            // Not the last: a shorter chain without a checkpoint past it is all there is.
            let seq = seq_in(at, n - 1);
            run(db, &[("DELETE FROM audit_entries WHERE seq = $1", &[seq])]).await?;
            problem(seq, None, ProblemKind::Removed { through: seq })
        }
        Tamper::Swap { at, other } => {
            let a = seq_in(at, n - 1);
            let b = a + seq_in(other, n - a);
            let swap = "UPDATE audit_entries SET seq = $1 WHERE seq = $2";
            run(db, &[(swap, &[-1, a]), (swap, &[a, b]), (swap, &[b, -1])]).await?;
            problem(a, Some(b), ProblemKind::Reordered)
        }
        Tamper::Insert { at } => {
            let seq = seq_in(at, n);
            run(
                db,
                &[
                    (
                        "UPDATE audit_entries SET seq = seq + 1000 WHERE seq >= $1",
                        &[seq],
                    ),
                    (
                        "UPDATE audit_entries SET seq = seq - 999 WHERE seq >= 1000",
                        &[],
                    ),
                    (
                        "INSERT INTO audit_entries (seq, message_id, at, client, service, method, path, user_id, issue, subject, status, latency_micros, request_hash, response_hash, prev_hash, entry_hash) \
                         SELECT $1, 'forged', at, client, service, method, path, user_id, issue, subject, status, latency_micros, request_hash, response_hash, prev_hash, entry_hash \
                         FROM audit_entries WHERE seq = $2",
                        &[seq, seq + 1],
                    ),
                ],
            )
            .await?;
            let mut found = problem(seq, None, ProblemKind::Altered);
            if let Some(problem) = &mut found {
                problem.message_id = Some("forged".into());
            }
            found
        }
        Tamper::AlterCheckpoint { which } => {
            let Some(&seq) = signed.get(which % signed.len().max(1)) else {
                return Ok(None);
            };
            let sql = "UPDATE audit_checkpoints SET signed_at = signed_at || '0' WHERE seq = $1";
            run(db, &[(sql, &[seq])]).await?;
            bad_checkpoint(seq)
        }
        Tamper::CopyCheckpoint { which, to } => {
            let unsigned: Vec<i64> = (1..=n).filter(|seq| seq % EVERY != 0).collect();
            let (Some(&from), Some(&to)) = (
                signed.get(which % signed.len().max(1)),
                unsigned.get(to % unsigned.len().max(1)),
            ) else {
                return Ok(None);
            };
            let sql = "INSERT INTO audit_checkpoints (seq, entry_hash, signed_at, key_id, signature) \
                       SELECT $1, entry_hash, signed_at, key_id, signature FROM audit_checkpoints WHERE seq = $2";
            run(db, &[(sql, &[to, from])]).await?;
            bad_checkpoint(to)
        }
    })
}

fn bad_checkpoint(seq: i64) -> Option<Problem> {
    problem(
        seq,
        None,
        ProblemKind::BadCheckpoint {
            reason: String::new(),
        },
    )
}

/// The problem, with a bad checkpoint's reason left out (its wording is not the property).
fn without_reason(problem: Option<Problem>) -> Option<Problem> {
    problem.map(|mut problem| {
        if let ProblemKind::BadCheckpoint { reason } = &mut problem.kind {
            reason.clear();
        }
        problem
    })
}

/// Runs `property` for generated cases on each backend, against one database per backend
/// that every case empties first, and one writer per backend (database mode) that extends
/// whatever chain the database holds.
fn for_each_backend_case<S: Strategy>(
    strategy: S,
    property: impl Fn(&Writing, S::Value) -> Result<(), TestCaseError>,
) -> TestResult
where
    S::Value: std::fmt::Debug,
{
    let runtime = tokio::runtime::Runtime::new()?;
    for backend in TestBackend::all() {
        let fresh = runtime.block_on(backend.fresh())?;
        let db = runtime.block_on(fresh.migrated(&[&audit::MIGRATIONS]))?;
        let signer = CheckpointSigner::generate();
        let keys = [signer.verifying_key()];
        let options = AuditOptions {
            checkpoint_every: EVERY,
            // No checkpoint by time: the chain a case writes depends on its entries alone.
            checkpoint_interval: Duration::from_secs(3600),
            ..AuditOptions::default()
        };
        let log = runtime.block_on(AuditLog::start(db.clone(), signer, options))?;
        let writing = Writing {
            runtime: &runtime,
            db: db.clone(),
            log,
            keys,
        };
        let mut runner = TestRunner::new(Config::with_cases(CASES));
        runner
            .run(&strategy, |case| property(&writing, case))
            .map_err(|failure| format!("{:?}: {failure}", backend.backend()))?;
        drop(writing);
        runtime.block_on(db.close());
    }
    Ok(())
}

/// What every case of one backend shares.
struct Writing<'a> {
    runtime: &'a tokio::runtime::Runtime,
    db: Db,
    log: AuditLog,
    keys: [audit::VerifyingKey; 1],
}

fn failed(error: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(error.to_string())
}

/// Empties the log and records one entry per exchange, in order.
async fn record_afresh(writing: &Writing<'_>, exchanges: &[Exchange]) -> Result<(), TestCaseError> {
    run(
        &writing.db,
        &[
            ("DELETE FROM audit_checkpoints", &[]),
            ("DELETE FROM audit_entries", &[]),
        ],
    )
    .await
    .map_err(failed)?;
    for (index, exchange) in exchanges.iter().enumerate() {
        let sealed = writing
            .log
            .record(entry(index + 1, exchange))
            .await
            .map_err(failed)?;
        prop_assert_eq!(sealed.seq, index as i64 + 1);
    }
    Ok(())
}

#[test]
fn whatever_is_recorded_verifies() -> TestResult {
    let strategy = proptest::collection::vec(exchange(), 0..12);
    for_each_backend_case(strategy, |writing, exchanges| {
        writing.runtime.block_on(async {
            record_afresh(writing, &exchanges).await?;
            let report = audit::verify(&writing.db, &writing.keys)
                .await
                .map_err(failed)?;
            let n = exchanges.len() as i64;
            prop_assert!(report.is_intact(), "{}", report);
            prop_assert_eq!((report.entries, report.head_seq), (n as u64, n));
            prop_assert_eq!(report.checkpoints, (n / EVERY) as u64);
            Ok(())
        })
    })
}

#[test]
fn one_row_changed_with_sql_is_named_at_its_position() -> TestResult {
    let strategy = (proptest::collection::vec(exchange(), 2..10), tamper());
    for_each_backend_case(strategy, |writing, (exchanges, tamper)| {
        writing.runtime.block_on(async {
            record_afresh(writing, &exchanges).await?;
            let n = exchanges.len() as i64;
            let expected = apply(&writing.db, n, tamper).await.map_err(failed)?;
            let report = audit::verify(&writing.db, &writing.keys)
                .await
                .map_err(failed)?;
            prop_assert_eq!(
                without_reason(report.problem.clone()),
                expected,
                "{}",
                report
            );
            Ok(())
        })
    })
}
