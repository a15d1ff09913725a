//! Accounts (`identity_accounts`): who they are, their assurance level, their kept name,
//! and the roles they hold in agencies (`identity_roles`).

use store::{Db, Tx};

use crate::error::IdentityError;

const ID_BY_PERSONAL_ID: &str = "SELECT id FROM identity_accounts WHERE personal_id = $1";
const ASSURANCE_LEVEL: &str = "SELECT assurance_level FROM identity_accounts WHERE id = $1";

/// What a password sign-in checks, read as the attempt is counted (see `attempts::count`).
#[derive(sqlx::FromRow)]
pub(crate) struct PasswordCheck {
    pub id: String,
    pub password_hash: String,
    pub totp_confirmed_at: Option<String>,
}

impl super::attempts::Checked for PasswordCheck {
    const COLUMNS: &'static str = "id, password_hash, totp_confirmed_at";
}

/// A level-1 account as registration writes it.
pub(crate) struct NewAccount<'a> {
    pub id: &'a str,
    pub personal_id: &'a str,
    pub password_hash: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub created_at: String,
}

/// A role held in an agency, as granted (any text, before roles were a closed list).
#[derive(sqlx::FromRow)]
pub(crate) struct Grant {
    pub agency: String,
    pub role: String,
}

/// Inserts the account unless one exists for the personal ID; false when one did.
pub(crate) async fn insert(tx: &mut Tx, account: NewAccount<'_>) -> Result<bool, IdentityError> {
    let inserted = sqlx::query(
        "INSERT INTO identity_accounts (id, personal_id, password_hash, assurance_level, phone, email, failed_logins, created_at) \
         VALUES ($1, $2, $3, 1, $4, $5, 0, $6) ON CONFLICT (personal_id) DO NOTHING",
    )
    .bind(account.id)
    .bind(account.personal_id)
    .bind(account.password_hash)
    .bind(account.phone)
    .bind(account.email)
    .bind(account.created_at)
    .execute(tx.conn())
    .await?;
    Ok(inserted.rows_affected() != 0)
}

/// Raises the account of `personal_id` to level 2; false when there is no such account.
pub(crate) async fn confirm_level2(
    tx: &mut Tx,
    confirmed_by: &str,
    at: &str,
    personal_id: &str,
) -> Result<bool, IdentityError> {
    let updated = sqlx::query("UPDATE identity_accounts SET assurance_level = 2, level2_by = $1, level2_at = $2 WHERE personal_id = $3")
        .bind(confirmed_by)
        .bind(at)
        .bind(personal_id)
        .execute(tx.conn())
        .await?;
    Ok(updated.rows_affected() != 0)
}

pub(crate) async fn id_by_personal_id(
    db: &Db,
    personal_id: &str,
) -> Result<Option<String>, IdentityError> {
    Ok(sqlx::query_scalar(ID_BY_PERSONAL_ID)
        .bind(personal_id)
        .fetch_optional(db.reader())
        .await?)
}

/// As [`id_by_personal_id`], inside a transaction.
pub(crate) async fn id_by_personal_id_in(
    tx: &mut Tx,
    personal_id: &str,
) -> Result<Option<String>, IdentityError> {
    Ok(sqlx::query_scalar(ID_BY_PERSONAL_ID)
        .bind(personal_id)
        .fetch_optional(tx.conn())
        .await?)
}

pub(crate) async fn assurance_level(db: &Db, account_id: &str) -> Result<i64, IdentityError> {
    Ok(sqlx::query_scalar(ASSURANCE_LEVEL)
        .bind(account_id)
        .fetch_one(db.reader())
        .await?)
}

/// As [`assurance_level`], inside a transaction.
pub(crate) async fn assurance_level_in(
    tx: &mut Tx,
    account_id: &str,
) -> Result<i64, IdentityError> {
    Ok(sqlx::query_scalar(ASSURANCE_LEVEL)
        .bind(account_id)
        .fetch_one(tx.conn())
        .await?)
}

/// The name kept with the account `id`: `None` without such an account, `Some(None)` when
/// none is kept yet.
pub(crate) async fn name_by_id(db: &Db, id: &str) -> Result<Option<Option<String>>, IdentityError> {
    Ok(
        sqlx::query_scalar("SELECT full_name FROM identity_accounts WHERE id = $1")
            .bind(id)
            .fetch_optional(db.reader())
            .await?,
    )
}

/// As [`name_by_id`], for the account of `personal_id`.
pub(crate) async fn name_by_personal_id(
    db: &Db,
    personal_id: &str,
) -> Result<Option<Option<String>>, IdentityError> {
    Ok(
        sqlx::query_scalar("SELECT full_name FROM identity_accounts WHERE personal_id = $1")
            .bind(personal_id)
            .fetch_optional(db.reader())
            .await?,
    )
}

pub(crate) async fn keep_name(
    tx: &mut Tx,
    personal_id: &str,
    full_name: &str,
) -> Result<(), IdentityError> {
    sqlx::query("UPDATE identity_accounts SET full_name = $1 WHERE personal_id = $2")
        .bind(full_name)
        .bind(personal_id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// After a recovery in person: the new password, no failures, no lock, no second factor.
pub(crate) async fn reset_credentials(
    tx: &mut Tx,
    password_hash: String,
    account_id: &str,
) -> Result<(), IdentityError> {
    sqlx::query(
        "UPDATE identity_accounts SET password_hash = $1, failed_logins = 0, locked_until = NULL, \
         totp_secret = NULL, totp_confirmed_at = NULL, totp_last_step = NULL WHERE id = $2",
    )
    .bind(password_hash)
    .bind(account_id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub(crate) async fn grant_role(
    tx: &mut Tx,
    account_id: String,
    agency: &str,
    role: &str,
    granted_by: &str,
    at: String,
) -> Result<(), IdentityError> {
    sqlx::query(
        "INSERT INTO identity_roles (account_id, agency, role, granted_by, granted_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (account_id, agency, role) DO NOTHING",
    )
    .bind(account_id)
    .bind(agency)
    .bind(role)
    .bind(granted_by)
    .bind(at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The account's grants, by agency and role.
pub(crate) async fn grants(db: &Db, account_id: &str) -> Result<Vec<Grant>, IdentityError> {
    Ok(sqlx::query_as::<_, Grant>(
        "SELECT agency, role FROM identity_roles WHERE account_id = $1 ORDER BY agency, role",
    )
    .bind(account_id)
    .fetch_all(db.reader())
    .await?)
}
