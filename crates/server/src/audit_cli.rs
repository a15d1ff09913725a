//! `lienthong audit …`: check the exchange's audit chain, and hand it to outside auditors.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the whole chain, every signed checkpoint, and the checkpoints anchored outside
    /// the database (ADR 0019); name the first entry that was altered, removed or reordered,
    /// and the entries after the last anchor (a running server anchors its tail within
    /// seconds). Exits with status 1 when the log is not intact.
    Verify {
        /// Also accept checkpoints signed by these earlier public keys (PEM files).
        #[arg(long = "old-key")]
        old_keys: Vec<PathBuf>,
    },
    /// Write the log as NDJSON with the public key, for an auditor to check offline.
    Export {
        #[arg(long)]
        out: PathBuf,
    },
    /// Check an export file offline against a public key (PEM), as an auditor would.
    VerifyExport {
        file: PathBuf,
        #[arg(long)]
        key: PathBuf,
    },
    /// Print the public key that checks this node's checkpoints (PEM).
    PublicKey,
}

fn read_key(path: &PathBuf) -> anyhow::Result<audit::VerifyingKey> {
    let pem =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    audit::parse_public_key(&pem).with_context(|| format!("{} is not a public key", path.display()))
}

fn report(report: &audit::VerifyReport) -> anyhow::Result<()> {
    println!("{report}");
    if !report.is_intact() {
        bail!("the audit log is NOT intact");
    }
    if report.unanchored() > 0 {
        // Not a failure: a running server always has a short tail not yet anchored. Entries
        // that stay unanchored after a server has stopped or checkpointed were not its own.
        eprintln!(
            "warning: {} audit entries are not anchored outside the database yet; check again after the next checkpoint",
            report.unanchored()
        );
    }
    Ok(())
}

pub async fn run(command: AuditCommand, config: &Config) -> anyhow::Result<()> {
    if let AuditCommand::VerifyExport { file, key } = &command {
        let input = std::io::BufReader::new(
            std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?,
        );
        return report(&audit::verify_export(input, &[read_key(key)?])?);
    }
    let signer = audit::CheckpointSigner::load_or_create(&config.audit_key_path())
        .context("loading the audit signing key")?
        .anchored_to(config.audit_anchor_path());
    if let AuditCommand::PublicKey = command {
        print!("{}", audit::public_key_pem(&signer.verifying_key()));
        return Ok(());
    }
    let mut keys = vec![signer.verifying_key()];
    let target = config.database();
    let db = store::Db::connect(target.expose(), &config.db_options())
        .await
        .with_context(|| format!("opening database {target}"))?;
    // Entries a stopped server journalled but did not index belong in what is checked.
    match audit::replay_journal(
        &db,
        &config.audit_journal_dir(),
        &signer,
        audit::AuditOptions::default().checkpoint_every,
    )
    .await
    {
        Ok(replayed) if replayed.entries > 0 => {
            eprintln!(
                "{} entries replayed from the audit journal",
                replayed.entries
            );
        }
        Ok(_) => {}
        // A running server indexes its journal itself, within milliseconds.
        Err(audit::Error::Busy(_)) => {}
        Err(error) => {
            db.close().await;
            return Err(error).context("replaying the audit journal");
        }
    }
    let outcome = match command {
        AuditCommand::Verify { old_keys } => {
            for path in &old_keys {
                keys.push(read_key(path)?);
            }
            report(&audit::verify_anchored(&db, &keys, &config.audit_anchor_path()).await?)
        }
        AuditCommand::Export { out } => {
            // The export names who looked up which citizen: owner-only, like the database.
            let file = store::keyfile::create_owner_only(&out)
                .map(tokio::fs::File::from_std)
                .with_context(|| format!("creating {}", out.display()))?;
            let summary = audit::export(&db, &keys, tokio::io::BufWriter::new(file)).await?;
            println!("{summary:?} written to {}", out.display());
            Ok(())
        }
        AuditCommand::VerifyExport { .. } | AuditCommand::PublicKey => Ok(()),
    };
    db.close().await;
    outcome
}
