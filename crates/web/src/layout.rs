//! The page chrome shared by every context: header, navigation, language switch, footer.
//! A context renders its own body template and hands the HTML to [`Chrome::page`], so no
//! template has to inherit across crates.

use std::convert::Infallible;
use std::sync::Arc;

use askama::Template;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Response};

use kernel::Role;

use crate::lang::{I18n, Lang, Texts};
use crate::{Problem, Site};

/// The reader's language and the current path, taken from the request.
pub struct Chrome {
    pub lang: Lang,
    pub path: String,
    /// The query the page was asked with, kept by the language switch (without `lang`).
    query: String,
    /// The signed-in person's name, shown in the header.
    pub signed_in: Option<String>,
    /// The roles the signed-in person holds: the navigation offers their work.
    roles: Vec<Role>,
    /// The citizen a helper is acting for, named in a banner on every page.
    pub acting_for: Option<String>,
    /// Whether the page loads htmx: 52 KB, four fifths of a page's bytes, so only the
    /// pages whose markup uses `hx-*` ask for it ([`Chrome::with_htmx`]).
    htmx: bool,
    i18n: Arc<I18n>,
    people: crate::people::People,
}

pub struct NavItem {
    pub href: &'static str,
    pub label: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "layout.html")]
struct Layout<'a> {
    lang: &'a str,
    t: &'a Texts,
    title: &'a str,
    body: &'a str,
    nav: Vec<NavItem>,
    switch_href: String,
    acting_for: Option<&'a str>,
    htmx: bool,
}

impl Chrome {
    pub fn t(&self) -> &Texts {
        self.i18n.texts(self.lang)
    }

    /// Who is behind each of these actors (`account:<id>`), for a page that says who did
    /// something: the names known.
    pub async fn names<'a>(
        &self,
        actors: impl IntoIterator<Item = &'a str>,
    ) -> std::collections::HashMap<String, String> {
        self.people.names(actors).await
    }

    /// For a page whose markup uses `hx-*` attributes: its layout loads htmx.
    pub fn with_htmx(mut self) -> Self {
        self.htmx = true;
        self
    }

    /// A complete HTML page around `body` (already rendered and escaped by its template).
    pub fn page(&self, title: &str, body: &str) -> Response {
        self.page_with_status(StatusCode::OK, title, body)
    }

    /// Whether the signed-in person holds `role`.
    pub fn holds(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Where the person can go from here: the start page, their own data, and the work of
    /// each role they hold.
    fn navigation(&self) -> Vec<(&'static str, &'static str)> {
        let mut nav = vec![("/", "nav.home")];
        if self.signed_in.is_none() {
            nav.push(("/login", "nav.login"));
            return nav;
        }
        nav.push(("/account/my-data", "nav.my_data"));
        for (role, item) in [
            (Role::RegistryOfficer, ("/registry", "nav.registry")),
            (Role::ExchangeOperator, ("/exchange", "nav.exchange")),
            (Role::ExchangeAdmin, ("/exchange", "nav.exchange")),
            (Role::AssistHelper, ("/assist", "nav.assist")),
            (Role::IdentityVerifier, ("/identity/verify", "nav.verify")),
        ] {
            if self.roles.contains(&role) && !nav.contains(&item) {
                nav.push(item);
            }
        }
        nav.push(("/account", "nav.account"));
        nav
    }

    pub fn page_with_status(&self, status: StatusCode, title: &str, body: &str) -> Response {
        let t = self.t();
        let nav = self
            .navigation()
            .into_iter()
            .map(|(href, key)| NavItem {
                href,
                label: t.get(key).to_owned(),
                current: self.path == href,
            })
            .collect();
        let here = if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        };
        let layout = Layout {
            lang: self.lang.code(),
            t,
            title,
            body,
            nav,
            switch_href: format!(
                "/lang?to={}&next={}",
                self.lang.other().code(),
                form_urlencoded::byte_serialize(here.as_bytes()).collect::<String>()
            ),
            acting_for: self.acting_for.as_deref(),
            htmx: self.htmx,
        };
        match layout.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(error) => Problem::internal(&error).into_response(),
        }
    }
}

impl<S> FromRequestParts<S> for Chrome
where
    S: Send + Sync,
    Site: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let lang = Lang::from_request_parts(parts, state).await?;
        let site = Site::from_ref(state);
        let principal = parts.extensions.get::<crate::Principal>();
        Ok(Self {
            lang,
            path: parts.uri.path().to_owned(),
            query: query_without_lang(parts.uri.query().unwrap_or_default()),
            roles: principal
                .map(|p| p.roles.iter().map(|r| r.role).collect())
                .unwrap_or_default(),
            signed_in: parts
                .extensions
                .get::<crate::Principal>()
                .map(|p| p.full_name.clone()),
            acting_for: parts
                .extensions
                .get::<crate::auth::ActingFor>()
                .map(|a| a.citizen_name.clone()),
            htmx: false,
            i18n: site.i18n,
            people: site.people,
        })
    }
}

/// The query as asked, less any `lang` (the switch sets the language itself).
fn query_without_lang(query: &str) -> String {
    let mut kept = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name != "lang" {
            kept.append_pair(&name, &value);
        }
    }
    kept.finish()
}

/// Renders a body template; a failure is an internal error.
pub fn render(template: &impl Template) -> Result<String, Problem> {
    template.render().map_err(|e| Problem::internal(&e))
}

/// An instant as people in Vietnam read it: `23/11/2026 15:21` (UTC+7).
pub fn local_time(at: &time::OffsetDateTime) -> String {
    let vietnam = time::UtcOffset::from_hms(7, 0, 0).unwrap_or(time::UtcOffset::UTC);
    // Formatting a valid date-time with this layout cannot fail.
    at.to_offset(vietnam)
        .format(time::macros::format_description!(
            "[day]/[month]/[year] [hour]:[minute]"
        ))
        .unwrap_or_default()
}

/// A date as typed in a form (`2026-11-23`) as people in Vietnam write it: `23/11/2026`.
/// Text that is not such a date is shown as it is.
pub fn local_date(typed: &str) -> String {
    time::Date::parse(
        typed.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
    .and_then(|date| {
        date.format(time::macros::format_description!("[day]/[month]/[year]"))
            .ok()
    })
    .unwrap_or_else(|| typed.to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_language_switch_keeps_the_query_but_not_the_language() {
        assert_eq!(
            super::query_without_lang("purpose=h%E1%BB%93+s%C6%A1&lang=en&page=2"),
            "purpose=h%E1%BB%93+s%C6%A1&page=2"
        );
        assert_eq!(super::query_without_lang(""), "");
    }

    #[test]
    fn dates_read_day_first() {
        assert_eq!(super::local_date("2026-11-23"), "23/11/2026");
        assert_eq!(super::local_date("23/11/2026"), "23/11/2026");
    }

    #[test]
    fn timestamps_read_in_vietnam_time() {
        use time::macros::datetime;
        assert_eq!(
            super::local_time(&datetime!(2026-11-23 08:21:52.458645 UTC)),
            "23/11/2026 15:21"
        );
        assert_eq!(
            super::local_time(&datetime!(2026-12-31 17:00 UTC)),
            "01/01/2027 00:00"
        );
    }
}
