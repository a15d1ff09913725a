//! The person's own account page, in words a person reads: agencies by name, roles and the
//! assurance level in words, sessions by browser and device, times in Vietnam's time zone.
//! While a helper acts for a citizen, the helper's own account is not shown under the
//! citizen's banner: its pages send the helper to what they may do for the citizen.

use askama::Template;
use axum::Router;
use axum::extract::{FromRef, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kernel::{AgencyCode, Role, Scope};
use serde::Deserialize;
use web::{Authenticated, Chrome, Feedback, Lang, Site, Texts};

use super::assistance::{Acting, MandateForm};
use super::{page, see_other};
use crate::accounts::Identity;
use crate::assistance::{AssistedAction, Mandate, MandateStatus};
use crate::passkeys::PasskeyInfo;
use crate::sessions::session_token;

pub(super) fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Identity: FromRef<S>,
    Site: FromRef<S>,
{
    Router::new()
        .route("/account", get(account))
        .route("/account/sessions/{id}/revoke", post(revoke))
        .route("/account/passkeys/{id}/remove", post(remove_passkey))
}

/// Names for the codes a page would otherwise show, in the reader's language.
pub(crate) struct Names<'a> {
    site: &'a Site,
    lang: Lang,
}

impl<'a> Names<'a> {
    pub fn new(site: &'a Site, lang: Lang) -> Self {
        Self { site, lang }
    }

    /// An agency by its name in force today (`BCA` is Bộ Công an); a code the agency list
    /// does not hold (a helpers' team) as it is.
    pub fn agency(&self, code: &str) -> String {
        let today = web::reference::today_in_vietnam();
        AgencyCode::parse(code)
            .ok()
            .and_then(|code| self.site.reference.agencies.find(&code, today))
            .map_or_else(
                || code.to_owned(),
                |agency| match self.lang {
                    Lang::Vi => agency.name_vi.clone(),
                    Lang::En => agency.name_en.clone(),
                },
            )
    }
}

pub(crate) fn role_label(t: &Texts, role: Role) -> &str {
    t.get(match role {
        Role::RegistryOfficer => "role.registry_officer",
        Role::IdentityVerifier => "role.identity_verifier",
        Role::ExchangeOperator => "role.exchange_operator",
        Role::ExchangeAdmin => "role.exchange_admin",
        Role::AssistHelper => "role.assist_helper",
    })
}

/// The assurance level in words (Decree 69/2024): how the account was confirmed.
pub(crate) fn level_label(t: &Texts, level: i64) -> &str {
    t.get(if level >= 2 {
        "identity.level_2"
    } else {
        "identity.level_1"
    })
}

/// A browser and the system it runs on, read simply from the user agent: "Chrome trên
/// Android". Unknown parts are said to be unknown, never shown raw.
pub(crate) fn device(t: &Texts, user_agent: &str) -> String {
    let ua = user_agent;
    let browser = if ua.contains("coc_coc_browser") {
        Some("Cốc Cốc")
    } else if ua.contains("Zalo") {
        Some("Zalo")
    } else if ua.contains("SamsungBrowser") {
        Some("Samsung Internet")
    } else if ua.contains("Edg/") || ua.contains("EdgA/") || ua.contains("EdgiOS/") {
        Some("Edge")
    } else if ua.contains("OPR/") || ua.contains("Opera") {
        Some("Opera")
    } else if ua.contains("Firefox/") || ua.contains("FxiOS/") {
        Some("Firefox")
    } else if ua.contains("Chrome/") || ua.contains("CriOS/") || ua.contains("Chromium/") {
        Some("Chrome")
    } else if ua.contains("Safari/") && ua.contains("Version/") {
        Some("Safari")
    } else {
        None
    };
    let system = if ua.contains("Android") {
        Some("Android")
    } else if ua.contains("iPhone") {
        Some("iPhone")
    } else if ua.contains("iPad") {
        Some("iPad")
    } else if ua.contains("Windows") {
        Some("Windows")
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        Some("macOS")
    } else if ua.contains("CrOS") {
        Some("ChromeOS")
    } else if ua.contains("Linux") {
        Some("Linux")
    } else {
        None
    };
    match (browser, system) {
        (Some(browser), Some(system)) => t
            .get("identity.device_on")
            .replace("{browser}", browser)
            .replace("{system}", system),
        (Some(browser), None) => browser.to_owned(),
        (None, Some(system)) => t
            .get("identity.device_unknown_on")
            .replace("{system}", system),
        (None, None) => t.get("identity.device_unknown").to_owned(),
    }
}

