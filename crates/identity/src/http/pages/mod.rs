//! Sign-in, registration and account pages. Plain HTML forms: they work without JavaScript
//! on the smallest phone.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{FromRef, Path, Query, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kernel::{PersonalId, Role, Scope};
use serde::Deserialize;
use time::Date;
use time::macros::format_description;
use web::layout::render;
use web::{Authenticated, Chrome, Site, Texts};

use super::error::with_retry_after;
use super::{ClientAddress, local, session_cookie};
use crate::accounts::{Identity, Registration, SignIn};
use crate::assistance::{AssistedAction, Mandate, MandateStatus};
use crate::error::IdentityError;
use crate::passkeys::PasskeyInfo;
use crate::sessions::{SESSION_SECONDS, SessionInfo, session_token};

pub(crate) mod assistance;

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Identity: FromRef<S>,
    Site: FromRef<S>,
{
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/login/code", get(code_form).post(code))
        .route("/account/totp", get(totp_form).post(totp_confirm))
        .route("/recover", get(recover_form).post(recover))
        .route("/logout", post(logout))
        .route("/register", get(register_form).post(register))
        .route("/account", get(account))
        .route("/account/sessions/{id}/revoke", post(revoke))
        .route("/account/passkeys/{id}/remove", post(remove_passkey))
        .merge(assistance::routes())
}

/// A refused sign-in step, told to the person in words, with when to come back where that
/// is known (RFC 9110 §10.2.3 Retry-After, on 429 and 503).
struct Refusal {
    status: StatusCode,
    message: String,
    retry_after: Option<u64>,
}

impl Refusal {
    /// The refusal for a sign-in error, with the status `http/error.rs` gives it; any other
    /// error is answered as a problem.
    fn of(t: &Texts, error: IdentityError, wrong_key: &str) -> Result<Self, web::Problem> {
        let words = match &error {
            IdentityError::BadCredentials => Some(t.get(wrong_key).to_owned()),
            IdentityError::Locked { until } => {
                Some(format!("{} {until} UTC", t.get("identity.locked")))
            }
            IdentityError::Throttled { .. } => Some(t.get("identity.too_many").to_owned()),
            IdentityError::Busy { .. } => Some(t.get("identity.busy").to_owned()),
            _ => None,
        };
        let Some(message) = words else {
            return Err(web::Problem::from(error));
        };
        let retry_after = error.retry_after_seconds();
        Ok(Self {
            status: web::Problem::from(error).status(),
            message,
            retry_after,
        })
    }

    fn page(&self, chrome: &Chrome, title: &str, template: &impl Template) -> Response {
        with_retry_after(page(chrome, self.status, title, template), self.retry_after)
    }
}

