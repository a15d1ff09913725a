//! Audit log contract tests, on SQLite and (when configured) PostgreSQL: recording, group
//! commit, tampering with raw SQL and naming the entry, export for auditors, and reads.

use std::time::Duration;

use audit::{
    AuditLog, AuditOptions, CheckpointSigner, Error, NewEntry, Problem, ProblemKind, VerifyReport,
    VerifyingKey, body_hash, daily_counts, entries_about, export, verify, verify_anchored,
    verify_export,
};
use sha2::{Digest, Sha256};
use sqlx::Row;
use store::Db;
use store::testing::{TestBackend, TestResult, for_each_backend};
use time::macros::{date, datetime};

/// The tables these tests use.
static TABLES: &[&store::Migrations] = &[&audit::MIGRATIONS];

fn entry(n: usize) -> NewEntry {
    NewEntry {
        message_id: format!("m{n}"),
        at: datetime!(2026-11-23 02:00 UTC) + time::Duration::seconds(n as i64),
        client: if n.is_multiple_of(3) {
            "VN/GOV/000.00.00.G22/dossiers".into()
        } else {
            "VN/GOV/000.00.00.H41/portal".into()
        },
        service: "VN/GOV/000.00.00.B01/registry/citizens".into(),
        method: "GET".into(),
        path: format!("/citizens/{:012}", n % 4),
        user_id: Some("VN001099000002".into()),
        issue: n.is_multiple_of(2).then(|| format!("case-{n}")),
        subject: Some(format!("{:012}", n % 4)),
        status: 200,
        latency: Duration::from_micros(1000 + n as u64),
        request_hash: body_hash(b""),
        response_hash: body_hash(format!("{{\"n\":{n}}}").as_bytes()),
    }
}

fn options(checkpoint_every: i64) -> AuditOptions {
    AuditOptions {
        checkpoint_every,
        checkpoint_interval: Duration::from_secs(3600),
        ..AuditOptions::default()
    }
}

async fn start(db: &Db, checkpoint_every: i64) -> Result<(AuditLog, VerifyingKey), Error> {
    let signer = CheckpointSigner::generate();
    let key = signer.verifying_key();
    Ok((
        AuditLog::start(db.clone(), signer, options(checkpoint_every)).await?,
        key,
    ))
}

/// Records entries m1..=mN one after another.
async fn record(log: &AuditLog, n: usize) -> Result<(), Error> {
    for i in 1..=n {
        let sealed = log.record(entry(i)).await?;
        assert_eq!(sealed.seq, i as i64);
    }
    Ok(())
}

/// Raw SQL from outside the application, as someone with database access would run it.
async fn tamper(db: &Db, statements: &[&str]) -> TestResult {
    let mut tx = db.begin().await?;
    for statement in statements {
        sqlx::query(statement).execute(tx.conn()).await?;
    }
    tx.commit().await?;
    Ok(())
}

fn problem_of(report: &VerifyReport) -> Option<(i64, Option<&str>, &ProblemKind)> {
    report
        .problem
        .as_ref()
        .map(|p| (p.seq, p.message_id.as_deref(), &p.kind))
}

