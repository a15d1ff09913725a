//! The `lienthong` command line.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use tokio::net::TcpListener;

use crate::config::{Config, LogFormat, Overrides};

#[derive(Debug, Parser)]
#[command(
    name = "lienthong",
    version,
    about = "Digital-government platform: registries, e-ID, data exchange, public services"
)]
pub struct Cli {
    /// TOML configuration file (settings: see README). Environment: LIENTHONG_<SETTING>, and
    /// LIENTHONG_<SECTION>__<SETTING> for a setting in a section.
    #[arg(long, global = true, env = "LIENTHONG_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the platform over HTTP (applies pending migrations first).
    Serve(ServeArgs),
    /// Start on a fresh data directory filled with demo data, and print where to look.
    Demo(DemoArgs),
    /// Apply pending database migrations and exit.
    Migrate(DbArgs),
    /// Copy the embedded SQLite database into a new file, readable by its owner only, while
    /// a server may be running and writing (on PostgreSQL, use pg_dump).
    Backup(BackupArgs),
    /// Measure throughput against a baseline in the same run.
    Bench {
        #[command(subcommand)]
        command: crate::bench::BenchCommand,
    },
    /// Electronic identity: relying parties and signing keys.
    Identity {
        #[command(subcommand)]
        command: IdentityCommand,
        #[command(flatten)]
        db: DbArgs,
    },
    /// The data-exchange platform: register members, services and rights from a file; issue
    /// and revoke subsystems' client certificates.
    Exchange {
        #[command(subcommand)]
        command: crate::exchange_cli::ExchangeCommand,
        #[command(flatten)]
        db: DbArgs,
    },
    /// The exchange's tamper-evident audit log: verify, export for auditors.
    Audit {
        #[command(subcommand)]
        command: crate::audit_cli::AuditCommand,
        #[command(flatten)]
        db: DbArgs,
    },
    /// The population registry: generate, import and export citizen records.
    Registry {
        #[command(subcommand)]
        command: crate::registry_cli::RegistryCommand,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
enum IdentityCommand {
    /// Register a relying party for "log in with national e-ID" (OpenID Connect).
    AddClient {
        #[arg(long)]
        name: String,
        /// Exact redirect URI; repeat for several.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// A server-side application that keeps a secret (otherwise public: PKCE only).
        #[arg(long)]
        confidential: bool,
        /// How its ID tokens are signed (its id_token_signed_response_alg): ES256 or RS256.
        #[arg(long = "id-token-alg", default_value = "ES256")]
        id_token_alg: String,
    },
    /// Register an agency system that calls the exchange as itself (client_credentials with
    /// private_key_jwt).
    AddMachineClient {
        #[arg(long)]
        name: String,
        /// The exchange subsystem its tokens name, e.g. VN/GOV/000.00.00.H41/portal
        #[arg(long)]
        subject: String,
        /// Its P-256 public key, PEM (openssl ec -in key.pem -pubout)
        #[arg(long)]
        public_key: PathBuf,
        /// A scope it may ask for; repeat for several.
        #[arg(long = "scope", default_value = "exchange")]
        scopes: Vec<String>,
    },
    /// Print a client assertion for private_key_jwt, signed with an agency system's key
    /// (SEC1 or PKCS#8 PEM): what the system sends to /oauth/token. For testing a set-up.
    ClientAssertion {
        #[arg(long)]
        client_id: String,
        #[arg(long)]
        key: PathBuf,
        /// The token endpoint, e.g. http://127.0.0.1:8080/oauth/token
        #[arg(long)]
        audience: String,
        #[arg(long, default_value_t = 60)]
        seconds: i64,
    },
    /// Stop an agency system from getting new tokens.
    DisableMachineClient { client_id: String },
    /// Start signing ID tokens with a new key; the previous one stays published.
    RotateKeys,
}

#[derive(Debug, Args)]
struct DbArgs {
    /// SQLite file path or postgres:// URL [default: <data-dir>/lienthong.db]
    #[arg(long, global = true)]
    db: Option<String>,
    /// Directory for the embedded database and other files [default: data]
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Address and port to listen on [default: 127.0.0.1:8080]
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
    #[arg(long, value_enum)]
    log_format: Option<LogFormat>,
}

#[derive(Debug, Args)]
struct BackupArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The file to write.
    #[arg(long)]
    out: PathBuf,
    /// Replace the file if it exists (the old one stays whole until the copy is complete).
    #[arg(long)]
    overwrite: bool,
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Directory for the demo; its previous demo database is replaced.
    #[arg(long, default_value = "demo-data")]
    data_dir: PathBuf,
    /// How many synthetic citizens to load.
    #[arg(long, default_value_t = 100_000)]
    citizens: usize,
    /// Address and port to listen on [default: 127.0.0.1:8080]
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
}

pub async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config_file = cli.config.as_deref();
    match cli.command {
        Command::Serve(args) => {
            let overrides = Overrides {
                db: args.db.db,
                data_dir: args.db.data_dir,
                listen: args.listen,
                log_format: args.log_format,
            };
            let config = load(config_file, &overrides)?;
            serve(&config).await
        }
        Command::Migrate(args) => {
            let overrides = Overrides {
                db: args.db,
                data_dir: args.data_dir,
                ..Overrides::default()
            };
            let config = load(config_file, &overrides)?;
            let target = config.database();
            crate::build_tool_state(&config).await?.db.close().await;
            println!("migrations applied to {target}");
            Ok(())
        }
        Command::Backup(args) => {
            let overrides = Overrides {
                db: args.db.db,
                data_dir: args.db.data_dir,
                ..Overrides::default()
            };
            let config = load(config_file, &overrides)?;
            backup(&config, &args.out, args.overwrite).await
        }
        Command::Identity { command, db } => {
            let overrides = Overrides {
                db: db.db,
                data_dir: db.data_dir,
                ..Overrides::default()
            };
            let config = load(config_file, &overrides)?;
            let state = crate::build_tool_state(&config).await?;
            match command {
                IdentityCommand::AddClient {
                    name,
                    redirect_uris,
                    confidential,
                    id_token_alg,
                } => {
                    let (client_id, secret) = state
                        .identity
                        .register_client(identity::oidc::NewClient {
                            name,
                            redirect_uris,
                            confidential,
                            id_token_alg: id_token_alg.parse()?,
                        })
                        .await?;
                    println!("client_id {client_id}");
                    if let Some(secret) = secret {
                        println!("client_secret {secret}  (shown once; only a hash is kept)");
                    }
                }
                IdentityCommand::AddMachineClient {
                    name,
                    subject,
                    public_key,
                    scopes,
                } => {
                    let public_key_pem = std::fs::read_to_string(&public_key)
                        .with_context(|| format!("cannot read {}", public_key.display()))?;
                    let client_id = state
                        .identity
                        .register_machine_client(identity::oidc::NewMachineClient {
                            name,
                            subject,
                            public_key_pem,
                            scopes,
                        })
                        .await?;
                    println!("client_id {client_id}");
                }
                IdentityCommand::ClientAssertion {
                    client_id,
                    key,
                    audience,
                    seconds,
                } => {
                    use p256::pkcs8::DecodePrivateKey;
                    let pem = std::fs::read_to_string(&key)
                        .with_context(|| format!("cannot read {}", key.display()))?;
                    let secret = p256::SecretKey::from_sec1_pem(&pem)
                        .or_else(|_| p256::SecretKey::from_pkcs8_pem(&pem))
                        .map_err(|_| {
                            anyhow::anyhow!("{} is not a P-256 private key in PEM", key.display())
                        })?;
                    println!(
                        "{}",
                        identity::oidc::sign_client_assertion(
                            &p256::ecdsa::SigningKey::from(secret),
                            &client_id,
                            &audience,
                            seconds
                        )?
                    );
                }
                IdentityCommand::DisableMachineClient { client_id } => {
                    if !state.identity.disable_machine_client(&client_id).await? {
                        anyhow::bail!("no enabled machine client {client_id}");
                    }
                    println!("disabled {client_id}");
                }
                IdentityCommand::RotateKeys => println!(
                    "signing with key {}",
                    state.identity.rotate_signing_key().await?
                ),
            }
            state.db.close().await;
            Ok(())
        }
        Command::Bench { command } => {
            crate::telemetry::init(crate::config::LogFormat::Human);
            crate::bench::run(command).await
        }
        Command::Exchange { command, db } => {
            let overrides = Overrides {
                db: db.db,
                data_dir: db.data_dir,
                ..Overrides::default()
            };
            let state = crate::build_tool_state(&load(config_file, &overrides)?).await?;
            let outcome = crate::exchange_cli::run(command, &state).await;
            state.db.close().await;
            outcome
        }
        Command::Audit { command, db } => {
            let overrides = Overrides {
                db: db.db,
                data_dir: db.data_dir,
                ..Overrides::default()
            };
            crate::audit_cli::run(command, &load(config_file, &overrides)?).await
        }
        Command::Registry { command, db } => {
            let overrides = Overrides {
                db: db.db,
                data_dir: db.data_dir,
                ..Overrides::default()
            };
            let config = load(config_file, &overrides)?;
            crate::registry_cli::run(command, &config).await
        }
        Command::Demo(args) => {
            let overrides = Overrides {
                data_dir: Some(args.data_dir.clone()),
                listen: args.listen,
                ..Overrides::default()
            };
            let mut config = load(config_file, &overrides)?;
            config.db = None; // the demo always runs on the embedded database
            // Demo providers run on this machine.
            config
                .exchange
                .provider_networks
                .extend(exchange::networks::LOOPBACK.map(String::from));
            fresh_demo_directory(&args.data_dir)?;
            let adults = load_demo_population(&config, args.citizens).await?;
            serve_with_banner(&config, Some(&adults)).await
        }
    }
}

