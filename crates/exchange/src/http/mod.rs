//! The exchange's HTTP surface beside the gateway: the management pages and JSON API, over
//! the service functions in [`crate::management`], with the one mapping of its errors.

mod api;
mod error;
mod pages;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use web::Site;

use crate::Exchange;

/// The operators' and member administrators' pages under `/exchange`.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Exchange: FromRef<S>,
    Site: FromRef<S>,
{
    Router::new()
        .route("/exchange", get(pages::page))
        .route("/exchange/members", post(pages::add_member))
        .route("/exchange/subsystems", post(pages::add_subsystem))
        .route("/exchange/rights", post(pages::grant))
        .route("/exchange/rights/{id}/revoke", post(pages::revoke))
        .route("/exchange/certificates", post(pages::certificates::issue))
        .route(
            "/exchange/certificates/{serial}/revoke",
            post(pages::certificates::revoke),
        )
        .route(
            "/exchange/certificates/{serial}/pem",
            get(pages::certificates::download),
        )
}

/// The management JSON API, the CA's public files and the OCSP responder, documented in the
/// OpenAPI description.
pub fn api_routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Exchange: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(api::add_member))
        .routes(routes!(api::add_subsystem))
        .routes(routes!(api::list_services, api::add_service))
        .routes(routes!(api::list_rights, api::grant))
        .routes(routes!(api::revoke))
        .routes(routes!(api::set_limit))
        .routes(routes!(api::daily_counts))
        .routes(routes!(api::certificates::list, api::certificates::issue))
        .routes(routes!(api::certificates::delete))
        .routes(routes!(api::certificates::revoke))
        .routes(routes!(api::certificates::ca_certificate))
        .routes(routes!(api::certificates::revocation_list))
        .merge(crate::ocsp::api_routes())
}
