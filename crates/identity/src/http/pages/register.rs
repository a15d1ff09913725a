//! Registration at level 1 from a page: every field read and checked here first, so all that
//! is wrong is told at once in the reader's language; then the registry check and the
//! account, which the service does. The account created, a confirmation says what it is and
//! what to do next.

use askama::Template;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use kernel::{Message, PhoneNumber};
use serde::Deserialize;
use time::Date;
use time::macros::format_description;
use web::{Chrome, Feedback, FormErrors, Site, Texts};

use super::{Refused, page, personal_id, required, see_other};
use crate::accounts::{Identity, Registration};
use crate::http::error::invalid_message;
use crate::password::{self, OwnFacts};

pub(super) fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Identity: FromRef<S>,
    Site: FromRef<S>,
{
    Router::new()
        .route("/register", get(register_form).post(register))
        .route("/register/done", get(done))
}

/// The fields of the form, in the order of the page.
const FIELDS: [&str; 6] = [
    "personal_id",
    "full_name",
    "birth_date",
    "phone",
    "email",
    "password",
];

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage<'a> {
    t: &'a Texts,
    form: RegisterForm,
    errors: Feedback,
}

/// What the person typed, kept as typed for the page sent back (the password never is).
#[derive(Deserialize, Default, Clone)]
struct RegisterForm {
    #[serde(default)]
    personal_id: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn register_form(chrome: Chrome) -> Response {
    page(
        &chrome,
        StatusCode::OK,
        "identity.register_title",
        &RegisterPage {
            t: chrome.t(),
            form: RegisterForm::default(),
            errors: Feedback::none(),
        },
    )
}

/// Reads every field, noting each one at fault, so the page reports them all at once.
fn parse(form: &RegisterForm, errors: &mut FormErrors) -> Option<Registration> {
    let id = personal_id(errors, "personal_id", &form.personal_id);
    let full_name = required(errors, "full_name", &form.full_name);
    let birth_date = required(errors, "birth_date", &form.birth_date).and_then(|text| {
        errors.check(
            "birth_date",
            Date::parse(text, format_description!("[year]-[month]-[day]"))
                .map_err(|_| Message::new("field.date").with("found", format!("{text:?}"))),
        )
    });
    let phone = match form.phone.trim() {
        "" => None,
        typed => errors.check("phone", PhoneNumber::parse(typed).map_err(|e| e.message)),
    };
    let email = form.email.trim();
    if !email.is_empty() && !looks_like_email(email) {
        errors.field("email", Message::new("identity.email"));
    }
    if form.phone.trim().is_empty() && email.is_empty() {
        errors.field("phone", Message::new("identity.contact_required"));
    }
    if form.password.is_empty() {
        errors.field("password", Message::new("field.required"));
    } else {
        let id_text = form.personal_id.trim();
        let facts = OwnFacts {
            personal_id: id_text,
            phones: phone.as_slice(),
            birth_date,
        };
        if let Err(reason) = password::check_strength(&form.password, &facts) {
            errors.field("password", invalid_message("password", reason));
        }
    }
    if !errors.is_empty() {
        return None;
    }
    Some(Registration {
        personal_id: id?,
        full_name: full_name?.to_owned(),
        birth_date: birth_date?,
        phone: Some(form.phone.clone()).filter(|p| !p.trim().is_empty()),
        email: Some(email.to_owned()).filter(|e| !e.is_empty()),
        password: form.password.clone(),
    })
}

/// Something before and after one `@`, and a dot in the domain: enough to catch a slip;
/// whether the address works is known only when a message reaches it.
fn looks_like_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

async fn register(
    chrome: Chrome,
    State(identity): State<Identity>,
    Form(form): Form<RegisterForm>,
) -> Response {
    let t = chrome.t();
    let mut errors = FormErrors::new();
    let refused = match parse(&form, &mut errors) {
        None => Refused::invalid(errors),
        Some(registration) => match identity.register(registration).await {
            Ok(_) => return see_other("/register/done", None),
            Err(error) => match Refused::of(error, &[("account-exists", "personal_id")]) {
                Ok(refused) => refused,
                Err(problem) => return problem.into_response(),
            },
        },
    };
    let errors = Feedback::of(t, &refused.errors, &FIELDS);
    let title = errors.title(t, t.get("identity.register_title"));
    // The password is never sent back into the page.
    let form = RegisterForm {
        password: String::new(),
        ..form
    };
    refused.page(&chrome, &title, &RegisterPage { t, form, errors })
}

#[derive(Template)]
#[template(path = "register_done.html")]
struct DonePage<'a> {
    t: &'a Texts,
}

/// The confirmation: what was created and what to do next.
async fn done(chrome: Chrome) -> Response {
    page(
        &chrome,
        StatusCode::OK,
        "identity.registered_title",
        &DonePage { t: chrome.t() },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_needs_a_local_part_and_a_domain() {
        for good in ["lan@example.vn", "a.b@mail.gov.vn"] {
            assert!(looks_like_email(good), "{good}");
        }
        for bad in [
            "lan",
            "lan@",
            "@example.vn",
            "lan@example",
            "l an@example.vn",
            "a@b@c.vn",
        ] {
            assert!(!looks_like_email(bad), "{bad}");
        }
    }
}
