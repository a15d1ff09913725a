//! Sign-in under load: password hashes are bounded, and beyond the bound a sign-in is told
//! to come back instead of queueing without end (issue 11).

use reqwest::StatusCode;
use testkit::{TestApp, TestResult};

#[tokio::test]
async fn with_every_password_check_busy_a_sign_in_gets_503_and_retry_after() -> TestResult {
    let backend = store::testing::TestBackend::Sqlite;
    let app = TestApp::spawn(&backend).await?;
    let checks = app.state.identity.password_checks();
    let mut held = Vec::new();
    for _ in 0..std::thread::available_parallelism()?.get() {
        held.push(checks.acquire().await?);
    }
    let sign_in = || {
        app.client
            .post(app.url("/login"))
            .form(&[
                ("personal_id", "079085000001"),
                ("password", "matkhau123456"),
            ])
            .send()
    };
    let busy = sign_in().await?;
    assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
    let retry_after: u64 = busy
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_default();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    drop(held);
    // Refused as busy, the attempt used up nothing; now it is checked (and is wrong).
    assert_eq!(sign_in().await?.status(), StatusCode::UNAUTHORIZED);
    app.stop().await?;
    Ok(())
}
