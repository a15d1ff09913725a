//! The police officer's page (role `identity.verifier`) for what the API offers them
//! (`POST /api/v1/identity/accounts/{id}/level2` and `…/recovery-code`): with the person and
//! their card in front of them, the officer finds the person by personal ID number, checks
//! the registry's record against the card ("check your answers"), then confirms the account
//! at level 2 (Decree 69/2024) or issues a one-time recovery code, shown once. The registry
//! read is logged with its purpose, so the citizen sees it in their data tracker.

use askama::Template;
use axum::extract::{FromRef, State};
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use exchange::client::Purpose;
use kernel::{Message, PersonalId, Role};
use serde::Deserialize;
use web::{Authenticated, Chrome, Feedback, FormErrors, Principal, Problem, Site, Texts};

use super::{Refused, page, personal_id, titled};
use crate::accounts::Identity;
use crate::error::IdentityError;
use crate::population::Person;

pub(super) fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Identity: FromRef<S>,
    Site: FromRef<S>,
{
    Router::new().route("/identity/verify", get(form).post(act))
}

/// Why the registry is read from this page; the citizen reads it in their data tracker.
const PURPOSE: &str =
    "Xác minh trực tiếp tại cơ quan công an: nâng mức tài khoản định danh hoặc cấp mã khôi phục";

/// How long a recovery code works (`recovery.rs`).
const CODE_MINUTES: u32 = 30;

#[derive(Template)]
#[template(path = "verify.html")]
struct FindPage<'a> {
    t: &'a Texts,
    personal_id: &'a str,
    errors: Feedback,
}

#[derive(Template)]
#[template(path = "verify_check.html")]
struct CheckPage<'a> {
    t: &'a Texts,
    person: &'a Person,
    birth_date: String,
    sex: &'a str,
    /// The permanent residence with its province by name.
    residence: Option<String>,
}

#[derive(Template)]
#[template(path = "verify_done.html")]
struct DonePage<'a> {
    t: &'a Texts,
    personal_id: &'a str,
    /// Set when a recovery code was issued: shown this once.
    code: Option<&'a str>,
    /// How long the code works, in words.
    valid: String,
}

/// The officer's agency, or the refusal for anyone without the role.
fn verifier(principal: &Principal) -> Result<&str, Problem> {
    principal
        .agency_with(Role::IdentityVerifier)
        .ok_or_else(|| Problem::from(IdentityError::Forbidden(Role::IdentityVerifier)))
}

async fn form(chrome: Chrome, Authenticated(official): Authenticated) -> Response {
    if let Err(problem) = verifier(&official) {
        return problem.into_response();
    }
    find_page(&chrome, "", &FormErrors::new())
}

fn find_page(chrome: &Chrome, personal_id: &str, errors: &FormErrors) -> Response {
    let t = chrome.t();
    let feedback = Feedback::of(t, errors, &["personal_id"]);
    let title = feedback.title(t, t.get("verify.title"));
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    titled(
        chrome,
        status,
        &title,
        &FindPage {
            t,
            personal_id,
            errors: feedback,
        },
    )
}

#[derive(Deserialize)]
struct VerifyForm {
    #[serde(default)]
    personal_id: String,
    /// `check` (the default: show the record), `level2` or `recovery_code`.
    #[serde(default)]
    step: String,
}

async fn act(
    chrome: Chrome,
    Authenticated(official): Authenticated,
    State(identity): State<Identity>,
    State(site): State<Site>,
    Form(form): Form<VerifyForm>,
) -> Response {
    let agency = match verifier(&official) {
        Ok(agency) => agency.to_owned(),
        Err(problem) => return problem.into_response(),
    };
    let typed = form.personal_id.trim();
    let mut errors = FormErrors::new();
    let Some(id) = personal_id(&mut errors, "personal_id", typed) else {
        return find_page(&chrome, typed, &errors);
    };
    match form.step.as_str() {
        "level2" => match identity.confirm_level2(id, &official).await {
            Ok(()) => done(&chrome, id, None),
            Err(error) => refused(&chrome, typed, error),
        },
        "recovery_code" => match identity.issue_recovery_code(id, &official).await {
            Ok(code) => done(&chrome, id, Some(code.as_str())),
            Err(error) => refused(&chrome, typed, error),
        },
        _ => check(&chrome, &site, &identity, id, &agency).await,
    }
}

/// The registry's record of the person, to compare with the card before acting.
async fn check(
    chrome: &Chrome,
    site: &Site,
    identity: &Identity,
    id: PersonalId,
    agency: &str,
) -> Response {
    let t = chrome.t();
    let person = identity
        .population()
        .person(
            id,
            Purpose {
                on_behalf_of: Some(agency),
                issue: PURPOSE,
            },
        )
        .await;
    let person = match person {
        Ok(Some(person)) => person,
        Ok(None) => {
            let mut errors = FormErrors::new();
            errors.field("personal_id", Message::new("identity.no_citizen"));
            return find_page(chrome, &id.to_string(), &errors);
        }
        Err(error) => return Problem::from(error).into_response(),
    };
    page(
        chrome,
        StatusCode::OK,
        "verify.check_title",
        &CheckPage {
            t,
            birth_date: person
                .birth_date
                .format(time::macros::format_description!("[day]/[month]/[year]"))
                .unwrap_or_default(),
            sex: t.get(match person.sex {
                kernel::Sex::Male => "registry.sex_male",
                kernel::Sex::Female => "registry.sex_female",
            }),
            residence: person.permanent_residence.as_ref().map(|residence| {
                let today = web::reference::today_in_vietnam();
                match site.reference.provinces.find(&residence.province, today) {
                    Some(province) => format!(
                        "{}, {}",
                        residence.detail,
                        match chrome.lang {
                            web::Lang::Vi => &province.name_vi,
                            web::Lang::En => &province.name_en,
                        }
                    ),
                    None => residence.detail.clone(),
                }
            }),
            person: &person,
        },
    )
}

/// A refusal told on the find form: no account, or the like.
fn refused(chrome: &Chrome, typed: &str, error: IdentityError) -> Response {
    match Refused::of(error, &[]) {
        Ok(refused) => find_page(chrome, typed, &refused.errors),
        Err(problem) => problem.into_response(),
    }
}

fn done(chrome: &Chrome, id: PersonalId, code: Option<&str>) -> Response {
    let id = id.to_string();
    let title = if code.is_some() {
        "verify.code_title"
    } else {
        "verify.level2_title"
    };
    let mut response = page(
        chrome,
        StatusCode::OK,
        title,
        &DonePage {
            t: chrome.t(),
            personal_id: &id,
            code,
            valid: chrome
                .t()
                .get("verify.code_valid")
                .replace("{minutes}", &CODE_MINUTES.to_string()),
        },
    );
    // A recovery code is shown once: no cache keeps the page.
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
