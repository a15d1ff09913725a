//! Members, subsystems, services, endpoints, access rights and limits: kept in the database,
//! read by the gateway from an in-memory snapshot so that no request waits on a query. Every
//! change made through this node replaces the snapshot at once; changes made by other nodes
//! are picked up within `RELOAD_SECONDS`.

mod certificates;
mod load;
mod snapshot;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use kernel::Message;
use store::{Db, timestamp};
use utoipa::ToSchema;

use crate::error::Entry;
pub use crate::error::ExchangeError;
use crate::ids::{ClientId, MemberId, ServiceId, SubsystemId};
use crate::local::{LOCAL_SCHEME, LocalProviders};
use crate::networks::ProviderNetworks;

pub use snapshot::{
    CertificateInfo, CurrentCertificate, Endpoint, Limit, Right, Service, Snapshot, path_matches,
};

const RELOAD_SECONDS: u64 = 10;

/// What an operator or member administrator registers.
#[derive(Debug, Clone, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewService {
    /// `INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE`
    pub id: String,
    /// `https://…` (plain `http://` only on loopback and private networks of the deployment).
    pub base_url: String,
    pub openapi: Option<String>,
    pub timeout_ms: Option<u64>,
    #[serde(default)]
    pub endpoints: Vec<NewEndpoint>,
}

#[derive(Debug, Clone, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    pub method: String,
    pub path: String,
}

#[derive(Debug, Clone, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRight {
    /// The client: a subsystem `INSTANCE/CLASS/MEMBER/SUBSYSTEM`, or a member
    /// `INSTANCE/CLASS/MEMBER` calling as itself.
    pub client: String,
    pub service: String,
    /// With `path`: only this endpoint; `*` any method.
    pub method: Option<String>,
    pub path: Option<String>,
    /// Fields released under this right, as an in-process provider names them (the registry's
    /// citizen lookup); none means all.
    pub fields: Option<Vec<String>>,
}

const METHODS: [&str; 9] = [
    "*", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE",
];

fn check_method(method: &str) -> Result<String, ExchangeError> {
    let upper = method.trim().to_ascii_uppercase();
    if METHODS.contains(&upper.as_str()) {
        Ok(upper)
    } else {
        Err(ExchangeError::invalid(
            "method",
            Message::new("exchange.method").with("found", format!("{method:?}")),
        ))
    }
}

fn check_path(path: &str) -> Result<String, ExchangeError> {
    let path = path.trim();
    let ok = path.starts_with('/')
        && !path.contains("..")
        && !path.contains('?')
        && !path.chars().any(char::is_whitespace);
    if ok {
        Ok(path.to_owned())
    } else {
        Err(ExchangeError::invalid(
            "path",
            Message::new("exchange.path").with("found", format!("{path:?}")),
        ))
    }
}

fn check_name(name: &str) -> Result<String, ExchangeError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ExchangeError::invalid(
            "name",
            Message::new("exchange.name"),
        ));
    }
    Ok(name.to_owned())
}

/// The one normal form of a base URL (trimmed, no trailing `/`): every check and the stored
/// value use it, so no check can pass on one spelling and the gateway act on another.
pub(crate) fn check_base_url(url: &str) -> Result<String, ExchangeError> {
    let url = url.trim().trim_end_matches('/');
    let local_name = url.strip_prefix(LOCAL_SCHEME).map(|name| {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    let scheme_ok =
        local_name.unwrap_or_else(|| url.starts_with("https://") || url.starts_with("http://"));
    if !scheme_ok || url.contains(['?', '#']) || url.chars().any(char::is_whitespace) {
        return Err(ExchangeError::invalid(
            "base_url",
            Message::new("exchange.base_url")
                .with("found", format!("{url:?}"))
                .with("scheme", LOCAL_SCHEME),
        ));
    }
    Ok(url.to_owned())
}

/// The catalogue service: changes go to the database, reads come from the snapshot.
#[derive(Clone)]
pub struct Catalog {
    db: Db,
    /// The providers in this node (`lienthong:<name>`); each answers only its owner's services.
    pub(crate) local: Arc<LocalProviders>,
    /// Where base URLs may point (checked again at connect time, see networks.rs).
    networks: ProviderNetworks,
    current: Arc<RwLock<(Instant, Arc<Snapshot>)>>,
    reloading: Arc<AtomicBool>,
}

struct ClearOnDrop<'a>(&'a AtomicBool);

impl Drop for ClearOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog").finish_non_exhaustive()
    }
}

