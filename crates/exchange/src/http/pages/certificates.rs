//! The certificates section of the /exchange page: the client certificates the viewer may
//! manage, a form to issue one from a pasted CSR (the page then shows it to copy or
//! download), a revoke button per active certificate, and links to the CA certificate and
//! revocation list. The same service calls and rules as the API.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Redirect, Response};
use kernel::Message;
use serde::Deserialize;
use web::confirm::{Ask, Confirmation};
use web::{Authenticated, Chrome, Principal, Problem};

use super::{Refusal, show};
use crate::Exchange;
use crate::ca::DEFAULT_DAYS;
use crate::catalog::{ExchangeError, Snapshot};
use crate::management::Manager;
use crate::management::certificates::{self, Certificate, CertificateRequest};

/// The issue form as typed, so a refused request can be corrected instead of retyped.
#[derive(Debug, Default, Deserialize)]
pub(in crate::http) struct IssueForm {
    #[serde(default)]
    subsystem: String,
    #[serde(default)]
    csr: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    replaces: String,
}

/// What the section shows besides the list: a certificate just issued, or a refusal with
/// the form as it was sent.
#[derive(Debug, Default)]
pub(super) struct Shown {
    issued: Option<String>,
    form: IssueForm,
}

impl Shown {
    /// After issuing: the page shows `serial`'s certificate to copy or download.
    pub(super) fn issued(serial: Option<String>) -> Self {
        Self {
            issued: serial,
            ..Self::default()
        }
    }
}

pub(super) struct JustIssued {
    pub serial: String,
    pub pem: String,
}

pub(super) struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The certificates section of the exchange page.
pub(super) struct Section {
    pub rows: Vec<Certificate>,
    pub subsystems: Vec<Choice>,
    /// `None` first, then the active certificates a new one could replace.
    pub replaceable: Vec<Choice>,
    pub issued: Option<JustIssued>,
    pub csr: String,
    pub days: String,
}

pub(super) async fn section(
    exchange: &Exchange,
    manager: &Manager,
    snapshot: &Snapshot,
    shown: Shown,
) -> Result<Section, ExchangeError> {
    let rows = certificates::visible(exchange, manager).await?;
    // Only a certificate the viewer may see is shown again, even when the serial is guessed.
    let issued = match shown.issued.and_then(|serial| {
        rows.iter()
            .find(|c| c.serial == serial)
            .map(|c| c.serial.clone())
    }) {
        Some(serial) => Some(JustIssued {
            pem: exchange.catalog.certificate_pem(&serial).await?,
            serial,
        }),
        None => None,
    };
    let form = shown.form;
    let subsystems = snapshot
        .subsystems
        .iter()
        .filter(|(id, _)| manager.manages(&id.member))
        .map(|(id, name)| Choice {
            value: id.to_string(),
            label: format!("{id} ({name})"),
            selected: form.subsystem.trim() == id.to_string(),
        })
        .collect();
    let replaceable = rows
        .iter()
        .filter(|c| c.is_active())
        .map(|c| Choice {
            value: c.serial.clone(),
            label: format!("{} ({})", c.serial, c.subsystem),
            selected: form.replaces.trim() == c.serial,
        })
        .collect();
    Ok(Section {
        rows,
        subsystems,
        replaceable,
        issued,
        days: match form.days.trim() {
            "" => DEFAULT_DAYS.to_string(),
            typed => typed.to_owned(),
        },
        csr: form.csr,
    })
}

/// The issue form's API field names and the page's ids for them.
const INPUTS: [(&str, &str); 4] = [
    ("subsystem", "certificate_subsystem"),
    ("csr", "certificate_csr"),
    ("days", "certificate_days"),
    ("replaces", "certificate_replaces"),
];

/// The page again with `refusal` told on the issue form, which keeps what was sent.
async fn refused(
    chrome: &Chrome,
    exchange: &Exchange,
    principal: &Principal,
    refusal: Problem,
    form: IssueForm,
) -> Response {
    let shown = Shown { issued: None, form };
    let told = Refusal::of(&refusal, &INPUTS, Vec::new());
    show(chrome, exchange, principal, refusal.status(), told, shown).await
}

