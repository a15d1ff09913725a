//! Agency and bank systems: client_credentials with private_key_jwt over HTTP, and the bank
//! identity check it unlocks.

use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;
use serde_json::{Value, json};
use testkit::{TestResult, for_each_backend};

use super::problem;

/// The subject the bank's and other systems' machine clients act as.
const SUBJECT: &str = "VN/COM/0100150619/ekyc";

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

        let bank = app
            .machine_client("Ngân hàng thử", SUBJECT, &["identity.verify"])
            .await?;
        let assertion = identity::oidc::sign_client_assertion(
            &bank.key,
            &bank.client_id,
            &app.url("/oauth/token"),
            60,
        )?;
        let first = app.token_response(&assertion).await?;
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

        let replay = app.token_response(&assertion).await?;
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
        let person = app.resident().await?;
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

        let other = app.machine_client("Hệ thống khác", SUBJECT, &["exchange"]).await?;
        let without_scope = check(Some(app.access_token(&other).await?), claim.clone()).await?;
        let (status, body) = problem(without_scope).await?;
        assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("insufficient_scope")));

        let bank = app.machine_client("Ngân hàng Thử nghiệm", SUBJECT, &["identity.verify"]).await?;
        let token = app.access_token(&bank).await?;
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

        // A name without its diacritics is another name (ADR 0029).
        let mut unaccented = claim.clone();
        unaccented["full_name"] = json!(registry::record::fold_name(&person.full_name).to_uppercase());
        let folded: Value = check(Some(token.clone()), unaccented).await?.json().await?;
        let expected = if person.full_name.is_ascii() { "match" } else { "no_match" };
        assert_eq!(folded["full_name"], expected, "{}", person.full_name);

        let mut bad_id = claim.clone();
        bad_id["personal_id"] = json!("12345");
        let (status, body) = problem(check(Some(token.clone()), bad_id).await?).await?;
        assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("personal_id")));

        // The checks go through the exchange: in the audit log, about the citizen, for the bank.
        app.state.audit.settled().await;
        let checks = audit::entries_about(&app.state.db, &person.personal_id.to_string(), 10).await?;
        assert_eq!(checks.len(), 3, "three checks of a known ID, the malformed one not at all");
        assert!(checks.iter().all(|e| e.user_id.as_deref() == Some("Ngân hàng Thử nghiệm")));
        app.stop().await?;
        Ok(())
    })
    .await
}
