//! The composition root of lienthong: configuration, the command line, the router and the
//! server's life cycle. It wires the contexts together and holds no business rules.

pub mod app;
pub mod audit_cli;
mod bench;
pub mod cli;
pub mod config;
mod connections;
mod exchange_cli;
pub mod metrics;
mod openapi;
pub mod registry_cli;
pub mod telemetry;
mod tls;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use kernel::Reference;
use tokio::net::TcpListener;
use web::{I18n, Site};

pub use app::AppState;
pub use config::Config;

/// The migrations of every context this program runs; the store adds its own.
pub static MIGRATIONS: &[&store::Migrations] = &[
    &audit::MIGRATIONS,
    &exchange::MIGRATIONS,
    &identity::MIGRATIONS,
    &registry::MIGRATIONS,
];

/// Opens (and migrates) the database and loads everything a server's router needs,
/// starting the audit log's writer.
pub async fn build_state(config: &Config) -> anyhow::Result<AppState> {
    // The OpenID Connect issuer and the audience of client assertions: taken from the
    // request's Host they would be the attacker's to choose (docs/adr/0016).
    let Some(public_url) = config.identity.public_url.as_deref() else {
        anyhow::bail!(
            "public_url is required to serve: it is the OpenID Connect issuer, which must not come from the request's Host \
             (set public_url in the [identity] section of the settings file or LIENTHONG_IDENTITY__PUBLIC_URL; \
             `lienthong demo` sets it for itself)"
        );
    };
    if !(public_url.starts_with("https://") || public_url.starts_with("http://"))
        || public_url.ends_with('/')
    {
        anyhow::bail!(
            "public_url {public_url:?} must be an http(s) URL with no trailing slash, e.g. https://eid.example.gov.vn"
        );
    }
    build(config, true).await
}

/// The state for a command on a data directory of its own with no server running (the
/// benchmarks): it writes audit entries, since opening an account reads the registry
/// through the exchange.
pub async fn build_scratch_state(config: &Config) -> anyhow::Result<AppState> {
    build(config, true).await
}

/// The state for a command-line tool: everything a server has, except that it writes no
/// audit entries, so it can run beside a server that does. It must not read citizen data
/// through the exchange (such as opening an account): the read could not be recorded.
pub async fn build_tool_state(config: &Config) -> anyhow::Result<AppState> {
    build(config, false).await
}

async fn build(config: &Config, writes_audit: bool) -> anyhow::Result<AppState> {
    let reference = Reference::load().context("loading reference data")?;
    let i18n = I18n::load().map_err(|e| anyhow::anyhow!("loading translations: {e}"))?;
    let target = config.database();
    if !target.expose().contains("://") {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    }
    let db = store::Db::connect(target.expose(), &config.db_options())
        .await
        .with_context(|| format!("opening database {target}"))?;
    db.migrate(MIGRATIONS)
        .await
        .context("applying migrations")?;
    let lists = registry::Lists::load(&reference).context("loading registry lists")?;
    let registry = registry::Registry::new(db.clone(), Arc::new(lists));
    let sealing = identity::sealing::SealingKey::load_or_create(&config.sealing_key_path())
        .map_err(|e| anyhow::anyhow!("loading the identity sealing key {e}"))?;
    let mut identity = identity::Identity::new(db.clone(), config.identity.cookie_secure)
        .with_sealing_key(sealing);
    identity.public_url = config.identity.public_url.clone();
    let signer = audit::CheckpointSigner::load_or_create(&config.audit_key_path())
        .context("loading the audit signing key")?
        .anchored_to(config.audit_anchor_path());
    let audit_options = audit::AuditOptions {
        journal: (config.audit.mode == config::AuditMode::Journal)
            .then(|| config.audit_journal_dir()),
        ..audit::AuditOptions::default()
    };
    let audit = if writes_audit {
        audit::AuditLog::start(db.clone(), signer, audit_options)
            .await
            .context("starting the audit log")?
    } else {
        audit::AuditLog::without_writer(signer.verifying_key())
    };
    let metrics = Arc::new(metrics::Metrics::new());
    let exchange = exchange::Exchange::start(exchange::Parts {
        db: db.clone(),
        audit: audit.clone(),
        verify_token: token_verifier(identity.clone()),
        instance: config.exchange.instance.clone(),
        max_body: config.max_body_bytes as u64,
        max_request: config.exchange.max_request_bytes,
        max_response: config.exchange.max_response_bytes,
        metrics: metrics.exchange.clone(),
        ca_dir: config.exchange_ca_dir(),
        provider_networks: exchange::networks::ProviderNetworks::parse(
            &config.exchange.provider_networks,
        )
        .map_err(anyhow::Error::msg)?,
    })
    .await
    .context("starting the exchange")?;
    connect_contexts(
        &exchange,
        &audit,
        &registry,
        &identity,
        &config.exchange.instance,
    )
    .await?;
    Ok(AppState {
        db,
        site: Site {
            reference: Arc::new(reference),
            i18n: Arc::new(i18n),
            people: people_of(&identity),
        },
        metrics,
        registry,
        identity,
        exchange,
        audit,
    })
}

