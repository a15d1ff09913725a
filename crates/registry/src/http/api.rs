//! The officials' JSON API: parse, call the service, serialise.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::{IntoParams, ToSchema};
use web::{ApiJson, Authenticated, Problem};

use super::{official, parse_id, purpose_of, require_basis, residence_kind};
use crate::domain::birth::BirthRegistration;
use crate::domain::record::{Address, CitizenRecord, Membership, Relative};
use crate::domain::residence::ResidenceChange;
use crate::domain::summary::Summary;
use crate::domain::version::{Change, VersionEntry, Versioned};
use crate::error::RegistryError;
use crate::service::Registry;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct PurposeQuery {
    /// Why the data is read; shown to each citizen in the answer. 5 to 200 characters.
    pub(super) purpose: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/registry/citizens/{id}", operation_id = "citizen_api", tag = "registry", security(("session" = [])), params(("id" = String, Path, description = "Personal ID number"), PurposeQuery),
    responses((status = 200, body = Versioned), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn citizen(
    Authenticated(principal): Authenticated,
    State(registry): State<Registry>,
    Path(id): Path<String>,
    Query(query): Query<PurposeQuery>,
) -> Result<Json<Versioned>, Problem> {
    let official = official(&principal)?;
    let id = parse_id(&id, "id")?;
    let purpose = purpose_of(query.purpose)?;
    Ok(Json(registry.record(official.reading(&purpose), id).await?))
}

#[utoipa::path(get, path = "/api/v1/registry/citizens/{id}/history", operation_id = "history_api", tag = "registry", security(("session" = [])), params(("id" = String, Path, description = "Personal ID number"), PurposeQuery),
    responses((status = 200, body = Vec<VersionEntry>), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn history(
    Authenticated(principal): Authenticated,
    State(registry): State<Registry>,
    Path(id): Path<String>,
    Query(query): Query<PurposeQuery>,
) -> Result<Json<Vec<VersionEntry>>, Problem> {
    let official = official(&principal)?;
    let id = parse_id(&id, "id")?;
    let purpose = purpose_of(query.purpose)?;
    Ok(Json(
        registry.history(official.reading(&purpose), id).await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct NameQuery {
    /// Full name; case and diacritics are ignored.
    name: String,
    #[param(value_type = Option<String>, format = Date)]
    birth_date: Option<Date>,
    /// Why the search is made; shown to each citizen found. 5 to 200 characters.
    purpose: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/registry/search", operation_id = "search_api", tag = "registry", security(("session" = [])), params(NameQuery),
    responses((status = 200, body = Vec<Summary>), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub(super) async fn search(
    Authenticated(principal): Authenticated,
    State(registry): State<Registry>,
    web::ApiQuery(query): web::ApiQuery<NameQuery>,
) -> Result<Json<Vec<Summary>>, Problem> {
    let official = official(&principal)?;
    let purpose = purpose_of(query.purpose)?;
    let found = registry
        .search_by_name(
            official.reading(&purpose),
            &query.name,
            query.birth_date,
            50,
        )
        .await?;
    Ok(Json(found))
}

#[utoipa::path(get, path = "/api/v1/registry/households/{id}", operation_id = "household_api", tag = "registry", security(("session" = [])), params(("id" = String, Path, description = "Household id"), PurposeQuery),
    responses((status = 200, body = Vec<Summary>), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn household(
    Authenticated(principal): Authenticated,
    State(registry): State<Registry>,
    Path(id): Path<String>,
    Query(query): Query<PurposeQuery>,
) -> Result<Json<Vec<Summary>>, Problem> {
    let official = official(&principal)?;
    let purpose = purpose_of(query.purpose)?;
    let members = registry.household(official.reading(&purpose), &id).await?;
    if members.is_empty() {
        return Err(RegistryError::UnknownHousehold.into());
    }
    Ok(Json(members))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Amendment {
    expected_version: i64,
    basis: String,
    record: CitizenRecord,
}

#[derive(Serialize, ToSchema)]
pub(super) struct Amended {
    version: i64,
}

#[utoipa::path(post, path = "/api/v1/registry/citizens/{id}/amendments", operation_id = "amend_api", tag = "registry", security(("session" = [])), params(("id" = String, Path, description = "Personal ID number")), request_body = Amendment,
    responses((status = 200, body = Amended), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn amend(
    Authenticated(principal): Authenticated,
    State(registry): State<Registry>,
    Path(id): Path<String>,
    ApiJson(amendment): ApiJson<Amendment>,
) -> Result<(StatusCode, Json<Amended>), Problem> {
    let official = official(&principal)?;
    let id = parse_id(&id, "id")?;
    let basis = require_basis(&amendment.basis)?;
    let version = registry
        .amend(
            id,
            amendment.expected_version,
            &amendment.record,
            Change {
                actor: official.actor(),
                basis,
            },
            web::reference::today_in_vietnam(),
        )
        .await?;
    Ok((StatusCode::OK, Json(Amended { version })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ResidenceRequest {
    expected_version: i64,
    /// permanent, temporary, temporary_ended, current, absence, absence_ended
    kind: String,
    address: Option<Address>,
    effective_from: Date,
    basis: String,
}

/// Registers a residence change (Law on Residence 2020): the record gets a new version and
/// the change joins the residence history with its effective date.
#[utoipa::path(post, path = "/api/v1/registry/citizens/{id}/residence", operation_id = "residence_api", tag = "registry", security(("session" = [])), params(("id" = String, Path, description = "Personal ID number")), request_body = ResidenceRequest,
    responses((status = 200, body = Amended), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn residence(
    Authenticated(principal): Authenticated,
    State(registry): State<Registry>,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<ResidenceRequest>,
) -> Result<Json<Amended>, Problem> {
    let official = official(&principal)?;
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
                actor: official.actor(),
                basis,
            },
            web::reference::today_in_vietnam(),
        )
        .await?;
    Ok(Json(Amended { version }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct BirthRequest {
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
pub(super) struct Registered {
    personal_id: String,
    version: i64,
}

/// Registers a birth and issues the child's personal ID number (Law on Identification 2023,
/// art. 12: the number is issued on birth registration).
#[utoipa::path(post, path = "/api/v1/registry/births", operation_id = "birth_api", tag = "registry", security(("session" = [])), request_body = BirthRequest,
    responses((status = 201, body = Registered), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn birth(
    Authenticated(principal): Authenticated,
    State(registry): State<Registry>,
    ApiJson(request): ApiJson<BirthRequest>,
) -> Result<(StatusCode, Json<Registered>), Problem> {
    let official = official(&principal)?;
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
                actor: official.actor(),
                basis: &basis,
            },
            web::reference::today_in_vietnam(),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Registered {
            personal_id: record.personal_id.to_string(),
            version: 1,
        }),
    ))
}
