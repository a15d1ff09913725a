//! Who did something, by name. Versions and logs record actors as `account:<id>`; the
//! identity context, which keeps each account's name, answers the lookup that `server`
//! wires in, so no context depends on identity to show a name.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Actors in, their names out (those it knows).
pub type NameLookup = Arc<
    dyn Fn(Vec<String>) -> Pin<Box<dyn Future<Output = HashMap<String, String>> + Send>>
        + Send
        + Sync,
>;

#[derive(Clone)]
pub struct People {
    lookup: NameLookup,
}

impl People {
    pub fn new(lookup: NameLookup) -> Self {
        Self { lookup }
    }

    /// The names of these actors that are known.
    pub async fn names<'a>(
        &self,
        actors: impl IntoIterator<Item = &'a str>,
    ) -> HashMap<String, String> {
        let mut wanted: Vec<String> = actors.into_iter().map(str::to_owned).collect();
        wanted.sort();
        wanted.dedup();
        (self.lookup)(wanted).await
    }
}

impl fmt::Debug for People {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("People")
    }
}
