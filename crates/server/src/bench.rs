//! `lienthong bench …`: throughput measured against a baseline in the same run, reported as
//! a ratio, so figures from different machines can be compared.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Subcommand;
use kernel::Reference;
use registry::generate::{Tables, write_population};
use registry::import::Format;

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Registry import against `sqlite3 .import` of the same CSV into a plain table.
    Import {
        #[arg(long, default_value_t = 100_000)]
        citizens: usize,
    },
    /// Password sign-in (database, Argon2id, session) against bare Argon2id verification.
    Login {
        #[arg(long, default_value_t = 200)]
        attempts: usize,
    },
}

pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("creating a scratch directory")?;
    match command {
        BenchCommand::Import { citizens } => import(dir.path(), citizens).await,
        BenchCommand::Login { attempts } => login(dir.path(), attempts).await,
    }
}

fn scratch_config(dir: &Path) -> Config {
    Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    }
}

async fn import(dir: &Path, citizens: usize) -> anyhow::Result<()> {
    let reference = Reference::load()?;
    let csv = dir.join("population.csv");
    write_population(
        &Tables::load()?,
        &reference,
        citizens,
        1,
        std::fs::File::create(&csv)?,
        Format::Csv,
    )?;
    println!(
        "{citizens} synthetic citizens, {} MB of CSV",
        std::fs::metadata(&csv)?.len() / 1_000_000
    );

    // Baseline: the sqlite3 shell loading the same file into a table with the same columns
    // and the same durability settings, with no validation and no history.
    let header = std::fs::read_to_string(&csv)?
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    let columns: Vec<String> = header.split(',').map(|c| format!("{c} TEXT")).collect();
    let baseline_db = dir.join("baseline.db");
    let schema = format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE citizens ({}, PRIMARY KEY (personal_id)) WITHOUT ROWID;",
        columns.join(", ")
    );
    let started = Instant::now();
    let status = Command::new("sqlite3")
        .arg(&baseline_db)
        .args([
            "-cmd",
            &schema,
            "-cmd",
            ".mode csv",
            &format!(".import --skip 1 {} citizens", csv.display()),
        ])
        .stdout(std::process::Stdio::null())
        .status();
    let baseline = started.elapsed().as_secs_f64();
    let baseline = match status {
        Ok(status) if status.success() => Some(baseline),
        Ok(status) => bail!("sqlite3 failed: {status}"),
        Err(_) => {
            println!("sqlite3 is not installed: no baseline (apt-get install sqlite3)");
            None
        }
    };

    let state = crate::build_state(&scratch_config(dir)).await?;
    let started = Instant::now();
    let report =
        crate::registry_cli::import_file(&state.registry, &csv, 5_000, false, "benchmark").await?;
    let ours = started.elapsed().as_secs_f64();
    state.db.close().await;
    if report.imported != citizens as u64 {
        bail!("imported {} of {citizens}", report.imported);
    }
    let rate = |seconds: f64| citizens as f64 / seconds;
    println!(
        "lienthong import (validated, versioned, indexed): {ours:.2} s, {:.0} rows/s",
        rate(ours)
    );
    if let Some(baseline) = baseline {
        println!(
            "sqlite3 .import (no validation, one table):       {baseline:.2} s, {:.0} rows/s",
            rate(baseline)
        );
        println!(
            "ratio lienthong / sqlite3: {:.2} (goal: at least 1.00)",
            baseline / ours
        );
    }
    Ok(())
}

async fn login(dir: &Path, attempts: usize) -> anyhow::Result<()> {
    let reference = Reference::load()?;
    let state = crate::build_state(&scratch_config(dir)).await?;
    let person = registry::generate::Generator::new(&Tables::load()?, &reference, 50, 1)
        .find(|r| r.birth_date.year() < 2000)
        .context("no adult in the sample")?;
    let today = web::reference::today_in_vietnam();
    state
        .registry
        .register(
            &person,
            registry::Change {
                actor: "bench",
                basis: "benchmark",
            },
            today,
        )
        .await?;
    let password = "mật khẩu đo hiệu năng";
    state
        .identity
        .register(identity::Registration {
            personal_id: person.personal_id,
            full_name: person.full_name.clone(),
            birth_date: person.birth_date,
            phone: Some("0912345678".into()),
            email: None,
            password: password.into(),
        })
        .await?;
    let hash = identity::password::hash(password.into())
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());

    // Warm up the blocking pool and the allocator so neither measurement pays for it.
    for _ in 0..parallel {
        identity::password::verify(password.into(), Some(hash.clone())).await;
    }
    // Baseline: bare Argon2id verification, same parameters, as many at once as cores.
    let started = Instant::now();
    let hash = Arc::new(hash);
    let mut tasks = Vec::new();
    for _ in 0..parallel {
        let hash = hash.clone();
        let share = attempts / parallel;
        tasks.push(tokio::spawn(async move {
            for _ in 0..share {
                if !identity::password::verify(password.into(), Some(hash.as_ref().clone())).await {
                    return false;
                }
            }
            true
        }));
    }
    for task in tasks {
        if !task.await? {
            bail!("baseline verification failed");
        }
    }
    let raw = (attempts / parallel * parallel) as f64 / started.elapsed().as_secs_f64();

    let started = Instant::now();
    let mut tasks = Vec::new();
    let id = person.personal_id.to_string();
    for _ in 0..parallel {
        let identity = state.identity.clone();
        let id = id.clone();
        let share = attempts / parallel;
        tasks.push(tokio::spawn(async move {
            for _ in 0..share {
                identity.login(&id, password, "bench").await?;
            }
            Ok::<_, identity::IdentityError>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let logins = (attempts / parallel * parallel) as f64 / started.elapsed().as_secs_f64();
    state.db.close().await;
    println!(
        "bare Argon2id verify (m=19 MiB, t=2, p=1), {parallel} at a time: {raw:.1} per second"
    );
    println!(
        "password sign-in with session, {parallel} at a time:               {logins:.1} per second"
    );
    println!(
        "ratio sign-in / verify: {:.2} (goal: at least 0.90)",
        logins / raw
    );
    Ok(())
}
