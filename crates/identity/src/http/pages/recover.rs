//! Setting a new password with the one-time code a police officer handed over in person
//! (`recovery.rs`): the form's mistakes are told on the form, the code never sent back.

use askama::Template;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use kernel::Message;
use serde::Deserialize;
use web::{Chrome, Feedback, FormErrors, Site, Texts};

use super::{Refused, page, personal_id, see_other};
use crate::accounts::Identity;
use crate::error::IdentityError;
use crate::http::ClientAddress;
use crate::http::error::invalid_message;
use crate::password::{self, OwnFacts};

pub(super) fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Identity: FromRef<S>,
    Site: FromRef<S>,
{
    Router::new().route("/recover", get(recover_form).post(recover))
}

const FIELDS: [&str; 3] = ["personal_id", "code", "password"];

#[derive(Template)]
#[template(path = "recover.html")]
struct RecoverPage<'a> {
    t: &'a Texts,
    personal_id: &'a str,
    errors: Feedback,
}

async fn recover_form(chrome: Chrome) -> Response {
    page(
        &chrome,
        StatusCode::OK,
        "identity.recover_title",
        &RecoverPage {
            t: chrome.t(),
            personal_id: "",
            errors: Feedback::none(),
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
    let typed_id = form.personal_id.unwrap_or_default().trim().to_owned();
    let code = form.code.unwrap_or_default();
    let new_password = form.password.unwrap_or_default();
    let mut errors = FormErrors::new();
    personal_id(&mut errors, "personal_id", &typed_id);
    if code.trim().is_empty() {
        errors.field("code", Message::new("identity.recovery_code_required"));
    }
    if new_password.is_empty() {
        errors.field("password", Message::new("field.required"));
    } else if let Err(reason) = password::check_strength(
        &new_password,
        &OwnFacts {
            personal_id: &typed_id,
            phones: &[],
            birth_date: None,
        },
    ) {
        errors.field("password", invalid_message("password", reason));
    }
    let refused = if errors.is_empty() {
        match identity
            .recover(&typed_id, &code, new_password, address)
            .await
        {
            Ok(()) => return see_other("/login?recovered=1", None),
            // A wrong code is told on its field, as a mistake in the form.
            Err(IdentityError::BadCredentials) => {
                let mut wrong = FormErrors::new();
                wrong.field("code", Message::new("identity.bad_recovery"));
                Refused::invalid(wrong)
            }
            Err(error) => match Refused::of(error, &[]) {
                Ok(refused) => refused,
                Err(problem) => return problem.into_response(),
            },
        }
    } else {
        Refused::invalid(errors)
    };
    let errors = Feedback::of(t, &refused.errors, &FIELDS);
    let title = errors.title(t, t.get("identity.recover_title"));
    refused.page(
        &chrome,
        &title,
        &RecoverPage {
            t,
            personal_id: &typed_id,
            errors,
        },
    )
}
