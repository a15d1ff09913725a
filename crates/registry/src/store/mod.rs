//! The registry's SQL, and nothing else: rows are read with `sqlx::FromRow` and turned into
//! domain types here; times are written in `store::timestamp`'s text form.

pub(crate) mod citizens;
pub(crate) mod numbers;
pub(crate) mod residence;
pub(crate) mod views;
