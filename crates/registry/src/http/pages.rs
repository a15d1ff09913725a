//! The officials' HTML pages: parse the form or query, call the service, render.

pub(super) mod birth;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kernel::PersonalId;
use serde::Deserialize;
use time::Date;
use time::macros::format_description;
use web::layout::render;
use web::{Authenticated, Chrome, Problem, Texts};

use super::api::PurposeQuery;
use super::{invalid, official, parse_id, purpose_of, require_basis, residence_kind};
use crate::domain::CitizenFile;
use crate::domain::access::Purpose;
use crate::domain::record::{Address, CitizenRecord, Relative};
use crate::domain::residence::{ResidenceChange, ResidenceEvent};
use crate::domain::summary::Summary;
use crate::domain::version::{Change, VersionEntry, Versioned};
use crate::service::{ContactChange, Registry};

#[derive(Deserialize, Default)]
pub(super) struct SearchQuery {
    personal_id: Option<String>,
    name: Option<String>,
    birth_date: Option<String>,
    household: Option<String>,
    purpose: Option<String>,
}

fn filled(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage<'a> {
    t: &'a Texts,
    query: &'a SearchQuery,
    results: Vec<Summary>,
    searched: bool,
    error: Option<String>,
    purpose_invalid: bool,
}

impl SearchPage<'_> {
    fn value<'b>(&self, field: &'b Option<String>) -> &'b str {
        field.as_deref().unwrap_or("")
    }

    fn purpose_param(&self) -> String {
        form_urlencoded::byte_serialize(self.query.purpose.as_deref().unwrap_or("").as_bytes())
            .collect()
    }
}

pub(super) async fn search(
    chrome: Chrome,
    Authenticated(principal): Authenticated,
    State(registry): State<Registry>,
    Query(query): Query<SearchQuery>,
) -> Response {
    let official = match official(&principal) {
        Ok(official) => official,
        Err(problem) => return problem.into_response(),
    };
    let t = chrome.t();
    let mut error = None;
    let mut results = Vec::new();
    let searched = filled(&query.personal_id).is_some()
        || filled(&query.name).is_some()
        || filled(&query.household).is_some();
    let purpose = Purpose::parse(query.purpose.as_deref().unwrap_or_default());
    let purpose_invalid = searched && purpose.is_err();
    if purpose_invalid {
        error = Some(t.get("registry.purpose_invalid").to_owned());
    }
    if let (true, Ok(purpose)) = (searched, &purpose) {
        let reader = official.reading(purpose);
        let outcome = if let Some(id) = filled(&query.personal_id) {
            match PersonalId::parse(id) {
                Ok(id) => registry.find(reader, id).await,
                Err(e) => {
                    error = Some(e.reason);
                    Ok(Vec::new())
                }
            }
        } else if let Some(name) = filled(&query.name) {
            let date = filled(&query.birth_date)
                .map(|d| Date::parse(d, format_description!("[year]-[month]-[day]")));
            match date.transpose() {
                Ok(date) => registry.search_by_name(reader, name, date, 50).await,
                Err(_) => {
                    error = Some("birth_date: YYYY-MM-DD".into());
                    Ok(Vec::new())
                }
            }
        } else {
            registry
                .household(reader, filled(&query.household).unwrap_or_default())
                .await
        };
        match outcome {
            Ok(found) => results = found,
            Err(e) => return Problem::from(e).into_response(),
        }
    }
    let status = if purpose_invalid {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    match render(&SearchPage {
        t,
        query: &query,
        results,
        searched,
        error,
        purpose_invalid,
    }) {
        Ok(body) => chrome.page_with_status(status, t.get("registry.title"), &body),
        Err(problem) => problem.into_response(),
    }
}

#[derive(Template)]
#[template(path = "citizen.html")]
struct CitizenPage<'a> {
    t: &'a Texts,
    current: Versioned,
    history: Vec<VersionEntry>,
    residence: Vec<ResidenceEvent>,
    household: Vec<Summary>,
    purpose: Purpose,
    ethnicity: &'a str,
    religion: &'a str,
}

impl CitizenPage<'_> {
    fn record(&self) -> &CitizenRecord {
        &self.current.record
    }

    fn sex(&self) -> &str {
        self.t.get(match self.record().sex {
            kernel::Sex::Male => "registry.sex_male",
            kernel::Sex::Female => "registry.sex_female",
        })
    }

    fn marital(&self) -> String {
        self.t
            .get(&format!(
                "registry.marital_{}",
                self.record().marital_status.as_str()
            ))
            .to_owned()
    }

    fn when(&self, stored: &str) -> String {
        web::layout::local_time(stored)
    }

    fn opt<'b>(&self, value: &'b Option<String>) -> &'b str {
        value.as_deref().unwrap_or("—")
    }

    fn address(&self, address: &Option<Address>) -> String {
        address.as_ref().map_or_else(
            || "—".to_owned(),
            |a| format!("{} ({})", a.detail, a.province),
        )
    }

    fn relative(&self, relative: &Option<Relative>) -> String {
        relative.as_ref().map_or_else(
            || "—".to_owned(),
            |r| match r.personal_id {
                Some(id) => format!("{} ({id})", r.full_name),
                None => r.full_name.clone(),
            },
        )
    }
}

