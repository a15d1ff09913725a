//! The gateway and its management under attack (issue 11): identifiers and URLs checked in
//! the form they are used in, every call audited or refused before it is forwarded, and
//! providers only on the networks the operator allows.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::{CLIENT_NAME, Caller, SignedIn, TestApp, for_each_backend};

use crate::gateway::{CLIENT, Failure, SERVICE, grant_whole, last_entry, setup, upstream};

/// A service of the Ministry of Health named like the registry's record lookup.
const FOREIGN: &str = "VN/GOV/BYT/insurance/citizens";

/// A browser of an official who administers the Ministry of Health's member, and a citizen
/// in the registry.
async fn health_administrator(app: &TestApp) -> Result<(SignedIn, String), Failure> {
    let admin = app.sign_in_as(Caller::ExchangeAdmin("BYT")).await?;
    let citizen = app.resident().await?.personal_id.to_string();
    Ok((admin, citizen))
}

#[tokio::test]
async fn only_the_registry_owner_may_point_a_service_at_the_registry() -> testkit::TestResult {
    for_each_backend(|app| async move {
        let upstream = upstream().await?;
        let token = setup(&app, &upstream).await?;
        let (admin, citizen) = health_administrator(&app).await?;
        for base_url in ["lienthong:registry/", " lienthong:registry// ", "lienthong:registry"] {
            let response = admin
                .post("/api/v1/exchange/services")
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
            matches!(&refused, Err(exchange::ExchangeError::Invalid { field: "base_url", .. })),
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

/// A provider that counts the calls reaching it and sets a cookie; `/big` answers 200 KB,
/// streamed.
async fn counting_provider() -> Result<(String, Arc<AtomicUsize>), Failure> {
    let reached = Arc::new(AtomicUsize::new(0));
    let counter = reached.clone();
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            if request.uri().path() == "/big" {
                let chunks = (0..50).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 4096]));
                return axum::response::Response::new(axum::body::Body::from_stream(
                    futures_util::stream::iter(chunks),
                ));
            }
            axum::response::Response::builder()
                .header("set-cookie", "session=from-the-provider; Path=/")
                .body(axum::body::Body::from("done"))
                .unwrap_or_default()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((base, reached))
}

#[tokio::test]
async fn audited_fields_too_long_for_the_log_are_refused_before_the_provider_acts()
-> testkit::TestResult {
    for_each_backend(|app| async move {
        let (provider, reached) = counting_provider().await?;
        let token = setup(&app, &provider).await?;
        grant_whole(&app, SERVICE).await?;
        let answered = app
            .client
            .get(app.url(&format!("/r1/{SERVICE}/first")))
            .bearer_auth(&token)
            .header("X-Road-Client", CLIENT)
            .header("X-Road-Id", "before")
            .send()
            .await?;
        assert_eq!(answered.status(), StatusCode::OK);
        let long = "x".repeat(9 * 1024);
        let long_path = format!("/r1/{SERVICE}/{long}");
        let cases = [
            (
                "X-Road-Issue",
                "/big",
                Some(("x-road-issue", long.as_str())),
            ),
            (
                "X-Road-UserId",
                "/big",
                Some(("x-road-userid", long.as_str())),
            ),
            ("X-Road-Id", "/small", Some(("x-road-id", long.as_str()))),
            ("path", long_path.as_str(), None),
        ];
        for (named, path, header) in cases {
            let url = if path.starts_with("/r1/") {
                app.url(path)
            } else {
                app.url(&format!("/r1/{SERVICE}{path}"))
            };
            let mut request = app
                .client
                .post(url)
                .bearer_auth(&token)
                .header("X-Road-Client", CLIENT)
                .body("an order the provider must not carry out");
            if let Some((name, value)) = header {
                request = request.header(name, value);
            }
            let response = request.send().await?;
            let status = response.status();
            let body: Value = match response.bytes().await {
                Ok(bytes) => serde_json::from_slice(&bytes)
                    .unwrap_or_else(|_| json!({ "answer": String::from_utf8_lossy(&bytes) })),
                Err(error) => json!({ "cut off": error.to_string() }),
            };
            assert_eq!(status, StatusCode::BAD_REQUEST, "{named}: {body}");
            assert_eq!(body["type"], "Server.ClientProxy.InvalidRequest", "{named}");
            assert!(
                body["message"].as_str().is_some_and(|m| m.contains(named)),
                "the refusal names {named}: {body}"
            );
        }
        assert_eq!(
            reached.load(Ordering::SeqCst),
            1,
            "only the first call reached the provider"
        );
        assert_eq!(last_entry(&app).await?.message_id, "before");

        // The longest purpose the log keeps passes, in Vietnamese, and is recorded whole.
        let purpose = "Hồ sơ ".repeat(900);
        assert!(purpose.len() <= 8 * 1024);
        let big = app
            .client
            .get(app.url(&format!("/r1/{SERVICE}/big")))
            .bearer_auth(&token)
            .header("X-Road-Client", CLIENT)
            .header("X-Road-Id", "after")
            .header("X-Road-Issue", purpose.as_str())
            .send()
            .await?;
        assert_eq!(big.status(), StatusCode::OK);
        assert_eq!(big.bytes().await?.len(), 50 * 4096);
        let entry = last_entry(&app).await?;
        assert_eq!(
            (entry.message_id.as_str(), entry.issue.as_deref()),
            ("after", Some(purpose.trim()))
        );
        app.stop().await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn made_up_service_codes_do_not_grow_the_metrics() -> testkit::TestResult {
    for_each_backend(|app| async move {
        let upstream = upstream().await?;
        let token = setup(&app, &upstream).await?;
        grant_whole(&app, SERVICE).await?;
        let call = |path: String| {
            app.client
                .get(app.url(&path))
                .bearer_auth(&token)
                .header("X-Road-Client", CLIENT)
                .send()
        };
        // One known service and one made-up code give every label the gateway uses.
        assert_eq!(
            call(format!("/r1/{SERVICE}/x")).await?.status(),
            StatusCode::OK
        );
        call("/r1/VN/GOV/BYT/insurance/warmup".into()).await?;
        call("/r1/VN/GOV/NOPE/nothing/listMethods".into()).await?;
        // The first scrape is itself counted from the second on.
        app.get("/metrics").await?;
        let before = app.get("/metrics").await?.text().await?;
        for n in 0..300 {
            call(format!("/r1/VN/GOV/BYT/insurance/made-up-{n}")).await?;
            call(format!("/r1/VN/GOV/X{n}/y/z")).await?;
            call(format!("/r1/VN/GOV/X{n}/y/listMethods")).await?;
        }
        let after = app.get("/metrics").await?.text().await?;
        assert!(
            !after.contains("made-up-") && !after.contains("GOV/X1"),
            "no made-up service in the labels"
        );
        // A series is a line's name and labels, without its value.
        let series = |text: &str| -> std::collections::BTreeSet<String> {
            text.lines()
                .filter(|line| !line.starts_with('#'))
                .filter_map(|line| line.rsplit_once(' ').map(|(name, _)| name.to_owned()))
                .collect()
        };
        let added: Vec<String> = series(&after)
            .difference(&series(&before))
            .cloned()
            .collect();
        assert!(
            added.is_empty(),
            "900 calls to made-up services add no series ({} bytes before, {} after): {added:#?}",
            before.len(),
            after.len()
        );
        assert!(after.contains(&format!(r#"service="{SERVICE}""#)));
        app.stop().await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn gateway_answers_and_the_client_list_are_never_sniffed() -> testkit::TestResult {
    for_each_backend(|app| async move {
        let upstream = upstream().await?;
        let token = setup(&app, &upstream).await?;
        grant_whole(&app, SERVICE).await?;
        let nosniff = |response: &reqwest::Response| {
            response
                .headers()
                .get("x-content-type-options")
                .and_then(|v| v.to_str().ok())
                == Some("nosniff")
        };
        let call = |path: String| {
            app.client
                .get(app.url(&path))
                .bearer_auth(&token)
                .header("X-Road-Client", CLIENT)
                .send()
        };
        let answered = call(format!("/r1/{SERVICE}/x")).await?;
        assert_eq!(answered.status(), StatusCode::OK);
        assert!(nosniff(&answered), "a provider's answer");
        let refused = call("/r1/VN/GOV/BYT/insurance/nothing".into()).await?;
        assert!(refused.headers().get("x-road-error").is_some());
        assert!(nosniff(&refused), "an X-Road error");
        let metadata = call("/r1/VN/GOV/BYT/insurance/listMethods".into()).await?;
        assert!(nosniff(&metadata), "a metadata answer");
        for accept in ["application/json", "text/xml"] {
            let clients = app
                .client
                .get(app.url("/listClients"))
                .header("Accept", accept)
                .send()
                .await?;
            assert!(nosniff(&clients), "listClients as {accept}");
        }
        app.stop().await?;
        Ok(())
    })
    .await
}

/// The networks of a deployment that has not listed loopback (the default).
fn without_loopback(config: &mut server::Config) {
    config.exchange.provider_networks = exchange::networks::DEFAULT.map(String::from).to_vec();
}

#[tokio::test]
async fn providers_are_reached_only_on_the_networks_the_operator_allows() -> testkit::TestResult {
    testkit::for_each_backend_with(without_loopback, |app| async move {
        let (provider, reached) = counting_provider().await?;
        let port = provider.rsplit(':').next().ok_or("no port")?.to_owned();
        let catalog = &app.state.exchange.catalog;
        catalog.add_member("VN/GOV/BYT", "Bộ Y tế").await?;
        catalog.add_subsystem("VN/GOV/BYT/insurance", "Bảo hiểm y tế").await?;
        let (admin, _) = health_administrator(&app).await?;
        let metrics = format!("{}/metrics", app.base);
        let refused = [
            (provider.as_str(), "127.0.0.0/8 (loopback)"),
            (&format!("http://localhost:{port}"), "(loopback)"),
            (&format!("http://[::ffff:127.0.0.1]:{port}"), "127.0.0.0/8 (loopback)"),
            (metrics.as_str(), "127.0.0.0/8 (loopback)"),
            ("http://169.254.169.254/latest", "169.254.0.0/16 (link-local)"),
            ("http://127.0.0.1:5432", "127.0.0.0/8 (loopback)"),
        ];
        for (n, (base_url, network)) in refused.iter().enumerate() {
            let response = admin
                .post("/api/v1/exchange/services")
                .json(&json!({ "id": format!("VN/GOV/BYT/insurance/s{n}"), "base_url": base_url }))
                .send()
                .await?;
            let status = response.status();
            let problem: Value = response.json().await?;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{base_url}: {problem}");
            assert_eq!(problem["field"], "base_url", "{problem}");
            assert!(
                problem["detail"].as_str().is_some_and(|d| d.contains(network)),
                "{base_url}: the refusal names {network}: {problem}"
            );
        }
        assert!(
            !catalog.snapshot().await.services.keys().any(|s| s.subsystem.member.code == "BYT"),
            "nothing registered"
        );

        // A name that pointed elsewhere when it was set (here: a row written by hand) is
        // checked again after DNS, when the gateway connects.
        sqlx::query("INSERT INTO exchange_services (id, subsystem_id, base_url, timeout_ms, created_at) VALUES ($1, 'VN/GOV/BYT/insurance', $2, 2000, '2026-01-01T00:00:00.000000Z')")
            .bind(SERVICE)
            .bind(format!("http://localhost:{port}"))
            .execute(app.state.db.reader())
            .await?;
        catalog.add_member("VN/GOV/BTP", "Bộ Tư pháp").await?;
        catalog.add_subsystem(CLIENT, CLIENT_NAME).await?;
        grant_whole(&app, SERVICE).await?;
        let token = app.exchange_client(CLIENT).await?.token;
        let response = app
            .client
            .get(app.url(&format!("/r1/{SERVICE}/cards/1")))
            .bearer_auth(&token)
            .header("X-Road-Client", CLIENT)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        assert_eq!(body["type"], "Server.ServerProxy.NetworkError");
        assert!(
            body["message"].as_str().is_some_and(|m| m.contains("(loopback)")),
            "{body}"
        );
        assert_eq!(reached.load(Ordering::SeqCst), 0, "the provider was never reached");
        app.stop().await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn cookies_never_cross_the_gateway() -> testkit::TestResult {
    for_each_backend(|app| async move {
        let upstream = upstream().await?;
        let token = setup(&app, &upstream).await?;
        grant_whole(&app, SERVICE).await?;
        let echoed: Value = app
            .client
            .get(app.url(&format!("/r1/{SERVICE}/cards/1")))
            .bearer_auth(&token)
            .header("X-Road-Client", CLIENT)
            .header("Cookie", "session=the-officials-session")
            .send()
            .await?
            .json()
            .await?;
        assert!(echoed["headers"].get("cookie").is_none(), "{echoed}");

        let (provider, _) = counting_provider().await?;
        app.state
            .exchange
            .catalog
            .add_service(exchange::NewService {
                id: "VN/GOV/BYT/insurance/counted".into(),
                base_url: provider,
                openapi: None,
                timeout_ms: None,
                endpoints: Vec::new(),
            })
            .await?;
        grant_whole(&app, "VN/GOV/BYT/insurance/counted").await?;
        let answered = app
            .client
            .get(app.url("/r1/VN/GOV/BYT/insurance/counted/x"))
            .bearer_auth(&token)
            .header("X-Road-Client", CLIENT)
            .send()
            .await?;
        assert_eq!(answered.status(), StatusCode::OK);
        assert!(
            answered.headers().get("set-cookie").is_none(),
            "a provider sets no cookie on the platform's domain"
        );
        app.stop().await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_path_the_provider_could_read_differently_from_the_right_is_refused()
-> testkit::TestResult {
    for_each_backend(|app| async move {
        let upstream = upstream().await?;
        let token = setup(&app, &upstream).await?;
        app.state
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
        let call = |rest: &'static str| {
            app.client
                .get(app.url(&format!("/r1/{SERVICE}{rest}")))
                .bearer_auth(&token)
                .header("X-Road-Client", CLIENT)
                .send()
        };
        assert_eq!(call("/cards/79").await?.status(), StatusCode::OK);
        // The right is checked on the decoded path, one segment here; a provider that takes
        // `\` for `/` would read another path than the one allowed.
        for rest in [
            "/cards/..%5Cadmin",
            "/cards/%5C..%5Cadmin",
            "/cards/x%5C..%5C..%5Cadmin",
        ] {
            let response = call(rest).await?;
            let status = response.status();
            let body: Value = response.json().await?;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{rest}: {body}");
            assert_eq!(body["type"], "Server.ClientProxy.InvalidRequest", "{rest}");
        }
        app.stop().await?;
        Ok(())
    })
    .await
}
