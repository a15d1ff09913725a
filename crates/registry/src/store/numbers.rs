//! Issued personal ID numbers (`registry_issued_ids`): the primary key makes a repeat
//! impossible, even across nodes.

use std::collections::HashSet;

use kernel::PersonalId;
use store::Tx;
use store::bulk::{self, Value};

use crate::error::RegistryError;

/// Claims `candidate` if nobody holds it yet; false when it was taken.
pub(crate) async fn claim_one(
    tx: &mut Tx,
    candidate: PersonalId,
    now: &str,
) -> Result<bool, RegistryError> {
    let claimed = sqlx::query(
        "INSERT INTO registry_issued_ids (personal_id, issued_at) VALUES ($1, $2) ON CONFLICT (personal_id) DO NOTHING",
    )
    .bind(candidate.to_string())
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(claimed.rows_affected() == 1)
}

/// Claims numbers issued elsewhere; returns those that were free and are now claimed.
pub(crate) async fn claim(
    tx: &mut Tx,
    ids: &[PersonalId],
    now: &str,
) -> Result<HashSet<String>, RegistryError> {
    let rows = ids
        .iter()
        .map(|id| vec![Value::Text(id.to_string()), Value::Text(now.to_owned())])
        .collect();
    let claimed = bulk::insert_rows(
        tx,
        "registry_issued_ids",
        &["personal_id", "issued_at"],
        rows,
        "ON CONFLICT (personal_id) DO NOTHING RETURNING personal_id",
    )
    .await?;
    Ok(claimed.into_iter().collect())
}
