//! Banks' identity checks (`identity_verifications`): what was checked and the outcome of
//! each field, never the record.

use store::Tx;

use crate::error::IdentityError;

/// One check as it is kept; each match is 1 or 0.
pub(crate) struct Check<'a> {
    pub id: &'a str,
    pub client_id: &'a str,
    pub subject: &'a str,
    pub personal_id: String,
    pub personal_id_match: bool,
    pub full_name_match: bool,
    pub birth_date_match: bool,
    pub living_match: bool,
    pub reference: &'a Option<String>,
    pub checked_at: &'a str,
}

pub(crate) async fn insert(tx: &mut Tx, check: Check<'_>) -> Result<(), IdentityError> {
    sqlx::query(
        "INSERT INTO identity_verifications (id, client_id, subject, personal_id, personal_id_match, full_name_match, birth_date_match, living_match, reference, checked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(check.id)
    .bind(check.client_id)
    .bind(check.subject)
    .bind(check.personal_id)
    .bind(i64::from(check.personal_id_match))
    .bind(i64::from(check.full_name_match))
    .bind(i64::from(check.birth_date_match))
    .bind(i64::from(check.living_match))
    .bind(check.reference)
    .bind(check.checked_at)
    .execute(tx.conn())
    .await?;
    Ok(())
}
