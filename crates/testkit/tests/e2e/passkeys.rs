//! Passkeys over HTTP: a software authenticator (P-256, "none" attestation, written from the
//! WebAuthn specification) registers and signs in against the real server, as a browser at
//! http://localhost:<port> would, and is refused where a phishing site or a replay would be.

use identity::testing::SoftPasskey;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, SET_COOKIE};
use serde_json::{Value, json};
use testkit::{LOCALHOST, TestApp, TestResult, for_each_backend_with};

use super::problem;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The server as a browser reaches it for passkeys: by the name localhost, since an IP
/// address cannot be a WebAuthn RP ID.
fn localhost(app: &TestApp) -> String {
    app.base.replace("127.0.0.1", "localhost")
}

async fn post_json(
    app: &TestApp,
    path: &str,
    cookie: Option<&str>,
    body: Value,
) -> Result<reqwest::Response, Error> {
    let origin = localhost(app);
    let mut request = app
        .client
        .post(format!("{origin}{path}"))
        .header("origin", &origin)
        .json(&body);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    Ok(request.send().await?)
}

/// Starts a sign-in and answers it from `origin`; returns the body to finish with.
async fn signed_answer(
    app: &TestApp,
    passkey: &mut SoftPasskey,
    origin: &str,
) -> Result<Value, Error> {
    let start = post_json(
        app,
        "/api/v1/identity/passkeys/sign-in/start",
        None,
        json!({}),
    )
    .await?;
    assert_eq!(start.status(), StatusCode::OK);
    let challenge: Value = start.json().await?;
    let options = challenge.get("options").ok_or("no options")?;
    let credential = passkey.sign_in(options, origin)?;
    Ok(json!({
        "ceremony": challenge.get("ceremony"),
        "credential": credential,
        "next": "/account"
    }))
}

async fn finish(app: &TestApp, body: Value) -> Result<reqwest::Response, Error> {
    post_json(app, "/api/v1/identity/passkeys/sign-in/finish", None, body).await
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

#[tokio::test]
async fn a_citizen_registers_a_passkey_and_signs_in_with_it() -> TestResult {
    let on_localhost =
        |config: &mut server::Config| config.identity.public_url = Some(LOCALHOST.into());
    for_each_backend_with(on_localhost, |app| async move {
        let citizen = app.citizen().await?.cookies();
        let origin = localhost(&app);

        // Register from /account (the script's two calls).
        let start = post_json(
            &app,
            "/api/v1/identity/passkeys/register/start",
            Some(&citizen),
            json!({ "name": "Điện thoại của Lan" }),
        )
        .await?;
        assert_eq!(start.status(), StatusCode::CREATED);
        let challenge: Value = start.json().await?;
        assert_eq!(challenge["options"]["publicKey"]["rp"]["id"], "localhost");
        assert_eq!(
            challenge["options"]["publicKey"]["authenticatorSelection"]["residentKey"],
            "required"
        );
        let (mut passkey, credential) = SoftPasskey::register(&challenge["options"], &origin)?;
        let done = post_json(
            &app,
            "/api/v1/identity/passkeys/register/finish",
            Some(&citizen),
            json!({ "ceremony": challenge["ceremony"], "credential": credential }),
        )
        .await?;
        assert_eq!(done.status(), StatusCode::CREATED);
        let listed: Value = done.json().await?;
        assert_eq!(
            (listed["id"].as_str(), listed["name"].as_str()),
            (Some(passkey.id().as_str()), Some("Điện thoại của Lan"))
        );
        let account = app
            .client
            .get(app.url("/account"))
            .header("cookie", &citizen)
            .send()
            .await?
            .text()
            .await?;
        assert!(
            account.contains("<td>Điện thoại của Lan</td>") && account.contains("Chưa dùng"),
            "{account}"
        );

        // Sign in without typing anything: a complete session, no code asked.
        let signed_in = finish(&app, signed_answer(&app, &mut passkey, &origin).await?).await?;
        assert_eq!(signed_in.status(), StatusCode::OK);
        let cookie = session_cookie(&signed_in).ok_or("no session cookie")?;
        let body: Value = signed_in.json().await?;
        assert_eq!(body["redirect"], "/account");
        let account = app
            .client
            .get(app.url("/account"))
            .header("cookie", &cookie)
            .send()
            .await?;
        assert_eq!(account.status(), StatusCode::OK);
        let account = account.text().await?;
        assert!(
            account.contains("<td>Khóa truy cập (passkey)</td>"),
            "the session list names the method: {account}"
        );
        assert!(!account.contains("Chưa dùng"), "last use is shown");

        // A phishing site's origin, a replayed answer, an unknown passkey: refused.
        let phished = finish(
            &app,
            signed_answer(&app, &mut passkey, "http://localhost.evil.example").await?,
        )
        .await?;
        let (status, body) = problem(phished).await?;
        assert_eq!(
            (status, body["code"].as_str(), body["field"].as_str()),
            (
                StatusCode::UNAUTHORIZED,
                Some("passkey-refused"),
                Some("credential")
            )
        );
        let answer = signed_answer(&app, &mut passkey, &origin).await?;
        assert_eq!(finish(&app, answer.clone()).await?.status(), StatusCode::OK);
        let (status, _) = problem(finish(&app, answer).await?).await?;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "the challenge was used up"
        );
        let unregistered = post_json(
            &app,
            "/api/v1/identity/passkeys/register/start",
            Some(&citizen),
            json!({ "name": "Bỏ dở" }),
        )
        .await?
        .json::<Value>()
        .await?;
        let (mut stranger, _) = SoftPasskey::register(&unregistered["options"], &origin)?;
        let (status, _) =
            problem(finish(&app, signed_answer(&app, &mut stranger, &origin).await?).await?)
                .await?;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // Removed from /account with a plain form: it signs nobody in from then on.
        let answer = signed_answer(&app, &mut passkey, &origin).await?;
        let removed = app
            .client
            .post(app.url(&format!("/account/passkeys/{}/remove", passkey.id())))
            .header("cookie", &citizen)
            .send()
            .await?;
        assert_eq!(removed.status(), StatusCode::SEE_OTHER);
        let (status, _) = problem(finish(&app, answer).await?).await?;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        Ok(())
    })
    .await
}

