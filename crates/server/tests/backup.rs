//! `lienthong backup`: an online copy of the embedded database, taken while registry records
//! and audit entries are being written, opens as a database of its own with the data and an
//! intact audit chain.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use audit::{AuditLog, AuditOptions, CheckpointSigner, NewEntry, body_hash};
use kernel::Reference;
use registry::{Change, CitizenRecord, Lists, Registry};
use store::testing::{TestBackend, TestResult};
use store::{Db, DbOptions};
use time::macros::{date, datetime};

const BINARY: &str = env!("CARGO_BIN_EXE_lienthong");
const TODAY: time::Date = date!(2026 - 11 - 23);
const IMPORT: Change<'static> = Change {
    actor: "official:test",
    basis: "backup test",
};

fn entry(n: usize, record: &CitizenRecord) -> NewEntry {
    NewEntry {
        message_id: format!("m{n}"),
        at: datetime!(2026-11-23 02:00 UTC) + time::Duration::seconds(n as i64),
        client: "VN/GOV/000.00.00.H41/portal".into(),
        service: "VN/GOV/000.00.00.B01/registry/citizens".into(),
        method: "GET".into(),
        path: format!("/citizens/{}", record.personal_id),
        user_id: None,
        issue: None,
        subject: Some(record.personal_id.to_string()),
        status: 200,
        latency: Duration::from_micros(1000),
        request_hash: body_hash(b""),
        response_hash: body_hash(record.full_name.as_bytes()),
    }
}

/// Registers each record and records one audit entry about it.
async fn write(
    registry: &Registry,
    audit: &AuditLog,
    records: &[CitizenRecord],
    first: usize,
) -> TestResult {
    for (n, record) in records.iter().enumerate() {
        registry.register(record, IMPORT, TODAY).await?;
        audit.record(entry(first + n, record)).await?;
    }
    Ok(())
}

async fn personal_ids(db: &Db) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT personal_id FROM registry_citizens ORDER BY personal_id")
        .fetch_all(db.reader())
        .await
}

#[tokio::test]
async fn a_backup_taken_during_writes_restores_records_and_an_intact_audit_chain() -> TestResult {
    let database = TestBackend::Sqlite.fresh().await?;
    let db = database.migrated(server::MIGRATIONS).await?;
    let reference = Reference::load()?;
    let lists = Arc::new(Lists::load(&reference)?);
    let registry = Registry::new(db.clone(), lists.clone());
    let signer = CheckpointSigner::generate();
    let key = signer.verifying_key();
    let options = AuditOptions {
        checkpoint_every: 25,
        ..AuditOptions::default()
    };
    let audit = AuditLog::start(db.clone(), signer, options).await?;
    let tables = registry::generate::Tables::load()?;
    let records: Vec<CitizenRecord> =
        registry::generate::Generator::new(&tables, &reference, 600, 2026).collect();
    let (before, during) = records.split_at(200);
    write(&registry, &audit, before, 0).await?;

    let scratch = tempfile::tempdir()?;
    let out = scratch.path().join("backup.db");
    let writing = {
        let (registry, audit, during) = (registry.clone(), audit.clone(), during.to_vec());
        tokio::spawn(async move { write(&registry, &audit, &during, 200).await })
    };
    db.backup_to(&out, false).await?;
    let still_writing = !writing.is_finished();
    writing.await.map_err(|e| e.to_string())??;
    assert!(
        still_writing,
        "the writes ended before the backup did; the test shows nothing"
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out)?.permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "mode {:o}", mode & 0o777);
    }
    let again = db.backup_to(&out, false).await;
    assert!(matches!(again, Err(store::backup::BackupError::Exists(_))));

    let restored = Db::connect(&out.display().to_string(), &DbOptions::default()).await?;
    assert!(restored.is_ready(server::MIGRATIONS).await?);
    let in_backup = personal_ids(&restored).await?;
    let mut written: Vec<String> = records.iter().map(|r| r.personal_id.to_string()).collect();
    written.sort();
    // Everything written before the backup began, and a prefix of what came during it: one
    // snapshot, not a mix.
    assert!(
        in_backup.len() >= before.len(),
        "{} records",
        in_backup.len()
    );
    let mut expected: Vec<String> = records
        .iter()
        .take(in_backup.len())
        .map(|r| r.personal_id.to_string())
        .collect();
    expected.sort();
    assert_eq!(in_backup, expected);
    let report = audit::verify(&restored, &[key]).await?;
    assert!(report.is_intact(), "{report}");
    assert!(report.entries >= before.len() as u64, "{report}");
    restored.close().await;

    // The original goes on, with everything.
    assert_eq!(personal_ids(&db).await?, written);
    db.close().await;
    Ok(())
}

#[tokio::test]
async fn the_command_copies_refuses_to_overwrite_and_sends_postgres_to_pg_dump() -> TestResult {
    let database = TestBackend::Sqlite.fresh().await?;
    let db = database.migrated(server::MIGRATIONS).await?;
    db.close().await;
    let scratch = tempfile::tempdir()?;
    let out = scratch.path().join("copy.db");
    let backup = |target: &str, extra: &[&str]| {
        Command::new(BINARY)
            .args(["backup", "--db", target, "--out"])
            .arg(&out)
            .args(extra)
            .env("RUST_LOG", "warn")
            .output()
    };

    let first = backup(&database.target, &[])?;
    assert!(first.status.success(), "{first:?}");
    assert!(String::from_utf8_lossy(&first.stdout).contains("backed up"));
    let copy = Db::connect(&out.display().to_string(), &DbOptions::default()).await?;
    assert!(copy.is_ready(server::MIGRATIONS).await?);
    copy.close().await;

    let refused = backup(&database.target, &[])?;
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("pass --overwrite to replace it"),
        "{refused:?}"
    );
    let replaced = backup(&database.target, &["--overwrite"])?;
    assert!(replaced.status.success(), "{replaced:?}");

    let postgres = backup("postgres://nobody@127.0.0.1:1/none", &[])?;
    assert!(!postgres.status.success());
    assert!(
        String::from_utf8_lossy(&postgres.stderr).contains("pg_dump"),
        "{postgres:?}"
    );
    let missing = scratch.path().join("missing.db");
    let nothing = backup(&missing.display().to_string(), &["--overwrite"])?;
    assert!(!nothing.status.success());
    assert!(!missing.exists(), "a missing database is not created");
    Ok(())
}
