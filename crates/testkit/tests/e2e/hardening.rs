//! The gateway and its management under attack (issue 11): identifiers and URLs checked in
//! the form they are used in, every call audited or refused before it is forwarded, and
//! providers only on the networks the operator allows.

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::{TestApp, for_each_backend};

use crate::gateway::{CLIENT, Failure, setup, upstream};

/// A service of the Ministry of Health named like the registry's record lookup.
const FOREIGN: &str = "VN/GOV/BYT/insurance/citizens";

/// A session cookie of an official who administers the Ministry of Health's member, and a
/// citizen in the registry.
async fn health_administrator(app: &TestApp) -> Result<(String, String), Failure> {
    let (people, cookie, _) = crate::officials_and_citizens(app).await?;
    let admin = people.first().ok_or("no official")?;
    app.state
        .identity
        .grant_role(
            admin.personal_id,
            &kernel::AgencyCode::parse("BYT")?,
            "exchange.admin",
            "operator:test",
        )
        .await?;
    let citizen = people.get(1).ok_or("no citizen")?.personal_id.to_string();
    Ok((cookie, citizen))
}

#[tokio::test]
async fn only_the_registry_owner_may_point_a_service_at_the_registry() -> testkit::TestResult {
    for_each_backend(|app| async move {
        let upstream = upstream().await?;
        let token = setup(&app, &upstream).await?;
        let (cookie, citizen) = health_administrator(&app).await?;
        for base_url in ["lienthong:registry/", " lienthong:registry// ", "lienthong:registry"] {
            let response = app
                .client
                .post(app.url("/api/v1/exchange/services"))
                .header("Cookie", &cookie)
                .header("Origin", &app.base)
                .json(&json!({ "id": FOREIGN, "base_url": base_url }))
                .send()
                .await?;
            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "a member administrator with {base_url:?}"
            );
        }
        // Not even an operator may point another member's service at the registry.
        let refused = app
            .state
            .exchange
            .catalog
            .add_service(exchange::NewService {
                id: FOREIGN.into(),
                base_url: "lienthong:registry/".into(),
                openapi: None,
                timeout_ms: None,
                endpoints: Vec::new(),
            })
            .await;
        assert!(
            matches!(&refused, Err(exchange::CatalogError::Invalid { field: "base_url", .. })),
            "{refused:?}"
        );
        let snapshot = app.state.exchange.catalog.snapshot().await;
        assert!(
            !snapshot.services.contains_key(&exchange::ServiceId::parse(FOREIGN)?),
            "nothing registered"
        );

        // A row written before the rule (here by hand) does not open the registry either.
        sqlx::query("INSERT INTO exchange_services (id, subsystem_id, base_url, timeout_ms, created_at) VALUES ($1, 'VN/GOV/BYT/insurance', 'lienthong:registry', 10000, '2026-01-01T00:00:00.000000Z')")
            .bind(FOREIGN)
            .execute(app.state.db.reader())
            .await?;
        // Any change reloads the snapshot.
        app.state
            .exchange
            .catalog
            .add_subsystem("VN/GOV/BYT/claims", "Giám định")
            .await?;
        crate::gateway::grant_whole(&app, FOREIGN).await?;
        let lookup = app
            .client
            .get(app.url(&format!("/r1/{FOREIGN}/{citizen}")))
            .bearer_auth(&token)
            .header("X-Road-Client", CLIENT)
            .send()
            .await?;
        let status = lookup.status();
        let body: Value = lookup.json().await?;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        assert!(body.get("full_name").is_none(), "no record: {body}");
        app.stop().await?;
        Ok(())
    })
    .await
}
