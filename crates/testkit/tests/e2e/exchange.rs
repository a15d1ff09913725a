//! The X-Road r1 gateway over HTTP: a plain client, a real upstream provider, access rights,
//! metadata services, built-in registry services, limits and the audit chain.

use axum::extract::Request;
use axum::routing::{any, get};
use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::{Browser, Caller, TestApp, TestResult, for_each_backend};
use tokio::net::TcpListener;

pub(crate) type Failure = Box<dyn std::error::Error + Send + Sync>;

pub(crate) use testkit::{CLIENT, SERVICE};

/// Lowercase hex, as the audit log and the certificates table write digests and serials.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The newest audit entry, once every acknowledged one has reached the database.
pub(crate) async fn last_entry(app: &TestApp) -> Result<audit::Entry, Failure> {
    app.state.exchange.audit.settled().await;
    Ok(audit::recent(&app.state.db, None, 1)
        .await?
        .into_iter()
        .next()
        .ok_or("no audit entry")?)
}

/// A provider that echoes what it received, and fails on /broken with its own 404.
pub(crate) async fn upstream() -> Result<String, Failure> {
    let echo = |request: Request| async move {
        let headers: serde_json::Map<String, Value> = request
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap_or_default())))
            .collect();
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, 1 << 20)
            .await
            .unwrap_or_default();
        axum::Json(json!({
            "method": parts.method.as_str(),
            "uri": parts.uri.to_string(),
            "headers": headers,
            "body": String::from_utf8_lossy(&body),
        }))
    };
    let app =
        axum::Router::new()
            .route(
                "/broken",
                get(|| async { (StatusCode::NOT_FOUND, "no such card") }),
            )
            .route(
                "/bytes/{size}",
                get(
                    |axum::extract::Path(size): axum::extract::Path<usize>| async move {
                        vec![b'x'; size]
                    },
                ),
            )
            // How much body arrived, and its SHA-256: large uploads are not echoed.
            .route(
                "/digest",
                any(|request: Request| async move {
                    let mut body = request.into_body().into_data_stream();
                    let (mut bytes, mut hash) = (0_usize, <sha2::Sha256 as sha2::Digest>::new());
                    while let Some(Ok(chunk)) = futures_util::StreamExt::next(&mut body).await {
                        bytes += chunk.len();
                        sha2::Digest::update(&mut hash, &chunk);
                    }
                    let sha256 = hex(&sha2::Digest::finalize(hash));
                    axum::Json(json!({ "bytes": bytes, "sha256": sha256 }))
                }),
            )
            // Slower than the service's 2 s timeout on purpose: the sleep is the provider
            // under test, not a wait for something.
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                    "too late"
                }),
            )
            .fallback(any(echo));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(base)
}

/// Registers the shared client and provider and returns a token for the client subsystem.
pub(crate) async fn setup(app: &TestApp, upstream: &str) -> Result<String, Failure> {
    app.register_exchange_parties(upstream).await?;
    Ok(app.exchange_client(CLIENT).await?.token)
}

/// Grants the test client the whole of `service`; returns the right's id.
pub(crate) async fn grant_whole(app: &TestApp, service: &str) -> Result<String, Failure> {
    Ok(app.grant_whole(service).await?)
}

/// The X-Road error type of a refused call, checking header and body agree.
pub(crate) async fn refusal(response: reqwest::Response) -> Result<(StatusCode, String), Failure> {
    let status = response.status();
    let header = response
        .headers()
        .get("x-road-error")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body: Value = response.json().await?;
    assert_eq!(
        body.get("type").and_then(Value::as_str),
        Some(header.as_str())
    );
    assert!(body.get("message").is_some() && body.get("detail").is_some());
    Ok((status, header))
}

