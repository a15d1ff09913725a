//! The operators' and member administrators' view of the exchange: today's exchanges per
//! member, the latest exchanges, services, rights in force and members. Changes go through
//! the management API (admin.rs).

use askama::Template;
use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use web::lang::Texts;
use web::layout::render;
use web::{Chrome, MaybePrincipal, Problem, Site};

use crate::Exchange;
use crate::admin::Manager;
use crate::catalog::{Right, Service};
use crate::ids::{MemberId, ServiceId};

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
}

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Exchange: FromRef<S>,
    Site: FromRef<S>,
{
    Router::new().route("/exchange", get(page))
}

async fn page(
    chrome: Chrome,
    MaybePrincipal(principal): MaybePrincipal,
    State(exchange): State<Exchange>,
) -> Response {
    let Some(principal) = principal else {
        return Redirect::to("/login?next=/exchange").into_response();
    };
    let t = chrome.t();
    let Ok(manager) = Manager::of(&principal) else {
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
    let member_filter = match (&manager, &own) {
        (Manager::Operator(_), _) => None,
        // An administrator whose agency is no member yet sees nothing.
        (Manager::Member { code, .. }, None) => Some(format!("-/-/{code}")),
        (_, Some(member)) => Some(member.clone()),
    };
    let day = web::reference::today_in_vietnam();
    let counts = match audit::daily_counts(&exchange.db, day).await {
        Ok(counts) => counts,
        Err(error) => return Problem::internal(&error).into_response(),
    };
    let traffic = match audit::recent(&exchange.db, member_filter.as_deref(), LATEST).await {
        Ok(entries) => entries,
        Err(error) => return Problem::internal(&error).into_response(),
    };
    let manages = |id: &str| MemberId::parse(id).is_ok_and(|m| manager.manages(&m));
    let mut services: Vec<Service> = snapshot
        .services
        .values()
        .filter(|s| manager.manages(&s.id.subsystem.member))
        .cloned()
        .collect();
    services.sort_by(|a, b| a.id.cmp(&b.id));
    let mut rights: Vec<Right> = snapshot
        .all_rights()
        .filter(|r| {
            ServiceId::parse(&r.service).is_ok_and(|s| manager.manages(&s.subsystem.member))
        })
        .cloned()
        .collect();
    rights.sort_by(|a, b| a.granted_at.cmp(&b.granted_at));
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
    };
    match render(&page) {
        Ok(body) => chrome.page(t.get("exchange.title"), &body),
        Err(problem) => problem.into_response(),
    }
}
