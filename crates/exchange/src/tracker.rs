//! The data tracker: a signed-in citizen sees every access to their data, across the
//! exchange (from the audit log, each entry naming the citizen it concerned) and the
//! officials' views of their registry record and banks' identity checks (from the registry's
//! view log). Estonia offers this for some 16 of 300 registers; here every access is in.

use askama::Template;
use axum::Router;
use axum::extract::{FromRef, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use registry::ViewEntry;
use web::lang::Texts;
use web::layout::render;
use web::{Chrome, MaybePrincipal, Problem, Site};

use crate::Exchange;
use crate::ids::{ServiceId, SubsystemId};

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
    Site: FromRef<S>,
{
    Router::new().route("/account/data-tracker", get(page))
}

async fn page(
    chrome: Chrome,
    MaybePrincipal(principal): MaybePrincipal,
    State(exchange): State<Exchange>,
) -> Response {
    let Some(principal) = principal else {
        return Redirect::to("/login?next=/account/data-tracker").into_response();
    };
    let subject = principal.personal_id.to_string();
    exchange.audit.settled().await;
    let entries = match audit::entries_about(&exchange.db, &subject, SHOWN).await {
        Ok(entries) => entries,
        Err(error) => return Problem::internal(&error).into_response(),
    };
    let views = match exchange.registry.views_of(principal.personal_id).await {
        Ok(views) => views,
        Err(error) => return Problem::internal(&error).into_response(),
    };
    let snapshot = exchange.catalog.snapshot().await;
    let t = chrome.t();
    let exchanges = entries
        .into_iter()
        .map(|entry| {
            // The member's registered name, falling back to the identifier.
            let who = SubsystemId::parse(&entry.client)
                .ok()
                .and_then(|client| snapshot.member_name(&client.member).map(str::to_owned))
                .unwrap_or_else(|| entry.client.clone());
            let service = ServiceId::parse(&entry.service)
                .map(|s| {
                    let provider = snapshot
                        .member_name(&s.subsystem.member)
                        .unwrap_or(&s.subsystem.member.code)
                        .to_owned();
                    format!("{} · {provider}", s.code)
                })
                .unwrap_or(entry.service);
            Row {
                when: web::layout::local_time(&store::timestamp::format(entry.at)),
                who,
                service,
                purpose: entry
                    .issue
                    .unwrap_or_else(|| t.get("tracker.no_purpose").to_owned()),
            }
        })
        .collect();
    match render(&TrackerPage {
        t,
        exchanges,
        views,
    }) {
        Ok(body) => chrome.page(t.get("tracker.title"), &body),
        Err(problem) => problem.into_response(),
    }
}
