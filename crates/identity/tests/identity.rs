#![allow(clippy::expect_used)] // fixtures built from literals: a failure is a bug in the test itself

//! Identity contract tests, on SQLite and (when configured) PostgreSQL.

#[path = "identity/assistance.rs"]
mod assistance;
#[path = "identity/machine.rs"]
mod machine;
#[path = "identity/passkeys.rs"]
mod passkeys;
#[path = "identity/signin.rs"]
mod signin;

use std::sync::Arc;

use identity::{Identity, IdentityError, Registration, SignIn};
use kernel::{AgencyCode, PersonalId, Reference, Role, Sex};
use registry::{Change, CitizenRecord, Lists, Registry};
use store::testing::{TestResult, for_each_backend};
use time::macros::date;
use web::auth::AgencyRole;

/// The tables these tests use: identity's, and the registry's that accounts are checked against.
/// Identity's tables, and those of the registry, the exchange and the audit log, through
/// which identity reads the registry.
static TABLES: &[&store::Migrations] = &[
    &identity::MIGRATIONS,
    &registry::MIGRATIONS,
    &exchange::MIGRATIONS,
    &audit::MIGRATIONS,
];

const ID: &str = "001090000042";

async fn setup(
    db: store::Db,
) -> Result<(Identity, Registry), Box<dyn std::error::Error + Send + Sync>> {
    let reference = Reference::load()?;
    let registry = Registry::new(db.clone(), Arc::new(Lists::load(&reference)?));
    let personal_id = PersonalId::parse(ID)?;
    let record = CitizenRecord::new(
        personal_id,
        "Lê Văn Bình",
        date!(1990 - 07 - 20),
        Sex::Male,
        "01",
    );
    registry
        .register(
            &record,
            Change {
                actor: "test",
                basis: "test fixture",
            },
            date!(2026 - 11 - 23),
        )
        .await?;
    Ok((
        connected(Identity::new(db.clone(), true), &db, &registry).await?,
        registry,
    ))
}

/// The identity service as the server wires it: the registry plugged into an exchange as a
/// provider, and identity reading it through its own client.
async fn connected(
    identity: Identity,
    db: &store::Db,
    registry: &Registry,
) -> Result<Identity, Box<dyn std::error::Error + Send + Sync>> {
    const INSTANCE: &str = "VN";
    let audit = audit::AuditLog::start(
        db.clone(),
        audit::CheckpointSigner::generate(),
        audit::AuditOptions::default(),
    )
    .await?;
    let unused: exchange::TokenVerifier = Arc::new(|_| {
        Box::pin(async {
            Err(exchange::TokenRejected::Invalid(
                "identity's tests call no gateway".into(),
            ))
        })
    });
    let exchange = exchange::Exchange::start(exchange::Parts {
        db: db.clone(),
        audit: audit.clone(),
        verify_token: unused,
        instance: INSTANCE.into(),
        max_body: 1 << 20,
        max_request: 1 << 20,
        max_response: 1 << 20,
        metrics: exchange::metrics::ExchangeMetrics::register(
            &mut prometheus_client::registry::Registry::default(),
        ),
        ca_dir: std::env::temp_dir().join("lienthong-identity-tests-no-ca"),
        provider_networks: exchange::networks::ProviderNetworks::parse::<&str>(&[])?,
    })
    .await?;
    exchange
        .provide(
            registry::provider::registration(INSTANCE),
            Arc::new(registry::provider::RegistryProvider(registry.clone())),
        )
        .await?;
    let registry_subsystem =
        exchange::SubsystemId::parse(&registry::provider::subsystem(INSTANCE))?;
    identity
        .population()
        .connect(&exchange, &audit, &registry_subsystem)
        .await?;
    Ok(identity)
}

fn registration(name: &str, password: &str) -> Registration {
    Registration {
        personal_id: PersonalId::parse(ID).expect("test ID"),
        full_name: name.into(),
        birth_date: date!(1990 - 07 - 20),
        phone: Some("0912345678".into()),
        email: None,
        password: password.into(),
    }
}

