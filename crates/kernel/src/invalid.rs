use std::fmt;

use crate::message::Message;

/// A value that failed to parse, with the reason in words a user can act on: `message` for a
/// page in the reader's language, `reason` its English text for the API and the logs.
/// The caller knows which field it came from and names it when reporting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub reason: String,
    pub message: Message,
}

impl Invalid {
    pub fn new(message: Message) -> Self {
        Self {
            reason: message.english(),
            message,
        }
    }
}

/// The member of a closed list whose text is `text`; anything else is refused naming every
/// text the list holds (`unknown` is the message that says so).
pub(crate) fn one_of<T: Copy>(
    all: &[T],
    as_str: fn(T) -> &'static str,
    text: &str,
    unknown: &'static str,
) -> Result<T, Invalid> {
    all.iter()
        .copied()
        .find(|item| as_str(*item) == text)
        .ok_or_else(|| {
            let known: Vec<&str> = all.iter().copied().map(as_str).collect();
            Invalid::new(
                Message::new(unknown)
                    .with("found", format!("{text:?}"))
                    .with("known", known.join(", ")),
            )
        })
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for Invalid {}
