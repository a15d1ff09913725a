//! Sign-in hardening (issue 11): attempts are reserved before a hash is checked, second-factor
//! failures count on their own, password checks are bounded, sessions renew after the code.

use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use identity::password::PasswordChecks;
use identity::{Identity, IdentityError, SignIn};
use store::testing::{TestResult, for_each_backend};

use super::{ID, code_now, registration, setup};

const PASSWORD: &str = "hoa sen trắng 1975";

/// Tallies the answers of concurrent attempts: wrong-password answers are the hash checks
/// that found a wrong password; the rest were refused before or at the lock.
#[derive(Debug, Default)]
struct Answers {
    bad_credentials: usize,
    locked: usize,
    throttled: usize,
    other: Vec<String>,
}

impl Answers {
    fn add(&mut self, result: Result<SignIn, IdentityError>) {
        match result {
            Err(IdentityError::BadCredentials) => self.bad_credentials += 1,
            Err(IdentityError::Locked { .. }) => self.locked += 1,
            Err(IdentityError::Throttled { .. }) => self.throttled += 1,
            other => self.other.push(format!("{other:?}")),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_passwords_lock_the_account_after_five_checks() -> TestResult {
    for_each_backend(super::TABLES, |db| async move {
        let (identity, _) = setup(db).await?;
        identity
            .register(registration("Lê Văn Bình", PASSWORD))
            .await?;
        let identity = Arc::new(identity);
        let attempts: Vec<_> = (0..20)
            .map(|_| {
                let identity = Arc::clone(&identity);
                tokio::spawn(
                    async move { identity.login(ID, "wrong password!", "race", None).await },
                )
            })
            .collect();
        let mut answers = Answers::default();
        for attempt in attempts {
            answers.add(attempt.await?);
        }
        assert!(answers.other.is_empty(), "{answers:?}");
        // The fifth reserved attempt locks the account, so at most four say "wrong password".
        assert!(answers.bad_credentials <= 4, "{answers:?}");
        assert_eq!(answers.bad_credentials + answers.locked, 20, "{answers:?}");
        let after = identity.login(ID, PASSWORD, "owner", None).await;
        assert!(
            matches!(after, Err(IdentityError::Locked { .. })),
            "the account is locked: {after:?}"
        );
        Ok(())
    })
    .await
}

/// Two hashes at a time and a long wait, so these tests see the reservations, not the bound.
fn patient(identity: Identity) -> Identity {
    identity.with_password_checks(PasswordChecks::new(
        NonZeroUsize::MIN.saturating_add(1),
        Duration::from_secs(120),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_failures_from_one_address_check_at_most_thirty_hashes() -> TestResult {
    for_each_backend(super::TABLES, |db| async move {
        let (identity, _) = setup(db).await?;
        let identity = Arc::new(patient(identity));
        let spray: IpAddr = [203, 0, 113, 9].into();
        // Eighty unknown accounts, so no account lock interferes: only the address limit.
        let attempts: Vec<_> = (0..80)
            .map(|n| {
                let identity = Arc::clone(&identity);
                tokio::spawn(async move {
                    let id = format!("0790850{n:05}");
                    identity
                        .login(&id, "matkhau123456", "spray", Some(spray))
                        .await
                })
            })
            .collect();
        let mut answers = Answers::default();
        for attempt in attempts {
            answers.add(attempt.await?);
        }
        assert!(answers.other.is_empty(), "{answers:?}");
        assert_eq!(answers.bad_credentials, 30, "{answers:?}");
        assert_eq!(answers.throttled, 50, "{answers:?}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_right_password_does_not_forgive_wrong_codes() -> TestResult {
    for_each_backend(super::TABLES, |db| async move {
        let (identity, _) = setup(db).await?;
        let account = identity
            .register(registration("Lê Văn Bình", PASSWORD))
            .await?;
        let enrolment = identity.begin_totp(&account, ID).await?;
        identity
            .confirm_totp(&account, &code_now(&enrolment.secret, -1))
            .await?;
        // Round one: the right password, then four wrong codes.
        let SignIn::NeedsCode(first) = identity.login(ID, PASSWORD, "round 1", None).await? else {
            return Err("needs a code".into());
        };
        for attempt in 1..=4 {
            let wrong = identity.complete_sign_in(&first, "000000x", None).await;
            assert!(
                matches!(wrong, Err(IdentityError::BadCredentials)),
                "code {attempt}: {wrong:?}"
            );
        }
        // Round two: the right password again; the fifth wrong code overall locks.
        let SignIn::NeedsCode(second) = identity.login(ID, PASSWORD, "round 2", None).await? else {
            return Err("needs a code".into());
        };
        let fifth = identity.complete_sign_in(&second, "000000x", None).await;
        assert!(
            matches!(fifth, Err(IdentityError::Locked { .. })),
            "the fifth wrong code locks: {fifth:?}"
        );
        let after = identity.login(ID, PASSWORD, "round 3", None).await;
        assert!(
            matches!(after, Err(IdentityError::Locked { .. })),
            "{after:?}"
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn the_session_token_is_renewed_when_the_code_is_accepted() -> TestResult {
    for_each_backend(super::TABLES, |db| async move {
        let (identity, _) = setup(db).await?;
        let account = identity
            .register(registration("Lê Văn Bình", PASSWORD))
            .await?;
        let enrolment = identity.begin_totp(&account, ID).await?;
        identity
            .confirm_totp(&account, &code_now(&enrolment.secret, -1))
            .await?;
        let SignIn::NeedsCode(pending) = identity.login(ID, PASSWORD, "phone", None).await? else {
            return Err("needs a code".into());
        };
        let renewed = identity
            .complete_sign_in(&pending, &code_now(&enrolment.secret, 0), None)
            .await?;
        assert_ne!(renewed, pending);
        assert!(identity.principal(&renewed).await?.is_some());
        assert!(
            identity.principal(&pending).await?.is_none(),
            "the token from before the code signs nobody in"
        );
        let sessions = identity.sessions(&account, Some(&renewed)).await?;
        assert_eq!(sessions.len(), 1, "{sessions:?}");
        assert!(
            sessions
                .iter()
                .all(|s| s.current && s.method == "password_totp")
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn with_every_hash_busy_a_sign_in_is_told_to_come_back() -> TestResult {
    for_each_backend(super::TABLES, |db| async move {
        let (identity, _) = setup(db).await?;
        identity
            .register(registration("Lê Văn Bình", PASSWORD))
            .await?;
        let identity = identity.with_password_checks(PasswordChecks::new(
            NonZeroUsize::MIN,
            Duration::from_millis(50),
        ));
        let held = identity.password_checks().acquire().await?;
        let busy = identity.login(ID, PASSWORD, "t", None).await;
        assert!(
            matches!(
                busy,
                Err(IdentityError::Busy {
                    retry_after_seconds: 1..
                })
            ),
            "{busy:?}"
        );
        drop(held);
        // Refused as busy, it changed nothing: the same attempt now succeeds.
        assert!(matches!(
            identity.login(ID, PASSWORD, "t", None).await?,
            SignIn::Complete(_)
        ));
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_right_passwords_at_once_from_one_address_are_not_throttled() -> TestResult {
    for_each_backend(super::TABLES, |db| async move {
        let (identity, _) = setup(db).await?;
        identity
            .register(registration("Lê Văn Bình", PASSWORD))
            .await?;
        let identity = Arc::new(patient(identity));
        let office: IpAddr = [198, 51, 100, 20].into();
        // More than the address's 30 failures: in flight, right answers must not count.
        let attempts: Vec<_> = (0..40)
            .map(|_| {
                let identity = Arc::clone(&identity);
                tokio::spawn(
                    async move { identity.login(ID, PASSWORD, "office", Some(office)).await },
                )
            })
            .collect();
        for attempt in attempts {
            let answer = attempt.await?;
            assert!(matches!(answer, Ok(SignIn::Complete(_))), "{answer:?}");
        }
        Ok(())
    })
    .await
}
