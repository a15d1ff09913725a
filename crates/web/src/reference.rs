//! Reference data as pages and a JSON API: provincial units and ministries in force on any
//! date, with the mapping from each former unit to its successor.

use askama::Template;
use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kernel::catalog::{Catalog, Unit};
use kernel::{Agency, AgencyCode, AgencyKind, Province, ProvinceCode, ProvinceKind};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime, UtcOffset};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::lang::Texts;
use crate::layout::{Chrome, render};
use crate::{ApiJson, ApiQuery, Problem, Site};

/// Today in Vietnam (UTC+7), the default date for "in force on".
pub fn today_in_vietnam() -> Date {
    let offset = UtcOffset::from_hms(7, 0, 0).unwrap_or(UtcOffset::UTC);
    OffsetDateTime::now_utc().to_offset(offset).date()
}

pub fn api_routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Site: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(list_provinces))
        .routes(routes!(get_province))
        .routes(routes!(carry_forward_provinces))
        .routes(routes!(list_agencies))
        .routes(routes!(get_agency))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AtQuery {
    /// The date on which the units must be in force (YYYY-MM-DD); today in Vietnam if absent.
    #[param(value_type = Option<String>, format = Date, example = "2025-06-30")]
    at: Option<Date>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PeriodView {
    from: Date,
    /// Last day in force; absent while still in force.
    until: Option<Date>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProvinceView {
    /// Two-digit administrative code.
    code: String,
    /// The three digits that open a personal ID number registered here.
    id_number_prefix: String,
    name_vi: String,
    full_name_vi: String,
    name_en: String,
    /// `city` or `province`.
    kind: String,
    /// The unit that took this one over, for units of a closed period.
    successor: Option<String>,
    /// Units of the previous period that this one took over.
    predecessors: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProvinceList {
    at: Date,
    period: PeriodView,
    count: usize,
    provinces: Vec<ProvinceView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgencyView {
    code: String,
    name_vi: String,
    name_en: String,
    /// `ministry` or `agency` (ministry-level agency).
    kind: String,
    successor: Option<String>,
    predecessors: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgencyList {
    at: Date,
    period: PeriodView,
    count: usize,
    agencies: Vec<AgencyView>,
}

fn province_view(province: &Province, predecessors: &[&Province]) -> ProvinceView {
    ProvinceView {
        code: province.code.to_string(),
        id_number_prefix: province.code.id_number_prefix(),
        name_vi: province.name_vi.clone(),
        full_name_vi: province.full_name_vi(),
        name_en: province.name_en.clone(),
        kind: match province.kind {
            ProvinceKind::City => "city",
            ProvinceKind::Province => "province",
        }
        .to_owned(),
        successor: province.successor.map(|c| c.to_string()),
        predecessors: predecessors.iter().map(|p| p.code.to_string()).collect(),
    }
}

fn agency_view(agency: &Agency, predecessors: &[&Agency]) -> AgencyView {
    AgencyView {
        code: agency.code.to_string(),
        name_vi: agency.name_vi.clone(),
        name_en: agency.name_en.clone(),
        kind: match agency.kind {
            AgencyKind::Ministry => "ministry",
            AgencyKind::Agency => "agency",
        }
        .to_owned(),
        successor: agency.successor.as_ref().map(ToString::to_string),
        predecessors: predecessors.iter().map(|p| p.code.to_string()).collect(),
    }
}

/// The units in force on `at` with their predecessors, or the problem of a date before the
/// catalogue begins.
fn in_force<U: Unit, V>(
    catalog: &Catalog<U>,
    at: Date,
    view: fn(&U, &[&U]) -> V,
) -> Result<(PeriodView, Vec<V>), Problem> {
    let period = catalog.period_at(at).ok_or_else(|| {
        Problem::not_found(
            "no-reference-period",
            format!("no reference data is in force on {at}"),
        )
        .field("at")
    })?;
    let views = catalog
        .successions_at(at)
        .iter()
        .map(|s| view(s.unit, &s.predecessors))
        .collect();
    Ok((
        PeriodView {
            from: period.from,
            until: period.until,
        },
        views,
    ))
}

/// Provincial units in force on a date.
#[utoipa::path(get, path = "/api/v1/provinces", tag = "reference", params(AtQuery),
    responses((status = 200, body = ProvinceList), (status = 400, body = Problem), (status = 404, body = Problem)))]
async fn list_provinces(
    State(site): State<Site>,
    ApiQuery(query): ApiQuery<AtQuery>,
) -> Result<axum::Json<ProvinceList>, Problem> {
    let at = query.at.unwrap_or_else(today_in_vietnam);
    let (period, provinces) = in_force(&site.reference.provinces, at, province_view)?;
    Ok(axum::Json(ProvinceList {
        at,
        period,
        count: provinces.len(),
        provinces,
    }))
}

fn parse_province(code: &str) -> Result<ProvinceCode, Problem> {
    ProvinceCode::parse(code).map_err(|e| {
        Problem::new(StatusCode::BAD_REQUEST, "invalid-province-code", e.reason).field("code")
    })
}

/// One provincial unit by code, as in force on a date.
#[utoipa::path(get, path = "/api/v1/provinces/{code}", tag = "reference",
    params(("code" = String, Path, description = "Two-digit code, or three digits as in an ID number"), AtQuery),
    responses((status = 200, body = ProvinceView), (status = 400, body = Problem), (status = 404, body = Problem)))]
async fn get_province(
    State(site): State<Site>,
    Path(code): Path<String>,
    ApiQuery(query): ApiQuery<AtQuery>,
) -> Result<axum::Json<ProvinceView>, Problem> {
    let code = parse_province(&code)?;
    let at = query.at.unwrap_or_else(today_in_vietnam);
    let (_, provinces) = in_force(&site.reference.provinces, at, province_view)?;
    provinces
        .into_iter()
        .find(|p| p.code == code.to_string())
        .map(axum::Json)
        .ok_or_else(|| unknown_province(code, at).field("code"))
}

fn unknown_province(code: ProvinceCode, at: Date) -> Problem {
    Problem::not_found(
        "unknown-province",
        format!("no provincial unit has code {code} on {at}"),
    )
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CarryForwardRequest {
    /// The date on which the codes were recorded (YYYY-MM-DD).
    recorded_on: Date,
    /// The date to carry them to; today in Vietnam if absent.
    at: Option<Date>,
    /// Province codes as recorded, two or three digits each.
    #[schema(value_type = Vec<String>, example = json!(["74", "079"]))]
    codes: Vec<ProvinceCode>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CarriedProvince {
    recorded: ProvinceView,
    current: ProvinceView,
}

/// Maps province codes recorded under an earlier structure to the units that hold the same
/// territory on a later date (for example, addresses written before 1 July 2025).
#[utoipa::path(post, path = "/api/v1/provinces/carry-forward", tag = "reference",
    request_body = CarryForwardRequest,
    responses((status = 200, body = Vec<CarriedProvince>), (status = 400, body = Problem), (status = 422, body = Problem)))]
async fn carry_forward_provinces(
    State(site): State<Site>,
    ApiJson(request): ApiJson<CarryForwardRequest>,
) -> Result<axum::Json<Vec<CarriedProvince>>, Problem> {
    const MAX_CODES: usize = 1000;
    if request.codes.len() > MAX_CODES {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too-many-codes",
            format!("at most {MAX_CODES} codes per request"),
        )
        .field("codes"));
    }
    let at = request.at.unwrap_or_else(today_in_vietnam);
    if at < request.recorded_on {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "date-order",
            "at must not be before recorded_on",
        )
        .field("at"));
    }
    let provinces = &site.reference.provinces;
    request
        .codes
        .iter()
        .enumerate()
        .map(|(index, code)| {
            let field = format!("codes[{index}]");
            let recorded = provinces.find(code, request.recorded_on).ok_or_else(|| {
                unknown_province(*code, request.recorded_on)
                    .with_status(StatusCode::UNPROCESSABLE_ENTITY)
                    .field(&field)
            })?;
            let current = provinces
                .carry_forward(code, request.recorded_on, at)
                .ok_or_else(|| {
                    unknown_province(*code, at)
                        .with_status(StatusCode::UNPROCESSABLE_ENTITY)
                        .field(&field)
                })?;
            Ok(CarriedProvince {
                recorded: province_view(recorded, &[]),
                current: province_view(current, &[]),
            })
        })
        .collect::<Result<Vec<_>, Problem>>()
        .map(axum::Json)
}

