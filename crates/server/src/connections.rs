//! The accept loop both listeners share, with the limits that keep idle and slow clients from
//! holding the server: a cap on open connections, a deadline for each request's head, and an
//! idle deadline for connections with nothing in flight (OWASP's slow-loris guidance; nginx
//! has the same three: `worker_connections`, `client_header_timeout`, `keepalive_timeout`).

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::Extensions;
use hyper::body::{Body, Frame, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// How long clients may take, and how many may be connected at once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionLimits {
    /// From the first byte of a request's head to its end; on HTTP/1.1 keep-alive connections
    /// hyper also starts it while waiting for the next request, so it bounds idleness there.
    pub header_read: Duration,
    /// A connection with no request in flight for this long is closed (HTTP/2); one that
    /// sends no request at all is closed after `header_read`.
    pub idle: Duration,
    /// Connections beyond this wait in the kernel's backlog until one closes.
    pub max_connections: usize,
    /// Connections from one address (an IPv6 /64) beyond this are closed at once, so one
    /// host cannot take every slot.
    pub max_per_address: usize,
}

/// Accepts until `stopping` completes, at most `limits.max_connections` at a time; `open`
/// turns each accepted socket into the connection's task, given the watcher that lets
/// shutdown wait for it. Then waits for open connections (the caller bounds that).
pub(crate) async fn accept<F, Task>(
    listener: TcpListener,
    limits: ConnectionLimits,
    stopping: impl Future<Output = ()>,
    open: F,
) where
    F: Fn(TcpStream, SocketAddr, Watcher) -> Task,
    Task: Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_address = Arc::new(PerAddress::new(limits.max_per_address));
    let graceful = GracefulShutdown::new();
    tokio::pin!(stopping);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_closed) => break,
            },
            () = &mut stopping => break,
        };
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stopping => break,
        };
        let Some(address_slot) = per_address.enter(remote.ip()) else {
            tracing::debug!(%remote, "connection refused: too many from this address");
            continue;
        };
        // No Nagle delay: a streamed answer's last chunk leaves after its audit entry commits,
        // as a small write of its own, and must not wait for the client's delayed ACK.
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY not set");
        }
        let task = open(tcp, remote, graceful.watcher());
        tokio::spawn(async move {
            task.await;
            drop((slot, address_slot));
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Serves `router` over plain HTTP on `listener` until `stopping` completes: what `serve`
/// does on its main listener and `lienthong bench proxy` on its own, so both are measured alike.
pub(crate) async fn serve_plain(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    stopping: impl Future<Output = ()>,
) {
    accept(listener, limits, stopping, |tcp, remote, watcher| {
        serve_http(
            tcp,
            remote,
            Extensions::new(),
            router.clone(),
            limits,
            watcher,
        )
    })
    .await;
}

/// Open connections per client address (`web::auth::client_block`: IPv6 per /64).
struct PerAddress {
    limit: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl PerAddress {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            open: Mutex::new(HashMap::new()),
        }
    }

    fn enter(self: &Arc<Self>, address: IpAddr) -> Option<AddressSlot> {
        let key = web::auth::client_block(address);
        let mut open = self.open.lock().ok()?;
        let count = open.entry(key).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            table: self.clone(),
            key,
        })
    }
}

/// One connection counted against its address until dropped.
struct AddressSlot {
    table: Arc<PerAddress>,
    key: IpAddr,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.table.open.lock()
            && let Some(count) = open.get_mut(&self.key)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// Serves HTTP/1.1 or HTTP/2 on one accepted connection with `router`, giving each request
/// the peer's address and `extensions` (that it came over TLS, a verified client
/// certificate).
pub(crate) async fn serve_http<Io>(
    io: Io,
    remote: SocketAddr,
    extensions: Extensions,
    router: Router,
    limits: ConnectionLimits,
    watcher: Watcher,
) where
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let counted = activity.clone();
    let service =
        hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request
                .extensions_mut()
                .insert(ConnectInfo::<SocketAddr>(remote));
            request.extensions_mut().extend(extensions.clone());
            let in_flight = counted.begin();
            let answer = router.clone().oneshot(request);
            async move {
                let answer = answer.await?;
                Ok::<_, std::convert::Infallible>(answer.map(|body| CountedBody {
                    body,
                    _in_flight: in_flight,
                }))
            }
        });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    builder.http2().enable_connect_protocol();
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    let connection = watcher.watch(connection.into_owned());
    tokio::pin!(connection);
    let idle_closed = async {
        activity.idle_for(limits.header_read, limits.idle).await;
    };
    tokio::select! {
        ended = &mut connection => {
            if let Err(error) = ended {
                tracing::debug!(%error, %remote, "connection ended with an error");
            }
        }
        () = idle_closed => {
            tracing::debug!(%remote, "closing an idle connection");
        }
    }
}

/// When a connection last started or finished a request, and how many it has in flight.
struct Activity {
    opened: Instant,
    last_change_ms: AtomicU64,
    in_flight: AtomicUsize,
    /// Whether any request has begun: until one does, the head deadline applies.
    began: AtomicBool,
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            last_change_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            began: AtomicBool::new(false),
        }
    }

    fn touch(&self) {
        let elapsed = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_change_ms.store(elapsed, Ordering::Relaxed);
    }

    fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.began.store(true, Ordering::Relaxed);
        self.touch();
        InFlight(self.clone())
    }

    /// Completes when the connection has sent no request within `first` of opening, or
    /// has had nothing in flight for `idle` since.
    async fn idle_for(&self, first: Duration, idle: Duration) {
        loop {
            let since = Duration::from_millis(self.last_change_ms.load(Ordering::Relaxed));
            let deadline = if self.began.load(Ordering::Relaxed) {
                self.opened + since + idle
            } else {
                self.opened + first
            };
            if Instant::now() >= deadline && self.in_flight.load(Ordering::Relaxed) == 0 {
                return;
            }
            // A request in flight past the deadline: look again one idle period later.
            let next = deadline.max(Instant::now() + idle.min(Duration::from_secs(1)));
            tokio::time::sleep_until(next.into()).await;
        }
    }
}

/// Counts one request as in flight until dropped, so a cancelled request is counted out too.
struct InFlight(Arc<Activity>);

/// An answer's body that keeps its request counted as in flight until the last byte has
/// gone (or the answer is dropped): a long streamed answer is not idleness.
struct CountedBody {
    body: axum::body::Body,
    _in_flight: InFlight,
}

impl Body for CountedBody {
    type Data = <axum::body::Body as Body>::Data;
    type Error = <axum::body::Body as Body>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(context)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}
