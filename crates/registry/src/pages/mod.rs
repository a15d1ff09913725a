//! Officials' pages and API over the registry. Only officials holding `registry.officer` in
//! the Ministry of Public Security (which manages the national population database, Law on
//! Identification 2023 art. 10) get in; every read of personal data (a record, its history, a
//! search, a household) asks for a purpose and is logged for each citizen it shows, for the
//! citizen's data tracker.

mod birth;

use askama::Template;
use axum::extract::{FromRef, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use kernel::PersonalId;
use serde::{Deserialize, Serialize};
use time::Date;
use time::macros::format_description;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use web::layout::render;
use web::{ApiJson, Authenticated, Chrome, Principal, Problem, Site, Texts};

use crate::access::{Purpose, Reader};
use crate::record::{Address, CitizenRecord, Membership, Relative};
use crate::service::{
    BirthRegistration, Change, Registry, RegistryError, ResidenceChange, ResidenceEvent,
    ResidenceKind, Summary, VersionEntry, Versioned,
};

pub const OFFICER_ROLE: &str = "registry.officer";
pub const REGISTRY_AGENCY: &str = "BCA";

/// An official allowed to use the registry, with the agency they act for.
struct Officer {
    actor: String,
    agency: String,
}

impl Officer {
    fn reader<'a>(&'a self, purpose: &'a Purpose) -> Reader<'a> {
        Reader {
            viewer: &self.actor,
            agency: &self.agency,
            purpose,
        }
    }
}

fn officer(principal: &Principal) -> Result<Officer, Problem> {
    match principal
        .roles
        .iter()
        .find(|r| r.role == OFFICER_ROLE && r.agency == REGISTRY_AGENCY)
    {
        Some(role) => Ok(Officer {
            actor: principal.actor(),
            agency: role.agency.clone(),
        }),
        None => Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "the registry is open only to officials holding {OFFICER_ROLE} at {REGISTRY_AGENCY}"
            ),
        )),
    }
}

fn problem(error: RegistryError) -> Problem {
    match error {
        RegistryError::NotFound => {
            Problem::not_found("unknown-citizen", "no citizen has this personal ID number")
        }
        RegistryError::VersionConflict { .. } => {
            Problem::new(StatusCode::CONFLICT, "version-conflict", error.to_string())
                .field("expected_version")
        }
        RegistryError::Invalid(ref issues) => {
            let field = issues.first().map(|i| i.field.clone()).unwrap_or_default();
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-record",
                error.to_string(),
            )
            .field(field)
        }
        RegistryError::AlreadyRegistered(_) => Problem::new(
            StatusCode::CONFLICT,
            "already-registered",
            error.to_string(),
        ),
        other => Problem::internal(&other),
    }
}

fn parse_id(text: &str, field: &str) -> Result<PersonalId, Problem> {
    PersonalId::parse(text.trim()).map_err(|e| {
        Problem::new(StatusCode::BAD_REQUEST, "invalid-personal-id", e.reason).field(field)
    })
}

fn purpose_of(purpose: Option<String>) -> Result<Purpose, Problem> {
    Purpose::parse(purpose.as_deref().unwrap_or_default()).map_err(|reason| {
        Problem::new(StatusCode::BAD_REQUEST, "purpose-required", reason).field("purpose")
    })
}

/// Logs the read of everyone in `shown` before the answer is sent.
async fn log_shown(
    registry: &Registry,
    officer: &Officer,
    purpose: &Purpose,
    shown: &[Summary],
) -> Result<(), Problem> {
    let ids: Vec<&str> = shown.iter().map(|s| s.personal_id.as_str()).collect();
    registry
        .log_reads(&ids, officer.reader(purpose))
        .await
        .map_err(problem)
}

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Registry: FromRef<S>,
    Site: FromRef<S>,
{
    Router::new()
        .route("/registry", get(search_page))
        .route("/registry/citizens/{id}", get(citizen_page))
        .route("/registry/citizens/{id}/changes", post(change_form))
        .route("/registry/citizens/{id}/residence", post(residence_form))
        .route(
            "/registry/births",
            get(birth::form_page).post(birth::register),
        )
}