pub(super) async fn citizen(
    chrome: Chrome,
    Authenticated(principal): Authenticated,
    State(registry): State<Registry>,
    Path(id): Path<String>,
    Query(query): Query<PurposeQuery>,
) -> Response {
    let result = async {
        let official = official(&principal)?;
        let id = parse_id(&id, "id")?;
        let purpose = purpose_of(query.purpose)?;
        let file = registry
            .citizen_file(official.reading(&purpose), id)
            .await?;
        Ok::<_, Problem>((file, purpose))
    }
    .await;
    let (file, purpose) = match result {
        Ok(parts) => parts,
        Err(problem) => return problem.into_response(),
    };
    let CitizenFile {
        current,
        history,
        residence,
        household,
    } = file;
    let t = chrome.t();
    let lists = registry.lists();
    let ethnicity = lists
        .ethnicity_name(&current.record.ethnicity)
        .unwrap_or("—");
    let religion = lists.religion_name(&current.record.religion).unwrap_or("—");
    let title = current.record.full_name.clone();
    match render(&CitizenPage {
        t,
        current,
        history,
        residence,
        household,
        purpose,
        ethnicity,
        religion,
    }) {
        Ok(body) => chrome.page(&title, &body),
        Err(problem) => problem.into_response(),
    }
}

#[derive(Deserialize)]
pub(super) struct ChangeForm {
    expected_version: i64,
    phone: Option<String>,
    email: Option<String>,
    occupation: Option<String>,
    basis: Option<String>,
    purpose: Option<String>,
}

/// Records a change of contact details or occupation from the citizen page.
pub(super) async fn change(
    Authenticated(principal): Authenticated,
    State(registry): State<Registry>,
    Path(id): Path<String>,
    Form(form): Form<ChangeForm>,
) -> Response {
    let result = async {
        let official = official(&principal)?;
        let id = parse_id(&id, "id")?;
        let basis = require_basis(form.basis.as_deref().unwrap_or_default())?;
        let clean = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        registry
            .amend_contact(
                id,
                form.expected_version,
                ContactChange {
                    phone: clean(form.phone),
                    email: clean(form.email),
                    occupation: clean(form.occupation),
                },
                Change {
                    actor: official.actor(),
                    basis,
                },
                web::reference::today_in_vietnam(),
            )
            .await?;
        Ok::<_, Problem>(id)
    }
    .await;
    back_to_record(result, &form.purpose.unwrap_or_default())
}

#[derive(Deserialize)]
pub(super) struct ResidenceForm {
    expected_version: i64,
    kind: String,
    province: Option<String>,
    address: Option<String>,
    effective_from: String,
    basis: Option<String>,
    purpose: Option<String>,
}

/// Records a residence change from the citizen page (Law on Residence 2020): the same
/// service call as the API, so the record's new version and the history entry match.
pub(super) async fn residence(
    Authenticated(principal): Authenticated,
    State(registry): State<Registry>,
    Path(id): Path<String>,
    Form(form): Form<ResidenceForm>,
) -> Response {
    let result = async {
        let official = official(&principal)?;
        let id = parse_id(&id, "id")?;
        let basis = require_basis(form.basis.as_deref().unwrap_or_default())?;
        let kind = residence_kind(&form.kind)?;
        let effective_from = Date::parse(
            form.effective_from.trim(),
            format_description!("[year]-[month]-[day]"),
        )
        .map_err(|_| invalid("effective_from", "YYYY-MM-DD"))?;
        let address = match (filled(&form.province), filled(&form.address)) {
            (None, None) => None,
            (Some(province), Some(detail)) => Some(Address {
                province: kernel::ProvinceCode::parse(province)
                    .map_err(|e| invalid("province", e.reason))?,
                detail: detail.to_owned(),
            }),
            _ => {
                return Err(invalid(
                    "address",
                    "give the province code and the address together",
                ));
            }
        };
        registry
            .change_residence(
                id,
                form.expected_version,
                ResidenceChange {
                    kind,
                    address,
                    effective_from,
                },
                Change {
                    actor: official.actor(),
                    basis,
                },
                web::reference::today_in_vietnam(),
            )
            .await?;
        Ok::<_, Problem>(id)
    }
    .await;
    back_to_record(result, &form.purpose.unwrap_or_default())
}

/// After a change made from a page: the record again (viewed for the same purpose), or the
/// problem that stopped the change.
fn back_to_record(result: Result<PersonalId, Problem>, purpose: &str) -> Response {
    match result {
        Ok(id) => {
            let purpose: String = form_urlencoded::byte_serialize(purpose.as_bytes()).collect();
            Redirect::to(&format!("/registry/citizens/{id}?purpose={purpose}")).into_response()
        }
        Err(problem) => problem.into_response(),
    }
}
