//! Bulk import and export of citizen records as CSV or NDJSON, streamed.
//!
//! Rows are read a batch at a time and each batch is written in one transaction, so a
//! batch lands whole or not at all. A row that cannot be read or breaks a rule is rejected
//! and reported with its line and every reason; the rest of its batch still lands. An
//! unreadable file (I/O error, invalid UTF-8) stops the import before the current batch is
//! written. With `atomic`, the whole file is one transaction and any rejection undoes it.

use std::collections::HashSet;
use std::io::{BufRead, Read, Write};
use std::path::Path;

use kernel::Message;
use kernel::event::{Event, RegistryImported};
use serde::Serialize;
use store::events;
use store::timestamp;
use time::Date;

use crate::domain::record::{CitizenRecord, FieldIssue};
use crate::domain::version::Change;
use crate::error::RegistryError;
use crate::flat::{CsvWriter, FlatCitizen, restore_formula};
use crate::lists::Lists;
use crate::service::Registry;
use crate::store::{citizens, numbers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Ndjson,
}

impl Format {
    /// By file extension: `.csv`, or `.ndjson` / `.jsonl`.
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("csv") => Some(Self::Csv),
            Some("ndjson" | "jsonl") => Some(Self::Ndjson),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub batch_size: usize,
    pub atomic: bool,
    pub actor: String,
    pub basis: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejection {
    /// Line in the file (CSV: counting the header as line 1).
    pub line: u64,
    /// Masked: the report may travel further than the registry.
    pub personal_id: Option<String>,
    pub reasons: Vec<FieldIssue>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportReport {
    pub rows: u64,
    pub imported: u64,
    pub batches_committed: u64,
    pub rejected: Vec<Rejection>,
    /// Set when the file could not be read to the end; nothing after the last committed
    /// batch was written.
    pub stopped: Option<String>,
    /// Set in atomic mode when rejections undid the whole import.
    pub rolled_back: bool,
}

type ReadRow = (u64, Result<FlatCitizen, String>);

/// Row source over either format, yielding the line and the row or why it is unreadable.
/// `Err` from `next_row` means the file itself cannot be read further.
enum Rows<R: Read> {
    Csv {
        reader: csv::Reader<R>,
        headers: csv::StringRecord,
        record: csv::StringRecord,
    },
    Ndjson {
        lines: std::io::Lines<std::io::BufReader<R>>,
        line: u64,
    },
}

impl<R: Read> Rows<R> {
    /// Fails when a CSV header names a column the format does not have.
    fn new(reader: R, format: Format) -> Result<Self, String> {
        match format {
            Format::Csv => {
                let mut reader = csv::ReaderBuilder::new()
                    .flexible(false)
                    .from_reader(reader);
                let headers = reader
                    .headers()
                    .map_err(|e| format!("reading the header: {e}"))?
                    .clone();
                let known = FlatCitizen::columns();
                let unknown: Vec<&str> = headers.iter().filter(|h| !known.contains(h)).collect();
                if !unknown.is_empty() {
                    return Err(format!(
                        "unknown columns {unknown:?}; the columns are {}",
                        known.join(",")
                    ));
                }
                Ok(Self::Csv {
                    reader,
                    headers,
                    record: csv::StringRecord::new(),
                })
            }
            Format::Ndjson => Ok(Self::Ndjson {
                lines: std::io::BufReader::new(reader).lines(),
                line: 0,
            }),
        }
    }

    fn next_row(&mut self) -> Result<Option<ReadRow>, String> {
        match self {
            Self::Csv {
                reader,
                headers,
                record,
            } => match reader.read_record(record) {
                Ok(false) => Ok(None),
                Ok(true) => {
                    let line = record.position().map_or(0, csv::Position::line);
                    let restored: csv::StringRecord = record.iter().map(restore_formula).collect();
                    Ok(Some((
                        line,
                        restored
                            .deserialize(Some(headers))
                            .map_err(|e| csv_reason(&e)),
                    )))
                }
                Err(error) => {
                    let line = error.position().map_or(0, csv::Position::line);
                    match error.kind() {
                        csv::ErrorKind::Io(e) => Err(format!("reading line {line}: {e}")),
                        csv::ErrorKind::Utf8 { .. } => {
                            Err(format!("line {line} is not valid UTF-8"))
                        }
                        _ => Ok(Some((line, Err(csv_reason(&error))))),
                    }
                }
            },
            Self::Ndjson { lines, line } => loop {
                *line += 1;
                match lines.next() {
                    None => return Ok(None),
                    Some(Err(e)) => return Err(format!("reading line {line}: {e}")),
                    Some(Ok(text)) if text.trim().is_empty() => continue,
                    Some(Ok(text)) => {
                        return Ok(Some((
                            *line,
                            serde_json::from_str(&text).map_err(|e| {
                                format!("not a JSON object of the expected shape: {e}")
                            }),
                        )));
                    }
                }
            },
        }
    }
}

fn csv_reason(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("has {len} fields where the header has {expected_len}"),
        csv::ErrorKind::Deserialize { err, .. } => err.to_string(),
        _ => error.to_string(),
    }
}

/// One batch as read and checked, ready to be written.
#[derive(Default)]
struct CheckedBatch {
    records: Vec<(u64, CitizenRecord)>,
    rejected: Vec<Rejection>,
    rows: u64,
    /// The file could not be read further; this batch's records must not be written.
    stopped: Option<String>,
}

/// Reads and checks rows on a blocking thread, at most one batch ahead of the writer, so
/// parsing and validation on one core overlap with the database's work on the other.
fn read_batches<R: Read + Send + 'static>(
    reader: R,
    format: Format,
    batch_size: usize,
    lists: std::sync::Arc<Lists>,
    today: Date,
) -> tokio::sync::mpsc::Receiver<CheckedBatch> {
    let (sender, receiver) = tokio::sync::mpsc::channel(1);
    tokio::task::spawn_blocking(move || {
        let mut rows = match Rows::new(reader, format) {
            Ok(rows) => rows,
            Err(stop) => {
                let _receiver_gone = sender.blocking_send(CheckedBatch {
                    stopped: Some(stop),
                    ..CheckedBatch::default()
                });
                return;
            }
        };
        let mut seen = HashSet::new();
        loop {
            let mut batch = CheckedBatch::default();
            let mut finished = false;
            while batch.records.len() < batch_size.max(1) {
                let (line, row) = match rows.next_row() {
                    Ok(Some(row)) => row,
                    Ok(None) => {
                        finished = true;
                        break;
                    }
                    Err(stop) => {
                        batch.stopped = Some(stop);
                        finished = true;
                        break;
                    }
                };
                batch.rows += 1;
                let checked = row
                    .map_err(|reason| {
                        vec![FieldIssue::new(
                            "row",
                            Message::new("import.unreadable_row").with("reason", reason),
                        )]
                    })
                    .and_then(|flat| {
                        let record = flat.to_record()?;
                        let issues = record.check(&lists, today);
                        if issues.is_empty() {
                            Ok(record)
                        } else {
                            Err(issues)
                        }
                    });
                match checked {
                    Ok(record) if !seen.insert(record.personal_id) => {
                        batch.rejected.push(Rejection {
                            line,
                            personal_id: Some(record.personal_id.masked()),
                            reasons: vec![FieldIssue::new(
                                "personal_id",
                                Message::new("import.repeated_in_file"),
                            )],
                        })
                    }
                    Ok(record) => batch.records.push((line, record)),
                    Err(reasons) => batch.rejected.push(Rejection {
                        line,
                        personal_id: None,
                        reasons,
                    }),
                }
            }
            if sender.blocking_send(batch).is_err() || finished {
                return;
            }
        }
    });
    receiver
}

