//! Connection limits: slow and idle clients are closed, and connections beyond the cap wait.
//! The limits sit below the router, so one backend is enough.

use std::time::Duration;

use testkit::{TestApp, TestResult};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HEALTH_REQUEST: &[u8] = b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n";

async fn connect(app: &TestApp) -> std::io::Result<TcpStream> {
    TcpStream::connect(app.base.trim_start_matches("http://")).await
}

/// Reads until the server closes the connection, failing after `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Result<(), String> {
    let mut buffer = [0_u8; 1024];
    let reading = async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, reading)
        .await
        .map_err(|_| format!("the connection was still open after {within:?}"))
}

/// The head of the first answer on the connection, or an error after `within`.
async fn answer_within(stream: &mut TcpStream, within: Duration) -> Result<String, String> {
    let mut buffer = [0_u8; 1024];
    let read = tokio::time::timeout(within, stream.read(&mut buffer))
        .await
        .map_err(|_| format!("no answer within {within:?}"))?
        .map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(buffer.get(..read).unwrap_or_default()).into_owned())
}

#[tokio::test]
async fn slow_headers_and_idle_connections_are_closed() -> TestResult {
    let backend = store::testing::TestBackend::Sqlite;
    let app = TestApp::spawn_with(&backend, |config| {
        config.header_read_timeout_secs = 1;
        // Longer than the wait below: each of the three must be closed by the head deadline.
        config.idle_timeout_secs = 60;
    })
    .await?;
    let deadline = Duration::from_secs(8);

    // Slow-loris: a head that never ends.
    let mut slow = connect(&app).await?;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-slow: ")
        .await?;
    // A client that connects and sends nothing at all, whose connection would otherwise
    // hold a slot until the idle deadline.
    let mut silent = connect(&app).await?;
    // A keep-alive client that asked once and then went quiet.
    let mut quiet = connect(&app).await?;
    quiet.write_all(HEALTH_REQUEST).await?;
    let first = answer_within(&mut quiet, deadline).await?;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");

    closed_within(&mut slow, deadline)
        .await
        .map_err(|e| format!("slow head: {e}"))?;
    closed_within(&mut silent, deadline)
        .await
        .map_err(|e| format!("silent: {e}"))?;
    closed_within(&mut quiet, deadline)
        .await
        .map_err(|e| format!("keep-alive: {e}"))?;
    Ok(())
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() -> TestResult {
    let backend = store::testing::TestBackend::Sqlite;
    let mut app = TestApp::spawn_with(&backend, |config| config.max_connections = 2).await?;
    // The readiness check's pooled connection would hold a slot: close it.
    app.client = reqwest::Client::new();

    let mut first = connect(&app).await?;
    first.write_all(HEALTH_REQUEST).await?;
    let answer = answer_within(&mut first, Duration::from_secs(10)).await?;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let mut second = connect(&app).await?;
    second.write_all(HEALTH_REQUEST).await?;
    let answer = answer_within(&mut second, Duration::from_secs(10)).await?;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // The kernel completes the handshake, but the server does not take the connection.
    let mut third = connect(&app).await?;
    third.write_all(HEALTH_REQUEST).await?;
    let early = answer_within(&mut third, Duration::from_millis(1500)).await;
    assert!(early.is_err(), "answered beyond the cap: {early:?}");

    drop(first);
    let answer = answer_within(&mut third, Duration::from_secs(10)).await?;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    Ok(())
}

#[tokio::test]
async fn pages_are_never_stored_and_only_tls_answers_ask_for_https() -> TestResult {
    let backend = store::testing::TestBackend::Sqlite;
    let app = TestApp::spawn_with(&backend, crate::tls::with_tls).await?;
    let header = |response: &reqwest::Response, name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };

    let page = app.get("/").await?;
    assert_eq!(header(&page, "cache-control").as_deref(), Some("no-store"));
    assert_eq!(
        header(&page, "strict-transport-security"),
        None,
        "never over plain HTTP"
    );
    let asset = app.get("/static/app.css").await?;
    assert_eq!(
        header(&asset, "cache-control").as_deref(),
        Some("public, max-age=86400"),
        "a handler's own caching stands"
    );

    let secure = crate::tls::client(&app, None)?
        .get(crate::tls::tls_url(&app, "/")?)
        .send()
        .await?;
    assert_eq!(
        header(&secure, "strict-transport-security").as_deref(),
        Some("max-age=31536000")
    );
    assert_eq!(
        header(&secure, "cache-control").as_deref(),
        Some("no-store")
    );
    Ok(())
}

#[tokio::test]
async fn made_up_methods_share_one_metrics_label() -> TestResult {
    let backend = store::testing::TestBackend::Sqlite;
    let app = TestApp::spawn(&backend).await?;
    let scrape = || async { Ok::<_, anyhow::Error>(app.get("/metrics").await?.text().await?) };
    // Any token is a valid method to HTTP; only the ones the platform knows get a label.
    for i in 0..20 {
        let method = reqwest::Method::from_bytes(format!("PROBE{i}").as_bytes())?;
        app.client
            .request(method, app.url("/healthz"))
            .send()
            .await?;
    }
    // The first scrape adds the scrape's own series; count from the second.
    scrape().await?;
    let before = scrape().await?;
    for i in 20..60 {
        let method = reqwest::Method::from_bytes(format!("PROBE{i}").as_bytes())?;
        app.client
            .request(method, app.url("/healthz"))
            .send()
            .await?;
    }
    let after = scrape().await?;
    assert!(!after.contains("PROBE"), "a made-up method became a label");
    assert!(
        after.contains(r#"method="other""#),
        "made-up methods are counted"
    );
    let series = |text: &str| text.lines().filter(|l| !l.starts_with('#')).count();
    assert_eq!(
        series(&before),
        series(&after),
        "made-up methods added series"
    );
    Ok(())
}

#[tokio::test]
async fn one_address_cannot_hold_more_than_its_share_of_connections() -> TestResult {
    let backend = store::testing::TestBackend::Sqlite;
    let mut app =
        TestApp::spawn_with(&backend, |config| config.max_connections_per_address = 2).await?;
    app.client = reqwest::Client::new();

    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = connect(&app).await?;
        stream.write_all(HEALTH_REQUEST).await?;
        let answer = answer_within(&mut stream, Duration::from_secs(10)).await?;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        held.push(stream);
    }
    // A third from the same address is closed without an answer.
    let mut third = connect(&app).await?;
    let _closed_before_writing_is_fine = third.write_all(HEALTH_REQUEST).await;
    closed_within(&mut third, Duration::from_secs(5)).await?;

    // Once one of the two goes, the address may connect again.
    drop(held.pop());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut again = connect(&app).await?;
        let _ = again.write_all(HEALTH_REQUEST).await;
        if let Ok(answer) = answer_within(&mut again, Duration::from_secs(2)).await
            && answer.starts_with("HTTP/1.1 200")
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the freed share was not given back"
        );
    }
    Ok(())
}
