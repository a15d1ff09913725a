//! Sign-in, registration and account pages. Plain HTML forms: they work without JavaScript
//! on the smallest phone. Every form answers a mistake with the platform's one pattern
//! (`web::form`, ADR 0027): the form again, a summary at the top linking to each field at
//! fault, the message beside its field, what was typed kept (never a password or a code),
//! every word from the catalogue in the reader's language.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{FromRef, Query, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kernel::{Message, PersonalId};
use serde::Deserialize;
use web::layout::render;
use web::{Chrome, Feedback, FormErrors, Problem, Site, Texts};

use super::error::with_retry_after;
use super::{ClientAddress, local, session_cookie};
use crate::accounts::{Identity, SignIn};
use crate::error::IdentityError;
use crate::sessions::{SESSION_SECONDS, session_token};

mod account;
pub(crate) mod assistance;
mod recover;
mod register;
mod totp;
mod verify;

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Identity: FromRef<S>,
    Site: FromRef<S>,
{
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/login/code", get(code_form).post(code))
        .route("/logout", post(logout))
        .merge(account::routes())
        .merge(register::routes())
        .merge(recover::routes())
        .merge(totp::routes())
        .merge(verify::routes())
        .merge(assistance::routes())
}

/// A form sent back with what is wrong: the status the error maps to, the errors to show,
/// and when to come back where that is known (RFC 9110 §10.2.3 Retry-After, on 429 and 503).
pub(super) struct Refused {
    pub status: StatusCode,
    pub errors: FormErrors,
    pub retry_after: Option<u64>,
}

impl Refused {
    /// The form's own mistakes, found before asking the service.
    pub fn invalid(errors: FormErrors) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            errors,
            retry_after: None,
        }
    }

    /// What the service refused, told on the form. `fields` places a problem on a field of
    /// the page, by the problem's field or its code (`("scopes", "scope")`,
    /// `("bad-credentials", "personal_id")`); a problem placed nowhere is told at the top.
    /// Errors a person cannot fix on this form (a role missing, a failure of ours) are
    /// answered as a problem: the page layer shows it as an error page.
    pub fn of(error: IdentityError, fields: &[(&str, &str)]) -> Result<Self, Problem> {
        let retry_after = error.retry_after_seconds();
        let problem = Problem::from(error);
        let status = problem.status();
        if !matches!(status.as_u16(), 401 | 404 | 409 | 422 | 429 | 503) {
            return Err(problem);
        }
        let message = web::form::problem_message(&problem);
        let placed = fields
            .iter()
            .find(|(from, _)| problem.field_name() == Some(*from))
            .or_else(|| fields.iter().find(|(from, _)| *from == problem.code()))
            .map(|(_, to)| *to)
            .or(problem.field_name())
            .filter(|field| !field.is_empty());
        let mut errors = FormErrors::new();
        match placed {
            Some(field) => errors.field(field, message),
            None => errors.general(message),
        }
        Ok(Self {
            status,
            errors,
            retry_after,
        })
    }

    /// The form again, with these errors; `title` from [`Feedback::title`].
    pub fn page(&self, chrome: &Chrome, title: &str, template: &impl Template) -> Response {
        with_retry_after(
            titled(chrome, self.status, title, template),
            self.retry_after,
        )
    }
}

pub(super) fn see_other(location: &str, cookie: Option<String>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    if let Some(cookie) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    response
}

/// A page whose title is the text of `title`.
pub(super) fn page(
    chrome: &Chrome,
    status: StatusCode,
    title: &str,
    template: &impl Template,
) -> Response {
    titled(chrome, status, chrome.t().get(title), template)
}

/// A page whose title is given in words (a form's starts with "Lỗi:" when it shows errors).
pub(super) fn titled(
    chrome: &Chrome,
    status: StatusCode,
    title: &str,
    template: &impl Template,
) -> Response {
    match render(template) {
        Ok(body) => chrome.page_with_status(status, title, &body),
        Err(problem) => problem.into_response(),
    }
}