fn see_other(location: &str, cookie: Option<String>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    if let Some(cookie) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    response
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    t: &'a Texts,
    next: &'a str,
    personal_id: &'a str,
    error: Option<String>,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_form(
    chrome: Chrome,
    State(identity): State<Identity>,
    Query(query): Query<NextQuery>,
) -> Response {
    let next = local(query.next.as_deref());
    let response = page(
        &chrome,
        StatusCode::OK,
        "identity.login_title",
        &LoginPage {
            t: chrome.t(),
            next: &next,
            personal_id: "",
            error: None,
        },
    );
    crate::oidc::return_to_client_after(&identity, &next, response).await
}

fn page(chrome: &Chrome, status: StatusCode, title: &str, template: &impl Template) -> Response {
    match render(template) {
        Ok(body) => chrome.page_with_status(status, chrome.t().get(title), &body),
        Err(problem) => problem.into_response(),
    }
}

#[derive(Deserialize)]
struct LoginForm {
    personal_id: Option<String>,
    password: Option<String>,
    next: Option<String>,
}

async fn login(
    chrome: Chrome,
    State(identity): State<Identity>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let personal_id = form.personal_id.unwrap_or_default().trim().to_owned();
    let next = local(form.next.as_deref());
    let user_agent = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let t = chrome.t();
    let password = form.password.unwrap_or_default();
    let refusal = match identity
        .login(&personal_id, &password, user_agent, address)
        .await
    {
        Ok(SignIn::Complete(token)) => {
            return see_other(
                &next,
                Some(session_cookie(&identity, &token, SESSION_SECONDS)),
            );
        }
        Ok(SignIn::NeedsCode(token)) => {
            let target: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
            return see_other(
                &format!("/login/code?next={target}"),
                Some(session_cookie(&identity, &token, SESSION_SECONDS)),
            );
        }
        Err(error) => match Refusal::of(t, error, "identity.bad_credentials") {
            Ok(refusal) => refusal,
            Err(problem) => return problem.into_response(),
        },
    };
    let response = refusal.page(
        &chrome,
        "identity.login_title",
        &LoginPage {
            t,
            next: &next,
            personal_id: &personal_id,
            error: Some(refusal.message.clone()),
        },
    );
    crate::oidc::return_to_client_after(&identity, &next, response).await
}

async fn logout(State(identity): State<Identity>, headers: HeaderMap) -> Response {
    if let Some(token) = session_token(&headers)
        && let Err(error) = identity.logout(&token).await
    {
        return web::Problem::from(error).into_response();
    }
    see_other("/", Some(session_cookie(&identity, "", 0)))
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage<'a> {
    t: &'a Texts,
    form: RegisterForm,
    error: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
struct RegisterForm {
    personal_id: Option<String>,
    full_name: Option<String>,
    birth_date: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    password: Option<String>,
}

impl RegisterForm {
    fn value(field: &Option<String>) -> &str {
        field.as_deref().unwrap_or("")
    }
}

async fn register_form(chrome: Chrome) -> Response {
    page(
        &chrome,
        StatusCode::OK,
        "identity.register_title",
        &RegisterPage {
            t: chrome.t(),
            form: RegisterForm::default(),
            error: None,
        },
    )
}

async fn register(
    chrome: Chrome,
    State(identity): State<Identity>,
    Form(form): Form<RegisterForm>,
) -> Response {
    let t = chrome.t();
    let parsed = (|| {
        let personal_id = PersonalId::parse(form.personal_id.as_deref().unwrap_or("").trim())
            .map_err(|e| format!("{}: {}", t.get("identity.personal_id"), e.reason))?;
        let birth_date = Date::parse(
            form.birth_date.as_deref().unwrap_or("").trim(),
            format_description!("[year]-[month]-[day]"),
        )
        .map_err(|_| format!("{}: YYYY-MM-DD", t.get("identity.birth_date")))?;
        Ok::<_, String>(Registration {
            personal_id,
            full_name: form.full_name.clone().unwrap_or_default(),
            birth_date,
            phone: form.phone.clone(),
            email: form.email.clone(),
            password: form.password.clone().unwrap_or_default(),
        })
    })();
    let unprocessable = |message| Refusal {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        message,
        retry_after: None,
    };
    let refusal = match parsed {
        Err(message) => unprocessable(message),
        Ok(registration) => match identity.register(registration).await {
            Ok(_) => return see_other("/login?registered=1", None),
            Err(
                error @ (IdentityError::Invalid { .. }
                | IdentityError::NoMatch
                | IdentityError::AccountExists),
            ) => unprocessable(error.to_string()),
            // Hashing the new password waits its turn like a sign-in, and may be refused.
            Err(error @ IdentityError::Busy { .. }) => match Refusal::of(t, error, "") {
                Ok(refusal) => refusal,
                Err(problem) => return problem.into_response(),
            },
            Err(other) => return web::Problem::from(other).into_response(),
        },
    };
    let message = refusal.message.clone();
    // The password is never sent back into the page.
    let form = RegisterForm {
        password: None,
        ..form
    };
    refusal.page(
        &chrome,
        "identity.register_title",
        &RegisterPage {
            t,
            form,
            error: Some(message),
        },
    )
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    t: &'a Texts,
    principal: &'a web::Principal,
    sessions: Vec<SessionInfo>,
    /// Who looked at this person's registry record, newest first.
    views: Vec<crate::population::RecordView>,
    second_factor: bool,
    passkeys: Vec<PasskeyInfo>,
    /// Mandates this person gave to helpers, and what helpers did under them.
    mandates_given: Vec<Mandate>,
    actions: Vec<AssistedAction>,
    /// For a community digital technology team member: mandates given to them.
    is_helper: bool,
    mandates_held: Vec<Mandate>,
    scopes: [Scope; 3],
    form: assistance::MandateForm,
    form_error: Option<String>,
}

impl AccountPage<'_> {
    fn method_label(&self, method: &str) -> &str {
        self.t.get(match method {
            "passkey" => "identity.method_passkey",
            "password_totp" => "identity.method_password_totp",
            _ => "identity.method_password",
        })
    }
}

async fn account(
    chrome: Chrome,
    Authenticated(principal): Authenticated,
    State(identity): State<Identity>,
    headers: HeaderMap,
) -> Response {
    let page_parts = async {
        let sessions = identity
            .sessions(&principal.account_id, session_token(&headers).as_deref())
            .await
            .map_err(web::Problem::from)?;
        let views = identity
            .who_viewed(principal.personal_id)
            .await
            .map_err(|e| web::Problem::internal(&e))?;
        let second_factor = identity
            .has_totp(&principal.account_id)
            .await
            .map_err(web::Problem::from)?;
        let passkeys = identity
            .passkeys(&principal.account_id)
            .await
            .map_err(web::Problem::from)?;
        let mandates_given = identity
            .mandates_given(&principal.account_id)
            .await
            .map_err(web::Problem::from)?;
        let actions = identity
            .assisted_actions(&principal.account_id)
            .await
            .map_err(web::Problem::from)?;
        let mandates_held = identity
            .mandates_held(&principal.account_id)
            .await
            .map_err(web::Problem::from)?;
        Ok::<_, web::Problem>((
            sessions,
            views,
            second_factor,
            passkeys,
            (mandates_given, actions, mandates_held),
        ))
    };
    match page_parts.await {
        Ok((
            sessions,
            views,
            second_factor,
            passkeys,
            (mandates_given, actions, mandates_held),
        )) => page(
            &chrome,
            StatusCode::OK,
            "identity.account_title",
            &AccountPage {
                t: chrome.t(),
                principal: &principal,
                sessions,
                views,
                second_factor,
                passkeys,
                mandates_given,
                actions,
                is_helper: principal.agency_with(Role::AssistHelper).is_some(),
                mandates_held,
                scopes: Scope::ALL,
                form: assistance::MandateForm::default(),
                form_error: None,
            },
        ),
        Err(problem) => problem.into_response(),
    }
}

async fn remove_passkey(
    Authenticated(principal): Authenticated,
    State(identity): State<Identity>,
    Path(id): Path<String>,
) -> Response {
    match identity.remove_passkey(&principal.account_id, &id).await {
        Ok(_) => see_other("/account#passkeys", None),
        Err(error) => web::Problem::from(error).into_response(),
    }
}

async fn revoke(
    Authenticated(principal): Authenticated,
    State(identity): State<Identity>,
    Path(id): Path<String>,
) -> Response {
    match identity.revoke(&principal.account_id, &id).await {
        Ok(_) => see_other("/account", None),
        Err(error) => web::Problem::from(error).into_response(),
    }
}

#[derive(Template)]
#[template(path = "login_code.html")]
struct CodePage<'a> {
    t: &'a Texts,
    next: &'a str,
    error: Option<String>,
}

