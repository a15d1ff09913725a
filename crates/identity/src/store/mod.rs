//! Identity's SQL, and nothing else: rows are read with `sqlx::FromRow` and turned into
//! domain types here or handed to the service as plain rows; times are written in
//! `store::timestamp`'s text form. One file per table or group of tables that change together.

pub(crate) mod accounts;
pub(crate) mod assertion_ids;
pub(crate) mod attempts;
pub(crate) mod ceremonies;
pub(crate) mod clients;
pub(crate) mod grants;
pub(crate) mod machine_clients;
pub(crate) mod mandates;
pub(crate) mod passkeys;
pub(crate) mod recovery_codes;
pub(crate) mod sessions;
pub(crate) mod signing_keys;
pub(crate) mod tokens;
pub(crate) mod totp;
pub(crate) mod verifications;