/// Ministries and ministry-level agencies in force on a date.
#[utoipa::path(get, path = "/api/v1/agencies", tag = "reference", params(AtQuery),
    responses((status = 200, body = AgencyList), (status = 400, body = Problem), (status = 404, body = Problem)))]
async fn list_agencies(
    State(site): State<Site>,
    ApiQuery(query): ApiQuery<AtQuery>,
) -> Result<axum::Json<AgencyList>, Problem> {
    let at = query.at.unwrap_or_else(today_in_vietnam);
    let (period, agencies) = in_force(&site.reference.agencies, at, agency_view)?;
    Ok(axum::Json(AgencyList {
        at,
        period,
        count: agencies.len(),
        agencies,
    }))
}

/// One ministry or ministry-level agency by code, as in force on a date.
#[utoipa::path(get, path = "/api/v1/agencies/{code}", tag = "reference",
    params(("code" = String, Path, description = "Agency code, e.g. BCA"), AtQuery),
    responses((status = 200, body = AgencyView), (status = 400, body = Problem), (status = 404, body = Problem)))]
async fn get_agency(
    State(site): State<Site>,
    Path(code): Path<String>,
    ApiQuery(query): ApiQuery<AtQuery>,
) -> Result<axum::Json<AgencyView>, Problem> {
    let code = AgencyCode::parse(&code).map_err(|e| {
        Problem::new(StatusCode::BAD_REQUEST, "invalid-agency-code", e.reason).field("code")
    })?;
    let at = query.at.unwrap_or_else(today_in_vietnam);
    let (_, agencies) = in_force(&site.reference.agencies, at, agency_view)?;
    agencies
        .into_iter()
        .find(|a| a.code == code.as_str())
        .map(axum::Json)
        .ok_or_else(|| {
            Problem::not_found(
                "unknown-agency",
                format!("no agency has code {code} on {at}"),
            )
            .field("code")
        })
}

