//! The residence history (`registry_residence_events`).

use kernel::PersonalId;
use store::{Db, Tx};

use crate::domain::residence::{ResidenceChange, ResidenceEvent};
use crate::error::RegistryError;

#[derive(sqlx::FromRow)]
struct ResidenceRow {
    kind: String,
    province_code: Option<String>,
    address: Option<String>,
    effective_from: String,
    recorded_at: String,
    basis: String,
}

impl TryFrom<ResidenceRow> for ResidenceEvent {
    type Error = RegistryError;

    fn try_from(row: ResidenceRow) -> Result<Self, RegistryError> {
        Ok(Self {
            kind: row.kind,
            province: row.province_code,
            address: row.address,
            effective_from: row.effective_from,
            recorded_at: store::timestamp::parse(&row.recorded_at)?,
            basis: row.basis,
        })
    }
}

pub(crate) async fn insert(
    tx: &mut Tx,
    personal_id: PersonalId,
    residence: &ResidenceChange,
    basis: &str,
    now: &str,
) -> Result<(), RegistryError> {
    sqlx::query(
        "INSERT INTO registry_residence_events (personal_id, kind, province_code, address, effective_from, recorded_at, basis) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(personal_id.to_string())
    .bind(residence.kind.as_str())
    .bind(residence.address.as_ref().map(|a| a.province.to_string()))
    .bind(residence.address.as_ref().map(|a| a.detail.clone()))
    .bind(residence.effective_from.to_string())
    .bind(now)
    .bind(basis)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A citizen's residence history in effective order.
pub(crate) async fn events_of(
    db: &Db,
    personal_id: PersonalId,
) -> Result<Vec<ResidenceEvent>, RegistryError> {
    let rows = sqlx::query_as::<_, ResidenceRow>(
        "SELECT kind, province_code, address, effective_from, recorded_at, basis FROM registry_residence_events \
         WHERE personal_id = $1 ORDER BY effective_from, id",
    )
    .bind(personal_id.to_string())
    .fetch_all(db.reader())
    .await?;
    rows.into_iter().map(ResidenceEvent::try_from).collect()
}
