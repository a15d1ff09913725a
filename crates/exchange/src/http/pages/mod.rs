//! The operators' and member administrators' view of the exchange: today's exchanges per
//! member, the latest exchanges, services, rights in force and members, with forms to add a
//! subsystem and to grant or revoke rights (the same service calls as the API, under the same
//! rules: a member administrator only for its own member), and the client certificates
//! section (certificates.rs).

pub(super) mod certificates;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use web::lang::Texts;
use web::layout::render;
use web::{Authenticated, Chrome, MaybePrincipal, Principal, Problem};

use self::certificates::{PageQuery, Section, Shown};
use crate::Exchange;
use crate::catalog::{ExchangeError, NewRight, Right, Service};
use crate::management::{self, Manager};

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

pub(super) async fn page(
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
async fn show(
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
    let overview = match management::overview(exchange, &manager).await {
        Ok(overview) => overview,
        Err(error) => return Problem::from(error).into_response(),
    };
    let snapshot = exchange.catalog.snapshot().await;
    let certificates =
        match certificates::section(exchange, &manager, &snapshot, certificates).await {
            Ok(section) => section,
            Err(error) => return Problem::from(error).into_response(),
        };
    let page = ExchangePage {
        t,
        member: overview.member,
        counts: overview.counts,
        traffic: overview
            .traffic
            .into_iter()
            .map(|e| Traffic {
                when: web::layout::local_time(&e.at),
                client: e.client,
                service: e.service,
                endpoint: format!("{} {}", e.method, e.path),
                status: e.status,
                millis: format!("{:.1}", e.latency.as_secs_f64() * 1000.0),
            })
            .collect(),
        services: overview.services,
        rights: overview.rights,
        members: overview.members,
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
    result: Result<(), ExchangeError>,
) -> Response {
    match result {
        Ok(()) => Redirect::to("/exchange").into_response(),
        Err(error) => {
            let refusal = Problem::from(error);
            let reason = refusal.detail().to_owned();
            show(
                chrome,
                exchange,
                principal,
                refusal.status(),
                Some(reason),
                Shown::default(),
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub(super) struct SubsystemForm {
    id: String,
    name: String,
}

pub(super) async fn add_subsystem(
    chrome: Chrome,
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    Form(form): Form<SubsystemForm>,
) -> Response {
    let result = async {
        let manager = Manager::of(&principal)?;
        management::add_subsystem(&exchange, &manager, form.id.trim(), &form.name)
            .await
            .map(drop)
    }
    .await;
    outcome(&chrome, &exchange, &principal, result).await
}

#[derive(Deserialize)]
pub(super) struct RightForm {
    client: String,
    service: String,
    method: Option<String>,
    path: Option<String>,
}

pub(super) async fn grant(
    chrome: Chrome,
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    Form(form): Form<RightForm>,
) -> Response {
    let result = async {
        let manager = Manager::of(&principal)?;
        let filled = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let right = NewRight {
            client: form.client.trim().to_owned(),
            service: form.service.trim().to_owned(),
            method: filled(form.method),
            path: filled(form.path),
            fields: None,
        };
        management::grant(&exchange, &manager, right)
            .await
            .map(drop)
    }
    .await;
    outcome(&chrome, &exchange, &principal, result).await
}

pub(super) async fn revoke(
    chrome: Chrome,
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let manager = Manager::of(&principal)?;
        management::revoke(&exchange, &manager, &id).await
    }
    .await;
    outcome(&chrome, &exchange, &principal, result).await
}
