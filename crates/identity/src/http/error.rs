//! The one place an [`IdentityError`] becomes what an HTTP caller sees: a status, a stable
//! problem `code`, where one input is at fault the field, and what to tell a person as a
//! catalogue [`Message`] (a page shows it in the reader's language, the API sends its English
//! text). Internal errors are logged here with their cause and reach the caller without it.

use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use kernel::Message;
use web::Problem;

use crate::error::IdentityError;

impl From<IdentityError> for Problem {
    fn from(error: IdentityError) -> Self {
        let detail = error.to_string();
        let message = message_of(&error);
        let told = |status, code| Problem::told(status, code, message.clone());
        match error {
            // The API keeps the service's own words ("phone: …"); a page shows the message.
            IdentityError::Invalid { field, .. } => {
                told(StatusCode::UNPROCESSABLE_ENTITY, "invalid-field")
                    .with_detail(detail)
                    .field(field)
            }
            IdentityError::NoMatch => told(StatusCode::UNPROCESSABLE_ENTITY, "registry-mismatch"),
            IdentityError::AccountExists => told(StatusCode::CONFLICT, "account-exists"),
            IdentityError::BadCredentials => told(StatusCode::UNAUTHORIZED, "bad-credentials"),
            IdentityError::Locked { .. } => told(StatusCode::TOO_MANY_REQUESTS, "account-locked"),
            IdentityError::Throttled { .. } => {
                told(StatusCode::TOO_MANY_REQUESTS, "too-many-failures")
            }
            IdentityError::Busy { .. } => told(StatusCode::SERVICE_UNAVAILABLE, "busy"),
            IdentityError::Forbidden(_) => {
                told(StatusCode::FORBIDDEN, "forbidden").with_detail(detail)
            }
            IdentityError::NoAccount => {
                told(StatusCode::NOT_FOUND, "unknown-account").field("personal_id")
            }
            IdentityError::PasskeyRefused(_) => told(StatusCode::UNAUTHORIZED, "passkey-refused")
                .with_detail(detail)
                .field("credential"),
            IdentityError::PasskeysUnavailable(_) => {
                told(StatusCode::BAD_REQUEST, "passkeys-unavailable").with_detail(detail)
            }
            IdentityError::NoMandate => told(StatusCode::FORBIDDEN, "no-mandate"),
            IdentityError::OutOfScope(_) => {
                told(StatusCode::FORBIDDEN, "out-of-scope").with_detail(detail)
            }
            IdentityError::Token(_) => {
                told(StatusCode::BAD_REQUEST, "token-request-refused").with_detail(detail)
            }
            IdentityError::TokenRejected(_) => {
                told(StatusCode::UNAUTHORIZED, "invalid-token").with_detail(detail)
            }
            IdentityError::Population(_) | IdentityError::Store(_) | IdentityError::Internal(_) => {
                Problem::internal(&error)
            }
        }
    }
}

/// What to tell a person about `error`, from the message catalogue.
pub(crate) fn message_of(error: &IdentityError) -> Message {
    match error {
        IdentityError::Invalid { field, reason } => invalid_message(field, reason),
        IdentityError::NoMatch => Message::new("identity.no_match"),
        IdentityError::AccountExists => Message::new("identity.account_exists"),
        IdentityError::BadCredentials => Message::new("identity.bad_credentials"),
        IdentityError::Locked { until } => {
            Message::new("identity.locked").with("until", web::layout::local_time(until))
        }
        IdentityError::Throttled {
            retry_after_seconds,
        } => Message::new("identity.throttled").with("seconds", retry_after_seconds),
        IdentityError::Busy {
            retry_after_seconds,
        } => Message::new("identity.busy").with("seconds", retry_after_seconds),
        IdentityError::Forbidden(_) => Message::new("identity.forbidden"),
        IdentityError::NoAccount => Message::new("identity.no_account"),
        IdentityError::PasskeyRefused(_) => Message::new("identity.passkey_refused"),
        IdentityError::PasskeysUnavailable(_) => Message::new("identity.passkeys_unavailable"),
        IdentityError::NoMandate => Message::new("identity.no_mandate"),
        IdentityError::OutOfScope(_) => Message::new("identity.out_of_scope"),
        IdentityError::Token(_) => Message::new("identity.token_refused"),
        IdentityError::TokenRejected(_) => Message::new("identity.token_rejected"),
        IdentityError::Population(_) | IdentityError::Store(_) | IdentityError::Internal(_) => {
            Message::new("problem.internal")
        }
    }
}

