//! The tamper-evident audit log of the data-exchange gateway (MISSION.md: exchange).
//!
//! Every exchange through the gateway becomes one entry: message id (`X-Road-Id`), client,
//! service, endpoint, end user (`X-Road-UserId`), purpose or case (`X-Road-Issue`), the citizen
//! concerned where known, status, latency, and SHA-256 hashes of request and response bodies.
//!
//! - **Hash chain.** Each entry's hash covers the previous entry's hash and every stored
//!   field, so changing, removing or reordering a row breaks the chain at that row.
//! - **Signed checkpoints, anchored outside the database.** Every N entries and every T
//!   seconds the writer signs `(seq, entry_hash)` with an Ed25519 key kept outside the
//!   database, and appends each committed checkpoint to an append-only anchor file (ADR
//!   0019), so someone who can write to the database cannot rewrite or cut anchored history
//!   even by deleting or replacing the database's checkpoints.
//! - **Durable before answered.** [`AuditLog::record`] returns only after the entry is on
//!   disk. Entries waiting together are made durable together (group commit): in journal
//!   mode, one append and `fdatasync` of the journal per batch, copied into the database
//!   right after (ADR 0011); in database mode, one transaction per batch.
//! - **Verifiable by outsiders.** [`verify`] walks the whole chain in pages and names the
//!   first entry that was altered, removed or reordered; [`export`] writes NDJSON that an
//!   auditor checks offline with [`verify_export`] and the public key alone.
//!
//! # Encoding (for auditors re-implementing the check)
//!
//! Columns are hashed exactly as stored (and as they appear in an export).
//! `u32be`/`i64be` are big-endian integers; `str(s)` is `u32be(byte length of s)` followed by
//! the UTF-8 bytes of `s`; `opt(None)` is the byte `0x00` and `opt(Some(s))` is `0x01`
//! followed by `str(s)`. Hashes are stored as 64 lowercase hexadecimal digits.
//!
//! ```text
//! entry_hash = SHA-256(
//!     prev_hash                      32 raw bytes: the previous entry's entry_hash,
//!                                    32 zero bytes for seq 1
//!     str("lienthong-audit-entry-v1")
//!     i64be(seq)
//!     str(message_id) str(at) str(client) str(service) str(method) str(path)
//!     opt(user_id) opt(issue) opt(subject)
//!     i64be(status) i64be(latency_micros)
//!     str(request_hash) str(response_hash)          the 64-digit hex text
//! )
//! ```
//!
//! `at` is fixed-width RFC 3339 UTC with microseconds (`2026-11-23T07:08:43.123456Z`).
//! `request_hash` and `response_hash` are SHA-256 of the bodies as sent (empty body: the hash
//! of zero bytes). `seq` starts at 1 and has no gaps.
//!
//! A checkpoint's signature is Ed25519 (RFC 8032, verified strictly) over
//!
//! ```text
//! "lienthong-audit-checkpoint-v1"     the 29 ASCII bytes, no length prefix
//! i64be(seq)
//! entry_hash                          32 raw bytes
//! str(signed_at)                      RFC 3339 UTC text as stored
//! ```
//!
//! stored as standard base64 with padding. `key_id` is the first 16 hexadecimal digits of
//! SHA-256 of the 32-byte raw public key.
//!
//! # What the checks can and cannot show
//! The chain shows any change to rows whose hashes were not recomputed. Someone who can write
//! to the database *and* recomputes hashes from some entry onwards is caught by the first
//! signed checkpoint after that entry; deleting the database's checkpoints too hides that
//! from [`verify`], but not from [`verify_anchored`], which holds the chain against the
//! anchor file: a hash that differs from its anchor, or an anchor beyond the last entry (a
//! cut tail), is a problem. Entries after the last anchor rest on the database alone and
//! are reported as not anchored ([`VerifyReport::unanchored`]).

mod anchor;
mod commit;
mod database_mode;
mod domain;
mod error;
mod export;
mod journal;
mod log;
mod options;
mod progress;
mod signer;
mod store;
mod tracker;
mod verify;
mod walk;

pub use domain::check::{Problem, ProblemKind, VerifyReport};
pub use domain::checkpoint::{key_id, parse_public_key, public_key_pem};
pub use domain::entry::{NewEntry, body_hash, check_field};
pub use domain::recorded::{Entry, member_of};
pub use ed25519_dalek::VerifyingKey;
pub use error::Error;
pub use export::{ExportSummary, export, verify_export};
pub use journal::replay::{Replayed, replay_journal};
pub use log::AuditLog;
pub use options::AuditOptions;
pub use progress::{Sealed, WriterStats};
pub use signer::CheckpointSigner;
pub use tracker::{daily_counts, entries_about, recent};
pub use verify::{verify, verify_anchored};

/// The audit log's tables: entries and checkpoints (migrations/).
pub static MIGRATIONS: ::store::Migrations = ::store::migrations!("audit");