/// A session as the page lists it.
struct SessionRow {
    id: String,
    started: String,
    method: &'static str,
    device: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    t: &'a Texts,
    principal: &'a web::Principal,
    level: &'a str,
    /// Each role in words with the agency by name.
    roles: Vec<String>,
    /// What was just done, confirmed at the top.
    done: Option<&'a str>,
    sessions: Vec<SessionRow>,
    /// Who looked at this person's registry record, newest first, agencies by name.
    views: Vec<(String, String, String)>,
    second_factor: bool,
    passkeys: Vec<PasskeyInfo>,
    /// Mandates this person gave to helpers, and what helpers did under them.
    mandates_given: Vec<Mandate>,
    actions: Vec<AssistedAction>,
    /// For a community digital technology team member: mandates given to them.
    is_helper: bool,
    mandates_held: Vec<Mandate>,
    scopes: [Scope; 3],
    form: MandateForm,
    errors: Feedback,
    names: Names<'a>,
}

fn method_key(method: &str) -> &'static str {
    match method {
        "passkey" => "identity.method_passkey",
        "password_totp" => "identity.method_password_totp",
        _ => "identity.method_password",
    }
}

#[derive(Deserialize)]
struct AccountQuery {
    done: Option<String>,
}

async fn account(
    chrome: Chrome,
    Authenticated(principal): Authenticated,
    State(identity): State<Identity>,
    State(site): State<Site>,
    Acting(acting): Acting,
    Query(query): Query<AccountQuery>,
    headers: HeaderMap,
) -> Response {
    if acting.is_some() {
        return see_other("/assist", None);
    }
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
    let (sessions, views, second_factor, passkeys, (mandates_given, actions, mandates_held)) =
        match page_parts.await {
            Ok(parts) => parts,
            Err(problem) => return problem.into_response(),
        };
    let t = chrome.t();
    let names = Names::new(&site, chrome.lang);
    let done = match query.done.as_deref() {
        Some("totp") => Some("identity.done_totp"),
        Some("mandate") => Some("identity.done_mandate"),
        _ => None,
    };
    let sessions = sessions
        .into_iter()
        .map(|session| SessionRow {
            started: web::layout::local_time(&session.created_at),
            method: method_key(&session.method),
            device: device(t, &session.user_agent),
            current: session.current,
            id: session.id,
        })
        .collect();
    let views = views
        .into_iter()
        .map(|view| {
            (
                web::layout::local_time(&view.viewed_at),
                names.agency(&view.agency),
                view.purpose,
            )
        })
        .collect();
    let roles = principal
        .roles
        .iter()
        .map(|role| {
            format!(
                "{} · {}",
                role_label(t, role.role),
                names.agency(&role.agency)
            )
        })
        .collect();
    page(
        &chrome,
        StatusCode::OK,
        "identity.account_title",
        &AccountPage {
            t,
            principal: &principal,
            level: level_label(t, i64::from(principal.assurance_level)),
            roles,
            done,
            sessions,
            views,
            second_factor,
            passkeys,
            mandates_given,
            actions,
            is_helper: principal.agency_with(Role::AssistHelper).is_some(),
            mandates_held,
            scopes: Scope::ALL,
            form: MandateForm::default(),
            errors: Feedback::none(),
            names,
        },
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use web::I18n;

    #[test]
    fn a_session_is_named_by_its_browser_and_device() -> Result<(), String> {
        let i18n = I18n::load()?;
        let vi = i18n.texts(Lang::Vi);
        for (agent, named) in [
            (
                "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
                "Chrome trên Android",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Safari trên iPhone",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
                "Firefox trên Windows",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) coc_coc_browser/130.0 Chrome/124.0 Safari/537.36",
                "Cốc Cốc trên Windows",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0 Safari/537.36",
                "Chrome trên Linux",
            ),
        ] {
            assert_eq!(device(vi, agent), named, "{agent}");
        }
        assert_eq!(device(vi, ""), vi.get("identity.device_unknown"));
        assert!(!device(vi, "curl/8.0").contains("curl"));
        Ok(())
    }
}
