use std::fmt;

/// A value that failed to parse, with the reason in words a user can act on.
/// The caller knows which field it came from and names it when reporting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub reason: String,
}

impl Invalid {
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }
}

/// The member of a closed list whose text is `text`; anything else is refused naming every
/// text the list holds (`what` and `plural` say what they are: "role", "roles").
pub(crate) fn one_of<T: Copy>(
    all: &[T],
    as_str: fn(T) -> &'static str,
    text: &str,
    (what, plural): (&str, &str),
) -> Result<T, Invalid> {
    all.iter()
        .copied()
        .find(|item| as_str(*item) == text)
        .ok_or_else(|| {
            let known: Vec<&str> = all.iter().copied().map(as_str).collect();
            Invalid::new(format!(
                "unknown {what} {text:?}: the {plural} are {}",
                known.join(", ")
            ))
        })
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for Invalid {}
