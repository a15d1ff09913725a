//! The record of client certificates the platform CA issued: issuing, rotation, revocation,
//! and the lists the API, the CRL and OCSP read.

use kernel::Message;
use store::timestamp;

use super::load::stored_time;
use super::{Catalog, CertificateInfo};
use crate::ExchangeError;
use crate::error::Entry;
use crate::ids::SubsystemId;

const CERTIFICATE_COLUMNS: &str = "serial, subsystem_id, fingerprint, not_before, not_after, issued_by, issued_at, revoked_at, revoked_by";

#[derive(sqlx::FromRow)]
struct CertificateRow {
    serial: String,
    subsystem_id: String,
    fingerprint: String,
    not_before: String,
    not_after: String,
    issued_by: String,
    issued_at: String,
    revoked_at: Option<String>,
    revoked_by: Option<String>,
}

impl TryFrom<CertificateRow> for CertificateInfo {
    type Error = ExchangeError;

    fn try_from(row: CertificateRow) -> Result<Self, ExchangeError> {
        Ok(Self {
            serial: row.serial,
            subsystem: row.subsystem_id,
            fingerprint: row.fingerprint,
            not_before: stored_time(&row.not_before)?,
            not_after: stored_time(&row.not_after)?,
            issued_by: row.issued_by,
            issued_at: stored_time(&row.issued_at)?,
            revoked_at: row.revoked_at.as_deref().map(stored_time).transpose()?,
            revoked_by: row.revoked_by,
        })
    }
}

impl Catalog {
    /// Records a certificate the CA just issued; the gateway accepts it from now on. With
    /// `replaced`, that current certificate of the same subsystem is revoked in the same
    /// transaction, so a rotation happens whole or not at all.
    pub async fn record_certificate(
        &self,
        subsystem: &SubsystemId,
        issued: &crate::ca::Issued,
        replaced: Option<&str>,
        actor: &str,
    ) -> Result<(), ExchangeError> {
        let now = timestamp::now();
        let mut tx = self.db.begin().await?;
        sqlx::query("INSERT INTO exchange_certificates (serial, subsystem_id, fingerprint, certificate, not_before, not_after, issued_by, issued_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(&issued.serial)
            .bind(subsystem.to_string())
            .bind(&issued.fingerprint)
            .bind(&issued.certificate_pem)
            .bind(timestamp::format(issued.not_before))
            .bind(timestamp::format(issued.not_after))
            .bind(actor)
            .bind(&now)
            .execute(tx.conn())
            .await?;
        if let Some(serial) = replaced {
            let serial = serial.trim().to_ascii_lowercase();
            let done = sqlx::query("UPDATE exchange_certificates SET revoked_by = $1, revoked_at = $2 WHERE serial = $3 AND subsystem_id = $4 AND revoked_at IS NULL")
                .bind(actor)
                .bind(&now)
                .bind(&serial)
                .bind(subsystem.to_string())
                .execute(tx.conn())
                .await?;
            if done.rows_affected() == 0 {
                // Dropping the transaction undoes the insert.
                return Err(ExchangeError::invalid(
                    "replaces",
                    Message::new("exchange.not_current_certificate")
                        .with("serial", &serial)
                        .with("subsystem", subsystem),
                ));
            }
        }
        tx.commit().await?;
        self.reload().await?;
        Ok(())
    }

    /// Revoked certificates, for the revocation list.
    pub async fn revocations(&self) -> Result<Vec<crate::ca::Revocation>, ExchangeError> {
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT serial, revoked_at FROM exchange_certificates WHERE revoked_at IS NOT NULL ORDER BY revoked_at")
            .fetch_all(self.db.reader())
            .await?;
        rows.into_iter()
            .map(|(serial, at)| {
                Ok(crate::ca::Revocation {
                    serial,
                    revoked_at: stored_time(&at)?,
                })
            })
            .collect()
    }

    /// Revokes a certificate; the gateway on this node refuses it from the next request
    /// (other nodes within `RELOAD_SECONDS`).
    pub async fn revoke_certificate(&self, serial: &str, actor: &str) -> Result<(), ExchangeError> {
        let serial = serial.trim().to_ascii_lowercase();
        let mut tx = self.db.begin().await?;
        let done = sqlx::query("UPDATE exchange_certificates SET revoked_by = $1, revoked_at = $2 WHERE serial = $3 AND revoked_at IS NULL")
            .bind(actor)
            .bind(timestamp::now())
            .bind(&serial)
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        if done.rows_affected() == 0 {
            return Err(ExchangeError::unknown(Entry::Certificate, serial));
        }
        self.reload().await?;
        Ok(())
    }

    /// Every certificate issued, revoked ones included, newest first.
    pub async fn certificates(&self) -> Result<Vec<CertificateInfo>, ExchangeError> {
        sqlx::query_as::<_, CertificateRow>(&format!(
            "SELECT {CERTIFICATE_COLUMNS} FROM exchange_certificates ORDER BY issued_at DESC"
        ))
        .fetch_all(self.db.reader())
        .await?
        .into_iter()
        .map(CertificateInfo::try_from)
        .collect()
    }

    /// The certificate as issued, PEM.
    pub async fn certificate_pem(&self, serial: &str) -> Result<String, ExchangeError> {
        let serial = serial.trim().to_ascii_lowercase();
        sqlx::query_scalar("SELECT certificate FROM exchange_certificates WHERE serial = $1")
            .bind(&serial)
            .fetch_optional(self.db.reader())
            .await?
            .ok_or_else(|| ExchangeError::unknown(Entry::Certificate, &serial))
    }

    pub async fn certificate(&self, serial: &str) -> Result<CertificateInfo, ExchangeError> {
        let serial = serial.trim().to_ascii_lowercase();
        sqlx::query_as::<_, CertificateRow>(&format!(
            "SELECT {CERTIFICATE_COLUMNS} FROM exchange_certificates WHERE serial = $1"
        ))
        .bind(&serial)
        .fetch_optional(self.db.reader())
        .await?
        .ok_or_else(|| ExchangeError::unknown(Entry::Certificate, &serial))?
        .try_into()
    }
}
