//! Assisted use: mandates, acting for a citizen, and the record of every action.

use identity::assistance::MandateStatus;
use identity::{Identity, IdentityError, Registration};
use kernel::Role;
use kernel::{AgencyCode, PersonalId, Sex};
use registry::{Change, CitizenRecord, Registry};
use store::testing::{TestResult, for_each_backend};
use time::macros::date;

use super::{ID, registration, setup};

const HELPER_ID: &str = "079195000777";
const TEAM: &str = "TCNSBENTHANH";

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The citizen of `setup` and a second person, both signed in; returns their session tokens.
async fn citizen_and_helper(
    identity: &Identity,
    registry: &Registry,
) -> Result<(String, String), Error> {
    let helper_id = PersonalId::parse(HELPER_ID)?;
    let record = CitizenRecord::new(
        helper_id,
        "Trần Thị Mai",
        date!(1995 - 03 - 08),
        Sex::Female,
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
    identity
        .register(registration("Lê Văn Bình", "hoa sen trắng 1975"))
        .await?;
    identity
        .register(Registration {
            personal_id: helper_id,
            full_name: "Trần Thị Mai".into(),
            birth_date: date!(1995 - 03 - 08),
            phone: Some("0987654321".into()),
            email: None,
            password: "tổ công nghệ số 2026".into(),
        })
        .await?;
    let citizen = identity
        .login(ID, "hoa sen trắng 1975", "citizen", None)
        .await?
        .token()
        .to_owned();
    let helper = identity
        .login(HELPER_ID, "tổ công nghệ số 2026", "helper", None)
        .await?
        .token()
        .to_owned();
    Ok((citizen, helper))
}

async fn principal(identity: &Identity, token: &str) -> Result<web::Principal, Error> {
    Ok(identity.principal(token).await?.ok_or("no principal")?)
}

fn scopes(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn invalid_field<T: std::fmt::Debug>(result: &Result<T, IdentityError>) -> Option<&'static str> {
    match result {
        Err(IdentityError::Invalid { field, .. }) => Some(field),
        _ => None,
    }
}

#[tokio::test]
async fn a_mandate_limits_what_a_helper_does_and_every_action_is_recorded() -> TestResult {
    for_each_backend(super::TABLES, |db| async move {
        let (identity, registry) = setup(db).await?;
        let (citizen_token, helper_token) = citizen_and_helper(&identity, &registry).await?;
        let citizen = principal(&identity, &citizen_token).await?;

        // Only a registered team member can be named, and only with named scopes and days.
        let not_yet = identity
            .grant_mandate(&citizen, HELPER_ID, &scopes(&["profile.view"]), 7)
            .await;
        assert_eq!(
            invalid_field(&not_yet),
            Some("helper_personal_id"),
            "{not_yet:?}"
        );
        identity
            .grant_role(
                PersonalId::parse(HELPER_ID)?,
                &AgencyCode::parse(TEAM)?,
                Role::AssistHelper,
                "operator:test",
            )
            .await?;
        let helper = principal(&identity, &helper_token).await?;
        for (helper_id, list, days, field) in [
            (ID, vec!["profile.view"], 7, "helper_personal_id"),
            (
                "079195000778",
                vec!["profile.view"],
                7,
                "helper_personal_id",
            ),
            ("12345", vec!["profile.view"], 7, "helper_personal_id"),
            (HELPER_ID, vec![], 7, "scopes"),
            (HELPER_ID, vec!["registry.edit"], 7, "scopes"),
            (HELPER_ID, vec!["profile.view"], 31, "days"),
            (HELPER_ID, vec!["profile.view"], 0, "days"),
        ] {
            let result = identity
                .grant_mandate(&citizen, helper_id, &scopes(&list), days)
                .await;
            assert_eq!(
                invalid_field(&result),
                Some(field),
                "{helper_id} {list:?} {days}: {result:?}"
            );
        }
        let mandate = identity
            .grant_mandate(
                &citizen,
                HELPER_ID,
                &scopes(&["profile.view", "dossier.submit"]),
                7,
            )
            .await?;

        // Given again with other scopes, it replaces the one in force: one active line.
        let first = mandate;
        let mandate = identity
            .grant_mandate(
                &citizen,
                HELPER_ID,
                &scopes(&["profile.view", "dossier.submit"]),
                7,
            )
            .await?;
        assert_ne!(first, mandate);

        // Both accounts list it as active, the one it replaced as revoked.
        let given = identity.mandates_given(&citizen.account_id).await?;
        let held = identity.mandates_held(&helper.account_id).await?;
        for list in [&given, &held] {
            assert_eq!(
                list.iter()
                    .map(|m| (m.id.as_str(), m.status))
                    .collect::<Vec<_>>(),
                [
                    (mandate.as_str(), MandateStatus::Active),
                    (first.as_str(), MandateStatus::Revoked)
                ]
            );
        }
        assert_eq!(
            (
                given[0].helper_name.as_str(),
                given[0].helper_agency.as_str()
            ),
            ("Trần Thị Mai", TEAM)
        );
        assert_eq!(
            (
                held[0].citizen_name.as_str(),
                held[0].citizen_personal_id.as_str()
            ),
            ("Lê Văn Bình", ID)
        );

        // The citizen cannot start acting for anyone with their own session.
        assert!(matches!(
            identity
                .start_acting(&citizen_token, &citizen, &mandate)
                .await,
            Err(IdentityError::Forbidden(_))
        ));
        let acting = identity
            .start_acting(&helper_token, &helper, &mandate)
            .await?;
        let (_, resolved) = identity.session(&helper_token).await?.ok_or("no session")?;
        let resolved = resolved.ok_or("the session does not act for anyone")?;
        assert_eq!(
            (
                resolved.citizen_name.as_str(),
                resolved.citizen_personal_id.to_string()
            ),
            ("Lê Văn Bình", ID.to_owned())
        );
        assert!(
            identity
                .session(&citizen_token)
                .await?
                .ok_or("no session")?
                .1
                .is_none()
        );

        let profile = identity.assisted_profile(&helper, &acting).await?;
        assert_eq!(
            (
                profile.full_name.as_str(),
                profile.personal_id.as_str(),
                profile.assurance_level
            ),
            ("Lê Văn Bình", ID, 1)
        );
        // Out of scope: the mandate does not include the access log.
        assert!(matches!(
            identity.assisted_access_log(&helper, &acting).await,
            Err(IdentityError::OutOfScope(kernel::Scope::AccessLogView))
        ));
        // The view also shows in the citizen's list of who viewed their data.
        let views = identity.who_viewed(PersonalId::parse(ID)?).await?;
        assert_eq!(
            views.iter().map(|v| v.agency.as_str()).collect::<Vec<_>>(),
            [TEAM]
        );

        identity
            .stop_acting(&helper_token, &helper, Some(&acting))
            .await?;
        assert!(
            identity
                .session(&helper_token)
                .await?
                .ok_or("no session")?
                .1
                .is_none()
        );
        let actions = identity.assisted_actions(&citizen.account_id).await?;
        assert_eq!(
            actions
                .iter()
                .map(|a| (a.action.as_str(), a.helper_name.as_str()))
                .collect::<Vec<_>>(),
            [
                ("assist.stopped", "Trần Thị Mai"),
                ("profile.viewed", "Trần Thị Mai"),
                ("assist.started", "Trần Thị Mai")
            ],
            "newest first; the refused action is not among them"
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn no_mandate_an_expired_one_or_a_revoked_one_lets_a_helper_act() -> TestResult {
    for_each_backend(super::TABLES, |db| async move {
        let (identity, registry) = setup(db.clone()).await?;
        let (citizen_token, helper_token) = citizen_and_helper(&identity, &registry).await?;
        identity
            .grant_role(
                PersonalId::parse(HELPER_ID)?,
                &AgencyCode::parse(TEAM)?,
                Role::AssistHelper,
                "operator:test",
            )
            .await?;
        let citizen = principal(&identity, &citizen_token).await?;
        let helper = principal(&identity, &helper_token).await?;
        let all = scopes(&["profile.view", "access_log.view"]);

        // No mandate at all.
        assert!(matches!(
            identity
                .start_acting(&helper_token, &helper, "no-such-mandate")
                .await,
            Err(IdentityError::NoMandate)
        ));

        // Expired while acting: the session stops acting and nothing more is allowed.
        let expiring = identity.grant_mandate(&citizen, HELPER_ID, &all, 1).await?;
        let acting = identity
            .start_acting(&helper_token, &helper, &expiring)
            .await?;
        let mut tx = db.begin().await?;
        sqlx::query("UPDATE identity_mandates SET expires_at = $1 WHERE id = $2")
            .bind("2026-01-01T00:00:00Z")
            .bind(&expiring)
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        assert!(
            identity
                .session(&helper_token)
                .await?
                .ok_or("no session")?
                .1
                .is_none()
        );
        assert!(matches!(
            identity.assisted_profile(&helper, &acting).await,
            Err(IdentityError::NoMandate)
        ));
        assert!(matches!(
            identity
                .start_acting(&helper_token, &helper, &expiring)
                .await,
            Err(IdentityError::NoMandate)
        ));

        // Revoked while acting: the same.
        let revoked = identity
            .grant_mandate(&citizen, HELPER_ID, &all, 30)
            .await?;
        let acting = identity
            .start_acting(&helper_token, &helper, &revoked)
            .await?;
        identity.assisted_access_log(&helper, &acting).await?;
        assert!(
            !identity
                .revoke_mandate(&helper.account_id, &revoked)
                .await?,
            "only the citizen revokes"
        );
        assert!(
            identity
                .revoke_mandate(&citizen.account_id, &revoked)
                .await?
        );
        assert!(
            !identity
                .revoke_mandate(&citizen.account_id, &revoked)
                .await?
        );
        assert!(
            identity
                .session(&helper_token)
                .await?
                .ok_or("no session")?
                .1
                .is_none()
        );
        assert!(matches!(
            identity.assisted_access_log(&helper, &acting).await,
            Err(IdentityError::NoMandate)
        ));
        assert!(matches!(
            identity
                .start_acting(&helper_token, &helper, &revoked)
                .await,
            Err(IdentityError::NoMandate)
        ));

        let statuses = |list: Vec<identity::assistance::Mandate>| {
            list.into_iter()
                .map(|m| (m.id, m.status))
                .collect::<Vec<_>>()
        };
        let expected = vec![
            (revoked.clone(), MandateStatus::Revoked),
            (expiring.clone(), MandateStatus::Expired),
        ];
        assert_eq!(
            statuses(identity.mandates_given(&citizen.account_id).await?),
            expected
        );
        assert_eq!(
            statuses(identity.mandates_held(&helper.account_id).await?),
            expected
        );
        let actions = identity.assisted_actions(&citizen.account_id).await?;
        assert_eq!(
            actions
                .iter()
                .map(|a| a.action.as_str())
                .collect::<Vec<_>>(),
            ["access_log.viewed", "assist.started", "assist.started"]
        );
        Ok(())
    })
    .await
}
