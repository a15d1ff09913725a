//! Officials' searches: by personal ID number, by name, by household. Each person found is
//! logged, since the answer shows their name and birth date.

use kernel::PersonalId;
use time::Date;

use super::Registry;
use crate::domain::access::Reader;
use crate::domain::record::fold_name;
use crate::domain::summary::Summary;
use crate::error::RegistryError;
use crate::store::citizens;

impl Registry {
    /// The citizen with this number, if any.
    pub async fn find(
        &self,
        reader: Reader<'_>,
        personal_id: PersonalId,
    ) -> Result<Vec<Summary>, RegistryError> {
        let found: Vec<Summary> = self
            .get(personal_id)
            .await?
            .map(|current| Summary::from(&current.record))
            .into_iter()
            .collect();
        self.log_shown(&found, reader).await?;
        Ok(found)
    }

    /// People whose folded name matches exactly, optionally born on `birth_date`.
    pub async fn search_by_name(
        &self,
        reader: Reader<'_>,
        name: &str,
        birth_date: Option<Date>,
        limit: i64,
    ) -> Result<Vec<Summary>, RegistryError> {
        let found = citizens::by_name(self.db(), &fold_name(name), birth_date, limit).await?;
        self.log_shown(&found, reader).await?;
        Ok(found)
    }

    /// One page of the people whose folded name matches, with how many match in all.
    pub async fn search_by_name_page(
        &self,
        reader: Reader<'_>,
        name: &str,
        birth_date: Option<Date>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Summary>, u64), RegistryError> {
        let key = fold_name(name);
        let total = citizens::count_by_name(self.db(), &key, birth_date).await?;
        let found = citizens::by_name_from(self.db(), &key, birth_date, limit, offset).await?;
        self.log_shown(&found, reader).await?;
        Ok((found, total))
    }

    /// The members of a household, oldest first.
    pub async fn household(
        &self,
        reader: Reader<'_>,
        household_id: &str,
    ) -> Result<Vec<Summary>, RegistryError> {
        let members = self.household_members(household_id).await?;
        self.log_shown(&members, reader).await?;
        Ok(members)
    }

    /// Only for the exchange provider and callers being moved to it (issue 12).
    ///
    /// The members of a household, oldest first, read without an entry in the access log.
    pub async fn household_members(
        &self,
        household_id: &str,
    ) -> Result<Vec<Summary>, RegistryError> {
        citizens::household_members(self.db(), household_id).await
    }

    pub(super) async fn log_shown(
        &self,
        shown: &[Summary],
        reader: Reader<'_>,
    ) -> Result<(), RegistryError> {
        self.log_reads(shown.iter().map(|s| s.personal_id.as_str()), reader)
            .await
    }
}
