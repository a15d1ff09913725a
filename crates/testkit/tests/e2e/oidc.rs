//! The OpenID Connect provider as relying parties use it over HTTP: revocation, recovery,
//! prompts, logout, headers and signing algorithms.

#![allow(clippy::indexing_slicing)] // JSON values indexed by name: a missing one is Null, never a panic

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use identity::oidc::IdTokenAlg;
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::Value;
use sha2::{Digest, Sha256};
use testkit::{Browser, Caller, TestApp, TestResult, for_each_backend};

type Failure = Box<dyn std::error::Error + Send + Sync>;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// A registered relying party.
struct RelyingParty {
    client_id: String,
    secret: Option<String>,
}

async fn relying_party(app: &TestApp, confidential: bool) -> Result<RelyingParty, Failure> {
    relying_party_signed_with(app, confidential, IdTokenAlg::Es256).await
}

async fn relying_party_signed_with(
    app: &TestApp,
    confidential: bool,
    id_token_alg: IdTokenAlg,
) -> Result<RelyingParty, Failure> {
    let (client_id, secret) = app
        .state
        .identity
        .register_client(identity::oidc::NewClient {
            name: "Ngân hàng Thử nghiệm".into(),
            redirect_uris: vec![REDIRECT.into()],
            confidential,
            id_token_alg,
        })
        .await?;
    Ok(RelyingParty { client_id, secret })
}

/// The query of a redirect's `Location`.
fn redirect_query(response: &reqwest::Response) -> Result<HashMap<String, String>, Failure> {
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or("no redirect")?;
    let url = reqwest::Url::parse(location)?;
    Ok(url.query_pairs().into_owned().collect())
}

