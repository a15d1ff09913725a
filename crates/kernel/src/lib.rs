//! The vocabulary every part of lienthong shares: administrative units, state agencies, the
//! identifiers that name them, the roles and mandate scopes that say who may do what, and
//! the kinds of domain events. Values here can only be built by parsing, so an invalid code
//! never travels past the edge of the system. No I/O, no async.

pub mod agency;
pub mod catalog;
pub mod event;
pub mod invalid;
pub mod message;
pub mod personal_id;
pub mod phone;
pub mod province;
pub mod reference;
pub mod role;
pub mod scope;
pub mod timestamp;

pub use agency::{Agency, AgencyCode, AgencyKind};
pub use catalog::{Catalog, Period, Succession};
pub use invalid::Invalid;
pub use message::Message;
pub use personal_id::{PersonalId, Sex};
pub use phone::PhoneNumber;
pub use province::{Province, ProvinceCode, ProvinceKind};
pub use reference::{Reference, ReferenceError};
pub use role::Role;
pub use scope::Scope;
