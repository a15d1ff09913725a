//! Who an actor is, by name: versions and logs record `account:<id>`, pages show the person.

use std::collections::HashMap;

use crate::store::accounts as store_accounts;
use crate::{Identity, IdentityError};

impl Identity {
    /// The names kept with the accounts among `actors`; other actors (imports, systems) and
    /// accounts without a kept name are left out.
    pub async fn names_of(
        &self,
        actors: &[String],
    ) -> Result<HashMap<String, String>, IdentityError> {
        let mut names = HashMap::new();
        for actor in actors {
            let Some(account) = actor.strip_prefix("account:") else {
                continue;
            };
            if names.contains_key(actor) {
                continue;
            }
            let name = store_accounts::name_by_id(&self.db, account).await?;
            if let Some(Some(name)) = name {
                names.insert(actor.clone(), name);
            }
        }
        Ok(names)
    }
}
