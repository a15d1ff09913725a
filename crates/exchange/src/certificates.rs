//! Client certificates for mutual TLS at the gateway (ADR 0009), managed through the API by
//! people and published for relying parties. An operator manages every subsystem's
//! certificates, a member administrator those of its own member's subsystems (the rules of
//! admin.rs). Issuing takes the agency's CSR only, so the private key never exists here;
//! rotating is issuing again, optionally revoking the replaced certificate in the same step.
//! The CA certificate and a revocation list signed by the CA are public, for software that
//! checks certificates without asking the gateway.

use axum::Json;
use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use web::auth::Authenticated;
use web::{ApiJson, Problem};

use crate::admin::{Manager, parse};
use crate::ca::{DEFAULT_DAYS, Issued};
use crate::catalog::{CertificateInfo, ExchangeError};
use crate::ids::SubsystemId;
use crate::{Exchange, SubjectKey};

/// How long a revocation list is good for: its nextUpdate (RFC 5280 §5.1.2.5).
const CRL_LIFETIME: time::Duration = time::Duration::hours(24);
/// Caches may keep the list a few minutes only, so a revocation reaches relying parties that
/// fetch it again well before nextUpdate.
const CRL_CACHING: &str = "public, max-age=300";
const CA_CACHING: &str = "public, max-age=86400";

pub fn api_routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Exchange: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(list, issue))
        .routes(routes!(delete))
        .routes(routes!(revoke))
        .routes(routes!(ca_certificate))
        .routes(routes!(revocation_list))
        .merge(crate::ocsp::api_routes())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CertificateStatus {
    /// The gateway accepts it (within its validity).
    Active,
    Revoked,
    Expired,
}

impl CertificateStatus {
    /// The key of its name in the page texts.
    pub fn text_key(self) -> &'static str {
        match self {
            Self::Active => "certificates.active",
            Self::Revoked => "certificates.revoked",
            Self::Expired => "certificates.expired",
        }
    }
}

/// A client certificate as the API lists it. Timestamps are RFC 3339, UTC.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Certificate {
    /// `INSTANCE/CLASS/MEMBER/SUBSYSTEM`
    pub subsystem: String,
    /// Hex.
    pub serial: String,
    /// Lowercase hex SHA-256 of the DER certificate.
    pub fingerprint: String,
    pub not_before: String,
    pub not_after: String,
    pub status: CertificateStatus,
    pub issued_by: String,
    pub issued_at: String,
    pub revoked_at: Option<String>,
    pub revoked_by: Option<String>,
}

impl Certificate {
    pub fn is_active(&self) -> bool {
        self.status == CertificateStatus::Active
    }

