//! The log's types and rules, with no I/O: what an entry and a checkpoint are and how they
//! are hashed and signed, how a chain is checked, and how a recorded exchange reads.
//!
//! [`entry::Record`] and [`checkpoint::Checkpoint`] are defined as the stored columns (their
//! hashes and signatures cover the text exactly as stored), so they are also the rows the
//! store maps with `FromRow`; every other type here is free of the database.

pub(crate) mod check;
pub(crate) mod checkpoint;
pub(crate) mod entry;
pub(crate) mod recorded;
