//! Domain events: what a context records as having happened, in the transaction that made
//! it happen (the outbox, `store::events`). Each kind is a variant whose payload is a type,
//! so a writer cannot misspell a kind or leave out a field, and consumers can decode what
//! they read.
//!
//! Stored as the kind text and the payload's JSON (serde's adjacent tagging:
//! `{"kind": "account.registered", "payload": {"level": 1}}`). Both are a contract with
//! the events already stored and with consumers: a kind's text never changes, and its
//! payload only gains fields that older events may lack (ADR 0026).

use serde::{Deserialize, Serialize};

/// One thing that happened. The kind text is the variant's `rename`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload")]
pub enum Event {
    /// An account was created (stream: the account id).
    #[serde(rename = "account.registered")]
    AccountRegistered(AccountRegistered),
    /// A citizen gave a helper a mandate to act for them (stream: the citizen's account).
    #[serde(rename = "account.mandate_granted")]
    MandateGranted(MandateGranted),
    /// A citizen withdrew a mandate (stream: the citizen's account).
    #[serde(rename = "account.mandate_revoked")]
    MandateRevoked(MandateRevoked),
    #[serde(rename = "account.passkey_added")]
    PasskeyAdded(PasskeyChanged),
    #[serde(rename = "account.passkey_removed")]
    PasskeyRemoved(PasskeyChanged),
    /// A citizen's first record version (stream: the personal ID number).
    #[serde(rename = "citizen.registered")]
    CitizenRegistered(CitizenVersion),
    /// A citizen's record corrected by an officer.
    #[serde(rename = "citizen.amended")]
    CitizenAmended(CitizenVersion),
    /// Permanent residence registered or moved.
    #[serde(rename = "citizen.permanent")]
    PermanentResidence(CitizenVersion),
    /// Temporary residence registered.
    #[serde(rename = "citizen.temporary")]
    TemporaryResidence(CitizenVersion),
    #[serde(rename = "citizen.temporary_ended")]
    TemporaryResidenceEnded(CitizenVersion),
    /// Current place of residence updated.
    #[serde(rename = "citizen.current")]
    CurrentResidence(CitizenVersion),
    /// Temporary absence declared.
    #[serde(rename = "citizen.absence")]
    AbsenceDeclared(CitizenVersion),
    #[serde(rename = "citizen.absence_ended")]
    AbsenceEnded(CitizenVersion),
    /// A batch of citizens imported into the registry (stream id: `import`).
    #[serde(rename = "registry.imported")]
    RegistryImported(RegistryImported),
}

impl Event {
    /// The kind of thing that changed: the stream the event belongs to.
    pub fn stream(&self) -> &'static str {
        match self {
            Self::AccountRegistered(_)
            | Self::MandateGranted(_)
            | Self::MandateRevoked(_)
            | Self::PasskeyAdded(_)
            | Self::PasskeyRemoved(_) => "account",
            Self::CitizenRegistered(_)
            | Self::CitizenAmended(_)
            | Self::PermanentResidence(_)
            | Self::TemporaryResidence(_)
            | Self::TemporaryResidenceEnded(_)
            | Self::CurrentResidence(_)
            | Self::AbsenceDeclared(_)
            | Self::AbsenceEnded(_) => "citizen",
            Self::RegistryImported(_) => "registry",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRegistered {
    /// The assurance level the account starts at.
    pub level: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MandateGranted {
    /// The mandate's id.
    pub mandate: String,
    /// How many days it lasts.
    pub days: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MandateRevoked {
    pub mandate: String,
}

/// Which passkey is not said: the event only tells consumers that the account's passkeys
/// changed (`{}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyChanged {}

/// The citizen record's version after the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CitizenVersion {
    pub version: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryImported {
    /// How many citizens the batch holds.
    pub citizens: u64,
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// Every variant, with the kind text and payload its call site wrote as free text and
    /// `json!` before events were typed: stored events and their consumers depend on both.
    fn as_written_before() -> Vec<(Event, &'static str, Value)> {
        let version = |version| CitizenVersion { version };
        vec![
            (
                Event::AccountRegistered(AccountRegistered { level: 1 }),
                "account.registered",
                json!({ "level": 1 }),
            ),
            (
                Event::MandateGranted(MandateGranted {
                    mandate: "m-1".into(),
                    days: 30,
                }),
                "account.mandate_granted",
                json!({ "mandate": "m-1", "days": 30 }),
            ),
            (
                Event::MandateRevoked(MandateRevoked {
                    mandate: "m-1".into(),
                }),
                "account.mandate_revoked",
                json!({ "mandate": "m-1" }),
            ),
            (
                Event::PasskeyAdded(PasskeyChanged {}),
                "account.passkey_added",
                json!({}),
            ),
            (
                Event::PasskeyRemoved(PasskeyChanged {}),
                "account.passkey_removed",
                json!({}),
            ),
            (
                Event::CitizenRegistered(version(1)),
                "citizen.registered",
                json!({ "version": 1 }),
            ),
            (
                Event::CitizenAmended(version(2)),
                "citizen.amended",
                json!({ "version": 2 }),
            ),
            (
                Event::PermanentResidence(version(3)),
                "citizen.permanent",
                json!({ "version": 3 }),
            ),
            (
                Event::TemporaryResidence(version(4)),
                "citizen.temporary",
                json!({ "version": 4 }),
            ),
            (
                Event::TemporaryResidenceEnded(version(5)),
                "citizen.temporary_ended",
                json!({ "version": 5 }),
            ),
            (
                Event::CurrentResidence(version(6)),
                "citizen.current",
                json!({ "version": 6 }),
            ),
            (
                Event::AbsenceDeclared(version(7)),
                "citizen.absence",
                json!({ "version": 7 }),
            ),
            (
                Event::AbsenceEnded(version(8)),
                "citizen.absence_ended",
                json!({ "version": 8 }),
            ),
            (
                Event::RegistryImported(RegistryImported { citizens: 250 }),
                "registry.imported",
                json!({ "citizens": 250 }),
            ),
        ]
    }

    #[test]
    fn each_kind_is_stored_as_it_was_written_before_and_reads_back() -> serde_json::Result<()> {
        let cases = as_written_before();
        assert_eq!(cases.len(), 14, "one case per variant");
        for (event, kind, payload) in cases {
            let stored = json!({ "kind": kind, "payload": payload });
            assert_eq!(serde_json::to_value(&event)?, stored, "{kind}");
            assert_eq!(serde_json::from_value::<Event>(stored)?, event, "{kind}");
            assert_eq!(
                Some(event.stream()),
                kind.split('.').next(),
                "the stream is the kind's first part"
            );
        }
        Ok(())
    }
}
