//! The registry's types and rules: records and their checks, versions, residence changes,
//! births, identity checks and who may read what. No I/O here.

pub mod access;
pub mod birth;
pub mod matching;
pub mod record;
pub mod residence;
pub mod summary;
pub mod version;

use self::residence::ResidenceEvent;
use self::summary::Summary;
use self::version::{VersionEntry, Versioned};

/// What a person sees of their own record: the record as it stands and their residence
/// history.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnFile {
    pub current: Versioned,
    pub residence: Vec<ResidenceEvent>,
}

/// Everything the officials' record page shows of one citizen: the record, its versions,
/// its residence history and the household's members.
#[derive(Debug, Clone, PartialEq)]
pub struct CitizenFile {
    pub current: Versioned,
    pub history: Vec<VersionEntry>,
    pub residence: Vec<ResidenceEvent>,
    pub household: Vec<Summary>,
}
