//! Officials' reads of personal data. Each read states a purpose and leaves one entry in the
//! access log for every citizen whose data the answer shows, so each of them finds it in
//! "who viewed my data" (Decree 13/2023/ND-CP on personal data protection, art. 9(1): the
//! data subject's right to know how their data is processed).

use kernel::{Message, Role};
use serde::Serialize;
use web::Principal;

/// The role that opens the registry, and the agency in which it must be held: the Ministry
/// of Public Security manages the national population database (Law on Identification 2023,
/// art. 10).
pub const OFFICER_ROLE: Role = Role::RegistryOfficer;
pub const REGISTRY_AGENCY: &str = "BCA";

/// Why an official reads personal data, as the citizen will see it: required, at least
/// `MIN_CHARS` and at most `MAX_CHARS` characters once trimmed, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purpose(String);

impl Purpose {
    pub const MIN_CHARS: usize = 5;
    /// Enough to name a case and its number; the access log is shown to citizens as is.
    pub const MAX_CHARS: usize = 200;

    pub fn parse(input: &str) -> Result<Self, Message> {
        let purpose = input.trim();
        let chars = purpose.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(Message::new("purpose.too_short").with("min", Self::MIN_CHARS));
        }
        if chars > Self::MAX_CHARS {
            return Err(Message::new("purpose.too_long")
                .with("length", chars)
                .with("max", Self::MAX_CHARS));
        }
        if purpose.chars().any(char::is_control) {
            return Err(Message::new("purpose.control_character"));
        }
        Ok(Self(purpose.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An official holding [`OFFICER_ROLE`] at [`REGISTRY_AGENCY`]. Only [`Official::of`] makes
/// one, so whatever takes an `Official` (or a [`Reader`]) knows the role was checked.
#[derive(Debug, Clone)]
pub struct Official {
    actor: String,
    agency: String,
}

impl Official {
    pub fn of(principal: &Principal) -> Result<Self, NotAnOfficial> {
        principal
            .roles
            .iter()
            .find(|r| r.role == OFFICER_ROLE && r.agency == REGISTRY_AGENCY)
            .map(|role| Self {
                actor: principal.actor(),
                agency: role.agency.clone(),
            })
            .ok_or(NotAnOfficial)
    }

    /// Who the official is in versions and access-log entries.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    pub fn agency(&self) -> &str {
        &self.agency
    }

    /// The official reading personal data for `purpose`.
    pub fn reading<'a>(&'a self, purpose: &'a Purpose) -> Reader<'a> {
        Reader {
            official: self,
            purpose,
        }
    }
}

/// A signed-in person reading their own record. Only [`Holder::of`] makes one, from the
/// session's principal, so nobody reads another's record through it. A person's reads of
/// their own data are not access-log entries: the log tells citizens who else read it.
#[derive(Debug, Clone, Copy)]
pub struct Holder {
    personal_id: kernel::PersonalId,
}

impl Holder {
    pub fn of(principal: &Principal) -> Self {
        Self {
            personal_id: principal.personal_id,
        }
    }

    pub fn personal_id(&self) -> kernel::PersonalId {
        self.personal_id
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the registry is open only to officials holding {OFFICER_ROLE} at {REGISTRY_AGENCY}")]
pub struct NotAnOfficial;

/// Who reads and why: what every public read of the registry takes, and what its access-log
/// entries say.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    official: &'a Official,
    purpose: &'a Purpose,
}

impl Reader<'_> {
    pub fn viewer(&self) -> &str {
        self.official.actor()
    }

    pub fn agency(&self) -> &str {
        self.official.agency()
    }

    pub fn purpose(&self) -> &Purpose {
        self.purpose
    }
}

/// One entry of a citizen's access log: who read their data, for whom, why and when.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ViewEntry {
    pub viewer: String,
    pub agency: String,
    pub purpose: String,
    #[serde(with = "kernel::timestamp::text")]
    #[schema(value_type = String, format = DateTime)]
    pub viewed_at: time::OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::Purpose;

    #[test]
    fn a_purpose_is_trimmed_and_bounded_and_has_no_control_characters() {
        assert_eq!(
            Purpose::parse("  hồ sơ số 42 ").map(|p| p.as_str().to_owned()),
            Ok("hồ sơ số 42".to_owned())
        );
        assert!(Purpose::parse("abcd").is_err());
        assert!(Purpose::parse("       ").is_err());
        assert!(Purpose::parse(&"ồ".repeat(Purpose::MAX_CHARS)).is_ok());
        assert!(Purpose::parse(&"ồ".repeat(Purpose::MAX_CHARS + 1)).is_err());
        assert!(Purpose::parse("hồ sơ\u{0}số 42").is_err());
    }
}