impl Catalog {
    pub async fn open(db: Db, networks: ProviderNetworks) -> Result<Self, ExchangeError> {
        let snapshot = load::load(&db).await?;
        Ok(Self {
            db,
            local: Arc::default(),
            networks,
            current: Arc::new(RwLock::new((Instant::now(), Arc::new(snapshot)))),
            reloading: Arc::default(),
        })
    }

    /// The current snapshot; reloads it within this call when it is old.
    pub async fn snapshot(&self) -> Arc<Snapshot> {
        let (loaded, snapshot) = match self.current.read() {
            Ok(current) => (current.0, current.1.clone()),
            Err(_) => return Arc::default(),
        };
        // One caller reloads; the others go on with the last snapshot meanwhile, so a busy
        // gateway does not send every request in flight to the database at once.
        if loaded.elapsed() < Duration::from_secs(RELOAD_SECONDS)
            || self.reloading.swap(true, Ordering::AcqRel)
        {
            return snapshot;
        }
        let reloaded = {
            // Cleared on drop: a caller that goes away mid-reload must not stop later ones.
            let _reloading = ClearOnDrop(&self.reloading);
            self.reload().await
        };
        match reloaded {
            Ok(fresh) => fresh,
            Err(error) => {
                tracing::warn!(%error, "exchange catalogue reload failed; serving the last one");
                snapshot
            }
        }
    }

    async fn reload(&self) -> Result<Arc<Snapshot>, ExchangeError> {
        let fresh = Arc::new(load::load(&self.db).await?);
        if let Ok(mut current) = self.current.write() {
            *current = (Instant::now(), fresh.clone());
        }
        Ok(fresh)
    }

    pub async fn add_member(&self, id: &str, name: &str) -> Result<MemberId, ExchangeError> {
        let id = MemberId::parse(id).map_err(|e| ExchangeError::id("id", e))?;
        let name = check_name(name)?;
        let mut tx = self.db.begin().await?;
        let done = sqlx::query("INSERT INTO exchange_members (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING")
            .bind(id.to_string())
            .bind(&name)
            .bind(timestamp::now())
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        if done.rows_affected() == 0 {
            return Err(ExchangeError::exists(Entry::Member, &id));
        }
        self.reload().await?;
        Ok(id)
    }

