//! Passkeys against a software authenticator written from the WebAuthn specification.

use identity::testing::SoftPasskey;
use identity::{Identity, IdentityError, RelyingParty};
use store::testing::{TestResult, for_each_backend};

use super::{ID, registration, setup};

const ORIGIN: &str = "http://localhost:8080";

type Error = Box<dyn std::error::Error + Send + Sync>;

/// A registered account, signed in with its password; returns the principal too.
async fn signed_in(identity: &Identity) -> Result<web::Principal, Error> {
    identity
        .register(registration("Lê Văn Bình", "hoa sen trắng 1975"))
        .await?;
    let token = identity
        .login(ID, "hoa sen trắng 1975", "test", None)
        .await?
        .token()
        .to_owned();
    Ok(identity.principal(&token).await?.ok_or("no principal")?)
}

/// Registers a new passkey named `name` for `principal`.
async fn add_passkey(
    identity: &Identity,
    rp: &RelyingParty,
    principal: &web::Principal,
    name: &str,
) -> Result<SoftPasskey, Error> {
    let challenge = identity
        .begin_passkey_registration(rp, principal, name)
        .await?;
    let (passkey, response) = SoftPasskey::register(&challenge.options, ORIGIN)?;
    identity
        .finish_passkey_registration(rp, &principal.account_id, &challenge.ceremony, &response)
        .await?;
    Ok(passkey)
}

/// Asks for a sign-in (by ID number or not) and answers it from `origin`.
async fn answer(
    identity: &Identity,
    rp: &RelyingParty,
    passkey: &mut SoftPasskey,
    personal_id: Option<&str>,
    origin: &str,
) -> Result<(String, serde_json::Value), Error> {
    let challenge = identity.begin_passkey_sign_in(rp, personal_id).await?;
    let response = passkey.sign_in(&challenge.options, origin)?;
    Ok((challenge.ceremony, response))
}

fn refused<T: std::fmt::Debug>(result: &Result<T, IdentityError>) -> bool {
    matches!(result, Err(IdentityError::PasskeyRefused(_)))
}

#[tokio::test]
async fn a_passkey_signs_in_with_or_without_the_id_number() -> TestResult {
    for_each_backend(super::TABLES, |db| async move {
        let (identity, _) = setup(db).await?;
        let principal = signed_in(&identity).await?;
        let rp = identity.relying_party(Some("localhost:8080"))?;
        let mut passkey = add_passkey(&identity, &rp, &principal, "Điện thoại").await?;
        let listed = identity.passkeys(&principal.account_id).await?;
        assert_eq!(
            listed
                .iter()
                .map(|p| (p.id.as_str(), p.name.as_str(), p.last_used_at.is_none()))
                .collect::<Vec<_>>(),
            [(passkey.id().as_str(), "Điện thoại", true)]
        );

        // Usernameless: the options allow any credential; the user handle names the account.
        let challenge = identity.begin_passkey_sign_in(&rp, None).await?;
        assert!(
            challenge
                .options
                .pointer("/publicKey/allowCredentials")
                .is_none_or(|a| a.as_array().is_some_and(Vec::is_empty))
        );
        assert_eq!(
            challenge.options["publicKey"]["userVerification"],
            "required"
        );
        let response = passkey.sign_in(&challenge.options, ORIGIN)?;
        let token = identity
            .finish_passkey_sign_in(&rp, &challenge.ceremony, &response, "phone", None)
            .await?;
        let signed = identity.principal(&token).await?.ok_or("no session")?;
        assert_eq!(
            signed.account_id, principal.account_id,
            "a complete session, no code asked"
        );
        let sessions = identity
            .sessions(&principal.account_id, Some(&token))
            .await?;
        let current = sessions
            .iter()
            .find(|s| s.current)
            .ok_or("no current session")?;
        assert_eq!(current.method, "passkey");

        // By ID number: only that account's passkeys are allowed.
        let challenge = identity.begin_passkey_sign_in(&rp, Some(ID)).await?;
        let allowed = challenge.options["publicKey"]["allowCredentials"]
            .as_array()
            .ok_or("no allowCredentials")?;
        assert_eq!(allowed.len(), 1);
        assert_eq!(allowed[0]["id"].as_str(), Some(passkey.id().as_str()));
        let response = passkey.sign_in(&challenge.options, ORIGIN)?;
        identity
            .finish_passkey_sign_in(&rp, &challenge.ceremony, &response, "phone", None)
            .await?;
        let listed = identity.passkeys(&principal.account_id).await?;
        assert!(listed[0].last_used_at.is_some());
        Ok(())
    })
    .await
}

