//! Runs one test on a fresh SQLite database and, when `LIENTHONG_TEST_DATABASE_URL` names a
//! PostgreSQL server, on a fresh PostgreSQL database too. Each database is created for the
//! test, migrated with the sets of migrations the test names (the contexts it runs; the
//! store's own always), and removed afterwards.

use std::future::Future;
use std::path::PathBuf;

use crate::{Backend, Db, DbOptions, Error, Migrations};

pub const DATABASE_URL_VAR: &str = "LIENTHONG_TEST_DATABASE_URL";

pub type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Where a fresh database can be made.
#[derive(Debug, Clone)]
pub enum TestBackend {
    Sqlite,
    /// The server's URL; the test database is created beside the one the URL names.
    Postgres {
        admin_url: String,
    },
}

impl TestBackend {
    /// SQLite always; PostgreSQL as well when the environment names a server.
    pub fn all() -> Vec<Self> {
        let mut backends = vec![Self::Sqlite];
        if let Ok(admin_url) = std::env::var(DATABASE_URL_VAR)
            && !admin_url.is_empty()
        {
            backends.push(Self::Postgres { admin_url });
        }
        backends
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite => Backend::Sqlite,
            Self::Postgres { .. } => Backend::Postgres,
        }
    }

    /// A new, empty, unmigrated database of this kind.
    pub async fn fresh(&self) -> Result<FreshDatabase, Error> {
        match self {
            Self::Sqlite => {
                let dir = tempfile::tempdir().map_err(sqlx::Error::Io)?;
                let path = dir.path().join("lienthong.db");
                Ok(FreshDatabase {
                    target: path.display().to_string(),
                    cleanup: Cleanup::Directory(dir),
                })
            }
            Self::Postgres { admin_url } => {
                let name = format!("lienthong_test_{}", uuid::Uuid::new_v4().simple());
                let admin = Db::connect(admin_url, &small_pool()).await?;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(admin.reader())
                    .await?;
                admin.close().await;
                Ok(FreshDatabase {
                    target: with_database(admin_url, &name),
                    cleanup: Cleanup::Database {
                        admin_url: admin_url.clone(),
                        name,
                    },
                })
            }
        }
    }
}

fn small_pool() -> DbOptions {
    DbOptions {
        max_connections: 4,
        ..DbOptions::default()
    }
}

/// A database made for one test. Dropping it removes the database.
#[derive(Debug)]
pub struct FreshDatabase {
    /// A SQLite path or PostgreSQL URL, as `Db::connect` and `lienthong --db` accept.
    pub target: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Directory(#[allow(dead_code)] tempfile::TempDir),
    Database { admin_url: String, name: String },
}

impl FreshDatabase {
    pub fn data_dir(&self) -> Option<PathBuf> {
        match &self.cleanup {
            Cleanup::Directory(dir) => Some(dir.path().to_path_buf()),
            Cleanup::Database { .. } => None,
        }
    }

    /// Connects and applies the store's migrations and those of `sets`.
    pub async fn migrated(&self, sets: &[&Migrations]) -> Result<Db, Error> {
        let db = Db::connect(&self.target, &small_pool()).await?;
        db.migrate(sets).await?;
        Ok(db)
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        if let Cleanup::Database { admin_url, name } = &self.cleanup {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs outside any runtime guarantee: use a private one on its own thread.
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime
                    .block_on(async {
                        let admin = Db::connect(&admin_url, &small_pool()).await?;
                        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(admin.reader())
                            .await?;
                        admin.close().await;
                        Ok::<_, Error>(())
                    })
                    .map_err(std::io::Error::other)
            })
            .join();
            if !matches!(dropped, Ok(Ok(()))) {
                eprintln!("could not drop test database {}", self.target);
            }
        }
    }
}

/// Replaces the database name in a PostgreSQL URL, keeping credentials and parameters.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base.get(authority_start..).and_then(|rest| rest.find('/')) {
        Some(slash) => base.get(..authority_start + slash).unwrap_or(base),
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}

/// Runs `test` once per available backend on a fresh database migrated with `sets`; the
/// first failure names the backend it happened on.
pub async fn for_each_backend<F, Fut>(sets: &[&Migrations], test: F) -> TestResult
where
    F: Fn(Db) -> Fut,
    Fut: Future<Output = TestResult>,
{
    for backend in TestBackend::all() {
        let fresh = backend.fresh().await?;
        let db = fresh.migrated(sets).await?;
        let outcome = test(db.clone()).await;
        db.close().await;
        outcome.map_err(|e| format!("on {}: {e}", backend.backend().name()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn swaps_only_the_database_name() {
        assert_eq!(
            with_database(
                "postgres://u:p@127.0.0.1:5432/postgres?sslmode=disable",
                "t1"
            ),
            "postgres://u:p@127.0.0.1:5432/t1?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://127.0.0.1", "t2"),
            "postgres://127.0.0.1/t2"
        );
    }
}
