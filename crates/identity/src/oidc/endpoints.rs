use askama::Template;
use axum::extract::{FromRef, Query, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::json;
use web::layout::render;
use web::{Chrome, MaybePrincipal, Site, Texts};

use super::flow::{Authorization, OAuthError, SCOPES, normalise_scope};
use crate::accounts::Identity;

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Identity: FromRef<S>,
    Site: FromRef<S>,
{
    // What a browser-based public client calls from its own origin: none of it reads the
    // session cookie, so any origin may (CORS, and the cross-site guard lets these through).
    let cross_origin = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery).options(preflight),
        )
        .route("/oauth/jwks", get(jwks).options(preflight))
        .route(
            "/oauth/token",
            axum::routing::post(token).options(preflight),
        )
        .route(
            "/oauth/userinfo",
            get(userinfo).post(userinfo).options(preflight),
        )
        .route(
            "/oauth/revoke",
            axum::routing::post(revoke).options(preflight),
        )
        .layer(axum::middleware::map_response(allow_any_origin));
    Router::new()
        .route("/oauth/authorize", get(authorize).post(decide))
        .route(
            "/oauth/logout",
            get(super::logout::by_link).post(super::logout::by_form),
        )
        .merge(cross_origin)
}

/// CORS without credentials (Fetch Standard §3.2): tokens travel in the request itself.
async fn allow_any_origin(mut response: Response) -> Response {
    response.headers_mut().insert(
        axum::http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// The answer to a CORS preflight: the methods and headers a client may use.
async fn preflight() -> Response {
    use axum::http::header::{
        ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_MAX_AGE,
    };
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST"),
    );
    headers.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type"),
    );
    headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    response
}

/// The issuer: the configured public URL, never the request's Host, which the client
/// writes (docs/adr/0016). The server refuses to start without it.
fn issuer(identity: &Identity) -> Result<&str, web::Problem> {
    identity.public_url.as_deref().ok_or_else(|| {
        web::Problem::internal(&"public_url is not configured: the provider has no issuer")
    })
}

/// RFC 6749 §5.1: tokens are never cached; `Pragma` for HTTP/1.0 caches.
fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        axum::http::header::PRAGMA,
        HeaderValue::from_static("no-cache"),
    );
    response
}

/// The credentials of an `Authorization` header of `scheme`, whose name is
/// case-insensitive (RFC 7235 §2.1).
fn authorization<'a>(headers: &'a HeaderMap, scheme: &str) -> Option<&'a str> {
    let (name, credentials) = headers.get(AUTHORIZATION)?.to_str().ok()?.split_once(' ')?;
    name.eq_ignore_ascii_case(scheme)
        .then_some(credentials.trim())
}

/// RFC 6749 §5.2: a 401 `invalid_client` names the scheme the client may authenticate with.
fn invalid_client(description: &str) -> Response {
    let mut response = oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", description);
    response.headers_mut().insert(
        axum::http::header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"lienthong\""),
    );
    response
}

async fn discovery(State(identity): State<Identity>) -> Response {
    let issuer = match issuer(&identity) {
        Ok(issuer) => issuer,
        Err(problem) => return problem.into_response(),
    };
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth/authorize"),
        "token_endpoint": format!("{issuer}/oauth/token"),
        "userinfo_endpoint": format!("{issuer}/oauth/userinfo"),
        "jwks_uri": format!("{issuer}/oauth/jwks"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256", "RS256"],
        "scopes_supported": SCOPES.iter().map(|(scope, _)| *scope).collect::<Vec<_>>(),
        "claims_supported": SCOPES.iter().flat_map(|(_, claims)| claims.iter().copied()).collect::<Vec<_>>(),
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256"],
        "code_challenge_methods_supported": ["S256"],
        "acr_values_supported": ["urn:vn:eid:level1", "urn:vn:eid:level2"],
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "end_session_endpoint": format!("{issuer}/oauth/logout"),
    }))
    .into_response()
}

async fn jwks(State(identity): State<Identity>) -> Response {
    match identity.jwks().await {
        Ok(keys) => Json(keys).into_response(),
        Err(error) => web::Problem::internal(&error).into_response(),
    }
}

#[derive(Debug, Deserialize, Default, Clone)]
struct AuthorizeParams {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    /// OIDC Core §3.1.2.1: `none`, or any of `login`, `consent`.
    prompt: Option<String>,
    decision: Option<String>,
}

