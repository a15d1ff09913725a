//! The gateway as PR-REST and PR-MREST describe it, seen by an independent client (reqwest):
//! error statuses (§4.6), credentials meant for the provider (§4.7), the metadata services
//! and the client list.

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::{TestResult, for_each_backend, for_each_backend_with};

use crate::gateway::{CLIENT, SERVICE, grant_whole, last_entry, refusal, setup, upstream};
use crate::tls::{CARD, client, issue, tls_url, with_tls};

#[tokio::test]
async fn gateway_errors_use_only_400_and_500() -> TestResult {
    for_each_backend(|app| async move {
        let upstream = upstream().await?;
        let token = setup(&app, &upstream).await?;
        grant_whole(&app, SERVICE).await?;
        let url = app.url(CARD);
        // PR-REST §4.6: what the gateway itself answers is 400 (not the protocol) or 500.
        let anonymous = app
            .client
            .get(&url)
            .header("X-Road-Client", CLIENT)
            .send()
            .await?;
        assert_eq!(
            refusal(anonymous).await?,
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Server.ClientProxy.SslAuthenticationFailed".into()
            ),
            "missing credentials"
        );
        app.state
            .exchange
            .catalog
            .set_limit(
                CLIENT,
                exchange::Limit {
                    per_second: 1,
                    per_day: 1000,
                },
            )
            .await?;
        let call = || {
            app.client
                .get(&url)
                .bearer_auth(&token)
                .header("X-Road-Client", CLIENT)
                .send()
        };
        assert_eq!(call().await?.status(), StatusCode::OK);
        let held = call().await?;
        let retry_after = held.headers().get("retry-after").cloned();
        assert_eq!(
            refusal(held).await?,
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Server.ClientProxy.TooManyRequests".into()
            )
        );
        assert!(retry_after.is_some(), "Retry-After stays");

        // A protocol version this gateway does not speak: an X-Road error, not a page.
        let r2 = app
            .client
            .get(app.url("/r2/VN/GOV/BYT/insurance/cards/cards/79"))
            .header("X-Road-Client", CLIENT)
            .send()
            .await?;
        assert_eq!(
            refusal(r2).await?,
            (
                StatusCode::BAD_REQUEST,
                "Server.ClientProxy.InvalidRequest".into()
            )
        );
        app.stop().await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_token_for_the_provider_passes_unmodified_when_the_client_uses_a_certificate()
-> TestResult {
    for_each_backend_with(with_tls, |app| async move {
        let upstream = upstream().await?;
        let token = setup(&app, &upstream).await?;
        grant_whole(&app, SERVICE).await?;
        let (_, identity) = issue(&app, CLIENT).await?;
        // PR-REST §4.7: a JWT sent to the provider passes unmodified.
        let jwt = "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJwcm92aWRlciJ9.";
        let seen: Value = client(&app, Some(&identity))?
            .get(tls_url(&app, CARD)?)
            .header("X-Road-Client", CLIENT)
            .header("Authorization", jwt)
            .send()
            .await?
            .json()
            .await?;
        assert_eq!(seen["headers"]["authorization"], jwt, "{seen}");
        // With a token, the Authorization header is the gateway's credential and stays here.
        let seen: Value = app
            .client
            .get(app.url(CARD))
            .bearer_auth(&token)
            .header("X-Road-Client", CLIENT)
            .send()
            .await?
            .json()
            .await?;
        assert!(seen["headers"].get("authorization").is_none(), "{seen}");
        app.stop().await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn metadata_reveals_no_internal_address_and_lists_clients_by_instance() -> TestResult {
    for_each_backend(|app| async move {
        let upstream = upstream().await?;
        let token = setup(&app, &upstream).await?;
        let document = json!({
            "openapi": "3.0.3",
            "info": { "title": "claims", "version": "1" },
            "servers": [{ "url": "http://10.9.8.7:8080/internal" }],
            "paths": { "/claims": {
                "servers": [{ "url": "http://10.9.8.7:8081" }],
                "get": { "servers": [{ "url": "http://10.9.8.7:8082" }], "responses": {} }
            } },
            "components": { "schemas": { "Host": { "properties": { "servers": { "type": "string" } } } } }
        });
        app.state
            .exchange
            .catalog
            .add_service(exchange::NewService {
                id: "VN/GOV/BYT/insurance/claims".into(),
                base_url: upstream.clone(),
                openapi: Some(document.to_string()),
                timeout_ms: None,
                endpoints: Vec::new(),
            })
            .await?;
        let described = app
            .client
            .get(app.url("/r1/VN/GOV/BYT/insurance/getOpenAPI?serviceCode=claims"))
            .bearer_auth(&token)
            .header("X-Road-Client", CLIENT)
            .send()
            .await?
            .text()
            .await?;
        assert!(!described.contains("10.9.8.7"), "{described}");
        let described: Value = serde_json::from_str(&described)?;
        assert_eq!(described["info"]["title"], "claims");
        assert_eq!(
            described["components"]["schemas"]["Host"]["properties"]["servers"]["type"],
            "string",
            "a schema property named servers is not a server list"
        );

        let list = |query: &'static str, accept: &'static str| {
            app.client
                .get(app.url(&format!("/listClients{query}")))
                .header("Accept", accept)
                .send()
        };
        let listed: Value = list("", "application/json").await?.json().await?;
        let members = listed["member"].as_array().ok_or("member list")?;
        let civil = members
            .iter()
            .find(|m| m["id"]["subsystem_code"] == "civil")
            .ok_or("no civil subsystem")?;
        assert_eq!(civil["name"], "Bộ Tư pháp");
        assert_eq!(civil["subsystem_name"], "Hộ tịch điện tử");
        let ours: Value = list("?xRoadInstance=VN", "application/json").await?.json().await?;
        assert_eq!(ours, listed);
        let other: Value = list("?xRoadInstance=EE", "application/json").await?.json().await?;
        assert_eq!(other, json!({ "member": [] }));
        let xml = list("?xRoadInstance=VN", "text/xml").await?.text().await?;
        assert!(xml.contains("<ns2:subsystemName>Hộ tịch điện tử</ns2:subsystemName>"), "{xml}");
        app.stop().await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_member_may_be_the_client() -> TestResult {
    for_each_backend(|app| async move {
        let upstream = upstream().await?;
        let subsystem_token = setup(&app, &upstream).await?;
        // PR-REST §4.2: X-Road-Client names a member or one of its subsystems.
        let member = "VN/GOV/BTP";
        app.state
            .exchange
            .catalog
            .grant(
                exchange::NewRight {
                    client: member.into(),
                    service: SERVICE.into(),
                    method: None,
                    path: None,
                    fields: None,
                },
                "operator:test",
            )
            .await?;
        let token = app
            .machine_token(member, &[exchange::EXCHANGE_SCOPE])
            .await?;
        let response = app
            .client
            .get(app.url(CARD))
            .bearer_auth(&token)
            .header("X-Road-Client", member)
            .header("X-Road-Id", "member-1")
            .send()
            .await?;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response
                .headers()
                .get("x-road-client")
                .and_then(|v| v.to_str().ok()),
            Some(member)
        );
        let seen: Value = response.json().await?;
        assert_eq!(seen["headers"]["x-road-client"], member);
        let entry = last_entry(&app).await?;
        assert_eq!(
            (entry.message_id.as_str(), entry.client.as_str()),
            ("member-1", member)
        );

        // The member's right is its own: its subsystem holds none, and a subsystem's token
        // does not make its holder the member.
        let subsystem = app
            .client
            .get(app.url(CARD))
            .bearer_auth(&subsystem_token)
            .header("X-Road-Client", CLIENT)
            .send()
            .await?;
        assert_eq!(
            refusal(subsystem).await?.1,
            "Server.ServerProxy.AccessDenied"
        );
        let posing = app
            .client
            .get(app.url(CARD))
            .bearer_auth(&subsystem_token)
            .header("X-Road-Client", member)
            .send()
            .await?;
        assert_eq!(
            refusal(posing).await?.1,
            "Server.ClientProxy.SslAuthenticationFailed"
        );
        let unknown = app
            .client
            .get(app.url(CARD))
            .bearer_auth(&token)
            .header("X-Road-Client", "VN/GOV/NOBODY")
            .send()
            .await?;
        assert_eq!(
            refusal(unknown).await?.1,
            "Server.ClientProxy.SslAuthenticationFailed"
        );
        app.stop().await?;
        Ok(())
    })
    .await
}
