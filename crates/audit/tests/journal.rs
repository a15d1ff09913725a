//! Journal mode (ADR 0011), on SQLite and (when configured) PostgreSQL: entries are durable
//! in the journal before they are acknowledged, reach the database right after, survive a
//! database that refuses them for a while and a process that dies before indexing them, and
//! the chain has one journal writer only.

use std::io::{Seek, Write};
use std::path::Path;
use std::time::Duration;

use audit::{
    AuditLog, AuditOptions, CheckpointSigner, Error, NewEntry, VerifyingKey, body_hash,
    replay_journal, verify, verify_anchored,
};
use store::testing::{FreshDatabase, TestBackend, TestResult};
use store::{Backend, Db};
use time::macros::datetime;

fn entry(n: usize) -> NewEntry {
    NewEntry {
        message_id: format!("j{n}"),
        at: datetime!(2026-11-23 02:00 UTC) + time::Duration::seconds(n as i64),
        client: "VN/GOV/000.00.00.H41/portal".into(),
        service: "VN/GOV/000.00.00.B01/registry/citizens".into(),
        method: "GET".into(),
        path: format!("/citizens/{n:012}"),
        user_id: None,
        issue: Some(format!("case-{n}")),
        subject: Some(format!("{n:012}")),
        status: 200,
        latency: Duration::from_micros(900),
        request_hash: body_hash(b""),
        response_hash: body_hash(format!("{{\"n\":{n}}}").as_bytes()),
    }
}

fn journal_options(dir: &Path, checkpoint_every: i64) -> AuditOptions {
    AuditOptions {
        checkpoint_every,
        checkpoint_interval: Duration::from_secs(3600),
        journal: Some(dir.to_path_buf()),
        ..AuditOptions::default()
    }
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// What every test starts from: a migrated database of its own and an empty journal
/// directory. `fresh` keeps the database alive.
struct Ground {
    fresh: FreshDatabase,
    db: Db,
    journal: tempfile::TempDir,
}

async fn ground(backend: &TestBackend) -> Result<Ground, Failure> {
    let fresh = backend.fresh().await?;
    let db = fresh.migrated(&[&audit::MIGRATIONS]).await?;
    Ok(Ground {
        fresh,
        db,
        journal: tempfile::tempdir()?,
    })
}

/// A writer started with `options` and a key of its own, and the key its checkpoints
/// verify with.
async fn signed_writer(db: &Db, options: AuditOptions) -> Result<(AuditLog, VerifyingKey), Error> {
    let signer = CheckpointSigner::generate();
    let key = signer.verifying_key();
    Ok((AuditLog::start(db.clone(), signer, options).await?, key))
}

/// A journal writer with a key of its own and no checkpoints by count.
async fn journal_writer(db: &Db, dir: &Path) -> Result<AuditLog, Error> {
    AuditLog::start(
        db.clone(),
        CheckpointSigner::generate(),
        journal_options(dir, 0),
    )
    .await
}

/// Makes the database refuse new audit rows, as a failing database would.
async fn refuse_inserts(db: &Db) -> TestResult {
    let statements: &[&str] = match db.backend() {
        Backend::Sqlite => &[
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_entries BEGIN SELECT RAISE(ABORT, 'refused'); END",
        ],
        Backend::Postgres => &[
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$",
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_entries FOR EACH ROW EXECUTE FUNCTION refuse_audit()",
        ],
    };
    for statement in statements {
        sqlx::query(statement).execute(db.reader()).await?;
    }
    Ok(())
}

async fn accept_inserts(db: &Db) -> TestResult {
    let statement = match db.backend() {
        Backend::Sqlite => "DROP TRIGGER refuse_audit",
        Backend::Postgres => "DROP TRIGGER refuse_audit ON audit_entries",
    };
    sqlx::query(statement).execute(db.reader()).await?;
    Ok(())
}

async fn stored(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_entries")
        .fetch_one(db.reader())
        .await
}

#[tokio::test]
async fn journalled_entries_reach_the_database_as_one_signed_chain() -> TestResult {
    for backend in TestBackend::all() {
        let Ground {
            fresh: _fresh,
            db,
            journal,
        } = ground(&backend).await?;
        let (log, key) = signed_writer(&db, journal_options(journal.path(), 50)).await?;
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
        assert!(
            stats.batches < 200,
            "200 entries took {} syncs",
            stats.batches
        );

        log.settled().await;
        let report = verify(&db, &[key]).await?;
        assert!(report.is_intact(), "{report}");
        assert_eq!((report.entries, report.checkpoints), (200, 4));

        // Refused before it reaches the journal: nothing written, the chain goes on.
        let mut bad = entry(201);
        bad.issue = Some("\0".into());
        assert!(matches!(
            log.record(bad).await,
            Err(Error::Invalid { field: "issue", .. })
        ));
        assert_eq!(log.record(entry(201)).await?.seq, 201);
        db.close().await;
    }
    Ok(())
}

#[tokio::test]
async fn entries_wait_in_the_journal_while_the_database_refuses_them() -> TestResult {
    for backend in TestBackend::all() {
        let Ground {
            fresh: _fresh,
            db,
            journal,
        } = ground(&backend).await?;
        let (log, key) = signed_writer(&db, journal_options(journal.path(), 0)).await?;
        refuse_inserts(&db).await?;
        for n in 1..=5 {
            // Acknowledged: durable in the journal although the database refuses it.
            assert_eq!(log.record(entry(n)).await?.seq, n as i64);
        }
        // Nothing may arrive, and no event marks a refused copy: the indexer gets a while
        // to try (and be refused) before the database is checked.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(stored(&db).await?, 0);

        accept_inserts(&db).await?;
        log.settled().await;
        assert_eq!(stored(&db).await?, 5);
        assert!(verify(&db, &[key]).await?.is_intact());
        db.close().await;
    }
    Ok(())
}

/// Starts a journal writer in a runtime of its own, records `count` entries while the
/// database refuses them, and lets the runtime die with them unindexed: a crash, as far
/// as the database can tell.
fn crash_with_unindexed_entries(target: &str, journal: &Path, count: usize) -> TestResult {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let db = Db::connect(target, &store::DbOptions::default()).await?;
        let log = journal_writer(&db, journal).await?;
        refuse_inserts(&db).await?;
        for n in 1..=count {
            log.record(entry(n)).await?;
        }
        Ok::<_, Failure>(())
    })?;
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

