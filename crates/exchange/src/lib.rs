//! The data-exchange platform (MISSION.md S3, and the privacy half of S13): members and
//! their subsystems, the services they provide and the rights granted to use them, a gateway
//! that speaks the X-Road Message Protocol for REST (r1) so existing X-Road clients work
//! unchanged, a tamper-evident audit log of every exchange (crates/audit), and an in-process
//! client through which the platform's own contexts read citizen data (the only road to it).
//! Providers in the same binary, such as the population registry, plug in at start-up; the
//! exchange depends on none of them.

pub mod baseline;
pub mod ca;
pub mod catalog;
pub mod client;
mod core;
mod error;
mod fault;
mod forward;
mod gateway;
pub mod http;
pub mod ids;
mod limits;
pub mod local;
pub mod management;
mod metadata;
pub mod metrics;
pub mod networks;
pub mod ocsp;
mod relay;

use std::future::Future;
use std::ops::Deref;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{FromRef, Query, State};
use axum::http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};

pub use ca::{CertificateAuthority, Issued, SubjectKey};
pub use catalog::{
    Catalog, CertificateInfo, ExchangeError, Limit, NewEndpoint, NewRight, NewService,
};
pub use client::{Client, ClientError};
pub use core::{Call, Reply};
pub use error::NotReplaceable;
pub use fault::Fault;
pub use ids::{ClientId, MemberId, ServiceId, SubsystemId};
pub use local::{LocalAnswer, LocalCall, LocalProvider, LocalRegistration, LocalService};

/// The exchange's tables: catalogue, rights, limits, certificates (migrations/).
pub static MIGRATIONS: store::Migrations = store::migrations!("exchange");

/// The scope an agency system's token needs to call through the gateway.
pub const EXCHANGE_SCOPE: &str = "exchange";

/// A machine access token as the token's issuer verified it.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    /// The subsystem it was issued to (`VN/GOV/BYT/insurance`).
    pub subject: String,
    /// Space-separated scopes.
    pub scope: String,
}

/// Why a bearer token was not accepted.
#[derive(Debug, Clone)]
pub enum TokenRejected {
    /// Unknown, expired or revoked: the client's fault.
    Invalid(String),
    /// The issuer could not be asked.
    Unavailable(String),
}

/// Checks a bearer token; `server` wires identity's verification in, so the exchange needs no
/// more of identity than this.
pub type TokenVerifier = Arc<
    dyn Fn(String) -> Pin<Box<dyn Future<Output = Result<VerifiedToken, TokenRejected>> + Send>>
        + Send
        + Sync,
>;

/// The client certificate a TLS connection presented, verified against the platform CA by
/// the listener; put into every request's extensions on that connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    /// Lowercase hex SHA-256 of the DER certificate.
    pub fingerprint: String,
}

/// The exchange service. Cheap to clone.
#[derive(Clone)]
pub struct Exchange(Arc<Inner>);

pub struct Inner {
    pub catalog: Catalog,
    pub audit: audit::AuditLog,
    verify_token: TokenVerifier,
    pub db: store::Db,
    /// The X-Road instance this node belongs to (`VN`).
    pub instance: String,
    /// Largest request body a built-in or metadata service reads, in bytes (held whole).
    pub max_body: u64,
    /// Largest request body passed on to a provider, in bytes (streamed, never held whole).
    pub max_request: u64,
    /// Largest provider answer relayed, in bytes (streamed, never held whole).
    pub max_response: u64,
    pub metrics: metrics::ExchangeMetrics,
    http: forward::ProviderClient,
    limiter: limits::Limiter,
    ca_dir: PathBuf,
    /// Loaded (or created) on first use.
    ca: Mutex<Option<Arc<CertificateAuthority>>>,
    /// Derived from the CA on the first OCSP request.
    ocsp: std::sync::OnceLock<ocsp::Responder>,
}

