//! Assisted use pages (MISSION S14): the citizen gives and revokes mandates on /account; a
//! helper starts and stops acting for a citizen, and while acting sees only what the mandate
//! allows under /assist. Plain forms and links: they work without JavaScript.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRef, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kernel::{Message, Scope};
use web::auth::ActingFor;
use web::confirm::{Ask, Confirmation};
use web::{Authenticated, Chrome, Feedback, FormErrors, Principal, Site, Texts};

use super::account::{Names, level_label};
use super::{Refused, page, personal_id, see_other};
use crate::accounts::Identity;
use crate::assistance::{AssistedProfile, MAX_DAYS, MandateStatus};
use crate::error::IdentityError;
use crate::sessions::session_token;

pub(super) fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Identity: FromRef<S>,
    Site: FromRef<S>,
{
    Router::new()
        .route("/account/mandates", post(grant))
        .route("/account/mandates/{id}/revoke", post(revoke))
        .route("/assist", get(overview))
        .route("/assist/start/{id}", post(start))
        .route("/assist/stop", post(stop))
        .route("/assist/profile", get(profile))
        .route("/assist/data-access", get(data_access))
}

pub(crate) fn scope_label<'a>(t: &'a Texts, scope: &Scope) -> &'a str {
    t.get(match scope {
        Scope::ProfileView => "assist.scope_profile",
        Scope::AccessLogView => "assist.scope_access_log",
        Scope::DossierSubmit => "assist.scope_dossier",
    })
}

/// The page where a helper does what a scope allows, if there is one yet.
pub(crate) fn scope_page(scope: &Scope) -> Option<&'static str> {
    match scope {
        Scope::ProfileView => Some("/assist/profile"),
        Scope::AccessLogView => Some("/assist/data-access"),
        Scope::DossierSubmit => None,
    }
}

pub(crate) fn status_label<'a>(t: &'a Texts, status: &MandateStatus) -> &'a str {
    t.get(match status {
        MandateStatus::Active => "assist.status_active",
        MandateStatus::Expired => "assist.status_expired",
        MandateStatus::Revoked => "assist.status_revoked",
    })
}

pub(crate) fn action_label<'a>(t: &'a Texts, action: &'a str) -> &'a str {
    match action {
        "assist.started" => t.get("assist.action_started"),
        "assist.stopped" => t.get("assist.action_stopped"),
        "profile.viewed" => t.get("assist.action_profile"),
        "access_log.viewed" => t.get("assist.action_access_log"),
        other => other,
    }
}

/// What the citizen typed into the mandate form, to show again beside an error.
pub(crate) struct MandateForm {
    pub helper_personal_id: String,
    pub scopes: Vec<String>,
    pub days: String,
}

impl Default for MandateForm {
    fn default() -> Self {
        Self {
            helper_personal_id: String::new(),
            scopes: Vec::new(),
            days: "7".into(),
        }
    }
}

impl MandateForm {
    pub fn has(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// Reads the form by hand: it repeats the `scope` field, once per box ticked.
    fn parse(body: &[u8]) -> Self {
        let mut form = Self {
            days: String::new(),
            ..Self::default()
        };
        for (name, value) in form_urlencoded::parse(body) {
            match name.as_ref() {
                "helper_personal_id" => form.helper_personal_id = value.trim().to_owned(),
                "scope" => form.scopes.push(value.into_owned()),
                "days" => form.days = value.trim().to_owned(),
                _ => {}
            }
        }
        form
    }
}

/// The helper's acting state, as the session middleware resolved it on the server.
pub(crate) struct Acting(pub Option<ActingFor>);

impl<S: Send + Sync> FromRequestParts<S> for Acting {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<ActingFor>().cloned()))
    }
}

#[derive(Template)]
#[template(path = "mandate_page.html")]
struct MandatePage<'a> {
    t: &'a Texts,
    scopes: [Scope; 3],
    form: MandateForm,
    errors: Feedback,
}

/// The fields of the mandate form (the first scope box is `#scope`).
const MANDATE_FIELDS: [&str; 3] = ["helper_personal_id", "scope", "days"];

