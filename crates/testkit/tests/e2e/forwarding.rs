//! Forwarding to a provider: request bodies stream through under a size limit and are
//! hashed on the way; a provider slower than its service's timeout gets the X-Road timeout.

use bytes::Bytes;
use reqwest::StatusCode;
use serde_json::Value;
use testkit::{TestApp, TestResult};

use crate::gateway::{CLIENT, SERVICE, grant_whole, hex, last_entry, refusal, setup, upstream};

/// 2 MB passes to a provider; the 1 MiB limit of the platform's own API does not apply.
const LIMIT: u64 = 2_000_000;

/// The test body: 64 KiB pieces of one letter each, 'a', 'b', … in turn.
fn content(total: usize) -> Vec<u8> {
    (0..total)
        .map(|at| b'a' + (at / 65_536 % 26) as u8)
        .collect()
}

/// The same body sent in its 64 KiB pieces, without a declared length (chunked).
fn chunked(total: usize) -> reqwest::Body {
    let pieces: Vec<Result<Bytes, std::io::Error>> = content(total)
        .chunks(65_536)
        .map(|piece| Ok(Bytes::copy_from_slice(piece)))
        .collect();
    reqwest::Body::wrap_stream(futures_util::stream::iter(pieces))
}

#[tokio::test]
async fn request_bodies_stream_to_the_provider_within_the_limit_and_are_hashed() -> TestResult {
    for backend in store::testing::TestBackend::all() {
        let app = TestApp::spawn_with(&backend, |config| {
            config.exchange.max_request_bytes = LIMIT;
        })
        .await?;
        let upstream = upstream().await?;
        let token = setup(&app, &upstream).await?;
        grant_whole(&app, SERVICE).await?;
        let post = |id: &str, body: reqwest::Body| {
            app.client
                .post(app.url(&format!("/r1/{SERVICE}/digest")))
                .bearer_auth(&token)
                .header("X-Road-Client", CLIENT)
                .header("X-Road-Id", id)
                .body(body)
                .send()
        };

        // 1.5 MB in pieces: more than any body the gateway would hold whole.
        let sent = content(1_500_000);
        let expected = hex(&audit::body_hash(&sent));
        let response = post("up-1", chunked(1_500_000)).await?;
        assert_eq!(response.status(), StatusCode::OK);
        let hash_header = response
            .headers()
            .get("x-road-request-hash")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let seen: Value = response.json().await?;
        assert_eq!(seen["bytes"], 1_500_000);
        assert_eq!(seen["sha256"], expected.as_str());
        let entry = last_entry(&app).await?;
        assert_eq!((entry.message_id.as_str(), entry.status), ("up-1", 200));
        assert_eq!(
            entry.request_hash, expected,
            "the entry hashes the body sent"
        );

        // The same call with another body: X-Road-Request-Hash covers the body too.
        let other = post("up-1", reqwest::Body::from(vec![b'z'; 10])).await?;
        let other_hash = other
            .headers()
            .get("x-road-request-hash")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        assert!(hash_header.is_some() && other_hash.is_some());
        assert_ne!(hash_header, other_hash);

        // Past the limit in pieces: refused midway, and the refusal is in the log.
        let over = post("up-2", chunked(2_500_000)).await?;
        assert_eq!(
            refusal(over).await?,
            (StatusCode::BAD_REQUEST, "Server.ClientProxy.IOError".into())
        );
        let entry = last_entry(&app).await?;
        assert_eq!((entry.message_id.as_str(), entry.status), ("up-2", 400));

        // Declared larger than the limit: refused before anything is read or sent.
        let declared = post("up-3", reqwest::Body::from(vec![b'x'; 2_000_001])).await?;
        assert_eq!(declared.status(), StatusCode::BAD_REQUEST);
        let entry = last_entry(&app).await?;
        assert_eq!(entry.message_id, "up-2", "nothing was forwarded or logged");
        app.stop().await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_provider_slower_than_the_service_timeout_gets_the_x_road_timeout() -> TestResult {
    for backend in store::testing::TestBackend::all() {
        let app = TestApp::spawn(&backend).await?;
        let upstream = upstream().await?;
        let token = setup(&app, &upstream).await?;
        grant_whole(&app, SERVICE).await?;
        let started = std::time::Instant::now();
        let slow = app
            .client
            .get(app.url(&format!("/r1/{SERVICE}/slow")))
            .bearer_auth(&token)
            .header("X-Road-Client", CLIENT)
            .header("X-Road-Id", "slow-1")
            .send()
            .await?;
        let (status, kind) = refusal(slow).await?;
        assert_eq!(kind, "Server.ServerProxy.IOError");
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        // The service's timeout is 2 s; the provider would take 5 s.
        assert!(started.elapsed() < std::time::Duration::from_secs(4));
        let entry = last_entry(&app).await?;
        assert_eq!((entry.message_id.as_str(), entry.status), ("slow-1", 500));
        app.stop().await?;
    }
    Ok(())
}