/// Where to send the browser: back to the client with a result, or nowhere (an error page)
/// when the client or its redirect URI cannot be trusted.
enum Checked {
    Valid(Authorization),
    Redirect(Response),
    Page(StatusCode, String),
}

pub(super) fn redirect_with(uri: &str, pairs: &[(&str, &str)]) -> Response {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let separator = if uri.contains('?') { '&' } else { '?' };
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("{uri}{separator}{query}")) {
        response.headers_mut().insert(LOCATION, location);
    }
    response
}

async fn check(
    identity: &Identity,
    params: &AuthorizeParams,
) -> Result<Checked, crate::IdentityError> {
    let client_id = params.client_id.as_deref().unwrap_or_default();
    let Some(client) = identity.client(client_id).await? else {
        return Ok(Checked::Page(
            StatusCode::BAD_REQUEST,
            format!("unknown client_id {client_id:?}"),
        ));
    };
    let redirect_uri = params.redirect_uri.as_deref().unwrap_or_default();
    if !client
        .redirect_uris
        .iter()
        .any(|registered| registered == redirect_uri)
    {
        return Ok(Checked::Page(
            StatusCode::BAD_REQUEST,
            "redirect_uri is not one registered for this client".into(),
        ));
    }
    // The consent form sends back empty fields for parameters the client never sent:
    // those are absent, and nothing is echoed for them (RFC 6749 §4.1.2, OIDC Core §3.1.3.6).
    let state = params.state.clone().filter(|s| !s.is_empty());
    let fail = |error: &str, description: &str| {
        let mut pairs = vec![("error", error), ("error_description", description)];
        if let Some(state) = state.as_deref() {
            pairs.push(("state", state));
        }
        Checked::Redirect(redirect_with(redirect_uri, &pairs))
    };
    if params.response_type.as_deref() != Some("code") {
        return Ok(fail(
            "unsupported_response_type",
            "only response_type=code is supported",
        ));
    }
    let Some(scope) = normalise_scope(params.scope.as_deref().unwrap_or_default()) else {
        return Ok(fail("invalid_scope", "scope must include openid"));
    };
    let challenge = params.code_challenge.clone().unwrap_or_default();
    if params.code_challenge_method.as_deref() != Some("S256") || challenge.len() != 43 {
        return Ok(fail(
            "invalid_request",
            "PKCE is required: code_challenge (43 characters) with code_challenge_method=S256",
        ));
    }
    Ok(Checked::Valid(Authorization {
        client_id: client.client_id,
        client_name: client.name,
        redirect_uri: redirect_uri.to_owned(),
        scope,
        state,
        nonce: params.nonce.clone().filter(|n| !n.is_empty()),
        code_challenge: challenge,
    }))
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    t: &'a Texts,
    request: &'a Authorization,
    params: &'a AuthorizeParams,
    claims: Vec<String>,
}

impl ConsentPage<'_> {
    fn value<'b>(&self, field: &'b Option<String>) -> &'b str {
        field.as_deref().unwrap_or("")
    }
}

pub(super) fn error_page(chrome: &Chrome, status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<h1>{}</h1><p role=\"alert\" class=\"error\">{}</p>",
        chrome.t().get("oidc.error_title"),
        escape(message)
    );
    chrome.page_with_status(status, chrome.t().get("oidc.error_title"), &body)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn authorize(
    chrome: Chrome,
    State(identity): State<Identity>,
    MaybePrincipal(principal): MaybePrincipal,
    uri: axum::http::Uri,
    Query(params): Query<AuthorizeParams>,
) -> Response {
    let request = match check(&identity, &params).await {
        Ok(Checked::Valid(request)) => request,
        Ok(Checked::Redirect(response)) => return response,
        Ok(Checked::Page(status, message)) => return error_page(&chrome, status, &message),
        Err(error) => return web::Problem::internal(&error).into_response(),
    };
    let prompts: Vec<&str> = params
        .prompt
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let silent = prompts.contains(&"none");
    if silent && prompts.len() > 1 {
        return error_to_client(&request, "invalid_request", "prompt=none stands alone");
    }
    let principal = match principal {
        // prompt=login: sign in again even with a session; the request then goes on
        // without it, or the sign-in would be asked for forever.
        Some(_) if prompts.contains(&"login") => None,
        principal => principal,
    };
    let Some(principal) = principal else {
        if silent {
            return error_to_client(&request, "login_required", "nobody is signed in");
        }
        let next: String =
            form_urlencoded::byte_serialize(without_prompt(&uri).as_bytes()).collect();
        return Redirect::to(&format!("/login?next={next}")).into_response();
    };
    let consented = identity
        .has_consent(&principal.account_id, &request.client_id, &request.scope)
        .await
        .map(|given| given && !prompts.contains(&"consent"));
    match consented {
        Ok(true) => issue(&identity, &principal.account_id, &request, false).await,
        Ok(false) if silent => error_to_client(
            &request,
            "consent_required",
            "the person has not consented to this client and scope",
        ),
        Ok(false) => {
            let t = chrome.t();
            let claims = request
                .scope
                .split_whitespace()
                .map(|scope| t.get(&format!("oidc.scope_{scope}")).to_owned())
                .collect();
            match render(&ConsentPage {
                t,
                request: &request,
                params: &params,
                claims,
            }) {
                Ok(body) => returns_to(
                    &request.redirect_uri,
                    no_store(chrome.page(t.get("oidc.consent_title"), &body)),
                ),
                Err(problem) => problem.into_response(),
            }
        }
        Err(error) => web::Problem::internal(&error).into_response(),
    }
}

