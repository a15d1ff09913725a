//! The REST metadata services (PR-MREST §4, §5; listClients from PR-META §2), in the JSON
//! shape of the specification's examples: snake_case keys, a `service` or `member` list.

use serde_json::{Value, json};

use crate::catalog::{Service, Snapshot};
use crate::fault::Fault;
use crate::ids::{ClientId, MemberId, SubsystemId};

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
pub fn allowed_methods(snapshot: &Snapshot, provider: &SubsystemId, client: &ClientId) -> Value {
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

/// `getOpenAPI?serviceCode=X`: the provider's stored OpenAPI document, without its `servers`
/// lists (OpenAPI 3 §4.8.1, §4.8.9, §4.8.10): they name the provider's own address, which
/// clients never use (they call the gateway) and must not learn.
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
    let document = service.openapi.as_deref().ok_or_else(|| {
        Fault::invalid_provider_request(format!(
            "Invalid service type: {code} has no OpenAPI description"
        ))
    })?;
    let mut document: Value = serde_json::from_str(document).map_err(|e| {
        Fault::internal(format!(
            "the stored OpenAPI description of {code} is not JSON: {e}"
        ))
    })?;
    without_servers(&mut document);
    Ok(document.to_string())
}

/// Removes `servers` where OpenAPI 3 allows it: the document, each path item and each
/// operation. A schema property that happens to be called `servers` stays.
fn without_servers(document: &mut Value) {
    let Some(root) = document.as_object_mut() else {
        return;
    };
    root.remove("servers");
    let path_items = root
        .get_mut("paths")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut());
    for item in path_items.filter_map(Value::as_object_mut) {
        item.remove("servers");
        for operation in item.values_mut().filter_map(Value::as_object_mut) {
            operation.remove("servers");
        }
    }
}

/// `listClients` of one X-Road instance (PR-META §2: `xRoadInstance`): every member and
/// subsystem. A subsystem carries its member's name, as X-Road does, and its own in
/// `subsystem_name`.
pub fn list_clients(snapshot: &Snapshot, instance: &str) -> Value {
    let mut members = Vec::new();
    for (member, name) in snapshot
        .members
        .iter()
        .filter(|(m, _)| m.instance == instance)
    {
        let mut id = member_fields(member);
        id.insert("object_type".into(), json!("MEMBER"));
        members.push(json!({ "id": id, "name": name }));
        for (subsystem, subsystem_name) in snapshot
            .subsystems
            .iter()
            .filter(|(s, _)| &s.member == member)
        {
            let mut id = member_fields(member);
            id.insert("object_type".into(), json!("SUBSYSTEM"));
            id.insert("subsystem_code".into(), json!(subsystem.code));
            members.push(json!({ "id": id, "name": name, "subsystem_name": subsystem_name }));
        }
    }
    json!({ "member": members })
}