#[tokio::test]
async fn the_login_page_works_without_javascript_and_serves_the_passkey_script() -> TestResult {
    let app = TestApp::spawn(&store::testing::TestBackend::Sqlite).await?;
    // Its public address is an IP address: the site cannot offer passkeys and says why.
    let by_ip = app
        .client
        .post(app.url("/api/v1/identity/passkeys/sign-in/start"))
        .json(&json!({}))
        .send()
        .await?;
    let (status, body) = problem(by_ip).await?;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("passkeys-unavailable"))
    );
    let login = app.get("/login").await?.text().await?;
    assert!(
        login.contains(r#"<form method="post" action="/login""#),
        "password sign-in is a plain form"
    );
    assert!(
        login.contains(r#"data-passkey="sign-in""#)
            && login.contains(r#"<script src="/static/passkeys.js" defer></script>"#)
    );
    let script = app.get("/static/passkeys.js").await?;
    assert_eq!(script.status(), StatusCode::OK);
    assert_eq!(
        script
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("text/javascript; charset=utf-8")
    );
    assert!(script.text().await?.contains("navigator.credentials.get"));
    app.stop().await?;
    Ok(())
}

#[tokio::test]
async fn passkeys_are_bound_to_the_configured_public_url() -> TestResult {
    let app = TestApp::spawn_with(&store::testing::TestBackend::Sqlite, |config| {
        config.identity.public_url = Some("https://eid.example.gov.vn".into());
    })
    .await?;
    let citizen = app.citizen().await?.cookies();
    let start = |cookie: &str| {
        app.client
            .post(app.url("/api/v1/identity/passkeys/register/start"))
            .header("cookie", cookie)
            .json(&json!({ "name": "Khóa bảo mật" }))
            .send()
    };
    let challenge: Value = start(&citizen).await?.json().await?;
    assert_eq!(
        challenge["options"]["publicKey"]["rp"]["id"],
        "eid.example.gov.vn"
    );
    let finish = |challenge: &Value, credential: Value| {
        app.client
            .post(app.url("/api/v1/identity/passkeys/register/finish"))
            .header("cookie", &citizen)
            .json(&json!({ "ceremony": challenge["ceremony"], "credential": credential }))
            .send()
    };
    // The request's own host does not count once a public URL is configured.
    let (_, from_host) = SoftPasskey::register(&challenge["options"], &app.base)?;
    assert_eq!(
        finish(&challenge, from_host).await?.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let challenge: Value = start(&citizen).await?.json().await?;
    let (_, right) = SoftPasskey::register(&challenge["options"], "https://eid.example.gov.vn")?;
    assert_eq!(
        finish(&challenge, right).await?.status(),
        StatusCode::CREATED
    );
    app.stop().await?;
    Ok(())
}
