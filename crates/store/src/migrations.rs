//! Migrations live beside the context that owns their tables (`crates/<context>/migrations/
//! {sqlite,postgres}/NNNN_<what>.sql`); each context exposes its set with [`migrations!`], and
//! [`Db::migrate`](crate::Db::migrate) applies the union of the sets it is given, with the
//! store's own (the events table), in version order. The numbers are one sequence across the
//! workspace, so a database records the same versions and checksums whichever crate a file
//! lives in; two contexts claiming one number is an error, never a silent choice.

use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, Migrator};

use crate::{Backend, Error};

/// One context's migrations, embedded at compile time for both backends.
#[derive(Debug)]
pub struct Migrations {
    context: &'static str,
    sqlite: Migrator,
    postgres: Migrator,
}

/// The embedded migrations of the calling crate, from its `migrations/sqlite` and
/// `migrations/postgres` folders: `pub static MIGRATIONS: store::Migrations =
/// store::migrations!("registry");`. The crate needs `sqlx` as a dependency.
#[macro_export]
macro_rules! migrations {
    ($context:literal) => {
        $crate::Migrations::new(
            $context,
            ::sqlx::migrate!("./migrations/sqlite"),
            ::sqlx::migrate!("./migrations/postgres"),
        )
    };
}

/// The events table, which every context writes through [`crate::events`].
pub static MIGRATIONS: Migrations = migrations!("store");

impl Migrations {
    /// Use [`migrations!`], which embeds the calling crate's folders.
    pub const fn new(context: &'static str, sqlite: Migrator, postgres: Migrator) -> Self {
        Self {
            context,
            sqlite,
            postgres,
        }
    }

    pub fn context(&self) -> &'static str {
        self.context
    }

    /// This set's migrations for `backend`.
    pub fn for_backend(&self, backend: Backend) -> impl Iterator<Item = &Migration> {
        match backend {
            Backend::Sqlite => self.sqlite.iter(),
            Backend::Postgres => self.postgres.iter(),
        }
    }
}

/// The store's own migrations and those of `sets` (each set once, however often it is
/// named), for `backend`, in version order.
pub(crate) fn union(backend: Backend, sets: &[&Migrations]) -> Result<Vec<Migration>, Error> {
    let mut distinct: Vec<&Migrations> = vec![&MIGRATIONS];
    for set in sets {
        if !distinct.iter().any(|seen| std::ptr::eq(*seen, *set)) {
            distinct.push(set);
        }
    }
    let mut all: Vec<(&'static str, &Migration)> = distinct
        .iter()
        .flat_map(|set| {
            set.for_backend(backend)
                .map(move |migration| (set.context, migration))
        })
        .collect();
    all.sort_by_key(|(_, migration)| migration.version);
    for pair in all.windows(2) {
        if let [(first, earlier), (second, later)] = pair
            && earlier.version == later.version
        {
            return Err(Error::DuplicateMigration {
                version: later.version,
                first,
                second,
            });
        }
    }
    Ok(all
        .into_iter()
        .map(|(_, migration)| migration.clone())
        .collect())
}

/// A migration list already gathered, handed to sqlx's runner through its public source
/// interface.
#[derive(Debug)]
pub(crate) struct Gathered(pub(crate) Vec<Migration>);

impl<'s> MigrationSource<'s> for Gathered {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 's>> {
        Box::pin(std::future::ready(Ok(self.0)))
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use sqlx::migrate::MigrationType;

    use super::*;

    async fn set(context: &'static str, versions: &[i64]) -> Result<Migrations, Error> {
        let migrator = || async {
            let migrations = versions
                .iter()
                .map(|version| {
                    Migration::new(
                        *version,
                        Cow::Owned(format!("m{version}")),
                        MigrationType::Simple,
                        Cow::Owned(format!("CREATE TABLE t{version} (id BIGINT);")),
                        false,
                    )
                })
                .collect();
            Migrator::new(Gathered(migrations)).await
        };
        Ok(Migrations::new(
            context,
            migrator().await?,
            migrator().await?,
        ))
    }

    #[tokio::test]
    async fn sets_are_merged_in_version_order() -> Result<(), Box<dyn std::error::Error>> {
        let late = set("late", &[9, 3]).await?;
        let early = set("early", &[2]).await?;
        let versions: Vec<i64> = union(Backend::Sqlite, &[&late, &early, &late])?
            .iter()
            .map(|migration| migration.version)
            .collect();
        assert_eq!(versions, [1, 2, 3, 9]);
        Ok(())
    }

    #[tokio::test]
    async fn two_contexts_may_not_share_a_number() -> Result<(), Box<dyn std::error::Error>> {
        let registry = set("registry", &[2]).await?;
        let portal = set("portal", &[2]).await?;
        let error = union(Backend::Postgres, &[&registry, &portal]).err();
        assert_eq!(
            error.map(|e| e.to_string()),
            Some(
                "migration 2 is claimed by both registry and portal; migration numbers are one sequence across all contexts"
                    .to_owned()
            )
        );
        let error = union(Backend::Sqlite, &[&set("events again", &[1]).await?]).err();
        assert!(error.is_some_and(|e| e.to_string().contains("store and events again")));
        Ok(())
    }
}
