//! The access log: every official's read leaves one entry per citizen shown, so each of
//! them finds it in "who viewed my data".

use std::collections::BTreeSet;

use kernel::PersonalId;
use store::timestamp;

use super::Registry;
use crate::domain::access::{Reader, ViewEntry};
use crate::error::RegistryError;
use crate::store::views::{self, View};

impl Registry {
    /// Logs one read for each citizen in `personal_ids` (once each, however often listed), in
    /// one transaction: an answer is shown only after every citizen in it is logged.
    pub(super) async fn log_reads(
        &self,
        personal_ids: impl IntoIterator<Item = &str>,
        reader: Reader<'_>,
    ) -> Result<(), RegistryError> {
        let ids: BTreeSet<&str> = personal_ids.into_iter().collect();
        if ids.is_empty() {
            return Ok(());
        }
        let now = timestamp::now();
        let mut tx = self.db().begin().await?;
        views::insert(
            &mut tx,
            ids,
            View {
                viewer: reader.viewer(),
                agency: reader.agency(),
                purpose: reader.purpose().as_str(),
                at: &now,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Only for the exchange provider and callers being moved to it (issue 12).
    ///
    /// Records that someone viewed a citizen's record, for the citizen's data tracker.
    pub async fn log_view(
        &self,
        personal_id: PersonalId,
        viewer: &str,
        agency: &str,
        purpose: &str,
    ) -> Result<(), RegistryError> {
        let now = timestamp::now();
        let mut tx = self.db().begin().await?;
        views::insert(
            &mut tx,
            [personal_id.to_string().as_str()],
            View {
                viewer,
                agency,
                purpose,
                at: &now,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Only for the exchange provider and callers being moved to it (issue 12).
    ///
    /// A citizen's access log, newest first.
    pub async fn views_of(&self, personal_id: PersonalId) -> Result<Vec<ViewEntry>, RegistryError> {
        views::of(self.db(), personal_id).await
    }
}
