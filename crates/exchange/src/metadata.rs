//! The REST metadata services (PR-MREST §4, §5; listClients from PR-META §2), in the JSON
//! shape of the specification's examples: snake_case keys, a `service` or `member` list.

use serde_json::{Value, json};

use crate::catalog::{Service, Snapshot};
use crate::fault::Fault;
use crate::ids::{MemberId, SubsystemId};

pub const NAMES: [&str; 3] = ["listMethods", "allowedMethods", "getOpenAPI"];

fn member_fields(member: &MemberId) -> serde_json::Map<String, Value> {
    let mut fields = serde_json::Map::new();
    fields.insert("xroad_instance".into(), json!(member.instance));
    fields.insert("member_class".into(), json!(member.class));
    fields.insert("member_code".into(), json!(member.code));
    fields
}

fn service_entry(service: &Service, endpoints: Vec<Value>) -> Value {
    let mut entry = member_fields(&service.id.subsystem.member);
    entry.insert("object_type".into(), json!("SERVICE"));
    entry.insert("subsystem_code".into(), json!(service.id.subsystem.code));
    entry.insert("service_code".into(), json!(service.id.code));
    entry.insert(
        "service_type".into(),
        json!(if service.has_openapi {
            "OPENAPI"
        } else {
            "REST"
        }),
    );
    entry.insert("endpoint_list".into(), Value::Array(endpoints));
    Value::Object(entry)
}

fn endpoint(method: &str, path: &str) -> Value {
    json!({ "method": method, "path": path })
}

fn services_of<'a>(
    snapshot: &'a Snapshot,
    provider: &'a SubsystemId,
) -> impl Iterator<Item = &'a Service> {
    let mut services: Vec<&Service> = snapshot
        .services
        .values()
        .filter(|s| &s.id.subsystem == provider && !s.disabled)
        .collect();
    services.sort_by(|a, b| a.id.code.cmp(&b.id.code));
    services.into_iter()
}

/// `listMethods`: every service of the provider with its declared endpoints.
pub fn list_methods(snapshot: &Snapshot, provider: &SubsystemId) -> Value {
    let services: Vec<Value> = services_of(snapshot, provider)
        .map(|s| {
            service_entry(
                s,
                s.endpoints
                    .iter()
                    .map(|e| endpoint(&e.method, &e.path))
                    .collect(),
            )
        })
        .collect();
    json!({ "service": services })
}

/// `allowedMethods`: only services the client holds a right to, and within them the
/// endpoints its rights cover (a whole-service right covers every declared endpoint).
pub fn allowed_methods(snapshot: &Snapshot, provider: &SubsystemId, client: &SubsystemId) -> Value {
    let services: Vec<Value> = services_of(snapshot, provider)
        .filter_map(|s| {
            let rights = snapshot.rights_of(client, &s.id);
            if rights.is_empty() {
                return None;
            }
            let whole = rights.iter().any(|r| r.path.is_none());
            let endpoints = if whole {
                s.endpoints
                    .iter()
                    .map(|e| endpoint(&e.method, &e.path))
                    .collect()
            } else {
                rights
                    .iter()
                    .filter_map(|r| Some(endpoint(r.method.as_deref()?, r.path.as_deref()?)))
                    .collect()
            };
            Some(service_entry(s, endpoints))
        })
        .collect();
    json!({ "service": services })
}

/// `getOpenAPI?serviceCode=X`: the provider's stored OpenAPI document.
pub fn get_openapi(
    snapshot: &Snapshot,
    provider: &SubsystemId,
    query: Option<&str>,
) -> Result<String, Fault> {
    let code = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == "serviceCode")
        .map(|(_, value)| percent_encoding::percent_decode_str(value).decode_utf8_lossy())
        .ok_or_else(|| Fault::invalid_provider_request("Missing serviceCode"))?;
    let service = services_of(snapshot, provider)
        .find(|s| s.id.code.eq_ignore_ascii_case(&code))
        .ok_or_else(|| Fault::invalid_provider_request(format!("Service not found: {code}")))?;
    service.openapi.clone().ok_or_else(|| {
        Fault::invalid_provider_request(format!(
            "Invalid service type: {code} has no OpenAPI description"
        ))
    })
}

/// `listClients`: every member and subsystem, a subsystem named by its member.
pub fn list_clients(snapshot: &Snapshot) -> Value {
    let mut members = Vec::new();
    for (member, name) in &snapshot.members {
        let mut id = member_fields(member);
        id.insert("object_type".into(), json!("MEMBER"));
        members.push(json!({ "id": id, "name": name }));
        for (subsystem, _) in snapshot
            .subsystems
            .iter()
            .filter(|(s, _)| &s.member == member)
        {
            let mut id = member_fields(member);
            id.insert("object_type".into(), json!("SUBSYSTEM"));
            id.insert("subsystem_code".into(), json!(subsystem.code));
            members.push(json!({ "id": id, "name": name }));
        }
    }
    json!({ "member": members })
}