#[tokio::test]
async fn recorded_entries_form_a_signed_chain_that_verifies() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let (log, key) = start(&db, 4).await?;
        record(&log, 10).await?;

        let report = verify(&db, &[key]).await?;
        assert!(report.is_intact(), "{report}");
        assert_eq!((report.entries, report.head_seq), (10, 10));
        assert_eq!((report.checkpoints, report.last_signed_seq), (2, 8));
        let stats = log.stats();
        assert_eq!(
            (stats.entries, stats.checkpoints, stats.failed_batches),
            (10, 2, 0)
        );

        // Refused before it reaches the writer: nothing written, the chain untouched.
        let mut bad = entry(11);
        bad.path = "/a\0b".into();
        assert!(matches!(
            log.record(bad).await,
            Err(Error::Invalid { field: "path", .. })
        ));
        assert_eq!(log.record(entry(11)).await?.seq, 11);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn concurrent_records_are_group_committed_into_one_contiguous_chain() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let (log, key) = start(&db, 50).await?;
        let tasks: Vec<_> = (1..=200)
            .map(|n| {
                let log = log.clone();
                tokio::spawn(async move { log.record(entry(n)).await })
            })
            .collect();
        let mut seqs = Vec::new();
        for task in tasks {
            seqs.push(task.await??.seq);
        }
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=200).collect::<Vec<i64>>());

        let stats = log.stats();
        assert_eq!(stats.entries, 200);
        // Entries that queue while a batch commits share the next transaction.
        assert!(
            stats.batches < 200,
            "200 entries took {} transactions",
            stats.batches
        );
        let report = verify(&db, &[key]).await?;
        assert!(report.is_intact(), "{report}");
        assert_eq!((report.entries, report.checkpoints), (200, 4));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn an_altered_entry_is_named() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let (log, key) = start(&db, 5).await?;
        record(&log, 12).await?;
        tamper(&db, &["UPDATE audit_entries SET status = 404 WHERE seq = 7"]).await?;
        let report = verify(&db, &[key]).await?;
        assert_eq!(problem_of(&report), Some((7, Some("m7"), &ProblemKind::Altered)));
        assert_eq!((report.head_seq, report.last_signed_seq), (6, 5));
        assert_eq!(
            report.to_string(),
            "entry 7 (message m7) was altered: its contents do not match its hash (entries 1 to 6 are intact)"
        );

        // Removing the citizen from an entry is altering it too.
        tamper(
            &db,
            &[
                "UPDATE audit_entries SET status = 200 WHERE seq = 7",
                "UPDATE audit_entries SET subject = NULL WHERE seq = 3",
            ],
        )
        .await?;
        let report = verify(&db, &[key]).await?;
        assert_eq!(problem_of(&report), Some((3, Some("m3"), &ProblemKind::Altered)));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_removed_entry_is_named() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let (log, key) = start(&db, 5).await?;
        record(&log, 12).await?;
        tamper(&db, &["DELETE FROM audit_entries WHERE seq = 5"]).await?;
        let report = verify(&db, &[key]).await?;
        assert_eq!(
            problem_of(&report),
            Some((5, None, &ProblemKind::Removed { through: 5 }))
        );
        assert_eq!(report.head_seq, 4);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn entries_cut_off_the_end_are_named_by_the_checkpoint_beyond_them() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let (log, key) = start(&db, 5).await?;
        record(&log, 12).await?;
        tamper(&db, &["DELETE FROM audit_entries WHERE seq > 8"]).await?;
        let report = verify(&db, &[key]).await?;
        assert_eq!(
            problem_of(&report),
            Some((9, None, &ProblemKind::Removed { through: 10 }))
        );
        assert_eq!(
            report.to_string(),
            "entries 9 to 10 were removed (entries 1 to 8 are intact)"
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn swapped_entries_are_named_as_out_of_place() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let (log, key) = start(&db, 5).await?;
        record(&log, 12).await?;
        // Rows 4 and 9 exchange everything but their position.
        tamper(
            &db,
            &[
                "UPDATE audit_entries SET seq = -4 WHERE seq = 4",
                "UPDATE audit_entries SET seq = 4 WHERE seq = 9",
                "UPDATE audit_entries SET seq = 9 WHERE seq = -4",
            ],
        )
        .await?;
        let report = verify(&db, &[key]).await?;
        assert_eq!(
            problem_of(&report),
            Some((4, Some("m9"), &ProblemKind::Reordered))
        );
        Ok(())
    })
    .await
}

/// The documented encoding, written again from the crate documentation, as an auditor or an
/// attacker without the signing key would.
fn documented_hash(prev: &[u8], row: &sqlx::any::AnyRow) -> Result<String, sqlx::Error> {
    fn put(hasher: &mut Sha256, text: &str) {
        hasher.update((text.len() as u32).to_be_bytes());
        hasher.update(text.as_bytes());
    }
    let mut hasher = Sha256::new();
    hasher.update(prev);
    put(&mut hasher, "lienthong-audit-entry-v1");
    hasher.update(row.try_get::<i64, _>("seq")?.to_be_bytes());
    for column in ["message_id", "at", "client", "service", "method", "path"] {
        put(&mut hasher, &row.try_get::<String, _>(column)?);
    }
    for column in ["user_id", "issue", "subject"] {
        match row.try_get::<Option<String>, _>(column)? {
            None => hasher.update([0]),
            Some(text) => {
                hasher.update([1]);
                put(&mut hasher, &text);
            }
        }
    }
    hasher.update(row.try_get::<i64, _>("status")?.to_be_bytes());
    hasher.update(row.try_get::<i64, _>("latency_micros")?.to_be_bytes());
    put(&mut hasher, &row.try_get::<String, _>("request_hash")?);
    put(&mut hasher, &row.try_get::<String, _>("response_hash")?);
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn unhex(text: &str) -> Result<Vec<u8>, std::num::ParseIntError> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16))
        .collect()
}