#[tokio::test]
async fn a_replay_puts_what_a_dead_process_journalled_into_the_database() -> TestResult {
    for backend in TestBackend::all() {
        let Ground { fresh, db, journal } = ground(&backend).await?;
        let (target, dir) = (fresh.target.clone(), journal.path().to_path_buf());
        tokio::task::spawn_blocking(move || {
            crash_with_unindexed_entries(&target, &dir, 7).map_err(|e| e.to_string())
        })
        .await??;
        assert_eq!(stored(&db).await?, 0);
        accept_inserts(&db).await?;

        // A batch the crash cut short, never acknowledged, ends the last segment.
        let segment = std::fs::read_dir(journal.path())?
            .filter_map(Result::ok)
            .map(|item| item.path())
            .find(|path| path.extension().is_some_and(|e| e == "ndjson"))
            .ok_or("no journal segment")?;
        let torn = b"{\"seq\":8,\"message_id\":\"j8\",\"at\":\"2026";
        // It lands where the data ends and the segment's zero padding begins.
        let end = std::fs::read(&segment)?
            .iter()
            .position(|&byte| byte == 0)
            .ok_or("a segment is zero-filled ahead of its data")?;
        let mut file = std::fs::OpenOptions::new().write(true).open(&segment)?;
        file.seek(std::io::SeekFrom::Start(end as u64))?;
        file.write_all(torn)?;

        let signer = CheckpointSigner::generate();
        let key = signer.verifying_key();
        // The dead process's writer thread lets go of the journal lock as it exits.
        let mut replayed = replay_journal(&db, journal.path(), &signer, 1000).await;
        for _ in 0..100 {
            if !matches!(replayed, Err(Error::Busy(_))) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            replayed = replay_journal(&db, journal.path(), &signer, 1000).await;
        }
        let replayed = replayed?;
        assert_eq!(
            (replayed.entries, replayed.torn_bytes),
            (7, torn.len() as u64)
        );
        assert!(!segment.exists(), "a replayed segment is removed");
        let report = verify(&db, &[key]).await?;
        assert!(report.is_intact(), "{report}");
        // The replay signs what it copied, so the recovered tail is not left unsigned.
        assert_eq!((report.entries, report.last_signed_seq), (7, 7));

        // A new writer continues the chain after the replayed entries.
        let log = journal_writer(&db, journal.path()).await?;
        assert_eq!(log.record(entry(8)).await?.seq, 8);
        db.close().await;
    }
    Ok(())
}

