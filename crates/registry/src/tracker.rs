//! The data tracker: a signed-in citizen sees every access to their data, across the
//! exchange (from the audit log, each entry naming the citizen it concerned: agencies' calls,
//! the e-ID system's reads for relying parties, banks' identity checks) and the officials'
//! views of their registry record (from the registry's view log). Estonia offers this for
//! some 16 of 300 registers; here every access is in. It reads the audit log's and the
//! exchange's public APIs only.

use askama::Template;
use axum::Router;
use axum::extract::{FromRef, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use exchange::{Exchange, MemberId, ServiceId, SubsystemId};
use web::lang::Texts;
use web::layout::render;
use web::{Chrome, MaybePrincipal, Problem, Site};

use crate::{Registry, ViewEntry};

/// How many of the latest accesses the page lists.
const SHOWN: i64 = 200;

pub struct Row {
    pub when: String,
    pub who: String,
    pub service: String,
    pub purpose: String,
}

#[derive(Template)]
#[template(path = "tracker.html")]
struct TrackerPage<'a> {
    t: &'a Texts,
    exchanges: Vec<Row>,
    views: Vec<ViewEntry>,
}

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Exchange: FromRef<S>,
    Registry: FromRef<S>,
    audit::AuditLog: FromRef<S>,
    Site: FromRef<S>,
{
    Router::new().route("/account/data-tracker", get(page))
}

async fn page(
    chrome: Chrome,
    MaybePrincipal(principal): MaybePrincipal,
    State(exchange): State<Exchange>,
    State(registry): State<Registry>,
    State(audit_log): State<audit::AuditLog>,
) -> Response {
    let Some(principal) = principal else {
        return Redirect::to("/login?next=/account/data-tracker").into_response();
    };
    let subject = principal.personal_id.to_string();
    audit_log.settled().await;
    let entries = match audit::entries_about(registry.db(), &subject, SHOWN).await {
        Ok(entries) => entries,
        Err(error) => return Problem::internal(&error).into_response(),
    };
    let views = match registry.views_of(principal.personal_id).await {
        Ok(views) => views,
        Err(error) => return Problem::internal(&error).into_response(),
    };
    let t = chrome.t();
    let mut exchanges = Vec::with_capacity(entries.len());
    for entry in entries {
        exchanges.push(row(&exchange, entry, t).await);
    }
    match render(&TrackerPage {
        t,
        exchanges,
        views,
    }) {
        Ok(body) => chrome.page(t.get("tracker.title"), &body),
        Err(problem) => problem.into_response(),
    }
}

/// One access as the citizen reads it: by the member's registered name, and, where the
/// client acted for someone (a relying party, a bank, an official), for whom.
async fn row(exchange: &Exchange, entry: audit::Entry, t: &Texts) -> Row {
    let member = SubsystemId::parse(&entry.client)
        .map(|client| client.member)
        .or_else(|_| MemberId::parse(&entry.client));
    let member_name = match &member {
        Ok(member) => exchange.member_name(member).await,
        Err(_) => None,
    }
    .unwrap_or_else(|| entry.client.clone());
    let who = match entry.user_id {
        Some(user) => format!("{user} ({member_name})"),
        None => member_name,
    };
    let service = match ServiceId::parse(&entry.service) {
        Ok(service) => {
            let provider = exchange
                .member_name(&service.subsystem.member)
                .await
                .unwrap_or_else(|| service.subsystem.member.code.clone());
            format!("{} · {provider}", service.code)
        }
        Err(_) => entry.service,
    };
    Row {
        when: web::layout::local_time(&entry.at),
        who,
        service,
        purpose: entry
            .issue
            .unwrap_or_else(|| t.get("tracker.no_purpose").to_owned()),
    }
}