/// Imports every row of `reader`. Errors only for database failures; everything wrong with
/// the file is in the report.
pub async fn import<R: Read + Send + 'static>(
    registry: &Registry,
    reader: R,
    format: Format,
    options: &ImportOptions,
    today: Date,
) -> Result<ImportReport, RegistryError> {
    let mut report = ImportReport::default();
    let change = Change {
        actor: &options.actor,
        basis: &options.basis,
    };
    let mut batches = read_batches(
        reader,
        format,
        options.batch_size,
        registry.shared_lists(),
        today,
    );
    let mut atomic_tx = if options.atomic {
        Some(registry.db().begin().await?)
    } else {
        None
    };
    while let Some(batch) = batches.recv().await {
        report.rows += batch.rows;
        report.rejected.extend(batch.rejected);
        if batch.stopped.is_some() {
            report.stopped = batch.stopped;
            break; // the half-read batch is not written
        }
        let mut records = batch.records;
        if records.is_empty() {
            continue;
        }
        // In key order, consecutive inserts land on neighbouring index pages.
        records.sort_unstable_by_key(|(_, record)| record.personal_id);
        let mut batch_tx = match atomic_tx.take() {
            Some(tx) => tx,
            None => registry.db().begin().await?,
        };
        let ids: Vec<_> = records
            .iter()
            .map(|(_, record)| record.personal_id)
            .collect();
        let now = timestamp::now();
        let claimed = numbers::claim(&mut batch_tx, &ids, &now).await?;
        let mut fresh = Vec::with_capacity(records.len());
        for (line, record) in &records {
            if claimed.contains(&record.personal_id.to_string()) {
                fresh.push(record);
            } else {
                report.rejected.push(Rejection {
                    line: *line,
                    personal_id: Some(record.personal_id.masked()),
                    reasons: vec![FieldIssue::new(
                        "personal_id",
                        Message::new("import.already_registered"),
                    )],
                });
            }
        }
        citizens::insert_new(&mut batch_tx, &fresh, change, "imported", &now).await?;
        let imported = fresh.len() as u64;
        if options.atomic {
            atomic_tx = Some(batch_tx);
        } else {
            let event = Event::RegistryImported(RegistryImported { citizens: imported });
            events::append(&mut batch_tx, "import", &event).await?;
            batch_tx.commit().await?;
            report.batches_committed += 1;
        }
        report.imported += imported;
    }
    if let Some(mut tx) = atomic_tx {
        if report.rejected.is_empty() && report.stopped.is_none() {
            let event = Event::RegistryImported(RegistryImported {
                citizens: report.imported,
            });
            events::append(&mut tx, "import", &event).await?;
            tx.commit().await?;
            report.batches_committed = 1;
        } else {
            tx.rollback().await?;
            report.rolled_back = true;
            report.imported = 0;
        }
    }
    report.rejected.sort_by_key(|r| r.line);
    Ok(report)
}

