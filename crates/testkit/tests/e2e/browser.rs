//! "Log in with national e-ID" in a real browser: headless Chromium, driven over WebDriver,
//! starts at a relying party on another origin, signs in, consents, and must land back on
//! the relying party's callback, which exchanges the code and checks the ID token. Every
//! Content-Security-Policy and redirect rule a browser enforces applies here, as in Chrome.
//!
//! Needs /usr/bin/chromium and /usr/bin/chromedriver; without them the test says so and
//! passes, unless `LIENTHONG_TEST_BROWSER=1` (CI) demands the browser.

#![allow(clippy::indexing_slicing)] // JSON values indexed by name: a missing one is Null, never a panic

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fantoccini::{Client, Locator};
use p256::ecdsa::signature::Verifier;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use testkit::{TestResult, for_each_backend};
use tokio::net::TcpListener;

use super::chromium::{Failure, browser_present, chromedriver, headless_chromium};

/// What the relying party remembers between sending the browser off and its return.
#[derive(Default)]
struct Pending {
    verifier: String,
    state: String,
    nonce: String,
}

#[derive(Clone)]
struct RelyingParty {
    issuer: String,
    client_id: String,
    redirect_uri: String,
    pending: Arc<Mutex<Pending>>,
    http: reqwest::Client,
}

fn random() -> String {
    let mut bytes = [0_u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `GET /start`: the "log in with national e-ID" button.
async fn start(State(rp): State<RelyingParty>) -> Response {
    let pending = Pending {
        verifier: random(),
        state: random(),
        nonce: random(),
    };
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(pending.verifier.as_bytes()));
    let query = [
        ("response_type", "code"),
        ("client_id", rp.client_id.as_str()),
        ("redirect_uri", rp.redirect_uri.as_str()),
        ("scope", "openid profile"),
        ("state", pending.state.as_str()),
        ("nonce", pending.nonce.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let Ok(authorize) =
        reqwest::Url::parse_with_params(&format!("{}/oauth/authorize", rp.issuer), query)
    else {
        return Html("bad issuer").into_response();
    };
    if let Ok(mut slot) = rp.pending.lock() {
        *slot = pending;
    }
    Redirect::to(authorize.as_str()).into_response()
}

/// `GET /callback`: exchanges the code and checks the ID token; the page says who came back.
async fn callback(
    State(rp): State<RelyingParty>,
    Query(query): Query<HashMap<String, String>>,
) -> Html<String> {
    match finish(&rp, &query).await {
        Ok(subject) => Html(format!("<p id=\"result\">signed in: {subject}</p>")),
        Err(error) => Html(format!("<p id=\"result\">refused: {error}</p>")),
    }
}

async fn finish(rp: &RelyingParty, query: &HashMap<String, String>) -> Result<String, Failure> {
    let (verifier, state, nonce) = {
        let pending = rp.pending.lock().map_err(|_| "lock")?;
        (
            pending.verifier.clone(),
            pending.state.clone(),
            pending.nonce.clone(),
        )
    };
    if query.get("state") != Some(&state) {
        return Err(format!("state differs: {query:?}").into());
    }
    let code = query.get("code").ok_or("no code")?;
    let tokens: Value = rp
        .http
        .post(format!("{}/oauth/token", rp.issuer))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &rp.redirect_uri),
            ("code_verifier", &verifier),
            ("client_id", &rp.client_id),
        ])
        .send()
        .await?
        .json()
        .await?;
    let id_token = tokens["id_token"].as_str().ok_or("no id_token")?;
    let claims = verified_claims(rp, id_token).await?;
    let expected = json!({ "iss": rp.issuer, "aud": rp.client_id, "nonce": nonce });
    for name in ["iss", "aud", "nonce"] {
        if claims[name] != expected[name] {
            return Err(format!("{name} is {}", claims[name]).into());
        }
    }
    Ok(claims["sub"].as_str().unwrap_or_default().to_owned())
}

