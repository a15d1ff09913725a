//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): a relying party sends the
//! person here, by link (GET) or form (POST, §2), to end the session and come back to a
//! `post_logout_redirect_uri` registered for it, with its `state`.
//!
//! A link on any site can point here, so the session ends at once only when the request
//! comes from this site itself, or carries an ID token we issued to the signed-in person
//! (`id_token_hint`): the client then proves it knows that session. Otherwise the person
//! is asked first (§2: the OP SHOULD ask whether to log out).

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use web::layout::render;
use web::{Chrome, MaybePrincipal, Texts};

use super::endpoints::{error_page, redirect_with, returns_to};
use super::machine::{split_compact, verifies};
use crate::accounts::Identity;

#[derive(Debug, Deserialize, Default)]
pub(super) struct LogoutParams {
    id_token_hint: Option<String>,
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    /// Set by this site's own confirmation form.
    confirm: Option<String>,
}

#[derive(Template)]
#[template(path = "logout.html")]
struct ConfirmPage<'a> {
    t: &'a Texts,
    client_name: Option<&'a str>,
    params: &'a LogoutParams,
}

pub(super) async fn by_link(
    chrome: Chrome,
    State(identity): State<Identity>,
    MaybePrincipal(principal): MaybePrincipal,
    headers: HeaderMap,
    Query(params): Query<LogoutParams>,
) -> Response {
    end_session(chrome, identity, principal, headers, params).await
}

pub(super) async fn by_form(
    chrome: Chrome,
    State(identity): State<Identity>,
    MaybePrincipal(principal): MaybePrincipal,
    headers: HeaderMap,
    Form(params): Form<LogoutParams>,
) -> Response {
    end_session(chrome, identity, principal, headers, params).await
}

/// The subject and audience of an ID token this provider signed (expired ones too: the
/// specification wants them accepted as hints).
async fn hinted(identity: &Identity, token: &str) -> Option<(String, String)> {
    #[derive(Deserialize)]
    struct Claims {
        sub: String,
        aud: String,
    }
    let payload = match split_compact(token) {
        Ok(compact) => {
            let keys = identity.published_keys().await.ok()?;
            let kid = compact.header_kid()?;
            let key = keys.iter().find(|key| key.kid == kid)?;
            if !verifies(&key.public_point(), &compact) {
                return None;
            }
            compact.payload
        }
        // Not ES256: the ID token of a client registered for RS256.
        Err(_) => identity.rs256_payload(token).await?,
    };
    let claims: Claims = serde_json::from_slice(&payload).ok()?;
    Some((claims.sub, claims.aud))
}

/// The request comes from a page of this very site (Fetch Metadata, or `Origin` where a
/// browser sends no metadata).
fn from_this_site(identity: &Identity, headers: &HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match text("sec-fetch-site") {
        Some(site) => site == "same-origin",
        None => text("origin").is_some_and(|origin| identity.public_url.as_deref() == Some(origin)),
    }
}

async fn end_session(
    chrome: Chrome,
    identity: Identity,
    principal: Option<web::Principal>,
    headers: HeaderMap,
    mut params: LogoutParams,
) -> Response {
    let hint = match params.id_token_hint.as_deref() {
        Some(token) => match hinted(&identity, token).await {
            Some(hint) => Some(hint),
            None => {
                return error_page(
                    &chrome,
                    StatusCode::BAD_REQUEST,
                    "id_token_hint is not an ID token issued here",
                );
            }
        },
        None => None,
    };
    if let Some((_, audience)) = &hint {
        match params.client_id.as_deref() {
            Some(client_id) if client_id != audience => {
                return error_page(
                    &chrome,
                    StatusCode::BAD_REQUEST,
                    "client_id differs from the audience of id_token_hint",
                );
            }
            _ => params.client_id = Some(audience.clone()),
        }
    }
    let client = match params.client_id.as_deref() {
        Some(client_id) => match identity.client(client_id).await {
            Ok(client) => client,
            Err(error) => return web::Problem::internal(&error).into_response(),
        },
        None => None,
    };
    let target = match (&client, params.post_logout_redirect_uri.as_deref()) {
        (_, None) => None,
        (Some(client), Some(uri)) if client.redirect_uris.iter().any(|r| r == uri) => {
            Some(uri.to_owned())
        }
        _ => {
            return error_page(
                &chrome,
                StatusCode::BAD_REQUEST,
                "post_logout_redirect_uri is not registered for this client (give client_id or id_token_hint)",
            );
        }
    };
    if let Some(principal) = &principal {
        let own_token = hint
            .as_ref()
            .is_some_and(|(subject, _)| *subject == principal.account_id);
        let confirmed =
            params.confirm.as_deref() == Some("yes") && from_this_site(&identity, &headers);
        if !(own_token || confirmed) {
            let page = ConfirmPage {
                t: chrome.t(),
                client_name: client.as_ref().map(|c| c.name.as_str()),
                params: &params,
            };
            let response = match render(&page) {
                Ok(body) => chrome.page(chrome.t().get("oidc.logout_title"), &body),
                Err(problem) => return problem.into_response(),
            };
            return match &target {
                Some(uri) => returns_to(uri, response),
                None => response,
            };
        }
        if let Some(token) = crate::sessions::session_token(&headers)
            && let Err(error) = identity.logout(&token).await
        {
            return web::Problem::internal(&error).into_response();
        }
    }
    let mut response = match &target {
        Some(uri) => match params.state.as_deref().filter(|s| !s.is_empty()) {
            Some(state) => redirect_with(uri, &[("state", state)]),
            None => redirect_with(uri, &[]),
        },
        None => Redirect::to("/").into_response(),
    };
    let clear = format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0",
        crate::SESSION_COOKIE
    );
    if let Ok(cookie) = HeaderValue::from_str(&clear) {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    response
}