/// Reads the form's own rules before asking the service, so every mistake is told at once.
fn check(form: &MandateForm, citizen: &Principal) -> (FormErrors, Option<i64>) {
    let mut errors = FormErrors::new();
    if let Some(helper) = personal_id(&mut errors, "helper_personal_id", &form.helper_personal_id)
        && helper == citizen.personal_id
    {
        errors.field("helper_personal_id", Message::new("identity.mandate_self"));
    }
    for scope in &form.scopes {
        if let Err(invalid) = Scope::parse(scope.trim()) {
            errors.field("scope", invalid.message);
        }
    }
    if form.scopes.is_empty() {
        errors.field("scope", Message::new("identity.scopes_required"));
    }
    let days = form
        .days
        .parse::<i64>()
        .ok()
        .filter(|days| (1..=MAX_DAYS).contains(days));
    if days.is_none() {
        errors.field("days", Message::new("identity.mandate_days"));
    }
    (errors, days)
}

async fn grant(
    chrome: Chrome,
    Authenticated(citizen): Authenticated,
    State(identity): State<Identity>,
    body: Bytes,
) -> Response {
    let form = MandateForm::parse(&body);
    let refused = match check(&form, &citizen) {
        (errors, Some(days)) if errors.is_empty() => match identity
            .grant_mandate(&citizen, &form.helper_personal_id, &form.scopes, days)
            .await
        {
            Ok(_) => return see_other("/account?done=mandate#mandates", None),
            Err(error) => match Refused::of(error, &[("scopes", "scope")]) {
                Ok(refused) => refused,
                Err(problem) => return problem.into_response(),
            },
        },
        (errors, _) => Refused::invalid(errors),
    };
    let t = chrome.t();
    let errors = Feedback::of(t, &refused.errors, &MANDATE_FIELDS);
    let title = errors.title(t, t.get("assist.grant_title"));
    refused.page(
        &chrome,
        &title,
        &MandatePage {
            t,
            scopes: Scope::ALL,
            form,
            errors,
        },
    )
}

/// Revoking asks first, naming the helper and what they may do; the helper stops at their
/// next request.
async fn revoke(
    chrome: Chrome,
    Authenticated(citizen): Authenticated,
    State(identity): State<Identity>,
    Path(id): Path<String>,
    Query(confirmation): Query<Confirmation>,
) -> Response {
    if !confirmation.given() {
        let given = match identity.mandates_given(&citizen.account_id).await {
            Ok(given) => given,
            Err(error) => return web::Problem::from(error).into_response(),
        };
        if let Some(mandate) = given
            .into_iter()
            .find(|m| m.id == id && m.status == MandateStatus::Active)
        {
            let t = chrome.t();
            let scopes: Vec<&str> = mandate.scopes.iter().map(|s| scope_label(t, s)).collect();
            return Ask {
                t,
                title: t.get("assist.revoke_title"),
                lead: t.get("assist.revoke_lead"),
                facts: vec![
                    (t.get("assist.helper"), mandate.helper_name),
                    (t.get("assist.scopes"), scopes.join("; ")),
                    (
                        t.get("assist.until"),
                        web::layout::local_time(&mandate.expires_at),
                    ),
                ],
                action: format!("/account/mandates/{}/revoke", mandate.id),
                button: t.get("assist.revoke"),
                back: ("/account#mandates", t.get("assist.keep")),
            }
            .page(&chrome);
        }
    }
    match identity.revoke_mandate(&citizen.account_id, &id).await {
        Ok(_) => see_other("/account#mandates", None),
        Err(error) => web::Problem::from(error).into_response(),
    }
}

#[derive(Template)]
#[template(path = "assist_refused.html")]
struct RefusedPage<'a> {
    t: &'a Texts,
    message: &'a str,
}

/// A refusal in words for the helper; any other error is answered as a problem.
fn refused(chrome: &Chrome, error: IdentityError) -> Response {
    let t = chrome.t();
    let message = match error {
        IdentityError::NoMandate => t.get("assist.no_mandate"),
        IdentityError::OutOfScope(_) => t.get("assist.out_of_scope"),
        IdentityError::Forbidden(_) => t.get("assist.not_helper"),
        other => return web::Problem::from(other).into_response(),
    };
    page(
        chrome,
        StatusCode::FORBIDDEN,
        "assist.refused_title",
        &RefusedPage { t, message },
    )
}

