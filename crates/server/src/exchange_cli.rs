//! `lienthong exchange apply FILE`: an operator registers members, subsystems, services,
//! rights and limits from one JSON document (for set-up scripts, demos and benchmarks).
//! Entries already registered are kept as they are, so the file can be applied again.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use exchange::{CatalogError, Limit, NewRight, NewService};
use serde::Deserialize;

#[derive(Debug, Subcommand)]
pub enum ExchangeCommand {
    /// Register what a JSON file lists: {"members": [{"id", "name"}], "subsystems": [...],
    /// "services": [{"id", "base_url", "timeout_ms", "endpoints": [{"method", "path"}]}],
    /// "rights": [{"client", "service", "method", "path", "fields"}],
    /// "limits": [{"client", "per_second", "per_day"}]}
    Apply { file: PathBuf },
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
fn added<T>(outcome: Result<T, CatalogError>, count: &mut usize) -> anyhow::Result<()> {
    match outcome {
        Ok(_) => {
            *count += 1;
            Ok(())
        }
        Err(CatalogError::Exists(_)) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

pub async fn run(command: ExchangeCommand, state: &crate::AppState) -> anyhow::Result<()> {
    let ExchangeCommand::Apply { file } = command;
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
            exchange::SubsystemId::parse(&right.client),
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
