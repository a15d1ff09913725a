//! Forwarding to providers: one pooled HTTP/1.1 client (hyper), the client's request body
//! streamed through with a size limit and hashed on the way (SHA-256 for the audit entry,
//! SHA-512 for `X-Road-Request-Hash`), one deadline per call from the service's timeout, and
//! the client's errors mapped to X-Road faults.
//!
//! hyper's client is used directly rather than through reqwest: the gateway needs none of
//! reqwest's conveniences, and reqwest parses each URL again with the `url` crate (IDNA
//! included), which showed in the gateway's profile.

use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::Uri;
use http_body_util::BodyExt;
use hyper::body::{Frame, SizeHint};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sha2::{Digest, Sha256, Sha512};
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::catalog::Service;
use crate::fault::Fault;
use crate::networks::{GuardedConnector, ProviderNetworks};

/// The pooled client every forwarded call goes through.
pub(crate) type ProviderClient = Client<HttpsConnector<GuardedConnector>, Body>;

/// Idle connections kept per provider.
const IDLE_PER_PROVIDER: usize = 64;

/// Builds the client: plain HTTP or HTTPS (Mozilla's roots, through rustls with ring), only to
/// addresses on `networks` (checked after DNS, at connect time), no redirects followed. hyper resends a request only when a pooled connection closed before
/// any of it was written, so a non-idempotent call reaches the provider at most once.
pub(crate) fn provider_client(networks: ProviderNetworks) -> Result<ProviderClient, String> {
    let mut guarded = GuardedConnector::new(networks);
    let http = guarded.http();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(Duration::from_secs(5)));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(provider)
        .map_err(|error| error.to_string())?
        .https_or_http()
        .enable_http1()
        .wrap_connector(guarded);
    Ok(Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(IDLE_PER_PROVIDER)
        .build(https))
}

/// A request body's size and hashes, known once it has passed through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BodyDigests {
    pub bytes: u64,
    pub sha256: [u8; 32],
    pub sha512: [u8; 64],
}

static EMPTY: LazyLock<BodyDigests> = LazyLock::new(|| Hashes::default().finish());

impl BodyDigests {
    pub(crate) fn empty() -> Self {
        EMPTY.clone()
    }

    pub(crate) fn of(body: &[u8]) -> Self {
        let mut hashes = Hashes::default();
        hashes.update(body);
        hashes.finish()
    }
}

#[derive(Default)]
struct Hashes {
    bytes: u64,
    sha256: Sha256,
    sha512: Sha512,
}

impl Hashes {
    fn update(&mut self, chunk: &[u8]) {
        self.bytes += chunk.len() as u64;
        self.sha256.update(chunk);
        self.sha512.update(chunk);
    }

    fn finish(self) -> BodyDigests {
        BodyDigests {
            bytes: self.bytes,
            sha256: self.sha256.finalize().into(),
            sha512: self.sha512.finalize().into(),
        }
    }
}

/// Reads a body whole, up to `limit` bytes (for the built-in and metadata services, and for
/// refused calls, whose entry still records what was sent).
pub(crate) async fn read_whole(body: Body, limit: u64) -> Result<(Bytes, BodyDigests), Fault> {
    let limited = http_body_util::Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX));
    match limited.collect().await {
        Ok(collected) => {
            let bytes = collected.to_bytes();
            let digests = BodyDigests::of(&bytes);
            Ok((bytes, digests))
        }
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            Err(Fault::too_large(limit))
        }
        Err(error) => Err(Fault::bad_request(format!("unreadable body: {error}"))),
    }
}

/// How a streamed body ended, as [`hashing`] reports it.
pub(crate) type BodyEnd = oneshot::Receiver<Result<BodyDigests, Fault>>;

/// The body to send the provider, passing the client's through as it arrives, and where its
/// digests arrive once it has all passed. Past `limit` bytes the stream fails, which aborts
/// the call. A body the provider never read to its end is reported with the digests of what
/// passed, and `bytes` says how much that was.
pub(crate) fn hashing(body: Body, limit: u64) -> (Body, BodyEnd) {
    let (sender, receiver) = oneshot::channel();
    if http_body::Body::is_end_stream(&body) {
        let _ = sender.send(Ok(BodyDigests::empty()));
        return (Body::empty(), receiver);
    }
    let hashing = HashingBody {
        inner: body,
        hashes: Hashes::default(),
        limit,
        end: Some(sender),
    };
    (Body::new(hashing), receiver)
}

struct HashingBody {
    inner: Body,
    hashes: Hashes,
    limit: u64,
    end: Option<oneshot::Sender<Result<BodyDigests, Fault>>>,
}

