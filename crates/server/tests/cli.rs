//! The `lienthong` binary as an operator runs it: version, migrate, serve, and a clean stop
//! on SIGTERM that first finishes the requests in flight.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use store::testing::{TestBackend, TestResult};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BINARY: &str = env!("CARGO_BIN_EXE_lienthong");

#[test]
fn prints_its_version() -> TestResult {
    let output = Command::new(BINARY).arg("--version").output()?;
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout)?.trim(),
        format!("lienthong {}", env!("CARGO_PKG_VERSION"))
    );
    Ok(())
}

#[test]
fn serving_without_public_url_is_refused_and_names_the_setting() -> TestResult {
    let scratch = tempfile::tempdir()?;
    let output = Command::new(BINARY)
        .args(["serve", "--data-dir", &scratch.path().display().to_string()])
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("LIENTHONG_IDENTITY__PUBLIC_URL")
        .output()?;
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr)?;
    assert!(stderr.contains("public_url is required"), "{stderr}");
    Ok(())
}

#[test]
fn a_bad_configuration_is_named_and_nothing_starts() -> TestResult {
    let output = Command::new(BINARY)
        .args(["serve", "--db", "mysql://x/y", "--listen", "127.0.0.1:0"])
        .env("LIENTHONG_IDENTITY__PUBLIC_URL", PUBLIC_URL)
        .output()?;
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr)?;
    assert!(
        stderr.contains("must start with sqlite:// or postgres://"),
        "{stderr}"
    );
    Ok(())
}

/// The address the servers started here are told clients use: the issuer, and the audience
/// of client assertions.
const PUBLIC_URL: &str = "http://lienthong.test";

/// Starts `lienthong serve` and returns it with the address it reports in its JSON log.
fn start_server(
    database: &str,
    data_dir: &std::path::Path,
) -> Result<(Child, String), Box<dyn std::error::Error + Send + Sync>> {
    let mut child = Command::new(BINARY)
        .args([
            "serve",
            "--data-dir",
            &data_dir.display().to_string(),
            "--db",
            database,
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
        ])
        .env("RUST_LOG", "info")
        .env("LIENTHONG_IDENTITY__PUBLIC_URL", PUBLIC_URL)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let Some(line) = lines.next() else { break };
        let line = line?;
        let entry: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if entry.get("message").and_then(|m| m.as_str()) == Some("serving") {
            let address = entry
                .get("address")
                .unwrap_or_default()
                .as_str()
                .ok_or("no address in log")?
                .to_owned();
            // Keep draining the log so the server never blocks on a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return Ok((child, address));
        }
    }
    let _ = child.kill();
    Err("server did not report its address".into())
}

