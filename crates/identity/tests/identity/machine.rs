//! client_credentials with private_key_jwt, and the exchange's check of the tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use identity::IdentityError;
use identity::oidc::{
    ASSERTION_TYPE, NewMachineClient, TokenError, TokenRejected, sign_client_assertion,
};
use p256::ecdsa::SigningKey;
use p256::pkcs8::{EncodePublicKey, LineEnding};
use store::testing::{TestResult, for_each_backend};

use super::setup;

const ISSUER: &str = "https://id.example.vn";
const TOKEN_ENDPOINT: &str = "https://id.example.vn/oauth/token";
const SUBJECT: &str = "VN/GOV/000.00.00.H41/portal";

fn new_key() -> (SigningKey, String) {
    let key = SigningKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
    let pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("PEM of a fresh key");
    (key, pem)
}

/// The refusal of a token request, `None` when it was granted; other errors pass through.
fn refusal<T>(outcome: Result<T, IdentityError>) -> Result<Option<TokenError>, IdentityError> {
    match outcome {
        Ok(_) => Ok(None),
        Err(IdentityError::Token(refused)) => Ok(Some(refused)),
        Err(other) => Err(other),
    }
}

fn client(pem: &str) -> NewMachineClient {
    NewMachineClient {
        name: "Cổng dịch vụ công".into(),
        subject: SUBJECT.into(),
        public_key_pem: pem.into(),
        scopes: vec!["exchange".into(), "identity.verify".into()],
    }
}