#[tokio::test]
async fn the_documented_encoding_reproduces_every_stored_hash() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let (log, _) = start(&db, 0).await?;
        record(&log, 6).await?;
        let rows = sqlx::query("SELECT * FROM audit_entries ORDER BY seq")
            .fetch_all(db.reader())
            .await?;
        let mut prev = vec![0u8; 32];
        for row in &rows {
            let stored: String = row.try_get("entry_hash")?;
            assert_eq!(documented_hash(&prev, row)?, stored);
            prev = unhex(&stored)?;
        }
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_chain_rewritten_without_the_key_is_caught_by_the_next_checkpoint() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let (log, key) = start(&db, 5).await?;
        record(&log, 12).await?;
        // Change entry 7, then recompute every hash from 7 on so the chain links again.
        tamper(
            &db,
            &["UPDATE audit_entries SET client = 'VN/GOV/forged/x' WHERE seq = 7"],
        )
        .await?;
        let rows = sqlx::query("SELECT * FROM audit_entries WHERE seq >= 6 ORDER BY seq")
            .fetch_all(db.reader())
            .await?;
        let mut prev: String = rows[0].try_get("entry_hash")?;
        let mut tx = db.begin().await?;
        for row in &rows[1..] {
            let hash = documented_hash(&unhex(&prev)?, row)?;
            sqlx::query("UPDATE audit_entries SET prev_hash = $1, entry_hash = $2 WHERE seq = $3")
                .bind(&prev)
                .bind(&hash)
                .bind(row.try_get::<i64, _>("seq")?)
                .execute(tx.conn())
                .await?;
            prev = hash;
        }
        tx.commit().await?;

        let report = verify(&db, &[key]).await?;
        assert_eq!(
            problem_of(&report),
            Some((10, Some("m10"), &ProblemKind::Rewritten { after: 5 }))
        );
        assert_eq!(report.head_seq, 5);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_forged_checkpoint_or_a_stranger_key_is_named() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let (log, key) = start(&db, 5).await?;
        record(&log, 12).await?;
        let stranger = CheckpointSigner::generate().verifying_key();
        let report = verify(&db, &[stranger]).await?;
        assert!(
            matches!(
                &report.problem,
                Some(Problem { seq: 5, kind: ProblemKind::BadCheckpoint { reason }, .. })
                    if reason.contains("not among the keys given")
            ),
            "{report}"
        );
        // Rotated keys: the old one among those given is enough.
        assert!(verify(&db, &[stranger, key]).await?.is_intact());

        tamper(
            &db,
            &["UPDATE audit_checkpoints SET signature = (SELECT signature FROM audit_checkpoints WHERE seq = 5) WHERE seq = 10"],
        )
        .await?;
        let report = verify(&db, &[key]).await?;
        assert!(
            matches!(
                &report.problem,
                Some(Problem { seq: 10, kind: ProblemKind::BadCheckpoint { .. }, .. })
            ),
            "{report}"
        );
        assert_eq!(report.last_signed_seq, 5);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn an_export_verifies_offline_and_shows_the_same_damage() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let (log, key) = start(&db, 5).await?;
        record(&log, 12).await?;

        let mut file = Vec::new();
        let summary = export(&db, &[key], &mut file).await?;
        assert_eq!((summary.entries, summary.checkpoints), (12, 2));
        let text = String::from_utf8(file)?;
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + 12 + 2 + 1);
        let header: serde_json::Value = serde_json::from_str(lines[0])?;
        assert_eq!(header["format"], "lienthong-audit-export");
        let pem = header["keys"][0]["public_key_pem"]
            .as_str()
            .unwrap_or_default();
        assert_eq!(audit::parse_public_key(pem)?, key);
        let offline = verify_export(text.as_bytes(), &[key])?;
        assert_eq!(offline, verify(&db, &[key]).await?);
        assert!(offline.is_intact());

        // Damage in the file itself is named like damage in the database.
        let edited = text.replacen("\"message_id\":\"m3\"", "\"message_id\":\"m3x\"", 1);
        let report = verify_export(edited.as_bytes(), &[key])?;
        assert_eq!(
            problem_of(&report),
            Some((3, Some("m3x"), &ProblemKind::Altered))
        );
        let truncated = lines[..lines.len() - 1].join("\n");
        let error = verify_export(truncated.as_bytes(), &[key])
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some("audit export, line 16: the file ends without its closing line: it is truncated")
        );

        // An export of a damaged log carries the damage to the auditor.
        tamper(&db, &["DELETE FROM audit_entries WHERE seq = 8"]).await?;
        let mut file = Vec::new();
        export(&db, &[key], &mut file).await?;
        let offline = verify_export(file.as_slice(), &[key])?;
        assert_eq!(
            problem_of(&offline),
            Some((8, None, &ProblemKind::Removed { through: 8 }))
        );
        assert_eq!(offline, verify(&db, &[key]).await?);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_failed_batch_answers_every_waiter_with_an_error_and_the_chain_goes_on() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let (log, key) = start(&db, 0).await?;
        record(&log, 3).await?;
        let head: String = sqlx::query_scalar("SELECT entry_hash FROM audit_entries WHERE seq = 3")
            .fetch_one(db.reader())
            .await?;
        // A damaged head: the writer refuses to extend it, so every waiter must hear so.
        tamper(
            &db,
            &["UPDATE audit_entries SET entry_hash = 'damaged' WHERE seq = 3"],
        )
        .await?;
        let tasks: Vec<_> = (4..=23)
            .map(|n| {
                let log = log.clone();
                tokio::spawn(async move { log.record(entry(n)).await })
            })
            .collect();
        for task in tasks {
            assert!(matches!(task.await?, Err(Error::NotRecorded(_))));
        }
        assert!(log.stats().failed_batches >= 1);
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_entries")
            .fetch_one(db.reader())
            .await?;
        assert_eq!(count, 3, "nothing of a failed batch is kept");

        let mut tx = db.begin().await?;
        sqlx::query("UPDATE audit_entries SET entry_hash = $1 WHERE seq = 3")
            .bind(&head)
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        assert_eq!(log.record(entry(4)).await?.seq, 4);
        assert!(verify(&db, &[key]).await?.is_intact());
        Ok(())
    })
    .await
}

