//! Configuration: built-in defaults, then a TOML file, then `LIENTHONG_*` environment
//! variables, then command-line flags; each later source overrides the earlier ones.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Value};
use figment::{Figment, Provider};
use serde::{Deserialize, Serialize};

/// Environment variables are `LIENTHONG_<SETTING>`, and `LIENTHONG_<SECTION>__<SETTING>` for a
/// setting in a section.
const ENV_PREFIX: &str = "LIENTHONG_";
const ENV_SECTION_SEPARATOR: &str = "__";

/// General settings at the top level; the settings of one part of the platform in its section
/// (`[identity]`, `[exchange]`, `[audit]`, `[tls]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// A SQLite file path or a `postgres://` URL; `<data_dir>/lienthong.db` when absent.
    pub db: Option<DatabaseTarget>,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub log_format: LogFormat,
    pub request_timeout_secs: u64,
    pub max_body_bytes: usize,
    /// How long in-flight requests may take to finish after SIGTERM or SIGINT.
    pub shutdown_grace_secs: u64,
    pub db_max_connections: u32,
    /// A request head not complete this many seconds after it began closes the connection
    /// (slow-loris); on HTTP/1.1 keep-alive connections it also bounds the wait between requests.
    pub header_read_timeout_secs: u64,
    /// A connection with no request in flight for this many seconds is closed.
    pub idle_timeout_secs: u64,
    /// Open connections per listener; more wait in the kernel's backlog until one closes.
    pub max_connections: usize,
    /// Open connections per client address (an IPv6 /64); more are closed at once.
    pub max_connections_per_address: usize,
    pub identity: IdentityConfig,
    pub exchange: ExchangeConfig,
    pub audit: AuditConfig,
    pub tls: TlsConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityConfig {
    /// The address people and relying parties use (`https://eid.example.gov.vn`); the
    /// OpenID Connect issuer. Taken from each request's Host header when unset.
    pub public_url: Option<String>,
    /// Send the session cookie only over HTTPS (browsers treat http://localhost as secure).
    pub cookie_secure: bool,
    /// AES-256 key that seals TOTP seeds and OpenID Connect signing keys in the database;
    /// `<data_dir>/identity-sealing.key` when absent. Every node of one database needs it.
    pub sealing_key: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeConfig {
    /// The X-Road instance this node's exchange belongs to.
    pub instance: String,
    /// Largest request body the gateway passes on to a provider (streamed), in bytes.
    pub max_request_bytes: u64,
    /// Largest provider answer the gateway relays (streamed), in bytes.
    pub max_response_bytes: u64,
    /// Networks (CIDR) the gateway may call providers on, checked when a base URL is set and
    /// at every connection. Loopback, link-local and other special ranges need an entry of
    /// their own (`127.0.0.0/8`); the default, all of IPv4 and IPv6, opens none of them. The
    /// demo adds loopback.
    pub provider_networks: Vec<String>,
    /// Directory of the exchange's certificate authority (`ca.key`, `ca.pem`), which issues
    /// subsystems their client certificates; `<data_dir>/exchange-ca` when absent.
    pub ca: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// How audit entries are made durable before an answer leaves (ADR 0011): `journal`
    /// (an append-only file in `<data_dir>/audit-journal`, copied into the database right
    /// after; this server must be the chain's only writer) or `database` (one transaction per
    /// batch; several servers on one PostgreSQL database may share the chain).
    pub mode: AuditMode,
    /// Directory of the audit journal; `<data_dir>/audit-journal` when absent. On a device of
    /// its own, the journal's syncs no longer queue behind the database's (ADR 0012).
    pub journal: Option<PathBuf>,
    /// Append-only file where every audit checkpoint is also written, outside the database
    /// (ADR 0019); `<data_dir>/audit-anchors.ndjson` when absent. Make it append-only
    /// (`chattr +a`) or ship it elsewhere: `audit verify` holds the chain against it.
    pub anchor: Option<PathBuf>,
    /// Ed25519 key that signs audit checkpoints; `<data_dir>/audit-signing.key` when absent.
    /// Keep it outside the database: whoever can write both could rewrite history.
    pub key: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// A second listener speaking HTTPS with optional client certificates (mutual TLS for
    /// the exchange gateway); off when absent.
    pub listen: Option<SocketAddr>,
    /// The TLS listener's certificate chain and private key, PEM. When both are absent the
    /// exchange CA issues one for localhost and 127.0.0.1 at each start (demos).
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

impl Config {
    pub fn sealing_key_path(&self) -> PathBuf {
        self.identity
            .sealing_key
            .clone()
            .unwrap_or_else(|| self.data_dir.join("identity-sealing.key"))
    }

    pub fn audit_key_path(&self) -> PathBuf {
        self.audit
            .key
            .clone()
            .unwrap_or_else(|| self.data_dir.join("audit-signing.key"))
    }

    pub fn audit_journal_dir(&self) -> PathBuf {
        self.audit
            .journal
            .clone()
            .unwrap_or_else(|| self.data_dir.join("audit-journal"))
    }

    pub fn audit_anchor_path(&self) -> PathBuf {
        self.audit
            .anchor
            .clone()
            .unwrap_or_else(|| self.data_dir.join("audit-anchors.ndjson"))
    }

    pub fn exchange_ca_dir(&self) -> PathBuf {
        self.exchange
            .ca
            .clone()
            .unwrap_or_else(|| self.data_dir.join("exchange-ca"))
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            db: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            log_format: LogFormat::Human,
            request_timeout_secs: 30,
            max_body_bytes: 1024 * 1024,
            shutdown_grace_secs: 30,
            db_max_connections: 16,
            header_read_timeout_secs: 15,
            idle_timeout_secs: 75,
            max_connections: 10_000,
            max_connections_per_address: 1_000,
            identity: IdentityConfig::default(),
            exchange: ExchangeConfig::default(),
            audit: AuditConfig::default(),
            tls: TlsConfig::default(),
        }
    }
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            cookie_secure: true,
            sealing_key: None,
        }
    }
}

