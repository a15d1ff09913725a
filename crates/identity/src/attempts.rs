//! Failed sign-in attempts per account, counted before the secret is checked: an attempt is
//! reserved by one atomic UPDATE, then verified, and forgiven only when it was right. So N
//! concurrent wrong guesses check at most `MAX_FAILURES` secrets before the lock, on either
//! backend (PostgreSQL re-reads the row an UPDATE waited for; SQLite has one writer).
//! Passwords and second-factor codes are counted apart: a right password must not forgive
//! wrong codes, or rounds of "right password, four wrong codes" never lock.

use sqlx::FromRow;
use sqlx::any::AnyRow;
use store::{Db, Tx, timestamp};
use time::{Duration, OffsetDateTime};

use crate::error::IdentityError;

/// Failed attempts before an account locks, and for how long (NIST SP 800-63B §5.2.2 asks
/// to limit failed attempts; 5 per 15 minutes is far inside its bound of 100).
pub(crate) const MAX_FAILURES: i64 = 5;
const LOCK_MINUTES: i64 = 15;

/// Which secret an attempt guesses; each has its own count.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Factor {
    Password,
    Code,
}

impl Factor {
    fn count_column(self) -> &'static str {
        match self {
            Self::Password => "failed_logins",
            Self::Code => "failed_codes",
        }
    }

    fn other_count_column(self) -> &'static str {
        match self {
            Self::Password => Self::Code.count_column(),
            Self::Code => Self::Password.count_column(),
        }
    }
}

/// How the account is named: by the personal ID typed in, or by its id.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AccountKey<'a> {
    PersonalId(&'a str),
    Id(&'a str),
}

/// The account's columns a check needs, read by the same UPDATE that counts the attempt.
pub(crate) trait Checked: for<'r> FromRow<'r, AnyRow> + Send + Unpin {
    /// The column names, fixed, never input.
    const COLUMNS: &'static str;
}

#[derive(FromRow)]
struct Lock {
    locked_until: Option<String>,
}

pub(crate) enum Reservation<R> {
    /// The attempt is counted. `row` holds the columns the check needs; `locks_until` is set
    /// when this attempt is the one that reached the limit, so a wrong answer means "locked".
    Counted {
        row: R,
        locks_until: Option<String>,
    },
    Locked {
        until: String,
    },
    NoAccount,
}

/// Counts one attempt against `factor` unless the account is locked, and returns the
/// columns `R` names for the check.
pub(crate) async fn reserve<R: Checked>(
    db: &Db,
    factor: Factor,
    account: AccountKey<'_>,
) -> Result<Reservation<R>, IdentityError> {
    let returning = R::COLUMNS;
    let (key_column, key) = match account {
        AccountKey::PersonalId(id) => ("personal_id", id),
        AccountKey::Id(id) => ("id", id),
    };
    let counted = factor.count_column();
    let other = factor.other_count_column();
    // A lock that has run out is forgotten with both counts: this attempt starts a new round.
    let sql = format!(
        "UPDATE identity_accounts SET \
         {counted} = CASE WHEN locked_until IS NULL THEN {counted} + 1 ELSE 1 END, \
         {other} = CASE WHEN locked_until IS NULL THEN {other} ELSE 0 END, \
         locked_until = CASE WHEN locked_until IS NULL AND {counted} + 1 >= $2 THEN $3 ELSE NULL END \
         WHERE {key_column} = $1 AND (locked_until IS NULL OR locked_until <= $4) \
         RETURNING locked_until, {returning}"
    );
    // Twice at most: a lock can run out between the UPDATE and the look at why it missed.
    for _ in 0..2 {
        let now = OffsetDateTime::now_utc();
        let mut tx = db.begin().await?;
        let row = sqlx::query(&sql)
            .bind(key)
            .bind(MAX_FAILURES)
            .bind(timestamp::format(now + Duration::minutes(LOCK_MINUTES)))
            .bind(timestamp::format(now))
            .fetch_optional(tx.conn())
            .await?;
        tx.commit().await?;
        if let Some(row) = row {
            let Lock { locked_until } = Lock::from_row(&row)?;
            return Ok(Reservation::Counted {
                row: R::from_row(&row)?,
                locks_until: locked_until,
            });
        }
        let lock: Option<Option<String>> = sqlx::query_scalar(&format!(
            "SELECT locked_until FROM identity_accounts WHERE {key_column} = $1"
        ))
        .bind(key)
        .fetch_optional(db.reader())
        .await?;
        match lock {
            None => return Ok(Reservation::NoAccount),
            Some(Some(until)) if until > timestamp::format(now) => {
                return Ok(Reservation::Locked { until });
            }
            Some(_) => {}
        }
    }
    Err(IdentityError::Internal(
        "the account's lock changed twice during one sign-in".into(),
    ))
}

/// A right answer: forgets this factor's failures and lifts the lock, unless the other
/// factor's failures hold it.
pub(crate) async fn forgive(
    tx: &mut Tx,
    factor: Factor,
    account_id: &str,
) -> Result<(), IdentityError> {
    let counted = factor.count_column();
    let other = factor.other_count_column();
    sqlx::query(&format!(
        "UPDATE identity_accounts SET {counted} = 0, \
         locked_until = CASE WHEN {other} >= $2 THEN locked_until ELSE NULL END WHERE id = $1"
    ))
    .bind(account_id)
    .bind(MAX_FAILURES)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The error for a wrong answer to a counted attempt.
pub(crate) fn wrong_answer(locks_until: Option<String>) -> IdentityError {
    match locks_until {
        Some(until) => IdentityError::Locked { until },
        None => IdentityError::BadCredentials,
    }
}