#[tokio::test]
async fn registration_is_checked_against_the_registry() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let (identity, _) = setup(db).await?;
        let mismatch = identity
            .register(registration("Lê Văn Bính", "hoa sen trắng 1975"))
            .await;
        assert!(
            matches!(mismatch, Err(IdentityError::NoMatch)),
            "{mismatch:?}"
        );
        let weak = identity.register(registration("Lê Văn Bình", "123")).await;
        assert!(
            matches!(
                weak,
                Err(IdentityError::Invalid {
                    field: "password",
                    ..
                })
            ),
            "{weak:?}"
        );
        let mut no_contact = registration("Lê Văn Bình", "hoa sen trắng 1975");
        no_contact.phone = None;
        assert!(matches!(
            identity.register(no_contact).await,
            Err(IdentityError::Invalid { field: "phone", .. })
        ));
        // Case, spacing and the normalisation form do not matter for the name check;
        // diacritics do, so a name guessed without them claims nobody's identity.
        let without_diacritics = identity
            .register(registration("LE VAN BINH", "hoa sen trắng 1975"))
            .await;
        assert!(
            matches!(without_diacritics, Err(IdentityError::NoMatch)),
            "{without_diacritics:?}"
        );
        let decomposed_upper_case = "  LE\u{302} VA\u{306}N   BI\u{300}NH ";
        identity
            .register(registration(decomposed_upper_case, "hoa sen trắng 1975"))
            .await?;
        let twice = identity
            .register(registration("Lê Văn Bình", "hoa sen trắng 1975"))
            .await;
        assert!(
            matches!(twice, Err(IdentityError::AccountExists)),
            "{twice:?}"
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_phone_number_written_any_usual_way_is_kept_in_one_form() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let (identity, _) = setup(db.clone()).await?;
        let mut malformed = registration("Lê Văn Bình", "hoa sen trắng 1975");
        malformed.phone = Some("0912 345 67".into());
        assert!(matches!(
            identity.register(malformed).await,
            Err(IdentityError::Invalid { field: "phone", .. })
        ));
        let mut spaced = registration("Lê Văn Bình", "hoa sen trắng 1975");
        spaced.phone = Some("+84 912 345 678".into());
        identity.register(spaced).await?;
        let kept: Option<String> =
            sqlx::query_scalar("SELECT phone FROM identity_accounts WHERE personal_id = $1")
                .bind(ID)
                .fetch_one(db.reader())
                .await?;
        assert_eq!(kept.as_deref(), Some("0912345678"));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_new_password_may_not_hold_what_others_know_of_its_owner() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let (identity, _) = setup(db).await?;
        for (password, reason) in [
            ("12345678901", "must not be digits only"),
            ("password123", "is one of the most common passwords"),
            ("số của tôi 0912.345.678", "must not contain the phone number"),
            ("sinh ngày 20/07/1990", "must not contain the date of birth"),
            ("mã 001090000042", "must not contain the personal ID number"),
        ] {
            let refused = identity
                .register(registration("Lê Văn Bình", password))
                .await;
            assert!(
                matches!(&refused, Err(IdentityError::Invalid { field: "password", reason: said }) if said.starts_with(reason)),
                "{password:?}: {refused:?}"
            );
        }
        identity
            .register(registration("Lê Văn Bình", "hoa sen trắng 1975"))
            .await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn five_failures_lock_the_account_even_for_the_right_password() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let (identity, _) = setup(db).await?;
        identity
            .register(registration("Lê Văn Bình", "hoa sen trắng 1975"))
            .await?;
        for attempt in 1..=4 {
            let result = identity.login(ID, "wrong password!", "test", None).await;
            assert!(
                matches!(result, Err(IdentityError::BadCredentials)),
                "attempt {attempt}: {result:?}"
            );
        }
        assert!(matches!(
            identity.login(ID, "wrong password!", "test", None).await,
            Err(IdentityError::Locked { .. })
        ));
        assert!(matches!(
            identity.login(ID, "hoa sen trắng 1975", "test", None).await,
            Err(IdentityError::Locked { .. })
        ));
        assert!(matches!(
            identity
                .login("079084000123", "anything at all", "test", None)
                .await,
            Err(IdentityError::BadCredentials)
        ));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn sessions_can_be_listed_revoked_and_ended() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let (identity, _) = setup(db).await?;
        identity
            .register(registration("Lê Văn Bình", "hoa sen trắng 1975"))
            .await?;
        let phone = identity
            .login(ID, "hoa sen trắng 1975", "phone", None)
            .await?
            .token()
            .to_owned();
        let laptop = identity
            .login(ID, "hoa sen trắng 1975", "laptop", None)
            .await?
            .token()
            .to_owned();
        let principal = identity.principal(&phone).await?.ok_or("no principal")?;
        assert_eq!(
            (principal.full_name.as_str(), principal.assurance_level),
            ("Lê Văn Bình", 1)
        );

        let sessions = identity
            .sessions(&principal.account_id, Some(&phone))
            .await?;
        assert_eq!(sessions.len(), 2);
        let other = sessions
            .iter()
            .find(|s| !s.current)
            .ok_or("no other session")?;
        assert_eq!(other.user_agent, "laptop");
        assert!(identity.revoke(&principal.account_id, &other.id).await?);
        assert!(
            identity.principal(&laptop).await?.is_none(),
            "a revoked session signs nobody in"
        );
        assert!(!identity.revoke("someone-else", &other.id).await?);

        identity.logout(&phone).await?;
        assert!(identity.principal(&phone).await?.is_none());
        assert!(identity.principal("not-a-token").await?.is_none());
        Ok(())
    })
    .await
}

