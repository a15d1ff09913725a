//! One entry of the chain: what the gateway reports, how it is stored, and how it is hashed
//! (the encoding is specified in the crate documentation).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::Duration;
use time::OffsetDateTime;

use crate::error::Error;

pub(crate) type Hash = [u8; 32];

/// The previous hash of the first entry.
pub(crate) const GENESIS: Hash = [0; 32];

const ENTRY_TAG: &str = "lienthong-audit-entry-v1";

/// Longer text is refused rather than stored: a field this long is a bug or an attack, and
/// one oversized row must not fail the batch it shares with other exchanges.
const MAX_FIELD_BYTES: usize = 8 * 1024;

/// What the gateway knows about one exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// `X-Road-Id`.
    pub message_id: String,
    /// When the exchange happened.
    pub at: OffsetDateTime,
    /// The client subsystem, `instance/class/member/subsystem`, e.g. `VN/GOV/000.00.00.H41/portal`.
    pub client: String,
    /// The service, e.g. `VN/GOV/000.00.00.B01/registry/citizens`.
    pub service: String,
    pub method: String,
    pub path: String,
    /// `X-Road-UserId`: the end user on whose behalf the client asked.
    pub user_id: Option<String>,
    /// `X-Road-Issue`: the purpose or case the request was made for.
    pub issue: Option<String>,
    /// The personal ID number of the citizen whose data the exchange concerns, when known.
    pub subject: Option<String>,
    pub status: u16,
    pub latency: Duration,
    /// SHA-256 of the request body as received ([`body_hash`]).
    pub request_hash: [u8; 32],
    /// SHA-256 of the response body as sent.
    pub response_hash: [u8; 32],
}

/// SHA-256 of a body, for [`NewEntry::request_hash`] and [`NewEntry::response_hash`].
pub fn body_hash(body: &[u8]) -> [u8; 32] {
    Sha256::digest(body).into()
}

/// An entry exactly as stored and exported: the values that are hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[serde(deny_unknown_fields)]
pub(crate) struct Record {
    pub seq: i64,
    pub message_id: String,
    pub at: String,
    pub client: String,
    pub service: String,
    pub method: String,
    pub path: String,
    pub user_id: Option<String>,
    pub issue: Option<String>,
    pub subject: Option<String>,
    pub status: i64,
    pub latency_micros: i64,
    pub request_hash: String,
    pub response_hash: String,
    pub prev_hash: String,
    pub entry_hash: String,
}

impl Record {
    /// Checks the text fields and converts to the stored form, not yet chained (seq 0).
    pub(crate) fn unsealed(entry: NewEntry) -> Result<Self, Error> {
        let required = [
            ("message_id", &entry.message_id),
            ("client", &entry.client),
            ("service", &entry.service),
            ("method", &entry.method),
            ("path", &entry.path),
        ];
        for (field, value) in required {
            check_field(field, value)?;
            if value.is_empty() {
                return Err(Error::Invalid {
                    field,
                    reason: "must not be empty".into(),
                });
            }
        }
        let optional = [
            ("user_id", &entry.user_id),
            ("issue", &entry.issue),
            ("subject", &entry.subject),
        ];
        for (field, value) in optional {
            if let Some(value) = value {
                check_field(field, value)?;
            }
        }
        Ok(Self {
            seq: 0,
            message_id: entry.message_id,
            at: store::timestamp::format(entry.at),
            client: entry.client,
            service: entry.service,
            method: entry.method,
            path: entry.path,
            user_id: entry.user_id,
            issue: entry.issue,
            subject: entry.subject,
            status: i64::from(entry.status),
            latency_micros: i64::try_from(entry.latency.as_micros()).unwrap_or(i64::MAX),
            request_hash: hex(&entry.request_hash),
            response_hash: hex(&entry.response_hash),
            prev_hash: String::new(),
            entry_hash: String::new(),
        })
    }

    /// Places the entry at `seq` after an entry whose hash is `prev`; returns its hash.
    pub(crate) fn seal(&mut self, seq: i64, prev: &Hash) -> Hash {
        self.seq = seq;
        self.prev_hash = hex(prev);
        let hash = self.compute_hash(prev);
        self.entry_hash = hex(&hash);
        hash
    }

    /// The hash this entry would have at `seq` (rather than its own) after `prev`.
    pub(crate) fn hash_at(&self, seq: i64, prev: &Hash) -> Hash {
        Self {
            seq,
            ..self.clone()
        }
        .compute_hash(prev)
    }

    /// The hash this entry would have if it followed an entry whose hash is `prev`.
    pub(crate) fn compute_hash(&self, prev: &Hash) -> Hash {
        let mut hasher = Sha256::new();
        hasher.update(prev);
        put_str(&mut hasher, ENTRY_TAG);
        hasher.update(self.seq.to_be_bytes());
        for text in [
            &self.message_id,
            &self.at,
            &self.client,
            &self.service,
            &self.method,
            &self.path,
        ] {
            put_str(&mut hasher, text);
        }
        for text in [&self.user_id, &self.issue, &self.subject] {
            match text {
                None => hasher.update([0]),
                Some(text) => {
                    hasher.update([1]);
                    put_str(&mut hasher, text);
                }
            }
        }
        hasher.update(self.status.to_be_bytes());
        hasher.update(self.latency_micros.to_be_bytes());
        put_str(&mut hasher, &self.request_hash);
        put_str(&mut hasher, &self.response_hash);
        hasher.finalize().into()
    }
}

