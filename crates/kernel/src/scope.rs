use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::invalid::Invalid;

/// What a citizen's mandate may allow a helper (MISSION S14): a fixed list, so a citizen
/// consents to named things only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Scope {
    /// See the citizen's account and registry facts.
    ProfileView,
    /// See who viewed the citizen's registry data.
    AccessLogView,
    /// Submit dossiers for the citizen (honoured once the public-service portal exists).
    DossierSubmit,
}

impl Scope {
    pub const ALL: [Scope; 3] = [
        Scope::ProfileView,
        Scope::AccessLogView,
        Scope::DossierSubmit,
    ];

    /// The text stored with a mandate and sent in forms.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProfileView => "profile.view",
            Self::AccessLogView => "access_log.view",
            Self::DossierSubmit => "dossier.submit",
        }
    }

    /// One of the scopes' texts; anything else is refused with the list of scopes that exist.
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        crate::invalid::one_of(&Self::ALL, Self::as_str, text, "scope.unknown")
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_scope_reads_and_writes_the_text_stored_for_it() {
        let stored = [
            (Scope::ProfileView, "profile.view"),
            (Scope::AccessLogView, "access_log.view"),
            (Scope::DossierSubmit, "dossier.submit"),
        ];
        assert_eq!(stored.len(), Scope::ALL.len(), "every scope is listed here");
        for (scope, text) in stored {
            assert_eq!(scope.as_str(), text);
            assert_eq!(Scope::parse(text), Ok(scope));
            assert_eq!(scope.to_string(), text);
        }
    }

    #[test]
    fn an_unknown_scope_is_refused_naming_the_scopes_that_exist() {
        let refused = Scope::parse("registry.edit").err().map(|e| e.reason);
        assert!(
            refused
                .as_deref()
                .is_some_and(|reason| Scope::ALL.iter().all(|s| reason.contains(s.as_str()))),
            "{refused:?}"
        );
    }
}
