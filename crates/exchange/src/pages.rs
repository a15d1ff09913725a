//! The operators' and member administrators' view of the exchange: today's exchanges per
//! member, the latest exchanges, services, rights in force and members, with forms to add a
//! subsystem and to grant or revoke rights (the same catalogue calls as the API in admin.rs,
//! under the same rules: a member administrator only for its own member), and the client
//! certificates section (certificate_pages.rs).

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{FromRef, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use web::lang::Texts;
use web::layout::render;
use web::{Authenticated, Chrome, MaybePrincipal, Principal, Problem, Site};

use crate::Exchange;
use crate::admin::Manager;
use crate::catalog::{ExchangeError, NewRight, Right, Service};
use crate::certificate_pages::{self, PageQuery, Section, Shown};
use crate::ids::{MemberId, ServiceId, SubsystemId};

const LATEST: i64 = 50;

pub struct Traffic {
    pub when: String,
    pub client: String,
    pub service: String,
    pub endpoint: String,
    pub status: u16,
    pub millis: String,
}

#[derive(Template)]
#[template(path = "exchange.html")]
struct ExchangePage<'a> {
    t: &'a Texts,
    member: Option<String>,
    counts: Vec<(String, i64)>,
    traffic: Vec<Traffic>,
    services: Vec<Service>,
    rights: Vec<Right>,
    members: Vec<(String, String)>,
    certificates: Section,
    error: Option<String>,
}

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Exchange: FromRef<S>,
    Site: FromRef<S>,
{
    Router::new()
        .route("/exchange", get(page))
        .route("/exchange/subsystems", post(add_subsystem))
        .route("/exchange/rights", post(grant))
        .route("/exchange/rights/{id}/revoke", post(revoke))
        .merge(certificate_pages::routes())
}

async fn page(
    chrome: Chrome,
    MaybePrincipal(principal): MaybePrincipal,
    State(exchange): State<Exchange>,
    Query(query): Query<PageQuery>,
) -> Response {
    let Some(principal) = principal else {
        return Redirect::to("/login?next=/exchange").into_response();
    };
    let shown = Shown::issued(query.issued);
    show(&chrome, &exchange, &principal, StatusCode::OK, None, shown).await
}

/// The page, with `error` above everything when a change was refused, and the certificates
/// section showing what `certificates` says.
pub(crate) async fn show(
    chrome: &Chrome,
    exchange: &Exchange,
    principal: &Principal,
    status: StatusCode,
    error: Option<String>,
    certificates: Shown,
) -> Response {
    let t = chrome.t();
    let Ok(manager) = Manager::of(principal) else {
        return chrome.page_with_status(
            StatusCode::FORBIDDEN,
            t.get("exchange.title"),
            &format!("<p>{}</p>", t.get("exchange.forbidden")),
        );
    };
    let snapshot = exchange.catalog.snapshot().await;
    let own = match &manager {
        Manager::Operator(_) => None,
        Manager::Member { code, .. } => snapshot
            .members
            .iter()
            .find(|(m, _)| &m.code == code)
            .map(|(m, _)| m.to_string()),
    };
    let day = web::reference::today_in_vietnam();
    exchange.audit.settled().await;
    let counts = match audit::daily_counts(&exchange.db, day).await {
        Ok(counts) => counts,
        Err(error) => return Problem::internal(&error).into_response(),
    };
    let traffic = match (&manager, &own) {
        (Manager::Operator(_), _) => audit::recent(&exchange.db, None, LATEST).await,
        (_, Some(member)) => audit::recent(&exchange.db, Some(member), LATEST).await,
        // An administrator whose agency is no member yet has no traffic to see.
        (Manager::Member { .. }, None) => Ok(Vec::new()),
    };
    let traffic = match traffic {
        Ok(entries) => entries,
        Err(error) => return Problem::internal(&error).into_response(),
    };
    let manages = |id: &str| MemberId::parse(id).is_ok_and(|m| manager.manages(&m));
    let services = manager.services(&snapshot);
    let rights = manager.rights(&snapshot);
    let certificates =
        match certificate_pages::section(exchange, &manager, &snapshot, certificates).await {
            Ok(section) => section,
            Err(problem) => return problem.into_response(),
        };
    let page = ExchangePage {
        t,
        member: own,
        counts: counts.into_iter().filter(|(m, _)| manages(m)).collect(),
        traffic: traffic
            .into_iter()
            .map(|e| Traffic {
                when: web::layout::local_time(&store::timestamp::format(e.at)),
                client: e.client,
                service: e.service,
                endpoint: format!("{} {}", e.method, e.path),
                status: e.status,
                millis: format!("{:.1}", e.latency.as_secs_f64() * 1000.0),
            })
            .collect(),
        services,
        rights,
        members: snapshot
            .members
            .iter()
            .filter(|(m, _)| manager.manages(m))
            .map(|(m, n)| (m.to_string(), n.clone()))
            .collect(),
        certificates,
        error,
    };
    match render(&page) {
        Ok(body) => chrome.page_with_status(status, t.get("exchange.title"), &body),
        Err(problem) => problem.into_response(),
    }
}