/// NUL cannot be stored in PostgreSQL text; refusing it here keeps one entry from failing
/// everyone else's batch. Public so that a caller can refuse a request whose fields the log
/// would not take before it acts on it.
pub fn check_field(field: &'static str, value: &str) -> Result<(), Error> {
    if value.len() > MAX_FIELD_BYTES {
        return Err(Error::Invalid {
            field,
            reason: format!("longer than {MAX_FIELD_BYTES} bytes"),
        });
    }
    if value.contains('\0') {
        return Err(Error::Invalid {
            field,
            reason: "contains a NUL character".into(),
        });
    }
    Ok(())
}

/// `str(s)`: the length first, so no field's bytes can be read as part of its neighbour.
pub(crate) fn put_str(hasher: &mut Sha256, text: &str) {
    // Fields are at most MAX_FIELD_BYTES when written; a longer stored value (tampering) still
    // hashes deterministically, saturated, and so fails to match.
    let length = u32::try_from(text.len()).unwrap_or(u32::MAX);
    hasher.update(length.to_be_bytes());
    hasher.update(text.as_bytes());
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        for nibble in [byte >> 4, byte & 0x0f] {
            text.push(char::from(
                DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
    text
}

/// Exactly 64 lowercase hexadecimal digits, the only form the log writes; anything else is
/// a sign of tampering.
pub(crate) fn parse_hash(text: &str) -> Option<Hash> {
    let digits = text.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let mut hash = [0u8; 32];
    for (byte, pair) in hash.iter_mut().zip(digits.chunks_exact(2)) {
        let mut value = 0u8;
        for digit in pair {
            let nibble = match digit {
                b'0'..=b'9' => digit - b'0',
                b'a'..=b'f' => digit - b'a' + 10,
                _ => return None,
            };
            value = (value << 4) | nibble;
        }
        *byte = value;
    }
    Some(hash)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use time::macros::datetime;

    pub(crate) fn sample(n: i64) -> Record {
        let mut record = Record::unsealed(NewEntry {
            message_id: format!("m{n}"),
            at: datetime!(2026-11-23 07:08:43.123456 UTC),
            client: "VN/GOV/000.00.00.H41/portal".into(),
            service: "VN/GOV/000.00.00.B01/registry/citizens".into(),
            method: "GET".into(),
            path: "/citizens/001099000001".into(),
            user_id: Some("VN001099000002".into()),
            issue: None,
            subject: Some("001099000001".into()),
            status: 200,
            latency: Duration::from_micros(1234),
            request_hash: body_hash(b""),
            response_hash: body_hash(b"{}"),
        })
        .expect("valid sample");
        record.seal(n, &GENESIS);
        record
    }

    #[test]
    fn the_encoding_is_fixed() {
        // A known answer, also computed by an independent implementation of the encoding in
        // the crate documentation. If this changes, every existing chain stops verifying.
        let record = sample(1);
        assert_eq!(record.at, "2026-11-23T07:08:43.123456Z");
        assert_eq!(
            record.request_hash,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            record.entry_hash,
            "090b65e9e8f8e7e797ff6f7f926431c49818e456f673906ebc8df5de810e1f3b"
        );
    }

    #[test]
    fn shifting_bytes_between_fields_changes_the_hash() {
        let mut a = sample(1);
        let mut b = sample(1);
        a.method = "GE".into();
        a.path = format!("T{}", a.path);
        b.method = "GET".into();
        assert_ne!(a.compute_hash(&GENESIS), b.compute_hash(&GENESIS));
        // An absent optional differs from a present empty one.
        a = sample(1);
        b = sample(1);
        b.issue = Some(String::new());
        assert_ne!(a.compute_hash(&GENESIS), b.compute_hash(&GENESIS));
    }

    #[test]
    fn every_field_is_covered() {
        let base = sample(3);
        let hash = base.compute_hash(&GENESIS);
        let changes: Vec<fn(&mut Record)> = vec![
            |r| r.seq += 1,
            |r| r.message_id.push('x'),
            |r| r.at.push('x'),
            |r| r.client.push('x'),
            |r| r.service.push('x'),
            |r| r.method.push('x'),
            |r| r.path.push('x'),
            |r| r.user_id = None,
            |r| r.issue = Some("x".into()),
            |r| r.subject = None,
            |r| r.status += 1,
            |r| r.latency_micros += 1,
            |r| r.request_hash.push('x'),
            |r| r.response_hash.push('x'),
        ];
        for (index, change) in changes.iter().enumerate() {
            let mut changed = base.clone();
            change(&mut changed);
            assert_ne!(changed.compute_hash(&GENESIS), hash, "change {index}");
        }
        assert_ne!(base.compute_hash(&[1; 32]), hash, "prev_hash");
    }

    #[test]
    fn hashes_round_trip_through_hex_and_only_lowercase_parses() {
        let hash = body_hash(b"abc");
        assert_eq!(parse_hash(&hex(&hash)), Some(hash));
        assert_eq!(parse_hash(&hex(&hash).to_uppercase()), None);
        assert_eq!(parse_hash("00"), None);
    }

    #[test]
    fn nul_and_empty_required_fields_are_refused_by_name() {
        let mut entry = NewEntry {
            message_id: "m".into(),
            at: datetime!(2026-11-23 0:00 UTC),
            client: "c".into(),
            service: "s".into(),
            method: "GET".into(),
            path: "/".into(),
            user_id: None,
            issue: None,
            subject: Some("0010\0".into()),
            status: 200,
            latency: Duration::ZERO,
            request_hash: [0; 32],
            response_hash: [0; 32],
        };
        let error = Record::unsealed(entry.clone()).err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some("audit entry field subject is not acceptable: contains a NUL character")
        );
        entry.subject = None;
        entry.service = String::new();
        assert!(matches!(
            Record::unsealed(entry),
            Err(Error::Invalid {
                field: "service",
                ..
            })
        ));
    }
}
