//! What the gateway routes and authorises by, as of one moment: read from memory, never
//! from the database, on every call.

use std::collections::HashMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::ids::{ClientId, MemberId, ServiceId, SubsystemId};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Endpoint {
    pub method: String,
    pub path: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Service {
    #[schema(value_type = String)]
    #[serde(serialize_with = "as_text")]
    pub id: ServiceId,
    pub base_url: String,
    #[serde(skip)]
    pub openapi: Option<String>,
    pub has_openapi: bool,
    pub timeout_ms: u64,
    pub endpoints: Vec<Endpoint>,
    pub disabled: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Right {
    pub id: String,
    pub client: String,
    pub service: String,
    pub method: Option<String>,
    pub path: Option<String>,
    pub fields: Option<Vec<String>>,
    pub granted_by: String,
    #[serde(with = "kernel::timestamp::text")]
    #[schema(value_type = String, format = DateTime)]
    pub granted_at: time::OffsetDateTime,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Limit {
    pub per_second: u32,
    pub per_day: u64,
}

fn as_text<T: std::fmt::Display, S: serde::Serializer>(
    value: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// Everything the gateway needs to route and authorise, as of one moment.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub members: Vec<(MemberId, String)>,
    pub subsystems: Vec<(SubsystemId, String)>,
    pub services: HashMap<ServiceId, Service>,
    pub(super) rights: HashMap<ClientId, HashMap<ServiceId, Vec<Right>>>,
    pub limits: HashMap<ClientId, Limit>,
    /// Unrevoked client certificates by fingerprint (lowercase hex SHA-256 of the DER).
    pub certificates: HashMap<String, CurrentCertificate>,
}

/// What the gateway needs to know about a client certificate.
#[derive(Debug, Clone)]
pub struct CurrentCertificate {
    pub serial: String,
    pub subsystem: String,
    pub not_before: time::OffsetDateTime,
    pub not_after: time::OffsetDateTime,
}

/// A certificate as the management API and the CLI list it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertificateInfo {
    pub serial: String,
    pub subsystem: String,
    /// Lowercase hex SHA-256 of the DER certificate.
    pub fingerprint: String,
    #[serde(with = "kernel::timestamp::text")]
    #[schema(value_type = String, format = DateTime)]
    pub not_before: time::OffsetDateTime,
    #[serde(with = "kernel::timestamp::text")]
    #[schema(value_type = String, format = DateTime)]
    pub not_after: time::OffsetDateTime,
    pub issued_by: String,
    #[serde(with = "kernel::timestamp::text")]
    #[schema(value_type = String, format = DateTime)]
    pub issued_at: time::OffsetDateTime,
    #[serde(with = "kernel::timestamp::text::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<time::OffsetDateTime>,
    pub revoked_by: Option<String>,
}

/// True when `path` (decoded, starting with `/`) fits `pattern`, where a `*` segment matches
/// one segment and a final `**` any rest (the ACL syntax of X-Road's REST services).
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let mut wanted = pattern.trim_start_matches('/').split('/');
    let mut given = path.trim_start_matches('/').split('/');
    loop {
        match (wanted.next(), given.next()) {
            (Some("**"), _) => return true,
            (Some(w), Some(g)) if w == "*" || w == g => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

impl Snapshot {
    pub fn member_name(&self, id: &MemberId) -> Option<&str> {
        self.members
            .iter()
            .find(|(m, _)| m == id)
            .map(|(_, n)| n.as_str())
    }

    pub fn has_subsystem(&self, id: &SubsystemId) -> bool {
        self.subsystems.iter().any(|(s, _)| s == id)
    }

    /// Whether a client (member or subsystem) is registered.
    pub fn has_client(&self, id: &ClientId) -> bool {
        match id {
            ClientId::Member(member) => self.member_name(member).is_some(),
            ClientId::Subsystem(subsystem) => self.has_subsystem(subsystem),
        }
    }

    /// The right under which `client` may call `method path` on `service`, if any.
    pub fn right_for(
        &self,
        client: &ClientId,
        service: &ServiceId,
        method: &str,
        path: &str,
    ) -> Option<&Right> {
        self.rights_of(client, service).iter().find(|right| {
            right
                .method
                .as_deref()
                .is_none_or(|m| m == "*" || m.eq_ignore_ascii_case(method))
                && right.path.as_deref().is_none_or(|p| path_matches(p, path))
        })
    }

    pub fn rights_of(&self, client: &ClientId, service: &ServiceId) -> &[Right] {
        self.rights
            .get(client)
            .and_then(|services| services.get(service))
            .map_or(&[], Vec::as_slice)
    }

    pub fn all_rights(&self) -> impl Iterator<Item = &Right> {
        self.rights.values().flat_map(HashMap::values).flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::path_matches;

    #[test]
    fn endpoint_patterns() {
        assert!(path_matches("/citizens/*", "/citizens/001090000042"));
        assert!(!path_matches(
            "/citizens/*",
            "/citizens/001090000042/residence"
        ));
        assert!(path_matches("/citizens/**", "/citizens/1/residence"));
        assert!(path_matches("/**", "/"));
        assert!(!path_matches("/a", "/b"));
        assert!(path_matches("/a", "/a"));
    }
}