/// The value of a required field, or `None` with the field noted.
pub(super) fn required<'a>(
    errors: &mut FormErrors,
    field: &str,
    value: &'a str,
) -> Option<&'a str> {
    let value = value.trim();
    if value.is_empty() {
        errors.field(field, Message::new("field.required"));
        None
    } else {
        Some(value)
    }
}

/// A personal ID number typed on a form, or `None` with the field noted.
pub(super) fn personal_id(errors: &mut FormErrors, field: &str, value: &str) -> Option<PersonalId> {
    required(errors, field, value)
        .and_then(|text| errors.check(field, PersonalId::parse(text).map_err(|e| e.message)))
}

/// A one-time code from an authenticator app: six digits, spaces between them forgiven.
pub(super) fn six_digits(errors: &mut FormErrors, field: &str, value: &str) -> Option<String> {
    let digits: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.is_empty() {
        errors.field(field, Message::new("field.required"));
        None
    } else if digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()) {
        Some(digits)
    } else {
        errors.field(field, Message::new("identity.code_format"));
        None
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    t: &'a Texts,
    next: &'a str,
    personal_id: &'a str,
    errors: Feedback,
}

const LOGIN_FIELDS: [&str; 2] = ["personal_id", "password"];

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
            errors: Feedback::none(),
        },
    );
    crate::oidc::return_to_client_after(&identity, &next, response).await
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
    let mut errors = FormErrors::new();
    required(&mut errors, "personal_id", &personal_id);
    if password.is_empty() {
        errors.field("password", Message::new("field.required"));
    }
    let refused = if errors.is_empty() {
        match identity
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
            Err(error) => match Refused::of(error, &[("bad-credentials", "personal_id")]) {
                Ok(refused) => refused,
                Err(problem) => return problem.into_response(),
            },
        }
    } else {
        Refused::invalid(errors)
    };
    let errors = Feedback::of(t, &refused.errors, &LOGIN_FIELDS);
    let title = errors.title(t, t.get("identity.login_title"));
    let response = refused.page(
        &chrome,
        &title,
        &LoginPage {
            t,
            next: &next,
            personal_id: &personal_id,
            errors,
        },
    );
    crate::oidc::return_to_client_after(&identity, &next, response).await
}

async fn logout(State(identity): State<Identity>, headers: HeaderMap) -> Response {
    if let Some(token) = session_token(&headers)
        && let Err(error) = identity.logout(&token).await
    {
        return Problem::from(error).into_response();
    }
    see_other("/", Some(session_cookie(&identity, "", 0)))
}

#[derive(Template)]
#[template(path = "login_code.html")]
struct CodePage<'a> {
    t: &'a Texts,
    next: &'a str,
    errors: Feedback,
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
            errors: Feedback::none(),
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
    let mut errors = FormErrors::new();
    let typed = six_digits(&mut errors, "code", form.code.as_deref().unwrap_or(""));
    let refused = match typed {
        Some(code) => match identity.complete_sign_in(&token, &code, address).await {
            // The token from before the code is dead now: the browser gets the new one.
            Ok(renewed) => {
                return see_other(
                    &next,
                    Some(session_cookie(&identity, &renewed, SESSION_SECONDS)),
                );
            }
            Err(IdentityError::BadCredentials) => Refused {
                status: StatusCode::UNAUTHORIZED,
                errors: {
                    let mut wrong = FormErrors::new();
                    wrong.field("code", Message::new("identity.bad_code"));
                    wrong
                },
                retry_after: None,
            },
            Err(error) => match Refused::of(error, &[]) {
                Ok(refused) => refused,
                Err(problem) => return problem.into_response(),
            },
        },
        None => Refused::invalid(errors),
    };
    let errors = Feedback::of(t, &refused.errors, &["code"]);
    let title = errors.title(t, t.get("identity.code_title"));
    let response = refused.page(
        &chrome,
        &title,
        &CodePage {
            t,
            next: &next,
            errors,
        },
    );
    crate::oidc::return_to_client_after(&identity, &next, response).await
}
