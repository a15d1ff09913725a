//! Managing the exchange: operators (role `exchange.operator`) manage everything; a member
//! administrator (role `exchange.admin` in an agency) manages the subsystems and services of
//! the member whose code is that agency's, and decides who may use its services, as a
//! provider's administrator does in X-Road. Every grant and revocation records who and when.
//! The API and the pages both call these functions, so the rules hold whichever is used.

pub mod certificates;

use kernel::Role;
use web::Principal;

use crate::catalog::{ExchangeError, Limit, NewRight, NewService, Right, Service, Snapshot};
use crate::ids::{InvalidId, MemberId, ServiceId, SubsystemId};
use crate::{Exchange, local};

/// Exchanges the overview lists, newest first.
const LATEST: i64 = 50;

/// Who is acting, and over which members. Only [`Manager::of`] makes one.
pub enum Manager {
    Operator(String),
    /// A member administrator: the member code it administers.
    Member {
        actor: String,
        code: String,
    },
}

impl Manager {
    /// The caller as an operator or a member administrator, or refused.
    pub fn of(principal: &Principal) -> Result<Self, ExchangeError> {
        if principal.agency_with(Role::ExchangeOperator).is_some() {
            return Ok(Self::Operator(principal.actor()));
        }
        match principal.agency_with(Role::ExchangeAdmin) {
            Some(agency) => Ok(Self::Member {
                actor: principal.actor(),
                code: agency.to_owned(),
            }),
            None => Err(ExchangeError::Forbidden(format!(
                "managing the exchange needs the role {} or {}",
                Role::ExchangeOperator,
                Role::ExchangeAdmin
            ))),
        }
    }

    pub fn actor(&self) -> &str {
        match self {
            Self::Operator(actor) | Self::Member { actor, .. } => actor,
        }
    }

    pub fn manages(&self, member: &MemberId) -> bool {
        match self {
            Self::Operator(_) => true,
            Self::Member { code, .. } => &member.code == code,
        }
    }

    /// The services this manager may see and change, in identifier order.
    pub fn services(&self, snapshot: &Snapshot) -> Vec<Service> {
        let mut services: Vec<Service> = snapshot
            .services
            .values()
            .filter(|s| self.manages(&s.id.subsystem.member))
            .cloned()
            .collect();
        services.sort_by(|a, b| a.id.cmp(&b.id));
        services
    }

    /// The rights in force on those services, oldest first.
    pub fn rights(&self, snapshot: &Snapshot) -> Vec<Right> {
        let mut rights: Vec<Right> = snapshot
            .all_rights()
            .filter(|r| {
                ServiceId::parse(&r.service).is_ok_and(|s| self.manages(&s.subsystem.member))
            })
            .cloned()
            .collect();
        rights.sort_by_key(|right| right.granted_at);
        rights
    }

    pub fn require(&self, member: &MemberId) -> Result<(), ExchangeError> {
        if self.manages(member) {
            Ok(())
        } else {
            Err(ExchangeError::Forbidden(format!(
                "only an operator or the administrator of {member} may change it"
            )))
        }
    }

    fn operator_only(&self) -> Result<(), ExchangeError> {
        match self {
            Self::Operator(_) => Ok(()),
            Self::Member { .. } => Err(ExchangeError::Forbidden(format!(
                "this needs the role {}",
                Role::ExchangeOperator
            ))),
        }
    }
}

/// An identifier the caller typed, or 422 naming the field.
pub(crate) fn parse<T>(
    parsed: Result<T, InvalidId>,
    field: &'static str,
) -> Result<T, ExchangeError> {
    parsed.map_err(|e| ExchangeError::id(field, e))
}

/// Registers a member (operators only).
pub async fn add_member(
    exchange: &Exchange,
    manager: &Manager,
    id: &str,
    name: &str,
) -> Result<MemberId, ExchangeError> {
    manager.operator_only()?;
    exchange.catalog.add_member(id, name).await
}

/// Registers a subsystem of a member the manager manages.
pub async fn add_subsystem(
    exchange: &Exchange,
    manager: &Manager,
    id: &str,
    name: &str,
) -> Result<SubsystemId, ExchangeError> {
    let parsed = parse(SubsystemId::parse(id), "id")?;
    manager.require(&parsed.member)?;
    exchange.catalog.add_subsystem(id, name).await
}