#[tokio::test]
async fn x_road_clients_reach_providers_only_within_their_rights() -> TestResult {
    for_each_backend(|app| async move {
        let upstream = upstream().await?;
        let token = setup(&app, &upstream).await?;
        let call = |path: &str, client: Option<&str>| {
            let mut request = app.client.get(app.url(path)).bearer_auth(&token);
            if let Some(client) = client {
                request = request.header("X-Road-Client", client);
            }
            request
        };

        // Deny by default.
        let denied = call("/r1/VN/GOV/BYT/insurance/cards/cards/79", Some(CLIENT))
            .send()
            .await?;
        assert_eq!(refusal(denied).await?.1, "Server.ServerProxy.AccessDenied");

        let right = app
            .state
            .exchange
            .catalog
            .grant(
                exchange::NewRight {
                    client: CLIENT.into(),
                    service: SERVICE.into(),
                    method: Some("GET".into()),
                    path: Some("/cards/*".into()),
                    fields: None,
                },
                "operator:test",
            )
            .await?;
        let response = call(
            "/r1/VN/GOV/BYT/insurance/cards/cards/79?full=1",
            Some(CLIENT),
        )
        .header("X-Road-Id", "msg-0001")
        .header("X-Road-UserId", "VN001090000042")
        .header("X-Road-Issue", "HS-2026-77")
        .send()
        .await?;
        assert_eq!(response.status(), StatusCode::OK);
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        assert_eq!(header("x-road-id").as_deref(), Some("msg-0001"));
        assert_eq!(header("x-road-client").as_deref(), Some(CLIENT));
        assert_eq!(header("x-road-service").as_deref(), Some(SERVICE));
        assert_eq!(
            header("x-road-request-hash").map(|h| h.len()),
            Some(88),
            "base64 of SHA-512"
        );
        assert!(header("x-road-request-id").is_some());
        let seen: Value = response.json().await?;
        assert_eq!(seen["uri"], "/cards/79?full=1");
        assert_eq!(seen["headers"]["x-road-client"], CLIENT);
        assert_eq!(seen["headers"]["x-road-issue"], "HS-2026-77");
        assert!(
            seen["headers"].get("authorization").is_none(),
            "the gateway's credential stays here"
        );

        // Outside the endpoint the right covers; the provider's own errors pass through.
        let other = call("/r1/VN/GOV/BYT/insurance/cards/claims/1", Some(CLIENT))
            .send()
            .await?;
        assert_eq!(refusal(other).await?.1, "Server.ServerProxy.AccessDenied");
        app.state
            .exchange
            .catalog
            .grant(
                exchange::NewRight {
                    client: CLIENT.into(),
                    service: SERVICE.into(),
                    method: Some("GET".into()),
                    path: Some("/broken".into()),
                    fields: None,
                },
                "operator:test",
            )
            .await?;
        let broken = call("/r1/VN/GOV/BYT/insurance/cards/broken", Some(CLIENT))
            .send()
            .await?;
        assert_eq!(broken.status(), StatusCode::NOT_FOUND);
        assert!(broken.headers().get("x-road-error").is_none());
        assert_eq!(broken.text().await?, "no such card");

        // Refusals with the X-Road error types.
        let mismatch = call(
            "/r1/VN/GOV/BYT/insurance/cards/cards/79",
            Some("VN/GOV/BTP/other"),
        )
        .send()
        .await?;
        assert_eq!(
            refusal(mismatch).await?,
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Server.ClientProxy.SslAuthenticationFailed".into()
            )
        );
        let missing = call("/r1/VN/GOV/BYT/insurance/cards/cards/79", None)
            .send()
            .await?;
        assert_eq!(
            refusal(missing).await?.1,
            "Server.ClientProxy.InvalidClientIdentifier"
        );
        let malformed = call("/r1/VN/GOV/BYT/insurance", Some(CLIENT))
            .send()
            .await?;
        assert_eq!(
            refusal(malformed).await?,
            (
                StatusCode::BAD_REQUEST,
                "Server.ClientProxy.InvalidRequest".into()
            )
        );
        let bad_chars = call(
            "/r1/VN/GOV/BYT/insurance/cards/x",
            Some("VN/GOV/BTP/ci vil"),
        )
        .send()
        .await?;
        assert_eq!(
            refusal(bad_chars).await?.1,
            "Server.ClientProxy.InvalidClientIdentifier"
        );
        let unknown = call("/r1/VN/GOV/BYT/insurance/nothing", Some(CLIENT))
            .send()
            .await?;
        assert_eq!(
            refusal(unknown).await?.1,
            "Server.ServerProxy.UnknownService"
        );
        let anonymous = app
            .client
            .get(app.url("/r1/VN/GOV/BYT/insurance/cards/cards/79"))
            .header("X-Road-Client", CLIENT)
            .send()
            .await?;
        assert_eq!(
            refusal(anonymous).await?.1,
            "Server.ClientProxy.SslAuthenticationFailed"
        );

        // Revoked: refused again.
        app.state
            .exchange
            .catalog
            .revoke(&right, "operator:test")
            .await?;
        let revoked = call("/r1/VN/GOV/BYT/insurance/cards/cards/79", Some(CLIENT))
            .send()
            .await?;
        assert_eq!(refusal(revoked).await?.1, "Server.ServerProxy.AccessDenied");

        // Every authenticated exchange is in an intact chain.
        app.state.exchange.audit.settled().await;
        let report =
            audit::verify(&app.state.db, &[app.state.exchange.audit.verifying_key()]).await?;
        assert!(report.is_intact(), "{report}");
        // Six passed authentication: denied, answered, denied, the provider's 404, unknown, revoked.
        assert_eq!(report.entries, 6, "{report}");
        app.stop().await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn metadata_services_answer_in_the_specification_shape() -> TestResult {
    for_each_backend(|app| async move {
        let upstream = upstream().await?;
        let token = setup(&app, &upstream).await?;
        let meta = |path: &str| app.client.get(app.url(path)).bearer_auth(&token).header("X-Road-Client", CLIENT).send();
        let listed: Value = meta("/r1/VN/GOV/BYT/insurance/listMethods").await?.json().await?;
        assert_eq!(listed, json!({ "service": [{
            "object_type": "SERVICE", "xroad_instance": "VN", "member_class": "GOV", "member_code": "BYT",
            "subsystem_code": "insurance", "service_code": "cards", "service_type": "OPENAPI",
            "endpoint_list": [{ "method": "GET", "path": "/cards/*" }] }] }));
        let allowed: Value = meta("/r1/VN/GOV/BYT/insurance/allowedMethods").await?.json().await?;
        assert_eq!(allowed, json!({ "service": [] }), "no rights yet");
        let openapi: Value = meta("/r1/VN/GOV/BYT/insurance/getOpenAPI?serviceCode=cards").await?.json().await?;
        assert_eq!(openapi["openapi"], "3.0.3");
        let (_, kind) = refusal(meta("/r1/VN/GOV/BYT/insurance/getOpenAPI").await?).await?;
        assert_eq!(kind, "Server.ServerProxy.InvalidRequest");
        let clients: Value = app.client.get(app.url("/listClients")).header("Accept", "application/json").send().await?.json().await?;
        let members = clients["member"].as_array().ok_or("member list")?;
        assert!(members.iter().any(|m| m["id"] == json!({ "object_type": "SUBSYSTEM", "xroad_instance": "VN", "member_class": "GOV", "member_code": "BTP", "subsystem_code": "civil" }) && m["name"] == "Bộ Tư pháp"));
        app.stop().await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn registry_services_release_only_granted_fields_and_the_citizen_sees_each_access()
-> TestResult {
    for_each_backend(|app| async move {
        app.register_exchange_parties(&upstream().await?).await?;
        let civil = app.exchange_client(CLIENT).await?;
        let person = app.resident().await?;
        let citizens = "VN/GOV/BCA/registry/citizens";
        app.state.exchange.catalog.grant(
            exchange::NewRight { client: CLIENT.into(), service: citizens.into(), method: None, path: None, fields: Some(vec!["full_name".into(), "birth_date".into()]) },
            "operator:test",
        ).await?;
        app.state.exchange.catalog.set_limit(CLIENT, exchange::Limit { per_second: 2, per_day: 1000 }).await?;
        let lookup = || civil
            .get(&format!("{citizens}/{}", person.personal_id))
            .header("X-Road-Issue", "Đăng ký khai sinh HS-1")
            .send();
        let answer = lookup().await?;
        assert_eq!(
            answer.headers().get("cache-control").and_then(|v| v.to_str().ok()),
            Some("no-store"),
            "a record is never cached"
        );
        let record: Value = answer.json().await?;
        let keys: Vec<&String> = record.as_object().ok_or("object")?.keys().collect();
        assert_eq!(keys, ["birth_date", "full_name"], "only the granted fields");
        assert_eq!(record["full_name"], person.full_name.as_str());

        // Two a second: the third at once is held back.
        let _second = lookup().await?;
        let held = lookup().await?;
        assert!(held.headers().get("retry-after").is_some());
        assert_eq!(refusal(held).await?, (StatusCode::INTERNAL_SERVER_ERROR, "Server.ClientProxy.TooManyRequests".into()));

        app.state.exchange.audit.settled().await;
        let tracked = audit::entries_about(&app.state.db, &person.personal_id.to_string(), 10).await?;
        assert_eq!(tracked.len(), 2, "the two answered lookups name the citizen");
        assert!(tracked.iter().all(|e| e.issue.as_deref() == Some("Đăng ký khai sinh HS-1") && e.client == CLIENT));
        app.stop().await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn operators_see_the_traffic_and_citizens_see_who_used_their_data() -> TestResult {
    for_each_backend(|app| async move {
        app.register_exchange_parties(&upstream().await?).await?;
        let civil = app.exchange_client(CLIENT).await?;
        let official = app.sign_in_as(Caller::RegistryOfficer).await?;
        let citizen_browser = app.citizen().await?;
        let citizen = &citizen_browser.person.record;
        grant_whole(&app, "VN/GOV/BCA/registry/residence").await?;
        let confirmed = civil
            .get(&format!(
                "VN/GOV/BCA/registry/residence/{}",
                citizen.personal_id
            ))
            .header("X-Road-Issue", "HS-2026-0042")
            .send()
            .await?;
        assert_eq!(confirmed.status(), StatusCode::OK);
        let residence: Value = confirmed.json().await?;
        assert_eq!(residence["personal_id"], citizen.personal_id.to_string());

        let page = |path: &str, browser: &Browser| browser.get(path).send();
        let tracker = page("/account/data-tracker", &citizen_browser).await?;
        assert_eq!(tracker.status(), StatusCode::OK);
        let text = tracker.text().await?;
        assert!(
            text.contains("HS-2026-0042")
                && text.contains("Bộ Tư pháp")
                && text.contains("residence"),
            "the tracker names who, what and why"
        );

        assert_eq!(
            page("/exchange", &citizen_browser).await?.status(),
            StatusCode::FORBIDDEN
        );
        app.grant(official.person.id(), Caller::ExchangeOperator)
            .await?;
        let operators = page("/exchange", &official).await?;
        assert_eq!(operators.status(), StatusCode::OK);
        let text = operators.text().await?;
        assert!(text.contains("VN/GOV/BCA/registry/residence") && text.contains(CLIENT));

        // An operator registers a new member on the page; a bad code is told on its field
        // and registers nothing.
        let add = |fields: &'static [(&'static str, &'static str)]| {
            official.post("/exchange/members").form(fields).send()
        };
        let bad = add(&[("id", "VN/GOV"), ("name", "Bộ Xây dựng")]).await?;
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let bad = bad.text().await?;
        assert!(
            bad.contains(r##"<a href="#member_id">"##)
                && bad.contains("phải có dạng INSTANCE/CLASS/MEMBER")
                && bad.contains(r#"value="Bộ Xây dựng""#),
            "{bad}"
        );
        let added = add(&[("id", "VN/GOV/BXD"), ("name", "Bộ Xây dựng")]).await?;
        assert_eq!(added.status(), StatusCode::SEE_OTHER);
        let snapshot = app.state.exchange.catalog.snapshot().await;
        assert!(
            snapshot
                .members
                .iter()
                .any(|(id, name)| id.to_string() == "VN/GOV/BXD" && name == "Bộ Xây dựng")
        );
        let again = add(&[("id", "VN/GOV/BXD"), ("name", "Bộ Xây dựng")]).await?;
        assert_eq!(again.status(), StatusCode::CONFLICT);
        assert!(again.text().await?.contains("VN/GOV/BXD đã được đăng ký"));
        app.stop().await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn administrators_manage_their_own_member_from_the_page() -> TestResult {
    for_each_backend(|app| async move {
        let upstream = upstream().await?;
        setup(&app, &upstream).await?;
        // The administrator of the Ministry of Health's member.
        let admin = app.sign_in_as(Caller::ExchangeAdmin("BYT")).await?;
        let citizen = app.citizen().await?;
        let post = |path: &str, browser: &Browser, fields: &[(&str, &str)]| {
            browser.post(path).form(fields).send()
        };
        let grant = [
            ("client", CLIENT),
            ("service", SERVICE),
            ("method", "GET"),
            ("path", "/cards/*"),
        ];

        let refused = post("/exchange/rights", &citizen, &grant).await?;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        let bad = post(
            "/exchange/rights",
            &admin,
            &[("client", "VN/GOV"), ("service", SERVICE)],
        )
        .await?;
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let bad = bad.text().await?;
        assert!(
            bad.contains("phải có dạng INSTANCE/CLASS/MEMBER hoặc INSTANCE/CLASS/MEMBER/SUBSYSTEM"),
            "the page names what is wrong, in Vietnamese: {bad}"
        );
        assert!(
            bad.contains(r##"<a href="#right_client">"##) && bad.contains(r#"value="VN/GOV""#),
            "the summary links to the field, which keeps what was typed: {bad}"
        );
        assert!(!bad.contains("client: "), "no API prefix on the page");
        let foreign = post(
            "/exchange/subsystems",
            &admin,
            &[("id", "VN/GOV/BTP/extra"), ("name", "Khác")],
        )
        .await?;
        assert_eq!(
            foreign.status(),
            StatusCode::FORBIDDEN,
            "another member's subsystem"
        );
        // The e-ID system's own rights to the registry are granted at start-up; this client
        // has none yet.
        assert!(
            !app.state
                .exchange
                .catalog
                .snapshot()
                .await
                .all_rights()
                .any(|r| r.client == CLIENT),
            "nothing granted so far"
        );

        let granted = post("/exchange/rights", &admin, &grant).await?;
        assert_eq!(granted.status(), StatusCode::SEE_OTHER);
        let right = app
            .state
            .exchange
            .catalog
            .snapshot()
            .await
            .all_rights()
            .find(|r| r.client == CLIENT)
            .cloned()
            .ok_or("no right")?;
        assert_eq!(
            (right.client.as_str(), right.path.as_deref()),
            (CLIENT, Some("/cards/*"))
        );
        assert!(
            right.granted_by.starts_with("account:"),
            "who granted it is kept"
        );
        let own = post(
            "/exchange/subsystems",
            &admin,
            &[("id", "VN/GOV/BYT/claims"), ("name", "Giám định")],
        )
        .await?;
        assert_eq!(own.status(), StatusCode::SEE_OTHER);

        let asked = post(
            &format!("/exchange/rights/{}/revoke", right.id),
            &admin,
            &[],
        )
        .await?;
        assert_eq!(asked.status(), StatusCode::OK);
        let asked = asked.text().await?;
        assert!(asked.contains("Thu hồi quyền truy cập?"), "{asked}");
        assert!(
            asked.contains(CLIENT),
            "the question names the client: {asked}"
        );
        assert!(
            app.state
                .exchange
                .catalog
                .snapshot()
                .await
                .all_rights()
                .any(|r| r.client == CLIENT),
            "asking revokes nothing"
        );
        let revoked = post(
            &format!("/exchange/rights/{}/revoke?confirm=yes", right.id),
            &admin,
            &[],
        )
        .await?;
        assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
        assert!(
            !app.state
                .exchange
                .catalog
                .snapshot()
                .await
                .all_rights()
                .any(|r| r.client == CLIENT)
        );
        app.stop().await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn large_answers_stream_through_and_are_audited_before_they_end() -> TestResult {
    for backend in store::testing::TestBackend::all() {
        // Answers above 2 MB are cut; the 1 MiB request limit does not apply to answers.
        let app = TestApp::spawn_with(&backend, |config| {
            config.exchange.max_response_bytes = 2_000_000;
        })
        .await?;
        let upstream = upstream().await?;
        let token = setup(&app, &upstream).await?;
        grant_whole(&app, SERVICE).await?;
        let call = |path: &str, id: &str| {
            app.client
                .get(app.url(&format!("/r1/{SERVICE}{path}")))
                .bearer_auth(&token)
                .header("X-Road-Client", CLIENT)
                .header("X-Road-Id", id)
                .send()
        };
        let big = call("/bytes/1500000", "big-1").await?;
        assert_eq!(big.status(), StatusCode::OK);
        let body = big.bytes().await?;
        assert_eq!(body.len(), 1_500_000);
        let entry = last_entry(&app).await?;
        assert_eq!((entry.message_id.as_str(), entry.status), ("big-1", 200));
        assert_eq!(
            entry.response_hash,
            hex(&audit::body_hash(&body)),
            "the entry holds the hash of what was relayed"
        );

        let cut = call("/bytes/3000000", "big-2").await?;
        assert_eq!(
            cut.status(),
            StatusCode::OK,
            "the status left before the excess was seen"
        );
        assert!(
            cut.bytes().await.is_err(),
            "the client never gets a complete answer"
        );
        let entry = last_entry(&app).await?;
        assert_eq!((entry.message_id.as_str(), entry.status), ("big-2", 502));
        app.stop().await?;
    }
    Ok(())
}
