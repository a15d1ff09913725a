//! Electronic identification and authentication (MISSION.md S2, Project 06): accounts bound
//! to a population-registry record at assurance level 1 (registered online, checked against
//! the registry) or 2 (confirmed in person by an official), password login with lockout,
//! server-side sessions that can be listed and revoked, and the roles officials hold in
//! their agencies.

mod accounts;
pub mod assistance;
mod attempts;
mod directory;
mod error;
pub mod http;
pub mod oidc;
mod passkeys;
pub mod password;
pub mod population;
mod recovery;
pub mod sealing;
mod sessions;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
mod throttle;
mod totp;
pub mod verification;

pub use accounts::{Identity, Registration, SignIn};
pub use error::IdentityError;
pub use passkeys::{PasskeyChallenge, PasskeyInfo, RelyingParty};
pub use sessions::{SESSION_COOKIE, SessionInfo, resolve_session};
pub use totp::Enrolment;

/// Identity's tables: accounts, sessions, OpenID Connect, passkeys, assistance (migrations/).
pub static MIGRATIONS: ::store::Migrations = ::store::migrations!("identity");