/// The ID token's claims once its ES256 signature verifies with a key of the JWKS.
async fn verified_claims(rp: &RelyingParty, token: &str) -> Result<Value, Failure> {
    let (signing_input, signature) = token.rsplit_once('.').ok_or("no signature")?;
    let (header, payload) = signing_input.split_once('.').ok_or("no payload")?;
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header)?)?;
    let jwks: Value = rp
        .http
        .get(format!("{}/oauth/jwks", rp.issuer))
        .send()
        .await?
        .json()
        .await?;
    let key = jwks["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"] == header["kid"]))
        .ok_or("kid not in the JWKS")?;
    let coordinate = |name: &str| -> Result<Vec<u8>, Failure> {
        Ok(URL_SAFE_NO_PAD.decode(key[name].as_str().ok_or("no coordinate")?)?)
    };
    let mut point = vec![4_u8];
    point.extend(coordinate("x")?);
    point.extend(coordinate("y")?);
    let verifying = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point)?;
    let signature = p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature)?)?;
    verifying.verify(signing_input.as_bytes(), &signature)?;
    Ok(serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload)?)?)
}

/// Waits until the page shows the relying party's result and returns its text.
async fn result_text(browser: &Client) -> Result<String, Failure> {
    let found = browser
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Id("result"))
        .await;
    match found {
        Ok(element) => Ok(element.text().await?),
        Err(error) => Err(format!(
            "the browser never returned to the relying party ({error}); it is at {}",
            browser.current_url().await?
        )
        .into()),
    }
}

#[tokio::test]
async fn a_browser_signs_in_at_a_relying_party_on_another_origin() -> TestResult {
    if !browser_present()? {
        return Ok(());
    }
    for_each_backend(|app| async move {
        let person = app.open_account(app.resident().await?).await?;
        let citizen = person.id().to_string();

        // The relying party: localhost, another origin than the provider's 127.0.0.1.
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let rp_base = format!("http://localhost:{}", listener.local_addr()?.port());
        let redirect_uri = format!("{rp_base}/callback");
        let (client_id, _) = app
            .state
            .identity
            .register_client(identity::oidc::NewClient {
                name: "Ngân hàng Thử nghiệm".into(),
                redirect_uris: vec![redirect_uri.clone()],
                confidential: false,
                id_token_alg: identity::oidc::IdTokenAlg::Es256,
            })
            .await?;
        let rp = RelyingParty {
            issuer: app.base.clone(),
            client_id,
            redirect_uri,
            pending: Arc::default(),
            http: reqwest::Client::new(),
        };
        let rp_app = axum::Router::new()
            .route("/start", axum::routing::get(start))
            .route("/callback", axum::routing::get(callback))
            .with_state(rp);
        let rp_server = tokio::spawn(async move { axum::serve(listener, rp_app).await });

        let (_driver, driver_url) = chromedriver().await?;
        let profile = tempfile::tempdir()?;
        let browser = headless_chromium(&driver_url, profile.path(), 1280).await?;
        let outcome = async {
            // First visit: sign in, then the consent screen, then back to the relying party.
            browser.goto(&format!("{rp_base}/start")).await?;
            browser
                .find(Locator::Id("personal_id"))
                .await?
                .send_keys(&citizen)
                .await?;
            browser
                .find(Locator::Id("password"))
                .await?
                .send_keys(&person.password)
                .await?;
            browser
                .find(Locator::Css("form[action='/login'] button[type=submit]"))
                .await?
                .click()
                .await?;
            browser
                .wait()
                .at_most(Duration::from_secs(15))
                .for_element(Locator::Css("button[name=decision][value=allow]"))
                .await?
                .click()
                .await?;
            let first = result_text(&browser).await?;
            assert!(first.starts_with("signed in: "), "{first}");

            // Second visit in a new browser session: consent is remembered, so the login form
            // itself leads back to the relying party.
            // (WebDriver deletes the cookies of the page's own site: the provider's session.)
            browser.goto(&app.url("/")).await?;
            browser.delete_all_cookies().await?;
            browser.goto(&format!("{rp_base}/start")).await?;
            browser
                .find(Locator::Id("personal_id"))
                .await?
                .send_keys(&citizen)
                .await?;
            browser
                .find(Locator::Id("password"))
                .await?
                .send_keys(&person.password)
                .await?;
            browser
                .find(Locator::Css("form[action='/login'] button[type=submit]"))
                .await?
                .click()
                .await?;
            let second = result_text(&browser).await?;
            assert_eq!(second, first, "the same person comes back");
            Ok::<(), Failure>(())
        }
        .await;
        browser.close().await?;
        rp_server.abort();
        app.stop().await?;
        outcome
    })
    .await
}
