//! "My data": a signed-in person sees their own record in the population registry and their
//! residence history (as eesti.ee shows a resident theirs), beside who has read it.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use web::layout::render;
use web::{Chrome, MaybePrincipal, Problem, Site, Texts};

use super::provinces_in_force;
use crate::domain::OwnFile;
use crate::domain::access::Holder;
use crate::domain::record::{Address, CitizenRecord, Relative};
use crate::error::RegistryError;
use crate::service::Registry;

#[derive(Template)]
#[template(path = "my_data.html")]
struct MyDataPage<'a> {
    t: &'a Texts,
    file: Option<OwnFile>,
    ethnicity: &'a str,
    religion: &'a str,
    provinces: Vec<(String, String)>,
}

impl MyDataPage<'_> {
    fn record(&self) -> Option<&CitizenRecord> {
        self.file.as_ref().map(|f| &f.current.record)
    }

    fn day(&self, stored: impl AsRef<str>) -> String {
        web::layout::local_date(stored.as_ref())
    }

    fn kind(&self, kind: impl AsRef<str>) -> String {
        self.t
            .get(&format!("registry.kind_{}", kind.as_ref()))
            .to_owned()
    }

    fn province(&self, code: impl AsRef<str>) -> String {
        super::province_name(&self.provinces, code.as_ref())
    }

    fn sex(&self, record: &CitizenRecord) -> String {
        self.t
            .get(match record.sex {
                kernel::Sex::Male => "registry.sex_male",
                kernel::Sex::Female => "registry.sex_female",
            })
            .to_owned()
    }

    fn marital(&self, record: &CitizenRecord) -> String {
        self.t
            .get(&format!(
                "registry.marital_{}",
                record.marital_status.as_str()
            ))
            .to_owned()
    }

    fn address(&self, address: &Option<Address>) -> String {
        address.as_ref().map_or_else(
            || "—".to_owned(),
            |a| format!("{}, {}", a.detail, self.province(a.province.to_string())),
        )
    }

    fn relative(&self, relative: &Option<Relative>) -> String {
        relative
            .as_ref()
            .map_or_else(|| "—".to_owned(), |r| r.full_name.clone())
    }

    fn opt<'b>(&self, value: &'b Option<String>) -> &'b str {
        value.as_deref().unwrap_or("—")
    }

    fn relationship(&self, record: &CitizenRecord) -> String {
        record.household.as_ref().map_or_else(
            || "—".to_owned(),
            |h| {
                format!(
                    "{} · {}",
                    h.household_id,
                    self.t.get(&format!(
                        "registry.relationship_{}",
                        h.relationship_to_head.as_str()
                    ))
                )
            },
        )
    }
}

/// `GET /account/my-data`.
pub(in crate::http) async fn page(
    chrome: Chrome,
    MaybePrincipal(principal): MaybePrincipal,
    State(registry): State<Registry>,
    State(site): State<Site>,
) -> Response {
    let Some(principal) = principal else {
        return Redirect::to("/login?next=/account/my-data").into_response();
    };
    // An account whose record is gone (a test fixture, a record being merged) still gets the
    // page, saying there is nothing to show.
    let file = match registry.own_file(Holder::of(&principal)).await {
        Ok(file) => Some(file),
        Err(RegistryError::NotFound) => None,
        Err(error) => return Problem::from(error).into_response(),
    };
    let lists = registry.lists();
    let (ethnicity, religion) = file.as_ref().map_or(("—", "—"), |f| {
        (
            lists
                .ethnicity_name(&f.current.record.ethnicity)
                .unwrap_or("—"),
            lists
                .religion_name(&f.current.record.religion)
                .unwrap_or("—"),
        )
    });
    let t = chrome.t();
    let page = MyDataPage {
        t,
        file,
        ethnicity,
        religion,
        provinces: provinces_in_force(&site, chrome.lang),
    };
    match render(&page) {
        Ok(body) => chrome.page(t.get("my_data.title"), &body),
        Err(problem) => problem.into_response(),
    }
}