async fn last_checkpoint(db: &Db) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT MAX(seq) FROM audit_checkpoints")
        .fetch_one(db.reader())
        .await
}

/// Polls, since the writer signs on its own schedule.
async fn wait_for_checkpoint(db: &Db, seq: i64) -> TestResult {
    for _ in 0..100 {
        if last_checkpoint(db).await? == Some(seq) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("no checkpoint at {seq} within 5 s").into())
}

#[tokio::test]
async fn a_quiet_log_signs_its_head_on_time_and_when_stopped() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let signer = CheckpointSigner::generate();
        let key = signer.verifying_key();
        let quick = AuditOptions {
            checkpoint_every: 0,
            checkpoint_interval: Duration::from_millis(100),
            ..AuditOptions::default()
        };
        let log = AuditLog::start(db.clone(), signer, quick).await?;
        record(&log, 3).await?;
        wait_for_checkpoint(&db, 3).await?;
        assert_eq!(verify(&db, &[key]).await?.last_signed_seq, 3);
        drop(log);

        // A log signing only every hour signs its head when the last handle is dropped.
        let (log, new_key) = start(&db, 0).await?;
        log.record(entry(4)).await?;
        assert_eq!(last_checkpoint(&db).await?, Some(3));
        drop(log);
        wait_for_checkpoint(&db, 4).await?;
        let report = verify(&db, &[key, new_key]).await?;
        assert!(report.is_intact(), "{report}");
        assert_eq!(report.last_signed_seq, 4);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn the_tracker_and_daily_counts_read_the_log() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let (log, _) = start(&db, 0).await?;
        record(&log, 12).await?;
        // 17:30 UTC on the 23rd is already the 24th in Vietnam.
        let mut late = entry(13);
        late.at = datetime!(2026-11-23 17:30 UTC);
        log.record(late).await?;

        let about = entries_about(&db, "000000000001", 2).await?;
        let ids: Vec<&str> = about.iter().map(|e| e.message_id.as_str()).collect();
        assert_eq!(ids, ["m13", "m9"]);
        let first = &about[1];
        assert_eq!(first.at, datetime!(2026-11-23 02:00:09 UTC));
        assert_eq!(first.latency, Duration::from_micros(1009));
        assert_eq!((first.status, first.issue.as_deref()), (200, None));
        let json = serde_json::to_value(first)?;
        assert_eq!(json["at"], "2026-11-23T02:00:09Z");
        assert_eq!(json["latency_micros"], 1009);
        assert!(entries_about(&db, "999999999999", 10).await?.is_empty());

        assert_eq!(
            daily_counts(&db, date!(2026 - 11 - 23)).await?,
            [
                ("VN/GOV/000.00.00.G22".to_owned(), 4),
                ("VN/GOV/000.00.00.H41".to_owned(), 8)
            ]
        );
        assert_eq!(
            daily_counts(&db, date!(2026 - 11 - 24)).await?,
            [("VN/GOV/000.00.00.H41".to_owned(), 1)]
        );
        assert!(daily_counts(&db, date!(2026 - 11 - 22)).await?.is_empty());
        Ok(())
    })
    .await
}

