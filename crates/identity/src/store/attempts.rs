//! The failure counts and lock on `identity_accounts` (the rules are in `crate::attempts`).

use sqlx::FromRow;
use sqlx::any::AnyRow;
use store::{Db, Tx};

use crate::attempts::{AccountKey, Factor};
use crate::error::IdentityError;

/// The account's columns a check needs, read by the same UPDATE that counts the attempt.
pub(crate) trait Checked: for<'r> FromRow<'r, AnyRow> + Send + Unpin {
    /// The column names, fixed, never input.
    const COLUMNS: &'static str;
}

#[derive(FromRow)]
struct Lock {
    locked_until: Option<String>,
}

/// The column that counts `factor`'s failures, and the one that counts the other factor's.
fn count_columns(factor: Factor) -> (&'static str, &'static str) {
    match factor {
        Factor::Password => ("failed_logins", "failed_codes"),
        Factor::Code => ("failed_codes", "failed_logins"),
    }
}

fn key_column(account: AccountKey<'_>) -> (&'static str, &str) {
    match account {
        AccountKey::PersonalId(id) => ("personal_id", id),
        AccountKey::Id(id) => ("id", id),
    }
}

/// Counts one attempt unless the account is locked past `now`; a lock that has run out is
/// forgotten with both counts. Returns the lock this attempt set (if it reached
/// `max_failures`) and the columns `R` names; `None` when no row was counted.
pub(crate) async fn count<R: Checked>(
    tx: &mut Tx,
    factor: Factor,
    account: AccountKey<'_>,
    max_failures: i64,
    lock_until: &str,
    now: &str,
) -> Result<Option<(Option<String>, R)>, IdentityError> {
    let returning = R::COLUMNS;
    let (key_column, key) = key_column(account);
    let (counted, other) = count_columns(factor);
    let sql = format!(
        "UPDATE identity_accounts SET \
         {counted} = CASE WHEN locked_until IS NULL THEN {counted} + 1 ELSE 1 END, \
         {other} = CASE WHEN locked_until IS NULL THEN {other} ELSE 0 END, \
         locked_until = CASE WHEN locked_until IS NULL AND {counted} + 1 >= $2 THEN $3 ELSE NULL END \
         WHERE {key_column} = $1 AND (locked_until IS NULL OR locked_until <= $4) \
         RETURNING locked_until, {returning}"
    );
    let row = sqlx::query(&sql)
        .bind(key)
        .bind(max_failures)
        .bind(lock_until)
        .bind(now)
        .fetch_optional(tx.conn())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let Lock { locked_until } = Lock::from_row(&row)?;
    Ok(Some((locked_until, R::from_row(&row)?)))
}

/// The account's lock: `None` without such an account, `Some(None)` when it is not locked.
pub(crate) async fn lock(
    db: &Db,
    account: AccountKey<'_>,
) -> Result<Option<Option<String>>, IdentityError> {
    let (key_column, key) = key_column(account);
    Ok(sqlx::query_scalar(&format!(
        "SELECT locked_until FROM identity_accounts WHERE {key_column} = $1"
    ))
    .bind(key)
    .fetch_optional(db.reader())
    .await?)
}

/// Forgets `factor`'s failures and lifts the lock, unless the other factor's failures
/// (`max_failures` or more) hold it.
pub(crate) async fn forgive(
    tx: &mut Tx,
    factor: Factor,
    account_id: &str,
    max_failures: i64,
) -> Result<(), IdentityError> {
    let (counted, other) = count_columns(factor);
    sqlx::query(&format!(
        "UPDATE identity_accounts SET {counted} = 0, \
         locked_until = CASE WHEN {other} >= $2 THEN locked_until ELSE NULL END WHERE id = $1"
    ))
    .bind(account_id)
    .bind(max_failures)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Forgets the failures of both factors and lifts the lock.
pub(crate) async fn forgive_both(tx: &mut Tx, account_id: &str) -> Result<(), IdentityError> {
    sqlx::query(
        "UPDATE identity_accounts SET failed_logins = 0, failed_codes = 0, locked_until = NULL WHERE id = $1",
    )
    .bind(account_id)
    .execute(tx.conn())
    .await?;
    Ok(())
}