async fn start(
    chrome: Chrome,
    Authenticated(helper): Authenticated,
    State(identity): State<Identity>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some(token) = session_token(&headers) else {
        return see_other("/login", None);
    };
    match identity.start_acting(&token, &helper, &id).await {
        Ok(_) => see_other("/assist", None),
        Err(error) => refused(&chrome, error),
    }
}

async fn stop(
    Authenticated(helper): Authenticated,
    State(identity): State<Identity>,
    Acting(acting): Acting,
    headers: HeaderMap,
) -> Response {
    let Some(token) = session_token(&headers) else {
        return see_other("/login", None);
    };
    match identity.stop_acting(&token, &helper, acting.as_ref()).await {
        Ok(()) => see_other("/account#helping", None),
        Err(error) => web::Problem::from(error).into_response(),
    }
}

#[derive(Template)]
#[template(path = "assist.html")]
struct OverviewPage<'a> {
    t: &'a Texts,
    acting: &'a ActingFor,
    scopes: Vec<Scope>,
}

/// What the helper may do for the citizen now; not an action on the citizen's data.
async fn overview(
    chrome: Chrome,
    Authenticated(_): Authenticated,
    Acting(acting): Acting,
) -> Response {
    let Some(acting) = acting else {
        return see_other("/account#helping", None);
    };
    let scopes = acting.scopes.clone();
    page(
        &chrome,
        StatusCode::OK,
        "assist.title",
        &OverviewPage {
            t: chrome.t(),
            acting: &acting,
            scopes,
        },
    )
}

#[derive(Template)]
#[template(path = "assist_profile.html")]
struct ProfilePage<'a> {
    t: &'a Texts,
    profile: AssistedProfile,
}

impl ProfilePage<'_> {
    fn birth_date(&self) -> String {
        self.profile
            .birth_date
            .format(time::macros::format_description!("[day]/[month]/[year]"))
            .unwrap_or_default()
    }

    fn sex(&self) -> &str {
        self.t.get(match self.profile.sex {
            kernel::Sex::Male => "registry.sex_male",
            kernel::Sex::Female => "registry.sex_female",
        })
    }

    fn level(&self) -> &str {
        level_label(self.t, self.profile.assurance_level)
    }
}

async fn profile(
    chrome: Chrome,
    Authenticated(helper): Authenticated,
    State(identity): State<Identity>,
    Acting(acting): Acting,
) -> Response {
    let Some(acting) = acting else {
        return refused(&chrome, IdentityError::NoMandate);
    };
    match identity.assisted_profile(&helper, &acting).await {
        Ok(profile) => page(
            &chrome,
            StatusCode::OK,
            "assist.profile_title",
            &ProfilePage {
                t: chrome.t(),
                profile,
            },
        ),
        Err(error) => refused(&chrome, error),
    }
}

#[derive(Template)]
#[template(path = "assist_access.html")]
struct AccessPage<'a> {
    t: &'a Texts,
    /// When, which agency (by name), for what.
    views: Vec<(String, String, String)>,
}

async fn data_access(
    chrome: Chrome,
    Authenticated(helper): Authenticated,
    State(identity): State<Identity>,
    State(site): State<Site>,
    Acting(acting): Acting,
) -> Response {
    let Some(acting) = acting else {
        return refused(&chrome, IdentityError::NoMandate);
    };
    let helper: &Principal = &helper;
    match identity.assisted_access_log(helper, &acting).await {
        Ok(views) => page(
            &chrome,
            StatusCode::OK,
            "assist.access_title",
            &AccessPage {
                t: chrome.t(),
                views: {
                    let names = Names::new(&site, chrome.lang);
                    views
                        .into_iter()
                        .map(|view| {
                            (
                                web::layout::local_time(&view.viewed_at),
                                names.agency(&view.agency),
                                view.purpose,
                            )
                        })
                        .collect()
                },
            },
        ),
        Err(error) => refused(&chrome, error),
    }
}