#[tokio::test]
async fn an_agency_system_gets_a_token_the_exchange_accepts() -> TestResult {
    for_each_backend(super::TABLES, |db| async move {
        let (identity, _) = setup(db.clone()).await?;
        let (key, pem) = new_key();
        let client_id = identity.register_machine_client(client(&pem)).await?;
        let assertion = sign_client_assertion(&key, &client_id, TOKEN_ENDPOINT, 60)?;
        let granted = identity
            .client_credentials(ISSUER, Some(ASSERTION_TYPE), Some(&assertion), None, Some("exchange"))
            .await?;
        assert_eq!(granted["token_type"], "Bearer");
        assert_eq!(granted["scope"], "exchange");
        let token = granted["access_token"].as_str().ok_or("no access_token")?;
        let verified = identity.verify_machine_token(token).await?;
        assert_eq!(verified.subject, SUBJECT);
        assert_eq!(verified.client_id, client_id);
        assert_eq!(verified.scope, "exchange");
        let stored: Vec<String> = sqlx::query_scalar("SELECT private_key FROM oidc_signing_keys")
            .fetch_all(db.reader())
            .await?;
        assert!(
            !stored.is_empty() && stored.iter().all(|k| k.starts_with("sealed:v1:")),
            "signing keys are sealed at rest"
        );

        // The same assertion twice is a replay.
        let replay = refusal(
            identity
                .client_credentials(ISSUER, Some(ASSERTION_TYPE), Some(&assertion), None, None)
                .await,
        )?;
        assert_eq!(replay.map(|e| e.description).as_deref(), Some("this assertion (jti) was already used"));

        // A tampered token fails its signature check.
        let (head, signature) = token.rsplit_once('.').ok_or("compact JWS")?;
        let (header, _) = head.split_once('.').ok_or("compact JWS")?;
        let forged_claims = URL_SAFE_NO_PAD.encode(
            serde_json::json!({ "sub": "VN/GOV/other/x", "aud": "urn:lienthong:exchange", "exp": i64::MAX, "client_id": client_id, "scope": "exchange" }).to_string(),
        );
        let forged = format!("{header}.{forged_claims}.{signature}");
        assert!(matches!(
            identity.verify_machine_token(&forged).await,
            Err(IdentityError::TokenRejected(TokenRejected::BadSignature))
        ));

        // Expired claims are refused before the signature is checked, so a client that keeps
        // sending an old token costs no ECDSA verification: here the signature is not even
        // the token's own, and the answer is still "expired".
        let expired_claims = URL_SAFE_NO_PAD.encode(
            serde_json::json!({ "sub": SUBJECT, "aud": "urn:lienthong:exchange", "exp": 1, "client_id": client_id, "scope": "exchange" }).to_string(),
        );
        let expired = format!("{header}.{expired_claims}.{signature}");
        assert!(matches!(
            identity.verify_machine_token(&expired).await,
            Err(IdentityError::TokenRejected(TokenRejected::Expired))
        ));

        // After a rotation the next token is signed with the new key, and the exchange accepts
        // it at once, although its keys were loaded a moment ago.
        let kid = identity.rotate_signing_key().await?;
        let assertion = sign_client_assertion(&key, &client_id, TOKEN_ENDPOINT, 60)?;
        let granted = identity
            .client_credentials(ISSUER, Some(ASSERTION_TYPE), Some(&assertion), None, Some("exchange"))
            .await?;
        let rotated = granted["access_token"].as_str().ok_or("no access_token")?;
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(rotated.split('.').next().unwrap_or_default())?)?;
        assert_eq!(header["kid"], kid.as_str());
        let verified = identity.verify_machine_token(rotated).await?;
        assert_eq!(verified.subject, SUBJECT);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn bad_assertions_are_refused_with_the_reason() -> TestResult {
    for_each_backend(super::TABLES, |db| async move {
        let (identity, _) = setup(db).await?;
        let (key, pem) = new_key();
        let client_id = identity.register_machine_client(client(&pem)).await?;
        let (stranger, _) = new_key();
        let cases = [
            (
                sign_client_assertion(&stranger, &client_id, TOKEN_ENDPOINT, 60)?,
                None,
                "the assertion's signature does not verify with the registered key",
            ),
            (
                sign_client_assertion(&key, &client_id, "https://elsewhere.example/token", 60)?,
                None,
                "aud must be the token endpoint or the issuer",
            ),
            (
                sign_client_assertion(&key, &client_id, TOKEN_ENDPOINT, -120)?,
                None,
                "the assertion has expired",
            ),
            (
                sign_client_assertion(&key, &client_id, TOKEN_ENDPOINT, 3600)?,
                None,
                "the assertion is valid for too long (at most 600 s)",
            ),
            (
                sign_client_assertion(&key, "unknown", TOKEN_ENDPOINT, 60)?,
                None,
                "unknown or disabled client",
            ),
            (
                sign_client_assertion(&key, &client_id, TOKEN_ENDPOINT, 60)?,
                Some("registry.admin"),
                "scope \"registry.admin\" is not registered for this client",
            ),
            (
                "not.a-jwt".to_owned(),
                None,
                "client_assertion: it has no payload part",
            ),
        ];
        for (assertion, scope, reason) in cases {
            let outcome = refusal(
                identity
                    .client_credentials(ISSUER, Some(ASSERTION_TYPE), Some(&assertion), None, scope)
                    .await,
            )?;
            assert_eq!(outcome.map(|e| e.description).as_deref(), Some(reason));
        }
        let wrong_type = refusal(
            identity
                .client_credentials(ISSUER, Some("password"), Some("x.y.z"), None, None)
                .await,
        )?;
        assert_eq!(wrong_type.map(|e| e.error.as_str()), Some("invalid_client"));

        // A disabled client gets nothing more.
        assert!(identity.disable_machine_client(&client_id).await?);
        let after = refusal(
            identity
                .client_credentials(
                    ISSUER,
                    Some(ASSERTION_TYPE),
                    Some(&sign_client_assertion(&key, &client_id, ISSUER, 60)?),
                    None,
                    None,
                )
                .await,
        )?;
        assert_eq!(
            after.map(|e| e.description).as_deref(),
            Some("unknown or disabled client")
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn registration_checks_the_key_subject_and_scopes() -> TestResult {
    for_each_backend(super::TABLES, |db| async move {
        let (identity, _) = setup(db).await?;
        let (_, pem) = new_key();
        let bad_key = identity
            .register_machine_client(NewMachineClient {
                public_key_pem: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----".into(),
                ..client(&pem)
            })
            .await;
        assert!(bad_key.is_err_and(|e| e.to_string().starts_with("public_key:")));
        let bad_scope = identity
            .register_machine_client(NewMachineClient {
                scopes: vec!["Exchange All".into()],
                ..client(&pem)
            })
            .await;
        assert!(bad_scope.is_err_and(|e| e.to_string().starts_with("scope:")));
        let no_subject = identity
            .register_machine_client(NewMachineClient {
                subject: " ".into(),
                ..client(&pem)
            })
            .await;
        assert!(no_subject.is_err_and(|e| e.to_string().starts_with("subject:")));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_used_assertion_stays_used_after_a_restart_and_until_it_expires() -> TestResult {
    for_each_backend(super::TABLES, |db| async move {
        setup(db.clone()).await?;
        // A node: the shared database and this node's sealing key file; a new one is a restart.
        let scratch = tempfile::tempdir()?;
        let key_file = scratch.path().join("sealing.key");
        // Machine tokens need no registry: these nodes are not connected to it.
        let node = || -> Result<identity::Identity, String> {
            let sealing = identity::sealing::SealingKey::load_or_create(&key_file)
                .map_err(|e| e.to_string())?;
            Ok(identity::Identity::new(db.clone(), true).with_sealing_key(sealing))
        };
        let identity = node()?;
        let (key, pem) = new_key();
        let client_id = identity.register_machine_client(client(&pem)).await?;
        let grant = |identity: &identity::Identity, assertion: String| {
            let identity = identity.clone();
            async move {
                refusal(
                    identity
                        .client_credentials(
                            ISSUER,
                            Some(ASSERTION_TYPE),
                            Some(&assertion),
                            None,
                            None,
                        )
                        .await,
                )
                .map(|refused| refused.map(|e| e.description))
            }
        };
        let assertion = sign_client_assertion(&key, &client_id, TOKEN_ENDPOINT, 60)?;
        assert_eq!(grant(&identity, assertion.clone()).await?, None);
        // A restart: the same database, nothing remembered in memory.
        let restarted = node()?;
        assert_eq!(
            grant(&restarted, assertion).await?.as_deref(),
            Some("this assertion (jti) was already used"),
            "RFC 7523 §3 item 7: a jti is used once"
        );
        // Expired ten seconds ago, yet within the accepted clock skew: still usable once,
        // and remembered for as long as it is accepted, while newer assertions come and go.
        let late = sign_client_assertion(&key, &client_id, TOKEN_ENDPOINT, -10)?;
        assert_eq!(grant(&restarted, late.clone()).await?, None);
        let next = sign_client_assertion(&key, &client_id, TOKEN_ENDPOINT, 60)?;
        assert_eq!(grant(&restarted, next).await?, None);
        let again = node()?;
        assert_eq!(
            grant(&again, late).await?.as_deref(),
            Some("this assertion (jti) was already used")
        );
        Ok(())
    })
    .await
}