fn load(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Config> {
    let config = Config::load(file, overrides).context("reading configuration")?;
    crate::telemetry::init(config.log_format);
    Ok(config)
}

async fn serve(config: &Config) -> anyhow::Result<()> {
    serve_with_banner(config, None).await
}

/// Serves; for the demo, first opens e-ID accounts for `demo_adults` and prints their logins.
async fn serve_with_banner(
    config: &Config,
    demo_adults: Option<&[registry::CitizenRecord]>,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.listen).await.with_context(|| {
        format!(
            "listening on {} (is another server using it? choose another with --listen)",
            config.listen
        )
    })?;
    let address = listener.local_addr()?;
    let mut config = config.clone();
    if demo_adults.is_some() && config.identity.public_url.is_none() {
        // The demo's own address, by name: passkeys need a domain, and localhost is one.
        config.identity.public_url = Some(format!("http://localhost:{}", address.port()));
    }
    let config = &config;
    let state = crate::build_state(config).await?;
    tracing::info!(%address, database = %config.database(), backend = state.db.backend().name(), "serving");
    let tls_listener = match config.tls.listen {
        Some(tls_address) => {
            let tls_listener = TcpListener::bind(tls_address)
                .await
                .with_context(|| format!("listening on {tls_address} (tls_listen)"))?;
            tracing::info!(address = %tls_listener.local_addr()?, "serving HTTPS with optional client certificates");
            Some(tls_listener)
        }
        None => None,
    };
    if let Some(adults) = demo_adults {
        // Registration reads the registry through the exchange, so it needs the server's
        // own state, whose audit log records those reads.
        let logins = open_demo_accounts(&state, adults).await?;
        print_demo_banner(&format!("http://{address}"), config, &logins);
    }
    crate::serve_with_tls(
        listener,
        tls_listener,
        state,
        config,
        crate::shutdown_signal(),
    )
    .await
}

