//! The operations others call. Every public read takes a [`Reader`](crate::Reader), whose
//! role was checked when it was made, and logs the view for each citizen the answer shows;
//! every change is one transaction with its version and its event.

mod access;
mod births;
mod records;
mod residence;
mod search;

pub use records::ContactChange;

use std::sync::Arc;

use store::Db;
use time::Date;

use crate::domain::record::CitizenRecord;
use crate::error::RegistryError;
use crate::lists::Lists;

#[derive(Debug, Clone)]
pub struct Registry {
    db: Db,
    lists: Arc<Lists>,
}

impl Registry {
    pub fn new(db: Db, lists: Arc<Lists>) -> Self {
        Self { db, lists }
    }

    pub fn lists(&self) -> &Lists {
        &self.lists
    }

    pub fn shared_lists(&self) -> Arc<Lists> {
        self.lists.clone()
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Checks a record against every rule; the error lists each failing field.
    pub fn validate(&self, record: &CitizenRecord, today: Date) -> Result<(), RegistryError> {
        let issues = record.check(&self.lists, today);
        if issues.is_empty() {
            Ok(())
        } else {
            Err(RegistryError::Invalid(issues))
        }
    }

    pub async fn count(&self) -> Result<i64, RegistryError> {
        crate::store::citizens::count(&self.db).await
    }
}