#[tokio::test]
async fn level_two_needs_a_verifier_and_records_who() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let (identity, _) = setup(db).await?;
        identity
            .register(registration("Lê Văn Bình", "hoa sen trắng 1975"))
            .await?;
        let token = identity
            .login(ID, "hoa sen trắng 1975", "t", None)
            .await?
            .token()
            .to_owned();
        let mut official = identity.principal(&token).await?.ok_or("no principal")?;
        let id = PersonalId::parse(ID)?;
        assert!(matches!(
            identity.confirm_level2(id, &official).await,
            Err(IdentityError::Forbidden(_))
        ));

        identity
            .grant_role(
                id,
                &AgencyCode::parse("BCA")?,
                Role::IdentityVerifier,
                "operator:test",
            )
            .await?;
        official = identity.principal(&token).await?.ok_or("no principal")?;
        assert_eq!(
            official.roles,
            [AgencyRole {
                agency: "BCA".into(),
                role: Role::IdentityVerifier
            }]
        );
        identity.confirm_level2(id, &official).await?;
        assert_eq!(
            identity.principal(&token).await?.map(|p| p.assurance_level),
            Some(2)
        );
        // A role is one of a closed list: a bad role text is refused before any grant.
        assert!(matches!(
            Role::parse("Bad Role"),
            Err(kernel::Invalid { .. })
        ));
        Ok(())
    })
    .await
}

fn code_now(secret: &str, offset_steps: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .expect("base32 secret");
    let totp = totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        bytes,
        None,
        "test".into(),
    )
    .expect("valid TOTP");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    totp.generate(now.saturating_add_signed(offset_steps * 30))
}