// ---- the page ----

struct Row {
    code: String,
    id_prefix: Option<String>,
    name: String,
    name_en: String,
    kind: String,
    relation: String,
}

struct Table {
    caption: String,
    period: String,
    relation_header: String,
    rows: Vec<Row>,
}

impl Table {
    fn show_prefix(&self) -> bool {
        self.rows.first().is_some_and(|r| r.id_prefix.is_some())
    }
}

#[derive(Template)]
#[template(path = "reference.html")]
struct ReferencePage<'a> {
    t: &'a Texts,
    at: String,
    /// The date shown, as people write it, for the heading and the live region.
    at_shown: String,
    error: Option<String>,
    tables: Vec<Table>,
}

#[derive(Deserialize)]
pub struct PageQuery {
    at: Option<String>,
}

/// A date as people in Vietnam write it: 01/06/2024.
fn day_month_year(date: Date) -> String {
    date.format(time::macros::format_description!("[day]/[month]/[year]"))
        .unwrap_or_else(|_| date.to_string())
}

fn period_label(t: &Texts, from: Date, until: Option<Date>) -> String {
    let until = until.map_or_else(|| t.get("reference.now").to_owned(), day_month_year);
    format!(
        "{} {} {} {}",
        t.get("reference.from"),
        day_month_year(from),
        t.get("reference.until"),
        until
    )
}

