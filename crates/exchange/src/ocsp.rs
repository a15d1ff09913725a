//! An OCSP responder (RFC 6960) for the platform CA's client certificates: a relying party
//! other than the gateway asks about one certificate and gets a signed good, revoked or
//! unknown, read from the certificates table at that moment, instead of a revocation list
//! that may be up to a day old. The CA key signs the answers itself (RFC 6960 §4.2.2.2).
//!
//! `POST /api/v1/exchange/ocsp` takes the DER request; `GET /api/v1/exchange/ocsp/{base64}`
//! takes it in the URL (RFC 6960 Appendix A.1), so answers without a nonce can be cached.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use der::{Decode, Encode};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;
use x509_cert::Certificate;
use x509_cert::name::Name;
use x509_ocsp::builder::OcspResponseBuilder;
use x509_ocsp::{
    CertId, CertStatus, OcspGeneralizedTime, OcspRequest, OcspResponse, RevokedInfo, SingleResponse,
};

use crate::Exchange;
use crate::ca::{failed, hex};
use crate::catalog::ExchangeError;

/// The field errors name.
const FIELD: &str = "ocsp";
/// Certificates asked about in one request, at most.
const MAX_QUESTIONS: usize = 20;
/// How long a relying party may rely on an answer (its nextUpdate), and cache a GET.
const ANSWER_LIFETIME: std::time::Duration = std::time::Duration::from_secs(3600);
const ANSWER_CACHING: &str = "public, max-age=300";

const SHA1: der::asn1::ObjectIdentifier = der::asn1::ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const SHA256: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

pub(crate) fn api_routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Exchange: axum::extract::FromRef<S>,
{
    OpenApiRouter::new()
        .route("/api/v1/exchange/ocsp", axum::routing::post(posted))
        .route("/api/v1/exchange/ocsp/{*request}", get(in_url))
}

async fn posted(State(exchange): State<Exchange>, body: Bytes) -> Response {
    respond(answer(&exchange, &body).await, "no-store")
}

async fn in_url(State(exchange): State<Exchange>, Path(request): Path<String>) -> Response {
    let der = base64::engine::general_purpose::STANDARD.decode(request.trim_start_matches('/'));
    let answered = match der {
        Ok(der) => answer(&exchange, &der).await,
        Err(_) => encode(&OcspResponse::malformed_request()),
    };
    respond(answered, ANSWER_CACHING)
}

fn respond(der: Vec<u8>, caching: &'static str) -> Response {
    // RFC 6960 Appendix A.1: always 200; the status is inside the response.
    (
        [
            (CONTENT_TYPE, "application/ocsp-response"),
            (CACHE_CONTROL, caching),
        ],
        der,
    )
        .into_response()
}

fn encode(response: &OcspResponse) -> Vec<u8> {
    response.to_der().unwrap_or_default()
}

/// The DER OCSP response to a DER OCSP request.
pub async fn answer(exchange: &Exchange, request: &[u8]) -> Vec<u8> {
    let Ok(request) = OcspRequest::from_der(request) else {
        return encode(&OcspResponse::malformed_request());
    };
    let questions = &request.tbs_request.request_list;
    if questions.is_empty() || questions.len() > MAX_QUESTIONS {
        return encode(&OcspResponse::malformed_request());
    }
    match signed(exchange, &request).await {
        Ok(response) => encode(&response),
        Err(error) => {
            tracing::error!(%error, "OCSP answer not made");
            encode(&OcspResponse::internal_error())
        }
    }
}

/// What every answer needs from the CA, derived once: the name it signs as, the hashes a
/// CertID names it by, and its key.
pub(crate) struct Responder {
    name: Name,
    issuer: IssuerHashes,
    signer: p256::ecdsa::SigningKey,
}

impl Responder {
    fn of(exchange: &Exchange) -> Result<Self, ExchangeError> {
        let ca = exchange.ca()?;
        let certificate =
            Certificate::from_der(ca.certificate_der()).map_err(|e| failed(FIELD, e))?;
        Ok(Self {
            issuer: IssuerHashes::of(&certificate).map_err(|e| failed(FIELD, e))?,
            name: certificate.tbs_certificate.subject,
            signer: ca.ocsp_signer()?,
        })
    }
}

