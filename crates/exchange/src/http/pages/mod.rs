//! The operators' and member administrators' view of the exchange: today's exchanges per
//! member, the latest exchanges, services, rights in force and members, with forms to add a
//! subsystem and to grant or revoke rights (the same service calls as the API, under the same
//! rules: a member administrator only for its own member), and the client certificates
//! section (certificates.rs).

pub(super) mod certificates;

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use web::confirm::{Ask, Confirmation};
use web::form::{Feedback, FormErrors};
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

/// Every input on the page, by id: the error summary links to these.
const INPUTS: [&str; 12] = [
    "member_id",
    "member_name",
    "subsystem_id",
    "subsystem_name",
    "right_client",
    "right_service",
    "right_method",
    "right_path",
    "certificate_subsystem",
    "certificate_csr",
    "certificate_days",
    "certificate_replaces",
];

/// A change the page refused: what is wrong, by input id, and what was typed, so it can be
/// corrected instead of retyped.
#[derive(Default)]
pub(super) struct Refusal {
    errors: FormErrors,
    typed: Vec<(&'static str, String)>,
}

impl Refusal {
    /// `problem` told on the form whose API field names `inputs` maps to the page's ids.
    pub(super) fn of(
        problem: &Problem,
        inputs: &[(&str, &str)],
        typed: Vec<(&'static str, String)>,
    ) -> Self {
        Self {
            errors: FormErrors::of_problem(problem).renamed(inputs),
            typed,
        }
    }
}

#[derive(Template)]
#[template(path = "exchange.html")]
struct ExchangePage<'a> {
    t: &'a Texts,
    member: Option<String>,
    operator: bool,
    counts: Vec<(String, i64)>,
    traffic: Vec<Traffic>,
    services: Vec<Service>,
    rights: Vec<Right>,
    members: Vec<(String, String)>,
    certificates: Section,
    feedback: Feedback,
    typed: Vec<(&'static str, String)>,
    /// The people behind the actors shown, by actor.
    names: HashMap<String, String>,
}

impl ExchangePage<'_> {
    /// Who granted or revoked something, as a person reads it: a name, never an account id.
    fn who(&self, actor: &str) -> String {
        if let Some(name) = self.names.get(actor) {
            return name.clone();
        }
        match actor.split_once(':') {
            Some(("lienthong", _)) => self.t.get("exchange.by_platform").to_owned(),
            Some(("account", _)) => self.t.get("exchange.by_unknown").to_owned(),
            _ => actor.to_owned(),
        }
    }

    /// A client or member identifier with the name of its member first:
    /// `Bộ Tư pháp (VN/GOV/BTP/civil)`.
    fn party(&self, id: &str) -> String {
        let member: String = id.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
        match self.members.iter().find(|(known, _)| *known == member) {
            Some((_, name)) => format!("{name} ({id})"),
            None => id.to_owned(),
        }
    }

