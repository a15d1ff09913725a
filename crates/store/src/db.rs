use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyConnection, AnyPool, ConnectOptions, Executor};

use crate::migrations::{Gathered, Migrations, union};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database URL must start with sqlite:// or postgres://, got scheme {0:?}")]
    UnsupportedScheme(String),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "migration {version} is claimed by both {first} and {second}; migration numbers are one sequence across all contexts"
    )]
    DuplicateMigration {
        version: i64,
        first: &'static str,
        second: &'static str,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a target names: a `postgres://` URL, or SQLite (a `sqlite://` URL or a
    /// file path).
    pub fn of(target: &str) -> Result<Self, Error> {
        match target.split_once("://") {
            None | Some(("sqlite", _)) => Ok(Self::Sqlite),
            Some(("postgres" | "postgresql", _)) => Ok(Self::Postgres),
            Some((other, _)) => Err(Error::UnsupportedScheme(other.to_owned())),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Pool sizes and timeouts.
#[derive(Debug, Clone)]
pub struct DbOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// The database handle every context uses. Cheap to clone.
///
/// On SQLite, writes go through a pool of one connection: SQLite allows one writer at a time,
/// and a single writer connection never meets `SQLITE_BUSY` when a read transaction tries to
/// upgrade. Reads use a separate pool and run concurrently under WAL. On PostgreSQL both are
/// the same pool.
#[derive(Clone)]
pub struct Db {
    backend: Backend,
    reader: AnyPool,
    writer: AnyPool,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may hold a password: never print it.
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Db {
    /// A SQLite file path (created if missing) or a `sqlite://` / `postgres://` URL.
    pub async fn connect(target: &str, options: &DbOptions) -> Result<Self, Error> {
        sqlx::any::install_default_drivers();
        let url = if target.contains("://") {
            target.to_owned()
        } else {
            sqlite_url(Path::new(target))
        };
        let backend = Backend::of(&url)?;
        if backend == Backend::Sqlite {
            create_owner_only(&url)?;
        }
        // Statement logging would print parameters, which may be personal data.
        let connect_options = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
        let pool = |max: u32, writer: bool| {
            AnyPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(options.acquire_timeout)
                .after_connect(move |conn, _| {
                    Box::pin(async move {
                        if backend == Backend::Sqlite {
                            tune_sqlite(conn, writer).await?;
                        }
                        Ok(())
                    })
                })
                .connect_with(connect_options.clone())
        };
        match backend {
            Backend::Sqlite => {
                let writer = pool(1, true).await?;
                let reader = pool(options.max_connections.max(1), false).await?;
                tokio::spawn(checkpoint_in_background(reader.clone()));
                Ok(Self {
                    backend,
                    reader,
                    writer,
                })
            }
            Backend::Postgres => {
                let shared = pool(options.max_connections.max(2), true).await?;
                Ok(Self {
                    backend,
                    reader: shared.clone(),
                    writer: shared,
                })
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// For queries that only read.
    pub fn reader(&self) -> &AnyPool {
        &self.reader
    }

    /// Starts a write transaction. Everything done through it, domain events included,
    /// commits together or not at all.
    pub async fn begin(&self) -> Result<Tx, Error> {
        Ok(Tx {
            inner: self.writer.begin().await?,
            backend: self.backend,
        })
    }

    /// Applies what is pending of the store's own migrations and those of `sets` (every
    /// context this program runs), in version order.
    pub async fn migrate(&self, sets: &[&Migrations]) -> Result<(), Error> {
        let migrator = Migrator::new(Gathered(union(self.backend, sets)?)).await?;
        migrator.run(&self.writer).await?;
        Ok(())
    }

    /// True when the database answers and every migration of the store and of `sets` has
    /// been applied.
    pub async fn is_ready(&self, sets: &[&Migrations]) -> Result<bool, Error> {
        let expected = union(self.backend, sets)?;
        let table_exists: i64 = match self.backend {
            Backend::Sqlite => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
                )
                .fetch_one(&self.reader)
                .await?
            }
            Backend::Postgres => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'",
                )
                .fetch_one(&self.reader)
                .await?
            }
        };
        if table_exists == 0 {
            return Ok(false);
        }
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = true")
                .fetch_all(&self.reader)
                .await?;
        Ok(expected
            .iter()
            .all(|migration| applied.contains(&migration.version)))
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

/// A write transaction that knows its backend, so helpers can use backend-specific locking.
pub struct Tx {
    inner: sqlx::Transaction<'static, Any>,
    backend: Backend,
}

impl Tx {
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.inner
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn commit(self) -> Result<(), Error> {
        Ok(self.inner.commit().await?)
    }

    pub async fn rollback(self) -> Result<(), Error> {
        Ok(self.inner.rollback().await?)
    }
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// Creates a SQLite database file that is missing as an empty file readable by its owner
/// only (0600, like the key files): it holds the population register. SQLite gives its
/// write-ahead log and shared-memory files the database file's permissions.
fn create_owner_only(url: &str) -> Result<(), Error> {
    let path = url
        .strip_prefix("sqlite://")
        .unwrap_or(url)
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        // An empty file is an empty database to SQLite.
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            tighten(Path::new(path));
            Ok(())
        }
        Err(error) => Err(Error::Sql(sqlx::Error::Io(std::io::Error::new(
            error.kind(),
            format!("creating the database file {path}: {error}"),
        )))),
    }
}

/// An existing database made readable to others (by an older version, or a careless copy) is
/// made owner-only, with its WAL and shared-memory files; a file this user may not change is
/// left as it is, with a warning, since the database still opens.
fn tighten(database: &Path) {
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm"] {
        use std::os::unix::fs::PermissionsExt;
        let mut name = database.as_os_str().to_owned();
        name.push(suffix);
        let file = Path::new(&name);
        let Ok(metadata) = std::fs::metadata(file) else {
            continue;
        };
        if metadata.permissions().mode() & 0o077 == 0 {
            continue;
        }
        if let Err(error) = std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)) {
            tracing::warn!(%error, file = %file.display(), "the database file is readable by others and could not be made owner-only");
        }
    }
}

/// WAL lets readers run beside the writer; `synchronous = FULL` makes a commit durable
/// before it is acknowledged (the platform promises that no acknowledged write is lost).
/// A 64 MiB page cache per connection keeps the indexes of a bulk load in memory.
async fn tune_sqlite(conn: &mut AnyConnection, writer: bool) -> Result<(), sqlx::Error> {
    conn.execute(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536;",
    )
    .await?;
    if writer {
        // Checkpoints run from a reader connection in the background (below), so a commit
        // never waits for one: the writer checkpoints itself only if the WAL grows past about
        // 40 MiB because the background task could not keep up.
        conn.execute("PRAGMA wal_autocheckpoint = 10000;").await?;
    }
    Ok(())
}

/// Copies the WAL into the database once a second without blocking the writer (a PASSIVE
/// checkpoint), until the pool closes.
async fn checkpoint_in_background(reader: AnyPool) {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if reader.is_closed() {
            return;
        }
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&reader)
            .await
        {
            if reader.is_closed() {
                return;
            }
            tracing::warn!(%error, "background WAL checkpoint failed; the writer will checkpoint itself");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unknown_scheme_is_named() {
        let error = Db::connect("mysql://localhost/x", &DbOptions::default())
            .await
            .err();
        assert_eq!(
            error.map(|e| e.to_string()),
            Some(
                "database URL must start with sqlite:// or postgres://, got scheme \"mysql\""
                    .to_owned()
            )
        );
    }

    /// Issue 11 item 22: the database holds the population register; other users of the
    /// machine must not read it, nor its write-ahead log.
    #[cfg(unix)]
    #[tokio::test]
    async fn a_new_sqlite_database_is_readable_by_its_owner_only()
    -> Result<(), Box<dyn std::error::Error>> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("lienthong.db");
        let db = Db::connect(&path.display().to_string(), &DbOptions::default()).await?;
        db.migrate(&[]).await?;
        for name in ["lienthong.db", "lienthong.db-wal", "lienthong.db-shm"] {
            let mode = std::fs::metadata(dir.path().join(name))?
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{name} has mode {:o}", mode & 0o777);
        }
        db.close().await;
        Ok(())
    }

    #[tokio::test]
    async fn an_existing_database_readable_by_others_is_made_owner_only()
    -> Result<(), Box<dyn std::error::Error>> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("lienthong.db");
        let db = Db::connect(&path.display().to_string(), &DbOptions::default()).await?;
        db.migrate(&[]).await?;
        db.close().await;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
        let db = Db::connect(&path.display().to_string(), &DbOptions::default()).await?;
        let mode = std::fs::metadata(&path)?.permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "mode {:o}", mode & 0o777);
        db.close().await;
        Ok(())
    }
}
