//! Residence changes (Law on Residence 2020) and the residence history.

use kernel::PersonalId;
use store::timestamp;
use time::Date;

use super::Registry;
use super::records::write_version;
use crate::domain::access::Reader;
use crate::domain::residence::{ResidenceChange, ResidenceEvent};
use crate::domain::version::Change;
use crate::error::RegistryError;
use crate::store::residence;

impl Registry {
    /// Applies a residence change to the record (a new version) and keeps it in the history.
    pub async fn change_residence(
        &self,
        personal_id: PersonalId,
        expected_version: i64,
        change_of_residence: ResidenceChange,
        change: Change<'_>,
        today: Date,
    ) -> Result<i64, RegistryError> {
        let current = self
            .get(personal_id)
            .await?
            .ok_or(RegistryError::NotFound)?;
        let record = change_of_residence
            .apply_to(current.record, today)
            .map_err(|issue| RegistryError::Invalid(vec![issue]))?;
        self.validate(&record, today)?;
        let mut tx = self.db().begin().await?;
        let version = write_version(
            &mut tx,
            &record,
            expected_version,
            change,
            change_of_residence.kind.as_str(),
            change_of_residence.kind.event(),
        )
        .await?;
        residence::insert(
            &mut tx,
            personal_id,
            &change_of_residence,
            change.basis,
            &timestamp::now(),
        )
        .await?;
        tx.commit().await?;
        Ok(version)
    }

    /// A citizen's residence history in effective order; the view is logged when there is
    /// any.
    pub async fn residence_history(
        &self,
        reader: Reader<'_>,
        personal_id: PersonalId,
    ) -> Result<Vec<ResidenceEvent>, RegistryError> {
        let history = residence::events_of(self.db(), personal_id).await?;
        if !history.is_empty() {
            self.log_reads([personal_id.to_string().as_str()], reader)
                .await?;
        }
        Ok(history)
    }
}