async fn backup(config: &Config, out: &Path, overwrite: bool) -> anyhow::Result<()> {
    let target = config.database();
    if store::Backend::of(target.expose())? == store::Backend::Postgres {
        return Err(store::backup::BackupError::Postgres.into());
    }
    // Opening a missing SQLite file would create an empty database, and back that up.
    if !target.expose().contains("://") && !Path::new(target.expose()).exists() {
        anyhow::bail!("there is no database at {target}");
    }
    let db = store::Db::connect(target.expose(), &config.db_options())
        .await
        .with_context(|| format!("opening database {target}"))?;
    let copied = db.backup_to(out, overwrite).await;
    db.close().await;
    match copied {
        Err(store::backup::BackupError::Exists(path)) => anyhow::bail!(
            "{} already exists; choose another file, or pass --overwrite to replace it",
            path.display()
        ),
        copied => copied?,
    }
    println!("backed up {target} to {}", out.display());
    Ok(())
}

/// Generates the demo population into the data directory and imports it, the same way an
/// operator would with `lienthong registry generate` and `import`. Returns three adults to
/// open e-ID accounts for once the server's state is built.
async fn load_demo_population(
    config: &Config,
    citizens: usize,
) -> anyhow::Result<Vec<registry::CitizenRecord>> {
    let reference = kernel::Reference::load()?;
    let tables = registry::generate::Tables::load()?;
    let file = config.data_dir.join("population.csv");
    println!(
        "generating {citizens} synthetic citizens into {}",
        file.display()
    );
    let out = store::keyfile::create_owner_only(&file)
        .with_context(|| format!("creating {}", file.display()))?;
    registry::generate::write_population(
        &tables,
        &reference,
        citizens,
        2026,
        out,
        registry::import::Format::Csv,
    )?;
    let state = crate::build_tool_state(config).await?;
    crate::registry_cli::import_file(&state.registry, &file, 5_000, false, "Dữ liệu mẫu (demo)")
        .await?;
    state.db.close().await;
    Ok(
        registry::generate::Generator::new(&tables, &reference, citizens, 2026)
            .filter(|r| r.birth_date.year() <= 1995)
            .take(3)
            .collect(),
    )
}