    /// What was typed into `input` before a refusal, or nothing.
    fn typed(&self, input: &str) -> &str {
        self.typed
            .iter()
            .find(|(id, _)| *id == input)
            .map(|(_, value)| value.as_str())
            .unwrap_or_default()
    }
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
    show(
        &chrome,
        &exchange,
        &principal,
        StatusCode::OK,
        Refusal::default(),
        shown,
    )
    .await
}

/// The page, with a refused change's errors and values, and the certificates section
/// showing what `certificates` says.
async fn show(
    chrome: &Chrome,
    exchange: &Exchange,
    principal: &Principal,
    status: StatusCode,
    refusal: Refusal,
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
    let feedback = Feedback::of(t, &refusal.errors, &INPUTS);
    let names = chrome
        .names(
            overview
                .rights
                .iter()
                .map(|right| right.granted_by.as_str())
                .chain(
                    certificates
                        .rows
                        .iter()
                        .filter_map(|c| c.revoked_by.as_deref()),
                ),
        )
        .await;
    let page = ExchangePage {
        t,
        member: overview.member,
        operator: matches!(manager, Manager::Operator(_)),
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
        typed: refusal.typed,
        feedback,
        names,
    };
    let title = page.feedback.title(t, t.get("exchange.title"));
    match render(&page) {
        Ok(body) => chrome.page_with_status(status, &title, &body),
        Err(problem) => problem.into_response(),
    }
}

/// After a change: back to the page, or the page again with the refusal told on the form
/// that was sent (`inputs` maps its API field names to the page's ids).
async fn outcome(
    chrome: &Chrome,
    exchange: &Exchange,
    principal: &Principal,
    result: Result<(), ExchangeError>,
    inputs: &[(&str, &str)],
    typed: Vec<(&'static str, String)>,
) -> Response {
    match result {
        Ok(()) => Redirect::to("/exchange").into_response(),
        Err(error) => {
            let problem = Problem::from(error);
            let refusal = Refusal::of(&problem, inputs, typed);
            show(
                chrome,
                exchange,
                principal,
                problem.status(),
                refusal,
                Shown::default(),
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub(super) struct MemberForm {
    id: String,
    name: String,
}

/// Registers a member (operators only), so its systems can be added and given rights.
pub(super) async fn add_member(
    chrome: Chrome,
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    Form(form): Form<MemberForm>,
) -> Response {
    let result = async {
        let manager = Manager::of(&principal)?;
        management::add_member(&exchange, &manager, form.id.trim(), &form.name)
            .await
            .map(drop)
    }
    .await;
    let typed = vec![("member_id", form.id), ("member_name", form.name)];
    let inputs = [("id", "member_id"), ("name", "member_name")];
    outcome(&chrome, &exchange, &principal, result, &inputs, typed).await
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
    let typed = vec![("subsystem_id", form.id), ("subsystem_name", form.name)];
    let inputs = [("id", "subsystem_id"), ("name", "subsystem_name")];
    outcome(&chrome, &exchange, &principal, result, &inputs, typed).await
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
    let filled = |v: &Option<String>| {
        v.as_deref()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let right = NewRight {
        client: form.client.trim().to_owned(),
        service: form.service.trim().to_owned(),
        method: filled(&form.method),
        path: filled(&form.path),
        fields: None,
    };
    let result = async {
        let manager = Manager::of(&principal)?;
        management::grant(&exchange, &manager, right)
            .await
            .map(drop)
    }
    .await;
    let typed = vec![
        ("right_client", form.client),
        ("right_service", form.service),
        ("right_method", form.method.unwrap_or_default()),
        ("right_path", form.path.unwrap_or_default()),
    ];
    let inputs = [
        ("client", "right_client"),
        ("service", "right_service"),
        ("method", "right_method"),
        ("path", "right_path"),
    ];
    outcome(&chrome, &exchange, &principal, result, &inputs, typed).await
}

/// Revoking a right asks first: the client loses access at once.
pub(super) async fn revoke(
    chrome: Chrome,
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    Path(id): Path<String>,
    Query(confirmation): Query<Confirmation>,
) -> Response {
    if !confirmation.given() {
        let snapshot = exchange.catalog.snapshot().await;
        // Only a right the viewer manages is described, even when its id is guessed.
        let managed = Manager::of(&principal)
            .map(|manager| manager.rights(&snapshot))
            .unwrap_or_default();
        let Some(right) = managed.into_iter().find(|r| r.id == id) else {
            let refusal = Problem::from(ExchangeError::NoActiveRight(id));
            let refusal = Refusal::of(&refusal, &[], Vec::new());
            return show(
                &chrome,
                &exchange,
                &principal,
                StatusCode::NOT_FOUND,
                refusal,
                Shown::default(),
            )
            .await;
        };
        let t = chrome.t();
        let endpoint = match (&right.method, &right.path) {
            (Some(method), Some(path)) => format!("{method} {path}"),
            _ => t.get("exchange.whole_service").to_owned(),
        };
        let ask = Ask {
            t,
            title: t.get("exchange.revoke_right_title"),
            lead: t.get("exchange.revoke_right_lead"),
            facts: vec![
                (t.get("exchange.client"), right.client),
                (t.get("exchange.service"), right.service),
                (t.get("exchange.endpoint"), endpoint),
            ],
            action: format!("/exchange/rights/{}/revoke", right.id),
            button: t.get("exchange.revoke"),
            back: ("/exchange", t.get("exchange.keep")),
        };
        return ask.page(&chrome);
    }
    let result = async {
        let manager = Manager::of(&principal)?;
        management::revoke(&exchange, &manager, &id).await
    }
    .await;
    outcome(&chrome, &exchange, &principal, result, &[], Vec::new()).await
}
