//! Who an actor is, by name: versions and logs record `account:<id>`, pages show the person.

use std::collections::HashMap;

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
            let name: Option<Option<String>> =
                sqlx::query_scalar("SELECT full_name FROM identity_accounts WHERE id = $1")
                    .bind(account)
                    .fetch_optional(self.db.reader())
                    .await?;
            if let Some(Some(name)) = name {
                names.insert(actor.clone(), name);
            }
        }
        Ok(names)
    }
}