impl Deref for Exchange {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange")
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

/// What the server hands the exchange at start.
pub struct Parts {
    pub db: store::Db,
    pub audit: audit::AuditLog,
    /// How an agency system's bearer token is checked (identity's token endpoint issues them).
    pub verify_token: TokenVerifier,
    pub instance: String,
    pub max_body: u64,
    pub max_request: u64,
    pub max_response: u64,
    pub metrics: metrics::ExchangeMetrics,
    /// Where the platform CA's key and certificate live (`<data_dir>/exchange-ca`).
    pub ca_dir: PathBuf,
    /// The networks providers may be on (`exchange_provider_networks`).
    pub provider_networks: networks::ProviderNetworks,
}

impl Exchange {
    pub async fn start(parts: Parts) -> Result<Self, ExchangeError> {
        let catalog = Catalog::open(parts.db.clone(), parts.provider_networks.clone()).await?;
        let http = forward::provider_client(parts.provider_networks).map_err(|reason| {
            ExchangeError::invalid(
                "provider_networks",
                kernel::Message::new("exchange.provider_networks").with("reason", reason),
            )
        })?;
        let exchange = Self(Arc::new(Inner {
            catalog,
            audit: parts.audit,
            verify_token: parts.verify_token,
            db: parts.db,
            instance: parts.instance,
            max_body: parts.max_body,
            max_request: parts.max_request,
            max_response: parts.max_response,
            metrics: parts.metrics,
            http,
            limiter: limits::Limiter::default(),
            ca_dir: parts.ca_dir,
            ca: Mutex::default(),
            ocsp: std::sync::OnceLock::new(),
        }));
        Ok(exchange)
    }

    /// A member's registered name, for pages that show who did something.
    pub async fn member_name(&self, member: &MemberId) -> Option<String> {
        self.catalog
            .snapshot()
            .await
            .member_name(member)
            .map(str::to_owned)
    }

    /// The platform's certificate authority, created in `ca_dir` on first use.
    pub fn ca(&self) -> Result<Arc<CertificateAuthority>, ExchangeError> {
        let mut slot = self.ca.lock().map_err(|_| {
            ExchangeError::authority(
                "exchange_ca",
                "an earlier use failed midway; restart the server",
            )
        })?;
        if let Some(ca) = slot.as_ref() {
            return Ok(ca.clone());
        }
        let ca = Arc::new(CertificateAuthority::load_or_create(&self.ca_dir)?);
        *slot = Some(ca.clone());
        Ok(ca)
    }

    /// Issues a client certificate to a registered subsystem for `days` days and records it.
    /// Rotation is another call: earlier certificates stay valid until they expire or are
    /// revoked.
    pub async fn issue_certificate(
        &self,
        subsystem: &str,
        key: SubjectKey<'_>,
        days: u32,
        actor: &str,
    ) -> Result<Issued, ExchangeError> {
        self.issue_certificate_replacing(subsystem, key, days, None, actor)
            .await
    }

    /// Like [`Exchange::issue_certificate`]; with `replaced`, that current certificate of the
    /// same subsystem is revoked together with recording the new one (rotation in one step).
    pub async fn issue_certificate_replacing(
        &self,
        subsystem: &str,
        key: SubjectKey<'_>,
        days: u32,
        replaced: Option<&str>,
        actor: &str,
    ) -> Result<Issued, ExchangeError> {
        if !(1..=ca::MAX_DAYS).contains(&days) {
            return Err(ExchangeError::invalid(
                "days",
                kernel::Message::new("exchange.days").with("max", ca::MAX_DAYS),
            ));
        }
        let now = time::OffsetDateTime::now_utc();
        // A little slack before now, for clients whose clocks run behind.
        let from = now - time::Duration::minutes(5);
        let until = now + time::Duration::days(i64::from(days));
        self.issue_and_record(subsystem, key, from, until, replaced, actor)
            .await
    }

    /// Like [`Exchange::issue_certificate`] with an explicit validity (tests of expiry).
    pub async fn issue_certificate_between(
        &self,
        subsystem: &str,
        key: SubjectKey<'_>,
        not_before: time::OffsetDateTime,
        not_after: time::OffsetDateTime,
        actor: &str,
    ) -> Result<Issued, ExchangeError> {
        self.issue_and_record(subsystem, key, not_before, not_after, None, actor)
            .await
    }

