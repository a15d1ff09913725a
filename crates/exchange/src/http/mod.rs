//! The exchange's HTTP surface beside the gateway: the one mapping of its errors.

pub mod error;
