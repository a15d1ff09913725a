//! Reading the whole catalogue from the database into a snapshot. Rows are mapped by
//! `FromRow` and then checked into typed identifiers: a stored identifier that no longer
//! parses is named in the error rather than skipped.

use std::collections::HashMap;

use store::{Db, timestamp};

use super::snapshot::{CurrentCertificate, Endpoint, Limit, Right, Service, Snapshot};
use crate::ExchangeError;
use crate::ids::{ClientId, MemberId, ServiceId, SubsystemId};

#[derive(sqlx::FromRow)]
struct NamedRow {
    id: String,
    name: String,
}

#[derive(sqlx::FromRow)]
struct EndpointRow {
    service_id: String,
    method: String,
    path: String,
}

#[derive(sqlx::FromRow)]
struct ServiceRow {
    id: String,
    base_url: String,
    openapi: Option<String>,
    timeout_ms: i64,
    disabled_at: Option<String>,
}

#[derive(sqlx::FromRow)]
struct RightRow {
    id: String,
    client_id: String,
    service_id: String,
    method: Option<String>,
    path: Option<String>,
    fields: Option<String>,
    granted_by: String,
    granted_at: String,
}

#[derive(sqlx::FromRow)]
struct LimitRow {
    client_id: String,
    per_second: i64,
    per_day: i64,
}

#[derive(sqlx::FromRow)]
struct CertificateRow {
    serial: String,
    subsystem_id: String,
    fingerprint: String,
    not_before: String,
    not_after: String,
}

pub(super) fn stored_time(text: &str) -> Result<time::OffsetDateTime, ExchangeError> {
    timestamp::parse(text).map_err(ExchangeError::stored)
}

async fn rows<T>(db: &Db, sql: &str) -> Result<Vec<T>, ExchangeError>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    Ok(sqlx::query_as::<_, T>(sql).fetch_all(db.reader()).await?)
}

pub(super) async fn load(db: &Db) -> Result<Snapshot, ExchangeError> {
    let mut snapshot = Snapshot::default();
    for row in rows::<NamedRow>(db, "SELECT id, name FROM exchange_members ORDER BY id").await? {
        snapshot.members.push((
            MemberId::parse(&row.id).map_err(ExchangeError::stored)?,
            row.name,
        ));
    }
    for row in rows::<NamedRow>(db, "SELECT id, name FROM exchange_subsystems ORDER BY id").await? {
        snapshot.subsystems.push((
            SubsystemId::parse(&row.id).map_err(ExchangeError::stored)?,
            row.name,
        ));
    }
    let mut endpoints: HashMap<String, Vec<Endpoint>> = HashMap::new();
    for row in rows::<EndpointRow>(
        db,
        "SELECT service_id, method, path FROM exchange_endpoints ORDER BY service_id, path, method",
    )
    .await?
    {
        endpoints.entry(row.service_id).or_default().push(Endpoint {
            method: row.method,
            path: row.path,
        });
    }
    for row in rows::<ServiceRow>(
        db,
        "SELECT id, base_url, openapi, timeout_ms, disabled_at FROM exchange_services",
    )
    .await?
    {
        let id = ServiceId::parse(&row.id).map_err(ExchangeError::stored)?;
        let service = Service {
            id: id.clone(),
            base_url: row.base_url,
            has_openapi: row.openapi.is_some(),
            openapi: row.openapi,
            timeout_ms: u64::try_from(row.timeout_ms).unwrap_or(30_000),
            endpoints: endpoints.remove(&row.id).unwrap_or_default(),
            disabled: row.disabled_at.is_some(),
        };
        snapshot.services.insert(id, service);
    }
    for row in rows::<RightRow>(
        db,
        "SELECT id, client_id, service_id, method, path, fields, granted_by, granted_at FROM exchange_rights WHERE revoked_at IS NULL ORDER BY granted_at",
    )
    .await?
    {
        let client = ClientId::parse(&row.client_id).map_err(ExchangeError::stored)?;
        let service = ServiceId::parse(&row.service_id).map_err(ExchangeError::stored)?;
        let right = Right {
            id: row.id,
            client: row.client_id,
            service: row.service_id,
            method: row.method,
            path: row.path,
            fields: row
                .fields
                .map(|f| f.split(',').map(str::to_owned).collect()),
            granted_by: row.granted_by,
            granted_at: stored_time(&row.granted_at)?,
        };
        snapshot
            .rights
            .entry(client)
            .or_default()
            .entry(service)
            .or_default()
            .push(right);
    }
    for row in rows::<LimitRow>(
        db,
        "SELECT client_id, per_second, per_day FROM exchange_limits",
    )
    .await?
    {
        snapshot.limits.insert(
            ClientId::parse(&row.client_id).map_err(ExchangeError::stored)?,
            Limit {
                per_second: u32::try_from(row.per_second).unwrap_or(u32::MAX),
                per_day: u64::try_from(row.per_day).unwrap_or(u64::MAX),
            },
        );
    }
    for row in rows::<CertificateRow>(
        db,
        "SELECT serial, subsystem_id, fingerprint, not_before, not_after FROM exchange_certificates WHERE revoked_at IS NULL",
    )
    .await?
    {
        snapshot.certificates.insert(
            row.fingerprint,
            CurrentCertificate {
                not_before: stored_time(&row.not_before)?,
                not_after: stored_time(&row.not_after)?,
                serial: row.serial,
                subsystem: row.subsystem_id,
            },
        );
    }
    Ok(snapshot)
}
