//! An online backup of the embedded SQLite database, taken while the server runs and writes
//! (ADR 0022): `VACUUM INTO` copies one read transaction's snapshot, so the copy is
//! consistent, and under WAL the writer goes on meanwhile. PostgreSQL has pg_dump for this.

use std::path::{Path, PathBuf};

use rand::RngCore;

use crate::{Backend, Db};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "the database is on PostgreSQL: back it up with pg_dump (for example `pg_dump --format=custom --file=FILE URL`); this command copies the embedded SQLite database"
    )]
    Postgres,
    #[error("{0} already exists")]
    Exists(PathBuf),
    #[error("writing the backup {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("copying the database: {0}")]
    Sql(#[from] sqlx::Error),
}

impl Db {
    /// Copies the database into a new file at `out`, readable by its owner only. An existing
    /// `out` is replaced only when `overwrite` is set, and then whole: the copy is made beside
    /// it under a temporary name and moved into place once it is on disk.
    pub async fn backup_to(&self, out: &Path, overwrite: bool) -> Result<(), BackupError> {
        if self.backend() == Backend::Postgres {
            return Err(BackupError::Postgres);
        }
        if !overwrite && out.exists() {
            return Err(BackupError::Exists(out.to_path_buf()));
        }
        let dir = match out.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let partial = dir.join(partial_name(out));
        // SQLite writes into an empty file it is given and keeps its mode: the copy is
        // owner-only from its first byte, like the database.
        owner_only_empty_file(&partial).map_err(at(&partial))?;
        let copied = self.copy_into(&partial, out, dir, overwrite).await;
        if copied.is_err() {
            let _partial_gone_or_never_made = std::fs::remove_file(&partial);
        }
        copied
    }

    async fn copy_into(
        &self,
        partial: &Path,
        out: &Path,
        dir: &Path,
        overwrite: bool,
    ) -> Result<(), BackupError> {
        let target = partial.to_str().ok_or_else(|| BackupError::Io {
            path: partial.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the path is not valid UTF-8",
            ),
        })?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(self.reader())
            .await?;
        std::fs::File::open(partial)
            .and_then(|file| file.sync_all())
            .map_err(at(partial))?;
        if overwrite {
            std::fs::rename(partial, out).map_err(at(out))?;
        } else {
            // A link fails if `out` appeared meanwhile, where a rename would replace it.
            std::fs::hard_link(partial, out).map_err(|source| {
                if source.kind() == std::io::ErrorKind::AlreadyExists {
                    BackupError::Exists(out.to_path_buf())
                } else {
                    at(out)(source)
                }
            })?;
            std::fs::remove_file(partial).map_err(at(partial))?;
        }
        std::fs::File::open(dir)
            .and_then(|dir| dir.sync_all())
            .map_err(at(dir))
    }
}

/// Names the file an I/O error happened on.
fn at(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError {
    let path = path.to_path_buf();
    move |source| BackupError::Io { path, source }
}

fn partial_name(out: &Path) -> String {
    let mut suffix = [0_u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut suffix);
    let suffix: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
    let name = out
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}.partial-{suffix}")
}

fn owner_only_empty_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop)
}
