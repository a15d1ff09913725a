//! Officials' reads of personal data. Each read states a purpose and leaves one entry in the
//! access log for every citizen whose data the answer shows, so each of them finds it in
//! "who viewed my data" (Decree 13/2023/ND-CP on personal data protection, art. 9(1): the
//! data subject's right to know how their data is processed).

use std::collections::BTreeSet;

use store::bulk::{self, Value};
use store::timestamp;

use crate::service::{Registry, RegistryError};

/// Why an official reads personal data, as the citizen will see it: required, at least
/// `MIN_CHARS` and at most `MAX_CHARS` characters once trimmed, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purpose(String);

impl Purpose {
    pub const MIN_CHARS: usize = 5;
    /// Enough to name a case and its number; the access log is shown to citizens as is.
    pub const MAX_CHARS: usize = 200;

    pub fn parse(input: &str) -> Result<Self, String> {
        let purpose = input.trim();
        let chars = purpose.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(format!(
                "state the purpose of this access (at least {} characters); the citizen will see it",
                Self::MIN_CHARS
            ));
        }
        if chars > Self::MAX_CHARS {
            return Err(format!(
                "the purpose is {chars} characters long; at most {} are kept",
                Self::MAX_CHARS
            ));
        }
        if purpose.chars().any(char::is_control) {
            return Err("the purpose must not contain control characters".into());
        }
        Ok(Self(purpose.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who reads and why: the official, the agency they act for, and the purpose they gave.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    pub viewer: &'a str,
    pub agency: &'a str,
    pub purpose: &'a Purpose,
}

impl Registry {
    /// Logs one read for each citizen in `personal_ids` (once each, however often listed), in
    /// one transaction: an answer is shown only after every citizen in it is logged.
    pub async fn log_reads(
        &self,
        personal_ids: &[&str],
        reader: Reader<'_>,
    ) -> Result<(), RegistryError> {
        let ids: BTreeSet<&str> = personal_ids.iter().copied().collect();
        if ids.is_empty() {
            return Ok(());
        }
        let now = timestamp::now();
        let rows = ids
            .into_iter()
            .map(|id| {
                vec![
                    Value::Text(id.to_owned()),
                    Value::Text(reader.viewer.to_owned()),
                    Value::Text(reader.agency.to_owned()),
                    Value::Text(reader.purpose.as_str().to_owned()),
                    Value::Text(now.clone()),
                ]
            })
            .collect();
        let mut tx = self.db().begin().await?;
        bulk::insert_rows(
            &mut tx,
            "registry_record_views",
            &["personal_id", "viewer", "agency", "purpose", "viewed_at"],
            rows,
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
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