async fn code_form(
    chrome: Chrome,
    State(identity): State<Identity>,
    Query(query): Query<NextQuery>,
) -> Response {
    let next = local(query.next.as_deref());
    let response = page(
        &chrome,
        StatusCode::OK,
        "identity.code_title",
        &CodePage {
            t: chrome.t(),
            next: &next,
            error: None,
        },
    );
    crate::oidc::return_to_client_after(&identity, &next, response).await
}

#[derive(Deserialize)]
struct CodeForm {
    code: Option<String>,
    next: Option<String>,
}

async fn code(
    chrome: Chrome,
    State(identity): State<Identity>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    let next = local(form.next.as_deref());
    let t = chrome.t();
    let Some(token) = session_token(&headers) else {
        return see_other("/login", None);
    };
    let refusal = match identity
        .complete_sign_in(&token, form.code.as_deref().unwrap_or(""), address)
        .await
    {
        // The token from before the code is dead now: the browser gets the new one.
        Ok(renewed) => {
            return see_other(
                &next,
                Some(session_cookie(&identity, &renewed, SESSION_SECONDS)),
            );
        }
        Err(error) => match Refusal::of(t, error, "identity.bad_code") {
            Ok(refusal) => refusal,
            Err(problem) => return problem.into_response(),
        },
    };
    let response = refusal.page(
        &chrome,
        "identity.code_title",
        &CodePage {
            t,
            next: &next,
            error: Some(refusal.message.clone()),
        },
    );
    crate::oidc::return_to_client_after(&identity, &next, response).await
}