/// Several servers sharing one PostgreSQL database extend one chain. (SQLite is one process
/// by design: its single writer connection is the lock.)
#[tokio::test]
async fn two_writers_on_one_postgres_database_extend_one_chain() -> TestResult {
    for backend in TestBackend::all() {
        if !matches!(backend, TestBackend::Postgres { .. }) {
            continue;
        }
        let fresh = backend.fresh().await?;
        let first = fresh.migrated(TABLES).await?;
        let second = Db::connect(&fresh.target, &store::DbOptions::default()).await?;
        let signer = CheckpointSigner::generate();
        let key = signer.verifying_key();
        let a = AuditLog::start(first.clone(), signer, options(7)).await?;
        let (b, key_b) = start(&second, 7).await?;
        let tasks: Vec<_> = (1..=100)
            .map(|n| {
                let log = if n % 2 == 0 { a.clone() } else { b.clone() };
                tokio::spawn(async move { log.record(entry(n)).await })
            })
            .collect();
        let mut seqs = Vec::new();
        for task in tasks {
            seqs.push(task.await??.seq);
        }
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=100).collect::<Vec<i64>>());
        let report = verify(&first, &[key, key_b]).await?;
        assert!(report.is_intact(), "{report}");
        assert_eq!(report.checkpoints, 14);
        second.close().await;
        first.close().await;
    }
    Ok(())
}

/// Polls the anchor file, which is written just after the checkpoint's commit.
async fn wait_for_anchor(anchors: &std::path::Path, seq: i64) -> TestResult {
    let wanted = format!("{{\"seq\":{seq},");
    for _ in 0..100 {
        if std::fs::read_to_string(anchors)
            .is_ok_and(|text| text.lines().any(|l| l.starts_with(&wanted)))
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("no anchor at {seq} within 5 s").into())
}

/// A writer whose checkpoints are also anchored in `anchors`, outside the database.
async fn start_anchored(
    db: &Db,
    checkpoint_every: i64,
    anchors: &std::path::Path,
) -> Result<(AuditLog, VerifyingKey), Error> {
    let signer = CheckpointSigner::generate().anchored_to(anchors.to_path_buf());
    let key = signer.verifying_key();
    Ok((
        AuditLog::start(db.clone(), signer, options(checkpoint_every)).await?,
        key,
    ))
}