#[tokio::test]
async fn a_journal_writer_is_the_chains_only_writer() -> TestResult {
    for backend in TestBackend::all() {
        let Ground {
            fresh: _fresh,
            db,
            journal,
        } = ground(&backend).await?;
        let first = journal_writer(&db, journal.path()).await?;
        let same_dir = journal_writer(&db, journal.path()).await;
        assert!(matches!(same_dir, Err(Error::Busy(_))), "{same_dir:?}");
        let replay = replay_journal(&db, journal.path(), &CheckpointSigner::generate(), 0).await;
        assert!(matches!(replay, Err(Error::Busy(_))), "{replay:?}");

        if backend.backend() == Backend::Postgres {
            // Another server, with its own journal or none, cannot join the chain.
            let other_dir = tempfile::tempdir()?;
            let other = journal_writer(&db, other_dir.path()).await;
            assert!(matches!(other, Err(Error::Busy(_))), "{other:?}");
            let shared = AuditLog::start(
                db.clone(),
                CheckpointSigner::generate(),
                AuditOptions::default(),
            )
            .await;
            assert!(matches!(shared, Err(Error::Busy(_))), "{shared:?}");
        }
        first.record(entry(1)).await?;
        db.close().await;
    }
    Ok(())
}

#[tokio::test]
async fn full_segments_give_way_to_zero_filled_spares_and_are_removed_once_indexed() -> TestResult {
    for backend in TestBackend::all() {
        let Ground {
            fresh: _fresh,
            db,
            journal,
        } = ground(&backend).await?;
        // About 27 entries to a segment, so 300 entries rotate about ten times.
        let options = AuditOptions {
            journal_segment_bytes: 16 * 1024,
            ..journal_options(journal.path(), 0)
        };
        let (log, key) = signed_writer(&db, options).await?;
        for wave in 0..10 {
            let tasks: Vec<_> = (1..=30)
                .map(|n| {
                    let log = log.clone();
                    tokio::spawn(async move { log.record(entry(wave * 30 + n)).await })
                })
                .collect();
            for task in tasks {
                task.await??;
            }
        }
        log.settled().await;
        let report = verify(&db, &[key]).await?;
        assert!(report.is_intact(), "{report}");
        assert_eq!(report.entries, 300);

        // The indexer deletes each closed segment right after copying it, and the next spare
        // is filled on a thread of its own.
        let spare = journal.path().join("next-segment.zeroed");
        let mut segments = Vec::new();
        for _ in 0..100 {
            segments = std::fs::read_dir(journal.path())?
                .filter_map(Result::ok)
                .filter_map(|item| item.file_name().into_string().ok())
                .filter(|name| name.ends_with(".ndjson"))
                .collect();
            let spare_ready = std::fs::metadata(&spare).is_ok_and(|m| m.len() == 16 * 1024);
            if segments.len() == 1 && spare_ready {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            segments.len(),
            1,
            "closed segments left behind: {segments:?}"
        );
        let first_seq: i64 = segments
            .first()
            .and_then(|name| name.strip_prefix("segment-"))
            .and_then(|name| name.strip_suffix(".ndjson"))
            .and_then(|digits| digits.parse().ok())
            .ok_or("a segment is named after its first entry")?;
        assert!(first_seq > 200, "only rotated up to entry {first_seq}");
        assert_eq!(std::fs::metadata(&spare)?.len(), 16 * 1024);
        assert!(std::fs::read(&spare)?.iter().all(|&byte| byte == 0));
        db.close().await;
    }
    Ok(())
}

#[tokio::test]
async fn the_indexer_anchors_its_checkpoints_outside_the_database() -> TestResult {
    for backend in TestBackend::all() {
        let Ground {
            fresh: _fresh,
            db,
            journal,
        } = ground(&backend).await?;
        let anchors = journal.path().join("anchors").join("audit-anchors.ndjson");
        let signer = CheckpointSigner::generate().anchored_to(anchors.clone());
        let key = signer.verifying_key();
        let log = AuditLog::start(db.clone(), signer, journal_options(journal.path(), 10)).await?;
        for n in 1..=25 {
            log.record(entry(n)).await?;
        }
        drop(log);
        // The head is signed when the writer stops, and anchored right after its commit.
        let mut report = verify_anchored(&db, &[key], &anchors).await?;
        for _ in 0..100 {
            if report.last_anchored_seq == Some(25) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            report = verify_anchored(&db, &[key], &anchors).await?;
        }
        assert!(report.is_intact(), "{report}");
        assert_eq!(
            (
                report.head_seq,
                report.last_anchored_seq,
                report.unanchored()
            ),
            (25, Some(25), 0),
            "{report}"
        );
        let lines = std::fs::read_to_string(&anchors)?;
        let seqs: Vec<&str> = lines.lines().filter_map(|l| l.split(',').next()).collect();
        assert_eq!(seqs, ["{\"seq\":10", "{\"seq\":20", "{\"seq\":25"]);
    }
    Ok(())
}
