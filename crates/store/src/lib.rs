//! One database handle over SQLite (embedded, the default) and PostgreSQL (production).
//!
//! Queries are written once, with `$N` placeholders, and run on either backend through
//! sqlx's `Any` driver. Column types are kept to the set both backends and the driver share:
//! integers as BIGINT, text, and timestamps as RFC 3339 UTC text (see `timestamp`).
//! docs/adr/0002-one-sql-text-two-backends.md explains the choice.

pub mod backup;
pub mod bulk;
mod db;
pub mod events;
pub mod keyfile;
mod migrations;
pub mod timestamp;

#[cfg(feature = "testing")]
pub mod testing;

pub use db::{Backend, Db, DbOptions, Error, Tx};
pub use migrations::{MIGRATIONS, Migrations};
