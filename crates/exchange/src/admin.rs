//! Managing the exchange: operators (role `exchange.operator`) manage everything; a member
//! administrator (role `exchange.admin` in an agency) manages the subsystems and services of
//! the member whose code is that agency's, and decides who may use its services, as a
//! provider's administrator does in X-Road. Every grant and revocation records who and when.

use axum::Json;
use axum::extract::{FromRef, Path, Query, State};
use axum::http::StatusCode;
use kernel::Role;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use web::auth::Authenticated;
use web::{ApiJson, Principal, Problem};

use crate::Exchange;
use crate::catalog::{ExchangeError, Limit, NewRight, NewService, Right, Service, Snapshot};
use crate::ids::{MemberId, ServiceId, SubsystemId};

/// Who is acting, and over which members.
pub(crate) enum Manager {
    Operator(String),
    /// A member administrator: the member code it administers.
    Member {
        actor: String,
        code: String,
    },
}

impl Manager {
    pub(crate) fn of(principal: &Principal) -> Result<Self, Problem> {
        if principal.agency_with(Role::ExchangeOperator).is_some() {
            return Ok(Self::Operator(principal.actor()));
        }
        match principal.agency_with(Role::ExchangeAdmin) {
            Some(agency) => Ok(Self::Member {
                actor: principal.actor(),
                code: agency.to_owned(),
            }),
            None => Err(Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "managing the exchange needs the role {} or {}",
                    Role::ExchangeOperator,
                    Role::ExchangeAdmin
                ),
            )),
        }
    }

    pub(crate) fn actor(&self) -> &str {
        match self {
            Self::Operator(actor) | Self::Member { actor, .. } => actor,
        }
    }

    pub(crate) fn manages(&self, member: &MemberId) -> bool {
        match self {
            Self::Operator(_) => true,
            Self::Member { code, .. } => &member.code == code,
        }
    }

    /// The services this manager may see and change, in identifier order.
    pub(crate) fn services(&self, snapshot: &Snapshot) -> Vec<Service> {
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
    pub(crate) fn rights(&self, snapshot: &Snapshot) -> Vec<Right> {
        let mut rights: Vec<Right> = snapshot
            .all_rights()
            .filter(|r| {
                ServiceId::parse(&r.service).is_ok_and(|s| self.manages(&s.subsystem.member))
            })
            .cloned()
            .collect();
        rights.sort_by(|a, b| a.granted_at.cmp(&b.granted_at));
        rights
    }

    pub(crate) fn require(&self, member: &MemberId) -> Result<(), Problem> {
        if self.manages(member) {
            Ok(())
        } else {
            Err(Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("only an operator or the administrator of {member} may change it"),
            ))
        }
    }

    fn operator_only(&self) -> Result<(), Problem> {
        match self {
            Self::Operator(_) => Ok(()),
            Self::Member { .. } => Err(Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("this needs the role {}", Role::ExchangeOperator),
            )),
        }
    }
}

pub(crate) fn parse<T>(
    parsed: Result<T, crate::ids::InvalidId>,
    field: &'static str,
) -> Result<T, Problem> {
    parsed.map_err(|e| {
        Problem::from(ExchangeError::Invalid {
            field,
            reason: e.to_string(),
        })
    })
}

pub fn api_routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Exchange: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(add_member))
        .routes(routes!(add_subsystem))
        .routes(routes!(list_services, add_service))
        .routes(routes!(list_rights, grant))
        .routes(routes!(revoke))
        .routes(routes!(set_limit))
        .routes(routes!(daily_counts))
        .merge(crate::certificates::api_routes())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUnit {
    /// `INSTANCE/CLASS/MEMBER` for a member, `…/SUBSYSTEM` for a subsystem.
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    pub id: String,
}

/// Register a member (operators only).
#[utoipa::path(post, path = "/api/v1/exchange/members", tag = "exchange", security(("session" = [])), request_body = NewUnit,
    responses((status = 201, body = Created), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn add_member(
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    ApiJson(unit): ApiJson<NewUnit>,
) -> Result<(StatusCode, Json<Created>), Problem> {
    Manager::of(&principal)?.operator_only()?;
    let id = exchange
        .catalog
        .add_member(&unit.id, &unit.name)
        .await
        .map_err(Problem::from)?;
    Ok((StatusCode::CREATED, Json(Created { id: id.to_string() })))
}

/// Register a subsystem (an information system) of a member.
#[utoipa::path(post, path = "/api/v1/exchange/subsystems", tag = "exchange", security(("session" = [])), request_body = NewUnit,
    responses((status = 201, body = Created), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_subsystem(
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    ApiJson(unit): ApiJson<NewUnit>,
) -> Result<(StatusCode, Json<Created>), Problem> {
    let manager = Manager::of(&principal)?;
    let id = parse(SubsystemId::parse(&unit.id), "id")?;
    manager.require(&id.member)?;
    let id = exchange
        .catalog
        .add_subsystem(&unit.id, &unit.name)
        .await
        .map_err(Problem::from)?;
    Ok((StatusCode::CREATED, Json(Created { id: id.to_string() })))
}

/// Services the caller manages (every service, for an operator).
#[utoipa::path(get, path = "/api/v1/exchange/services", tag = "exchange", security(("session" = [])),
    responses((status = 200, body = Vec<Service>), (status = 403, body = Problem)))]