fn responder(exchange: &Exchange) -> Result<&Responder, ExchangeError> {
    if let Some(responder) = exchange.ocsp.get() {
        return Ok(responder);
    }
    let made = Responder::of(exchange)?;
    Ok(exchange.ocsp.get_or_init(|| made))
}

async fn signed(exchange: &Exchange, request: &OcspRequest) -> Result<OcspResponse, ExchangeError> {
    let responder = responder(exchange)?;
    let now = std::time::SystemTime::now();
    let this_update = OcspGeneralizedTime::try_from(now).map_err(|e| failed(FIELD, e))?;
    let next_update =
        OcspGeneralizedTime::try_from(now + ANSWER_LIFETIME).map_err(|e| failed(FIELD, e))?;
    let mut builder = OcspResponseBuilder::new(responder.name.clone());
    for question in &request.tbs_request.request_list {
        let status = status(exchange, &responder.issuer, &question.req_cert).await?;
        builder = builder.with_single_response(
            SingleResponse::new(question.req_cert.clone(), status, this_update)
                .with_next_update(next_update),
        );
    }
    if let Some(nonce) = request.nonce() {
        builder = builder
            .with_extension(nonce)
            .map_err(|e| failed(FIELD, e))?;
    }
    builder
        .sign::<_, p256::ecdsa::DerSignature>(&mut responder.signer.clone(), None, this_update)
        .map_err(|e| failed(FIELD, e))
}

/// What a CertID must carry to name this CA (RFC 6960 §4.1.1): the hashes of its name and of
/// its key, by SHA-1 (what most clients send) and by SHA-256.
struct IssuerHashes {
    sha1: [Vec<u8>; 2],
    sha256: [Vec<u8>; 2],
}

impl IssuerHashes {
    fn of(ca: &Certificate) -> Result<Self, der::Error> {
        let name = ca.tbs_certificate.subject.to_der()?;
        let key = ca
            .tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes();
        Ok(Self {
            sha1: [Sha1::digest(&name).to_vec(), Sha1::digest(key).to_vec()],
            sha256: [Sha256::digest(&name).to_vec(), Sha256::digest(key).to_vec()],
        })
    }

    fn named_by(&self, id: &CertId) -> bool {
        let [name, key] = match id.hash_algorithm.oid {
            oid if oid == SHA1 => &self.sha1,
            oid if oid == SHA256 => &self.sha256,
            _ => return false,
        };
        id.issuer_name_hash.as_bytes() == name.as_slice()
            && id.issuer_key_hash.as_bytes() == key.as_slice()
    }
}

/// Good, revoked (with when) or unknown: another issuer's, or a serial never issued here.
async fn status(
    exchange: &Exchange,
    issuer: &IssuerHashes,
    id: &CertId,
) -> Result<CertStatus, ExchangeError> {
    if !issuer.named_by(id) {
        return Ok(CertStatus::unknown());
    }
    // Serials are kept as the lowercase hex of their positive integer's octets.
    let octets = id.serial_number.as_bytes();
    let significant = octets
        .iter()
        .position(|&b| b != 0)
        .and_then(|at| octets.get(at..))
        .unwrap_or_default();
    let serial = hex(significant);
    let info = match exchange.catalog.certificate(&serial).await {
        Ok(info) => info,
        Err(ExchangeError::Unknown { .. }) => return Ok(CertStatus::unknown()),
        Err(error) => return Err(error),
    };
    let Some(revoked_at) = info.revoked_at else {
        return Ok(CertStatus::good());
    };
    let revocation_time = OcspGeneralizedTime::try_from(std::time::SystemTime::from(revoked_at))
        .map_err(|e| failed("revoked_at", e))?;
    Ok(CertStatus::revoked(RevokedInfo {
        revocation_time,
        revocation_reason: None,
    }))
}