/// The service states a broken rule in English (`reason`); the rules a person meets on a
/// page are listed here with their catalogue message. A test holds every listed reason to
/// the service's sources, so a reworded rule fails it instead of showing English.
const INVALID_REASONS: &[(&str, &str, &str)] = &[
    (
        "phone",
        "give a phone number or an e-mail address to receive codes",
        "identity.contact_required",
    ),
    (
        "password",
        "must be at least 10 characters",
        "password.too_short",
    ),
    (
        "password",
        "must be at most 128 characters",
        "password.too_long",
    ),
    (
        "password",
        "is one of the most common passwords",
        "password.common",
    ),
    (
        "password",
        "must not be digits only: numbers such as dates and phone numbers are guessed first",
        "password.digits_only",
    ),
    (
        "password",
        "must not be a character repeated or a run such as abcdef or hahaha",
        "password.run",
    ),
    (
        "password",
        "must not contain the personal ID number",
        "password.personal_id",
    ),
    (
        "password",
        "must not contain the phone number",
        "password.phone",
    ),
    (
        "password",
        "must not contain the date of birth",
        "password.birth_date",
    ),
    (
        "totp",
        "a second factor is already set up",
        "identity.totp_active",
    ),
    (
        "totp",
        "start the set-up first",
        "identity.totp_not_started",
    ),
    (
        "code",
        "the code is not right; check the phone's clock",
        "identity.totp_wrong",
    ),
    (
        "helper_personal_id",
        "a mandate is given to someone else",
        "identity.mandate_self",
    ),
    (
        "helper_personal_id",
        "no e-ID account has this number",
        "identity.helper_unknown",
    ),
    (
        "helper_personal_id",
        "this person is not a registered member of a community digital technology team",
        "identity.helper_not_member",
    ),
    (
        "scopes",
        "choose at least one thing the helper may do",
        "identity.scopes_required",
    ),
    ("days", "from 1 to 30 days", "identity.mandate_days"),
];

pub(crate) fn invalid_message(field: &str, reason: &str) -> Message {
    let known = INVALID_REASONS
        .iter()
        .find(|(f, r, _)| *f == field && *r == reason)
        .map(|(_, _, key)| *key);
    match known {
        Some(key) => Message::new(key),
        // A rule of the API's (a client's redirect URI, a token's scope): said in general
        // words on a page, never in the service's English.
        None => Message::new("identity.invalid"),
    }
}

/// Tells a refused caller when to come back, where that is known (RFC 9110 §10.2.3
/// Retry-After, on 429 and 503): see [`IdentityError::retry_after_seconds`].
pub(crate) fn with_retry_after(mut response: Response, seconds: Option<u64>) -> Response {
    if let Some(value) = seconds.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
        response.headers_mut().insert(RETRY_AFTER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every listed reason is one the service states, word for word, and has words in both
    /// languages.
    #[test]
    fn listed_reasons_are_the_services_and_have_texts() -> Result<(), std::io::Error> {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut sources = String::new();
        let mut pending = vec![src];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let path = entry?.path();
                if path.is_dir() {
                    if !path.ends_with("http") {
                        pending.push(path);
                    }
                } else if path.extension().is_some_and(|e| e == "rs") {
                    sources.push_str(&std::fs::read_to_string(&path)?);
                }
            }
        }
        let english = kernel::message::Catalogue::english();
        let vietnamese = kernel::message::Catalogue::vietnamese();
        for (field, reason, key) in INVALID_REASONS {
            // "from 1 to {MAX_DAYS} days" is written with the constant.
            let written = reason.replace("30", "{MAX_DAYS}");
            assert!(
                sources.contains(&format!("\"{reason}\"")) || sources.contains(&written),
                "{field}: {reason:?} is not a reason the service gives"
            );
            assert_ne!(english.text(key), *key, "{key} has no English text");
            assert_ne!(vietnamese.text(key), *key, "{key} has no Vietnamese text");
        }
        Ok(())
    }

    #[test]
    fn a_page_never_gets_the_services_english() {
        let error = IdentityError::Invalid {
            field: "redirect_uri",
            reason: "\"x\": must be https".into(),
        };
        let problem = Problem::from(error);
        assert_eq!(problem.detail(), "redirect_uri: \"x\": must be https");
        assert_eq!(
            problem.message().map(Message::key),
            Some("identity.invalid")
        );
        let locked = Problem::from(IdentityError::Locked {
            until: time::macros::datetime!(2026-12-01 13:28:25.526526 UTC),
        });
        let text = locked
            .message()
            .map(Message::vietnamese)
            .unwrap_or_default();
        assert!(text.contains("01/12/2026 20:28"), "{text}");
        assert!(!text.contains("UTC"), "{text}");
    }
}
