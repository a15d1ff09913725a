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
    /// client_credentials token issuance on one core against the bare signature work it
    /// needs (verify the client's ES256 assertion, sign one ES256 token).
    Tokens {
        #[arg(long, default_value_t = 20_000)]
        count: usize,
    },
    /// The password strength check (common-password list, the person's own facts) against
    /// the Argon2id hash every registration and password change pays right after it.
    Strength {
        #[arg(long, default_value_t = 20_000)]
        count: u32,
    },
    /// A bare reverse proxy on the gateway's HTTP stack (axum's server, the pooled provider
    /// client) with none of its checks and no audit: bench/exchange.sh measures it beside
    /// nginx and the gateway. Runs until stopped.
    Proxy {
        #[arg(long)]
        listen: std::net::SocketAddr,
        /// Where every request goes, e.g. http://127.0.0.1:18181
        #[arg(long)]
        upstream: String,
    },
}

pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("creating a scratch directory")?;
    match command {
        BenchCommand::Import { citizens } => import(dir.path(), citizens).await,
        BenchCommand::Login { attempts } => login(dir.path(), attempts).await,
        BenchCommand::Tokens { count } => tokens(dir.path(), count).await,
        BenchCommand::Strength { count } => strength(count).await,
        BenchCommand::Proxy { listen, upstream } => proxy(listen, &upstream).await,
    }
}

async fn strength(count: u32) -> anyhow::Result<()> {
    use identity::password::{OwnFacts, check_strength};
    let phones = [kernel::PhoneNumber::parse("0713697553").map_err(|e| anyhow::anyhow!(e))?];
    let facts = OwnFacts {
        personal_id: "001090000042",
        phones: &phones,
        birth_date: Some(time::macros::date!(1990 - 03 - 07)),
    };
    // The first check loads the list; that one-time cost is reported on its own.
    let started = Instant::now();
    let _first = check_strength("warm up the list", &facts);
    let load = started.elapsed();
    let candidates: Vec<String> = (0..count)
        .map(|round| format!("ba con mèo {round} ngủ trưa"))
        .collect();
    let started = Instant::now();
    for candidate in &candidates {
        let _checked = check_strength(std::hint::black_box(candidate), &facts);
    }
    let check = started.elapsed() / count.max(1);
    // Baseline: the hash that follows every accepted password, a few times.
    let hashes = 5_u32;
    let started = Instant::now();
    for _ in 0..hashes {
        identity::password::hash("ba con mèo ngủ trưa".into())
            .await
            .map_err(anyhow::Error::msg)?;
    }
    let hash = started.elapsed() / hashes;
    println!("list load (once per process):       {load:?}");
    println!("strength check, per password:        {check:?}");
    println!("Argon2id hash (m=19 MiB, t=2, p=1): {hash:?}");
    println!(
        "ratio check / hash: {:.5} (goal: under 0.01)",
        check.as_secs_f64() / hash.as_secs_f64()
    );
    Ok(())
}

async fn proxy(listen: std::net::SocketAddr, upstream: &str) -> anyhow::Result<()> {
    let router = exchange::baseline::reverse_proxy(upstream).map_err(anyhow::Error::msg)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    println!("bare reverse proxy on {listen} to {upstream}");
    // Accepted and served as `serve` does, so the two are measured alike.
    let limits = Config::default().connection_limits();
    crate::connections::serve_plain(listener, router, limits, std::future::pending()).await;
    Ok(())
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
        store::keyfile::create_owner_only(&csv)?,
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

    let state = crate::build_tool_state(&scratch_config(dir)).await?;
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
    let state = crate::build_scratch_state(&scratch_config(dir)).await?;
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
                identity.login(&id, password, "bench", None).await?;
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

async fn tokens(dir: &Path, count: usize) -> anyhow::Result<()> {
    use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};

    let state = crate::build_tool_state(&scratch_config(dir)).await?;
    let issuer = "http://127.0.0.1:8080";
    let token_endpoint = format!("{issuer}/oauth/token");
    let client_key = p256::ecdsa::SigningKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
    let client_id = state
        .identity
        .register_machine_client(identity::oidc::NewMachineClient {
            name: "bench".into(),
            subject: "VN/GOV/bench/system".into(),
            public_key_pem: client_key
                .verifying_key()
                .to_public_key_pem(LineEnding::LF)?,
            scopes: vec!["exchange".into()],
        })
        .await?;
    // The clients' side is not what is measured: sign every assertion beforehand.
    let assertions: Vec<String> = (0..count)
        .map(|_| {
            identity::oidc::sign_client_assertion(&client_key, &client_id, &token_endpoint, 300)
        })
        .collect::<Result<_, _>>()?;
    // Warm the caches (client key, signing key) so neither measurement pays for them.
    let warm_up =
        identity::oidc::sign_client_assertion(&client_key, &client_id, &token_endpoint, 300)?;
    grant(&state.identity, issuer, &warm_up).await?;

    // Baseline: the signature work every private_key_jwt issuance needs, one at a time, with
    // the same library the issuer uses.
    let random = ring::rand::SystemRandom::new();
    let server_key = ring::signature::EcdsaKeyPair::from_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        client_key.to_pkcs8_der()?.as_bytes(),
        &random,
    )
    .map_err(|e| anyhow::anyhow!("loading the key: {e}"))?;
    let client_point = client_key.verifying_key().to_encoded_point(false);
    let verifier = ring::signature::UnparsedPublicKey::new(
        &ring::signature::ECDSA_P256_SHA256_FIXED,
        client_point.as_bytes(),
    );
    let started = Instant::now();
    for assertion in &assertions {
        let (input, signature) = assertion.rsplit_once('.').context("compact JWS")?;
        let signature =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature)?;
        verifier
            .verify(input.as_bytes(), &signature)
            .map_err(|_| anyhow::anyhow!("baseline verification failed"))?;
        server_key
            .sign(&random, input.as_bytes())
            .map_err(|_| anyhow::anyhow!("baseline signing failed"))?;
    }
    let floor = count as f64 / started.elapsed().as_secs_f64();

    // The whole grant, one at a time on one task: issuance per core.
    let started = Instant::now();
    for assertion in &assertions {
        grant(&state.identity, issuer, assertion).await?;
    }
    let issued = count as f64 / started.elapsed().as_secs_f64();
    state.db.close().await;
    println!("bare ES256 verify + sign, one at a time:                 {floor:.0} per second");
    println!(
        "client_credentials with private_key_jwt, one at a time: {issued:.0} per second (goal: above 5000 per core; Keycloak publishes 120 per vCPU)"
    );
    println!("ratio issuance / bare signatures: {:.2}", issued / floor);
    Ok(())
}

async fn grant(identity: &identity::Identity, issuer: &str, assertion: &str) -> anyhow::Result<()> {
    identity
        .client_credentials(
            issuer,
            Some(identity::oidc::ASSERTION_TYPE),
            Some(assertion),
            None,
            None,
        )
        .await?;
    Ok(())
}
