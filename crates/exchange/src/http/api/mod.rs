//! The JSON API for managing the exchange: parse, call [`crate::management`], serialise.

pub(super) mod certificates;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use web::auth::Authenticated;
use web::{ApiJson, Problem};

use crate::Exchange;
use crate::catalog::{Limit, NewRight, NewService, Right, Service};
use crate::management::{self, Manager};

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
pub(super) async fn add_member(
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    ApiJson(unit): ApiJson<NewUnit>,
) -> Result<(StatusCode, Json<Created>), Problem> {
    let manager = Manager::of(&principal)?;
    let id = management::add_member(&exchange, &manager, &unit.id, &unit.name).await?;
    Ok((StatusCode::CREATED, Json(Created { id: id.to_string() })))
}

/// Register a subsystem (an information system) of a member.
#[utoipa::path(post, path = "/api/v1/exchange/subsystems", tag = "exchange", security(("session" = [])), request_body = NewUnit,
    responses((status = 201, body = Created), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn add_subsystem(
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    ApiJson(unit): ApiJson<NewUnit>,
) -> Result<(StatusCode, Json<Created>), Problem> {
    let manager = Manager::of(&principal)?;
    let id = management::add_subsystem(&exchange, &manager, &unit.id, &unit.name).await?;
    Ok((StatusCode::CREATED, Json(Created { id: id.to_string() })))
}

/// Services the caller manages (every service, for an operator).
#[utoipa::path(get, path = "/api/v1/exchange/services", tag = "exchange", security(("session" = [])),
    responses((status = 200, body = Vec<Service>), (status = 403, body = Problem)))]
pub(super) async fn list_services(
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
) -> Result<Json<Vec<Service>>, Problem> {
    let manager = Manager::of(&principal)?;
    Ok(Json(manager.services(&*exchange.catalog.snapshot().await)))
}

/// Register a service: where requests go, its OpenAPI document, its endpoints.
#[utoipa::path(post, path = "/api/v1/exchange/services", tag = "exchange", security(("session" = [])), request_body = NewService,
    responses((status = 201, body = Created), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn add_service(
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    ApiJson(service): ApiJson<NewService>,
) -> Result<(StatusCode, Json<Created>), Problem> {
    let manager = Manager::of(&principal)?;
    let id = management::add_service(&exchange, &manager, service).await?;
    Ok((StatusCode::CREATED, Json(Created { id: id.to_string() })))
}

/// Rights on the services the caller manages.
#[utoipa::path(get, path = "/api/v1/exchange/rights", tag = "exchange", security(("session" = [])),
    responses((status = 200, body = Vec<Right>), (status = 403, body = Problem)))]
pub(super) async fn list_rights(
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
) -> Result<Json<Vec<Right>>, Problem> {
    let manager = Manager::of(&principal)?;
    Ok(Json(manager.rights(&*exchange.catalog.snapshot().await)))
}

/// Grant a client subsystem the use of a service, or of one endpoint of it.
#[utoipa::path(post, path = "/api/v1/exchange/rights", tag = "exchange", security(("session" = [])), request_body = NewRight,
    responses((status = 201, body = Created), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn grant(
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    ApiJson(right): ApiJson<NewRight>,
) -> Result<(StatusCode, Json<Created>), Problem> {
    let manager = Manager::of(&principal)?;
    let id = management::grant(&exchange, &manager, right).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// Revoke a right; calls under it are refused from now on.
#[utoipa::path(delete, path = "/api/v1/exchange/rights/{id}", tag = "exchange", security(("session" = [])),
    params(("id" = String, Path, description = "The right's id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn revoke(
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let manager = Manager::of(&principal)?;
    management::revoke(&exchange, &manager, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitBody {
    pub per_second: u32,
    pub per_day: u64,
}

/// Set a client subsystem's rate limit and daily quota (operators only).
#[utoipa::path(put, path = "/api/v1/exchange/limits/{client}", tag = "exchange", security(("session" = [])), request_body = LimitBody,
    params(("client" = String, Path, description = "INSTANCE/CLASS/MEMBER/SUBSYSTEM, percent-encoded as one segment")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn set_limit(
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    Path(client): Path<String>,
    ApiJson(limit): ApiJson<LimitBody>,
) -> Result<StatusCode, Problem> {
    let manager = Manager::of(&principal)?;
    let limit = Limit {
        per_second: limit.per_second,
        per_day: limit.per_day,
    };
    management::set_limit(&exchange, &manager, &client, limit).await?;
    Ok(StatusCode::NO_CONTENT)
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
pub(super) async fn daily_counts(
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
    let counts = management::daily_counts(&exchange, &manager, day).await?;
    Ok(Json(
        counts
            .into_iter()
            .map(|(member, transactions)| MemberCount {
                member,
                transactions,
            })
            .collect(),
    ))
}
