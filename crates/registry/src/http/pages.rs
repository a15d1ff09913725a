//! The officials' HTML pages: parse the form or query, call the service, render.

pub(super) mod birth;
pub(super) mod my_data;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kernel::{Message, PersonalId};
use serde::Deserialize;
use time::Date;
use time::macros::format_description;
use web::layout::render;
use web::{Authenticated, Chrome, Feedback, FormErrors, Problem, Site, Texts};

use super::{official, parse_id, purpose_of, require_basis, residence_kind};
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
    /// Which page of a name search, from 1.
    page: Option<u32>,
}

/// A date as a date input sends it (`2026-11-20`), or the message naming what was typed.
fn form_date(text: &str) -> Result<Date, Message> {
    Date::parse(text, format_description!("[year]-[month]-[day]"))
        .map_err(|_| Message::new("field.date").with("found", format!("{text:?}")))
}

fn filled(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// Results shown on one page of a name search.
const PER_PAGE: u32 = 50;
const SEARCH_FIELDS: [&str; 5] = ["purpose", "personal_id", "name", "birth_date", "household"];

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage<'a> {
    t: &'a Texts,
    query: &'a SearchQuery,
    errors: Feedback,
    /// `None` until a search has run.
    found: Option<Found>,
}

/// What a search found: the people on this page and how many matched in all.
struct Found {
    shown: Vec<Summary>,
    total: u64,
    page: u32,
}

impl Found {
    fn pages(&self) -> u32 {
        u32::try_from(self.total.div_ceil(u64::from(PER_PAGE))).unwrap_or(u32::MAX)
    }

    fn first_shown(&self) -> u64 {
        u64::from(self.page.saturating_sub(1)) * u64::from(PER_PAGE) + 1
    }

    fn last_shown(&self) -> u64 {
        self.first_shown() + self.shown.len() as u64 - 1
    }
}

impl SearchPage<'_> {
    fn value<'b>(&self, field: &'b Option<String>) -> &'b str {
        field.as_deref().unwrap_or("")
    }

    fn purpose_param(&self) -> String {
        form_urlencoded::byte_serialize(self.query.purpose.as_deref().unwrap_or("").as_bytes())
            .collect()
    }

    fn day(&self, stored: impl AsRef<str>) -> String {
        web::layout::local_date(stored.as_ref())
    }

    /// The same search on another page.
    fn page_href(&self, page: u32) -> String {
        let mut href = form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("purpose", &self.query.purpose),
            ("name", &self.query.name),
            ("birth_date", &self.query.birth_date),
        ] {
            if let Some(value) = value {
                href.append_pair(name, value);
            }
        }
        href.append_pair("page", &page.to_string());
        format!("/registry?{}", href.finish())
    }

    fn matched(&self, found: &Found) -> String {
        self.t
            .get("registry.matched")
            .replace("{total}", &found.total.to_string())
            .replace("{first}", &found.first_shown().to_string())
            .replace("{last}", &found.last_shown().to_string())
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
    let mut errors = FormErrors::new();
    let asked = [
        &query.purpose,
        &query.personal_id,
        &query.name,
        &query.birth_date,
        &query.household,
    ]
    .iter()
    .any(|value| filled(value).is_some());
    let mut found = None;
    if asked {
        let purpose = errors.check(
            "purpose",
            Purpose::parse(query.purpose.as_deref().unwrap_or_default()),
        );
        let request = search_request(&query, &mut errors);
        if let (Some(purpose), Some(request)) = (purpose, request) {
            let reader = official.reading(&purpose);
            let outcome = match request {
                SearchRequest::Id(id) => registry.find(reader, id).await.map(|shown| Found {
                    total: shown.len() as u64,
                    shown,
                    page: 1,
                }),
                SearchRequest::Name(name, date) => {
                    let page = query.page.unwrap_or(1).max(1);
                    let offset = i64::from(page - 1) * i64::from(PER_PAGE);
                    registry
                        .search_by_name_page(reader, name, date, i64::from(PER_PAGE), offset)
                        .await
                        .map(|(shown, total)| Found { shown, total, page })
                }
                SearchRequest::Household(id) => {
                    registry.household(reader, id).await.map(|shown| Found {
                        total: shown.len() as u64,
                        shown,
                        page: 1,
                    })
                }
            };
            match outcome {
                Ok(result) => found = Some(result),
                Err(e) => return Problem::from(e).into_response(),
            }
        }
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let feedback = Feedback::of(t, &errors, &SEARCH_FIELDS);
    let title = feedback.title(t, t.get("registry.title"));
    match render(&SearchPage {
        t,
        query: &query,
        errors: feedback,
        found,
    }) {
        Ok(body) => chrome.page_with_status(status, &title, &body),
        Err(problem) => problem.into_response(),
    }
}

/// One of the three searches, read from the form; what is missing or malformed is noted.
enum SearchRequest<'q> {
    Id(PersonalId),
    Name(&'q str, Option<Date>),
    Household(&'q str),
}

fn search_request<'q>(
    query: &'q SearchQuery,
    errors: &mut FormErrors,
) -> Option<SearchRequest<'q>> {
    let date =
        filled(&query.birth_date).and_then(|text| errors.check("birth_date", form_date(text)));
    if let Some(id) = filled(&query.personal_id) {
        return errors
            .check("personal_id", PersonalId::parse(id).map_err(|e| e.message))
            .map(SearchRequest::Id);
    }
    if let Some(name) = filled(&query.name) {
        return match (filled(&query.birth_date), date) {
            (Some(_), None) => None,
            (_, date) => Some(SearchRequest::Name(name, date)),
        };
    }
    if let Some(household) = filled(&query.household) {
        return Some(SearchRequest::Household(household));
    }
    if filled(&query.birth_date).is_some() {
        errors.field("name", Message::new("search.date_alone"));
    } else {
        errors.field("personal_id", Message::new("search.nothing_to_find"));
    }
    None
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
    /// What the page says it has just done: issued the number, saved a change.
    done: Option<&'a str>,
    summary: &'a str,
    contact: ContactValues,
    contact_errors: Feedback,
    residence_form: ResidenceValues,
    residence_errors: Feedback,
    provinces: &'a [(String, String)],
    /// The names of the officials who made the versions shown.
    names: std::collections::HashMap<String, String>,
}

