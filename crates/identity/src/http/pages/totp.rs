//! Setting up a second factor on a cheap phone: the key as a QR code drawn on the server
//! (inline SVG, no script), as a link that opens an authenticator app, and typed by hand in
//! groups of four; then the first code to confirm it. A wrong code keeps the key already
//! added to the app: the person tries the app's next code instead of scanning again.

use askama::Template;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use web::{Authenticated, Chrome, Feedback, FormErrors, Site, Texts};

use super::assistance::Acting;
use super::{Refused, page, see_other, six_digits};
use crate::accounts::Identity;
use crate::error::IdentityError;
use crate::totp::Enrolment;

pub(super) fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Identity: FromRef<S>,
    Site: FromRef<S>,
{
    Router::new().route("/account/totp", get(totp_form).post(totp_confirm))
}

#[derive(Template)]
#[template(path = "totp.html")]
struct TotpPage<'a> {
    t: &'a Texts,
    /// The key to add to the app, when one was just made.
    enrolment: Option<Shown>,
    /// Whether a key waits for its first code (the form is shown).
    pending: bool,
    errors: Feedback,
}

/// A key as the page shows it.
struct Shown {
    url: String,
    grouped: String,
    qr_svg: String,
}

impl Shown {
    fn of(t: &Texts, enrolment: &Enrolment) -> Self {
        Self {
            url: enrolment.url.clone(),
            grouped: grouped(&enrolment.secret),
            qr_svg: qr_svg(&enrolment.url, t.get("identity.totp_qr")),
        }
    }
}

/// `JBSWY3DPEHPK3PXP` as `JBSW Y3DP EHPK 3PXP`: easier to copy by hand, letter by letter.
fn grouped(secret: &str) -> String {
    secret
        .chars()
        .collect::<Vec<_>>()
        .chunks(4)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `otpauth://` link as a QR code in SVG, for the page to hold inline; empty if it
/// cannot be drawn (the link and the typed key still work).
fn qr_svg(url: &str, label: &str) -> String {
    let Ok(code) = qrcode::QrCode::new(url.as_bytes()) else {
        return String::new();
    };
    let drawn = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build();
    // The drawing alone, named for screen readers; the XML declaration is for files.
    let Some((_, drawing)) = drawn.split_once("<svg") else {
        return String::new();
    };
    let label: String = label
        .chars()
        .filter(|c| !matches!(c, '"' | '<' | '>' | '&'))
        .collect();
    format!(r#"<svg role="img" aria-label="{label}"{drawing}"#)
}

/// Shows a new key to add to an authenticator app, or that one is already set up.
async fn totp_form(
    chrome: Chrome,
    Authenticated(principal): Authenticated,
    State(identity): State<Identity>,
    Acting(acting): Acting,
) -> Response {
    // A helper acting for a citizen sees what they may do for the citizen, not their own
    // account.
    if acting.is_some() {
        return see_other("/assist", None);
    }
    let t = chrome.t();
    let enrolment = match identity
        .begin_totp(&principal.account_id, &principal.personal_id.to_string())
        .await
    {
        Ok(enrolment) => Some(Shown::of(t, &enrolment)),
        Err(IdentityError::Invalid { .. }) => None,
        Err(other) => return web::Problem::from(other).into_response(),
    };
    page(
        &chrome,
        StatusCode::OK,
        "identity.totp_title",
        &TotpPage {
            t,
            pending: enrolment.is_some(),
            enrolment,
            errors: Feedback::none(),
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
    let t = chrome.t();
    let mut errors = FormErrors::new();
    let refused = match six_digits(&mut errors, "code", form.code.as_deref().unwrap_or("")) {
        None => Refused::invalid(errors),
        Some(code) => match identity.confirm_totp(&principal.account_id, &code).await {
            Ok(()) => return see_other("/account?done=totp", None),
            // "Already set up" and "not started" concern the page, not the code.
            Err(error) => match Refused::of(error, &[("totp", "")]) {
                Ok(refused) => refused,
                Err(problem) => return problem.into_response(),
            },
        },
    };
    let pending = refused
        .errors
        .clone()
        .into_fields()
        .iter()
        .any(|issue| issue.field == "code");
    let errors = Feedback::of(t, &refused.errors, &["code"]);
    let title = errors.title(t, t.get("identity.totp_title"));
    refused.page(
        &chrome,
        &title,
        &TotpPage {
            t,
            enrolment: None,
            pending,
            errors,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_reads_in_groups_of_four() {
        assert_eq!(grouped("JBSWY3DPEHPK3PXP"), "JBSW Y3DP EHPK 3PXP");
        assert_eq!(grouped("ABCDEF"), "ABCD EF");
    }

    #[test]
    fn the_qr_code_is_an_inline_drawing_with_a_name() {
        let svg = qr_svg(
            "otpauth://totp/lienthong:079085000001?secret=JBSWY3DPEHPK3PXP&issuer=lienthong",
            "Mã QR \"thử\"",
        );
        assert!(
            svg.starts_with(r#"<svg role="img" aria-label="Mã QR thử" "#),
            "{svg}"
        );
        assert!(svg.ends_with("</svg>"), "{svg}");
        assert!(!svg.contains("<?xml") && !svg.contains("<script"), "{svg}");
    }
}