/// A PKCE verifier and its S256 challenge (RFC 7636 §4.2).
fn pkce() -> (String, String) {
    let mut bytes = [0_u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The authorization request's query for `rp`, with `extra` parameters.
fn authorize_query(
    rp: &RelyingParty,
    challenge: &str,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut query: Vec<(String, String)> = [
        ("response_type", "code"),
        ("client_id", rp.client_id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", "openid profile phone"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    query.dedup_by(|later, earlier| later.0 == earlier.0);
    query
}

/// Signs the person signed in in `browser` in to `rp` (allowing on the consent screen when
/// shown) and returns the query the browser brings back, and the PKCE verifier.
async fn authorize(
    browser: &Browser,
    rp: &RelyingParty,
    extra: &[(&str, &str)],
) -> Result<(HashMap<String, String>, String), Failure> {
    let (verifier, challenge) = pkce();
    let query = authorize_query(rp, &challenge, extra);
    let page = browser.get("/oauth/authorize").query(&query).send().await?;
    if page.status() != StatusCode::OK {
        return Ok((redirect_query(&page)?, verifier));
    }
    // The consent form as the browser submits it: its hidden fields, as the page has them.
    let html = page.text().await?;
    let mut form = hidden_fields(&html);
    form.push(("decision".into(), "allow".into()));
    let allowed = browser.post("/oauth/authorize").form(&form).send().await?;
    Ok((redirect_query(&allowed)?, verifier))
}

/// The hidden inputs of a page's form (values without markup, as the tests send them).
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .filter_map(|rest| {
            let (name, rest) = rest.split_once('"')?;
            let value = rest.split("value=\"").nth(1)?.split('"').next()?;
            Some((name.to_owned(), value.to_owned()))
        })
        .collect()
}

/// A token request from `rp`, with its secret when it has one.
async fn token(
    app: &TestApp,
    rp: &RelyingParty,
    form: &[(&str, &str)],
) -> Result<reqwest::Response, Failure> {
    let mut form: Vec<(&str, &str)> = form.to_vec();
    form.push(("client_id", &rp.client_id));
    if let Some(secret) = &rp.secret {
        form.push(("client_secret", secret));
    }
    Ok(app
        .client
        .post(app.url("/oauth/token"))
        .form(&form)
        .send()
        .await?)
}

/// Signs in to `rp` and exchanges the code: the token response.
async fn tokens(app: &TestApp, browser: &Browser, rp: &RelyingParty) -> Result<Value, Failure> {
    let (back, verifier) = authorize(browser, rp, &[("state", "s1")]).await?;
    let code = back.get("code").ok_or("no code")?;
    let response = token(
        app,
        rp,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await?;
    assert_eq!(response.status(), StatusCode::OK);
    Ok(response.json().await?)
}

fn field<'a>(tokens: &'a Value, name: &str) -> Result<&'a str, Failure> {
    Ok(tokens[name].as_str().ok_or(format!("no {name}"))?)
}

async fn userinfo_status(app: &TestApp, access_token: &str) -> Result<StatusCode, Failure> {
    Ok(app
        .client
        .get(app.url("/oauth/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await?
        .status())
}

async fn refresh(
    app: &TestApp,
    rp: &RelyingParty,
    refresh_token: &str,
) -> Result<reqwest::Response, Failure> {
    token(
        app,
        rp,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

#[tokio::test]
async fn a_revoked_refresh_token_no_longer_refreshes_nor_its_access_tokens() -> TestResult {
    for_each_backend(|app| async move {
        let citizen = app.citizen().await?;
        let rp = relying_party(&app, true).await?;
        let issued = tokens(&app, &citizen, &rp).await?;
        let refresh_token = field(&issued, "refresh_token")?;
        let mut form = vec![
            ("token", refresh_token),
            ("client_id", rp.client_id.as_str()),
        ];
        if let Some(secret) = &rp.secret {
            form.push(("client_secret", secret));
        }
        let revoked = app
            .client
            .post(app.url("/oauth/revoke"))
            .form(&form)
            .send()
            .await?;
        assert_eq!(revoked.status(), StatusCode::OK);
        let refused = refresh(&app, &rp, refresh_token).await?;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "RFC 7009 §2.1");
        assert_eq!(
            userinfo_status(&app, field(&issued, "access_token")?).await?,
            StatusCode::UNAUTHORIZED,
            "the access tokens of the same grant go too (RFC 7009 §2.1)"
        );
        app.stop().await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn recovery_in_person_ends_every_token_of_the_account() -> TestResult {
    for_each_backend(|app| async move {
        let citizen = app.citizen().await?;
        let person = citizen.person.id();
        let rp = relying_party(&app, false).await?;
        let issued = tokens(&app, &citizen, &rp).await?;
        let verifier = app.sign_in_as(Caller::IdentityVerifier).await?.person;
        let official = app
            .state
            .identity
            .login(&verifier.id().to_string(), &verifier.password, "test", None)
            .await?;
        let official = app
            .state
            .identity
            .principal(official.token())
            .await?
            .ok_or("no official")?;
        let code = app
            .state
            .identity
            .issue_recovery_code(person, &official)
            .await?;
        app.state
            .identity
            .recover(
                &person.to_string(),
                &code,
                "mật khẩu mới sau khi mất 2026".into(),
                None,
            )
            .await?;
        assert_eq!(
            userinfo_status(&app, field(&issued, "access_token")?).await?,
            StatusCode::UNAUTHORIZED,
            "the old access token is dead"
        );
        let refused = refresh(&app, &rp, field(&issued, "refresh_token")?).await?;
        assert_eq!(
            refused.status(),
            StatusCode::BAD_REQUEST,
            "the old refresh token is dead"
        );
        app.stop().await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_refresh_token_presented_by_another_client_is_not_spent() -> TestResult {
    for_each_backend(|app| async move {
        let citizen = app.citizen().await?;
        let owner = relying_party(&app, false).await?;
        let other = relying_party(&app, false).await?;
        let issued = tokens(&app, &citizen, &owner).await?;
        let refresh_token = field(&issued, "refresh_token")?;
        let refused = refresh(&app, &other, refresh_token).await?;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        let refreshed = refresh(&app, &owner, refresh_token).await?;
        assert_eq!(
            refreshed.status(),
            StatusCode::OK,
            "the owner's token still works after another client showed it"
        );
        assert_eq!(
            userinfo_status(&app, field(&issued, "access_token")?).await?,
            StatusCode::OK,
            "and nothing was revoked"
        );
        app.stop().await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn token_and_userinfo_speak_http_as_rfc_6749_and_6750_say() -> TestResult {
    for_each_backend(|app| async move {
        let citizen = app.citizen().await?;
        let rp = relying_party(&app, true).await?;

        // RFC 6749 §5.2: a failed client authentication answers 401 with WWW-Authenticate.
        let wrong = RelyingParty {
            client_id: rp.client_id.clone(),
            secret: Some("not the secret".into()),
        };
        let refused = token(
            &app,
            &wrong,
            &[("grant_type", "refresh_token"), ("refresh_token", "x")],
        )
        .await?;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert!(
            refused.headers().get("www-authenticate").is_some(),
            "401 invalid_client names the scheme"
        );

        // §5.1: token responses are not cached, by HTTP/1.0 caches either.
        let (back, verifier) = authorize(&citizen, &rp, &[]).await?;
        assert!(
            !back.contains_key("state"),
            "no state sent, none echoed: {back:?}"
        );
        let issued = token(
            &app,
            &rp,
            &[
                ("grant_type", "authorization_code"),
                ("code", back.get("code").ok_or("no code")?),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &verifier),
            ],
        )
        .await?;
        assert_eq!(
            issued.headers().get("pragma").and_then(|v| v.to_str().ok()),
            Some("no-cache")
        );
        let issued: Value = issued.json().await?;
        let claims = id_token_claims(field(&issued, "id_token")?)?;
        assert!(
            claims.get("nonce").is_none(),
            "no nonce sent, none echoed: {claims}"
        );

        // RFC 7235 §2.1: the scheme name is case-insensitive.
        let claims: Value = app
            .client
            .get(app.url("/oauth/userinfo"))
            .header(
                "authorization",
                format!("bearer {}", field(&issued, "access_token")?),
            )
            .send()
            .await?
            .json()
            .await?;
        // OIDC Core §5.1: phone_number in E.164.
        let record = app
            .state
            .registry
            .get(citizen.person.id())
            .await?
            .ok_or("no record")?;
        let phone = record
            .record
            .phone
            .ok_or("the fixture citizen has a phone")?;
        let national = phone
            .strip_prefix('0')
            .or(phone.strip_prefix("+84"))
            .ok_or("phone")?;
        assert_eq!(claims["phone_number"], format!("+84{national}"));
        app.stop().await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn browser_based_clients_may_call_the_provider_across_origins() -> TestResult {
    for_each_backend(|app| async move {
        let citizen = app.citizen().await?;
        let rp = relying_party(&app, false).await?;
        let spa = "http://localhost:5173";
        for path in ["/.well-known/openid-configuration", "/oauth/jwks"] {
            let response = app
                .client
                .get(app.url(path))
                .header("origin", spa)
                .send()
                .await?;
            assert_eq!(
                response
                    .headers()
                    .get("access-control-allow-origin")
                    .and_then(|v| v.to_str().ok()),
                Some("*"),
                "{path}"
            );
        }
        for path in ["/oauth/token", "/oauth/userinfo"] {
            let preflight = app
                .client
                .request(reqwest::Method::OPTIONS, app.url(path))
                .header("origin", spa)
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "authorization, content-type",
                )
                .send()
                .await?;
            assert!(
                preflight.status().is_success(),
                "{path}: {}",
                preflight.status()
            );
            let allowed = preflight
                .headers()
                .get("access-control-allow-headers")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_ascii_lowercase();
            assert!(allowed.contains("authorization"), "{path}: {allowed}");
        }
        // The code exchange as a browser sends it from the client's own origin.
        let (back, verifier) = authorize(&citizen, &rp, &[("state", "s")]).await?;
        let exchanged = app
            .client
            .post(app.url("/oauth/token"))
            .header("origin", spa)
            .header("sec-fetch-site", "cross-site")
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", back.get("code").ok_or("no code")?.as_str()),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &verifier),
                ("client_id", &rp.client_id),
            ])
            .send()
            .await?;
        assert_eq!(exchanged.status(), StatusCode::OK);
        assert!(
            exchanged
                .headers()
                .get("access-control-allow-origin")
                .is_some()
        );
        app.stop().await?;
        Ok(())
    })
    .await
}

/// The claims of a compact JWS, unverified (the tests check what was issued).
fn id_token_claims(token: &str) -> Result<Value, Failure> {
    let payload = token.split('.').nth(1).ok_or("not a JWS")?;
    Ok(serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload)?)?)
}

#[tokio::test]
async fn the_issuer_never_comes_from_the_host_header() -> TestResult {
    // A server without public_url does not start: its issuer would be whatever Host says.
    let backend = store::testing::TestBackend::Sqlite;
    let database = backend.fresh().await?;
    let scratch = tempfile::tempdir()?;
    let config = server::Config {
        db: Some(server::config::DatabaseTarget::new(database.target.clone())),
        data_dir: scratch.path().to_path_buf(),
        identity: server::config::IdentityConfig {
            public_url: None,
            ..server::config::IdentityConfig::default()
        },
        ..server::Config::default()
    };
    let refused = server::build_state(&config)
        .await
        .err()
        .ok_or("started without public_url")?;
    assert!(format!("{refused:#}").contains("public_url"), "{refused:#}");

    for_each_backend(|app| async move {
        let citizen = app.citizen().await?;
        let forged = "evil.example";
        let discovery: Value = app
            .client
            .get(app.url("/.well-known/openid-configuration"))
            .header("host", forged)
            .send()
            .await?
            .json()
            .await?;
        assert_eq!(discovery["issuer"], app.base.as_str());
        let rp = relying_party(&app, false).await?;
        let (back, verifier) = authorize(&citizen, &rp, &[]).await?;
        let issued: Value = app
            .client
            .post(app.url("/oauth/token"))
            .header("host", forged)
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", back.get("code").ok_or("no code")?.as_str()),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &verifier),
                ("client_id", &rp.client_id),
            ])
            .send()
            .await?
            .json()
            .await?;
        let claims = id_token_claims(field(&issued, "id_token")?)?;
        assert_eq!(claims["iss"], app.base.as_str(), "{claims}");
        app.stop().await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn prompt_none_answers_the_client_and_prompt_login_asks_again() -> TestResult {
    for_each_backend(|app| async move {
        let citizen = app.citizen().await?;
        let rp = relying_party(&app, false).await?;
        let (_, challenge) = pkce();
        let anonymous_browser = app.browser()?;
        let ask = |browser: Option<&Browser>, prompt: &str| {
            let query = authorize_query(&rp, &challenge, &[("prompt", prompt), ("state", "s9")]);
            browser
                .unwrap_or(&anonymous_browser)
                .get("/oauth/authorize")
                .query(&query)
                .send()
        };
        // OIDC Core §3.1.2.6: no session, no consent: an error at the client, never a page.
        let anonymous = ask(None, "none").await?;
        assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
        let back = redirect_query(&anonymous)?;
        assert_eq!(
            back.get("error").map(String::as_str),
            Some("login_required")
        );
        assert_eq!(back.get("state").map(String::as_str), Some("s9"));
        let no_consent = ask(Some(&citizen), "none").await?;
        let back = redirect_query(&no_consent)?;
        assert_eq!(
            back.get("error").map(String::as_str),
            Some("consent_required")
        );

        // With consent given, prompt=none signs in silently.
        authorize(&citizen, &rp, &[]).await?;
        let silent = redirect_query(&ask(Some(&citizen), "none").await?)?;
        assert!(silent.contains_key("code"), "{silent:?}");

        // prompt=login: the signed-in person is sent to the sign-in page all the same.
        let again = ask(Some(&citizen), "login").await?;
        assert_eq!(again.status(), StatusCode::SEE_OTHER);
        let location = again
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(location.starts_with("/login?next="), "{location}");
        app.stop().await?;
        Ok(())
    })
    .await
}

async fn signed_in(app: &TestApp, cookie: &str) -> Result<bool, Failure> {
    let account = app
        .client
        .get(app.url("/account"))
        .header("cookie", cookie)
        .send()
        .await?;
    Ok(account.status() == StatusCode::OK)
}

#[tokio::test]
async fn relying_parties_log_out_by_link_or_form_and_strangers_need_a_confirmation() -> TestResult {
    for_each_backend(|app| async move {
        let signed_in_citizen = app.citizen().await?;
        // The session cookies are sent by hand: the test checks the server ended a session,
        // which a browser that dropped the cookie would not show.
        let citizen = signed_in_citizen.cookies();
        let rp = relying_party(&app, false).await?;
        let id_token = field(&tokens(&app, &signed_in_citizen, &rp).await?, "id_token")?.to_owned();

        // With the person's ID token and no client_id, by link from the client's site.
        let by_hint = app
            .client
            .get(app.url("/oauth/logout"))
            .query(&[
                ("id_token_hint", id_token.as_str()),
                ("post_logout_redirect_uri", REDIRECT),
                ("state", "bye"),
            ])
            .header("cookie", &citizen)
            .header("sec-fetch-site", "cross-site")
            .send()
            .await?;
        assert_eq!(by_hint.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            redirect_query(&by_hint)?.get("state").map(String::as_str),
            Some("bye")
        );
        assert!(!signed_in(&app, &citizen).await?, "the session ended");

        // By form (POST) from the client's site.
        let second = signed_in_citizen.again().await?.cookies();
        let by_form = app
            .client
            .post(app.url("/oauth/logout"))
            .form(&[
                ("id_token_hint", id_token.as_str()),
                ("post_logout_redirect_uri", REDIRECT),
                ("state", "bye2"),
            ])
            .header("cookie", &second)
            .header("origin", "http://127.0.0.1:9")
            .header("sec-fetch-site", "cross-site")
            .send()
            .await?;
        assert_eq!(by_form.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            redirect_query(&by_form)?.get("state").map(String::as_str),
            Some("bye2")
        );
        assert!(!signed_in(&app, &second).await?);

        // A link from anywhere without the ID token: the person is asked, nothing ends.
        let third = signed_in_citizen.again().await?.cookies();
        let stranger = app
            .client
            .get(app.url("/oauth/logout"))
            .query(&[
                ("client_id", rp.client_id.as_str()),
                ("post_logout_redirect_uri", REDIRECT),
                ("state", "s3"),
            ])
            .header("cookie", &third)
            .header("sec-fetch-site", "cross-site")
            .send()
            .await?;
        assert_eq!(stranger.status(), StatusCode::OK);
        assert!(
            signed_in(&app, &third).await?,
            "no sign-out without confirmation"
        );
        let confirmed = app
            .client
            .post(app.url("/oauth/logout"))
            .form(&[
                ("client_id", rp.client_id.as_str()),
                ("post_logout_redirect_uri", REDIRECT),
                ("state", "s3"),
                ("confirm", "yes"),
            ])
            .header("cookie", &third)
            .header("origin", &app.base)
            .header("sec-fetch-site", "same-origin")
            .send()
            .await?;
        assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            redirect_query(&confirmed)?.get("state").map(String::as_str),
            Some("s3")
        );
        assert!(!signed_in(&app, &third).await?);
        app.stop().await?;
        Ok(())
    })
    .await
}

/// The published keys of `alg`, from the JWKS.
async fn published_kids(app: &TestApp, alg: &str) -> Result<Vec<String>, Failure> {
    let jwks: Value = app
        .client
        .get(app.url("/oauth/jwks"))
        .send()
        .await?
        .json()
        .await?;
    Ok(jwks["keys"]
        .as_array()
        .ok_or("no keys")?
        .iter()
        .filter(|key| key["alg"] == alg)
        .filter_map(|key| key["kid"].as_str().map(str::to_owned))
        .collect())
}

#[tokio::test]
async fn discovery_and_the_key_set_offer_rs256_beside_es256() -> TestResult {
    for_each_backend(|app| async move {
        let discovery: Value = app
            .client
            .get(app.url("/.well-known/openid-configuration"))
            .send()
            .await?
            .json()
            .await?;
        assert_eq!(
            discovery["id_token_signing_alg_values_supported"],
            serde_json::json!(["ES256", "RS256"])
        );
        assert_eq!(published_kids(&app, "ES256").await?.len(), 1);
        assert_eq!(published_kids(&app, "RS256").await?.len(), 1);
        app.stop().await?;
        Ok(())
    })
    .await
}

/// The `alg` and `kid` of a compact JWS's header.
fn alg_and_kid(token: &str) -> Result<(String, String), Failure> {
    let header = token.split('.').next().ok_or("not a JWS")?;
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header)?)?;
    let text = |name: &str| {
        header[name]
            .as_str()
            .map(str::to_owned)
            .ok_or("no alg or kid")
    };
    Ok((text("alg")?, text("kid")?))
}

/// Verifies `id_token` as an independent relying party would (the `openidconnect` crate),
/// against the key set the provider publishes now, accepting only `alg`.
async fn verified_subject(
    app: &TestApp,
    rp: &RelyingParty,
    id_token: &str,
    alg: openidconnect::core::CoreJwsSigningAlgorithm,
) -> Result<String, Failure> {
    use openidconnect::core::{CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet};
    use openidconnect::{ClientId, IssuerUrl, Nonce};
    let jwks: CoreJsonWebKeySet = app
        .client
        .get(app.url("/oauth/jwks"))
        .send()
        .await?
        .json()
        .await?;
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(rp.client_id.clone()),
        IssuerUrl::new(app.base.clone())?,
        jwks,
    )
    .set_allowed_algs([alg]);
    let token: CoreIdToken = id_token.parse()?;
    let no_nonce_asked = |_: Option<&Nonce>| Ok(());
    Ok(token
        .claims(&verifier, no_nonce_asked)?
        .subject()
        .to_string())
}

#[tokio::test]
async fn a_client_registered_for_rs256_gets_rs256_id_tokens_and_rotation_keeps_the_old_key()
-> TestResult {
    use openidconnect::core::CoreJwsSigningAlgorithm::{EcdsaP256Sha256, RsaSsaPkcs1V15Sha256};
    for_each_backend(|app| async move {
        let citizen = app.citizen().await?;
        let rsa_client = relying_party_signed_with(&app, false, IdTokenAlg::Rs256).await?;
        let ec_client = relying_party(&app, true).await?;

        let rs256 = field(&tokens(&app, &citizen, &rsa_client).await?, "id_token")?.to_owned();
        let (alg, first_kid) = alg_and_kid(&rs256)?;
        assert_eq!(alg, "RS256");
        assert_eq!(
            published_kids(&app, "RS256").await?,
            std::slice::from_ref(&first_kid)
        );
        let subject = verified_subject(&app, &rsa_client, &rs256, RsaSsaPkcs1V15Sha256).await?;
        assert!(!subject.is_empty());
        assert!(
            verified_subject(&app, &rsa_client, &rs256, EcdsaP256Sha256)
                .await
                .is_err(),
            "an RS256 token is not taken for ES256"
        );

        let es256 = field(&tokens(&app, &citizen, &ec_client).await?, "id_token")?.to_owned();
        assert_eq!(alg_and_kid(&es256)?.0, "ES256", "other clients keep ES256");
        assert_eq!(
            verified_subject(&app, &ec_client, &es256, EcdsaP256Sha256).await?,
            subject
        );

        // Rotation makes a new RSA key and signs with it; the previous one stays published,
        // so the token it signed still verifies.
        app.state.identity.rotate_signing_key().await?;
        let kids = published_kids(&app, "RS256").await?;
        assert_eq!(kids.len(), 2, "{kids:?}");
        assert!(kids.contains(&first_kid), "{kids:?}");
        verified_subject(&app, &rsa_client, &rs256, RsaSsaPkcs1V15Sha256).await?;
        let after = field(&tokens(&app, &citizen, &rsa_client).await?, "id_token")?.to_owned();
        let (_, second_kid) = alg_and_kid(&after)?;
        assert_ne!(second_kid, first_kid);
        verified_subject(&app, &rsa_client, &after, RsaSsaPkcs1V15Sha256).await?;

        // A third rotation retires the first RSA key.
        app.state.identity.rotate_signing_key().await?;
        assert!(!published_kids(&app, "RS256").await?.contains(&first_kid));

        // The RS256 token names its holder to RP-initiated logout too.
        let cookie = citizen.cookies();
        let logout = app
            .client
            .get(app.url("/oauth/logout"))
            .query(&[
                ("id_token_hint", after.as_str()),
                ("post_logout_redirect_uri", REDIRECT),
            ])
            .header("cookie", &cookie)
            .header("sec-fetch-site", "cross-site")
            .send()
            .await?;
        assert_eq!(logout.status(), StatusCode::SEE_OTHER);
        assert!(!signed_in(&app, &cookie).await?, "the session ended");
        app.stop().await?;
        Ok(())
    })
    .await
}
