//! Starts the real lienthong server on a free loopback port over a fresh database and hands
//! the test typed clients: browsers signed in as citizens or officials ([`TestApp::sign_in_as`]),
//! agency systems calling the exchange ([`TestApp::exchange_client`]), and the fixtures they
//! share. Readiness is awaited by polling `/readyz`, never by sleeping a fixed time.

mod browser;
mod machine;
mod people;

use std::future::Future;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use server::Config;
use server::config::DatabaseTarget;
use store::testing::{FreshDatabase, TestBackend};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use browser::{Browser, Person, SignedIn};
pub use machine::{CLIENT, CLIENT_NAME, ExchangeClient, MachineClient, SERVICE};
pub use people::{Caller, FIXTURE_DAY, HELPERS_TEAM, mandate_to_start};
pub use store::testing::TestResult;

/// A `public_url` to which the server's bound port is added.
pub const LOCALHOST: &str = "http://localhost";

pub struct TestApp {
    /// `http://127.0.0.1:<port>`
    pub base: String,
    /// `https://127.0.0.1:<port>` when the settings turned on `tls_listen`.
    pub tls_base: Option<String>,
    /// Follows no redirects, so tests see them.
    pub client: reqwest::Client,
    pub backend: store::Backend,
    /// The running server's services, for seeding data the way an operator would.
    pub state: server::AppState,
    /// The public address is https (a TLS proxy in front, as browsers see it).
    public_https: bool,
    /// The generated adults that [`TestApp::resident`] hands out, in order.
    population: Vec<registry::CitizenRecord>,
    residents_handed_out: AtomicUsize,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
    _database: FreshDatabase,
    /// Files the server keeps outside the database (the audit signing key) when the
    /// database itself has no directory.
    _scratch: tempfile::TempDir,
}

impl TestApp {
    /// A server over a fresh database of the given kind.
    pub async fn spawn(backend: &TestBackend) -> anyhow::Result<Self> {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Like [`TestApp::spawn`], with settings adjusted first (a small body limit, say).
    pub async fn spawn_with(
        backend: &TestBackend,
        adjust: impl FnOnce(&mut Config),
    ) -> anyhow::Result<Self> {
        let database = backend.fresh().await?;
        let mut config = Config {
            db: Some(DatabaseTarget::new(database.target.clone())),
            listen: "127.0.0.1:0".parse()?,
            ..Config::default()
        };
        let scratch = tempfile::tempdir()?;
        config.data_dir = database
            .data_dir()
            .unwrap_or_else(|| scratch.path().to_path_buf());
        // The tests' providers listen on loopback; a test of the allow-list sets its own.
        config
            .exchange
            .provider_networks
            .extend(["127.0.0.0/8".to_owned(), "::1/128".to_owned()]);
        adjust(&mut config);
        let listener = TcpListener::bind(config.listen).await?;
        let base = format!("http://{}", listener.local_addr()?);
        // The server needs its public address (the OpenID Connect issuer): the one bound,
        // or `http://localhost` with the bound port for tests that need a domain name
        // (passkeys cannot be bound to an IP address).
        config.identity.public_url = match config.identity.public_url.take() {
            None => Some(base.clone()),
            Some(url) if url == LOCALHOST => Some(base.replace("http://127.0.0.1", LOCALHOST)),
            Some(url) => Some(url),
        };
        let public_https = config
            .identity
            .public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"));
        let state = server::build_state(&config).await?;
        let tls_listener = match config.tls.listen {
            Some(address) => Some(TcpListener::bind(address).await?),
            None => None,
        };
        let tls_base = match &tls_listener {
            Some(listener) => Some(format!("https://{}", listener.local_addr()?)),
            None => None,
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let served_state = state.clone();
        let task = tokio::spawn(async move {
            server::serve_with_tls(listener, tls_listener, served_state, &config, async {
                let _sender_dropped_also_stops = stopped.await;
            })
            .await
        });
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()?;
        let app = Self {
            base,
            tls_base,
            client,
            backend: backend.backend(),
            state,
            public_https,
            population: people::population()?,
            residents_handed_out: AtomicUsize::new(0),
            stop: Some(stop),
            task,
            _database: database,
            _scratch: scratch,
        };
        app.wait_until_ready().await?;
        Ok(app)
    }

    async fn wait_until_ready(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(response) = self.client.get(self.url("/readyz")).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("server at {} did not become ready within 20 s", self.base);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<reqwest::Response> {
        self.client
            .get(self.url(path))
            .send()
            .await
            .with_context(|| format!("GET {path}"))
    }

    /// Stops the server the way SIGTERM would and waits for it to finish.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _already_stopped = stop.send(());
        }
        (&mut self.task).await?
    }
}

/// Runs `test` against a fresh server on every backend the environment offers (SQLite
/// always, PostgreSQL when `LIENTHONG_TEST_DATABASE_URL` is set); failures name the backend.
pub async fn for_each_backend<F, Fut>(test: F) -> TestResult
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = TestResult>,
{
    for_each_backend_with(|_| {}, test).await
}

/// Like [`for_each_backend`], with settings adjusted first (the TLS listener turned on, say).
pub async fn for_each_backend_with<A, F, Fut>(adjust: A, test: F) -> TestResult
where
    A: Fn(&mut Config),
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = TestResult>,
{
    for backend in TestBackend::all() {
        let app = TestApp::spawn_with(&backend, &adjust).await?;
        test(app)
            .await
            .map_err(|e| format!("on {}: {e}", backend.backend().name()))?;
    }
    Ok(())
}
