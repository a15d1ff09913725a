//! End-to-end tests: a real server, a real database, a real HTTP client.

#[path = "e2e/assistance.rs"]
mod assistance;
#[path = "e2e/authorization.rs"]
mod authorization;
#[path = "e2e/browser.rs"]
mod browser;
#[path = "e2e/certificates.rs"]
mod certificates;
#[path = "e2e/chromium.rs"]
mod chromium;
#[path = "e2e/connections.rs"]
mod connections;
#[path = "e2e/forms.rs"]
mod forms;
#[path = "e2e/forwarding.rs"]
mod forwarding;
#[path = "e2e/exchange.rs"]
mod gateway;
#[path = "e2e/hardening.rs"]
mod hardening;
#[path = "e2e/identity_forms.rs"]
mod identity_forms;
#[path = "e2e/layout.rs"]
mod layout;
#[path = "e2e/machine.rs"]
mod machine;
#[path = "e2e/ocsp.rs"]
mod ocsp;
#[path = "e2e/oidc.rs"]
mod oidc;
#[path = "e2e/openapi.rs"]
mod openapi;
#[path = "e2e/pages.rs"]
mod pages;
#[path = "e2e/passkeys.rs"]
mod passkeys;
#[path = "e2e/paths.rs"]
mod paths;
#[path = "e2e/protocol.rs"]
mod protocol;
#[path = "e2e/redirects.rs"]
mod redirects;
#[path = "e2e/registration.rs"]
mod registration;
#[path = "e2e/registry_reads.rs"]
mod registry_reads;
#[path = "e2e/signin.rs"]
mod signin;
#[path = "e2e/tls.rs"]
mod tls;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use testkit::{Browser, Caller, TestApp, TestResult, for_each_backend};

const PROBLEM_JSON: &str = "application/problem+json";

/// A registry officer, for checking through the service what a test wrote; the service logs
/// their reads like anyone's.
fn registry_officer() -> Result<registry::Official, Box<dyn std::error::Error + Send + Sync>> {
    let principal = web::Principal {
        account_id: "test-officer".into(),
        personal_id: kernel::PersonalId::parse("001080000009")?,
        full_name: "Cán bộ kiểm tra".into(),
        assurance_level: 2,
        roles: vec![web::auth::AgencyRole {
            agency: "BCA".into(),
            role: kernel::Role::RegistryOfficer,
        }],
    };
    Ok(registry::Official::of(&principal)?)
}

async fn problem(
    response: reqwest::Response,
) -> Result<(StatusCode, Value), Box<dyn std::error::Error + Send + Sync>> {
    let status = response.status();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, PROBLEM_JSON, "errors are problem documents");
    Ok((status, response.json().await?))
}