#[derive(Template)]
#[template(path = "totp.html")]
struct TotpPage<'a> {
    t: &'a Texts,
    enrolment: Option<crate::Enrolment>,
    error: Option<String>,
}

/// Shows a new secret to add to an authenticator app, or that one is already set up.
async fn totp_form(
    chrome: Chrome,
    Authenticated(principal): Authenticated,
    State(identity): State<Identity>,
) -> Response {
    let enrolment = match identity
        .begin_totp(&principal.account_id, &principal.personal_id.to_string())
        .await
    {
        Ok(enrolment) => Some(enrolment),
        Err(IdentityError::Invalid { .. }) => None,
        Err(other) => return web::Problem::from(other).into_response(),
    };
    page(
        &chrome,
        StatusCode::OK,
        "identity.totp_title",
        &TotpPage {
            t: chrome.t(),
            enrolment,
            error: None,
        },
    )
}

#[derive(Deserialize)]
struct TotpForm {
    code: Option<String>,
}

async fn totp_confirm(
    chrome: Chrome,
    Authenticated(principal): Authenticated,
    State(identity): State<Identity>,
    Form(form): Form<TotpForm>,
) -> Response {
    match identity
        .confirm_totp(&principal.account_id, form.code.as_deref().unwrap_or(""))
        .await
    {
        Ok(()) => see_other("/account", None),
        Err(error @ IdentityError::Invalid { .. }) => {
            // A new secret, since the person may have scanned the old one wrongly.
            let enrolment = identity
                .begin_totp(&principal.account_id, &principal.personal_id.to_string())
                .await
                .ok();
            page(
                &chrome,
                StatusCode::UNPROCESSABLE_ENTITY,
                "identity.totp_title",
                &TotpPage {
                    t: chrome.t(),
                    enrolment,
                    error: Some(error.to_string()),
                },
            )
        }
        Err(other) => web::Problem::from(other).into_response(),
    }
}

#[derive(Template)]
#[template(path = "recover.html")]
struct RecoverPage<'a> {
    t: &'a Texts,
    personal_id: &'a str,
    error: Option<String>,
}

async fn recover_form(chrome: Chrome) -> Response {
    page(
        &chrome,
        StatusCode::OK,
        "identity.recover_title",
        &RecoverPage {
            t: chrome.t(),
            personal_id: "",
            error: None,
        },
    )
}

#[derive(Deserialize)]
struct RecoverForm {
    personal_id: Option<String>,
    code: Option<String>,
    password: Option<String>,
}

async fn recover(
    chrome: Chrome,
    State(identity): State<Identity>,
    ClientAddress(address): ClientAddress,
    Form(form): Form<RecoverForm>,
) -> Response {
    let t = chrome.t();
    let personal_id = form.personal_id.unwrap_or_default().trim().to_owned();
    let outcome = identity
        .recover(
            &personal_id,
            form.code.as_deref().unwrap_or(""),
            form.password.unwrap_or_default(),
            address,
        )
        .await;
    let refusal = match outcome {
        Ok(()) => return see_other("/login?recovered=1", None),
        Err(error @ IdentityError::Invalid { .. }) => Refusal {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: error.to_string(),
            retry_after: None,
        },
        Err(error) => match Refusal::of(t, error, "identity.bad_recovery") {
            // A wrong code is told as a form error, as before.
            Ok(refusal) if refusal.status == StatusCode::UNAUTHORIZED => Refusal {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                ..refusal
            },
            Ok(refusal) => refusal,
            Err(problem) => return problem.into_response(),
        },
    };
    refusal.page(
        &chrome,
        "identity.recover_title",
        &RecoverPage {
            t,
            personal_id: &personal_id,
            error: Some(refusal.message.clone()),
        },
    )
}