/// An authorization error sent back to a client whose redirect URI checked out
/// (RFC 6749 §4.1.2.1), with its `state`.
fn error_to_client(request: &Authorization, error: &str, description: &str) -> Response {
    let mut pairs = vec![("error", error), ("error_description", description)];
    if let Some(state) = request.state.as_deref() {
        pairs.push(("state", state));
    }
    redirect_with(&request.redirect_uri, &pairs)
}

/// The authorization request's path and query, without `prompt`.
fn without_prompt(uri: &axum::http::Uri) -> String {
    let kept: Vec<(String, String)> =
        form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .filter(|(name, _)| name != "prompt")
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .finish();
    format!("{}?{query}", uri.path())
}

/// Lets a page's form end at the client: its answer redirects to `redirect_uri`, which
/// the page's CSP `form-action` must name (see web::csp).
pub(super) fn returns_to(redirect_uri: &str, mut response: Response) -> Response {
    let origin = url::Url::parse(redirect_uri).map(|uri| uri.origin().ascii_serialization());
    if let Some(policy) = origin
        .ok()
        .and_then(|origin| web::csp::allowing_form_target(&origin))
    {
        response
            .headers_mut()
            .insert(axum::http::header::CONTENT_SECURITY_POLICY, policy);
    }
    response
}

/// For the sign-in pages of an authorization request (`next` is `/oauth/authorize?…`): the
/// same widening as the consent page, for a client and redirect URI that check out, since
/// a remembered consent sends the browser from the sign-in form straight to the client.
pub async fn return_to_client_after(
    identity: &Identity,
    next: &str,
    response: Response,
) -> Response {
    let Ok(target) = url::Url::parse("http://same-origin.invalid").and_then(|base| base.join(next))
    else {
        return response;
    };
    if target.path() != "/oauth/authorize" {
        return response;
    }
    let params: AuthorizeParams = target
        .query()
        .and_then(authorize_params)
        .unwrap_or_default();
    match check(identity, &params).await {
        Ok(Checked::Valid(request)) => returns_to(&request.redirect_uri, response),
        _ => response,
    }
}

fn authorize_params(query: &str) -> Option<AuthorizeParams> {
    Query::<AuthorizeParams>::try_from_uri(&format!("/?{query}").parse::<axum::http::Uri>().ok()?)
        .ok()
        .map(|Query(params)| params)
}

async fn issue(
    identity: &Identity,
    account_id: &str,
    request: &Authorization,
    remember: bool,
) -> Response {
    match identity.grant(account_id, request, remember).await {
        Ok(code) => {
            let mut pairs = vec![("code", code.as_str())];
            if let Some(state) = request.state.as_deref() {
                pairs.push(("state", state));
            }
            redirect_with(&request.redirect_uri, &pairs)
        }
        Err(error) => web::Problem::internal(&error).into_response(),
    }
}

/// The consent form's answer.
async fn decide(
    chrome: Chrome,
    State(identity): State<Identity>,
    web::Authenticated(principal): web::Authenticated,
    Form(params): Form<AuthorizeParams>,
) -> Response {
    let request = match check(&identity, &params).await {
        Ok(Checked::Valid(request)) => request,
        Ok(Checked::Redirect(response)) => return response,
        Ok(Checked::Page(status, message)) => return error_page(&chrome, status, &message),
        Err(error) => return web::Problem::internal(&error).into_response(),
    };
    if params.decision.as_deref() != Some("allow") {
        return error_to_client(&request, "access_denied", "the person declined");
    }
    issue(&identity, &principal.account_id, &request, true).await
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
    scope: Option<String>,
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    no_store(
        (
            status,
            Json(json!({ "error": error, "error_description": description })),
        )
            .into_response(),
    )
}