impl Default for ExchangeConfig {
    fn default() -> Self {
        Self {
            instance: "VN".into(),
            max_request_bytes: 64 * 1024 * 1024,
            max_response_bytes: 64 * 1024 * 1024,
            provider_networks: exchange::networks::DEFAULT.map(String::from).to_vec(),
            ca: None,
        }
    }
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            mode: AuditMode::Journal,
            journal: None,
            anchor: None,
            key: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditMode {
    Journal,
    Database,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

/// Values given on the command line; `None` leaves the configured value alone.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
}

impl Config {
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, Box<figment::Error>> {
        let defaults = Figment::from(Serialized::defaults(Config::default()));
        let settings = setting_names(&defaults)?;
        refuse_flat_names_of_sectioned_settings(&settings)?;
        let mut figment = defaults;
        if let Some(file) = file {
            if !file.exists() {
                return Err(Box::new(figment::Error::from(format!(
                    "configuration file {} does not exist",
                    file.display()
                ))));
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        figment
            .merge(
                Env::prefixed(ENV_PREFIX)
                    .split(ENV_SECTION_SEPARATOR)
                    .filter(move |key| settings.iter().any(|setting| key == setting.as_str())),
            )
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(Box::new)
    }

    /// The database to open: the configured one, or the SQLite file in the data directory.
    pub fn database(&self) -> DatabaseTarget {
        self.db.clone().unwrap_or_else(|| {
            DatabaseTarget(self.data_dir.join("lienthong.db").display().to_string())
        })
    }

    pub(crate) fn connection_limits(&self) -> crate::connections::ConnectionLimits {
        crate::connections::ConnectionLimits {
            header_read: std::time::Duration::from_secs(self.header_read_timeout_secs),
            idle: std::time::Duration::from_secs(self.idle_timeout_secs),
            max_connections: self.max_connections.max(1),
            max_per_address: self.max_connections_per_address.max(1),
        }
    }

    pub fn db_options(&self) -> store::DbOptions {
        store::DbOptions {
            max_connections: self.db_max_connections,
            ..store::DbOptions::default()
        }
    }
}

/// Every setting's dotted name (`listen`, `exchange.instance`), read from the defaults, so
/// the environment variables accepted follow the structs above. Other `LIENTHONG_*`
/// variables (the test harness's, `LIENTHONG_CONFIG`) are not configuration.
fn setting_names(defaults: &Figment) -> Result<Vec<String>, Box<figment::Error>> {
    fn walk(dict: &Dict, prefix: &str, names: &mut Vec<String>) {
        for (key, value) in dict {
            let name = format!("{prefix}{key}");
            match value {
                Value::Dict(_, section) => walk(section, &format!("{name}."), names),
                _ => names.push(name),
            }
        }
    }
    let mut names = Vec::new();
    walk(
        &defaults
            .data()
            .map_err(Box::new)?
            .into_values()
            .flatten()
            .collect(),
        "",
        &mut names,
    );
    Ok(names)
}

/// A variable still named like a setting before it moved into its section
/// (`LIENTHONG_AUDIT_MODE` for `[audit] mode`) would otherwise be skipped in silence, leaving
/// the default where the operator meant something else.
fn refuse_flat_names_of_sectioned_settings(settings: &[String]) -> Result<(), Box<figment::Error>> {
    for (variable, _) in std::env::vars_os() {
        let Some(variable) = variable.to_str() else {
            continue;
        };
        let Some(name) = variable.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let name = name.to_lowercase();
        if let Some(setting) = settings
            .iter()
            .find(|setting| setting.contains('.') && setting.replacen('.', "_", 1) == name)
        {
            let (section, key) = setting.split_once('.').unwrap_or_default();
            return Err(Box::new(figment::Error::from(format!(
                "environment variable {variable} is not read: the setting is `{key}` in section [{section}], \
                 so its variable is {ENV_PREFIX}{}{ENV_SECTION_SEPARATOR}{}",
                section.to_uppercase(),
                key.to_uppercase()
            ))));
        }
    }
    Ok(())
}

/// A database path or URL. URLs may carry a password, so `Debug` and `Display` hide it.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DatabaseTarget(String);

impl DatabaseTarget {
    pub fn new(target: impl Into<String>) -> Self {
        Self(target.into())
    }

    /// The full value, passwords included: only for opening the connection.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn redacted(&self) -> String {
        let Some((scheme, rest)) = self.0.split_once("://") else {
            return self.0.clone();
        };
        match rest.split_once('@') {
            Some((credentials, host)) => {
                let user = credentials.split(':').next().unwrap_or_default();
                if credentials.contains(':') {
                    format!("{scheme}://{user}:***@{host}")
                } else {
                    format!("{scheme}://{user}@{host}")
                }
            }
            None => self.0.clone(),
        }
    }
}

impl fmt::Debug for DatabaseTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseTarget({})", self.redacted())
    }
}

