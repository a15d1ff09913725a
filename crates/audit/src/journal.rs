//! The journal: sealed entries appended to segment files, one NDJSON line each (the export's
//! form), made durable with one `fdatasync` per batch. An exchange waits for that, not for a
//! database transaction; the indexer copies entries into the database afterwards and deletes
//! a segment once all of it is there. After a crash, start-up replays what the database lacks
//! (ADR 0011).
//!
//! A batch is acknowledged only after its `fdatasync`, so a line cut short or damaged by a
//! crash can only belong to a batch nobody was told about; reading stops there.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use crate::Error;
use crate::chain::Record;

const LOCK_FILE: &str = "writer.lock";
const SEGMENT_PREFIX: &str = "segment-";
const SEGMENT_SUFFIX: &str = ".ndjson";

/// A segment is closed and a new one begun past this size, so the indexer can delete whole
/// files behind it.
pub(crate) const SEGMENT_BYTES: u64 = 16 * 1024 * 1024;

/// Held while a process writes (or replays) the journal in a directory: one writer per chain.
#[derive(Debug)]
pub(crate) struct JournalLock {
    dir: PathBuf,
    _file: File,
}

impl JournalLock {
    /// Creates the directory if needed and takes its lock, or says who holds it.
    pub(crate) fn take(dir: &Path) -> Result<Self, Error> {
        std::fs::create_dir_all(dir)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(LOCK_FILE))?;
        match file.try_lock() {
            Ok(()) => Ok(Self {
                dir: dir.to_path_buf(),
                _file: file,
            }),
            Err(TryLockError::WouldBlock) => Err(Error::Busy(format!(
                "another process is writing the audit journal in {}",
                dir.display()
            ))),
            Err(TryLockError::Error(error)) => Err(error.into()),
        }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The segments present, oldest first, with the seq their first entry has.
    pub(crate) fn segments(&self) -> Result<Vec<(i64, PathBuf)>, Error> {
        let mut found = Vec::new();
        for item in std::fs::read_dir(&self.dir)? {
            let path = item?.path();
            let first = path
                .file_name()
                .and_then(|name| name.to_str())
                .and_then(|name| name.strip_prefix(SEGMENT_PREFIX))
                .and_then(|name| name.strip_suffix(SEGMENT_SUFFIX))
                .and_then(|digits| digits.parse::<i64>().ok());
            if let Some(first) = first {
                found.push((first, path));
            }
        }
        found.sort();
        Ok(found)
    }

    /// Removes a segment whose entries are all in the database.
    pub(crate) fn remove(&self, path: &Path) -> Result<(), Error> {
        std::fs::remove_file(path)?;
        sync_dir(&self.dir)
    }
}

/// What one segment holds, in order, up to the first line that is incomplete or unreadable.
pub(crate) struct SegmentRead {
    pub records: Vec<Record>,
    /// Bytes after the last whole entry (a batch cut short by a crash), if any.
    pub torn_bytes: u64,
}

pub(crate) fn read_segment(path: &Path) -> Result<SegmentRead, Error> {
    let mut reader = BufReader::new(File::open(path)?);
    let mut records = Vec::new();
    let mut line = Vec::new();
    let mut torn_bytes = 0;
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line)?;
        if read == 0 {
            break;
        }
        let parsed = line
            .strip_suffix(b"\n")
            .and_then(|text| serde_json::from_slice::<Record>(text).ok());
        match parsed {
            Some(record) => records.push(record),
            None => {
                // Everything from here on was never acknowledged.
                torn_bytes = read as u64;
                torn_bytes += std::io::copy(&mut reader, &mut std::io::sink())?;
                break;
            }
        }
    }
    Ok(SegmentRead {
        records,
        torn_bytes,
    })
}

/// The segment being appended to.
pub(crate) struct Segment {
    file: File,
    path: PathBuf,
    bytes: u64,
    line: Vec<u8>,
}

impl Segment {
    /// Begins a new segment whose first entry will have `first_seq`.
    pub(crate) fn create(lock: &JournalLock, first_seq: i64) -> Result<Self, Error> {
        let path = lock
            .dir()
            .join(format!("{SEGMENT_PREFIX}{first_seq:020}{SEGMENT_SUFFIX}"));
        // Entries name citizens: readable by the server's user only, like the database.
        let mut options = OpenOptions::new();
        options.create(true).truncate(true).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path)?;
        // The new name must survive a crash as well as the lines written into it.
        sync_dir(lock.dir())?;
        Ok(Self {
            file,
            path,
            bytes: 0,
            line: Vec::with_capacity(64 * 1024),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn is_full(&self) -> bool {
        self.bytes >= SEGMENT_BYTES
    }

    /// Writes the records and waits until they are on disk.
    pub(crate) fn append(&mut self, records: &[Record]) -> Result<(), Error> {
        self.line.clear();
        for record in records {
            serde_json::to_writer(&mut self.line, record)
                .map_err(|error| Error::Io(std::io::Error::other(error)))?;
            self.line.push(b'\n');
        }
        self.file.write_all(&self.line)?;
        self.file.sync_data()?;
        self.bytes += self.line.len() as u64;
        Ok(())
    }
}

fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::tests::sample;

    #[test]
    fn a_torn_last_line_ends_the_segment_and_is_counted() -> Result<(), Error> {
        let dir = tempfile::tempdir()?;
        let lock = JournalLock::take(dir.path())?;
        let mut segment = Segment::create(&lock, 1)?;
        segment.append(&[sample(1), sample(2)])?;
        let mut file = OpenOptions::new().append(true).open(segment.path())?;
        file.write_all(b"{\"seq\":3,\"mess")?;
        let read = read_segment(segment.path())?;
        assert_eq!(read.records, vec![sample(1), sample(2)]);
        assert_eq!(read.torn_bytes, 14);
        assert_eq!(lock.segments()?, vec![(1, segment.path().to_path_buf())]);
        #[cfg(unix)]
        {
            let mode = std::fs::metadata(segment.path())?.permissions();
            assert_eq!(
                std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
                0o600
            );
        }
        Ok(())
    }

    #[test]
    fn a_second_writer_is_refused_while_the_first_holds_the_lock() -> Result<(), Error> {
        let dir = tempfile::tempdir()?;
        let first = JournalLock::take(dir.path())?;
        assert!(matches!(JournalLock::take(dir.path()), Err(Error::Busy(_))));
        drop(first);
        JournalLock::take(dir.path())?;
        Ok(())
    }
}
