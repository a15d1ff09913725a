//! Mutual TLS at the gateway (ADR 0009) over a real TLS listener: certificates from the
//! platform CA identify subsystems, must match X-Road-Client, and stop working when revoked
//! or expired; bearer tokens still work over the same listener.

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::{Browser, Caller, TestApp, TestResult, for_each_backend_with};

use crate::gateway::{CLIENT, Failure, SERVICE, grant_whole, refusal, setup, upstream};

pub(crate) const CARD: &str = "/r1/VN/GOV/BYT/insurance/cards/cards/79";

pub(crate) fn with_tls(config: &mut server::Config) {
    config.tls.listen = "127.0.0.1:0".parse().ok();
}

pub(crate) fn tls_url(app: &TestApp, path: &str) -> Result<String, Failure> {
    Ok(format!(
        "{}{path}",
        app.tls_base.as_ref().ok_or("no TLS listener")?
    ))
}

/// A client that trusts the platform CA and, when given, presents `identity` (certificate
/// and PKCS #8 key, PEM).
pub(crate) fn client(app: &TestApp, identity: Option<&str>) -> Result<reqwest::Client, Failure> {
    let ca = app.state.exchange.ca()?;
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(
            ca.certificate_pem().as_bytes(),
        )?)
        .timeout(std::time::Duration::from_secs(10));
    if let Some(pem) = identity {
        builder = builder.identity(reqwest::Identity::from_pem(pem.as_bytes())?);
    }
    Ok(builder.build()?)
}

/// Issues a certificate with a generated key; returns (serial, identity PEM).
pub(crate) async fn issue(app: &TestApp, subsystem: &str) -> Result<(String, String), Failure> {
    let issued = app
        .state
        .exchange
        .issue_certificate(
            subsystem,
            exchange::SubjectKey::Generate,
            30,
            "operator:test",
        )
        .await?;
    let key = issued.private_key_pem.ok_or("no key")?;
    Ok((issued.serial, format!("{}{key}", issued.certificate_pem)))
}

pub(crate) async fn call(
    client: &reqwest::Client,
    url: &str,
) -> reqwest::Result<reqwest::Response> {
    client.get(url).header("X-Road-Client", CLIENT).send().await
}