impl fmt::Display for DatabaseTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail fixes its closures' error type
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        let target = DatabaseTarget::new("postgres://app:s3cret@db.example:5432/lienthong");
        assert_eq!(
            target.to_string(),
            "postgres://app:***@db.example:5432/lienthong"
        );
        assert!(!format!("{target:?}").contains("s3cret"));
        let config = Config {
            db: Some(target),
            ..Config::default()
        };
        assert!(!format!("{config:?}").contains("s3cret"));
        assert_eq!(DatabaseTarget::new("data/x.db").to_string(), "data/x.db");
    }

    #[test]
    fn file_then_environment_then_flags() -> Result<(), Box<dyn std::error::Error>> {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "lienthong.toml",
                "listen = \"127.0.0.1:9000\"\ndata_dir = \"/srv/a\"\nlog_format = \"json\"",
            )?;
            jail.set_env("LIENTHONG_DATA_DIR", "/srv/b");
            jail.set_env("LIENTHONG_TEST_DATABASE_URL", "postgres://ignored");
            jail.set_env("LIENTHONG_TLS__LISTEN", "127.0.0.1:8443");
            let overrides = Overrides {
                listen: Some(SocketAddr::from(([0, 0, 0, 0], 80))),
                ..Overrides::default()
            };
            let config =
                Config::load(Some(Path::new("lienthong.toml")), &overrides).map_err(|e| *e)?;
            assert_eq!(config.listen, SocketAddr::from(([0, 0, 0, 0], 80)));
            assert_eq!(config.data_dir, PathBuf::from("/srv/b"));
            assert_eq!(config.log_format, LogFormat::Json);
            assert_eq!(config.database().expose(), "/srv/b/lienthong.db");
            assert_eq!(
                config.tls.listen,
                Some(SocketAddr::from(([127, 0, 0, 1], 8443)))
            );
            assert_eq!(
                config.exchange_ca_dir(),
                PathBuf::from("/srv/b/exchange-ca")
            );
            Ok(())
        });
        Ok(())
    }

    #[test]
    fn sections_from_the_file_and_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "lienthong.toml",
                "[exchange]\ninstance = \"VN-TEST\"\nprovider_networks = [\"10.0.0.0/8\"]\n\n[audit]\nmode = \"database\"\n\n[identity]\npublic_url = \"https://eid.example.gov.vn\"",
            )?;
            jail.set_env("LIENTHONG_EXCHANGE__MAX_REQUEST_BYTES", "4096");
            jail.set_env("LIENTHONG_IDENTITY__COOKIE_SECURE", "false");
            let config = Config::load(Some(Path::new("lienthong.toml")), &Overrides::default())
                .map_err(|e| *e)?;
            assert_eq!(config.exchange.instance, "VN-TEST");
            assert_eq!(config.exchange.provider_networks, ["10.0.0.0/8"]);
            assert_eq!(config.exchange.max_request_bytes, 4096);
            assert_eq!(config.exchange.max_response_bytes, 64 * 1024 * 1024);
            assert_eq!(config.audit.mode, AuditMode::Database);
            assert_eq!(
                config.identity.public_url.as_deref(),
                Some("https://eid.example.gov.vn")
            );
            assert!(!config.identity.cookie_secure);
            Ok(())
        });
    }

    /// The accepted environment variables follow the structs; this is the public list.
    #[test]
    fn every_setting_has_a_variable() -> Result<(), Box<figment::Error>> {
        let mut names = setting_names(&Figment::from(Serialized::defaults(Config::default())))?;
        names.sort();
        assert_eq!(
            names,
            [
                "audit.anchor",
                "audit.journal",
                "audit.key",
                "audit.mode",
                "data_dir",
                "db",
                "db_max_connections",
                "exchange.ca",
                "exchange.instance",
                "exchange.max_request_bytes",
                "exchange.max_response_bytes",
                "exchange.provider_networks",
                "header_read_timeout_secs",
                "identity.cookie_secure",
                "identity.public_url",
                "identity.sealing_key",
                "idle_timeout_secs",
                "listen",
                "log_format",
                "max_body_bytes",
                "max_connections",
                "max_connections_per_address",
                "request_timeout_secs",
                "shutdown_grace_secs",
                "tls.cert",
                "tls.key",
                "tls.listen",
            ]
        );
        Ok(())
    }

    #[test]
    fn a_variable_named_before_the_sections_is_refused_with_its_new_name() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("LIENTHONG_AUDIT_MODE", "database");
            let error = Config::load(None, &Overrides::default()).err();
            assert_eq!(
                error.map(|e| e.to_string()),
                Some(
                    "environment variable LIENTHONG_AUDIT_MODE is not read: the setting is `mode` in section [audit], so its variable is LIENTHONG_AUDIT__MODE"
                        .to_owned()
                )
            );
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_missing_files_are_errors() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "listen_on = \"x\"")?;
            let error = Config::load(Some(Path::new("bad.toml")), &Overrides::default()).err();
            assert!(error.is_some_and(|e| e.to_string().contains("listen_on")));
            jail.create_file("bad-section.toml", "[exchange]\ninstanse = \"VN\"")?;
            let error =
                Config::load(Some(Path::new("bad-section.toml")), &Overrides::default()).err();
            assert!(error.is_some_and(|e| e.to_string().contains("instanse")));
            let missing = Config::load(Some(Path::new("nope.toml")), &Overrides::default()).err();
            assert!(missing.is_some_and(|e| e.to_string().contains("nope.toml does not exist")));
            Ok(())
        });
    }
}
