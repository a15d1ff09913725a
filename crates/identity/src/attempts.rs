//! Failed sign-in attempts per account, counted before the secret is checked: an attempt is
//! reserved by one atomic UPDATE, then verified, and forgiven only when it was right. So N
//! concurrent wrong guesses check at most `MAX_FAILURES` secrets before the lock, on either
//! backend (PostgreSQL re-reads the row an UPDATE waited for; SQLite has one writer).
//! Passwords and second-factor codes are counted apart: a right password must not forgive
//! wrong codes, or rounds of "right password, four wrong codes" never lock.

use store::{Db, Tx, timestamp};
use time::{Duration, OffsetDateTime};

use crate::error::IdentityError;
use crate::store::attempts::{self as store_attempts, Checked};

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

/// How the account is named: by the personal ID typed in, or by its id.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AccountKey<'a> {
    PersonalId(&'a str),
    Id(&'a str),
}

pub(crate) enum Reservation<R> {
    /// The attempt is counted. `row` holds the columns the check needs; `locks_until` is set
    /// when this attempt is the one that reached the limit, so a wrong answer means "locked".
    Counted {
        row: R,
        locks_until: Option<String>,
    },
    Locked {
        until: time::OffsetDateTime,
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
    // Twice at most: a lock can run out between the UPDATE and the look at why it missed.
    for _ in 0..2 {
        let now = OffsetDateTime::now_utc();
        let mut tx = db.begin().await?;
        let counted = store_attempts::count::<R>(
            &mut tx,
            factor,
            account,
            MAX_FAILURES,
            &timestamp::format(now + Duration::minutes(LOCK_MINUTES)),
            &timestamp::format(now),
        )
        .await?;
        tx.commit().await?;
        if let Some((locks_until, row)) = counted {
            return Ok(Reservation::Counted { row, locks_until });
        }
        match store_attempts::lock(db, account).await? {
            None => return Ok(Reservation::NoAccount),
            Some(Some(until)) if until > timestamp::format(now) => {
                return Ok(Reservation::Locked {
                    until: timestamp::parse(&until)?,
                });
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
    store_attempts::forgive(tx, factor, account_id, MAX_FAILURES).await
}

/// The error for a wrong answer to a counted attempt.
pub(crate) fn wrong_answer(locks_until: Option<String>) -> IdentityError {
    match locks_until.as_deref().map(timestamp::parse) {
        Some(Ok(until)) => IdentityError::Locked { until },
        Some(Err(unreadable)) => unreadable.into(),
        None => IdentityError::BadCredentials,
    }
}