#[tokio::test]
async fn a_tail_cut_after_the_last_checkpoint_is_caught_by_the_anchor_file() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let dir = tempfile::tempdir()?;
        let anchors = dir.path().join("audit-anchors.ndjson");
        let (log, key) = start_anchored(&db, 10, &anchors).await?;
        record(&log, 25).await?;
        drop(log);
        wait_for_anchor(&anchors, 25).await?;
        let report = verify_anchored(&db, &[key], &anchors).await?;
        assert_eq!((report.is_intact(), report.last_anchored_seq, report.unanchored()), (true, Some(25), 0), "{report}");

        // Entries the database holds beyond the last anchor are reported, not called intact.
        let (unanchored_log, other_key) = start(&db, 0).await?;
        for n in 26..=27 {
            unanchored_log.record(entry(n)).await?;
        }
        let report = verify_anchored(&db, &[key, other_key], &anchors).await?;
        assert_eq!((report.head_seq, report.last_anchored_seq, report.unanchored()), (27, Some(25), 2));
        assert!(report.to_string().starts_with("intact through entry 25 (anchored outside the database); entries 26 to 27 are NOT anchored"), "{report}");
        drop(unanchored_log);
        wait_for_checkpoint(&db, 27).await?;

        // Cut entries 21..27 and the checkpoints that covered them: the database alone
        // still shows a chain signed through entry 20; the anchor at 25 does not.
        tamper(
            &db,
            &[
                "DELETE FROM audit_entries WHERE seq > 20",
                "DELETE FROM audit_checkpoints WHERE seq > 20",
            ],
        )
        .await?;
        assert!(verify(&db, &[key]).await?.is_intact(), "the database alone cannot tell");
        let report = verify_anchored(&db, &[key], &anchors).await?;
        assert_eq!(
            problem_of(&report),
            Some((21, None, &ProblemKind::Removed { through: 25 }))
        );
        Ok(())
    })
    .await
}

/// Recomputes every hash from entry `from` on, as someone with database access but without
/// the signing key would after changing that entry.
async fn rehash_from(db: &Db, from: i64) -> TestResult {
    let rows = sqlx::query("SELECT * FROM audit_entries WHERE seq >= $1 ORDER BY seq")
        .bind(from - 1)
        .fetch_all(db.reader())
        .await?;
    let mut prev: String = rows.first().ok_or("no entries")?.try_get("entry_hash")?;
    let mut tx = db.begin().await?;
    for row in rows.iter().skip(1) {
        let hash = documented_hash(&unhex(&prev)?, row)?;
        sqlx::query("UPDATE audit_entries SET prev_hash = $1, entry_hash = $2 WHERE seq = $3")
            .bind(&prev)
            .bind(&hash)
            .bind(row.try_get::<i64, _>("seq")?)
            .execute(tx.conn())
            .await?;
        prev = hash;
    }
    tx.commit().await?;
    Ok(())
}

#[tokio::test]
async fn a_rewrite_with_every_checkpoint_deleted_is_caught() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let dir = tempfile::tempdir()?;
        let anchors = dir.path().join("audit-anchors.ndjson");
        let (log, key) = start_anchored(&db, 10, &anchors).await?;
        record(&log, 25).await?;
        drop(log);
        wait_for_anchor(&anchors, 25).await?;
        tamper(
            &db,
            &[
                "UPDATE audit_entries SET client = 'VN/GOV/forged/x' WHERE seq = 7",
                "DELETE FROM audit_checkpoints",
            ],
        )
        .await?;
        rehash_from(&db, 7).await?;
        assert!(
            verify(&db, &[key]).await?.is_intact(),
            "the database alone cannot tell"
        );
        let report = verify_anchored(&db, &[key], &anchors).await?;
        assert_eq!(
            problem_of(&report),
            Some((10, Some("m10"), &ProblemKind::AnchorMismatch { after: 0 }))
        );
        assert_eq!(report.head_seq, 0);

        // Lines appended to the anchor file by someone without the key are named.
        let mut file = std::fs::OpenOptions::new().append(true).open(&anchors)?;
        std::io::Write::write_all(&mut file, b"{\"seq\":3}\n")?;
        let report = verify_anchored(&db, &[key], &anchors).await?;
        assert!(matches!(
            report.problem.map(|p| p.kind),
            Some(ProblemKind::BadAnchor { line: 4, .. })
        ));
        Ok(())
    })
    .await
}
