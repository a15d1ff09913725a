use std::fmt;
use std::str::FromStr;

use crate::invalid::Invalid;

/// A role an official holds in an agency, granted by an operator. The list is closed: a
/// role nobody checks would grant nothing, and a misspelt one would grant nothing silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Reads and changes the population registry (at BCA).
    RegistryOfficer,
    /// Confirms accounts at level 2 and issues recovery codes, after seeing the person.
    IdentityVerifier,
    /// Manages the whole exchange: members, services, rights, certificates.
    ExchangeOperator,
    /// Manages the exchange member whose code is the agency's.
    ExchangeAdmin,
    /// A community digital technology team member, who may act for citizens under a mandate.
    AssistHelper,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::RegistryOfficer,
        Role::IdentityVerifier,
        Role::ExchangeOperator,
        Role::ExchangeAdmin,
        Role::AssistHelper,
    ];

    /// The text stored with a grant and shown to people.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RegistryOfficer => "registry.officer",
            Self::IdentityVerifier => "identity.verifier",
            Self::ExchangeOperator => "exchange.operator",
            Self::ExchangeAdmin => "exchange.admin",
            Self::AssistHelper => "assist.helper",
        }
    }

    /// One of the roles' texts; anything else is refused with the list of roles that exist.
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        crate::invalid::one_of(&Self::ALL, Self::as_str, text, "role.unknown")
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_reads_and_writes_the_text_stored_for_it() {
        let stored = [
            (Role::RegistryOfficer, "registry.officer"),
            (Role::IdentityVerifier, "identity.verifier"),
            (Role::ExchangeOperator, "exchange.operator"),
            (Role::ExchangeAdmin, "exchange.admin"),
            (Role::AssistHelper, "assist.helper"),
        ];
        assert_eq!(stored.len(), Role::ALL.len(), "every role is listed here");
        for (role, text) in stored {
            assert_eq!(role.as_str(), text);
            assert_eq!(Role::parse(text), Ok(role));
            assert_eq!(role.to_string(), text);
        }
    }

    #[test]
    fn an_unknown_role_is_refused_naming_the_roles_that_exist() {
        for text in ["", "Bad Role", "registry.admin", "REGISTRY.OFFICER"] {
            let refused = Role::parse(text).err().map(|e| e.reason);
            assert!(
                refused
                    .as_deref()
                    .is_some_and(|reason| Role::ALL.iter().all(|r| reason.contains(r.as_str()))),
                "{text:?}: {refused:?}"
            );
        }
    }
}