/// The officials' JSON API, documented in the OpenAPI description.
pub fn api_routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Registry: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(citizen_api))
        .routes(routes!(history_api))
        .routes(routes!(amend_api))
        .routes(routes!(residence_api))
        .routes(routes!(birth_api))
        .routes(routes!(search_api))
        .routes(routes!(household_api))
}

// ---- pages ----

#[derive(Deserialize, Default)]
struct SearchQuery {
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

async fn search_page(
    chrome: Chrome,
    Authenticated(principal): Authenticated,
    State(registry): State<Registry>,
    Query(query): Query<SearchQuery>,
) -> Response {
    let officer = match officer(&principal) {
        Ok(officer) => officer,
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
        let outcome = if let Some(id) = filled(&query.personal_id) {
            match PersonalId::parse(id) {
                Ok(id) => registry.get(id).await.map(|found| {
                    found
                        .into_iter()
                        .map(|v| Summary {
                            personal_id: v.record.personal_id.to_string(),
                            full_name: v.record.full_name.clone(),
                            birth_date: v.record.birth_date.to_string(),
                            household_id: v.record.household.map(|h| h.household_id),
                        })
                        .collect()
                }),
                Err(e) => {
                    error = Some(e.reason);
                    Ok(Vec::new())
                }
            }
        } else if let Some(name) = filled(&query.name) {
            let date = filled(&query.birth_date)
                .map(|d| Date::parse(d, format_description!("[year]-[month]-[day]")));
            match date.transpose() {
                Ok(date) => registry.search_by_name(name, date, 50).await,
                Err(_) => {
                    error = Some("birth_date: YYYY-MM-DD".into());
                    Ok(Vec::new())
                }
            }
        } else {
            registry
                .household_members(filled(&query.household).unwrap_or_default())
                .await
        };
        match outcome {
            Ok(found) => results = found,
            Err(e) => return problem(e).into_response(),
        }
        if let Err(problem) = log_shown(&registry, &officer, purpose, &results).await {
            return problem.into_response();
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PurposeQuery {
    /// Why the data is read; shown to each citizen in the answer. 5 to 200 characters.
    purpose: Option<String>,
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
        self.t.get(match self.current.record.sex {
            kernel::Sex::Male => "registry.sex_male",
            kernel::Sex::Female => "registry.sex_female",
        })
    }

    fn marital(&self) -> String {
        self.t
            .get(&format!(
                "registry.marital_{}",
                self.current.record.marital_status.as_str()
            ))
            .to_owned()
    }

    fn when(&self, stored: &str) -> String {
        web::layout::local_time(stored)
    }

    fn opt<'b>(&self, value: &'b Option<String>) -> &'b str {
        value.as_deref().unwrap_or("—")
    }

    fn address(&self, address: &Option<crate::record::Address>) -> String {
        address.as_ref().map_or_else(
            || "—".to_owned(),
            |a| format!("{} ({})", a.detail, a.province),
        )
    }

    fn relative(&self, relative: &Option<crate::record::Relative>) -> String {
        relative.as_ref().map_or_else(
            || "—".to_owned(),
            |r| match r.personal_id {
                Some(id) => format!("{} ({id})", r.full_name),
                None => r.full_name.clone(),
            },
        )
    }
}

/// Loads a record for an officer, logging the view with its purpose first.
async fn view(
    registry: &Registry,
    officer: &Officer,
    id: PersonalId,
    purpose: &Purpose,
) -> Result<Versioned, Problem> {
    let current = registry
        .get(id)
        .await
        .map_err(problem)?
        .ok_or_else(|| problem(RegistryError::NotFound))?;
    registry
        .log_reads(&[id.to_string().as_str()], officer.reader(purpose))
        .await
        .map_err(problem)?;
    Ok(current)
}

async fn citizen_page(
    chrome: Chrome,
    Authenticated(principal): Authenticated,
    State(registry): State<Registry>,
    Path(id): Path<String>,
    Query(query): Query<PurposeQuery>,
) -> Response {
    let result = async {
        let officer = officer(&principal)?;
        let id = parse_id(&id, "id")?;
        let purpose = purpose_of(query.purpose)?;
        let current = registry
            .get(id)
            .await
            .map_err(problem)?
            .ok_or_else(|| problem(RegistryError::NotFound))?;
        let history = registry.history(id).await.map_err(problem)?;
        let residence = registry.residence_history(id).await.map_err(problem)?;
        let household = match &current.record.household {
            Some(h) => registry
                .household_members(&h.household_id)
                .await
                .map_err(problem)?,
            None => Vec::new(),
        };
        // The page lists the household's members: their names and birth dates are read too,
        // and each citizen shown is logged once.
        let subject = id.to_string();
        let shown: Vec<&str> = std::iter::once(subject.as_str())
            .chain(household.iter().map(|m| m.personal_id.as_str()))
            .collect();
        registry
            .log_reads(&shown, officer.reader(&purpose))
            .await
            .map_err(problem)?;
        Ok::<_, Problem>((current, history, residence, household, purpose))
    }
    .await;
    let (current, history, residence, household, purpose) = match result {
        Ok(parts) => parts,
        Err(problem) => return problem.into_response(),
    };
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
struct ChangeForm {
    expected_version: i64,
    phone: Option<String>,
    email: Option<String>,
    occupation: Option<String>,
    basis: Option<String>,
    purpose: Option<String>,
}

/// Records a change of contact details or occupation from the citizen page.
async fn change_form(
    Authenticated(principal): Authenticated,
    State(registry): State<Registry>,
    Path(id): Path<String>,
    Form(form): Form<ChangeForm>,
) -> Response {
    let result = async {
        let officer = officer(&principal)?;
        let id = parse_id(&id, "id")?;
        let basis = require_basis(form.basis.as_deref().unwrap_or_default())?;
        let current = registry
            .get(id)
            .await
            .map_err(problem)?
            .ok_or_else(|| problem(RegistryError::NotFound))?;
        let clean = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let record = CitizenRecord {
            phone: clean(form.phone),
            email: clean(form.email),
            occupation: clean(form.occupation),
            ..current.record
        };
        registry
            .amend(
                id,
                form.expected_version,
                &record,
                Change {
                    actor: &officer.actor,
                    basis,
                },
                web::reference::today_in_vietnam(),
            )
            .await
            .map_err(problem)?;
        Ok::<_, Problem>(id)
    }
    .await;
    back_to_record(result, &form.purpose.unwrap_or_default())
}

#[derive(Deserialize)]
struct ResidenceForm {
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
async fn residence_form(
    Authenticated(principal): Authenticated,
    State(registry): State<Registry>,
    Path(id): Path<String>,
    Form(form): Form<ResidenceForm>,
) -> Response {
    let result = async {
        let officer = officer(&principal)?;
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
                    actor: &officer.actor,
                    basis,
                },
                web::reference::today_in_vietnam(),
            )
            .await
            .map_err(problem)?;
        Ok::<_, Problem>(id)
    }
    .await;
    back_to_record(result, &form.purpose.unwrap_or_default())
}

/// A field the caller got wrong: 422 naming it.
fn invalid(field: &'static str, reason: impl std::fmt::Display) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-field",
        format!("{field}: {reason}"),
    )
    .field(field)
}

