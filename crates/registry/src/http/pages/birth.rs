//! Birth registration from a page (Law on Identification 2023, art. 19: a personal ID number
//! is issued when a birth is registered): the same service call as
//! `POST /api/v1/registry/births`; the new record opens on success.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use kernel::{PersonalId, ProvinceCode, Sex};
use serde::Deserialize;
use time::Date;
use time::macros::format_description;
use web::layout::render;
use web::{Authenticated, Chrome, Problem, Texts};

use super::{back_to_record, filled};
use crate::domain::birth::BirthRegistration;
use crate::domain::record::Relative;
use crate::domain::version::Change;
use crate::http::{invalid, official, require_basis};
use crate::service::Registry;

#[derive(Template)]
#[template(path = "birth.html")]
struct BirthPage<'a> {
    t: &'a Texts,
}

pub(in crate::http) async fn form(
    chrome: Chrome,
    Authenticated(principal): Authenticated,
) -> Response {
    if let Err(problem) = official(&principal) {
        return problem.into_response();
    }
    let t = chrome.t();
    match render(&BirthPage { t }) {
        Ok(body) => chrome.page(t.get("registry.birth_title"), &body),
        Err(problem) => problem.into_response(),
    }
}

#[derive(Deserialize)]
pub(in crate::http) struct BirthForm {
    full_name: Option<String>,
    birth_date: Option<String>,
    sex: Option<String>,
    birth_registration_province: Option<String>,
    place_of_birth: Option<String>,
    ethnicity: Option<String>,
    father_name: Option<String>,
    father_id: Option<String>,
    mother_name: Option<String>,
    mother_id: Option<String>,
    basis: Option<String>,
}

/// A parent named on the form; the ID number is optional (a parent may have none yet).
fn parent(
    name: &Option<String>,
    id: &Option<String>,
    id_field: &'static str,
) -> Result<Option<Relative>, Problem> {
    let Some(full_name) = filled(name) else {
        return Ok(None);
    };
    let personal_id = filled(id)
        .map(PersonalId::parse)
        .transpose()
        .map_err(|e| invalid(id_field, e.reason))?;
    Ok(Some(Relative {
        full_name: full_name.to_owned(),
        personal_id,
        nationality: "VN".into(),
    }))
}

pub(in crate::http) async fn register(
    Authenticated(principal): Authenticated,
    State(registry): State<Registry>,
    Form(form): Form<BirthForm>,
) -> Response {
    let result = async {
        let official = official(&principal)?;
        let basis = require_basis(form.basis.as_deref().unwrap_or_default())?;
        let full_name =
            filled(&form.full_name).ok_or_else(|| invalid("full_name", "is required"))?;
        let birth_date = Date::parse(
            filled(&form.birth_date).unwrap_or_default(),
            format_description!("[year]-[month]-[day]"),
        )
        .map_err(|_| invalid("birth_date", "YYYY-MM-DD"))?;
        let sex = Sex::parse(filled(&form.sex).unwrap_or_default())
            .map_err(|e| invalid("sex", e.reason))?;
        let province =
            ProvinceCode::parse(filled(&form.birth_registration_province).unwrap_or_default())
                .map_err(|e| invalid("birth_registration_province", e.reason))?;
        let birth = BirthRegistration {
            full_name: full_name.to_owned(),
            birth_date,
            sex,
            birth_registration_province: province,
            place_of_birth: filled(&form.place_of_birth).map(str::to_owned),
            ethnicity: filled(&form.ethnicity).unwrap_or("01").to_owned(),
            religion: "00".into(),
            nationality: "VN".into(),
            father: parent(&form.father_name, &form.father_id, "father_id")?,
            mother: parent(&form.mother_name, &form.mother_id, "mother_id")?,
            permanent_residence: None,
            household: None,
        };
        let record = registry
            .register_birth(
                birth,
                Change {
                    actor: official.actor(),
                    basis,
                },
                web::reference::today_in_vietnam(),
            )
            .await?;
        Ok::<_, Problem>(record.personal_id)
    }
    .await;
    back_to_record(result, "Đăng ký khai sinh")
}