/// After a change: back to the page, or the page again with the reason for a refusal.
async fn outcome(
    chrome: &Chrome,
    exchange: &Exchange,
    principal: &Principal,
    result: Result<(), (StatusCode, String)>,
) -> Response {
    match result {
        Ok(()) => Redirect::to("/exchange").into_response(),
        Err((status, reason)) => {
            show(
                chrome,
                exchange,
                principal,
                status,
                Some(reason),
                Shown::default(),
            )
            .await
        }
    }
}

fn refused(error: ExchangeError) -> (StatusCode, String) {
    let problem = Problem::from(error);
    (problem.status(), problem.detail().to_owned())
}

fn forbidden(what: &impl std::fmt::Display) -> (StatusCode, String) {
    (
        StatusCode::FORBIDDEN,
        format!("only an operator or the administrator of {what} may change it"),
    )
}

fn manager_of(principal: &Principal) -> Result<Manager, (StatusCode, String)> {
    Manager::of(principal).map_err(|p| (p.status(), p.detail().to_owned()))
}

#[derive(Deserialize)]
struct SubsystemForm {
    id: String,
    name: String,
}

async fn add_subsystem(
    chrome: Chrome,
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    Form(form): Form<SubsystemForm>,
) -> Response {
    let result = async {
        let manager = manager_of(&principal)?;
        let id = SubsystemId::parse(form.id.trim())
            .map_err(|e| (StatusCode::UNPROCESSABLE_ENTITY, format!("id: {e}")))?;
        if !manager.manages(&id.member) {
            return Err(forbidden(&id.member));
        }
        exchange
            .catalog
            .add_subsystem(form.id.trim(), &form.name)
            .await
            .map(drop)
            .map_err(refused)
    }
    .await;
    outcome(&chrome, &exchange, &principal, result).await
}

#[derive(Deserialize)]
struct RightForm {
    client: String,
    service: String,
    method: Option<String>,
    path: Option<String>,
}

async fn grant(
    chrome: Chrome,
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    Form(form): Form<RightForm>,
) -> Response {
    let result = async {
        let manager = manager_of(&principal)?;
        let service = ServiceId::parse(form.service.trim())
            .map_err(|e| (StatusCode::UNPROCESSABLE_ENTITY, format!("service: {e}")))?;
        if !manager.manages(&service.subsystem.member) {
            return Err(forbidden(&service.subsystem.member));
        }
        let filled = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let right = NewRight {
            client: form.client.trim().to_owned(),
            service: form.service.trim().to_owned(),
            method: filled(form.method),
            path: filled(form.path),
            fields: None,
        };
        exchange
            .catalog
            .grant(right, &principal.actor())
            .await
            .map(drop)
            .map_err(refused)
    }
    .await;
    outcome(&chrome, &exchange, &principal, result).await
}

async fn revoke(
    chrome: Chrome,
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let manager = manager_of(&principal)?;
        let snapshot = exchange.catalog.snapshot().await;
        let right = snapshot
            .all_rights()
            .find(|r| r.id == id)
            .ok_or_else(|| (StatusCode::NOT_FOUND, format!("no active right {id}")))?;
        let service = ServiceId::parse(&right.service)
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        if !manager.manages(&service.subsystem.member) {
            return Err(forbidden(&service.subsystem.member));
        }
        exchange
            .catalog
            .revoke(&id, &principal.actor())
            .await
            .map_err(refused)
    }
    .await;
    outcome(&chrome, &exchange, &principal, result).await
}