/// What the contact form shows: the record's values, or what the official typed when the
/// page comes back with errors (their edit is never lost).
#[derive(Default)]
struct ContactValues {
    phone: String,
    email: String,
    occupation: String,
    basis: String,
}

#[derive(Default)]
struct ResidenceValues {
    kind: String,
    province: String,
    address: String,
    effective_from: String,
    basis: String,
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

    fn day(&self, stored: impl AsRef<str>) -> String {
        web::layout::local_date(stored.as_ref())
    }

    fn kind(&self, kind: impl AsRef<str>) -> String {
        self.t
            .get(&format!("registry.kind_{}", kind.as_ref()))
            .to_owned()
    }

    fn province(&self, code: impl AsRef<str>) -> String {
        province_name(self.provinces, code.as_ref())
    }

    fn opt<'b>(&self, value: &'b Option<String>) -> &'b str {
        value.as_deref().unwrap_or("—")
    }

    /// Who made a version, as a person reads it: the official's name, never an account id
    /// or a file's path on the server.
    fn who(&self, actor: &str) -> String {
        if let Some(name) = self.names.get(actor) {
            return name.clone();
        }
        let key = if actor.starts_with("import:") {
            "registry.by_import"
        } else if actor.starts_with("account:") {
            "registry.by_unknown"
        } else {
            return actor.to_owned();
        };
        self.t.get(key).to_owned()
    }

    /// The fields a version changed, in words.
    fn changed(&self, entry: &VersionEntry) -> String {
        if entry.version == 1 {
            return self.t.get("registry.by_registration").to_owned();
        }
        entry
            .fields
            .iter()
            .map(|field| self.t.get(&format!("record_field.{field}")).to_owned())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn address(&self, address: &Option<Address>) -> String {
        address.as_ref().map_or_else(
            || "—".to_owned(),
            |a| {
                format!(
                    "{}, {}",
                    a.detail,
                    province_name(self.provinces, &a.province.to_string())
                )
            },
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

pub(super) fn province_name(provinces: &[(String, String)], code: &str) -> String {
    provinces
        .iter()
        .find(|(known, _)| known == code)
        .map_or_else(|| code.to_owned(), |(_, name)| name.clone())
}

#[derive(Deserialize)]
pub(super) struct CitizenQuery {
    purpose: Option<String>,
    /// Set after a birth registration or a saved change, to confirm it on the page.
    done: Option<String>,
}

/// How the citizen page is to be shown besides the record itself.
#[derive(Default)]
struct Shown {
    done: Option<&'static str>,
    contact: Option<(ContactValues, FormErrors)>,
    residence: Option<(ResidenceValues, FormErrors)>,
    /// The status of a page sent back with errors: what the problem was (409 for a version
    /// conflict, 422 for input at fault).
    refused_with: Option<StatusCode>,
}

/// The confirmations the page can show, by the `done` query value.
fn done_key(done: Option<&str>) -> Option<&'static str> {
    match done {
        Some("issued") => Some("issued"),
        Some("contact") => Some("contact"),
        Some("residence") => Some("residence"),
        _ => None,
    }
}

pub(super) async fn citizen(
    chrome: Chrome,
    Authenticated(principal): Authenticated,
    State(registry): State<Registry>,
    State(site): State<Site>,
    Path(id): Path<String>,
    Query(query): Query<CitizenQuery>,
) -> Response {
    let shown = Shown {
        done: done_key(query.done.as_deref()),
        ..Shown::default()
    };
    citizen_page(
        &chrome,
        &principal,
        &registry,
        &site,
        &id,
        query.purpose,
        shown,
    )
    .await
    .unwrap_or_else(IntoResponse::into_response)
}

/// The record as an official reads it (the read is logged with its purpose), with the two
/// change forms.
async fn citizen_page(
    chrome: &Chrome,
    principal: &web::Principal,
    registry: &Registry,
    site: &Site,
    id: &str,
    purpose: Option<String>,
    shown: Shown,
) -> Result<Response, Problem> {
    let official = official(principal)?;
    let id = parse_id(id, "id")?;
    let purpose = purpose_of(purpose)?;
    let CitizenFile {
        current,
        history,
        residence,
        household,
    } = registry
        .citizen_file(official.reading(&purpose), id)
        .await?;
    let t = chrome.t();
    let lists = registry.lists();
    let ethnicity = lists
        .ethnicity_name(&current.record.ethnicity)
        .unwrap_or("—");
    let religion = lists.religion_name(&current.record.religion).unwrap_or("—");
    let title = current.record.full_name.clone();
    let provinces = provinces_in_force(site, chrome.lang);
    let names = site
        .people
        .names(history.iter().map(|entry| entry.changed_by.as_str()))
        .await;
    let (contact, contact_errors) = shown.contact.unwrap_or_else(|| {
        let record = &current.record;
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let values = ContactValues {
            phone: text(&record.phone),
            email: text(&record.email),
            occupation: text(&record.occupation),
            basis: String::new(),
        };
        (values, FormErrors::new())
    });
    let (residence_form, residence_errors) = shown.residence.unwrap_or_default();
    let contact_errors = Feedback::of(t, &contact_errors, &CONTACT_FIELDS);
    let residence_errors = Feedback::of(t, &residence_errors, &RESIDENCE_FIELDS);
    let failed = contact_errors.any() || residence_errors.any();
    let summary = format!("{}{}", contact_errors.summary(), residence_errors.summary());
    let title = if failed {
        format!("{} {title}", t.get("form.error_prefix"))
    } else {
        title
    };
    let body = render(&CitizenPage {
        t,
        current,
        history,
        residence,
        household,
        purpose,
        ethnicity,
        religion,
        done: shown.done,
        summary: &summary,
        contact,
        contact_errors,
        residence_form,
        residence_errors,
        provinces: &provinces,
        names,
    })?;
    let status = match (failed, shown.refused_with) {
        (false, _) => StatusCode::OK,
        (true, Some(status)) => status,
        (true, None) => StatusCode::UNPROCESSABLE_ENTITY,
    };
    Ok(chrome.page_with_status(status, &title, &body))
}

/// Provinces in force today, by code and name in the reader's language.
pub(super) fn provinces_in_force(site: &Site, lang: web::Lang) -> Vec<(String, String)> {
    let today = web::reference::today_in_vietnam();
    site.reference
        .provinces
        .period_at(today)
        .map(|period| {
            period
                .units
                .iter()
                .map(|p| {
                    let name = match lang {
                        web::Lang::Vi => p.full_name_vi(),
                        web::Lang::En => p.name_en.clone(),
                    };
                    (p.code.to_string(), name)
                })
                .collect()
        })
        .unwrap_or_default()
}

const CONTACT_FIELDS: [&str; 4] = ["phone", "email", "occupation", "basis"];
const RESIDENCE_FIELDS: [&str; 5] = [
    "kind",
    "province",
    "residence_address",
    "effective_from",
    "residence_basis",
];

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
    chrome: Chrome,
    Authenticated(principal): Authenticated,
    State(registry): State<Registry>,
    State(site): State<Site>,
    Path(id): Path<String>,
    Form(form): Form<ChangeForm>,
) -> Response {
    let result = async {
        let official = official(&principal)?;
        let id = parse_id(&id, "id")?;
        let basis = require_basis(form.basis.as_deref().unwrap_or_default())?;
        let clean = |v: &Option<String>| {
            v.as_deref()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        registry
            .amend_contact(
                id,
                form.expected_version,
                ContactChange {
                    phone: clean(&form.phone),
                    email: clean(&form.email),
                    occupation: clean(&form.occupation),
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
    let purpose = form.purpose.clone().unwrap_or_default();
    let problem = match result {
        Ok(id) => return back_to_record(id, &purpose, "contact"),
        Err(problem) => problem,
    };
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let values = ContactValues {
        phone: text(&form.phone),
        email: text(&form.email),
        occupation: text(&form.occupation),
        basis: text(&form.basis),
    };
    let shown = Shown {
        contact: Some((values, FormErrors::of_problem(&problem))),
        ..Shown::default()
    };
    again_with_errors(
        &chrome, &principal, &registry, &site, &id, purpose, shown, problem,
    )
    .await
}

/// The record page again, with the form's values kept and its errors shown; when the
/// record itself cannot be shown (no right, no such citizen), the problem is the answer.
#[allow(clippy::too_many_arguments)]
async fn again_with_errors(
    chrome: &Chrome,
    principal: &web::Principal,
    registry: &Registry,
    site: &Site,
    id: &str,
    purpose: String,
    shown: Shown,
    problem: Problem,
) -> Response {
    if problem.status() == StatusCode::FORBIDDEN || problem.status() == StatusCode::NOT_FOUND {
        return problem.into_response();
    }
    let shown = Shown {
        refused_with: Some(problem.status()),
        ..shown
    };
    citizen_page(chrome, principal, registry, site, id, Some(purpose), shown)
        .await
        .unwrap_or_else(IntoResponse::into_response)
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
    chrome: Chrome,
    Authenticated(principal): Authenticated,
    State(registry): State<Registry>,
    State(site): State<Site>,
    Path(id): Path<String>,
    Form(form): Form<ResidenceForm>,
) -> Response {
    let result = async {
        let official = official(&principal)?;
        let id = parse_id(&id, "id")?;
        let mut errors = FormErrors::new();
        let basis = errors.check(
            "basis",
            require_basis(form.basis.as_deref().unwrap_or_default())
                .map_err(|p| web::form::problem_message(&p)),
        );
        let kind = errors.check(
            "kind",
            residence_kind(&form.kind).map_err(|p| web::form::problem_message(&p)),
        );
        let effective_from = match form.effective_from.trim() {
            "" => {
                errors.field("effective_from", Message::new("field.required"));
                None
            }
            text => errors.check("effective_from", form_date(text)),
        };
        let address = match (filled(&form.province), filled(&form.address)) {
            (None, None) => Some(None),
            (Some(province), Some(detail)) => errors
                .check(
                    "province",
                    kernel::ProvinceCode::parse(province).map_err(|e| e.message),
                )
                .map(|province| {
                    Some(Address {
                        province,
                        detail: detail.to_owned(),
                    })
                }),
            (None, Some(_)) => {
                errors.field("province", Message::new("flat.address_pair"));
                None
            }
            (Some(_), None) => {
                errors.field("address", Message::new("flat.address_pair"));
                None
            }
        };
        let (Some(basis), Some(kind), Some(effective_from), Some(address)) =
            (basis, kind, effective_from, address)
        else {
            return Err(form_problem(errors));
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
    let purpose = form.purpose.clone().unwrap_or_default();
    let problem = match result {
        Ok(id) => return back_to_record(id, &purpose, "residence"),
        Err(problem) => problem,
    };
    let values = ResidenceValues {
        kind: form.kind.clone(),
        province: form.province.clone().unwrap_or_default(),
        address: form.address.clone().unwrap_or_default(),
        effective_from: form.effective_from.clone(),
        basis: form.basis.clone().unwrap_or_default(),
    };
    // The form's inputs are named as the API's fields; on the page two of them carry a
    // prefix, since the contact form has a basis too.
    let errors = FormErrors::of_problem(&problem).renamed(&[
        ("address", "residence_address"),
        ("basis", "residence_basis"),
    ]);
    let shown = Shown {
        residence: Some((values, errors)),
        ..Shown::default()
    };
    again_with_errors(
        &chrome, &principal, &registry, &site, &id, purpose, shown, problem,
    )
    .await
}

/// The fields a page found wrong, as one problem (what the API would answer).
fn form_problem(errors: FormErrors) -> Problem {
    Problem::told(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-field",
        Message::new("problem.status.invalid"),
    )
    .issues(errors.into_fields())
}

/// After a change made from a page: the record again (viewed for the same purpose), saying
/// what was done.
fn back_to_record(id: PersonalId, purpose: &str, done: &str) -> Response {
    let purpose: String = form_urlencoded::byte_serialize(purpose.as_bytes()).collect();
    Redirect::to(&format!(
        "/registry/citizens/{id}?purpose={purpose}&done={done}"
    ))
    .into_response()
}
