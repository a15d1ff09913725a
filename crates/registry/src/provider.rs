//! The population registry as an exchange provider (base URL `lienthong:registry`), answered
//! in process but otherwise exactly like a forwarded call: same access check, same audit
//! entry, same X-Road headers. Each answer names the citizen it concerns, so the access shows
//! in that citizen's data tracker. Other contexts in this binary (identity) read the registry
//! only through these services.
//!
//! | service code     | call                         | answer                                  |
//! |------------------|------------------------------|-----------------------------------------|
//! | `citizens`       | `GET /{personal_id}`         | the record, only the right's fields     |
//! | `residence`      | `GET /{personal_id}`         | residence confirmation (seed 001: replaces the paper certificate) |
//! | `household`      | `GET /{personal_id}`         | members of the citizen's household      |
//! | `identity-check` | `POST /` `{personal_id, full_name, birth_date}` | match / no match per field |
//! | `access-log`     | `GET /{personal_id}`         | officials' views of the citizen's record |

use axum::http::StatusCode;
use exchange::local::{LocalFuture, LocalRegistration, LocalService};
use exchange::{Fault, LocalAnswer as Answer, LocalCall, LocalProvider};
use kernel::PersonalId;
use serde::Deserialize;
use serde_json::{Value, json};
use time::Date;

use crate::{Registry, RegistryError};

/// The name in the services' base URL, `lienthong:registry`.
pub const NAME: &str = "registry";

/// The registry's subsystem on an instance (`VN/GOV/BCA/registry`), run by the Ministry of
/// Public Security.
pub fn subsystem(instance: &str) -> String {
    format!("{instance}/GOV/BCA/{NAME}")
}

const SERVICES: [LocalService; 5] = [
    LocalService {
        code: "citizens",
        endpoints: &[("GET", "/*")],
        timeout_ms: 10_000,
    },
    LocalService {
        code: "residence",
        endpoints: &[("GET", "/*")],
        timeout_ms: 10_000,
    },
    LocalService {
        code: "household",
        endpoints: &[("GET", "/*")],
        timeout_ms: 10_000,
    },
    LocalService {
        code: "identity-check",
        endpoints: &[("POST", "/")],
        timeout_ms: 10_000,
    },
    LocalService {
        code: "access-log",
        endpoints: &[("GET", "/*")],
        timeout_ms: 10_000,
    },
];

/// What `server` registers with the exchange at start-up.
pub fn registration(instance: &str) -> LocalRegistration {
    LocalRegistration {
        name: NAME,
        member: (format!("{instance}/GOV/BCA"), "Bộ Công an"),
        subsystem: (subsystem(instance), "Cơ sở dữ liệu quốc gia về dân cư"),
        services: &SERVICES,
        fields: &crate::CitizenRecord::FIELDS,
    }
}

/// The registry answering exchange calls.
pub struct RegistryProvider(pub Registry);

impl LocalProvider for RegistryProvider {
    fn answer<'a>(&'a self, call: LocalCall<'a>) -> LocalFuture<'a> {
        Box::pin(answer(&self.0, call))
    }
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

fn registry_fault(error: RegistryError) -> Fault {
    Fault::database(format!("population registry: {error}"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityClaim {
    personal_id: String,
    full_name: String,
    birth_date: Date,
}

async fn answer(registry: &Registry, call: LocalCall<'_>) -> Result<Answer, Fault> {
    let LocalCall {
        service_code,
        method,
        path,
        body,
        fields,
    } = call;
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
                .filter(|(key, _)| fields.is_none_or(|fields| fields.iter().any(|f| f == *key)))
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
        ("access-log", "GET") => {
            let id = id_in_path(path)?;
            let views = registry.views_of(id).await.map_err(registry_fault)?;
            Ok(json_answer(StatusCode::OK, &json!(views), Some(id)))
        }
        _ => Err(Fault::invalid_provider_request(format!(
            "{method} is not offered by the registry's service {service_code}"
        ))),
    }
}
