//! Client certificates managed by people (the API and the /exchange page) and published for
//! relying parties: issued from the agency's CSR, listed and revoked under the member rules,
//! named in a revocation list signed by the platform CA, and refused by the gateway over TLS
//! once revoked.

use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use serde_json::{Value, json};
use testkit::{Browser, Caller, TestApp, TestResult, for_each_backend, for_each_backend_with};
use x509_parser::extensions::ParsedExtension;

use crate::gateway::{CLIENT, Failure, SERVICE, grant_whole, hex, refusal, setup, upstream};
use crate::tls::{CARD, call, client, tls_url, with_tls};

const CERTIFICATES: &str = "/api/v1/exchange/certificates";
const AUTHENTICATION_FAILED: &str = "Server.ClientProxy.SslAuthenticationFailed";

/// An agency's own key and a CSR signed with it.
fn agency_request() -> Result<(rcgen::KeyPair, String), Failure> {
    let key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "civil");
    let csr = params.serialize_request(&key)?.pem()?;
    Ok((key, csr))
}

fn text<'a>(value: &'a Value, key: &str) -> Result<&'a str, Failure> {
    Ok(value
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("no {key} in {value}"))?)
}

/// The certificate of `serial` as listed for the official in `browser`, if listed.
async fn listed(browser: &Browser, serial: &str) -> Result<Option<Value>, Failure> {
    let all: Vec<Value> = browser.get(CERTIFICATES).send().await?.json().await?;
    Ok(all
        .into_iter()
        .find(|c| c.get("serial").and_then(Value::as_str) == Some(serial)))
}

/// Fetches the revocation list without signing in, checks it is a CRL signed by the CA
/// certificate the platform publishes, valid now for 24 hours, and returns the revoked
/// serials (hex).
async fn revoked_serials(app: &TestApp) -> Result<Vec<String>, Failure> {
    let response = app.get("/api/v1/exchange/ca.crl").await?;
    assert_eq!(response.status(), StatusCode::OK);
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header(CONTENT_TYPE), "application/pkix-crl");
    assert!(header(CACHE_CONTROL).starts_with("public"), "cacheable");
    let der = response.bytes().await?;

    let ca_text = app.get("/api/v1/exchange/ca.pem").await?.text().await?;
    let (_, ca_pem) = x509_parser::pem::parse_x509_pem(ca_text.as_bytes())?;
    let ca = ca_pem.parse_x509()?;

    let (rest, crl) = x509_parser::parse_x509_crl(&der)?;
    assert!(rest.is_empty(), "one DER CRL and nothing after it");
    crl.verify_signature(ca.public_key())
        .map_err(|e| format!("the CRL's signature does not verify with the CA key: {e}"))?;
    assert_eq!(crl.issuer(), ca.subject());
    let now = time::OffsetDateTime::now_utc();
    let this_update = crl.last_update().to_datetime();
    let next_update = crl.next_update().ok_or("no nextUpdate")?.to_datetime();
    assert!(this_update <= now && now < next_update);
    assert_eq!(next_update - this_update, time::Duration::hours(24));
    assert!(crl.crl_number().is_some(), "RFC 5280 §5.2.3 CRL number");
    let authority_key = crl
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                aki.key_identifier.as_ref().map(|k| k.0)
            }
            _ => None,
        });
    let subject_key = ca
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(ski) => Some(ski.0),
            _ => None,
        });
    assert!(authority_key.is_some());
    assert_eq!(authority_key, subject_key, "the CRL names the CA's key");
    Ok(crl
        .iter_revoked_certificates()
        .map(|r| hex(r.raw_serial()))
        .collect())
}