fn wait_for_exit(
    child: &mut Child,
    within: Duration,
) -> Result<std::process::ExitStatus, Box<dyn std::error::Error + Send + Sync>> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err("server did not exit".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn sigterm_finishes_requests_in_flight_then_exits_cleanly() -> TestResult {
    for backend in TestBackend::all() {
        let database = backend.fresh().await?;
        // Files beside the database (the audit signing key) go here, not into the crate.
        let scratch = tempfile::tempdir()?;
        let data_dir = scratch.path().display().to_string();
        let migrate = Command::new(BINARY)
            .args(["migrate", "--data-dir", &data_dir, "--db", &database.target])
            .output()?;
        assert!(
            migrate.status.success(),
            "{}",
            String::from_utf8_lossy(&migrate.stderr)
        );

        let (mut child, address) = start_server(&database.target, scratch.path())?;
        let body = br#"{"recorded_on":"2020-01-01","codes":["74"]}"#;
        let (first_half, second_half) = body.split_at(10);
        let mut stream = TcpStream::connect(&address).await?;
        let head = format!(
            "POST /api/v1/provinces/carry-forward HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(first_half).await?;
        stream.flush().await?;
        let at = address.as_str();
        // In flight once the server counts it, beside the metrics request asking.
        wait_until("the request to be in flight", move || async move {
            requests_in_flight(at).await >= Some(2)
        })
        .await?;

        let killed = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()?;
        assert!(killed.success());
        // Shutting down begins by closing the listener; the process must outlive it.
        wait_until("the server to stop listening", move || async move {
            TcpStream::connect(at).await.is_err()
        })
        .await?;
        assert!(
            child.try_wait()?.is_none(),
            "the server waits for the request in flight"
        );

        stream.write_all(second_half).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?; // the server closes the connection after answering
        let text = String::from_utf8_lossy(&response);
        assert!(
            text.starts_with("HTTP/1.1 200"),
            "the request in flight is answered: {text}"
        );
        assert!(text.contains("Hồ Chí Minh"));

        let status = wait_for_exit(&mut child, Duration::from_secs(10))?;
        assert!(
            status.success(),
            "clean exit on SIGTERM, got {status} on {:?}",
            backend.backend()
        );
        assert!(
            TcpStream::connect(&address).await.is_err(),
            "no longer listening"
        );
    }
    Ok(())
}

/// Polls `condition` until it holds, for at most 10 s.
async fn wait_until<F, Fut>(what: &str, mut condition: F) -> TestResult
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition().await {
        if Instant::now() > deadline {
            return Err(format!("waited 10 s for {what}").into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

/// The server's count of requests being answered, from its metrics.
async fn requests_in_flight(address: &str) -> Option<u64> {
    let metrics = reqwest::get(format!("http://{address}/metrics"))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("lienthong_http_requests_in_flight "))
        .and_then(|value| value.trim().parse().ok())
}

/// Runs `lienthong <args> --data-dir <dir> --db <target>` to completion; returns stdout.
fn operator(
    args: &[&str],
    data_dir: &std::path::Path,
    database: &str,
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let output = Command::new(BINARY)
        .args(args)
        .args([
            "--data-dir",
            &data_dir.display().to_string(),
            "--db",
            database,
        ])
        .output()?;
    if !output.status.success() {
        return Err(format!("{args:?}: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    Ok(String::from_utf8(output.stdout)?)
}

#[tokio::test]
async fn sigkill_under_load_loses_no_audit_entry_of_an_answered_exchange() -> TestResult {
    use p256::pkcs8::{EncodePublicKey, LineEnding};

    for backend in TestBackend::all() {
        let database = backend.fresh().await?;
        let scratch = tempfile::tempdir()?;
        let key = p256::ecdsa::SigningKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
        let public = scratch.path().join("client.pub.pem");
        std::fs::write(
            &public,
            key.verifying_key().to_public_key_pem(LineEnding::LF)?,
        )?;
        let added = operator(
            &[
                "identity",
                "add-machine-client",
                "--name",
                "load",
                "--subject",
                "VN/GOV/LOAD/client",
                "--public-key",
                &public.display().to_string(),
            ],
            scratch.path(),
            &database.target,
        )?;
        let client_id = added
            .trim()
            .strip_prefix("client_id ")
            .ok_or("no client_id")?
            .to_owned();
        let setup = scratch.path().join("exchange.json");
        std::fs::write(
            &setup,
            r#"{"members": [{"id": "VN/GOV/LOAD", "name": "Load"}], "subsystems": [{"id": "VN/GOV/LOAD/client", "name": "client"}]}"#,
        )?;
        operator(
            &["exchange", "apply", &setup.display().to_string()],
            scratch.path(),
            &database.target,
        )?;

        let (mut child, address) = start_server(&database.target, scratch.path())?;
        let http = reqwest::Client::new();
        let assertion = identity::oidc::sign_client_assertion(
            &key,
            &client_id,
            &format!("{PUBLIC_URL}/oauth/token"),
            60,
        )?;
        let token: serde_json::Value = http
            .post(format!("http://{address}/oauth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", identity::oidc::ASSERTION_TYPE),
                ("client_assertion", &assertion),
            ])
            .send()
            .await?
            .json()
            .await?;
        let token = token
            .get("access_token")
            .and_then(|t| t.as_str())
            .ok_or("no token")?
            .to_owned();

        // Sixteen clients call a metadata service (audited like any exchange) as fast as they
        // can, each keeping the message ids of the answers it received.
        let answers = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut loops = Vec::new();
        for worker in 0..16 {
            let (http, token, address) = (http.clone(), token.clone(), address.clone());
            let answers = answers.clone();
            loops.push(tokio::spawn(async move {
                let mut answered = Vec::new();
                for n in 0.. {
                    let id = format!("load-{worker}-{n}");
                    let sent = http
                        .get(format!(
                            "http://{address}/r1/VN/GOV/BCA/registry/listMethods"
                        ))
                        .bearer_auth(&token)
                        .header("X-Road-Client", "VN/GOV/LOAD/client")
                        .header("X-Road-Id", &id)
                        .send()
                        .await;
                    match sent {
                        Ok(response) if response.status().is_success() => {
                            match response.bytes().await {
                                Ok(_) => {
                                    answered.push(id);
                                    answers.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                }
                                Err(_) => break,
                            }
                        }
                        _ => break,
                    }
                }
                answered
            }));
        }
        let answered_so_far = || answers.load(std::sync::atomic::Ordering::Relaxed);
        wait_until("the load to be answered", || {
            let answered = answered_so_far();
            async move { answered > 0 }
        })
        .await?;
        // The command-line tools work beside the running server, which owns the journal:
        // they write no audit entries, and verify reads what is already in the database.
        let (dir, target) = (scratch.path().to_path_buf(), database.target.clone());
        let during = tokio::task::spawn_blocking(move || {
            operator(&["audit", "verify"], &dir, &target).map_err(|e| e.to_string())
        })
        .await??;
        assert!(during.starts_with("intact"), "{during}");
        // Killed in the middle of the load, well past the 50 answers asserted below.
        let before_kill = answered_so_far() + 100;
        wait_until("more load to be answered", || {
            let answered = answered_so_far();
            async move { answered >= before_kill }
        })
        .await?;
        child.kill()?; // SIGKILL: no shutdown, no flush
        child.wait()?;
        let mut answered = Vec::new();
        for task in loops {
            answered.extend(task.await?);
        }
        assert!(
            answered.len() > 50,
            "load was applied: {} answers",
            answered.len()
        );

        // What the killed server journalled but had not yet copied into the database is
        // replayed by the next start or, as here, by `audit verify`.
        let verified = operator(&["audit", "verify"], scratch.path(), &database.target)?;
        assert!(verified.starts_with("intact"), "{verified}");
        let db = store::Db::connect(&database.target, &store::DbOptions::default()).await?;
        let recorded: std::collections::HashSet<String> =
            sqlx::query_scalar("SELECT message_id FROM audit_entries")
                .fetch_all(db.reader())
                .await?
                .into_iter()
                .collect();
        let lost: Vec<&String> = answered
            .iter()
            .filter(|id| !recorded.contains(*id))
            .collect();
        assert!(
            lost.is_empty(),
            "answered but not in the audit log on {:?}: {lost:?}",
            backend.backend()
        );
        db.close().await;
    }
    Ok(())
}

#[tokio::test]
async fn add_client_records_the_id_token_algorithm_and_refuses_an_unknown_one() -> TestResult {
    for backend in TestBackend::all() {
        let database = backend.fresh().await?;
        let scratch = tempfile::tempdir()?;
        let add = |alg: &str| {
            operator(
                &[
                    "identity",
                    "add-client",
                    "--name",
                    "Bank",
                    "--redirect-uri",
                    "https://bank.example/callback",
                    "--id-token-alg",
                    alg,
                ],
                scratch.path(),
                &database.target,
            )
        };
        let added = add("RS256")?;
        let client_id = added
            .trim()
            .strip_prefix("client_id ")
            .ok_or("no client_id")?
            .to_owned();
        let refused = add("HS256").err().ok_or("HS256 was accepted")?;
        assert!(refused.to_string().contains("id_token_alg"), "{refused}");
        let db = store::Db::connect(&database.target, &store::DbOptions::default()).await?;
        let stored: Vec<(String, String)> =
            sqlx::query_as("SELECT client_id, id_token_alg FROM oidc_clients")
                .fetch_all(db.reader())
                .await?;
        assert_eq!(stored, [(client_id, "RS256".to_owned())]);
        db.close().await;
    }
    Ok(())
}
