//! Agency and bank systems: client_credentials with private_key_jwt over HTTP, and the bank
//! identity check it unlocks.

use p256::ecdsa::SigningKey;
use p256::pkcs8::{EncodePublicKey, LineEnding};
use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;
use serde_json::{Value, json};
use testkit::{TestApp, TestResult, for_each_backend};

use super::problem;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Registers a machine client with `scopes`; returns its id and key.
async fn machine_client(
    app: &TestApp,
    name: &str,
    scopes: &[&str],
) -> Result<(String, SigningKey), Box<dyn std::error::Error + Send + Sync>> {
    let key = SigningKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
    let client_id = app
        .state
        .identity
        .register_machine_client(identity::oidc::NewMachineClient {
            name: name.into(),
            subject: "VN/COM/0100150619/ekyc".into(),
            public_key_pem: key.verifying_key().to_public_key_pem(LineEnding::LF)?,
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        })
        .await?;
    Ok((client_id, key))
}

async fn token_response(
    app: &TestApp,
    assertion: &str,
) -> Result<reqwest::Response, reqwest::Error> {
    app.client
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion),
        ])
        .send()
        .await
}

async fn access_token(
    app: &TestApp,
    client_id: &str,
    key: &SigningKey,
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let assertion =
        identity::oidc::sign_client_assertion(key, client_id, &app.url("/oauth/token"), 60)?;
    let response = token_response(app, &assertion).await?;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await?;
    Ok(body
        .get("access_token")
        .and_then(Value::as_str)
        .ok_or("no token")?
        .to_owned())
}

#[tokio::test]
async fn agency_systems_get_tokens_with_a_signed_assertion() -> TestResult {
    for_each_backend(|app| async move {
        let discovery: Value = app
            .get("/.well-known/openid-configuration")
            .await?
            .json()
            .await?;
        assert!(
            discovery["grant_types_supported"]
                .as_array()
                .is_some_and(|g| g.contains(&json!("client_credentials")))
        );
        assert!(
            discovery["token_endpoint_auth_methods_supported"]
                .as_array()
                .is_some_and(|m| m.contains(&json!("private_key_jwt")))
        );

        let (client_id, key) = machine_client(&app, "Ngân hàng thử", &["identity.verify"]).await?;
        let assertion =
            identity::oidc::sign_client_assertion(&key, &client_id, &app.url("/oauth/token"), 60)?;
        let first = token_response(&app, &assertion).await?;
        assert_eq!(first.status(), StatusCode::OK);
        assert_eq!(
            first
                .headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
            Some("no-store")
        );
        let body: Value = first.json().await?;
        assert_eq!(body["scope"], "identity.verify");
        assert_eq!(body["expires_in"], 300);

        let replay = token_response(&app, &assertion).await?;
        assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
        let refused: Value = replay.json().await?;
        assert_eq!(refused["error"], "invalid_client");
        assert_eq!(
            refused["error_description"],
            "this assertion (jti) was already used"
        );
        app.stop().await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn banks_learn_match_or_no_match_per_field_and_the_citizen_sees_the_check() -> TestResult {
    for_each_backend(|app| async move {
        let reference = kernel::Reference::load()?;
        let tables = registry::generate::Tables::load()?;
        let person = registry::generate::Generator::new(&tables, &reference, 20, 5)
            .find(|r| r.birth_date.year() < 2000)
            .ok_or("no adult")?;
        app.state
            .registry
            .register(&person, registry::Change { actor: "test", basis: "test fixture" }, time::macros::date!(2026 - 11 - 23))
            .await?;
        let check = |token: Option<String>, body: Value| {
            let mut request = app.client.post(app.url("/api/v1/identity/verifications")).json(&body);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            request.send()
        };
        let claim = json!({ "personal_id": person.personal_id.to_string(), "full_name": person.full_name,
                            "birth_date": person.birth_date.to_string(), "reference": "HS-2026-0001" });

        let anonymous = check(None, claim.clone()).await?;
        assert!(anonymous.headers().get(WWW_AUTHENTICATE).is_some());
        let (status, body) = problem(anonymous).await?;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_token")));

        let (other_id, other_key) = machine_client(&app, "Hệ thống khác", &["exchange"]).await?;
        let without_scope = check(Some(access_token(&app, &other_id, &other_key).await?), claim.clone()).await?;
        let (status, body) = problem(without_scope).await?;
        assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("insufficient_scope")));

        let (bank_id, bank_key) = machine_client(&app, "Ngân hàng Thử nghiệm", &["identity.verify"]).await?;
        let token = access_token(&app, &bank_id, &bank_key).await?;
        let matched: Value = check(Some(token.clone()), claim.clone()).await?.json().await?;
        assert_eq!(
            [&matched["personal_id"], &matched["full_name"], &matched["birth_date"], &matched["living"]],
            [&json!("match"); 4]
        );
        assert!(matched.get("address").is_none() && matched.get("sex").is_none(), "never the record");

        let mut wrong_name = claim.clone();
        wrong_name["full_name"] = json!("Người Khác Hẳn");
        let mismatch: Value = check(Some(token.clone()), wrong_name).await?.json().await?;
        assert_eq!((mismatch["personal_id"].as_str(), mismatch["full_name"].as_str()), (Some("match"), Some("no_match")));

        let mut bad_id = claim.clone();
        bad_id["personal_id"] = json!("12345");
        let (status, body) = problem(check(Some(token.clone()), bad_id).await?).await?;
        assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("personal_id")));

        let views = app.state.registry.views_of(person.personal_id).await?;
        assert_eq!(views.len(), 2, "two checks of a known ID, the malformed one not at all");
        assert!(views.iter().all(|v| v.agency == "Ngân hàng Thử nghiệm"));
        app.stop().await?;
        Ok(())
    })
    .await
}
