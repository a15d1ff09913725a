//! A provider's answer relayed to the client as it arrives, in constant memory, without
//! breaking the rule that no answer is returned before its audit entry is durable: the last
//! chunk is held back until the entry (with the SHA-256 of the whole body) has committed.
//! Until then the client has the status and most of the body but not its end, so it has no
//! complete answer; if the entry cannot be written, or the provider breaks off or sends more
//! than the limit, the connection is cut instead of ending the body.

use std::time::Instant;

use axum::body::{Body, Bytes};
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::Exchange;
use crate::forward::causes;

/// A provider's answer whose body is still to be read, and when the service's time is up.
pub(crate) struct Upstream {
    pub body: hyper::body::Incoming,
    pub deadline: tokio::time::Instant,
}

/// Chunks in flight between the provider and the client.
const BUFFERED_CHUNKS: usize = 8;

type Chunk = Result<Bytes, std::io::Error>;

/// The body to answer with; the relay runs on its own task.
pub(crate) fn relay(
    exchange: Exchange,
    upstream: Upstream,
    entry: audit::NewEntry,
    names: (String, String),
    started: Instant,
) -> Body {
    let (sender, receiver) = mpsc::channel::<Chunk>(BUFFERED_CHUNKS);
    tokio::spawn(pump(exchange, upstream, entry, names, started, sender));
    Body::from_stream(futures_util::stream::unfold(
        receiver,
        |mut receiver| async move { receiver.recv().await.map(|chunk| (chunk, receiver)) },
    ))
}

async fn pump(
    exchange: Exchange,
    Upstream { mut body, deadline }: Upstream,
    mut entry: audit::NewEntry,
    (client, service): (String, String),
    started: Instant,
    sender: mpsc::Sender<Chunk>,
) {
    let mut hasher = Sha256::new();
    let mut held: Option<Bytes> = None;
    let mut total: u64 = 0;
    let mut broken: Option<String> = None;
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(frame) => frame,
            Err(_) => {
                broken = Some("the provider did not finish its answer in time".into());
                break;
            }
        };
        match frame.map(|frame| frame.map(|frame| frame.into_data().ok())) {
            // Trailers carry no body; they are not passed on.
            Some(Ok(None)) => {}
            Some(Ok(Some(chunk))) => {
                total = total.saturating_add(chunk.len() as u64);
                if total > exchange.max_response {
                    broken = Some(format!(
                        "the provider answered with more than {} bytes",
                        exchange.max_response
                    ));
                    break;
                }
                hasher.update(&chunk);
                if let Some(previous) = held.replace(chunk)
                    && sender.send(Ok(previous)).await.is_err()
                {
                    broken = Some("the client went away".into());
                    break;
                }
            }
            None => break,
            Some(Err(error)) => {
                broken = Some(format!("the provider broke off: {}", causes(&error)));
                break;
            }
        }
    }
    // An answer the client never completely received is recorded as a gateway failure.
    if broken.is_some() {
        entry.status = 502;
    }
    entry.response_hash = hasher.finalize().into();
    entry.latency = started.elapsed();
    let status = entry.status;
    let message_id = entry.message_id.clone();
    let recorded = exchange.record(entry).await;
    exchange
        .metrics
        .observe(&client, &service, status, started.elapsed());
    let cut = match (recorded, broken) {
        (Ok(_), None) => {
            if let Some(last) = held {
                // The client may have gone away meanwhile; the entry already says it was sent.
                let _ = sender.send(Ok(last)).await;
            }
            return;
        }
        (Err(error), _) => {
            tracing::error!(%error, %client, %service, %message_id, "audit entry not recorded; the answer is cut off");
            "the exchange could not be recorded in the audit log".to_owned()
        }
        (Ok(_), Some(reason)) => reason,
    };
    let _ = sender.send(Err(std::io::Error::other(cut))).await;
}
