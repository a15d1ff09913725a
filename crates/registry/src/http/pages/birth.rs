//! Birth registration from a page (Law on Identification 2023, art. 19: a personal ID number
//! is issued when a birth is registered): the same service call as
//! `POST /api/v1/registry/births`. Issuing a number cannot be undone, so the official first
//! sees the answers to check, with any child already registered under the same name, date
//! of birth and mother, and confirms; the new record then opens with a confirmation.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kernel::{Message, PersonalId, ProvinceCode, Sex};
use serde::Deserialize;
use web::layout::render;
use web::{Authenticated, Chrome, Feedback, FormErrors, Lang, Problem, Site, Texts};

use super::{form_date, province_name, provinces_in_force};
use crate::domain::access::{Official, Purpose};
use crate::domain::birth::BirthRegistration;
use crate::domain::record::Relative;
use crate::domain::summary::Summary;
use crate::domain::version::Change;
use crate::http::{official, require_basis};
use crate::service::Registry;

/// The fields of the form, in the order of the page (the error summary links to these).
const FIELDS: [&str; 11] = [
    "full_name",
    "birth_date",
    "sex",
    "birth_registration_province",
    "place_of_birth",
    "ethnicity",
    "father_name",
    "father_id",
    "mother_name",
    "mother_id",
    "basis",
];

/// What the official entered, kept as typed so a page sent back shows it unchanged.
#[derive(Deserialize, Default, Clone)]
pub(in crate::http) struct BirthForm {
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    sex: String,
    #[serde(default)]
    birth_registration_province: String,
    #[serde(default)]
    place_of_birth: String,
    #[serde(default)]
    ethnicity: String,
    #[serde(default)]
    father_name: String,
    #[serde(default)]
    father_id: String,
    #[serde(default)]
    mother_name: String,
    #[serde(default)]
    mother_id: String,
    #[serde(default)]
    basis: String,
    /// `check` (the default), `edit` (back to the form) or `confirm` (issue the number).
    #[serde(default)]
    step: String,
    /// Ticked when the official has checked that a same-named child is someone else.
    #[serde(default)]
    not_duplicate: Option<String>,
}

/// Reads of possible duplicates are logged with this purpose; the citizens concerned see it.
const DUPLICATE_CHECK: &str = "Kiểm tra trùng lặp khi đăng ký khai sinh";
/// The purpose under which the new record opens after registration.
const REGISTERED: &str = "Đăng ký khai sinh";

#[derive(Template)]
#[template(path = "birth.html")]
struct BirthPage<'a> {
    t: &'a Texts,
    form: &'a BirthForm,
    errors: Feedback,
    /// Provinces in force today, by code and name in the reader's language.
    provinces: &'a [(String, String)],
    ethnicities: Vec<(&'a str, &'a str)>,
}

#[derive(Template)]
#[template(path = "birth_check.html")]
struct CheckPage<'a> {
    t: &'a Texts,
    form: &'a BirthForm,
    errors: Feedback,
    birth_date: String,
    sex: &'a str,
    province: String,
    ethnicity: &'a str,
    duplicates: Vec<Summary>,
}

/// The options and names a page needs, read once per request.
struct Choices<'a> {
    provinces: Vec<(String, String)>,
    registry: &'a Registry,
}

impl<'a> Choices<'a> {
    fn of(site: &Site, registry: &'a Registry, lang: Lang) -> Self {
        Self {
            provinces: provinces_in_force(site, lang),
            registry,
        }
    }

    fn province_name(&self, code: &str) -> String {
        province_name(&self.provinces, code)
    }
}

pub(in crate::http) async fn form(
    chrome: Chrome,
    Authenticated(principal): Authenticated,
    State(registry): State<Registry>,
    State(site): State<Site>,
) -> Response {
    if let Err(problem) = official(&principal) {
        return problem.into_response();
    }
    let form = BirthForm {
        ethnicity: "01".into(),
        ..BirthForm::default()
    };
    form_page(
        &chrome,
        &Choices::of(&site, &registry, chrome.lang),
        &form,
        &FormErrors::new(),
    )
}

fn form_page(
    chrome: &Chrome,
    choices: &Choices,
    form: &BirthForm,
    errors: &FormErrors,
) -> Response {
    let t = chrome.t();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let feedback = Feedback::of(t, errors, &FIELDS);
    let title = feedback.title(t, t.get("registry.birth_title"));
    let page = BirthPage {
        t,
        form,
        errors: feedback,
        provinces: &choices.provinces,
        ethnicities: choices.registry.lists().ethnicities().collect(),
    };
    match render(&page) {
        Ok(body) => chrome.page_with_status(status, &title, &body),
        Err(problem) => problem.into_response(),
    }
}

/// Reads every field, noting each one at fault, so the page reports them all at once.
fn parse(form: &BirthForm, errors: &mut FormErrors) -> Option<BirthRegistration> {
    let full_name = required(errors, "full_name", &form.full_name);
    let birth_date = required(errors, "birth_date", &form.birth_date)
        .and_then(|text| errors.check("birth_date", form_date(text)));
    let sex = required(errors, "sex", &form.sex)
        .and_then(|text| errors.check("sex", Sex::parse(text).map_err(|e| e.message)));
    let province = required(
        errors,
        "birth_registration_province",
        &form.birth_registration_province,
    )
    .and_then(|text| {
        errors.check(
            "birth_registration_province",
            ProvinceCode::parse(text).map_err(|e| e.message),
        )
    });
    let father = parent(errors, &form.father_name, &form.father_id, "father");
    let mother = parent(errors, &form.mother_name, &form.mother_id, "mother");
    if form.basis.trim().chars().count() < 5 {
        errors.field("basis", Message::new("registry.basis_required"));
    }
    Some(BirthRegistration {
        full_name: full_name?.to_owned(),
        birth_date: birth_date?,
        sex: sex?,
        birth_registration_province: province?,
        place_of_birth: filled_text(&form.place_of_birth),
        ethnicity: filled_text(&form.ethnicity).unwrap_or_else(|| "01".into()),
        religion: "00".into(),
        nationality: "VN".into(),
        father: father?,
        mother: mother?,
        permanent_residence: None,
        household: None,
    })
    .filter(|_| errors.is_empty())
}