#[tokio::test]
async fn certificates_are_issued_from_csrs_revoked_and_published_in_the_crl() -> TestResult {
    for_each_backend_with(with_tls, |app| async move {
        let upstream = upstream().await?;
        setup(&app, &upstream).await?;
        grant_whole(&app, SERVICE).await?;
        let operator = app.sign_in_as(Caller::ExchangeOperator).await?;
        let other = app.sign_in_as(Caller::ExchangeAdmin("BYT")).await?;
        let send = |method: reqwest::Method, path: &str, browser: &Browser, body: Option<Value>| {
            let request = browser.request(method, path);
            match body {
                Some(body) => request.json(&body).send(),
                None => request.send(),
            }
        };
        let issue = |browser: &Browser, body: Value| {
            send(reqwest::Method::POST, CERTIFICATES, browser, Some(body))
        };
        let revoke = |browser: &Browser, serial: &str| {
            send(
                reqwest::Method::POST,
                &format!("{CERTIFICATES}/{serial}/revoke"),
                browser,
                None,
            )
        };
        assert!(revoked_serials(&app).await?.is_empty());

        // Bad input is named and changes nothing.
        let (agency_key, csr) = agency_request()?;
        for (body, field) in [
            (
                json!({ "subsystem": CLIENT, "csr": "not a request" }),
                "csr",
            ),
            (
                json!({ "subsystem": "VN/GOV/BTP/nothing", "csr": csr }),
                "subsystem",
            ),
            (
                json!({ "subsystem": "VN/GOV/BTP", "csr": csr }),
                "subsystem",
            ),
            (
                json!({ "subsystem": CLIENT, "csr": csr, "days": 0 }),
                "days",
            ),
            (
                json!({ "subsystem": CLIENT, "csr": csr, "replaces": "40ff" }),
                "replaces",
            ),
        ] {
            let (status, problem) = super::problem(issue(&operator, body).await?).await?;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
            assert_eq!(problem.get("field"), Some(&json!(field)), "{problem}");
        }
        let (status, problem) = super::problem(revoke(&operator, "40ff").await?).await?;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(problem.get("code"), Some(&json!("unknown-certificate")));
        assert!(app.state.exchange.catalog.certificates().await?.is_empty());

        // The operator issues from the agency's CSR: the certificate carries the agency's key.
        let created = issue(&operator, json!({ "subsystem": CLIENT, "csr": csr })).await?;
        assert_eq!(created.status(), StatusCode::CREATED);
        let issued: Value = created.json().await?;
        let first = text(&issued, "serial")?.to_owned();
        let first_pem = text(&issued, "certificate")?.to_owned();
        let (_, pem) = x509_parser::pem::parse_x509_pem(first_pem.as_bytes())?;
        let certificate = pem.parse_x509()?;
        assert_eq!(
            certificate.public_key().raw,
            rcgen::PublicKeyData::subject_public_key_info(&agency_key).as_slice(),
            "the certificate is for the agency's own key"
        );
        assert_eq!(hex(certificate.raw_serial()), first);
        let entry = listed(&operator, &first).await?.ok_or("listed")?;
        assert_eq!(entry.get("status"), Some(&json!("active")));
        assert_eq!(entry.get("subsystem"), Some(&json!(CLIENT)));
        assert_eq!(entry.get("revoked_at"), Some(&Value::Null));
        assert_eq!(
            entry
                .get("fingerprint")
                .and_then(Value::as_str)
                .map(str::len),
            Some(64)
        );
        let first_identity = format!("{first_pem}{}", agency_key.serialize_pem());
        let first_client = client(&app, Some(&first_identity))?;
        let url = tls_url(&app, CARD)?;
        assert_eq!(call(&first_client, &url).await?.status(), StatusCode::OK);

        // The administrator of another member neither sees nor revokes nor issues it.
        assert_eq!(listed(&other, &first).await?, None);
        let (status, _) = super::problem(revoke(&other, &first).await?).await?;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) =
            super::problem(issue(&other, json!({ "subsystem": CLIENT, "csr": csr })).await?)
                .await?;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(call(&first_client, &url).await?.status(), StatusCode::OK);

        // Rotation in one call: the new certificate is issued and the old one revoked.
        let (second_key, second_csr) = agency_request()?;
        let rotated: Value = issue(
            &operator,
            json!({ "subsystem": CLIENT, "csr": second_csr, "days": 30, "replaces": first }),
        )
        .await?
        .json()
        .await?;
        assert_eq!(rotated.get("replaced"), Some(&json!(first)));
        let second = text(&rotated, "serial")?.to_owned();
        let second_identity = format!(
            "{}{}",
            text(&rotated, "certificate")?,
            second_key.serialize_pem()
        );
        let replaced = listed(&operator, &first).await?.ok_or("listed")?;
        assert_eq!(replaced.get("status"), Some(&json!("revoked")));
        assert!(
            text(&replaced, "revoked_by")?.starts_with("account:"),
            "who revoked it is kept"
        );
        assert_eq!(
            refusal(call(&first_client, &url).await?).await?.1,
            AUTHENTICATION_FAILED
        );
        let second_client = client(&app, Some(&second_identity))?;
        assert_eq!(call(&second_client, &url).await?.status(), StatusCode::OK);
        let (status, problem) = super::problem(
            issue(
                &operator,
                json!({ "subsystem": CLIENT, "csr": second_csr, "replaces": first }),
            )
            .await?,
        )
        .await?;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem.get("code"), Some(&json!("already-revoked")));
        assert_eq!(app.state.exchange.catalog.certificates().await?.len(), 2);

        // Revoking: once, then a conflict; the gateway refuses it, the CRL names both.
        assert_eq!(
            revoke(&operator, &second).await?.status(),
            StatusCode::NO_CONTENT
        );
        let (status, problem) = super::problem(revoke(&operator, &second).await?).await?;
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(
            text(&problem, "detail")?.contains("already revoked"),
            "{problem}"
        );
        assert_eq!(
            refusal(call(&second_client, &url).await?).await?.1,
            AUTHENTICATION_FAILED
        );
        let mut in_crl = revoked_serials(&app).await?;
        in_crl.sort();
        let mut expected = vec![first, second];
        expected.sort();
        assert_eq!(in_crl, expected);

        let openapi: Value = app.get("/openapi.json").await?.json().await?;
        for path in [
            CERTIFICATES,
            "/api/v1/exchange/certificates/{serial}/revoke",
            "/api/v1/exchange/ca.pem",
            "/api/v1/exchange/ca.crl",
        ] {
            assert!(
                openapi["paths"][path].is_object(),
                "OpenAPI documents {path}"
            );
        }
        app.stop().await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn the_exchange_page_issues_lists_and_revokes_certificates() -> TestResult {
    for_each_backend(|app| async move {
        let upstream = upstream().await?;
        setup(&app, &upstream).await?;
        let admin = app.sign_in_as(Caller::ExchangeAdmin("BTP")).await?;
        let other = app.sign_in_as(Caller::ExchangeAdmin("BYT")).await?;
        let page = |path: &str, browser: &Browser| browser.get(path).send();
        let post = |path: &str, browser: &Browser, fields: &[(&str, &str)]| {
            browser.post(path).form(fields).send()
        };

        let shown = page("/exchange", &admin).await?.text().await?;
        assert!(shown.contains("Chứng thư số") && shown.contains("Cấp chứng thư"));
        assert!(
            shown.contains(r#"href="/api/v1/exchange/ca.pem""#)
                && shown.contains(r#"href="/api/v1/exchange/ca.crl""#)
        );
        assert!(shown.contains(&format!(r#"<option value="{CLIENT}""#)));
        assert!(
            !shown.contains(r#"<option value="VN/GOV/BYT/insurance""#),
            "only the subsystems it manages"
        );

        // A bad CSR: refused in place, what was typed kept, nothing issued.
        let bad = post(
            "/exchange/certificates",
            &admin,
            &[("subsystem", CLIENT), ("csr", "hello"), ("days", "")],
        )
        .await?;
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let text = bad.text().await?;
        assert!(
            text.contains(r##"<a href="#certificate_csr">"##)
                && text.contains("đây không phải yêu cầu cấp chứng thư dạng PEM")
                && text.contains(r#"id="certificate_csr-error""#),
            "the summary links to the CSR, told in Vietnamese beside it: {text}"
        );
        assert!(text.contains(">hello</textarea>"));
        assert!(app.state.exchange.catalog.certificates().await?.is_empty());

        let (_, csr) = agency_request()?;
        let issued = post(
            "/exchange/certificates",
            &admin,
            &[("subsystem", CLIENT), ("csr", &csr), ("days", "90")],
        )
        .await?;
        assert_eq!(issued.status(), StatusCode::SEE_OTHER);
        let location = issued
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or("no location")?
            .to_owned();
        let serial = location
            .strip_prefix("/exchange?issued=")
            .and_then(|rest| rest.strip_suffix("#certificates"))
            .ok_or("the page shows what it issued")?
            .to_owned();
        let shown = page(&location, &admin).await?.text().await?;
        assert!(shown.contains("-----BEGIN CERTIFICATE-----") && shown.contains(&serial));
        let download = page(&format!("/exchange/certificates/{serial}/pem"), &admin).await?;
        assert_eq!(download.status(), StatusCode::OK);
        assert!(
            download
                .text()
                .await?
                .starts_with("-----BEGIN CERTIFICATE-----")
        );

        // Another member's administrator sees neither it nor its PEM, and cannot revoke it.
        // The language switch carries the address the admin typed; what the page shows of
        // the exchange is what counts.
        let theirs = page(&location, &other).await?.text().await?;
        let theirs: String = theirs
            .split(r#"href="/lang?"#)
            .enumerate()
            .map(|(i, part)| match (i, part.split_once('"')) {
                (0, _) | (_, None) => part,
                (_, Some((_, rest))) => rest,
            })
            .collect();
        assert!(!theirs.contains(&serial) && !theirs.contains("-----BEGIN CERTIFICATE-----"));
        let refused = post(
            &format!("/exchange/certificates/{serial}/revoke"),
            &other,
            &[],
        )
        .await?;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);

        let asked = post(
            &format!("/exchange/certificates/{serial}/revoke"),
            &admin,
            &[],
        )
        .await?;
        assert_eq!(asked.status(), StatusCode::OK);
        let asked = asked.text().await?;
        assert!(
            asked.contains("Thu hồi chứng thư số?") && asked.contains(&serial),
            "{asked}"
        );
        assert!(
            page("/exchange", &admin)
                .await?
                .text()
                .await?
                .contains("Đang hiệu lực"),
            "asking revokes nothing"
        );
        let revoked = post(
            &format!("/exchange/certificates/{serial}/revoke?confirm=yes"),
            &admin,
            &[],
        )
        .await?;
        assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
        let shown = page("/exchange", &admin).await?.text().await?;
        assert!(shown.contains("Đã thu hồi"));
        assert!(
            !shown.contains(&format!("/exchange/certificates/{serial}/revoke")),
            "no revoke button once revoked"
        );
        let again = post(
            &format!("/exchange/certificates/{serial}/revoke"),
            &admin,
            &[],
        )
        .await?;
        assert_eq!(again.status(), StatusCode::CONFLICT);
        assert!(again.text().await?.contains("đã bị thu hồi"));

        admin.add_cookie("lang=en");
        let english = admin.get("/exchange").send().await?.text().await?;
        assert!(english.contains("Certificates") && english.contains("Revoked"));
        app.stop().await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn an_unusable_certificate_authority_is_reported_without_the_servers_paths() -> TestResult {
    // A CA directory whose key file holds no key: the operator's log names the file, the
    // caller learns only that the CA is unavailable.
    let scratch = tempfile::tempdir()?;
    let ca_dir = scratch.path().join("broken-ca");
    std::fs::create_dir_all(&ca_dir)?;
    std::fs::write(ca_dir.join("ca.key"), "not a key")?;
    std::fs::write(ca_dir.join("ca.pem"), "not a certificate")?;
    let path = ca_dir.display().to_string();
    for_each_backend_with(
        |config| config.exchange.ca = Some(ca_dir.clone()),
        |app| {
            let path = path.clone();
            async move {
                let operator = app.sign_in_as(Caller::ExchangeOperator).await?;
                app.state
                    .exchange
                    .catalog
                    .add_member("VN/GOV/BTP", "Bộ Tư pháp")
                    .await?;
                app.state
                    .exchange
                    .catalog
                    .add_subsystem("VN/GOV/BTP/civil", "Hộ tịch")
                    .await?;
                let (_, csr) = agency_request()?;
                let response = operator
                    .post(CERTIFICATES)
                    .json(&json!({ "subsystem": "VN/GOV/BTP/civil", "csr": csr, "days": 30 }))
                    .send()
                    .await?;
                let status = response.status();
                let body = response.text().await?;
                assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
                assert!(body.contains("certificate-authority-unavailable"), "{body}");
                assert!(
                    !body.contains(&path) && !body.contains("ca.key"),
                    "no server path reaches the caller: {body}"
                );
                app.stop().await?;
                Ok(())
            }
        },
    )
    .await
}