#[tokio::test]
async fn forged_replayed_unknown_and_removed_answers_are_refused() -> TestResult {
    for_each_backend(super::TABLES, |db| async move {
        let (identity, _) = setup(db).await?;
        let principal = signed_in(&identity).await?;
        let rp = identity.relying_party(Some("localhost:8080"))?;
        let mut passkey = add_passkey(&identity, &rp, &principal, "Máy tính").await?;

        // A phishing site's origin in the client data (WebAuthn L3 §7.2 step 13).
        let (ceremony, response) = answer(
            &identity,
            &rp,
            &mut passkey,
            None,
            "http://localhost.evil.example:8080",
        )
        .await?;
        assert!(refused(
            &identity
                .finish_passkey_sign_in(&rp, &ceremony, &response, "x", None)
                .await
        ));

        // An answer accepted once cannot be used again: its challenge is gone.
        let (ceremony, response) = answer(&identity, &rp, &mut passkey, None, ORIGIN).await?;
        identity
            .finish_passkey_sign_in(&rp, &ceremony, &response, "x", None)
            .await?;
        assert!(refused(
            &identity
                .finish_passkey_sign_in(&rp, &ceremony, &response, "x", None)
                .await
        ));
        // ...nor with a fresh ceremony, whose challenge it does not carry.
        let fresh = identity.begin_passkey_sign_in(&rp, None).await?;
        assert!(refused(
            &identity
                .finish_passkey_sign_in(&rp, &fresh.ceremony, &response, "x", None)
                .await
        ));

        // A credential this site never registered.
        let stranger_options = identity
            .begin_passkey_registration(&rp, &principal, "không hoàn tất")
            .await?
            .options;
        let (mut stranger, _) = SoftPasskey::register(&stranger_options, ORIGIN)?;
        let (ceremony, response) = answer(&identity, &rp, &mut stranger, None, ORIGIN).await?;
        assert!(refused(
            &identity
                .finish_passkey_sign_in(&rp, &ceremony, &response, "x", None)
                .await
        ));

        // A cloned authenticator shows itself by a counter that went back (WebAuthn L3 §6.1.1).
        let (ceremony, mut response) = answer(&identity, &rp, &mut passkey, None, ORIGIN).await?;
        passkey.set_counter(0);
        let (_, stale) = answer(&identity, &rp, &mut passkey, None, ORIGIN).await?;
        response["response"]["authenticatorData"] = stale["response"]["authenticatorData"].clone();
        assert!(
            refused(
                &identity
                    .finish_passkey_sign_in(&rp, &ceremony, &response, "x", None)
                    .await
            ),
            "tampered data breaks the signature"
        );
        passkey.set_counter(1);
        let (ceremony, response) = answer(&identity, &rp, &mut passkey, None, ORIGIN).await?;
        assert!(
            refused(
                &identity
                    .finish_passkey_sign_in(&rp, &ceremony, &response, "x", None)
                    .await
            ),
            "a counter of 2 is not above the stored 2"
        );

        // A removed passkey signs nobody in, even with a challenge issued before removal.
        passkey.set_counter(10);
        let (ceremony, response) = answer(&identity, &rp, &mut passkey, Some(ID), ORIGIN).await?;
        assert!(
            identity
                .remove_passkey(&principal.account_id, &passkey.id())
                .await?
        );
        assert!(refused(
            &identity
                .finish_passkey_sign_in(&rp, &ceremony, &response, "x", None)
                .await
        ));
        assert!(identity.passkeys(&principal.account_id).await?.is_empty());
        assert!(
            !identity
                .remove_passkey("someone-else", &passkey.id())
                .await?
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn registration_is_checked_and_a_locked_account_stays_locked() -> TestResult {
    for_each_backend(super::TABLES, |db| async move {
        let (identity, _) = setup(db).await?;
        let principal = signed_in(&identity).await?;
        let rp = identity.relying_party(Some("localhost:8080"))?;
        assert!(matches!(
            identity
                .begin_passkey_registration(&rp, &principal, "  ")
                .await,
            Err(IdentityError::Invalid { field: "name", .. })
        ));
        // Answered from another origin, or for another account, or twice: refused.
        let challenge = identity
            .begin_passkey_registration(&rp, &principal, "Khóa")
            .await?;
        let (_, wrong_origin) = SoftPasskey::register(&challenge.options, "http://localhost:9999")?;
        assert!(refused(
            &identity
                .finish_passkey_registration(
                    &rp,
                    &principal.account_id,
                    &challenge.ceremony,
                    &wrong_origin
                )
                .await
        ));
        let challenge = identity
            .begin_passkey_registration(&rp, &principal, "Khóa")
            .await?;
        let (mut passkey, response) = SoftPasskey::register(&challenge.options, ORIGIN)?;
        assert!(refused(
            &identity
                .finish_passkey_registration(&rp, "another-account", &challenge.ceremony, &response)
                .await
        ));
        assert!(
            refused(
                &identity
                    .finish_passkey_registration(
                        &rp,
                        &principal.account_id,
                        &challenge.ceremony,
                        &response
                    )
                    .await
            ),
            "the first attempt used the challenge up"
        );
        let challenge = identity
            .begin_passkey_registration(&rp, &principal, "Khóa")
            .await?;
        let (_, response) = SoftPasskey::register(&challenge.options, ORIGIN)?;
        identity
            .finish_passkey_registration(&rp, &principal.account_id, &challenge.ceremony, &response)
            .await?;
        assert_eq!(identity.passkeys(&principal.account_id).await?.len(), 1);
        // The second registration created a different key; the first one was never kept.
        let (ceremony, response) = answer(&identity, &rp, &mut passkey, None, ORIGIN).await?;
        assert!(refused(
            &identity
                .finish_passkey_sign_in(&rp, &ceremony, &response, "x", None)
                .await
        ));

        // Passkeys need a domain: 127.0.0.1 cannot be an RP ID.
        assert!(matches!(
            identity.relying_party(Some("127.0.0.1:8080")),
            Err(IdentityError::PasskeysUnavailable(_))
        ));

        // Five wrong passwords lock the account for passkeys too.
        let challenge = identity
            .begin_passkey_registration(&rp, &principal, "Điện thoại")
            .await?;
        let (mut phone, response) = SoftPasskey::register(&challenge.options, ORIGIN)?;
        identity
            .finish_passkey_registration(&rp, &principal.account_id, &challenge.ceremony, &response)
            .await?;
        for _ in 0..5 {
            let _refused = identity.login(ID, "sai mật khẩu rồi", "x", None).await;
        }
        let (ceremony, response) = answer(&identity, &rp, &mut phone, None, ORIGIN).await?;
        assert!(matches!(
            identity
                .finish_passkey_sign_in(&rp, &ceremony, &response, "x", None)
                .await,
            Err(IdentityError::Locked { .. })
        ));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn starting_a_passkey_sign_in_writes_nothing() -> TestResult {
    for_each_backend(super::TABLES, |db| async move {
        let (identity, _) = setup(db.clone()).await?;
        let principal = signed_in(&identity).await?;
        let rp = identity.relying_party(Some("localhost:8080"))?;
        let mut passkey = add_passkey(&identity, &rp, &principal, "Điện thoại").await?;
        let ceremonies = || async {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM identity_webauthn_ceremonies")
                .fetch_one(db.reader())
                .await
        };
        let before = ceremonies().await?;
        // Anyone may start a sign-in, as often as they like: none of it may fill a table.
        for _ in 0..50 {
            identity.begin_passkey_sign_in(&rp, None).await?;
            identity.begin_passkey_sign_in(&rp, Some(ID)).await?;
        }
        assert_eq!(ceremonies().await? - before, 0, "rows written by starts");
        // A ceremony that was never stored still works, and only once.
        let (ceremony, response) = answer(&identity, &rp, &mut passkey, None, ORIGIN).await?;
        identity
            .finish_passkey_sign_in(&rp, &ceremony, &response, "x", None)
            .await?;
        assert!(refused(
            &identity
                .finish_passkey_sign_in(&rp, &ceremony, &response, "x", None)
                .await
        ));
        // A made-up ceremony (plain JSON in place of a sealed one) is refused.
        let forged = serde_json::json!({"purpose": "discoverable", "state": {}}).to_string();
        assert!(refused(
            &identity
                .finish_passkey_sign_in(&rp, &forged, &response, "x", None)
                .await
        ));
        Ok(())
    })
    .await
}
