//! A property of the gateway for any path a client writes: under a right for `GET /cards/*`,
//! percent-encoded dots, slashes and backslashes never carry a call outside `/cards/`. Each
//! call is refused, or reaches the provider at a path that, decoded the way the provider
//! decodes it, is one ordinary segment below `/cards/` (never `.`, `..`, nor one holding a
//! separator).

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::Value;
use testkit::{CLIENT, SERVICE, TestResult, for_each_backend};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::gateway::{setup, upstream};

/// Pieces of a segment as a client may spell them, escapes of `.`, `/` and `\` among them.
fn piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        ".", "..", "%2e", "%2E", "%2e%2e", "%2f", "%2F", "%5c", "%5C", "%252e", "a", "79", "%41",
        "/",
    ])
}

#[tokio::test(flavor = "multi_thread")]
async fn encoded_dots_and_separators_never_leave_the_granted_prefix() -> TestResult {
    for_each_backend(|app| async move {
        let provider = upstream().await?;
        let token = setup(&app, &provider).await?;
        app.state
            .exchange
            .catalog
            .grant(
                exchange::NewRight {
                    client: CLIENT.into(),
                    service: SERVICE.into(),
                    method: Some("GET".into()),
                    path: Some("/cards/*".into()),
                    fields: None,
                },
                "operator:test",
            )
            .await?;
        // Sent as written, over a bare connection: an HTTP client library would resolve the
        // dot segments (and their escapes) itself before the gateway saw them.
        let address = app.base.trim_start_matches("http://").to_owned();
        let call = |rest: &str| {
            let head = format!(
                "GET /r1/{SERVICE}/cards/{rest} HTTP/1.0\r\nhost: x\r\nauthorization: Bearer {token}\r\nx-road-client: {CLIENT}\r\n\r\n"
            );
            tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(async {
                    let mut stream = TcpStream::connect(&address).await?;
                    stream.write_all(head.as_bytes()).await?;
                    let mut answer = Vec::new();
                    stream.read_to_end(&mut answer).await?;
                    Ok::<_, std::io::Error>(String::from_utf8_lossy(&answer).into_owned())
                })
            })
        };
        let mut runner = TestRunner::new(Config::with_cases(64));
        runner.run(&vec(piece(), 1..5), |pieces| {
            let rest = pieces.concat();
            let answer = call(&rest).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
            let status = head.split(' ').nth(1).unwrap_or_default();
            let body: Value = serde_json::from_str(body).unwrap_or_default();
            if status != "200" {
                let fault = body["type"].as_str().unwrap_or_default();
                prop_assert!(
                    matches!(
                        fault,
                        "Server.ClientProxy.InvalidRequest" | "Server.ServerProxy.AccessDenied"
                    ),
                    "/cards/{}: {} {}",
                    rest,
                    status,
                    body
                );
                return Ok(());
            }
            let seen = body["uri"].as_str().unwrap_or_default();
            let path = seen.split('?').next().unwrap_or_default();
            let decoded = percent_decode(path);
            let segment = decoded.strip_prefix("/cards/");
            prop_assert!(
                segment.is_some_and(|s| !s.contains(['/', '\\']) && s != "." && s != ".."),
                "/cards/{} reached the provider as {} ({})",
                rest,
                seen,
                decoded
            );
            Ok(())
        })?;
        app.stop().await?;
        Ok(())
    })
    .await
}

/// `%XX` decoded once, as a provider reads a path.
fn percent_decode(text: &str) -> String {
    let mut bytes = Vec::new();
    let mut rest = text.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        let escaped = (first == b'%')
            .then(|| tail.get(..2))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                bytes.push(byte);
                rest = tail.get(2..).unwrap_or_default();
            }
            None => {
                bytes.push(first);
                rest = tail;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}
