//! Services this node provides itself from the population registry (base URL
//! `lienthong:registry`), answered in process but otherwise exactly like a forwarded call:
//! same access check, same audit entry, same X-Road headers. Each names the citizen it
//! concerns, so the access shows in that citizen's data tracker.
//!
//! | service code     | call                         | answer                                  |
//! |------------------|------------------------------|-----------------------------------------|
//! | `citizens`       | `GET /{personal_id}`         | the record, only the right's fields     |
//! | `residence`      | `GET /{personal_id}`         | residence confirmation (seed 001: replaces the paper certificate) |
//! | `household`      | `GET /{personal_id}`         | members of the citizen's household      |
//! | `identity-check` | `POST /` `{personal_id, full_name, birth_date}` | match / no match per field |

use axum::http::{Method, StatusCode};
use kernel::PersonalId;
use registry::Registry;
use serde::Deserialize;
use serde_json::{Value, json};
use time::Date;

use crate::catalog::Right;
use crate::fault::Fault;

/// A built-in service's answer, and the citizen it concerns.
pub struct Answer {
    pub status: StatusCode,
    pub body: Vec<u8>,
    pub subject: Option<PersonalId>,
}

fn json_answer(status: StatusCode, body: &Value, subject: Option<PersonalId>) -> Answer {
    Answer {
        status,
        body: body.to_string().into_bytes(),
        subject,
    }
}

fn not_found(what: &str, subject: Option<PersonalId>) -> Answer {
    json_answer(
        StatusCode::NOT_FOUND,
        &json!({ "error": "not_found", "message": what }),
        subject,
    )
}

/// The personal ID number that is the whole rest of the path.
fn id_in_path(path: &str) -> Result<PersonalId, Fault> {
    let text = path.trim_start_matches('/');
    PersonalId::parse(text).map_err(|e| {
        Fault::invalid_provider_request(format!("the path must be /{{personal_id}}: {}", e.reason))
    })
}

fn registry_fault(error: registry::RegistryError) -> Fault {
    Fault::database(format!("population registry: {error}"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityClaim {
    personal_id: String,
    full_name: String,
    birth_date: Date,
}

pub async fn answer(
    registry: &Registry,
    service_code: &str,
    method: &Method,
    path: &str,
    body: &[u8],
    right: &Right,
) -> Result<Answer, Fault> {
    match (service_code, method.as_str()) {
        ("citizens", "GET") => {
            let id = id_in_path(path)?;
            let Some(current) = registry.get(id).await.map_err(registry_fault)? else {
                return Ok(not_found(
                    "no citizen with this personal ID number",
                    Some(id),
                ));
            };
            let full = serde_json::to_value(&current.record)
                .map_err(|e| Fault::internal(e.to_string()))?;
            let released: serde_json::Map<String, Value> = full
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(key, _)| {
                    right
                        .fields
                        .as_ref()
                        .is_none_or(|fields| fields.iter().any(|f| f == *key))
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            Ok(json_answer(
                StatusCode::OK,
                &Value::Object(released),
                Some(id),
            ))
        }
        ("residence", "GET") => {
            let id = id_in_path(path)?;
            let Some(current) = registry.get(id).await.map_err(registry_fault)? else {
                return Ok(not_found(
                    "no citizen with this personal ID number",
                    Some(id),
                ));
            };
            let record = current.record;
            Ok(json_answer(
                StatusCode::OK,
                &json!({
                    "personal_id": record.personal_id.to_string(),
                    "full_name": record.full_name,
                    "birth_date": record.birth_date.to_string(),
                    "permanent_residence": record.permanent_residence,
                    "temporary_residence": record.temporary_residence,
                    "current_residence": record.current_residence,
                    "household": record.household,
                    "confirmed_at": store::timestamp::now(),
                    "record_version": current.version,
                }),
                Some(id),
            ))
        }
        ("household", "GET") => {
            let id = id_in_path(path)?;
            let Some(current) = registry.get(id).await.map_err(registry_fault)? else {
                return Ok(not_found(
                    "no citizen with this personal ID number",
                    Some(id),
                ));
            };
            let Some(membership) = current.record.household else {
                return Ok(not_found("the citizen belongs to no household", Some(id)));
            };
            let members = registry
                .household_members(&membership.household_id)
                .await
                .map_err(registry_fault)?;
            Ok(json_answer(
                StatusCode::OK,
                &json!({ "household_id": membership.household_id, "members": members }),
                Some(id),
            ))
        }
        ("identity-check", "POST") => {
            let claim: IdentityClaim = serde_json::from_slice(body).map_err(|e| {
                Fault::invalid_provider_request(format!(
                    "the body must be {{\"personal_id\", \"full_name\", \"birth_date\": \"YYYY-MM-DD\"}}: {e}"
                ))
            })?;
            let id = PersonalId::parse(claim.personal_id.trim()).map_err(|e| {
                Fault::invalid_provider_request(format!("personal_id: {}", e.reason))
            })?;
            let matched = registry
                .match_identity(id, claim.full_name.trim(), claim.birth_date)
                .await
                .map_err(registry_fault)?;
            let outcome = |ok: bool| if ok { "match" } else { "no_match" };
            Ok(json_answer(
                StatusCode::OK,
                &json!({
                    "personal_id": outcome(matched.personal_id),
                    "full_name": outcome(matched.full_name),
                    "birth_date": outcome(matched.birth_date),
                    "living": outcome(matched.living),
                }),
                matched.personal_id.then_some(id),
            ))
        }
        _ => Err(Fault::invalid_provider_request(format!(
            "{method} is not offered by the built-in service {service_code}"
        ))),
    }
}

/// The endpoints each built-in service declares (for listMethods).
pub fn endpoints(service_code: &str) -> &'static [(&'static str, &'static str)] {
    match service_code {
        "citizens" | "residence" | "household" => &[("GET", "/*")],
        "identity-check" => &[("POST", "/")],
        _ => &[],
    }
}
