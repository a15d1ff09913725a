//! Mandates citizens give helpers (`identity_mandates`) and the actions helpers took under
//! them (`identity_assisted_actions`).

use store::{Db, Tx};

use crate::error::IdentityError;

/// A helper's account and the agency (team) in which they hold the helper role, if any.
#[derive(sqlx::FromRow)]
pub(crate) struct Helper {
    pub id: String,
    pub agency: Option<String>,
}

/// A mandate as it is given.
pub(crate) struct NewMandate<'a> {
    pub id: &'a str,
    pub citizen_account: &'a str,
    pub helper_account: &'a str,
    pub helper_agency: &'a str,
    pub scopes: String,
    pub granted_at: String,
    pub expires_at: String,
}

/// A mandate with the personal IDs of both parties.
#[derive(sqlx::FromRow)]
pub(crate) struct MandateRow {
    pub id: String,
    pub helper_agency: String,
    pub scopes: String,
    pub granted_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
    pub citizen_pid: String,
    pub helper_pid: String,
}

/// An active mandate and the citizen who gave it.
#[derive(sqlx::FromRow)]
pub(crate) struct ActingRow {
    pub id: String,
    pub citizen_account: String,
    pub scopes: String,
    pub expires_at: String,
    pub personal_id: String,
}

/// An action a helper took, with the helper's team and personal ID.
#[derive(sqlx::FromRow)]
pub(crate) struct ActionRow {
    pub acted_at: String,
    pub action: String,
    pub helper_agency: String,
    pub personal_id: String,
}

/// An action as it is recorded.
pub(crate) struct NewAction<'a> {
    pub id: String,
    pub mandate_id: &'a str,
    pub citizen_account: &'a str,
    pub helper_account: &'a str,
    pub action: &'a str,
    pub acted_at: String,
}

/// Which side of the mandates to list; its column is one of two literals, never input.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Party {
    Citizen,
    Helper,
}

impl Party {
    fn column(self) -> &'static str {
        match self {
            Self::Citizen => "m.citizen_account",
            Self::Helper => "m.helper_account",
        }
    }
}

const MANDATE_COLUMNS: &str = "m.id, m.helper_agency, m.scopes, m.granted_at, m.expires_at, m.revoked_at, \
     c.personal_id AS citizen_pid, h.personal_id AS helper_pid";

/// The account of `personal_id` and the first agency where it holds `role`.
pub(crate) async fn helper(
    db: &Db,
    role: &str,
    personal_id: String,
) -> Result<Option<Helper>, IdentityError> {
    Ok(sqlx::query_as::<_, Helper>(
        "SELECT a.id, r.agency FROM identity_accounts a LEFT JOIN identity_roles r ON r.account_id = a.id AND r.role = $1 \
         WHERE a.personal_id = $2 ORDER BY r.agency",
    )
    .bind(role)
    .bind(personal_id)
    .fetch_optional(db.reader())
    .await?)
}

pub(crate) async fn insert(tx: &mut Tx, mandate: NewMandate<'_>) -> Result<(), IdentityError> {
    sqlx::query(
        "INSERT INTO identity_mandates (id, citizen_account, helper_account, helper_agency, scopes, granted_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(mandate.id)
    .bind(mandate.citizen_account)
    .bind(mandate.helper_account)
    .bind(mandate.helper_agency)
    .bind(mandate.scopes)
    .bind(mandate.granted_at)
    .bind(mandate.expires_at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The ids of the citizen's mandates to this helper still in force at `now` (stored text).
pub(crate) async fn in_force_between(
    tx: &mut Tx,
    citizen_account: &str,
    helper_account: &str,
    now: &str,
) -> Result<Vec<String>, IdentityError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM identity_mandates WHERE citizen_account = $1 AND helper_account = $2 AND revoked_at IS NULL AND expires_at > $3",
    )
    .bind(citizen_account)
    .bind(helper_account)
    .bind(now)
    .fetch_all(tx.conn())
    .await?)
}

/// Revokes the citizen's mandate if it is not revoked yet; false otherwise.
pub(crate) async fn revoke(
    tx: &mut Tx,
    now: String,
    mandate_id: &str,
    citizen_account: &str,
) -> Result<bool, IdentityError> {
    let revoked = sqlx::query(
        "UPDATE identity_mandates SET revoked_at = $1 WHERE id = $2 AND citizen_account = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(mandate_id)
    .bind(citizen_account)
    .execute(tx.conn())
    .await?;
    Ok(revoked.rows_affected() > 0)
}

/// The mandates `account` gave or holds, as `party`, newest first (at most 100).
pub(crate) async fn of(
    db: &Db,
    party: Party,
    account: &str,
) -> Result<Vec<MandateRow>, IdentityError> {
    let column = party.column();
    Ok(sqlx::query_as::<_, MandateRow>(&format!(
        "SELECT {MANDATE_COLUMNS} FROM identity_mandates m \
         JOIN identity_accounts c ON c.id = m.citizen_account JOIN identity_accounts h ON h.id = m.helper_account \
         WHERE {column} = $1 ORDER BY m.granted_at DESC, m.id DESC LIMIT 100"
    ))
    .bind(account)
    .fetch_all(db.reader())
    .await?)
}

/// The mandate, if it is active at `now` and held by `helper_account`.
pub(crate) async fn active(
    db: &Db,
    mandate_id: &str,
    helper_account: &str,
    now: String,
) -> Result<Option<ActingRow>, IdentityError> {
    Ok(sqlx::query_as::<_, ActingRow>(
        "SELECT m.id, m.citizen_account, m.scopes, m.expires_at, c.personal_id FROM identity_mandates m \
         JOIN identity_accounts c ON c.id = m.citizen_account \
         WHERE m.id = $1 AND m.helper_account = $2 AND m.revoked_at IS NULL AND m.expires_at > $3",
    )
    .bind(mandate_id)
    .bind(helper_account)
    .bind(now)
    .fetch_optional(db.reader())
    .await?)
}

pub(crate) async fn record_action(tx: &mut Tx, action: NewAction<'_>) -> Result<(), IdentityError> {
    sqlx::query(
        "INSERT INTO identity_assisted_actions (id, mandate_id, citizen_account, helper_account, action, acted_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(action.id)
    .bind(action.mandate_id)
    .bind(action.citizen_account)
    .bind(action.helper_account)
    .bind(action.action)
    .bind(action.acted_at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// What helpers did for the citizen, newest first (at most 200).
pub(crate) async fn actions(
    db: &Db,
    citizen_account: &str,
) -> Result<Vec<ActionRow>, IdentityError> {
    Ok(sqlx::query_as::<_, ActionRow>(
        "SELECT x.acted_at, x.action, m.helper_agency, h.personal_id FROM identity_assisted_actions x \
         JOIN identity_mandates m ON m.id = x.mandate_id JOIN identity_accounts h ON h.id = x.helper_account \
         WHERE x.citizen_account = $1 ORDER BY x.acted_at DESC, x.id DESC LIMIT 200",
    )
    .bind(citizen_account)
    .fetch_all(db.reader())
    .await?)
}