/// Opens e-ID accounts for the demo's three adults: an official of BCA (registry, identity
/// checks, exchange), a citizen, and a community digital technology helper. Returns the
/// logins to print.
async fn open_demo_accounts(
    state: &crate::AppState,
    adults: &[registry::CitizenRecord],
) -> anyhow::Result<String> {
    // Roles held at an agency: BCA for the official; a commune's community digital
    // technology team (Tổ công nghệ số cộng đồng) for the helper.
    use kernel::Role;
    let accounts: [(&str, &str, &[Role]); 3] = [
        (
            "demo-canbo-2026",
            "BCA",
            &[
                Role::RegistryOfficer,
                Role::IdentityVerifier,
                Role::ExchangeOperator,
            ],
        ),
        ("demo-congdan-2026", "BCA", &[]),
        ("demo-hotro-2026", "TCNSDEMO", &[Role::AssistHelper]),
    ];
    let mut logins = String::new();
    for (record, (password, agency, roles)) in adults.iter().zip(accounts) {
        let agency = kernel::AgencyCode::parse(agency).map_err(|e| anyhow::anyhow!(e))?;
        state
            .identity
            .register(identity::Registration {
                personal_id: record.personal_id,
                full_name: record.full_name.clone(),
                birth_date: record.birth_date,
                phone: Some(record.phone.clone().unwrap_or_else(|| "0900000000".into())),
                email: None,
                password: password.to_owned(),
            })
            .await?;
        for role in roles {
            state
                .identity
                .grant_role(record.personal_id, &agency, *role, "demo")
                .await?;
        }
        let who = match roles.first() {
            None => "citizen",
            Some(Role::AssistHelper) => "community digital helper",
            Some(_) => "official (BCA: registry, exchange)",
        };
        logins.push_str(&format!(
            "  {who:<25} ID {}  password {password}  ({})\n",
            record.personal_id, record.full_name
        ));
    }
    Ok(logins)
}

/// Replaces the demo's own database files, and nothing else in the directory.
fn fresh_demo_directory(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for name in [
        "lienthong.db",
        "lienthong.db-wal",
        "lienthong.db-shm",
        "population.csv",
    ] {
        let path = dir.join(name);
        if path.exists() {
            std::fs::remove_file(&path)
                .with_context(|| format!("removing old demo file {}", path.display()))?;
        }
    }
    Ok(())
}

fn print_demo_banner(base: &str, config: &Config, logins: &str) {
    println!(
        "\nlienthong demo is running (data in {dir})\n\n\
         Open:\n  {base}/                   home page (Vietnamese; English via the switch)\n  \
         {base}/reference          provinces before and after 1 July 2025, ministries\n  \
         {base}/api/v1/provinces   the same as JSON\n  \
         {base}/openapi.json       API description (OpenAPI 3.1)\n  \
         {base}/metrics            Prometheus metrics\n  \
         {base}/readyz             readiness\n  \
         {base}/login              sign in with a demo login below\n  \
         {base}/registry           population registry (officials)\n  \
         {base}/exchange           data-sharing platform: services, rights, live exchanges (operators)\n  \
         {base}/account/data-tracker   who used my data (citizens)\n  \
         {base}/r1/VN/GOV/BCA/registry/listMethods   the X-Road r1 gateway (agency systems; see README)\n  \
         {base}/.well-known/openid-configuration   \"log in with national e-ID\" (OpenID Connect);\n                           \
         register a relying party with: lienthong identity add-client --data-dir {dir} --name NAME --redirect-uri URI\n\n\
         Demo logins:\n{logins}\n\
         Passkeys need a name, not an address: open http://localhost:PORT instead of 127.0.0.1.\n\
         Stop with Ctrl-C.\n",
        dir = config.data_dir.display()
    );
}