#[tokio::test]
async fn health_readiness_and_operations_endpoints() -> TestResult {
    for_each_backend(|app| async move {
        assert_eq!(app.get("/healthz").await?.status(), StatusCode::OK);
        let ready: Value = app.get("/readyz").await?.json().await?;
        assert_eq!(ready["status"], "ready");

        let openapi: Value = app.get("/openapi.json").await?.json().await?;
        assert_eq!(openapi["openapi"], "3.1.0");
        for path in ["/api/v1/provinces", "/api/v1/provinces/{code}", "/api/v1/provinces/carry-forward", "/api/v1/agencies", "/api/v1/registry/births", "/api/v1/registry/citizens/{id}/residence", "/readyz"] {
            assert!(openapi["paths"][path].is_object(), "OpenAPI documents {path}");
        }

        app.get("/api/v1/provinces/79").await?;
        let metrics = app.get("/metrics").await?.text().await?;
        assert!(
            metrics.contains(r#"lienthong_http_requests_total{method="GET",route="/api/v1/provinces/{code}",status="200"} 1"#),
            "metrics count requests per route template:\n{metrics}"
        );
        assert!(metrics.contains("lienthong_http_request_duration_seconds_bucket"));
        app.stop().await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn responses_carry_request_ids_and_security_headers() -> TestResult {
    for_each_backend(|app| async move {
        let response = app
            .client
            .get(app.url("/"))
            .header("x-request-id", "trace-me-42")
            .send()
            .await?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        assert_eq!(header("x-request-id").as_deref(), Some("trace-me-42"));
        assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
        assert_eq!(header("x-frame-options").as_deref(), Some("DENY"));
        assert!(
            header("content-security-policy").is_some_and(|csp| csp.contains("default-src 'self'"))
        );
        let generated = app.get("/healthz").await?;
        assert!(
            generated
                .headers()
                .get("x-request-id")
                .is_some_and(|v| v.len() == 36),
            "a UUID is generated when none is sent"
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn home_page_speaks_vietnamese_first_and_english_on_request() -> TestResult {
    for_each_backend(|app| async move {
        let home = app.get("/").await?;
        assert_eq!(home.status(), StatusCode::OK);
        let html = home.text().await?;
        assert!(html.contains(r#"<html lang="vi">"#));
        assert!(
            html.contains("Bạn muốn làm gì?"),
            "the start page is by task"
        );
        assert!(
            html.contains(r#"<main id="main""#)
                && html.contains("<nav")
                && html.contains(r#"class="skip""#)
        );
        assert!(html.len() < 50 * 1024, "home page is {} bytes", html.len());

        let switch = app.get("/lang?to=en&next=/reference").await?;
        assert_eq!(switch.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            switch.headers().get(LOCATION).and_then(|v| v.to_str().ok()),
            Some("/reference")
        );
        let cookie = switch
            .headers()
            .get(SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(cookie.starts_with("lang=en;"), "{cookie}");
        let browser = app.browser()?;
        browser.add_cookie("lang=en");
        let english = browser.get("/").send().await?.text().await?;
        assert!(
            english.contains(r#"<html lang="en">"#) && english.contains("What do you want to do?")
        );

        let elsewhere = app.get("/lang?to=en&next=//evil.example/").await?;
        assert_eq!(
            elsewhere
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok()),
            Some("/"),
            "no open redirect"
        );

        let missing = app.get("/no-such-page").await?;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert!(missing.text().await?.contains("Không tìm thấy trang"));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn reference_page_lists_34_current_and_63_former_provinces() -> TestResult {
    for_each_backend(|app| async move {
        let html = app.get("/reference?at=2026-01-01").await?.text().await?;
        assert!(html.len() < 50 * 1024, "reference page is {} bytes", html.len());
        let counts: Vec<&str> = html
            .split("Số đơn vị: <strong>")
            .skip(1)
            .filter_map(|rest| rest.split("</strong>").next())
            .collect();
        assert_eq!(counts, ["34", "63", "17", "22"], "current and former provinces, then ministries");
        let binh_duong_row = html.split("<tr>").find(|row| row.contains(">Bình Dương<")).unwrap_or_default();
        assert!(binh_duong_row.contains("<td>Hồ Chí Minh</td>"), "Bình Dương merged into Hồ Chí Minh: {binh_duong_row}");
        assert!(html.contains("Bình Dương, Bà Rịa - Vũng Tàu, Hồ Chí Minh"));

        let before = app.get("/reference?at=2024-01-01").await?.text().await?;
        let counts: Vec<&str> = before
            .split("Số đơn vị: <strong>")
            .skip(1)
            .filter_map(|rest| rest.split("</strong>").next())
            .collect();
        assert_eq!(counts, ["63", "22"], "on 1 Jan 2024 the 63 provinces and 22 ministries were current, with no earlier period listed");

        // A past date is said as such, not as "currently in force", and the live region
        // htmx refreshes with the tables names the date.
        let past = app.get("/reference?at=2024-06-01").await?.text().await?;
        assert!(past.contains("<h2>Đơn vị hành chính cấp tỉnh có hiệu lực ngày 01/06/2024</h2>"), "{past}");
        assert!(!past.contains("đang có hiệu lực"));
        assert!(past.contains(r#"<p id="catalogue-status" role="status">Đang hiển thị danh mục có hiệu lực ngày 01/06/2024</p>"#));
        assert!(past.contains(r##"hx-select-oob="#catalogue-status:innerHTML""##));
        assert!(past.contains(r#"<script src="/static/htmx.min.js" defer></script>"#), "the page uses htmx");
        let home = app.get("/").await?.text().await?;
        assert!(!home.contains("htmx"), "a page without hx-* loads no htmx");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn province_api_by_date() -> TestResult {
    for_each_backend(|app| async move {
        let now: Value = app
            .get("/api/v1/provinces?at=2025-07-01")
            .await?
            .json()
            .await?;
        assert_eq!(now["count"], 34);
        let then: Value = app
            .get("/api/v1/provinces?at=2025-06-30")
            .await?
            .json()
            .await?;
        assert_eq!(then["count"], 63);
        assert_eq!(then["period"]["until"], "2025-06-30");

        let long_an: Value = app
            .get("/api/v1/provinces/080?at=2025-06-30")
            .await?
            .json()
            .await?;
        assert_eq!(
            (long_an["name_vi"].as_str(), long_an["successor"].as_str()),
            (Some("Long An"), Some("80"))
        );
        let tay_ninh: Value = app
            .get("/api/v1/provinces/80?at=2025-07-01")
            .await?
            .json()
            .await?;
        assert_eq!(tay_ninh["name_vi"], "Tây Ninh");
        assert_eq!(tay_ninh["predecessors"], json!(["72", "80"]));

        let carried: Value = app
            .client
            .post(app.url("/api/v1/provinces/carry-forward"))
            .json(
                &json!({ "recorded_on": "2020-05-01", "at": "2026-01-01", "codes": ["074", "93"] }),
            )
            .send()
            .await?
            .json()
            .await?;
        let names: Vec<_> = carried
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    c["recorded"]["name_vi"].clone(),
                    c["current"]["name_vi"].clone(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                (json!("Bình Dương"), json!("Hồ Chí Minh")),
                (json!("Hậu Giang"), json!("Cần Thơ"))
            ]
        );

        let ministries: Value = app
            .get("/api/v1/agencies?at=2022-06-01")
            .await?
            .json()
            .await?;
        assert_eq!(ministries["count"], 22);
        let bca: Value = app.get("/api/v1/agencies/BCA").await?.json().await?;
        assert_eq!(bca["name_vi"], "Bộ Công an");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn malformed_requests_get_problems_naming_the_fault() -> TestResult {
    for_each_backend(|app| async move {
        let carry = |body: String| {
            app.client
                .post(app.url("/api/v1/provinces/carry-forward"))
                .header(CONTENT_TYPE, "application/json")
                .body(body)
                .send()
        };

        let (status, bad_json) =
            problem(carry(r#"{"recorded_on": "2020-01-01", "codes": ["#.into()).await?).await?;
        assert_eq!(
            (status, bad_json["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("malformed-json"))
        );

        let (status, unknown) =
            problem(carry(r#"{"recorded_on": "2020-01-01", "codes": ["01", "13"]}"#.into()).await?)
                .await?;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            (unknown["code"].as_str(), unknown["field"].as_str()),
            (Some("unknown-province"), Some("codes[1]"))
        );

        let (status, malformed_code) =
            problem(carry(r#"{"recorded_on": "2020-01-01", "codes": ["1x"]}"#.into()).await?)
                .await?;
        assert_eq!(
            (status, malformed_code["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("codes[0]"))
        );

        let (_, wrong_key) =
            problem(carry(r#"{"recorded": "2020-01-01", "codes": []}"#.into()).await?).await?;
        assert_eq!(wrong_key["code"], "invalid-field");

        let oversized = format!(
            r#"{{"recorded_on": "2020-01-01", "codes": [{}"01"]}}"#,
            "\"01\",".repeat(400_000)
        );
        let (status, too_large) = problem(carry(oversized).await?).await?;
        assert_eq!(
            (status, too_large["code"].as_str()),
            (StatusCode::PAYLOAD_TOO_LARGE, Some("body-too-large"))
        );

        let (status, unknown_path) = problem(app.get("/api/v1/provinces/13").await?).await?;
        assert_eq!(
            (
                status,
                unknown_path["code"].as_str(),
                unknown_path["field"].as_str()
            ),
            (
                StatusCode::NOT_FOUND,
                Some("unknown-province"),
                Some("code")
            )
        );
        let (status, bad_code) = problem(app.get("/api/v1/provinces/abc").await?).await?;
        assert_eq!(
            (status, bad_code["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid-province-code"))
        );
        let (status, bad_date) = problem(app.get("/api/v1/provinces?at=yesterday").await?).await?;
        assert_eq!(
            (status, bad_date["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("at"))
        );
        let (status, _) = problem(
            app.client
                .delete(app.url("/api/v1/provinces"))
                .send()
                .await?,
        )
        .await?;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        let (status, _) = problem(app.get("/api/v1/nothing-here").await?).await?;
        assert_eq!(status, StatusCode::NOT_FOUND);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn slow_requests_time_out_with_a_problem() -> TestResult {
    let backend = store::testing::TestBackend::Sqlite;
    let app = TestApp::spawn_with(&backend, |config| config.request_timeout_secs = 1).await?;
    // A body announced but never finished keeps the handler waiting past the timeout.
    let mut stream = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://")).await?;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(b"POST /api/v1/provinces/carry-forward HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{")
        .await?;
    let mut response = Vec::new();
    let mut buffer = [0_u8; 4096];
    while !String::from_utf8_lossy(&response).contains("timeout\"") {
        let read =
            tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut buffer))
                .await??;
        if read == 0 {
            break;
        }
        response.extend_from_slice(buffer.get(..read).unwrap_or_default());
    }
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(
        text.contains(PROBLEM_JSON) && text.contains(r#""code":"timeout""#),
        "{text}"
    );
    Ok(())
}

#[tokio::test]
async fn officials_see_records_with_a_purpose_and_every_view_is_logged() -> TestResult {
    for_each_backend(|app| async move {
        let official = app.sign_in_as(Caller::RegistryOfficer).await?;
        let citizen = app.citizen().await?;
        let subject = &app.resident().await?;
        let id = subject.personal_id;

        let anonymous = app.get(&format!("/api/v1/registry/citizens/{id}?purpose=kiem+tra")).await?;
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        let as_citizen = citizen.get(&format!("/api/v1/registry/citizens/{id}?purpose=xem+cua+toi")).send().await?;
        assert_eq!(problem(as_citizen).await?.0, StatusCode::FORBIDDEN);
        let no_purpose = official.get(&format!("/api/v1/registry/citizens/{id}")).send().await?;
        let (status, body) = problem(no_purpose).await?;
        assert_eq!((status, body["field"].as_str()), (StatusCode::BAD_REQUEST, Some("purpose")));
        assert!(app.state.registry.views_of(id).await?.is_empty(), "refused requests log nothing");

        let page = official.get(&format!("/registry/citizens/{id}?purpose=Giải+quyết+hồ+sơ+số+42")).send().await?;
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await?;
        assert!(html.contains(&subject.full_name) && html.len() < 50 * 1024);
        let views = app.state.registry.views_of(id).await?;
        assert_eq!(views.iter().map(|v| (v.agency.as_str(), v.purpose.as_str())).collect::<Vec<_>>(), [("BCA", "Giải quyết hồ sơ số 42")]);

        let record: Value = official.get(&format!("/api/v1/registry/citizens/{id}?purpose=doi+chieu+ho+so")).send().await?.json().await?;
        assert_eq!(record["version"], 1);
        let mut changed = record["record"].clone();
        changed["occupation"] = json!("Kỹ sư");
        let amend = |version: i64, record: Value| {
            official
                .post(&format!("/api/v1/registry/citizens/{id}/amendments"))
                .json(&json!({ "expected_version": version, "basis": "Đơn đề nghị ngày 20/11/2026", "record": record }))
                .send()
        };
        assert_eq!(amend(1, changed.clone()).await?.status(), StatusCode::OK);
        let (status, stale) = problem(amend(1, changed.clone()).await?).await?;
        assert_eq!((status, stale["code"].as_str()), (StatusCode::CONFLICT, Some("version-conflict")));
        let mut inconsistent = changed;
        inconsistent["sex"] = json!(if subject.sex == kernel::Sex::Male { "female" } else { "male" });
        let (status, invalid) = problem(amend(2, inconsistent).await?).await?;
        assert_eq!((status, invalid["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("personal_id")));
        assert_eq!(app.state.registry.get(id).await?.map(|v| v.version), Some(2), "refused changes change nothing");

        // The citizen sees the view on their own account page.
        let subject = app.sign_in(app.open_account(subject.clone()).await?).await?;
        let account = subject.get("/account").send().await?.text().await?;
        assert!(account.contains("<td>Bộ Công an</td><td>Giải quyết hồ sơ số 42</td>"), "{account}");

        // Sent from another site with the official's cookie, as a forged form would be.
        let forged = app.client.post(app.url(&format!("/registry/citizens/{id}/changes"))).header("cookie", official.cookies()).header("origin", "https://evil.example").form(&[("expected_version", "2"), ("basis", "giả mạo")]).send().await?;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn officials_register_births_and_residence_changes_and_confirm_level_two() -> TestResult {
    for_each_backend(|app| async move {
        let official = app.sign_in_as(Caller::RegistryOfficer).await?;
        let citizen = app.citizen().await?;
        let parent = &app.resident().await?;
        let post = |path: String, browser: &Browser, body: Value| browser.post(&path).json(&body).send();

        let birth = json!({
            "full_name": "Nguyễn Minh Khang",
            "birth_date": "2026-11-20",
            "sex": "male",
            "birth_registration_province": "79",
            "ethnicity": "01",
            "mother": { "full_name": parent.full_name, "personal_id": parent.personal_id.to_string() },
            "basis": "Tờ khai đăng ký khai sinh số 77/2026"
        });
        let registered = post("/api/v1/registry/births".into(), &official, birth.clone()).await?;
        assert_eq!(registered.status(), StatusCode::CREATED);
        let registered: Value = registered.json().await?;
        let child = registered["personal_id"].as_str().ok_or("no number")?.to_owned();
        assert!(child.starts_with("079226"), "Hồ Chí Minh, male born in the 2000s, 2026: {child}");
        let (status, _) = problem(post("/api/v1/registry/births".into(), &citizen, birth.clone()).await?).await?;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let mut future = birth.clone();
        future["birth_date"] = json!("2099-01-01");
        let (status, body) = problem(post("/api/v1/registry/births".into(), &official, future).await?).await?;
        assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("birth_date")));

        let moved = json!({
            "expected_version": 1,
            "kind": "temporary",
            "address": { "province": "01", "detail": "Số 5 Tràng Tiền, phường Hoàn Kiếm" },
            "effective_from": "2026-11-21",
            "basis": "Hồ sơ đăng ký tạm trú số 12"
        });
        let response = post(format!("/api/v1/registry/citizens/{child}/residence"), &official, moved.clone()).await?;
        assert_eq!(response.status(), StatusCode::OK);
        let (status, body) = problem(post(format!("/api/v1/registry/citizens/{child}/residence"), &official, moved).await?).await?;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("version-conflict")));
        let (officer, check) = (registry_officer()?, registry::Purpose::parse("kiểm tra kết quả")?);
        let history = app.state.registry.residence_history(officer.reading(&check), kernel::PersonalId::parse(&child)?).await?;
        assert_eq!(history.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["temporary"]);

        // Level 2 needs the verifier role; the registry officer does not hold it.
        let level2 = format!("/api/v1/identity/accounts/{}/level2", citizen.person.id());
        let (status, _) = problem(post(level2.clone(), &official, json!({})).await?).await?;
        assert_eq!(status, StatusCode::FORBIDDEN);
        app.grant(official.person.id(), Caller::IdentityVerifier).await?;
        assert_eq!(post(level2, &official, json!({})).await?.status(), StatusCode::NO_CONTENT);
        let account = citizen.get("/account").send().await?.text().await?;
        assert!(account.contains("<dd>Mức 2 (đã xác minh trực tiếp tại cơ quan công an)</dd>"), "the citizen's account shows level 2 in words");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn failed_sign_ins_are_limited_per_address() -> TestResult {
    let backend = store::testing::TestBackend::Sqlite;
    let app = TestApp::spawn(&backend).await?;
    let official = app.sign_in_as(Caller::RegistryOfficer).await?;
    app.citizen().await?;
    let sign_in = |id: String, password: &str| {
        app.client
            .post(app.url("/login"))
            .form(&[("personal_id", id), ("password", password.to_owned())])
            .send()
    };
    // Thirty different (unknown) accounts, one password each: a spray, not a guess at one account.
    for n in 0..30 {
        let status = sign_in(format!("0790850{n:05}"), "matkhau123456")
            .await?
            .status();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let held = sign_in(official.person.id().to_string(), &official.person.password).await?;
    assert_eq!(
        held.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    let retry_after: u64 = held
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_default();
    assert!(
        (1..=600).contains(&retry_after),
        "Retry-After {retry_after}"
    );
    Ok(())
}

#[tokio::test]
async fn an_independent_relying_party_signs_in_with_pkce() -> TestResult {
    use openidconnect::core::{
        CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
    };
    use openidconnect::{
        AuthorizationCode, ClientId, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
        PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
    };
    for_each_backend(|app| async move {
        let citizen = app.citizen().await?;
        let person = &citizen.person.record;
        let redirect = "http://127.0.0.1:9/callback";
        let (client_id, _) = app
            .state
            .identity
            .register_client(identity::oidc::NewClient {
                name: "Ngân hàng Thử nghiệm".into(),
                redirect_uris: vec![redirect.into()],
                confidential: false,
                id_token_alg: identity::oidc::IdTokenAlg::Es256,
            })
            .await?;
        let http = openidconnect::reqwest::ClientBuilder::new()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .build()?;
        let metadata =
            CoreProviderMetadata::discover_async(IssuerUrl::new(app.base.clone())?, &http).await?;
        let client =
            CoreClient::from_provider_metadata(metadata, ClientId::new(client_id.clone()), None)
                .set_redirect_uri(RedirectUrl::new(redirect.into())?);

        // The browser signs in, sees the consent screen, allows; returns the code.
        let browse = |verifier_scope: &'static str| {
            let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
            let (url, csrf, nonce) = client
                .authorize_url(
                    CoreAuthenticationFlow::AuthorizationCode,
                    CsrfToken::new_random,
                    Nonce::new_random,
                )
                .add_scope(Scope::new("profile".into()))
                .add_scope(Scope::new(verifier_scope.into()))
                .set_pkce_challenge(challenge)
                .url();
            (url, csrf, nonce, verifier)
        };
        let consent_and_code = |url: openidconnect::url::Url| {
            let citizen = &citizen;
            async move {
                let page = citizen.browser.client().get(url.as_str()).send().await?;
                let mut form: Vec<(String, String)> = url.query_pairs().into_owned().collect();
                if page.status() == StatusCode::OK {
                    let html = page.text().await?;
                    assert!(
                        html.contains("Ngân hàng Thử nghiệm")
                            && html.contains("Họ tên, ngày sinh, giới tính"),
                        "consent lists the client and the claims"
                    );
                    form.push(("decision".into(), "allow".into()));
                    let allowed = citizen.post("/oauth/authorize").form(&form).send().await?;
                    return location_query(&allowed);
                }
                location_query(&page)
            }
        };

        let (url, csrf, nonce, verifier) = browse("personal_id");
        let back = consent_and_code(url).await?;
        assert_eq!(
            back.get("state"),
            Some(csrf.secret()),
            "state returns unchanged"
        );
        let code = back.get("code").ok_or("no code")?.clone();
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.clone()))?
            .set_pkce_verifier(verifier)
            .request_async(&http)
            .await?;
        let id_token = tokens.id_token().ok_or("no ID token")?;
        let claims = id_token.claims(&client.id_token_verifier(), &nonce)?;
        assert_eq!(
            claims.auth_context_ref().map(|acr| acr.as_str()),
            Some("urn:vn:eid:level1")
        );
        let userinfo: CoreUserInfoClaims = client
            .user_info(tokens.access_token().clone(), None)?
            .request_async(&http)
            .await?;
        assert_eq!(
            userinfo
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str()),
            Some(person.full_name.as_str())
        );
        let raw: Value = app
            .client
            .get(app.url("/oauth/userinfo"))
            .bearer_auth(tokens.access_token().secret())
            .send()
            .await?
            .json()
            .await?;
        assert_eq!(raw["personal_id"], person.personal_id.to_string());
        // The claims came from the registry through the exchange, for this relying party: the
        // citizen's data tracker shows the read under its name.
        let tracker = citizen
            .get("/account/data-tracker")
            .send()
            .await?
            .text()
            .await?;
        assert!(
            tracker.contains("Ngân hàng Thử nghiệm (Bộ Công an)")
                && tracker.contains("Đăng nhập bằng định danh điện tử"),
            "{tracker}"
        );

        // Refresh tokens rotate; presenting a spent one revokes the whole family.
        let refresh = tokens.refresh_token().ok_or("no refresh token")?.clone();
        let refreshed = client
            .exchange_refresh_token(&refresh)?
            .request_async(&http)
            .await?;
        let fresh_access = refreshed.access_token().secret().clone();
        assert_eq!(
            app.client
                .get(app.url("/oauth/userinfo"))
                .bearer_auth(&fresh_access)
                .send()
                .await?
                .status(),
            StatusCode::OK
        );
        assert!(
            refreshed
                .refresh_token()
                .is_some_and(|next| next.secret() != refresh.secret())
        );
        assert!(
            client
                .exchange_refresh_token(&refresh)?
                .request_async(&http)
                .await
                .is_err(),
            "a spent refresh token is refused"
        );
        assert_eq!(
            app.client
                .get(app.url("/oauth/userinfo"))
                .bearer_auth(&fresh_access)
                .send()
                .await?
                .status(),
            StatusCode::UNAUTHORIZED,
            "and its family is revoked"
        );

        // The same code again: refused, and the tokens it gave are revoked.
        let reused = client
            .exchange_code(AuthorizationCode::new(code))?
            .set_pkce_verifier(PkceCodeVerifier::new("x".repeat(43)))
            .request_async(&http)
            .await;
        assert!(reused.is_err());
        let revoked = app
            .client
            .get(app.url("/oauth/userinfo"))
            .bearer_auth(tokens.access_token().secret())
            .send()
            .await?;
        assert_eq!(revoked.status(), StatusCode::UNAUTHORIZED);

        // Consent is remembered for this client and scope set: no screen the second time.
        let (url, _, _, _) = browse("personal_id");
        let direct = citizen.browser.client().get(url.as_str()).send().await?;
        assert_eq!(direct.status(), StatusCode::SEE_OTHER);

        // A wrong PKCE verifier, and an expired code.
        let (url, _, _, _) = browse("address");
        let code = consent_and_code(url)
            .await?
            .get("code")
            .cloned()
            .ok_or("no code")?;
        let wrong = client
            .exchange_code(AuthorizationCode::new(code))?
            .set_pkce_verifier(PkceCodeVerifier::new("y".repeat(43)))
            .request_async(&http)
            .await;
        assert!(wrong.is_err(), "a bad verifier is refused");
        let (url, _, _, verifier) = browse("phone");
        let code = consent_and_code(url)
            .await?
            .get("code")
            .cloned()
            .ok_or("no code")?;
        sqlx::query("UPDATE oidc_codes SET expires_at = '2000-01-01T00:00:00.000000Z'")
            .execute(app.state.db.reader())
            .await?;
        let expired = client
            .exchange_code(AuthorizationCode::new(code))?
            .set_pkce_verifier(verifier)
            .request_async(&http)
            .await;
        assert!(expired.is_err(), "an expired code is refused");

        // A redirect URI that is not registered exactly: an error page, never a redirect.
        let (url, _, _, _) = browse("profile");
        let tampered = url.as_str().replace(
            "127.0.0.1%3A9%2Fcallback",
            "127.0.0.1%3A9%2Fcallback%2Fother",
        );
        assert_ne!(tampered, url.as_str());
        let refused = citizen.browser.client().get(&tampered).send().await?;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        Ok(())
    })
    .await
}

fn location_query(
    response: &reqwest::Response,
) -> Result<std::collections::HashMap<String, String>, Box<dyn std::error::Error + Send + Sync>> {
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or("no redirect")?;
    let url = reqwest::Url::parse(location)?;
    Ok(url.query_pairs().into_owned().collect())
}

/// A form sent back as a page (never a problem document) marking `field` as the one at fault.
async fn assert_page_marks_field(
    response: reqwest::Response,
    field: &str,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = response.text().await?;
    assert!(
        html.contains(&format!(r##"href="#{field}""##))
            && html.contains(&format!(r#"id="{field}-error""#)),
        "{field} is not marked: {html}"
    );
    Ok(())
}

#[tokio::test]
async fn officials_record_residence_changes_from_the_citizen_page() -> TestResult {
    for_each_backend(|app| async move {
        let official = app.sign_in_as(Caller::RegistryOfficer).await?;
        let citizen = app.resident().await?.personal_id;
        let version = app
            .state
            .registry
            .get(citizen)
            .await?
            .ok_or("no record")?
            .version;
        let form = |province: &str| {
            [
                ("expected_version", version.to_string()),
                ("kind", "permanent".to_owned()),
                ("province", province.to_owned()),
                ("address", "Số 5, phường Sài Gòn".to_owned()),
                ("effective_from", "2026-11-01".to_owned()),
                ("basis", "Hồ sơ đăng ký thường trú số 12".to_owned()),
                ("purpose", "Đăng ký cư trú".to_owned()),
            ]
        };
        let send = |fields: [(&'static str, String); 7]| {
            official
                .post(&format!("/registry/citizens/{citizen}/residence"))
                .form(&fields)
                .send()
        };
        let refused = send(form("ab")).await?;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_page_marks_field(refused, "province").await?;
        let (officer, check) = (
            registry_officer()?,
            registry::Purpose::parse("kiểm tra kết quả")?,
        );
        assert!(
            app.state
                .registry
                .residence_history(officer.reading(&check), citizen)
                .await?
                .is_empty(),
            "nothing written"
        );

        let done = send(form("79")).await?;
        assert_eq!(done.status(), StatusCode::SEE_OTHER);
        let history = app
            .state
            .registry
            .residence_history(officer.reading(&check), citizen)
            .await?;
        assert_eq!(history.len(), 1);
        let record = app.state.registry.get(citizen).await?.ok_or("no record")?;
        assert_eq!(record.version, version + 1);
        assert_eq!(
            record
                .record
                .permanent_residence
                .map(|a| a.province.to_string())
                .as_deref(),
            Some("79")
        );
        app.stop().await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn officials_register_a_birth_from_a_page_and_the_number_is_issued() -> TestResult {
    for_each_backend(|app| async move {
        let official = app.sign_in_as(Caller::RegistryOfficer).await?;
        let citizen = app.citizen().await?;
        let page = official.get("/registry/births").send().await?;
        assert_eq!(page.status(), StatusCode::OK);
        let refused = citizen.get("/registry/births").send().await?;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        let send = |birth_date: &'static str, step: &'static str| {
            official
                .post("/registry/births")
                .form(&[
                    ("full_name", "Nguyễn Thảo Vy"),
                    ("birth_date", birth_date),
                    ("sex", "female"),
                    ("birth_registration_province", "79"),
                    ("basis", "Tờ khai đăng ký khai sinh số 88"),
                    ("step", step),
                ])
                .send()
        };
        let refused = send("2026-13-01", "check").await?;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_page_marks_field(refused, "birth_date").await?;
        let before = app.state.registry.count().await?;
        let check = send("2026-11-20", "check").await?;
        assert_eq!(check.status(), StatusCode::OK);
        assert!(check.text().await?.contains("Kiểm tra thông tin"));
        assert_eq!(
            app.state.registry.count().await?,
            before,
            "nothing is issued before the official confirms"
        );
        let registered = send("2026-11-20", "confirm").await?;
        assert_eq!(registered.status(), StatusCode::SEE_OTHER);
        let location = registered
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or("no location")?;
        let id = location
            .strip_prefix("/registry/citizens/")
            .and_then(|rest| rest.split('?').next())
            .ok_or("not a record")?;
        let issued = kernel::PersonalId::parse(id)?;
        assert_eq!(issued.province().to_string(), "79");
        let record = app.state.registry.get(issued).await?.ok_or("no record")?;
        assert_eq!(record.record.full_name, "Nguyễn Thảo Vy");
        app.stop().await?;
        Ok(())
    })
    .await
}