    async fn issue_and_record(
        &self,
        subsystem: &str,
        key: SubjectKey<'_>,
        not_before: time::OffsetDateTime,
        not_after: time::OffsetDateTime,
        replaced: Option<&str>,
        actor: &str,
    ) -> Result<Issued, ExchangeError> {
        let id = SubsystemId::parse(subsystem).map_err(|e| ExchangeError::id("subsystem", e))?;
        if !self.catalog.snapshot().await.has_subsystem(&id) {
            return Err(ExchangeError::unknown(error::Entry::Subsystem, &id));
        }
        let issued = self.ca()?.issue(&id, key, not_before, not_after)?;
        self.catalog
            .record_certificate(&id, &issued, replaced, actor)
            .await?;
        tracing::info!(serial = %issued.serial, subsystem = %id, ?replaced, %actor, "issued an exchange client certificate");
        Ok(issued)
    }

    /// The client proves it is the subsystem named in `X-Road-Client` with a client
    /// certificate from the platform CA issued to that subsystem, or else with a machine
    /// access token (client_credentials at /oauth/token) whose subject is that subsystem.
    async fn authenticate(
        &self,
        headers: &HeaderMap,
        (client, client_name): (&ClientId, &str),
        certificate: Option<&ClientCertificate>,
    ) -> Result<Credential, Fault> {
        if let Some(certificate) = certificate {
            return self
                .authenticate_certificate(certificate, (client, client_name))
                .await
                .map(|()| Credential::Certificate);
        }
        let Some(token) = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return Err(Fault::authentication(format!(
                "Client ({}:{client}) presented no credentials: send Authorization: Bearer with a token from the client_credentials grant, or a client certificate from the platform CA on the TLS listener",
                client.object_type()
            )));
        };
        let verified = match (self.verify_token)(token.trim().to_owned()).await {
            Ok(token) => token,
            Err(TokenRejected::Invalid(reason)) => return Err(Fault::authentication(reason)),
            Err(TokenRejected::Unavailable(reason)) => return Err(Fault::internal(reason)),
        };
        if !verified
            .scope
            .split_whitespace()
            .any(|s| s == EXCHANGE_SCOPE)
        {
            return Err(Fault::authentication(format!(
                "the access token lacks the scope {EXCHANGE_SCOPE}"
            )));
        }
        if verified.subject != client_name {
            return Err(Fault::authentication(format!(
                "the access token was issued to {} but X-Road-Client is {}:{client}",
                verified.subject,
                client.object_type()
            )));
        }
        Ok(Credential::Token)
    }
}

/// How the client proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Credential {
    Certificate,
    /// `Authorization` held the gateway's own token, which the provider must not see.
    Token,
}

impl Exchange {
    /// The TLS layer has already checked the chain to the platform CA and the validity
    /// period (RFC 5280 §6, RFC 8446 §4.4.2.4); here the table decides whether the
    /// certificate is still current (not revoked) and whose it is. Like the X-Road security
    /// server, the authenticated subsystem must be exactly the one in `X-Road-Client`.
    async fn authenticate_certificate(
        &self,
        certificate: &ClientCertificate,
        (client, client_name): (&ClientId, &str),
    ) -> Result<(), Fault> {
        let snapshot = self.catalog.snapshot().await;
        let Some(current) = snapshot.certificates.get(&certificate.fingerprint) else {
            return Err(Fault::authentication(format!(
                "the client certificate (SHA-256 {}) is revoked or was not issued by this platform; X-Road-Client is {}:{client}",
                certificate.fingerprint,
                client.object_type()
            )));
        };
        let now = time::OffsetDateTime::now_utc();
        if now < current.not_before || now > current.not_after {
            return Err(Fault::authentication(format!(
                "the client certificate {} of SUBSYSTEM:{} is not valid now (valid {} to {})",
                current.serial,
                current.subsystem,
                store::timestamp::format(current.not_before),
                store::timestamp::format(current.not_after)
            )));
        }
        if current.subsystem != client_name {
            return Err(Fault::authentication(format!(
                "the client certificate was issued to SUBSYSTEM:{} but X-Road-Client is {}:{client}",
                current.subsystem,
                client.object_type()
            )));
        }
        Ok(())
    }
}

