//! `lienthong exchange apply FILE`: an operator registers members, subsystems, services,
//! rights and limits from one JSON document (for set-up scripts, demos and benchmarks).
//! Entries already registered are kept as they are, so the file can be applied again.
//! `issue-cert`, `revoke-cert` and `ca-cert`: the platform CA's client certificates for
//! mutual TLS at the gateway (ADR 0009).

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use exchange::{ExchangeError, Limit, NewRight, NewService};
use serde::Deserialize;

#[derive(Debug, Subcommand)]
pub enum ExchangeCommand {
    /// Register what a JSON file lists: {"members": [{"id", "name"}], "subsystems": [...],
    /// "services": [{"id", "base_url", "timeout_ms", "endpoints": [{"method", "path"}]}],
    /// "rights": [{"client", "service", "method", "path", "fields"}],
    /// "limits": [{"client", "per_second", "per_day"}]}
    Apply { file: PathBuf },
    /// Issue a client certificate to a subsystem, from the agency's CSR (its key stays with
    /// it) or with a new key written to --key-out (demos). Issuing again rotates: the earlier
    /// certificate stays valid until it expires or is revoked.
    IssueCert {
        /// INSTANCE/CLASS/MEMBER/SUBSYSTEM, registered
        #[arg(long)]
        subsystem: String,
        /// PKCS #10 request, PEM (openssl req -new -key agency.key -subj /CN=civil -out civil.csr)
        #[arg(long, conflicts_with = "key_out", required_unless_present = "key_out")]
        csr: Option<PathBuf>,
        /// Generate the key here and write it (PKCS #8 PEM, mode 0600) to this file
        #[arg(long)]
        key_out: Option<PathBuf>,
        /// Where to write the certificate, PEM
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = exchange::ca::DEFAULT_DAYS)]
        days: u32,
    },
    /// Revoke a client certificate by its serial number (hex, as issue-cert prints it).
    RevokeCert { serial: String },
    /// Print the platform CA's certificate (PEM): clients trust it for the TLS listener, and
    /// it is the root client certificates chain to.
    CaCert,
    /// List issued client certificates.
    ListCerts,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Unit {
    id: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientLimit {
    client: String,
    per_second: u32,
    per_day: u64,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct Document {
    members: Vec<Unit>,
    subsystems: Vec<Unit>,
    services: Vec<NewService>,
    rights: Vec<NewRight>,
    limits: Vec<ClientLimit>,
}

/// Counts what was new; "already registered" is not a failure here.
fn added<T>(outcome: Result<T, ExchangeError>, count: &mut usize) -> anyhow::Result<()> {
    match outcome {
        Ok(_) => {
            *count += 1;
            Ok(())
        }
        Err(ExchangeError::Exists { .. }) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

pub async fn run(command: ExchangeCommand, state: &crate::AppState) -> anyhow::Result<()> {
    let file = match command {
        ExchangeCommand::Apply { file } => file,
        ExchangeCommand::IssueCert {
            subsystem,
            csr,
            key_out,
            out,
            days,
        } => return issue_cert(state, &subsystem, csr, key_out, &out, days).await,
        ExchangeCommand::RevokeCert { serial } => {
            state
                .exchange
                .catalog
                .revoke_certificate(&serial, "operator:cli")
                .await?;
            println!(
                "revoked {serial} (a running server on the same database refuses it within 10 s)"
            );
            return Ok(());
        }
        ExchangeCommand::CaCert => {
            print!("{}", state.exchange.ca()?.certificate_pem());
            return Ok(());
        }
        ExchangeCommand::ListCerts => {
            for c in state.exchange.catalog.certificates().await? {
                let status = match &c.revoked_at {
                    Some(at) => format!("revoked {}", store::timestamp::format(*at)),
                    None => format!("until {}", store::timestamp::format(c.not_after)),
                };
                println!(
                    "{}  {}  {status}  sha256 {}",
                    c.serial, c.subsystem, c.fingerprint
                );
            }
            return Ok(());
        }
    };
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let document: Document = serde_json::from_str(&text)
        .with_context(|| format!("{} is not an exchange set-up document", file.display()))?;
    let catalog = &state.exchange.catalog;
    let mut new = 0;
    for member in document.members {
        added(catalog.add_member(&member.id, &member.name).await, &mut new)?;
    }
    for subsystem in document.subsystems {
        added(
            catalog.add_subsystem(&subsystem.id, &subsystem.name).await,
            &mut new,
        )?;
    }
    for service in document.services {
        added(catalog.add_service(service).await, &mut new)?;
    }
    for right in document.rights {
        let snapshot = catalog.snapshot().await;
        let same = match (
            exchange::ClientId::parse(&right.client),
            exchange::ServiceId::parse(&right.service),
        ) {
            (Ok(client), Ok(service)) => snapshot.rights_of(&client, &service).iter().any(|r| {
                r.method == right.method && r.path == right.path && r.fields == right.fields
            }),
            _ => false,
        };
        if !same {
            added(catalog.grant(right, "operator:cli").await, &mut new)?;
        }
    }
    for limit in document.limits {
        catalog
            .set_limit(
                &limit.client,
                Limit {
                    per_second: limit.per_second,
                    per_day: limit.per_day,
                },
            )
            .await?;
        new += 1;
    }
    println!(
        "{new} entries registered or updated from {}",
        file.display()
    );
    Ok(())
}

async fn issue_cert(
    state: &crate::AppState,
    subsystem: &str,
    csr: Option<PathBuf>,
    key_out: Option<PathBuf>,
    out: &std::path::Path,
    days: u32,
) -> anyhow::Result<()> {
    if let Some(path) = &key_out
        && path.exists()
    {
        anyhow::bail!(
            "--key-out {} already exists; not overwriting a key",
            path.display()
        );
    }
    let request = match &csr {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading --csr {}", path.display()))?,
        ),
        None => None,
    };
    let key = match &request {
        Some(pem) => exchange::SubjectKey::Csr(pem),
        None => exchange::SubjectKey::Generate,
    };
    let issued = state
        .exchange
        .issue_certificate(subsystem, key, days, "operator:cli")
        .await?;
    if let (Some(path), Some(pem)) = (&key_out, &issued.private_key_pem) {
        write_private(path, pem)
            .with_context(|| format!("writing --key-out {}", path.display()))?;
    }
    std::fs::write(out, &issued.certificate_pem)
        .with_context(|| format!("writing --out {}", out.display()))?;
    println!(
        "issued serial {} to {subsystem}, valid until {}\nsha256 {}\ncertificate in {}",
        issued.serial,
        store::timestamp::format(issued.not_after),
        issued.fingerprint,
        out.display()
    );
    Ok(())
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}
