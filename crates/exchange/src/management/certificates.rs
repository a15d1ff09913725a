//! Client certificates for mutual TLS at the gateway (ADR 0009), managed by people and
//! published for relying parties. An operator manages every subsystem's certificates, a
//! member administrator those of its own member's subsystems (the rules of [`Manager`]).
//! Issuing takes the agency's CSR only, so the private key never exists here; rotating is
//! issuing again, optionally revoking the replaced certificate in the same step.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{Manager, parse};
use crate::ca::{DEFAULT_DAYS, Issued};
use crate::catalog::{CertificateInfo, ExchangeError};
use crate::error::NotReplaceable;
use crate::ids::SubsystemId;
use crate::{Exchange, SubjectKey};

/// How long a revocation list is good for: its nextUpdate (RFC 5280 §5.1.2.5).
const CRL_LIFETIME: time::Duration = time::Duration::hours(24);

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
    #[serde(with = "kernel::timestamp::text")]
    #[schema(value_type = String, format = DateTime)]
    pub not_before: OffsetDateTime,
    #[serde(with = "kernel::timestamp::text")]
    #[schema(value_type = String, format = DateTime)]
    pub not_after: OffsetDateTime,
    pub status: CertificateStatus,
    pub issued_by: String,
    #[serde(with = "kernel::timestamp::text")]
    #[schema(value_type = String, format = DateTime)]
    pub issued_at: OffsetDateTime,
    #[serde(with = "kernel::timestamp::text::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<OffsetDateTime>,
    pub revoked_by: Option<String>,
}

impl Certificate {
    pub fn is_active(&self) -> bool {
        self.status == CertificateStatus::Active
    }

    fn as_of(info: CertificateInfo, now: OffsetDateTime) -> Self {
        let ended = info.not_after < now;
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

/// The certificates of the subsystems `manager` manages, revoked and expired ones included,
/// newest first.
pub async fn visible(
    exchange: &Exchange,
    manager: &Manager,
) -> Result<Vec<Certificate>, ExchangeError> {
    let now = OffsetDateTime::now_utc();
    Ok(exchange
        .catalog
        .certificates()
        .await?
        .into_iter()
        .filter(|c| SubsystemId::parse(&c.subsystem).is_ok_and(|s| manager.manages(&s.member)))
        .map(|c| Certificate::as_of(c, now))
        .collect())
}

/// Issues from the request's CSR after checking everything it names, so a refusal changes
/// nothing.
pub async fn issue(
    exchange: &Exchange,
    manager: &Manager,
    request: &CertificateRequest,
) -> Result<Issued, ExchangeError> {
    let subsystem = parse(SubsystemId::parse(request.subsystem.trim()), "subsystem")?;
    manager.require(&subsystem.member)?;
    if !exchange.catalog.snapshot().await.has_subsystem(&subsystem) {
        return Err(ExchangeError::UnregisteredSubsystem(subsystem.to_string()));
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
}

/// Only a current certificate of the same subsystem can be replaced.
async fn replaceable(
    exchange: &Exchange,
    subsystem: &SubsystemId,
    serial: &str,
) -> Result<(), ExchangeError> {
    let refused = |why: NotReplaceable| -> Result<(), ExchangeError> {
        Err(ExchangeError::NotReplaceable(why))
    };
    let current = match exchange.catalog.certificate(serial).await {
        Ok(current) => current,
        Err(ExchangeError::Unknown { .. }) => {
            return refused(NotReplaceable::Unknown {
                serial: serial.to_owned(),
            });
        }
        Err(error) => return Err(error),
    };
    if current.subsystem != subsystem.to_string() {
        return refused(NotReplaceable::OtherSubsystem {
            serial: serial.to_owned(),
            owner: current.subsystem,
            subsystem: subsystem.to_string(),
        });
    }
    if let Some(at) = current.revoked_at {
        return refused(NotReplaceable::Revoked {
            serial: serial.to_owned(),
            by: current.revoked_by.clone().unwrap_or_default(),
            at,
        });
    }
    Ok(())
}

/// Revokes a certificate of a subsystem `manager` manages; the gateway on this node refuses
/// it from the next request.
pub async fn revoke(
    exchange: &Exchange,
    manager: &Manager,
    serial: &str,
) -> Result<(), ExchangeError> {
    let certificate = match exchange.catalog.certificate(serial).await {
        Ok(certificate) => certificate,
        Err(ExchangeError::Unknown { .. }) => {
            return Err(ExchangeError::UnknownCertificate(serial.to_owned()));
        }
        Err(error) => return Err(error),
    };
    let subsystem = parse(SubsystemId::parse(&certificate.subsystem), "subsystem")?;
    manager.require(&subsystem.member)?;
    let already_revoked = |by_at| ExchangeError::AlreadyRevoked {
        serial: certificate.serial.clone(),
        by_at,
    };
    if let Some(at) = certificate.revoked_at {
        let by = certificate.revoked_by.clone().unwrap_or_default();
        return Err(already_revoked(Some((by, at))));
    }
    match exchange
        .catalog
        .revoke_certificate(&certificate.serial, manager.actor())
        .await
    {
        Ok(()) => Ok(()),
        // Revoked by someone else between the lookup and the update.
        Err(ExchangeError::Unknown { .. }) => Err(already_revoked(None)),
        Err(error) => Err(error),
    }
}

/// A certificate's PEM and serial, for the people who manage its subsystem.
pub async fn pem(
    exchange: &Exchange,
    manager: &Manager,
    serial: &str,
) -> Result<(String, String), ExchangeError> {
    let certificate = exchange.catalog.certificate(serial).await?;
    let subsystem = SubsystemId::parse(&certificate.subsystem).map_err(ExchangeError::stored)?;
    manager.require(&subsystem.member)?;
    let pem = exchange
        .catalog
        .certificate_pem(&certificate.serial)
        .await?;
    Ok((certificate.serial, pem))
}

/// Every revoked client certificate, as an X.509 revocation list in DER signed by the
/// platform CA, valid [`CRL_LIFETIME`]. Public.
pub async fn revocation_list(exchange: &Exchange) -> Result<Vec<u8>, ExchangeError> {
    let now = OffsetDateTime::now_utc();
    let revoked = exchange.catalog.revocations().await?;
    exchange
        .ca()?
        .revocation_list(&revoked, now, now + CRL_LIFETIME)
}
