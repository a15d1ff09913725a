//! Passkey endpoints for the small script on /login and /account (`/static/passkeys.js`):
//! JSON in and out, since WebAuthn itself runs in the browser's JavaScript. Errors are
//! problem documents whose `detail` is in the reader's language, for the script to show.
//! Removing a passkey is a plain form on /account (see `pages`).

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::header::{HOST, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::{Deserialize, Serialize};
use web::{ApiJson, Authenticated, Chrome, Problem, Site, Texts};

use crate::accounts::Identity;
use crate::error::IdentityError;
use crate::http::error::{message_of, with_retry_after};
use crate::http::{ClientAddress, local, session_cookie};
use crate::passkeys::RelyingParty;
use crate::sessions::SESSION_SECONDS;

pub(super) fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Identity: FromRef<S>,
    Site: FromRef<S>,
{
    Router::new()
        .route(
            "/api/v1/identity/passkeys/register/start",
            post(register_start),
        )
        .route(
            "/api/v1/identity/passkeys/register/finish",
            post(register_finish),
        )
        .route(
            "/api/v1/identity/passkeys/sign-in/start",
            post(sign_in_start),
        )
        .route(
            "/api/v1/identity/passkeys/sign-in/finish",
            post(sign_in_finish),
        )
}

/// The problem for a passkey error, in the reader's language where it is theirs to act on:
/// the status, code and field are those of `http/error.rs`, the words the catalogue's.
fn problem(t: &Texts, error: IdentityError) -> Problem {
    let words = match &error {
        IdentityError::Invalid { reason, .. } => Some(reason.clone()),
        IdentityError::PasskeyRefused(reason) => {
            Some(format!("{} ({reason})", t.get("passkeys.refused")))
        }
        IdentityError::PasskeysUnavailable(reason) => {
            Some(format!("{} ({reason})", t.get("passkeys.unavailable")))
        }
        IdentityError::Locked { .. }
        | IdentityError::Throttled { .. }
        | IdentityError::Busy { .. } => Some(t.message(&message_of(&error))),
        _ => None,
    };
    let problem = Problem::from(error);
    match words {
        Some(words) => problem.with_detail(words),
        None => problem,
    }
}

/// A refused sign-in: those that pass with time say when to come back.
fn refusal(t: &Texts, error: IdentityError) -> Response {
    let seconds = error.retry_after_seconds();
    with_retry_after(problem(t, error).into_response(), seconds)
}

fn relying_party(
    identity: &Identity,
    headers: &HeaderMap,
    t: &Texts,
) -> Result<RelyingParty, Problem> {
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    identity.relying_party(host).map_err(|e| problem(t, e))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterStart {
    name: String,
}

async fn register_start(
    chrome: Chrome,
    Authenticated(principal): Authenticated,
    State(identity): State<Identity>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RegisterStart>,
) -> Result<Response, Problem> {
    let t = chrome.t();
    let rp = relying_party(&identity, &headers, t)?;
    let challenge = identity
        .begin_passkey_registration(&rp, &principal, &body.name)
        .await
        .map_err(|e| problem(t, e))?;
    Ok((StatusCode::CREATED, axum::Json(challenge)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Finish {
    ceremony: String,
    credential: serde_json::Value,
    /// Where to go after signing in; only local paths are followed.
    next: Option<String>,
}

async fn register_finish(
    chrome: Chrome,
    Authenticated(principal): Authenticated,
    State(identity): State<Identity>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Finish>,
) -> Result<Response, Problem> {
    let t = chrome.t();
    let rp = relying_party(&identity, &headers, t)?;
    let passkey = identity
        .finish_passkey_registration(&rp, &principal.account_id, &body.ceremony, &body.credential)
        .await
        .map_err(|e| match e {
            // Registration is not a sign-in: a refusal is a bad request, not a failed login.
            IdentityError::PasskeyRefused(_) => {
                problem(t, e).with_status(StatusCode::UNPROCESSABLE_ENTITY)
            }
            other => problem(t, other),
        })?;
    Ok((StatusCode::CREATED, axum::Json(passkey)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignInStart {
    /// When given, only that account's passkeys are asked for.
    personal_id: Option<String>,
}

async fn sign_in_start(
    chrome: Chrome,
    State(identity): State<Identity>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SignInStart>,
) -> Result<Response, Problem> {
    let t = chrome.t();
    let rp = relying_party(&identity, &headers, t)?;
    let challenge = identity
        .begin_passkey_sign_in(&rp, body.personal_id.as_deref())
        .await
        .map_err(|e| problem(t, e))?;
    Ok((StatusCode::OK, axum::Json(challenge)).into_response())
}

#[derive(Serialize)]
struct SignedIn {
    redirect: String,
}

async fn sign_in_finish(
    chrome: Chrome,
    State(identity): State<Identity>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Finish>,
) -> Result<Response, Problem> {
    let t = chrome.t();
    let rp = relying_party(&identity, &headers, t)?;
    let user_agent = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let token = identity
        .finish_passkey_sign_in(&rp, &body.ceremony, &body.credential, user_agent, address)
        .await;
    let token = match token {
        Ok(token) => token,
        Err(error) => return Ok(refusal(t, error)),
    };
    let mut response = axum::Json(SignedIn {
        redirect: local(body.next.as_deref()),
    })
    .into_response();
    if let Ok(cookie) = HeaderValue::from_str(&session_cookie(&identity, &token, SESSION_SECONDS)) {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    Ok(response)
}
