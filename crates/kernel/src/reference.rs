//! The reference data shipped with lienthong (`crates/kernel/data`, sources in SOURCES.md),
//! parsed into typed catalogues once at start-up.

use serde::Deserialize;
use time::Date;
use time::macros::date;

use crate::agency::{Agency, AgencyCode, AgencyKind};
use crate::catalog::{Catalog, Period};
use crate::province::{Province, ProvinceCode, ProvinceKind};

/// Hà Tây merged into Hà Nội on this day (Resolution 15/2008/QH12): the 63-unit structure.
const PROVINCES_2008_FROM: Date = date!(2008 - 08 - 01);
/// Resolution 202/2025/QH15: 34 provincial units from 1 July 2025.
const PROVINCES_2025_FROM: Date = date!(2025 - 07 - 01);
/// Resolution 08/2021/QH15 on the structure of the Government.
const AGENCIES_2021_FROM: Date = date!(2021 - 07 - 28);
/// Resolution 176/2025/QH15: 17 ministries and ministry-level agencies from 1 March 2025.
const AGENCIES_2025_FROM: Date = date!(2025 - 03 - 01);

#[derive(Debug, thiserror::Error)]
#[error("reference data {file}: {problem}")]
pub struct ReferenceError {
    pub file: &'static str,
    pub problem: String,
}

/// Every reference catalogue, validated.
#[derive(Debug, Clone)]
pub struct Reference {
    pub provinces: Catalog<Province>,
    pub agencies: Catalog<Agency>,
}

impl Reference {
    pub fn load() -> Result<Self, ReferenceError> {
        let provinces = Catalog::new(vec![
            period(
                "provinces-2008.csv",
                include_str!("../data/provinces-2008.csv"),
                PROVINCES_2008_FROM,
                Some(PROVINCES_2025_FROM),
                province_from_row,
            )?,
            period(
                "provinces-2025.csv",
                include_str!("../data/provinces-2025.csv"),
                PROVINCES_2025_FROM,
                None,
                province_from_row,
            )?,
        ])
        .map_err(|problem| ReferenceError {
            file: "provinces",
            problem,
        })?;
        let agencies = Catalog::new(vec![
            period(
                "agencies-2021.csv",
                include_str!("../data/agencies-2021.csv"),
                AGENCIES_2021_FROM,
                Some(AGENCIES_2025_FROM),
                agency_from_row,
            )?,
            period(
                "agencies-2025.csv",
                include_str!("../data/agencies-2025.csv"),
                AGENCIES_2025_FROM,
                None,
                agency_from_row,
            )?,
        ])
        .map_err(|problem| ReferenceError {
            file: "agencies",
            problem,
        })?;
        Ok(Self {
            provinces,
            agencies,
        })
    }
}

#[derive(Deserialize)]
struct Row {
    code: String,
    name_vi: String,
    name_en: String,
    kind: String,
    successor: Option<String>,
}

fn period<U>(
    file: &'static str,
    text: &str,
    from: Date,
    next_from: Option<Date>,
    build: fn(Row) -> Result<U, String>,
) -> Result<Period<U>, ReferenceError> {
    let fail = |problem: String| ReferenceError { file, problem };
    let mut units = Vec::new();
    for (index, row) in csv::Reader::from_reader(text.as_bytes())
        .deserialize::<Row>()
        .enumerate()
    {
        let line = index + 2; // line 1 is the header
        let row = row.map_err(|e| fail(format!("line {line}: {e}")))?;
        units.push(build(row).map_err(|e| fail(format!("line {line}: {e}")))?);
    }
    let until = match next_from {
        Some(next) => Some(
            next.previous_day()
                .ok_or_else(|| fail(format!("no day before {next}")))?,
        ),
        None => None,
    };
    Ok(Period { from, until, units })
}

fn province_from_row(row: Row) -> Result<Province, String> {
    let kind = match row.kind.as_str() {
        "city" => ProvinceKind::City,
        "province" => ProvinceKind::Province,
        other => return Err(format!("kind must be city or province, got {other:?}")),
    };
    let successor = match row.successor.as_deref() {
        None | Some("") => None,
        Some(code) => Some(ProvinceCode::parse(code).map_err(|e| format!("successor: {e}"))?),
    };
    Ok(Province {
        code: ProvinceCode::parse(&row.code).map_err(|e| format!("code: {e}"))?,
        name_vi: non_empty("name_vi", row.name_vi)?,
        name_en: non_empty("name_en", row.name_en)?,
        kind,
        successor,
    })
}