/// The kind of a residence change, as the page and the API accept it.
fn residence_kind(text: &str) -> Result<ResidenceKind, Problem> {
    ResidenceKind::parse(text).map_err(|reason| {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-field", reason).field("kind")
    })
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

// ---- API ----

#[utoipa::path(get, path = "/api/v1/registry/citizens/{id}", tag = "registry", security(("session" = [])), params(("id" = String, Path, description = "Personal ID number"), PurposeQuery),
    responses((status = 200, body = Versioned), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn citizen_api(
    Authenticated(principal): Authenticated,
    State(registry): State<Registry>,
    Path(id): Path<String>,
    Query(query): Query<PurposeQuery>,
) -> Result<Json<Versioned>, Problem> {
    let officer = officer(&principal)?;
    let id = parse_id(&id, "id")?;
    let purpose = purpose_of(query.purpose)?;
    Ok(Json(view(&registry, &officer, id, &purpose).await?))
}

#[utoipa::path(get, path = "/api/v1/registry/citizens/{id}/history", tag = "registry", security(("session" = [])), params(("id" = String, Path, description = "Personal ID number"), PurposeQuery),
    responses((status = 200, body = Vec<VersionEntry>), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn history_api(
    Authenticated(principal): Authenticated,
    State(registry): State<Registry>,
    Path(id): Path<String>,
    Query(query): Query<PurposeQuery>,
) -> Result<Json<Vec<VersionEntry>>, Problem> {
    let officer = officer(&principal)?;
    let id = parse_id(&id, "id")?;
    let purpose = purpose_of(query.purpose)?;
    let history = registry.history(id).await.map_err(problem)?;
    if history.is_empty() {
        return Err(problem(RegistryError::NotFound));
    }
    registry
        .log_reads(&[id.to_string().as_str()], officer.reader(&purpose))
        .await
        .map_err(problem)?;
    Ok(Json(history))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct NameQuery {
    /// Full name; case and diacritics are ignored.
    name: String,
    #[param(value_type = Option<String>, format = Date)]
    birth_date: Option<Date>,
    /// Why the search is made; shown to each citizen found. 5 to 200 characters.
    purpose: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/registry/search", tag = "registry", security(("session" = [])), params(NameQuery),
    responses((status = 200, body = Vec<Summary>), (status = 400, body = Problem), (status = 403, body = Problem)))]
async fn search_api(
    Authenticated(principal): Authenticated,
    State(registry): State<Registry>,
    web::ApiQuery(query): web::ApiQuery<NameQuery>,
) -> Result<Json<Vec<Summary>>, Problem> {
    let officer = officer(&principal)?;
    let purpose = purpose_of(query.purpose)?;
    let found = registry
        .search_by_name(&query.name, query.birth_date, 50)
        .await
        .map_err(problem)?;
    log_shown(&registry, &officer, &purpose, &found).await?;
    Ok(Json(found))
}

#[utoipa::path(get, path = "/api/v1/registry/households/{id}", tag = "registry", security(("session" = [])), params(("id" = String, Path, description = "Household id"), PurposeQuery),
    responses((status = 200, body = Vec<Summary>), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn household_api(
    Authenticated(principal): Authenticated,
    State(registry): State<Registry>,
    Path(id): Path<String>,
    Query(query): Query<PurposeQuery>,
) -> Result<Json<Vec<Summary>>, Problem> {
    let officer = officer(&principal)?;
    let purpose = purpose_of(query.purpose)?;
    let members = registry.household_members(&id).await.map_err(problem)?;
    if members.is_empty() {
        return Err(
            Problem::not_found("unknown-household", "no household has this id").field("id"),
        );
    }
    log_shown(&registry, &officer, &purpose, &members).await?;
    Ok(Json(members))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Amendment {
    expected_version: i64,
    basis: String,
    record: CitizenRecord,
}

#[derive(Serialize, ToSchema)]
struct Amended {
    version: i64,
}

#[utoipa::path(post, path = "/api/v1/registry/citizens/{id}/amendments", tag = "registry", security(("session" = [])), params(("id" = String, Path, description = "Personal ID number")), request_body = Amendment,
    responses((status = 200, body = Amended), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn amend_api(
    Authenticated(principal): Authenticated,
    State(registry): State<Registry>,
    Path(id): Path<String>,
    ApiJson(amendment): ApiJson<Amendment>,
) -> Result<(StatusCode, Json<Amended>), Problem> {
    let officer = officer(&principal)?;
    let id = parse_id(&id, "id")?;
    let basis = require_basis(&amendment.basis)?;
    let version = registry
        .amend(
            id,
            amendment.expected_version,
            &amendment.record,
            Change {
                actor: &officer.actor,
                basis,
            },
            web::reference::today_in_vietnam(),
        )
        .await
        .map_err(problem)?;
    Ok((StatusCode::OK, Json(Amended { version })))
}

fn require_basis(basis: &str) -> Result<&str, Problem> {
    let basis = basis.trim();
    if basis.chars().count() < 5 {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "basis-required",
            "name the legal basis or the request behind the change",
        )
        .field("basis"));
    }
    Ok(basis)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ResidenceRequest {
    expected_version: i64,
    /// permanent, temporary, temporary_ended, current, absence, absence_ended
    kind: String,
    address: Option<Address>,
    effective_from: Date,
    basis: String,
}

/// Registers a residence change (Law on Residence 2020): the record gets a new version and
/// the change joins the residence history with its effective date.
#[utoipa::path(post, path = "/api/v1/registry/citizens/{id}/residence", tag = "registry", security(("session" = [])), params(("id" = String, Path, description = "Personal ID number")), request_body = ResidenceRequest,
    responses((status = 200, body = Amended), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn residence_api(
    Authenticated(principal): Authenticated,
    State(registry): State<Registry>,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<ResidenceRequest>,
) -> Result<Json<Amended>, Problem> {
    let officer = officer(&principal)?;
    let id = parse_id(&id, "id")?;
    let basis = require_basis(&request.basis)?;
    let kind = residence_kind(&request.kind)?;
    let change = ResidenceChange {
        kind,
        address: request.address,
        effective_from: request.effective_from,
    };
    let version = registry
        .change_residence(
            id,
            request.expected_version,
            change,
            Change {
                actor: &officer.actor,
                basis,
            },
            web::reference::today_in_vietnam(),
        )
        .await
        .map_err(problem)?;
    Ok(Json(Amended { version }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct BirthRequest {
    full_name: String,
    birth_date: Date,
    #[schema(value_type = String, example = "female")]
    sex: kernel::Sex,
    #[schema(value_type = String, example = "79")]
    birth_registration_province: kernel::ProvinceCode,
    place_of_birth: Option<String>,
    ethnicity: String,
    #[serde(default = "no_religion")]
    religion: String,
    #[serde(default = "vietnamese")]
    nationality: String,
    father: Option<Relative>,
    mother: Option<Relative>,
    permanent_residence: Option<Address>,
    household: Option<Membership>,
    basis: String,
}

fn no_religion() -> String {
    "00".to_owned()
}

fn vietnamese() -> String {
    "VN".to_owned()
}

#[derive(Serialize, ToSchema)]
struct Registered {
    personal_id: String,
    version: i64,
}

/// Registers a birth and issues the child's personal ID number (Law on Identification 2023,
/// art. 12: the number is issued on birth registration).
#[utoipa::path(post, path = "/api/v1/registry/births", tag = "registry", security(("session" = [])), request_body = BirthRequest,
    responses((status = 201, body = Registered), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn birth_api(
    Authenticated(principal): Authenticated,
    State(registry): State<Registry>,
    ApiJson(request): ApiJson<BirthRequest>,
) -> Result<(StatusCode, Json<Registered>), Problem> {
    let officer = officer(&principal)?;
    let basis = require_basis(&request.basis)?.to_owned();
    let birth = BirthRegistration {
        full_name: request.full_name,
        birth_date: request.birth_date,
        sex: request.sex,
        birth_registration_province: request.birth_registration_province,
        place_of_birth: request.place_of_birth,
        ethnicity: request.ethnicity,
        religion: request.religion,
        nationality: request.nationality,
        father: request.father,
        mother: request.mother,
        permanent_residence: request.permanent_residence,
        household: request.household,
    };
    let record = registry
        .register_birth(
            birth,
            Change {
                actor: &officer.actor,
                basis: &basis,
            },
            web::reference::today_in_vietnam(),
        )
        .await
        .map_err(problem)?;
    Ok((
        StatusCode::CREATED,
        Json(Registered {
            personal_id: record.personal_id.to_string(),
            version: 1,
        }),
    ))
}
