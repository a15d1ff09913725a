//! X-Road identifiers (PR-REST §4.1, §4.2, §4.8): a client subsystem
//! `INSTANCE/CLASS/MEMBER/SUBSYSTEM` and a service `INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE`.
//! In URLs and headers each part is percent-encoded on its own and the `/` separators never
//! are. Values may use only `A-Z a-z 0-9 ' ( ) + , - . = ?` (§4.8, v1.0.3).

use std::fmt;

use kernel::Message;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Characters that stay as they are when an identifier part is written into a path.
const PART: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'+')
    .remove(b',')
    .remove(b'-')
    .remove(b'.')
    .remove(b'=');

/// Why an identifier was refused, as a message naming the part at fault in X-Road's own
/// words (INSTANCE, CLASS, MEMBER, SUBSYSTEM, SERVICE), which read the same in both languages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidId {
    pub message: Message,
}

fn invalid(message: Message) -> InvalidId {
    InvalidId { message }
}

fn in_part(message: Message, part: &'static str) -> InvalidId {
    invalid(message.with("part", part))
}

fn shaped(message: Message, text: &str) -> InvalidId {
    invalid(message.with("found", format!("{text:?}")))
}

/// One decoded identifier part, checked against the allowed characters.
fn part(what: &'static str, raw: &str) -> Result<String, InvalidId> {
    // Decoded per RFC 3986: `+` stays a plus, not a space.
    let decoded = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| in_part(Message::new("exchange_id.not_utf8"), what))?;
    if decoded.is_empty() {
        return Err(in_part(Message::new("exchange_id.empty"), what));
    }
    if decoded.len() > 255 {
        return Err(in_part(Message::new("exchange_id.too_long"), what));
    }
    if let Some(bad) = decoded
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "'()+,-.=?".contains(*c)))
    {
        return Err(invalid(
            Message::new("exchange_id.characters")
                .with("part", what)
                .with("found", format!("{decoded:?}"))
                .with("bad", format!("{bad:?}")),
        ));
    }
    Ok(decoded.into_owned())
}

fn encode(part: &str) -> String {
    utf8_percent_encode(part, PART).to_string()
}

/// A member: `INSTANCE/CLASS/MEMBER`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberId {
    pub instance: String,
    pub class: String,
    pub code: String,
}

/// A subsystem (an information system of a member): `INSTANCE/CLASS/MEMBER/SUBSYSTEM`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubsystemId {
    pub member: MemberId,
    pub code: String,
}

/// A service of a subsystem: `INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE`. r1 has no version.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceId {
    pub subsystem: SubsystemId,
    pub code: String,
}

impl MemberId {
    pub fn parse(text: &str) -> Result<Self, InvalidId> {
        let parts: Vec<&str> = text.split('/').collect();
        match parts.as_slice() {
            [instance, class, code] => Ok(Self {
                instance: part("INSTANCE", instance)?,
                class: part("CLASS", class)?,
                code: part("MEMBER", code)?,
            }),
            _ => Err(shaped(Message::new("exchange_id.member_shape"), text)),
        }
    }
}

impl SubsystemId {
    /// The `X-Road-Client` form. A client without a subsystem (3 parts) is refused: rights are
    /// granted to information systems, not to whole organisations.
    pub fn parse(text: &str) -> Result<Self, InvalidId> {
        let parts: Vec<&str> = text.trim().split('/').collect();
        match parts.as_slice() {
            [instance, class, member, subsystem] => Ok(Self {
                member: MemberId {
                    instance: part("INSTANCE", instance)?,
                    class: part("CLASS", class)?,
                    code: part("MEMBER", member)?,
                },
                code: part("SUBSYSTEM", subsystem)?,
            }),
            _ => Err(shaped(Message::new("exchange_id.subsystem_shape"), text)),
        }
    }
}

/// An `X-Road-Client` (PR-REST §4.2): a subsystem, or a member calling as itself. Rights,
/// limits and credentials belong to exactly the one named: a member's are not its
/// subsystems', nor the other way round.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClientId {
    Member(MemberId),
    Subsystem(SubsystemId),
}

impl ClientId {
    pub fn parse(text: &str) -> Result<Self, InvalidId> {
        let text = text.trim();
        match text.split('/').count() {
            3 => MemberId::parse(text).map(Self::Member),
            4 => SubsystemId::parse(text).map(Self::Subsystem),
            _ => Err(shaped(Message::new("exchange_id.client_shape"), text)),
        }
    }

    /// `MEMBER` or `SUBSYSTEM`, as X-Road writes the object type before an identifier.
    pub fn object_type(&self) -> &'static str {
        match self {
            Self::Member(_) => "MEMBER",
            Self::Subsystem(_) => "SUBSYSTEM",
        }
    }
}

