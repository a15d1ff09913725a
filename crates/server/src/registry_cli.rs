//! `lienthong registry …`: make a synthetic population, import and export citizen records.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Subcommand;
use kernel::Reference;
use registry::Registry;
use registry::generate::{Tables, write_population};
use registry::import::{Format, ImportOptions, ImportReport, export, import};

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Write a synthetic population (deterministic from the seed) as CSV or NDJSON.
    Generate {
        #[arg(long)]
        citizens: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output file; `.csv`, `.ndjson` or `.jsonl`.
        #[arg(long)]
        out: PathBuf,
    },
    /// Import citizen records from a CSV or NDJSON file, batch by batch.
    Import {
        file: PathBuf,
        /// Rows per transaction.
        #[arg(long, default_value_t = 5_000)]
        batch_size: usize,
        /// One transaction for the whole file: any rejected row undoes the import.
        #[arg(long)]
        atomic: bool,
        /// Legal basis recorded with every imported record.
        #[arg(long, default_value = "Nhập dữ liệu hàng loạt")]
        basis: String,
        /// Write the full report, every rejected row with its reasons, as JSON here.
        #[arg(long)]
        report: Option<PathBuf>,
    },
    /// Export every current record, in personal-ID order.
    Export {
        #[arg(long)]
        out: PathBuf,
    },
}

fn format_of(path: &Path) -> anyhow::Result<Format> {
    Format::from_path(path).with_context(|| {
        format!(
            "{}: the file name must end in .csv, .ndjson or .jsonl",
            path.display()
        )
    })
}

pub async fn run(command: RegistryCommand, config: &Config) -> anyhow::Result<()> {
    let reference = Reference::load().context("loading reference data")?;
    match command {
        RegistryCommand::Generate {
            citizens,
            seed,
            out,
        } => {
            let format = format_of(&out)?;
            let tables = Tables::load()?;
            let started = Instant::now();
            let file = store::keyfile::create_owner_only(&out)
                .with_context(|| format!("creating {}", out.display()))?;
            let written = write_population(&tables, &reference, citizens, seed, file, format)?;
            println!(
                "wrote {written} citizens to {} in {:.1} s (seed {seed})",
                out.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        RegistryCommand::Import {
            file,
            batch_size,
            atomic,
            basis,
            report,
        } => {
            let registry = open(config).await?;
            let outcome = import_file(&registry, &file, batch_size, atomic, &basis).await?;
            if let Some(path) = report {
                std::fs::write(&path, serde_json::to_vec_pretty(&outcome)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            registry.db().close().await;
            if outcome.stopped.is_some() || outcome.rolled_back {
                bail!("import incomplete: see the report above");
            }
            Ok(())
        }
        RegistryCommand::Export { out } => {
            let format = format_of(&out)?;
            let registry = open(config).await?;
            let file = store::keyfile::create_owner_only(&out)
                .with_context(|| format!("creating {}", out.display()))?;
            let written = export(&registry, file, format).await?;
            registry.db().close().await;
            println!("exported {written} citizens to {}", out.display());
            Ok(())
        }
    }
}

async fn open(config: &Config) -> anyhow::Result<Registry> {
    Ok(crate::build_tool_state(config).await?.registry)
}

/// Imports a file and prints a summary with the first rejected rows.
pub async fn import_file(
    registry: &Registry,
    file: &Path,
    batch_size: usize,
    atomic: bool,
    basis: &str,
) -> anyhow::Result<ImportReport> {
    let format = format_of(file)?;
    let reader = File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let options = ImportOptions {
        batch_size,
        atomic,
        // The file's name, never its path: versions are shown to officials and citizens.
        actor: format!(
            "import:{}",
            file.file_name()
                .map_or_else(String::new, |name| name.to_string_lossy().into_owned())
        ),
        basis: basis.to_owned(),
    };
    let started = Instant::now();
    let report = import(
        registry,
        std::io::BufReader::new(reader),
        format,
        &options,
        web::reference::today_in_vietnam(),
    )
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}: {} rows read, {} imported in {} batches, {} rejected, {:.1} s ({:.0} rows/s)",
        file.display(),
        report.rows,
        report.imported,
        report.batches_committed,
        report.rejected.len(),
        seconds,
        report.rows as f64 / seconds.max(1e-9)
    );
    for rejection in report.rejected.iter().take(20) {
        let reasons: Vec<String> = rejection.reasons.iter().map(ToString::to_string).collect();
        println!("  line {}: {}", rejection.line, reasons.join("; "));
    }
    if report.rejected.len() > 20 {
        println!(
            "  … {} more (use --report FILE for all)",
            report.rejected.len() - 20
        );
    }
    if let Some(stop) = &report.stopped {
        println!("stopped: {stop}; nothing after the last committed batch was written");
    }
    if report.rolled_back {
        println!("atomic import rolled back: nothing was written");
    }
    Ok(report)
}
