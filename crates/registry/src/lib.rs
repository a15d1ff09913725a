//! The national population database (MISSION.md S1): citizen records with the fields of the
//! Law on Identification 2023, personal ID numbers that never repeat, households, residence
//! history, and a version of every record for every change, with who made it and why.

pub mod access;
pub mod flat;
pub mod generate;
pub mod import;
pub mod lists;
pub mod pages;
pub mod record;
mod service;

pub use access::{Purpose, Reader};
pub use lists::Lists;
pub use record::{CitizenRecord, FieldIssue};
pub use service::{
    BirthRegistration, Change, IdentityMatch, Registry, RegistryError, ResidenceChange,
    ResidenceEvent, ResidenceKind, Summary, VersionEntry, Versioned, ViewEntry,
};