fn required<'f>(errors: &mut FormErrors, field: &str, value: &'f str) -> Option<&'f str> {
    let value = value.trim();
    if value.is_empty() {
        errors.field(field, Message::new("field.required"));
        None
    } else {
        Some(value)
    }
}

fn filled_text(value: &str) -> Option<String> {
    Some(value.trim())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// A parent named on the form; the ID number is optional (a parent may have none yet), but
/// a number without a name is a mistake.
fn parent(errors: &mut FormErrors, name: &str, id: &str, which: &str) -> Option<Option<Relative>> {
    let (name_field, id_field) = (format!("{which}_name"), format!("{which}_id"));
    let personal_id = match id.trim() {
        "" => Some(None),
        text => errors
            .check(&id_field, PersonalId::parse(text).map_err(|e| e.message))
            .map(Some),
    };
    match (name.trim(), personal_id) {
        ("", Some(Some(_))) => {
            errors.field(&name_field, Message::new("flat.relative_name"));
            None
        }
        ("", Some(None)) => Some(None),
        (full_name, Some(personal_id)) => Some(Some(Relative {
            full_name: full_name.to_owned(),
            personal_id,
            nationality: "VN".into(),
        })),
        (_, None) => None,
    }
}

pub(in crate::http) async fn register(
    chrome: Chrome,
    Authenticated(principal): Authenticated,
    State(registry): State<Registry>,
    State(site): State<Site>,
    Form(form): Form<BirthForm>,
) -> Response {
    let official = match official(&principal) {
        Ok(official) => official,
        Err(problem) => return problem.into_response(),
    };
    let choices = Choices::of(&site, &registry, chrome.lang);
    let mut errors = FormErrors::new();
    if form.step == "edit" {
        return form_page(&chrome, &choices, &form, &errors);
    }
    let Some(birth) = parse(&form, &mut errors) else {
        return form_page(&chrome, &choices, &form, &errors);
    };
    let today = web::reference::today_in_vietnam();
    if let Err(error) = registry.check_birth(&birth, today).await {
        return form_page(
            &chrome,
            &choices,
            &form,
            &FormErrors::of_problem(&Problem::from(error)),
        );
    }
    let duplicates = match duplicates_of(&registry, &official, &birth).await {
        Ok(found) => found,
        Err(problem) => return problem.into_response(),
    };
    let confirmed = form.step == "confirm";
    if confirmed && !duplicates.is_empty() && form.not_duplicate.is_none() {
        errors.field("not_duplicate", Message::new("birth.confirm_not_duplicate"));
    }
    if !confirmed || !errors.is_empty() {
        return check_page(&chrome, &choices, &form, &errors, duplicates);
    }
    let basis = match require_basis(&form.basis) {
        Ok(basis) => basis,
        Err(problem) => {
            return form_page(&chrome, &choices, &form, &FormErrors::of_problem(&problem));
        }
    };
    let change = Change {
        actor: official.actor(),
        basis,
    };
    match registry.register_birth(birth, change, today).await {
        Ok(record) => {
            let purpose: String = form_urlencoded::byte_serialize(REGISTERED.as_bytes()).collect();
            Redirect::to(&format!(
                "/registry/citizens/{}?purpose={purpose}&done=issued",
                record.personal_id
            ))
            .into_response()
        }
        Err(error) => form_page(
            &chrome,
            &choices,
            &form,
            &FormErrors::of_problem(&Problem::from(error)),
        ),
    }
}

async fn duplicates_of(
    registry: &Registry,
    official: &Official,
    birth: &BirthRegistration,
) -> Result<Vec<Summary>, Problem> {
    let purpose = Purpose::parse(DUPLICATE_CHECK).map_err(|m| Problem::internal(&m))?;
    Ok(registry
        .same_birth(official.reading(&purpose), birth)
        .await?)
}

fn check_page(
    chrome: &Chrome,
    choices: &Choices,
    form: &BirthForm,
    errors: &FormErrors,
    duplicates: Vec<Summary>,
) -> Response {
    let t = chrome.t();
    let feedback = Feedback::of(t, errors, &["not_duplicate"]);
    let title = feedback.title(t, t.get("registry.birth_check_title"));
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = CheckPage {
        t,
        form,
        errors: feedback,
        birth_date: web::layout::local_date(&form.birth_date),
        sex: t.get(if form.sex == "male" {
            "registry.sex_male"
        } else {
            "registry.sex_female"
        }),
        province: choices.province_name(form.birth_registration_province.trim()),
        ethnicity: choices
            .registry
            .lists()
            .ethnicity_name(form.ethnicity.trim())
            .unwrap_or("—"),
        duplicates,
    };
    match render(&page) {
        Ok(body) => chrome.page_with_status(status, &title, &body),
        Err(problem) => problem.into_response(),
    }
}
