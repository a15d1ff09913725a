//! Officials' pages and JSON API over the registry. Only officials holding `registry.officer`
//! in the Ministry of Public Security get in (see [`Official`]); every read of personal data
//! asks for a purpose, and the service logs it for each citizen it shows.

mod api;
mod error;
mod pages;

use axum::Router;
use axum::extract::FromRef;
use axum::http::StatusCode;
use axum::routing::{get, post};
use kernel::{Message, PersonalId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use web::{Principal, Problem, Site};

use crate::domain::access::{Official, Purpose};
use crate::domain::residence::ResidenceKind;
use crate::error::RegistryError;
use crate::service::Registry;

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Registry: FromRef<S>,
    Site: FromRef<S>,
{
    Router::new()
        .route("/registry", get(pages::search))
        .route("/account/my-data", get(pages::my_data::page))
        .route("/registry/citizens/{id}", get(pages::citizen))
        .route("/registry/citizens/{id}/changes", post(pages::change))
        .route("/registry/citizens/{id}/residence", post(pages::residence))
        .route(
            "/registry/births",
            get(pages::birth::form).post(pages::birth::register),
        )
}

/// The officials' JSON API, documented in the OpenAPI description.
pub fn api_routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Registry: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(api::citizen))
        .routes(routes!(api::history))
        .routes(routes!(api::amend))
        .routes(routes!(api::residence))
        .routes(routes!(api::birth))
        .routes(routes!(api::search))
        .routes(routes!(api::household))
}

/// The caller as an official, or 403: checked before anything in the request is read.
fn official(principal: &Principal) -> Result<Official, Problem> {
    Official::of(principal).map_err(|refused| RegistryError::from(refused).into())
}

fn parse_id(text: &str, field: &str) -> Result<PersonalId, Problem> {
    PersonalId::parse(text.trim()).map_err(|e| {
        Problem::told(StatusCode::BAD_REQUEST, "invalid-personal-id", e.message).field(field)
    })
}

fn purpose_of(purpose: Option<String>) -> Result<Purpose, Problem> {
    Purpose::parse(purpose.as_deref().unwrap_or_default()).map_err(|message| {
        Problem::told(StatusCode::BAD_REQUEST, "purpose-required", message).field("purpose")
    })
}

fn require_basis(basis: &str) -> Result<&str, Problem> {
    let basis = basis.trim();
    if basis.chars().count() < 5 {
        return Err(Problem::told(
            StatusCode::UNPROCESSABLE_ENTITY,
            "basis-required",
            Message::new("registry.basis_required"),
        )
        .field("basis"));
    }
    Ok(basis)
}

/// The kind of a residence change, as the page and the API accept it.
fn residence_kind(text: &str) -> Result<ResidenceKind, Problem> {
    ResidenceKind::parse(text).map_err(|message| {
        Problem::told(StatusCode::UNPROCESSABLE_ENTITY, "invalid-field", message).field("kind")
    })
}