/// Where exported rows go: a CSV writer, or buffered lines of JSON.
enum Sink<W: Write> {
    Csv(Box<CsvWriter<W>>),
    Ndjson(std::io::BufWriter<W>),
}

impl<W: Write> Sink<W> {
    fn write(&mut self, row: &FlatCitizen) -> Result<(), RegistryError> {
        match self {
            Self::Csv(csv) => csv.write(row).map_err(io_error),
            Self::Ndjson(lines) => {
                serde_json::to_writer(&mut *lines, row)?;
                lines.write_all(b"\n").map_err(io_error)
            }
        }
    }

    fn flush(&mut self) -> Result<(), RegistryError> {
        match self {
            Self::Csv(csv) => csv.flush(),
            Self::Ndjson(lines) => lines.flush(),
        }
        .map_err(io_error)
    }
}

/// Writes every current record in personal-ID order, a page at a time.
pub async fn export<W: Write>(
    registry: &Registry,
    writer: W,
    format: Format,
) -> Result<u64, RegistryError> {
    const PAGE: i64 = 5_000;
    let mut sink = match format {
        Format::Csv => Sink::Csv(Box::new(CsvWriter::new(writer))),
        Format::Ndjson => Sink::Ndjson(std::io::BufWriter::new(writer)),
    };
    let mut after = String::new();
    let mut written = 0;
    while let (records, Some(last)) = citizens::page_after(registry.db(), &after, PAGE).await? {
        for record in &records {
            sink.write(&FlatCitizen::from_record(record))?;
            written += 1;
        }
        after = last;
    }
    sink.flush()?;
    Ok(written)
}

fn io_error(error: impl std::fmt::Display) -> RegistryError {
    RegistryError::Store(store::Error::Sql(sqlx::Error::Io(std::io::Error::other(
        error.to_string(),
    ))))
}