/// The client's id and secret: from `client_secret_basic` when sent, else from the form
/// (`client_secret_post`, or a public client's bare `client_id`).
fn client_id_and_secret(
    headers: &HeaderMap,
    form_id: &Option<String>,
    form_secret: &Option<String>,
) -> (String, Option<String>) {
    match basic_credentials(headers) {
        Some((id, secret)) => (id, Some(secret)),
        None => (form_id.clone().unwrap_or_default(), form_secret.clone()),
    }
}

/// `client_secret_basic`: `Authorization: Basic base64(id:secret)` (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = authorization(headers, "Basic")?;
    let decoded = String::from_utf8(STANDARD.decode(value).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}

async fn token(
    State(identity): State<Identity>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    let (client_id, client_secret) =
        client_id_and_secret(&headers, &form.client_id, &form.client_secret);
    let issuer = match issuer(&identity) {
        Ok(issuer) => issuer,
        Err(problem) => return problem.into_response(),
    };
    let outcome = match form.grant_type.as_deref() {
        Some("authorization_code") => None,
        Some("refresh_token") => {
            let Some(refresh_token) = form.refresh_token.as_deref() else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "refresh_token is required",
                );
            };
            Some(
                identity
                    .refresh(&client_id, client_secret.as_deref(), refresh_token)
                    .await,
            )
        }
        Some("client_credentials") => Some(
            identity
                .client_credentials(
                    issuer,
                    form.client_assertion_type.as_deref(),
                    form.client_assertion.as_deref(),
                    form.client_id.as_deref(),
                    form.scope.as_deref(),
                )
                .await,
        ),
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type must be authorization_code, refresh_token or client_credentials",
            );
        }
    };
    if let Some(outcome) = outcome {
        return token_outcome(outcome);
    }
    let (Some(code), Some(redirect_uri), Some(verifier)) = (
        form.code.as_deref(),
        form.redirect_uri.as_deref(),
        form.code_verifier.as_deref(),
    ) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "code, redirect_uri and code_verifier are required",
        );
    };
    let outcome = identity
        .exchange_code(
            issuer,
            &client_id,
            client_secret.as_deref(),
            code,
            redirect_uri,
            verifier,
        )
        .await;
    token_outcome(outcome)
}

/// A token response, or the OAuth error that explains the refusal.
fn token_outcome(outcome: Result<serde_json::Value, crate::IdentityError>) -> Response {
    match outcome {
        Ok(tokens) => no_store(Json(tokens).into_response()),
        Err(crate::IdentityError::Token(error)) if error.error == OAuthError::InvalidClient => {
            invalid_client(&error.description)
        }
        Err(crate::IdentityError::Token(error)) => oauth_error(
            StatusCode::BAD_REQUEST,
            error.error.as_str(),
            &error.description,
        ),
        Err(other) => web::Problem::from(other).into_response(),
    }
}

async fn userinfo(State(identity): State<Identity>, headers: HeaderMap) -> Response {
    let token = authorization(&headers, "Bearer");
    let unauthorized = || {
        let mut response = oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "a valid bearer access token is required",
        );
        response.headers_mut().insert(
            "www-authenticate",
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
        response
    };
    let Some(token) = token else {
        return unauthorized();
    };
    match identity.userinfo(token).await {
        Ok(Some(claims)) => no_store(Json(claims).into_response()),
        Ok(None) => unauthorized(),
        Err(error) => web::Problem::internal(&error).into_response(),
    }
}

#[derive(Deserialize)]
struct RevokeForm {
    token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

async fn revoke(
    State(identity): State<Identity>,
    headers: HeaderMap,
    Form(form): Form<RevokeForm>,
) -> Response {
    let (client_id, client_secret) =
        client_id_and_secret(&headers, &form.client_id, &form.client_secret);
    let Some(token) = form.token.as_deref() else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "token is required",
        );
    };
    match identity
        .revoke_token(&client_id, client_secret.as_deref(), token)
        .await
    {
        Ok(()) => StatusCode::OK.into_response(),
        Err(crate::IdentityError::Token(error)) => invalid_client(&error.description),
        Err(other) => web::Problem::from(other).into_response(),
    }
}