    fn as_of(info: CertificateInfo, now: OffsetDateTime) -> Self {
        let ended = store::timestamp::parse(&info.not_after).is_ok_and(|end| end < now);
        let status = match (&info.revoked_at, ended) {
            (Some(_), _) => CertificateStatus::Revoked,
            (None, true) => CertificateStatus::Expired,
            (None, false) => CertificateStatus::Active,
        };
        Self {
            subsystem: info.subsystem,
            serial: info.serial,
            fingerprint: info.fingerprint,
            not_before: info.not_before,
            not_after: info.not_after,
            status,
            issued_by: info.issued_by,
            issued_at: info.issued_at,
            revoked_at: info.revoked_at,
            revoked_by: info.revoked_by,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateRequest {
    /// The subsystem the certificate is for, `INSTANCE/CLASS/MEMBER/SUBSYSTEM`, registered.
    pub subsystem: String,
    /// A PKCS #10 certificate signing request in PEM, signed with the agency's key, which
    /// stays with the agency. The names it asks for are ignored: the certificate names the
    /// subsystem.
    pub csr: String,
    /// Days of validity (default 365, at most 825).
    pub days: Option<u32>,
    /// Rotation: the serial of a current certificate of the same subsystem to revoke as this
    /// one is issued. Without it, earlier certificates stay valid until they expire or are
    /// revoked.
    pub replaces: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedCertificate {
    pub subsystem: String,
    pub serial: String,
    pub fingerprint: String,
    /// PEM.
    pub certificate: String,
    pub not_before: String,
    pub not_after: String,
    /// The serial revoked by this rotation, if the request named one.
    pub replaced: Option<String>,
}

/// The certificates of the subsystems `manager` manages, revoked and expired ones included,
/// newest first.
pub(crate) async fn visible(
    exchange: &Exchange,
    manager: &Manager,
) -> Result<Vec<Certificate>, Problem> {
    let now = OffsetDateTime::now_utc();
    Ok(exchange
        .catalog
        .certificates()
        .await
        .map_err(Problem::from)?
        .into_iter()
        .filter(|c| SubsystemId::parse(&c.subsystem).is_ok_and(|s| manager.manages(&s.member)))
        .map(|c| Certificate::as_of(c, now))
        .collect())
}

/// Issues from the request's CSR after checking everything it names, so a refusal changes
/// nothing.
pub(crate) async fn issue_for(
    exchange: &Exchange,
    manager: &Manager,
    request: &CertificateRequest,
) -> Result<Issued, Problem> {
    let subsystem = parse(SubsystemId::parse(request.subsystem.trim()), "subsystem")?;
    manager.require(&subsystem.member)?;
    if !exchange.catalog.snapshot().await.has_subsystem(&subsystem) {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown-subsystem",
            format!("subsystem: {subsystem} is not registered"),
        )
        .field("subsystem"));
    }
    let replaces = request
        .replaces
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let Some(serial) = replaces {
        replaceable(exchange, &subsystem, serial).await?;
    }
    exchange
        .issue_certificate_replacing(
            &subsystem.to_string(),
            SubjectKey::Csr(&request.csr),
            request.days.unwrap_or(DEFAULT_DAYS),
            replaces,
            manager.actor(),
        )
        .await
        .map_err(Problem::from)
}

/// Only a current certificate of the same subsystem can be replaced.
async fn replaceable(
    exchange: &Exchange,
    subsystem: &SubsystemId,
    serial: &str,
) -> Result<(), Problem> {
    let refused = |code, detail: String| {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail).field("replaces")
    };
    let current = match exchange.catalog.certificate(serial).await {
        Ok(current) => current,
        Err(ExchangeError::Unknown(_)) => {
            return Err(refused(
                "unknown-certificate",
                format!("replaces: no certificate has the serial {serial}"),
            ));
        }
        Err(error) => return Err(Problem::from(error)),
    };
    if current.subsystem != subsystem.to_string() {
        return Err(refused(
            "other-subsystem",
            format!(
                "replaces: certificate {serial} belongs to {}, not {subsystem}",
                current.subsystem
            ),
        ));
    }
    if let Some(at) = current.revoked_at {
        return Err(refused(
            "already-revoked",
            format!("replaces: certificate {serial} was already revoked at {at}"),
        ));
    }
    Ok(())
}

/// Revokes a certificate of a subsystem `manager` manages; the gateway on this node refuses
/// it from the next request.
pub(crate) async fn revoke_as(
    exchange: &Exchange,
    manager: &Manager,
    serial: &str,
) -> Result<(), Problem> {
    let certificate = match exchange.catalog.certificate(serial).await {
        Ok(certificate) => certificate,
        Err(ExchangeError::Unknown(_)) => {
            return Err(Problem::not_found(
                "unknown-certificate",
                format!("no certificate has the serial {serial}"),
            )
            .field("serial"));
        }
        Err(error) => return Err(Problem::from(error)),
    };
    let subsystem = parse(SubsystemId::parse(&certificate.subsystem), "subsystem")?;
    manager.require(&subsystem.member)?;
    let already_revoked = |how: String| {
        Problem::new(
            StatusCode::CONFLICT,
            "already-revoked",
            format!(
                "certificate {} was already revoked {how}",
                certificate.serial
            ),
        )
        .field("serial")
    };
    if let Some(at) = &certificate.revoked_at {
        let by = certificate.revoked_by.as_deref().unwrap_or("?");
        return Err(already_revoked(format!("at {at} by {by}")));
    }
    match exchange
        .catalog
        .revoke_certificate(&certificate.serial, manager.actor())
        .await
    {
        Ok(()) => Ok(()),
        // Revoked by someone else between the lookup and the update.
        Err(ExchangeError::Unknown(_)) => Err(already_revoked("a moment ago".into())),
        Err(error) => Err(Problem::from(error)),
    }
}

/// Client certificates of the subsystems the caller manages (every subsystem, for an
/// operator), revoked and expired ones included, newest first.
#[utoipa::path(get, path = "/api/v1/exchange/certificates", tag = "exchange", security(("session" = [])),
    responses((status = 200, body = Vec<Certificate>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list(
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
) -> Result<Json<Vec<Certificate>>, Problem> {
    let manager = Manager::of(&principal)?;
    Ok(Json(visible(&exchange, &manager).await?))
}

/// Issue a client certificate for mutual TLS at the gateway from the agency's CSR. Issuing
/// again rotates; with `replaces`, the named certificate is revoked in the same step.
#[utoipa::path(post, path = "/api/v1/exchange/certificates", tag = "exchange", security(("session" = [])), request_body = CertificateRequest,
    responses((status = 201, body = IssuedCertificate), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn issue(
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    ApiJson(request): ApiJson<CertificateRequest>,
) -> Result<(StatusCode, Json<IssuedCertificate>), Problem> {
    let manager = Manager::of(&principal)?;
    let issued = issue_for(&exchange, &manager, &request).await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedCertificate {
            subsystem: request.subsystem.trim().to_owned(),
            serial: issued.serial,
            fingerprint: issued.fingerprint,
            certificate: issued.certificate_pem,
            not_before: store::timestamp::format(issued.not_before),
            not_after: store::timestamp::format(issued.not_after),
            replaced: request.replaces.filter(|s| !s.trim().is_empty()),
        }),
    ))
}

/// Revoke a client certificate; the gateway refuses it from the next request, and the
/// revocation list names it.
#[utoipa::path(post, path = "/api/v1/exchange/certificates/{serial}/revoke", tag = "exchange", security(("session" = [])),
    params(("serial" = String, Path, description = "The certificate's serial number, hex")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn revoke(
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    Path(serial): Path<String>,
) -> Result<StatusCode, Problem> {
    revoke_as(&exchange, &Manager::of(&principal)?, &serial).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The same as `POST …/{serial}/revoke`, kept for clients written before it.
#[utoipa::path(delete, path = "/api/v1/exchange/certificates/{serial}", tag = "exchange", security(("session" = [])),
    params(("serial" = String, Path, description = "The certificate's serial number, hex")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn delete(
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    Path(serial): Path<String>,
) -> Result<StatusCode, Problem> {
    revoke_as(&exchange, &Manager::of(&principal)?, &serial).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The platform CA's certificate, PEM: client certificates chain to it, and clients of the
/// TLS listener trust it. Public.
#[utoipa::path(get, path = "/api/v1/exchange/ca.pem", tag = "exchange",
    responses((status = 200, content_type = "application/pem-certificate-chain", body = String)))]
async fn ca_certificate(State(exchange): State<Exchange>) -> Result<Response, Problem> {
    let ca = exchange.ca().map_err(|e| Problem::internal(&e))?;
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
async fn revocation_list(State(exchange): State<Exchange>) -> Result<RevocationList, Problem> {
    let now = OffsetDateTime::now_utc();
    let der = match exchange.catalog.revocations().await {
        Ok(revoked) => exchange
            .ca()
            .and_then(|ca| ca.revocation_list(&revoked, now, now + CRL_LIFETIME)),
        Err(error) => Err(error),
    }
    .map_err(|e| Problem::internal(&e))?;
    Ok(RevocationList(der))
}