async fn list_services(
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
) -> Result<Json<Vec<Service>>, Problem> {
    let manager = Manager::of(&principal)?;
    Ok(Json(manager.services(&*exchange.catalog.snapshot().await)))
}

/// Register a service: where requests go, its OpenAPI document, its endpoints.
#[utoipa::path(post, path = "/api/v1/exchange/services", tag = "exchange", security(("session" = [])), request_body = NewService,
    responses((status = 201, body = Created), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_service(
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    ApiJson(service): ApiJson<NewService>,
) -> Result<(StatusCode, Json<Created>), Problem> {
    let manager = Manager::of(&principal)?;
    let id = parse(ServiceId::parse(&service.id), "id")?;
    manager.require(&id.subsystem.member)?;
    // Checked in the form it is stored in: `lienthong:registry/` is `lienthong:registry`.
    let base_url = crate::catalog::check_base_url(&service.base_url).map_err(Problem::from)?;
    if base_url.starts_with(crate::local::LOCAL_SCHEME) {
        manager.operator_only()?;
    }
    let id = exchange
        .catalog
        .add_service(NewService {
            base_url,
            ..service
        })
        .await
        .map_err(Problem::from)?;
    Ok((StatusCode::CREATED, Json(Created { id: id.to_string() })))
}

/// Rights on the services the caller manages.
#[utoipa::path(get, path = "/api/v1/exchange/rights", tag = "exchange", security(("session" = [])),
    responses((status = 200, body = Vec<Right>), (status = 403, body = Problem)))]
async fn list_rights(
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
) -> Result<Json<Vec<Right>>, Problem> {
    let manager = Manager::of(&principal)?;
    Ok(Json(manager.rights(&*exchange.catalog.snapshot().await)))
}

/// Grant a client subsystem the use of a service, or of one endpoint of it.
#[utoipa::path(post, path = "/api/v1/exchange/rights", tag = "exchange", security(("session" = [])), request_body = NewRight,
    responses((status = 201, body = Created), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn grant(
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    ApiJson(right): ApiJson<NewRight>,
) -> Result<(StatusCode, Json<Created>), Problem> {
    let manager = Manager::of(&principal)?;
    let service = parse(ServiceId::parse(&right.service), "service")?;
    manager.require(&service.subsystem.member)?;
    let id = exchange
        .catalog
        .grant(right, manager.actor())
        .await
        .map_err(Problem::from)?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// Revoke a right; calls under it are refused from now on.
#[utoipa::path(delete, path = "/api/v1/exchange/rights/{id}", tag = "exchange", security(("session" = [])),
    params(("id" = String, Path, description = "The right's id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn revoke(
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let manager = Manager::of(&principal)?;
    let snapshot = exchange.catalog.snapshot().await;
    let right = snapshot
        .all_rights()
        .find(|r| r.id == id)
        .ok_or_else(|| Problem::not_found("not-found", format!("no active right {id}")))?;
    let service = parse(ServiceId::parse(&right.service), "service")?;
    manager.require(&service.subsystem.member)?;
    exchange
        .catalog
        .revoke(&id, manager.actor())
        .await
        .map_err(Problem::from)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set a client subsystem's rate limit and daily quota (operators only).
#[utoipa::path(put, path = "/api/v1/exchange/limits/{client}", tag = "exchange", security(("session" = [])), request_body = LimitBody,
    params(("client" = String, Path, description = "INSTANCE/CLASS/MEMBER/SUBSYSTEM, percent-encoded as one segment")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_limit(
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    Path(client): Path<String>,
    ApiJson(limit): ApiJson<LimitBody>,
) -> Result<StatusCode, Problem> {
    Manager::of(&principal)?.operator_only()?;
    exchange
        .catalog
        .set_limit(
            &client,
            Limit {
                per_second: limit.per_second,
                per_day: limit.per_day,
            },
        )
        .await
        .map_err(Problem::from)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitBody {
    pub per_second: u32,
    pub per_day: u64,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct DayQuery {
    /// A day in Vietnam time, YYYY-MM-DD; today when absent.
    pub date: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberCount {
    pub member: String,
    pub transactions: i64,
}

/// Transactions per client member on one day (for the operations centre).
#[utoipa::path(get, path = "/api/v1/exchange/daily-counts", tag = "exchange", security(("session" = [])), params(DayQuery),
    responses((status = 200, body = Vec<MemberCount>), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn daily_counts(
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    Query(query): Query<DayQuery>,
) -> Result<Json<Vec<MemberCount>>, Problem> {
    let manager = Manager::of(&principal)?;
    let day = match query.date.as_deref() {
        None => web::reference::today_in_vietnam(),
        Some(text) => time::Date::parse(
            text,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .map_err(|_| {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-field",
                format!("date: {text:?} is not YYYY-MM-DD"),
            )
            .field("date")
        })?,
    };
    exchange.audit.settled().await;
    let counts = audit::daily_counts(&exchange.db, day)
        .await
        .map_err(|e| Problem::internal(&e))?;
    Ok(Json(
        counts
            .into_iter()
            .filter(|(member, _)| MemberId::parse(member).is_ok_and(|m| manager.manages(&m)))
            .map(|(member, transactions)| MemberCount {
                member,
                transactions,
            })
            .collect(),
    ))
}