    pub async fn add_subsystem(&self, id: &str, name: &str) -> Result<SubsystemId, ExchangeError> {
        let id = SubsystemId::parse(id).map_err(|e| ExchangeError::id("id", e))?;
        let name = check_name(name)?;
        let snapshot = self.snapshot().await;
        if snapshot.member_name(&id.member).is_none() {
            return Err(ExchangeError::unknown(Entry::Member, &id.member));
        }
        if snapshot.has_subsystem(&id) {
            return Err(ExchangeError::exists(Entry::Subsystem, &id));
        }
        let mut tx = self.db.begin().await?;
        sqlx::query("INSERT INTO exchange_subsystems (id, member_id, name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(id.to_string())
            .bind(id.member.to_string())
            .bind(&name)
            .bind(timestamp::now())
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        self.reload().await?;
        Ok(id)
    }

    pub async fn add_service(&self, service: NewService) -> Result<ServiceId, ExchangeError> {
        let id = ServiceId::parse(&service.id).map_err(|e| ExchangeError::id("id", e))?;
        let base_url = check_base_url(&service.base_url)?;
        if base_url.starts_with(LOCAL_SCHEME) {
            let Some(owner) = self.local.owner(&base_url) else {
                return Err(ExchangeError::invalid(
                    "base_url",
                    Message::new("exchange.no_local_provider").with("found", &base_url),
                ));
            };
            if id.subsystem.member != owner.member {
                return Err(ExchangeError::invalid(
                    "base_url",
                    Message::new("exchange.local_owner")
                        .with("owner", &owner.member)
                        .with("found", &base_url),
                ));
            }
        } else {
            self.networks
                .check_base_url(&base_url)
                .await
                .map_err(|reason| {
                    ExchangeError::invalid(
                        "base_url",
                        Message::new("exchange.base_url_unreachable").with("reason", reason),
                    )
                })?;
        }
        let timeout_ms = service.timeout_ms.unwrap_or(30_000);
        if !(100..=300_000).contains(&timeout_ms) {
            return Err(ExchangeError::invalid(
                "timeout_ms",
                Message::new("exchange.timeout"),
            ));
        }
        if let Some(document) = &service.openapi
            && serde_json::from_str::<serde_json::Value>(document)
                .ok()
                .and_then(|v| v.get("openapi").cloned())
                .is_none()
        {
            return Err(ExchangeError::invalid(
                "openapi",
                Message::new("exchange.openapi"),
            ));
        }
        let endpoints = service
            .endpoints
            .iter()
            .map(|e| Ok((check_method(&e.method)?, check_path(&e.path)?)))
            .collect::<Result<Vec<_>, ExchangeError>>()?;
        let snapshot = self.snapshot().await;
        if !snapshot.has_subsystem(&id.subsystem) {
            return Err(ExchangeError::unknown(Entry::Subsystem, &id.subsystem));
        }
        if snapshot.services.contains_key(&id) {
            return Err(ExchangeError::exists(Entry::Service, &id));
        }
        let mut tx = self.db.begin().await?;
        sqlx::query("INSERT INTO exchange_services (id, subsystem_id, base_url, openapi, timeout_ms, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(id.to_string())
            .bind(id.subsystem.to_string())
            .bind(&base_url)
            .bind(&service.openapi)
            .bind(i64::try_from(timeout_ms).unwrap_or(30_000))
            .bind(timestamp::now())
            .execute(tx.conn())
            .await?;
        for (method, path) in endpoints {
            sqlx::query("INSERT INTO exchange_endpoints (service_id, method, path) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(id.to_string())
                .bind(method)
                .bind(path)
                .execute(tx.conn())
                .await?;
        }
        tx.commit().await?;
        self.reload().await?;
        Ok(id)
    }

    /// Grants a right; returns its id.
    pub async fn grant(&self, right: NewRight, actor: &str) -> Result<String, ExchangeError> {
        let client = ClientId::parse(&right.client).map_err(|e| ExchangeError::id("client", e))?;
        let service =
            ServiceId::parse(&right.service).map_err(|e| ExchangeError::id("service", e))?;
        let method = right.method.as_deref().map(check_method).transpose()?;
        let path = right.path.as_deref().map(check_path).transpose()?;
        if method.is_some() != path.is_some() {
            return Err(ExchangeError::invalid(
                "path",
                Message::new("exchange.endpoint_pair"),
            ));
        }
        let fields = right
            .fields
            .map(|fields| {
                fields
                    .iter()
                    .map(|f| {
                        let f = f.trim();
                        if self.local.releases_field(f) {
                            Ok(f.to_owned())
                        } else {
                            Err(ExchangeError::invalid(
                                "fields",
                                Message::new("exchange.registry_field")
                                    .with("found", format!("{f:?}")),
                            ))
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let snapshot = self.snapshot().await;
        if !snapshot.has_client(&client) {
            return Err(ExchangeError::unknown(
                Entry::Client,
                format!("{} {client}", client.object_type()),
            ));
        }
        if !snapshot.services.contains_key(&service) {
            return Err(ExchangeError::unknown(Entry::Service, &service));
        }
        let id = uuid::Uuid::now_v7().to_string();
        let mut tx = self.db.begin().await?;
        sqlx::query("INSERT INTO exchange_rights (id, client_id, service_id, method, path, fields, granted_by, granted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(&id)
            .bind(client.to_string())
            .bind(service.to_string())
            .bind(method)
            .bind(path)
            .bind(fields.map(|f| f.join(",")))
            .bind(actor)
            .bind(timestamp::now())
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        self.reload().await?;
        Ok(id)
    }

    pub async fn revoke(&self, right_id: &str, actor: &str) -> Result<(), ExchangeError> {
        let mut tx = self.db.begin().await?;
        let done = sqlx::query("UPDATE exchange_rights SET revoked_by = $1, revoked_at = $2 WHERE id = $3 AND revoked_at IS NULL")
            .bind(actor)
            .bind(timestamp::now())
            .bind(right_id)
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        if done.rows_affected() == 0 {
            return Err(ExchangeError::unknown(Entry::Right, right_id));
        }
        self.reload().await?;
        Ok(())
    }

    pub async fn set_limit(&self, client: &str, limit: Limit) -> Result<(), ExchangeError> {
        let client = ClientId::parse(client).map_err(|e| ExchangeError::id("client", e))?;
        if limit.per_second == 0 || limit.per_day == 0 {
            return Err(ExchangeError::invalid(
                "per_second",
                Message::new("exchange.limits"),
            ));
        }
        if !self.snapshot().await.has_client(&client) {
            return Err(ExchangeError::unknown(
                Entry::Client,
                format!("{} {client}", client.object_type()),
            ));
        }
        let mut tx = self.db.begin().await?;
        sqlx::query("INSERT INTO exchange_limits (client_id, per_second, per_day) VALUES ($1, $2, $3) ON CONFLICT (client_id) DO UPDATE SET per_second = $2, per_day = $3")
            .bind(client.to_string())
            .bind(i64::from(limit.per_second))
            .bind(i64::try_from(limit.per_day).unwrap_or(i64::MAX))
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        self.reload().await?;
        Ok(())
    }
}