#[derive(Debug, serde::Deserialize)]
struct ClientListQuery {
    #[serde(rename = "xRoadInstance")]
    x_road_instance: Option<String>,
}

/// An X-Road error for a protocol version this gateway does not speak (`/r2/…`), so such a
/// client gets an answer it understands rather than a page; `None` for any other path.
pub fn unknown_protocol_version(path: &str) -> Option<Response> {
    let version = path.strip_prefix("/r")?.split('/').next()?;
    let numbered = !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit());
    (numbered && version != "1").then(|| {
        Fault::bad_request(format!(
            "protocol version r{version} is not supported; this gateway speaks r1"
        ))
        .respond(&HeaderMap::new())
    })
}

/// The gateway's routes. They sit outside the platform's page and API layers: the provider's
/// answers pass through unchanged (no error rewriting, no compression), and per-service
/// timeouts replace the global one.
pub fn gateway_routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Exchange: FromRef<S>,
{
    Router::new()
        .route("/r1/{*rest}", any(gateway::r1))
        .route("/listClients", get(list_clients))
        .layer(axum::middleware::map_response(no_sniffing))
}

/// The gateway sits outside the platform's security headers; a provider's answer, an X-Road
/// error or the client list must still never be content-sniffed by a browser into HTML.
async fn no_sniffing(mut response: Response) -> Response {
    response.headers_mut().insert(
        axum::http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// `GET /listClients[?xRoadInstance=X]` (PR-META §2): this node's instance when none is named;
/// JSON when asked for, XML otherwise.
async fn list_clients(
    State(exchange): State<Exchange>,
    Query(query): Query<ClientListQuery>,
    headers: HeaderMap,
) -> Response {
    let snapshot = exchange.catalog.snapshot().await;
    let instance = query
        .x_road_instance
        .as_deref()
        .unwrap_or(&exchange.instance);
    let listing = metadata::list_clients(&snapshot, instance);
    let wants_json = headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if wants_json {
        return axum::Json(listing).into_response();
    }
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><ns2:clientList xmlns:ns1="http://x-road.eu/xsd/identifiers" xmlns:ns2="http://x-road.eu/xsd/xroad.xsd">"#,
    );
    for member in listing
        .get("member")
        .and_then(|m| m.as_array())
        .into_iter()
        .flatten()
    {
        let field = |key: &str| {
            member
                .get("id")
                .and_then(|id| id.get(key))
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let subsystem = match field("subsystem_code") {
            code if code.is_empty() => String::new(),
            code => format!("<ns1:subsystemCode>{code}</ns1:subsystemCode>"),
        };
        let text = |key: &str| {
            member
                .get(key)
                .and_then(|v| v.as_str())
                .map(|v| v.replace('&', "&amp;").replace('<', "&lt;"))
        };
        let name = text("name").unwrap_or_default();
        let subsystem_name = text("subsystem_name")
            .map(|n| format!("<ns2:subsystemName>{n}</ns2:subsystemName>"))
            .unwrap_or_default();
        xml.push_str(&format!(
            "<ns2:member><ns2:id ns1:objectType=\"{}\"><ns1:xRoadInstance>{}</ns1:xRoadInstance><ns1:memberClass>{}</ns1:memberClass><ns1:memberCode>{}</ns1:memberCode>{subsystem}</ns2:id><ns2:name>{name}</ns2:name>{subsystem_name}</ns2:member>",
            field("object_type"),
            field("xroad_instance"),
            field("member_class"),
            field("member_code"),
        ));
    }
    xml.push_str("</ns2:clientList>");
    let mut response = xml.into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/xml;charset=utf-8"),
    );
    response
}