/// Names for the actors pages show, from the names identity keeps with accounts. A failed
/// lookup shows no names rather than failing the page; the cause is logged.
fn people_of(identity: &identity::Identity) -> web::people::People {
    let identity = identity.clone();
    web::people::People::new(Arc::new(move |actors| {
        let identity = identity.clone();
        Box::pin(async move {
            identity.names_of(&actors).await.unwrap_or_else(|error| {
                tracing::warn!(%error, "names of actors could not be read");
                Default::default()
            })
        })
    }))
}

/// The contexts side by side above the exchange: the registry plugs in as a provider, and
/// identity reads it through its own client, like any agency.
async fn connect_contexts(
    exchange: &exchange::Exchange,
    audit: &audit::AuditLog,
    registry: &registry::Registry,
    identity: &identity::Identity,
    instance: &str,
) -> anyhow::Result<()> {
    exchange
        .provide(
            registry::provider::registration(instance),
            Arc::new(registry::provider::RegistryProvider(registry.clone())),
        )
        .await
        .context("registering the population registry with the exchange")?;
    let registry_subsystem = exchange::SubsystemId::parse(&registry::provider::subsystem(instance))
        .map_err(|e| anyhow::anyhow!("exchange instance {instance:?}: {e}"))?;
    identity
        .population()
        .connect(exchange, audit, &registry_subsystem)
        .await
        .context("connecting the e-ID system to the population registry")?;
    Ok(())
}

/// How the exchange checks an agency system's bearer token: with identity's token
/// verification, and nothing else of identity.
fn token_verifier(identity: identity::Identity) -> exchange::TokenVerifier {
    Arc::new(move |token: String| {
        let identity = identity.clone();
        Box::pin(async move {
            match identity.verify_machine_token(&token).await {
                Ok(verified) => Ok(exchange::VerifiedToken {
                    subject: verified.subject,
                    scope: verified.scope,
                }),
                Err(identity::IdentityError::TokenRejected(rejected)) => {
                    Err(exchange::TokenRejected::Invalid(rejected.to_string()))
                }
                Err(error) => Err(exchange::TokenRejected::Unavailable(error.to_string())),
            }
        })
    })
}

/// Serves until `shutdown` completes, then lets in-flight requests finish for at most the
/// configured grace period, and closes the database.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    config: &Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_with_tls(listener, None, state, config, shutdown).await
}

/// Like [`serve`], and when `tls_listener` is given, the same router over HTTPS there too,
/// with optional client certificates from the exchange CA (ADR 0009).
pub async fn serve_with_tls(
    listener: TcpListener,
    tls_listener: Option<TcpListener>,
    state: AppState,
    config: &Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let db = state.db.clone();
    let tls_config = match &tls_listener {
        Some(_) => {
            let ca = state
                .exchange
                .ca()
                .context("loading the exchange certificate authority")?;
            Some(tls::server_config(config, &ca)?)
        }
        None => None,
    };
    let router = app::router(state, config);
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    let (stopping_tx, stopping_rx) = tokio::sync::watch::channel(false);
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: finishing requests in flight");
        let _receivers_gone = stopping_tx.send(true);
    };
    let stopped = |mut stopping: tokio::sync::watch::Receiver<bool>| async move {
        if stopping.wait_for(|stopping| *stopping).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let limits = config.connection_limits();
    let plain = connections::serve_plain(
        listener,
        router.clone(),
        limits,
        stopped(stopping_rx.clone()),
    );
    let secure = async {
        if let (Some(listener), Some(tls_config)) = (tls_listener, tls_config) {
            tls::serve(
                listener,
                tls_config,
                router.clone(),
                limits,
                stopped(stopping_rx.clone()),
            )
            .await;
        }
    };
    let all = async {
        tokio::join!(signal, plain, secure);
    };
    let grace_expired = async {
        stopped(stopping_rx.clone()).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        () = all => {},
        () = grace_expired => tracing::warn!(seconds = grace.as_secs(), "grace period over; dropping remaining connections"),
    }
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