/// Registers a service of a member the manager manages; an in-process provider's address
/// only an operator may name.
pub async fn add_service(
    exchange: &Exchange,
    manager: &Manager,
    service: NewService,
) -> Result<ServiceId, ExchangeError> {
    let id = parse(ServiceId::parse(&service.id), "id")?;
    manager.require(&id.subsystem.member)?;
    // Checked in the form it is stored in: `lienthong:registry/` is `lienthong:registry`.
    let base_url = crate::catalog::check_base_url(&service.base_url)?;
    if base_url.starts_with(local::LOCAL_SCHEME) {
        manager.operator_only()?;
    }
    exchange
        .catalog
        .add_service(NewService {
            base_url,
            ..service
        })
        .await
}

/// Grants a client the use of a service the manager manages; returns the right's id.
pub async fn grant(
    exchange: &Exchange,
    manager: &Manager,
    right: NewRight,
) -> Result<String, ExchangeError> {
    let service = parse(ServiceId::parse(&right.service), "service")?;
    manager.require(&service.subsystem.member)?;
    exchange.catalog.grant(right, manager.actor()).await
}

/// Revokes a right in force on a service the manager manages.
pub async fn revoke(exchange: &Exchange, manager: &Manager, id: &str) -> Result<(), ExchangeError> {
    let snapshot = exchange.catalog.snapshot().await;
    let right = snapshot
        .all_rights()
        .find(|r| r.id == id)
        .ok_or_else(|| ExchangeError::NoActiveRight(id.to_owned()))?;
    let service = parse(ServiceId::parse(&right.service), "service")?;
    manager.require(&service.subsystem.member)?;
    exchange.catalog.revoke(id, manager.actor()).await
}

/// Sets a client subsystem's rate limit and daily quota (operators only).
pub async fn set_limit(
    exchange: &Exchange,
    manager: &Manager,
    client: &str,
    limit: Limit,
) -> Result<(), ExchangeError> {
    manager.operator_only()?;
    exchange.catalog.set_limit(client, limit).await
}

/// Exchanges per client member on `day` (Vietnam time), of the members the manager manages.
pub async fn daily_counts(
    exchange: &Exchange,
    manager: &Manager,
    day: time::Date,
) -> Result<Vec<(String, i64)>, ExchangeError> {
    exchange.audit.settled().await;
    let counts = audit::daily_counts(&exchange.db, day).await?;
    Ok(counts
        .into_iter()
        .filter(|(member, _)| MemberId::parse(member).is_ok_and(|m| manager.manages(&m)))
        .collect())
}

/// What the manager's overview shows: its own member (none for an operator), today's
/// exchanges per member, the latest exchanges, and the services, rights and members it
/// manages.
pub struct Overview {
    pub member: Option<String>,
    pub counts: Vec<(String, i64)>,
    pub traffic: Vec<audit::Entry>,
    pub services: Vec<Service>,
    pub rights: Vec<Right>,
    pub members: Vec<(String, String)>,
}

pub async fn overview(exchange: &Exchange, manager: &Manager) -> Result<Overview, ExchangeError> {
    let snapshot = exchange.catalog.snapshot().await;
    let own = match manager {
        Manager::Operator(_) => None,
        Manager::Member { code, .. } => snapshot
            .members
            .iter()
            .find(|(m, _)| &m.code == code)
            .map(|(m, _)| m.to_string()),
    };
    let counts = daily_counts(exchange, manager, web::reference::today_in_vietnam()).await?;
    let traffic = match (manager, &own) {
        (Manager::Operator(_), _) => audit::recent(&exchange.db, None, LATEST).await?,
        (_, Some(member)) => audit::recent(&exchange.db, Some(member), LATEST).await?,
        // An administrator whose agency is no member yet has no traffic to see.
        (Manager::Member { .. }, None) => Vec::new(),
    };
    Ok(Overview {
        member: own,
        counts,
        traffic,
        services: manager.services(&snapshot),
        rights: manager.rights(&snapshot),
        members: snapshot
            .members
            .iter()
            .filter(|(m, _)| manager.manages(m))
            .map(|(m, n)| (m.to_string(), n.clone()))
            .collect(),
    })
}