fn agency_from_row(row: Row) -> Result<Agency, String> {
    let kind = match row.kind.as_str() {
        "ministry" => AgencyKind::Ministry,
        "agency" => AgencyKind::Agency,
        other => return Err(format!("kind must be ministry or agency, got {other:?}")),
    };
    let successor = match row.successor.as_deref() {
        None | Some("") => None,
        Some(code) => Some(AgencyCode::parse(code).map_err(|e| format!("successor: {e}"))?),
    };
    Ok(Agency {
        code: AgencyCode::parse(&row.code).map_err(|e| format!("code: {e}"))?,
        name_vi: non_empty("name_vi", row.name_vi)?,
        name_en: non_empty("name_en", row.name_en)?,
        kind,
        successor,
    })
}

fn non_empty(field: &str, value: String) -> Result<String, String> {
    if value.trim().is_empty() {
        Err(format!("{field} is empty"))
    } else {
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> Result<ProvinceCode, crate::Invalid> {
        ProvinceCode::parse(s)
    }

    #[test]
    fn sixty_three_provinces_before_july_2025_and_thirty_four_after()
    -> Result<(), Box<dyn std::error::Error>> {
        let reference = Reference::load()?;
        let before = reference
            .provinces
            .period_at(date!(2025 - 06 - 30))
            .map(|p| p.units.len());
        let after = reference
            .provinces
            .period_at(date!(2025 - 07 - 01))
            .map(|p| p.units.len());
        assert_eq!((before, after), (Some(63), Some(34)));
        let cities_now = reference
            .provinces
            .period_at(date!(2026 - 01 - 01))
            .map(|p| {
                p.units
                    .iter()
                    .filter(|u| u.kind == ProvinceKind::City)
                    .count()
            });
        assert_eq!(cities_now, Some(6));
        assert!(
            reference
                .provinces
                .period_at(date!(2008 - 07 - 31))
                .is_none()
        );
        Ok(())
    }

    #[test]
    fn merges_follow_resolution_202() -> Result<(), Box<dyn std::error::Error>> {
        let reference = Reference::load()?;
        let successions = reference.provinces.successions_at(date!(2026 - 01 - 01));
        let predecessors_of = |name: &str| -> Vec<String> {
            successions
                .iter()
                .find(|s| s.unit.name_vi == name)
                .map(|s| s.predecessors.iter().map(|p| p.name_vi.clone()).collect())
                .unwrap_or_default()
        };
        assert_eq!(
            predecessors_of("Hồ Chí Minh"),
            ["Bình Dương", "Bà Rịa - Vũng Tàu", "Hồ Chí Minh"]
        );
        assert_eq!(
            predecessors_of("Cần Thơ"),
            ["Cần Thơ", "Hậu Giang", "Sóc Trăng"]
        );
        assert_eq!(predecessors_of("Hà Nội"), ["Hà Nội"]);
        let unchanged = successions
            .iter()
            .filter(|s| s.predecessors.len() == 1)
            .count();
        assert_eq!(unchanged, 11, "DOMAIN.md lists 11 unchanged units");
        // Đồng Tháp (87) joined Tiền Giang (82) under the name Đồng Tháp.
        let dong_thap = reference.provinces.carry_forward(
            &code("087")?,
            date!(2020 - 01 - 01),
            date!(2026 - 01 - 01),
        );
        assert_eq!(
            dong_thap.map(|p| (p.code.to_string(), p.name_vi.as_str())),
            Some(("82".into(), "Đồng Tháp"))
        );
        // Code 80 was Long An before the merger and is Tây Ninh after it.
        let eighty_then = reference
            .provinces
            .find(&code("80")?, date!(2025 - 01 - 01))
            .map(|p| p.name_vi.as_str());
        let eighty_now = reference
            .provinces
            .find(&code("80")?, date!(2025 - 07 - 01))
            .map(|p| p.name_vi.as_str());
        assert_eq!(
            (eighty_then, eighty_now),
            (Some("Long An"), Some("Tây Ninh"))
        );
        Ok(())
    }

    #[test]
    fn twenty_two_agencies_became_seventeen() -> Result<(), Box<dyn std::error::Error>> {
        let reference = Reference::load()?;
        let count = |d| reference.agencies.period_at(d).map(|p| p.units.len());
        assert_eq!(
            (count(date!(2022 - 06 - 01)), count(date!(2025 - 03 - 01))),
            (Some(22), Some(17))
        );
        let ministries_now = reference
            .agencies
            .period_at(date!(2025 - 03 - 01))
            .map(|p| {
                p.units
                    .iter()
                    .filter(|a| a.kind == AgencyKind::Ministry)
                    .count()
            });
        assert_eq!(ministries_now, Some(14));
        let transport = reference.agencies.carry_forward(
            &AgencyCode::parse("BGTVT")?,
            date!(2022 - 01 - 01),
            date!(2026 - 01 - 01),
        );
        assert_eq!(transport.map(|a| a.name_vi.as_str()), Some("Bộ Xây dựng"));
        Ok(())
    }
}