#[tokio::test]
async fn a_second_factor_gates_the_session_and_codes_cannot_be_replayed() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let (identity, _) = setup(db.clone()).await?;
        let account = identity
            .register(registration("Lê Văn Bình", "hoa sen trắng 1975"))
            .await?;
        let enrolment = identity.begin_totp(&account, ID).await?;
        assert!(
            enrolment.url.starts_with("otpauth://totp/lienthong:"),
            "{}",
            enrolment.url
        );
        assert_eq!(
            identity.begin_totp(&account, ID).await?.secret,
            enrolment.secret,
            "a reload before confirming shows the same secret"
        );
        assert!(identity.confirm_totp(&account, "12ab56").await.is_err());
        identity
            .confirm_totp(&account, &code_now(&enrolment.secret, -1))
            .await?;
        assert!(identity.has_totp(&account).await?);
        let stored: String =
            sqlx::query_scalar("SELECT totp_secret FROM identity_accounts WHERE id = $1")
                .bind(&account)
                .fetch_one(db.reader())
                .await?;
        assert!(
            stored.starts_with("sealed:v1:") && !stored.contains(&enrolment.secret),
            "the seed is sealed at rest"
        );
        assert!(
            identity.begin_totp(&account, ID).await.is_err(),
            "a confirmed factor is not silently replaced"
        );

        let SignIn::NeedsCode(pending) = identity
            .login(ID, "hoa sen trắng 1975", "phone", None)
            .await?
        else {
            return Err("a password alone must not complete the sign-in".into());
        };
        assert!(
            identity.principal(&pending).await?.is_none(),
            "a pending session signs nobody in"
        );
        // The confirmation used the previous step; the current code is newer and works once.
        let code = code_now(&enrolment.secret, 0);
        let renewed = identity.complete_sign_in(&pending, &code, None).await?;
        assert!(identity.principal(&renewed).await?.is_some());

        let SignIn::NeedsCode(second) = identity
            .login(ID, "hoa sen trắng 1975", "laptop", None)
            .await?
        else {
            return Err("needs a code".into());
        };
        assert!(
            matches!(
                identity.complete_sign_in(&second, &code, None).await,
                Err(IdentityError::BadCredentials)
            ),
            "replayed code"
        );
        for _ in 0..3 {
            let _ = identity.complete_sign_in(&second, "not-a-code", None).await;
        }
        assert!(
            matches!(
                identity.complete_sign_in(&second, "999999x", None).await,
                Err(IdentityError::Locked { .. })
            ),
            "wrong codes lock the account too"
        );
        let fresh = code_now(&enrolment.secret, 1);
        assert!(
            matches!(
                identity.complete_sign_in(&second, &fresh, None).await,
                Err(IdentityError::Locked { .. })
            ),
            "a locked account takes no code, right or wrong"
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn recovery_in_person_resets_password_sessions_and_second_factor() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let (identity, _) = setup(db).await?;
        let account = identity
            .register(registration("Lê Văn Bình", "hoa sen trắng 1975"))
            .await?;
        let old_session = identity
            .login(ID, "hoa sen trắng 1975", "old phone", None)
            .await?
            .token()
            .to_owned();
        let enrolment = identity.begin_totp(&account, ID).await?;
        identity
            .confirm_totp(&account, &code_now(&enrolment.secret, 0))
            .await?;
        let id = PersonalId::parse(ID)?;

        let citizen = identity
            .principal(&old_session)
            .await?
            .ok_or("no principal")?;
        assert!(matches!(
            identity.issue_recovery_code(id, &citizen).await,
            Err(IdentityError::Forbidden(_))
        ));
        identity
            .grant_role(
                id,
                &AgencyCode::parse("BCA")?,
                Role::IdentityVerifier,
                "operator:test",
            )
            .await?;
        // For the test the person is their own verifier; the role is what is checked.
        let official = identity
            .principal(&old_session)
            .await?
            .ok_or("no principal")?;
        let first = identity.issue_recovery_code(id, &official).await?;
        let code = identity.issue_recovery_code(id, &official).await?;

        assert!(
            matches!(
                identity
                    .recover(ID, &first, "mật khẩu mới 2026".into(), None)
                    .await,
                Err(IdentityError::BadCredentials)
            ),
            "a replaced code is dead"
        );
        assert!(matches!(
            identity
                .recover(ID, "guess", "mật khẩu mới 2026".into(), None)
                .await,
            Err(IdentityError::BadCredentials)
        ));
        assert!(matches!(
            identity.recover(ID, &code, "short".into(), None).await,
            Err(IdentityError::Invalid { .. })
        ));
        // The date of birth comes from the registry, the phone number from the account.
        for (password, reason) in [
            ("sinh ngày 20.07.1990", "must not contain the date of birth"),
            ("gọi 0912 345 678 nhé", "must not contain the phone number"),
        ] {
            let refused = identity.recover(ID, &code, password.into(), None).await;
            assert!(
                matches!(&refused, Err(IdentityError::Invalid { field: "password", reason: said }) if said == reason),
                "{password:?}: {refused:?}"
            );
        }
        assert!(
            identity.principal(&old_session).await?.is_some(),
            "failed attempts change nothing"
        );

        identity
            .recover(ID, &code, "mật khẩu mới 2026".into(), None)
            .await?;
        assert!(
            identity.principal(&old_session).await?.is_none(),
            "every session ends"
        );
        assert!(
            !identity.has_totp(&account).await?,
            "the second factor is reset"
        );
        assert!(matches!(
            identity.login(ID, "hoa sen trắng 1975", "t", None).await,
            Err(IdentityError::BadCredentials)
        ));
        assert!(matches!(
            identity.login(ID, "mật khẩu mới 2026", "t", None).await?,
            SignIn::Complete(_)
        ));
        assert!(
            matches!(
                identity
                    .recover(ID, &code, "mật khẩu khác 2026".into(), None)
                    .await,
                Err(IdentityError::BadCredentials)
            ),
            "codes are single-use"
        );
        Ok(())
    })
    .await
}