impl HashingBody {
    fn report(&mut self, outcome: Result<(), Fault>) {
        if let Some(end) = self.end.take() {
            let hashes = std::mem::take(&mut self.hashes);
            let _ = end.send(outcome.map(|()| hashes.finish()));
        }
    }
}

impl http_body::Body for HashingBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                this.report(Ok(()));
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(error))) => {
                let reason = format!("unreadable body: {error}");
                this.report(Err(Fault::bad_request(&reason)));
                Poll::Ready(Some(Err(std::io::Error::other(reason))))
            }
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    if this.hashes.bytes + data.len() as u64 > this.limit {
                        this.report(Err(Fault::too_large(this.limit)));
                        return Poll::Ready(Some(Err(std::io::Error::other(
                            "the request body is larger than the gateway passes on",
                        ))));
                    }
                    this.hashes.update(data);
                }
                Poll::Ready(Some(Ok(frame)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for HashingBody {
    fn drop(&mut self) {
        // The provider answered (or the call failed) before the body ended.
        self.report(Ok(()));
    }
}

/// How a streamed body ended, waiting at most until `deadline`; `None` if it had not.
pub(crate) async fn body_end(
    end: BodyEnd,
    deadline: Instant,
) -> Option<Result<BodyDigests, Fault>> {
    // The sender reports before it is dropped, so a closed channel cannot happen.
    tokio::time::timeout_at(deadline, end).await.ok()?.ok()
}

/// Sends one call to the provider and waits for its status and headers.
pub(crate) async fn send(
    client: &ProviderClient,
    service: &Service,
    request: hyper::Request<Body>,
    deadline: Instant,
) -> Result<hyper::Response<hyper::body::Incoming>, Fault> {
    match tokio::time::timeout_at(deadline, client.request(request)).await {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(error)) => Err(Fault::network(format!(
            "SERVICE:{} could not be reached: {}",
            service.id,
            causes(&error)
        ))),
        Err(_) => Err(Fault::timeout(&service.id, service.timeout_ms)),
    }
}

/// The provider's URI for a call: its base URL, then the path and query as the client sent
/// them.
pub(crate) fn provider_uri(
    service: &Service,
    rest: &str,
    query: Option<&str>,
) -> Result<Uri, Fault> {
    let mut text = String::with_capacity(
        service.base_url.len() + rest.len() + query.map_or(0, |q| q.len() + 1),
    );
    text.push_str(&service.base_url);
    text.push_str(rest);
    if let Some(query) = query {
        text.push('?');
        text.push_str(query);
    }
    Uri::try_from(text).map_err(|error| Fault::bad_request(format!("unusable path: {error}")))
}

/// An answer of known, small size, read whole before the deadline.
pub(crate) async fn read_answer(
    body: hyper::body::Incoming,
    service: &Service,
    deadline: Instant,
) -> Result<Bytes, Fault> {
    match tokio::time::timeout_at(deadline, body.collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(error)) => Err(Fault::network(format!(
            "SERVICE:{} broke off its answer: {}",
            service.id,
            causes(&error)
        ))),
        Err(_) => Err(Fault::timeout(&service.id, service.timeout_ms)),
    }
}

/// An error with its causes, `outer: inner: innermost` (hyper's own text is terse).
pub(crate) fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_streamed_body_is_hashed_as_it_passes_and_stopped_past_the_limit() {
        let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(Bytes::from_static(b"hello ")),
            Ok(Bytes::from_static(b"world")),
        ];
        let (body, end) = hashing(Body::from_stream(futures_util::stream::iter(chunks)), 64);
        let sent = body.collect().await.map(|c| c.to_bytes()).ok();
        assert_eq!(sent.as_deref(), Some(&b"hello world"[..]));
        assert_eq!(
            end.await.ok().and_then(Result::ok),
            Some(BodyDigests::of(b"hello world"))
        );

        let (body, end) = hashing(Body::from(vec![b'x'; 65]), 64);
        assert!(
            body.collect().await.is_err(),
            "the stream fails past the limit"
        );
        let refused = end.await.ok().and_then(Result::err).map(|fault| fault.kind);
        assert_eq!(refused, Some(Fault::too_large(64).kind));
    }

    #[tokio::test]
    async fn a_body_dropped_midway_reports_what_passed() {
        let (body, end) = hashing(Body::from(&b"partial"[..]), 64);
        drop(body);
        let reported = end.await.ok().and_then(Result::ok);
        assert_eq!(reported.map(|d| d.bytes), Some(0));
        let (_, empty) = hashing(Body::empty(), 64);
        assert_eq!(
            empty.await.ok().and_then(Result::ok),
            Some(BodyDigests::empty())
        );
    }
}
