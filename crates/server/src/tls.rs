//! The HTTPS listener (ADR 0009): the same router as the plain listener, behind TLS 1.2/1.3
//! (rustls) that asks every client for a certificate from the exchange CA but accepts
//! connections without one, so browsers and token-carrying clients still connect. A
//! presented certificate must chain to the CA and be within its validity (RFC 8446
//! §4.4.2.4, RFC 5280 §6); its SHA-256 fingerprint goes into each request's extensions for
//! the gateway to match against the table of issued certificates.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::Router;
use axum::http::Extensions;
use exchange::{CertificateAuthority, ClientCertificate};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::Config;
use crate::connections::{self, ConnectionLimits};

/// A handshake that takes longer than this is dropped (slow-loris).
const HANDSHAKE_SECONDS: u64 = 10;

pub(crate) fn server_config(
    config: &Config,
    ca: &CertificateAuthority,
) -> anyhow::Result<Arc<ServerConfig>> {
    let (chain, key) = match (&config.tls.cert, &config.tls.key) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| anyhow::anyhow!("[tls] cert {}: {e}", cert.display()))?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| anyhow::anyhow!("[tls] key {}: {e}", key.display()))?;
            (chain, key)
        }
        (None, None) => {
            let (cert, key) = ca
                .issue_server(&["localhost", "127.0.0.1", "::1"])
                .context("issuing the TLS listener's certificate")?;
            let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| anyhow::anyhow!("[tls] cert: {e}"))?;
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes())
                .map_err(|e| anyhow::anyhow!("[tls] key: {e}"))?;
            (chain, key)
        }
        _ => bail!("[tls] cert and key are set together, or neither"),
    };
    if chain.is_empty() {
        bail!("[tls] cert holds no certificate");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(ca.certificate_der().to_vec()))
        .context("the exchange CA certificate")?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .context("the client certificate verifier")?;
    let mut server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .context("[tls] cert and key do not form a usable pair")?;
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(server))
}

/// Serves `router` over TLS until `stopping` completes, under the same connection limits as
/// the plain listener; the handshake has a deadline of its own.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    router: Router,
    limits: ConnectionLimits,
    stopping: impl Future<Output = ()>,
) {
    let acceptor = TlsAcceptor::from(tls);
    connections::accept(listener, limits, stopping, |tcp, remote, watcher| {
        let acceptor = acceptor.clone();
        let router = router.clone();
        async move {
            let handshake =
                tokio::time::timeout(Duration::from_secs(HANDSHAKE_SECONDS), acceptor.accept(tcp));
            let stream = match handshake.await {
                Ok(Ok(stream)) => stream,
                Ok(Err(error)) => {
                    tracing::debug!(%error, %remote, "TLS handshake failed");
                    return;
                }
                Err(_) => return,
            };
            let mut extensions = Extensions::new();
            extensions.insert(web::auth::ServedOverTls);
            if let Some(der) = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
            {
                extensions.insert(ClientCertificate {
                    fingerprint: exchange::ca::fingerprint(der),
                });
            }
            connections::serve_http(stream, remote, extensions, router, limits, watcher).await;
        }
    })
    .await;
}
