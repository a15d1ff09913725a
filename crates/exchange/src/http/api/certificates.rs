//! The client certificates' JSON API (ADR 0009), and the CA certificate and revocation list
//! published for software that checks certificates without asking the gateway.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use web::auth::Authenticated;
use web::{ApiJson, Problem};

use crate::Exchange;
use crate::management::Manager;
use crate::management::certificates::{self, Certificate, CertificateRequest};

/// Caches may keep the list a few minutes only, so a revocation reaches relying parties that
/// fetch it again well before nextUpdate.
const CRL_CACHING: &str = "public, max-age=300";
const CA_CACHING: &str = "public, max-age=86400";

#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedCertificate {
    pub subsystem: String,
    pub serial: String,
    pub fingerprint: String,
    /// PEM.
    pub certificate: String,
    #[serde(with = "kernel::timestamp::text")]
    #[schema(value_type = String, format = DateTime)]
    pub not_before: time::OffsetDateTime,
    #[serde(with = "kernel::timestamp::text")]
    #[schema(value_type = String, format = DateTime)]
    pub not_after: time::OffsetDateTime,
    /// The serial revoked by this rotation, if the request named one.
    pub replaced: Option<String>,
}

/// Client certificates of the subsystems the caller manages (every subsystem, for an
/// operator), revoked and expired ones included, newest first.
#[utoipa::path(get, path = "/api/v1/exchange/certificates", tag = "exchange", security(("session" = [])),
    responses((status = 200, body = Vec<Certificate>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub(in crate::http) async fn list(
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
) -> Result<Json<Vec<Certificate>>, Problem> {
    let manager = Manager::of(&principal)?;
    Ok(Json(certificates::visible(&exchange, &manager).await?))
}

/// Issue a client certificate for mutual TLS at the gateway from the agency's CSR. Issuing
/// again rotates; with `replaces`, the named certificate is revoked in the same step.
#[utoipa::path(post, path = "/api/v1/exchange/certificates", tag = "exchange", security(("session" = [])), request_body = CertificateRequest,
    responses((status = 201, body = IssuedCertificate), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub(in crate::http) async fn issue(
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    ApiJson(request): ApiJson<CertificateRequest>,
) -> Result<(StatusCode, Json<IssuedCertificate>), Problem> {
    let manager = Manager::of(&principal)?;
    let issued = certificates::issue(&exchange, &manager, &request).await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedCertificate {
            subsystem: request.subsystem.trim().to_owned(),
            serial: issued.serial,
            fingerprint: issued.fingerprint,
            certificate: issued.certificate_pem,
            not_before: issued.not_before,
            not_after: issued.not_after,
            replaced: request.replaces.filter(|s| !s.trim().is_empty()),
        }),
    ))
}

/// Revoke a client certificate; the gateway refuses it from the next request, and the
/// revocation list names it.
#[utoipa::path(post, path = "/api/v1/exchange/certificates/{serial}/revoke", tag = "exchange", security(("session" = [])),
    params(("serial" = String, Path, description = "The certificate's serial number, hex")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub(in crate::http) async fn revoke(
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    Path(serial): Path<String>,
) -> Result<StatusCode, Problem> {
    certificates::revoke(&exchange, &Manager::of(&principal)?, &serial).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The same as `POST …/{serial}/revoke`, kept for clients written before it.
#[utoipa::path(delete, path = "/api/v1/exchange/certificates/{serial}", tag = "exchange", security(("session" = [])),
    params(("serial" = String, Path, description = "The certificate's serial number, hex")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub(in crate::http) async fn delete(
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    Path(serial): Path<String>,
) -> Result<StatusCode, Problem> {
    certificates::revoke(&exchange, &Manager::of(&principal)?, &serial).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The platform CA's certificate, PEM: client certificates chain to it, and clients of the
/// TLS listener trust it. Public.
#[utoipa::path(get, path = "/api/v1/exchange/ca.pem", tag = "exchange",
    responses((status = 200, content_type = "application/pem-certificate-chain", body = String)))]
pub(in crate::http) async fn ca_certificate(
    State(exchange): State<Exchange>,
) -> Result<Response, Problem> {
    let ca = exchange.ca()?;
    Ok((
        [
            (CONTENT_TYPE, "application/pem-certificate-chain"),
            (CACHE_CONTROL, CA_CACHING),
        ],
        ca.certificate_pem().to_owned(),
    )
        .into_response())
}

/// A certificate revocation list in DER (RFC 5280 §5).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct RevocationList(Vec<u8>);

impl IntoResponse for RevocationList {
    fn into_response(self) -> Response {
        (
            // RFC 2585 §4.2.
            [
                (CONTENT_TYPE, "application/pkix-crl"),
                (CACHE_CONTROL, CRL_CACHING),
            ],
            self.0,
        )
            .into_response()
    }
}

/// Every revoked client certificate, as an X.509 revocation list signed by the platform CA,
/// valid 24 hours (nextUpdate). Public.
#[utoipa::path(get, path = "/api/v1/exchange/ca.crl", tag = "exchange",
    responses((status = 200, content_type = "application/pkix-crl", body = RevocationList)))]
pub(in crate::http) async fn revocation_list(
    State(exchange): State<Exchange>,
) -> Result<RevocationList, Problem> {
    Ok(RevocationList(
        certificates::revocation_list(&exchange).await?,
    ))
}