fn request(form: &IssueForm) -> Result<CertificateRequest, Problem> {
    let days = match form.days.trim() {
        "" => None,
        typed => Some(typed.parse::<u32>().map_err(|_| {
            Problem::told(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-field",
                Message::new("exchange.days_number").with("found", format!("{typed:?}")),
            )
            .field("days")
        })?),
    };
    Ok(CertificateRequest {
        subsystem: form.subsystem.clone(),
        csr: form.csr.clone(),
        days,
        replaces: Some(form.replaces.clone()),
    })
}

pub(in crate::http) async fn issue(
    chrome: Chrome,
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    Form(form): Form<IssueForm>,
) -> Response {
    let issued = match (
        Manager::of(&principal).map_err(Problem::from),
        request(&form),
    ) {
        (Ok(manager), Ok(request)) => certificates::issue(&exchange, &manager, &request)
            .await
            .map_err(Problem::from),
        (Err(refusal), _) | (_, Err(refusal)) => Err(refusal),
    };
    match issued {
        // Redirect, so reloading the page shows the certificate instead of issuing another.
        Ok(issued) => Redirect::to(&format!("/exchange?issued={}#certificates", issued.serial))
            .into_response(),
        Err(refusal) => refused(&chrome, &exchange, &principal, refusal, form).await,
    }
}

/// Revoking asks first: every connection the system makes with the certificate is refused
/// from then on, and a revoked certificate cannot be brought back.
pub(in crate::http) async fn revoke(
    chrome: Chrome,
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    Path(serial): Path<String>,
    Query(confirmation): Query<Confirmation>,
) -> Response {
    if !confirmation.given() {
        // Only a certificate the viewer manages is described, even when its serial is guessed.
        let managed = match Manager::of(&principal) {
            Ok(manager) => certificates::visible(&exchange, &manager)
                .await
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        if let Some(certificate) = managed
            .into_iter()
            .find(|c| c.serial == serial && c.is_active())
        {
            let t = chrome.t();
            let validity = format!(
                "{} – {}",
                web::layout::local_time(&certificate.not_before),
                web::layout::local_time(&certificate.not_after)
            );
            return Ask {
                t,
                title: t.get("certificates.revoke_title"),
                lead: t.get("certificates.revoke_lead"),
                facts: vec![
                    (t.get("certificates.subsystem"), certificate.subsystem),
                    (t.get("certificates.serial"), certificate.serial.clone()),
                    (t.get("certificates.validity"), validity),
                ],
                action: format!("/exchange/certificates/{}/revoke", certificate.serial),
                button: t.get("certificates.revoke"),
                back: ("/exchange#certificates", t.get("exchange.keep")),
            }
            .page(&chrome);
        }
    }
    let revoked = match Manager::of(&principal) {
        Ok(manager) => certificates::revoke(&exchange, &manager, &serial).await,
        Err(refusal) => Err(refusal),
    };
    match revoked {
        Ok(()) => Redirect::to("/exchange#certificates").into_response(),
        Err(refusal) => {
            let refusal = Problem::from(refusal);
            refused(
                &chrome,
                &exchange,
                &principal,
                refusal,
                IssueForm::default(),
            )
            .await
        }
    }
}

/// The certificate as a file, for the people who manage its subsystem.
pub(in crate::http) async fn download(
    Authenticated(principal): Authenticated,
    State(exchange): State<Exchange>,
    Path(serial): Path<String>,
) -> Result<Response, Problem> {
    let manager = Manager::of(&principal)?;
    let (serial, pem) = certificates::pem(&exchange, &manager, &serial).await?;
    Ok((
        [
            (CONTENT_TYPE, "application/pem-certificate-chain".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{serial}.pem\""),
            ),
        ],
        pem,
    )
        .into_response())
}

/// The page's query: `?issued=SERIAL` after issuing.
#[derive(Deserialize)]
pub(in crate::http) struct PageQuery {
    pub issued: Option<String>,
}
