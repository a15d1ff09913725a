//! The national population database (MISSION.md S1): citizen records with the fields of the
//! Law on Identification 2023, personal ID numbers that never repeat, households, residence
//! history, and a version of every record for every change, with who made it and why.
//!
//! `domain` holds the types and rules, `store` the SQL, `service` the operations (every
//! official's read logged), `http` the officials' pages and JSON API.

pub mod domain;
mod error;
pub mod flat;
pub mod generate;
pub mod http;
pub mod import;
pub mod lists;
pub mod provider;
mod service;
mod store;
pub mod tracker;

pub use domain::access::{Holder, NotAnOfficial, Official, Purpose, Reader, ViewEntry};
pub use domain::birth::BirthRegistration;
pub use domain::matching::IdentityMatch;
pub use domain::record::{self, CitizenRecord, FieldIssue};
pub use domain::residence::{ResidenceChange, ResidenceEvent, ResidenceKind};
pub use domain::summary::Summary;
pub use domain::version::{Change, VersionEntry, Versioned};
pub use domain::{CitizenFile, OwnFile};
pub use error::RegistryError;
pub use lists::Lists;
pub use service::{ContactChange, Registry};

/// The registry's tables (migrations/), for the runner in `store`.
pub static MIGRATIONS: ::store::Migrations = ::store::migrations!("registry");