#[tokio::test]
async fn certificates_from_the_platform_ca_identify_subsystems() -> TestResult {
    for_each_backend_with(with_tls, |app| async move {
        let upstream = upstream().await?;
        let token = setup(&app, &upstream).await?;
        grant_whole(&app, SERVICE).await?;
        let url = tls_url(&app, CARD)?;

        // A certificate issued to the calling subsystem reaches the provider.
        let (first_serial, first) = issue(&app, CLIENT).await?;
        let mine = client(&app, Some(&first))?;
        let answered = call(&mine, &url).await?;
        assert_eq!(answered.status(), StatusCode::OK);
        let echo: Value = answered.json().await?;
        assert_eq!(echo.get("uri").and_then(Value::as_str), Some("/cards/79"));

        // Rotation: a second certificate works while the first still does.
        let (_, second) = issue(&app, CLIENT).await?;
        let rotated = client(&app, Some(&second))?;
        assert_eq!(call(&rotated, &url).await?.status(), StatusCode::OK);

        // Another subsystem's certificate does not make its holder CLIENT.
        let (_, theirs) = issue(&app, "VN/GOV/BYT/insurance").await?;
        let refused = call(&client(&app, Some(&theirs))?, &url).await?;
        assert_eq!(
            refusal(refused).await?,
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Server.ClientProxy.SslAuthenticationFailed".to_owned()
            )
        );
        let body: Value = call(&client(&app, Some(&theirs))?, &url)
            .await?
            .json()
            .await?;
        let text = body
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default();
        assert!(
            text.contains("VN/GOV/BYT/insurance") && text.contains(CLIENT),
            "the refusal names both subsystems: {text}"
        );

        // A certificate decides on its own: a valid token does not rescue the wrong one.
        let both = client(&app, Some(&theirs))?
            .get(&url)
            .header("X-Road-Client", CLIENT)
            .bearer_auth(&token)
            .send()
            .await?;
        assert_eq!(both.status(), StatusCode::INTERNAL_SERVER_ERROR);

        // Revoked: refused from the next request, even on the connection already open.
        app.state
            .exchange
            .catalog
            .revoke_certificate(&first_serial, "operator:test")
            .await?;
        assert_eq!(
            refusal(call(&mine, &url).await?).await?.1,
            "Server.ClientProxy.SslAuthenticationFailed"
        );
        assert_eq!(call(&rotated, &url).await?.status(), StatusCode::OK);

        // Expired: the TLS layer refuses the certificate (RFC 5280 §4.1.2.5), so the
        // handshake or the request fails; the gateway would refuse it too.
        let now = time::OffsetDateTime::now_utc();
        let expired = app
            .state
            .exchange
            .issue_certificate_between(
                CLIENT,
                exchange::SubjectKey::Generate,
                now - time::Duration::days(10),
                now - time::Duration::days(1),
                "operator:test",
            )
            .await?;
        let expired_pem = format!(
            "{}{}",
            expired.certificate_pem,
            expired.private_key_pem.ok_or("no key")?
        );
        match call(&client(&app, Some(&expired_pem))?, &url).await {
            Err(_) => {}
            Ok(response) => assert!(
                !response.status().is_success(),
                "an expired certificate must not be accepted"
            ),
        }

        // No certificate and no token: refused; a bearer token over TLS still works.
        let anonymous = client(&app, None)?;
        assert_eq!(
            refusal(call(&anonymous, &url).await?).await?.1,
            "Server.ClientProxy.SslAuthenticationFailed"
        );
        let with_token = anonymous
            .get(&url)
            .header("X-Road-Client", CLIENT)
            .bearer_auth(&token)
            .send()
            .await?;
        assert_eq!(with_token.status(), StatusCode::OK);
        // Pages still load over TLS without a certificate (browsers).
        assert_eq!(
            anonymous
                .get(tls_url(&app, "/readyz")?)
                .send()
                .await?
                .status(),
            StatusCode::OK
        );
        app.stop().await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn administrators_issue_from_a_csr_list_and_revoke() -> TestResult {
    for_each_backend_with(with_tls, |app| async move {
        let upstream = upstream().await?;
        setup(&app, &upstream).await?;
        grant_whole(&app, SERVICE).await?;
        let official = app.sign_in_as(Caller::ExchangeAdmin("BTP")).await?;
        let citizen = app.citizen().await?;

        // The agency keeps its key and sends only a CSR; what names it asks for is ignored.
        let agency_key = rcgen::KeyPair::generate()?;
        let mut asked = rcgen::CertificateParams::new(vec!["whatever.example".to_owned()])?;
        asked
            .distinguished_name
            .push(rcgen::DnType::CommonName, "civil");
        let csr = asked.serialize_request(&agency_key)?.pem()?;
        let post = |browser: &Browser, body: Value| {
            browser
                .post("/api/v1/exchange/certificates")
                .json(&body)
                .send()
        };
        assert_eq!(
            post(&citizen, json!({ "subsystem": CLIENT, "csr": csr }))
                .await?
                .status(),
            StatusCode::FORBIDDEN
        );
        // BTP's administrator manages BTP's subsystems only.
        assert_eq!(
            post(
                &official,
                json!({ "subsystem": "VN/GOV/BYT/insurance", "csr": csr })
            )
            .await?
            .status(),
            StatusCode::FORBIDDEN
        );
        let bad = post(
            &official,
            json!({ "subsystem": CLIENT, "csr": "not a request" }),
        )
        .await?;
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let problem: Value = bad.json().await?;
        assert!(
            problem.to_string().contains("csr"),
            "the problem names the field: {problem}"
        );

        let no_days = post(
            &official,
            json!({ "subsystem": CLIENT, "csr": csr, "days": 0 }),
        )
        .await?;
        assert_eq!(no_days.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(no_days.text().await?.contains("days"));

        let created = post(
            &official,
            json!({ "subsystem": CLIENT, "csr": csr, "days": 10 }),
        )
        .await?;
        assert_eq!(created.status(), StatusCode::CREATED);
        let issued: Value = created.json().await?;
        let serial = issued
            .get("serial")
            .and_then(Value::as_str)
            .ok_or("no serial")?
            .to_owned();
        let certificate = issued
            .get("certificate")
            .and_then(Value::as_str)
            .ok_or("no certificate")?;
        let identity = format!("{certificate}{}", agency_key.serialize_pem());
        let agency = client(&app, Some(&identity))?;
        let url = tls_url(&app, CARD)?;
        assert_eq!(call(&agency, &url).await?.status(), StatusCode::OK);

        let listed: Value = official
            .get("/api/v1/exchange/certificates")
            .send()
            .await?
            .json()
            .await?;
        let entry = listed
            .as_array()
            .and_then(|all| all.iter().find(|c| c.get("serial") == Some(&json!(serial))))
            .ok_or("the new certificate is listed")?;
        assert_eq!(entry.get("subsystem"), Some(&json!(CLIENT)));
        assert_eq!(entry.get("revoked_at"), Some(&Value::Null));

        let revoked = official
            .request(
                reqwest::Method::DELETE,
                &format!("/api/v1/exchange/certificates/{serial}"),
            )
            .send()
            .await?;
        assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            refusal(call(&agency, &url).await?).await?.1,
            "Server.ClientProxy.SslAuthenticationFailed"
        );
        app.stop().await?;
        Ok(())
    })
    .await
}
