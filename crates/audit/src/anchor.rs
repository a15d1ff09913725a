//! Checkpoints anchored outside the database they protect (ADR 0019). Every checkpoint the
//! writer commits is also appended, one JSON line each, to a file of its own and synced, so
//! someone who can rewrite the database (and delete or recompute its checkpoints) still
//! cannot make the anchored history disappear: the file is meant to be append-only
//! (`chattr +a`, or a copy shipped to another host), and `verify_anchored` holds the
//! database's chain against it.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::domain::checkpoint::Checkpoint;
use crate::error::Error;

/// Where checkpoints are anchored.
#[derive(Debug, Clone)]
pub(crate) struct AnchorFile {
    path: PathBuf,
}

impl AnchorFile {
    pub(crate) fn new(path: PathBuf) -> Self {
        Self { path }
    }

    /// Appends `checkpoints` and syncs the file before returning. Opened in append mode each
    /// time: the writer never seeks, so an append-only file (`chattr +a`) accepts it.
    pub(crate) async fn append(&self, checkpoints: &[Checkpoint]) -> Result<(), Error> {
        if checkpoints.is_empty() {
            return Ok(());
        }
        let mut lines = Vec::new();
        for checkpoint in checkpoints {
            serde_json::to_writer(&mut lines, checkpoint).map_err(std::io::Error::other)?;
            lines.push(b'\n');
        }
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || append_synced(&path, &lines))
            .await
            .map_err(std::io::Error::other)??;
        Ok(())
    }
}

fn append_synced(path: &Path, lines: &[u8]) -> std::io::Result<()> {
    let existed = path.exists();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(lines)?;
    file.sync_data()?;
    if !existed && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // A new file's name is durable only once its directory is synced.
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The complete lines of the anchor file with their line numbers; none if it does not exist.
/// A last line without its newline was cut short by a crash mid-append and is left out.
pub(crate) fn read_lines(path: &Path) -> Result<Vec<(u64, String)>, Error> {
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error.into()),
    };
    let complete = text
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(&[][..], |end| text.get(..end).unwrap_or_default());
    Ok(complete
        .split(|b| *b == b'\n')
        .zip(1u64..)
        .filter(|(line, _)| !line.is_empty())
        .map(|(line, number)| (number, String::from_utf8_lossy(line).into_owned()))
        .collect())
}