/// The current table and, when there was one, the previous period's table with successors.
fn tables_for<U: Unit>(
    t: &Texts,
    catalog: &Catalog<U>,
    at: Date,
    captions: (&str, &str),
    row: impl Fn(&U) -> Row,
) -> Vec<Table> {
    let Some(index) = catalog.periods().iter().position(|p| p.contains(at)) else {
        return Vec::new();
    };
    let name_of = |code: U::Code, period: usize| {
        catalog
            .periods()
            .get(period)
            .and_then(|p| p.units.iter().find(|u| u.code() == code))
            .map(|u| row(u).name)
            .unwrap_or_default()
    };
    let mut tables = Vec::new();
    let successions = catalog.successions_at(at);
    if let Some(period) = catalog.periods().get(index) {
        tables.push(Table {
            caption: format!("{} {}", t.get(captions.0), day_month_year(at)),
            period: period_label(t, period.from, period.until),
            relation_header: t.get("reference.formed_from").to_owned(),
            rows: successions
                .iter()
                .map(|s| {
                    let names: Vec<String> = s.predecessors.iter().map(|p| row(p).name).collect();
                    let relation = match names.as_slice() {
                        [] => String::new(),
                        [only] if *only == row(s.unit).name => {
                            t.get("reference.unchanged").to_owned()
                        }
                        _ => names.join(", "),
                    };
                    Row {
                        relation,
                        ..row(s.unit)
                    }
                })
                .collect(),
        });
    }
    if let Some(previous) = index.checked_sub(1).and_then(|i| catalog.periods().get(i)) {
        tables.push(Table {
            caption: t.get(captions.1).to_owned(),
            period: period_label(t, previous.from, previous.until),
            relation_header: t.get("reference.became").to_owned(),
            rows: previous
                .units
                .iter()
                .map(|unit| Row {
                    relation: unit
                        .successor()
                        .map(|c| name_of(c, index))
                        .unwrap_or_default(),
                    ..row(unit)
                })
                .collect(),
        });
    }
    tables
}

/// `GET /reference`: the catalogues in force on a date, with the mapping from the period before.
pub async fn page(
    chrome: Chrome,
    State(site): State<Site>,
    axum::extract::Query(query): axum::extract::Query<PageQuery>,
) -> Response {
    // The date form swaps the tables in place with htmx (and works without it).
    let chrome = chrome.with_htmx();
    let t = chrome.t();
    let today = today_in_vietnam();
    let (at, error) = match query.at.as_deref().filter(|s| !s.is_empty()) {
        None => (today, None),
        Some(text) => match Date::parse(
            text,
            time::macros::format_description!("[year]-[month]-[day]"),
        ) {
            Ok(date) => (date, None),
            Err(_) => (
                today,
                Some(format!(
                    "{}: {text:?} (YYYY-MM-DD)",
                    t.get("reference.at_label")
                )),
            ),
        },
    };
    let province_row = |p: &Province| Row {
        code: p.code.to_string(),
        id_prefix: Some(p.code.id_number_prefix()),
        name: p.name_vi.clone(),
        name_en: p.name_en.clone(),
        kind: t
            .get(match p.kind {
                ProvinceKind::City => "reference.kind_city",
                ProvinceKind::Province => "reference.kind_province",
            })
            .to_owned(),
        relation: String::new(),
    };
    let agency_row = |a: &Agency| Row {
        code: a.code.to_string(),
        id_prefix: None,
        name: a.name_vi.clone(),
        name_en: a.name_en.clone(),
        kind: t
            .get(match a.kind {
                AgencyKind::Ministry => "reference.kind_ministry",
                AgencyKind::Agency => "reference.kind_agency",
            })
            .to_owned(),
        relation: String::new(),
    };
    let mut tables = tables_for(
        t,
        &site.reference.provinces,
        at,
        ("reference.current_provinces", "reference.former_provinces"),
        province_row,
    );
    tables.extend(tables_for(
        t,
        &site.reference.agencies,
        at,
        ("reference.current_agencies", "reference.former_agencies"),
        agency_row,
    ));
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    match render(&ReferencePage {
        t,
        at: at.to_string(),
        at_shown: day_month_year(at),
        error,
        tables,
    }) {
        Ok(body) => chrome.page_with_status(status, t.get("reference.title"), &body),
        Err(problem) => problem.into_response(),
    }
}