impl ServiceId {
    pub fn parse(text: &str) -> Result<Self, InvalidId> {
        // Five parts, or the whole is told as misshapen; then each part is checked on its own.
        let (subsystem, code) = text
            .rsplit_once('/')
            .filter(|_| text.trim().split('/').count() == 5)
            .ok_or_else(|| shaped(Message::new("exchange_id.service_shape"), text))?;
        Ok(Self {
            subsystem: SubsystemId::parse(subsystem)?,
            code: part("SERVICE", code)?,
        })
    }

    /// Splits an r1 path after `/r1/` into the service and the rest of the path, kept raw
    /// (PR-REST §4.1: everything after the service code goes to the provider as it came).
    pub fn from_r1_path(path: &str) -> Result<(Self, &str), InvalidId> {
        let mut pieces = path.splitn(6, '/');
        let mut next = |what: &'static str| {
            pieces
                .next()
                .filter(|p| !p.is_empty())
                .ok_or_else(|| in_part(Message::new("exchange_id.missing_in_path"), what))
        };
        let instance = next("INSTANCE")?;
        let class = next("CLASS")?;
        let member = next("MEMBER")?;
        let subsystem = next("SUBSYSTEM")?;
        let rest = path
            .get(instance.len() + class.len() + member.len() + subsystem.len() + 4..)
            .unwrap_or_default();
        let (service, tail) = match rest.find(['/', '?']) {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        if service.is_empty() {
            return Err(in_part(
                Message::new("exchange_id.missing_in_path"),
                "SERVICE",
            ));
        }
        Ok((
            Self {
                subsystem: SubsystemId {
                    member: MemberId {
                        instance: part("INSTANCE", instance)?,
                        class: part("CLASS", class)?,
                        code: part("MEMBER", member)?,
                    },
                    code: part("SUBSYSTEM", subsystem)?,
                },
                code: part("SERVICE", service)?,
            },
            tail,
        ))
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}",
            encode(&self.instance),
            encode(&self.class),
            encode(&self.code)
        )
    }
}

impl fmt::Display for SubsystemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.member, encode(&self.code))
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Member(member) => member.fmt(f),
            Self::Subsystem(subsystem) => subsystem.fmt(f),
        }
    }
}

impl fmt::Display for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.subsystem, encode(&self.code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r1_paths_split_into_service_and_raw_rest() {
        let (service, rest) =
            ServiceId::from_r1_path("VN/GOV/BCA/registry/citizens/v1/x%3B?a=1+2").unwrap();
        assert_eq!(service.to_string(), "VN/GOV/BCA/registry/citizens");
        assert_eq!(rest, "/v1/x%3B?a=1+2");
        let (bare, rest) = ServiceId::from_r1_path("VN/GOV/BCA/registry/listMethods").unwrap();
        assert_eq!((bare.code.as_str(), rest), ("listMethods", ""));
    }

    #[test]
    fn a_client_is_a_member_or_a_subsystem() {
        let member = ClientId::parse(" VN/GOV/BTP ").unwrap();
        assert_eq!(
            (member.object_type(), member.to_string().as_str()),
            ("MEMBER", "VN/GOV/BTP")
        );
        let subsystem = ClientId::parse("VN/GOV/BTP/civil").unwrap();
        assert_eq!(subsystem.object_type(), "SUBSYSTEM");
        assert!(ClientId::parse("VN/GOV").is_err());
        assert!(ClientId::parse("VN/GOV/BTP/civil/x").is_err());
    }

    #[test]
    fn parts_are_decoded_one_by_one_and_checked() {
        let client = SubsystemId::parse("VN/COM/0100%2B1/ekyc").unwrap();
        assert_eq!(client.member.code, "0100+1");
        assert_eq!(client.to_string(), "VN/COM/0100+1/ekyc");
        let slash = SubsystemId::parse("VN/GOV/BCA/a%2Fb").unwrap_err();
        assert!(slash.to_string().contains("the SUBSYSTEM part"), "{slash}");
        assert!(
            SubsystemId::parse("VN/GOV/BCA").is_err(),
            "a subsystem is required"
        );
        let missing = ServiceId::from_r1_path("VN/GOV/BCA/registry").unwrap_err();
        assert_eq!(missing.message.key(), "exchange_id.missing_in_path");
        assert!(
            missing.to_string().contains("the SERVICE part"),
            "{missing}"
        );
        let spaced = SubsystemId::parse("VN/GOV/B CA/x").unwrap_err();
        assert!(spaced.to_string().contains("the MEMBER part"), "{spaced}");
    }
}
