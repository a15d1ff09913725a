//! The one mapping from [`ExchangeError`] to a problem document, for the API and the pages.
//! The `type` of each problem is part of the API: clients branch on it. Every refusal a
//! person can act on is told as a catalogue message, so the pages say it in their language.

use axum::http::StatusCode;
use kernel::Message;
use web::Problem;

use crate::ExchangeError;
use crate::error::{Entry, NotReplaceable, already_revoked};

impl From<ExchangeError> for Problem {
    fn from(error: ExchangeError) -> Self {
        match error {
            ExchangeError::Invalid { field, message } => {
                Problem::told(StatusCode::UNPROCESSABLE_ENTITY, "invalid-field", message)
                    .field(field)
            }
            ExchangeError::Unknown { entry, id } => Problem::told(
                StatusCode::NOT_FOUND,
                "not-found",
                unknown(entry).with("id", id),
            ),
            ExchangeError::Exists { entry, id } => {
                Problem::told(StatusCode::CONFLICT, "exists", exists(entry).with("id", id))
            }
            ExchangeError::Forbidden(_) => {
                Problem::new(StatusCode::FORBIDDEN, "forbidden", error.to_string())
            }
            ExchangeError::NoActiveRight(id) => Problem::told(
                StatusCode::NOT_FOUND,
                "not-found",
                Message::new("exchange.no_active_right").with("id", id),
            ),
            ExchangeError::UnregisteredSubsystem(id) => Problem::told(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown-subsystem",
                Message::new("exchange.unknown.subsystem").with("id", id),
            )
            .field("subsystem"),
            ExchangeError::NotReplaceable(why) => {
                let (code, message) = match why {
                    NotReplaceable::Unknown { serial } => (
                        "unknown-certificate",
                        Message::new("exchange.unknown.certificate").with("id", serial),
                    ),
                    NotReplaceable::OtherSubsystem {
                        serial,
                        owner,
                        subsystem,
                    } => (
                        "other-subsystem",
                        Message::new("exchange.replace_other_subsystem")
                            .with("serial", serial)
                            .with("owner", owner)
                            .with("subsystem", subsystem),
                    ),
                    NotReplaceable::Revoked { serial, by, at } => {
                        ("already-revoked", already_revoked(&serial, &Some((by, at))))
                    }
                };
                Problem::told(StatusCode::UNPROCESSABLE_ENTITY, code, message).field("replaces")
            }
            ExchangeError::UnknownCertificate(serial) => Problem::told(
                StatusCode::NOT_FOUND,
                "unknown-certificate",
                Message::new("exchange.unknown.certificate").with("id", serial),
            )
            .field("serial"),
            ExchangeError::AlreadyRevoked { serial, by_at } => Problem::told(
                StatusCode::CONFLICT,
                "already-revoked",
                already_revoked(&serial, &by_at),
            )
            .field("serial"),
            // The cause may name the server's files: it goes to the log, not to the caller.
            ExchangeError::Authority(cause) => {
                tracing::error!(%cause, "the exchange certificate authority failed");
                Problem::told(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "certificate-authority-unavailable",
                    Message::new("exchange.authority_unavailable"),
                )
            }
            ExchangeError::Audit(error) => Problem::internal(&error),
            ExchangeError::Store(error) => Problem::internal(&error),
        }
    }
}

fn unknown(entry: Entry) -> Message {
    match entry {
        Entry::Member => Message::new("exchange.unknown.member"),
        Entry::Subsystem => Message::new("exchange.unknown.subsystem"),
        Entry::Service => Message::new("exchange.unknown.service"),
        Entry::Client => Message::new("exchange.unknown.client"),
        Entry::Right => Message::new("exchange.unknown.right"),
        Entry::Certificate => Message::new("exchange.unknown.certificate"),
    }
}

fn exists(entry: Entry) -> Message {
    match entry {
        Entry::Member => Message::new("exchange.exists.member"),
        Entry::Subsystem => Message::new("exchange.exists.subsystem"),
        Entry::Service => Message::new("exchange.exists.service"),
        Entry::Client => Message::new("exchange.exists.client"),
        Entry::Right => Message::new("exchange.exists.right"),
        Entry::Certificate => Message::new("exchange.exists.certificate"),
    }
}
