//! Export for outside auditors: NDJSON, one object per line, that [`verify_export`] checks
//! with nothing but the public key.
//!
//! ```text
//! {"type":"header","format":"lienthong-audit-export","version":1,"exported_at":"…","keys":[{"key_id":"…","public_key_pem":"…"}]}
//! {"type":"entry","seq":1,"message_id":"…",…,"prev_hash":"…","entry_hash":"…"}
//! {"type":"checkpoint","seq":1000,"entry_hash":"…","signed_at":"…","key_id":"…","signature":"…"}
//! {"type":"end","entries":1234,"checkpoints":1}
//! ```
//!
//! Entries come in seq order, each checkpoint right after the entry it covers, and the field
//! values are exactly those hashed. The header's keys are a convenience: an auditor verifies
//! against a public key obtained independently, never against the file's own.

use std::io::BufRead;

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use store::Db;
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};

use crate::domain::check::{Checker, VerifyReport};
use crate::domain::checkpoint::{Checkpoint, key_id, public_key_pem};
use crate::domain::entry::Record;
use crate::error::Error;
use crate::walk::{Item, Walker};

const FORMAT: &str = "lienthong-audit-export";
const VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Line {
    Header {
        format: String,
        version: u32,
        exported_at: String,
        keys: Vec<PublicKey>,
    },
    Entry(Box<Record>),
    Checkpoint(Checkpoint),
    End {
        entries: u64,
        checkpoints: u64,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PublicKey {
    key_id: String,
    public_key_pem: String,
}

/// What an export wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportSummary {
    pub entries: u64,
    pub checkpoints: u64,
}

/// Writes the whole log, from one consistent snapshot, as NDJSON to `out`, with `keys` (the
/// public keys that signed its checkpoints) in the header. Does not check the chain: an
/// export of a damaged log shows the damage to whoever verifies it.
pub async fn export<W: AsyncWrite + Unpin>(
    db: &Db,
    keys: &[VerifyingKey],
    out: W,
) -> Result<ExportSummary, Error> {
    let mut out = BufWriter::new(out);
    let header = Line::Header {
        format: FORMAT.into(),
        version: VERSION,
        exported_at: store::timestamp::now(),
        keys: keys
            .iter()
            .map(|key| PublicKey {
                key_id: key_id(key),
                public_key_pem: public_key_pem(key),
            })
            .collect(),
    };
    write_line(&mut out, &header).await?;
    let mut summary = ExportSummary {
        entries: 0,
        checkpoints: 0,
    };
    let mut walker = Walker::open(db).await?;
    while let Some(item) = walker.next().await? {
        let line = match item {
            Item::Entry(record) => {
                summary.entries += 1;
                Line::Entry(record)
            }
            Item::Checkpoint(checkpoint) => {
                summary.checkpoints += 1;
                Line::Checkpoint(checkpoint)
            }
        };
        write_line(&mut out, &line).await?;
    }
    let end = Line::End {
        entries: summary.entries,
        checkpoints: summary.checkpoints,
    };
    write_line(&mut out, &end).await?;
    out.flush().await?;
    Ok(summary)
}

async fn write_line<W: AsyncWrite + Unpin>(out: &mut W, line: &Line) -> Result<(), Error> {
    let mut text = serde_json::to_string(line).map_err(std::io::Error::other)?;
    text.push('\n');
    out.write_all(text.as_bytes()).await?;
    Ok(())
}

/// The auditor's check of an export, offline: the same checks as [`crate::verify`], against
/// `keys` obtained independently of the file. A file that is not a complete export (no
/// header, an unreadable line, no closing line, or counts that disagree) is an error naming
/// the line; a readable file whose chain is damaged gives a report naming the entry.
pub fn verify_export<R: BufRead>(input: R, keys: &[VerifyingKey]) -> Result<VerifyReport, Error> {
    let mut checker = Checker::new(keys);
    let mut lines = Lines {
        lines: input.lines(),
        number: 0,
    };
    match lines.next()? {
        Some(Line::Header {
            format, version, ..
        }) if format == FORMAT && version == VERSION => {}
        _ => {
            return Err(Error::Export {
                line: 1,
                reason: format!("not a {FORMAT} version {VERSION} header"),
            });
        }
    }
    let (mut entries, mut checkpoints) = (0u64, 0u64);
    loop {
        let line = lines.next()?;
        let checked = match line {
            Some(Line::Entry(record)) => {
                entries += 1;
                checker.entry(&record)
            }
            Some(Line::Checkpoint(checkpoint)) => {
                checkpoints += 1;
                checker.checkpoint(&checkpoint)
            }
            Some(Line::End {
                entries: declared_entries,
                checkpoints: declared_checkpoints,
            }) => {
                if (declared_entries, declared_checkpoints) != (entries, checkpoints) {
                    return Err(Error::Export {
                        line: lines.number,
                        reason: format!(
                            "the file holds {entries} entries and {checkpoints} checkpoints but says {declared_entries} and {declared_checkpoints}"
                        ),
                    });
                }
                if lines.next()?.is_some() {
                    return Err(Error::Export {
                        line: lines.number,
                        reason: "lines follow the closing line".into(),
                    });
                }
                break;
            }
            Some(Line::Header { .. }) => {
                return Err(Error::Export {
                    line: lines.number,
                    reason: "a second header".into(),
                });
            }
            None => {
                return Err(Error::Export {
                    line: lines.number,
                    reason: "the file ends without its closing line: it is truncated".into(),
                });
            }
        };
        if checked.is_err() {
            // The report names the first problem; the rest of the file cannot change it.
            break;
        }
    }
    Ok(checker.finish())
}

/// Lines of an export, counted for error messages.
struct Lines<R> {
    lines: std::io::Lines<R>,
    number: u64,
}

impl<R: BufRead> Lines<R> {
    fn next(&mut self) -> Result<Option<Line>, Error> {
        self.number += 1;
        let Some(text) = self.lines.next().transpose()? else {
            return Ok(None);
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::Export {
                line: self.number,
                reason: e.to_string(),
            })
    }
}
