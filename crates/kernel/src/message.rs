//! Messages for people, told in their language. Domain code says *what* is wrong as a
//! [`Message`]: a key in the message catalogue and the values it names. The catalogue
//! (`messages/vi.toml`, `messages/en.toml`) says it in words; a page renders it in the reader's
//! language, the JSON API sends the English text as its `detail`. One catalogue, so a page
//! never shows the API's English and the two never drift apart.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

/// What to tell a person: a catalogue key (`personal_id.length`) and named values that its
/// text places with `{name}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    key: &'static str,
    args: Vec<(&'static str, String)>,
}

impl Message {
    pub fn new(key: &'static str) -> Self {
        Self {
            key,
            args: Vec::new(),
        }
    }

    /// The value shown where the text says `{name}`.
    pub fn with(mut self, name: &'static str, value: impl fmt::Display) -> Self {
        self.args.push((name, value.to_string()));
        self
    }

    pub fn key(&self) -> &'static str {
        self.key
    }

    /// The text in the language of `catalogue`.
    pub fn render(&self, catalogue: &Catalogue) -> String {
        let mut text = catalogue.text(self.key).to_owned();
        for (name, value) in &self.args {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }

    /// The English text: what the JSON API sends and what the logs show.
    pub fn english(&self) -> String {
        self.render(Catalogue::english())
    }

    pub fn vietnamese(&self) -> String {
        self.render(Catalogue::vietnamese())
    }
}

/// The English text, so a message can be written wherever a string is expected.
impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.english())
    }
}

impl std::error::Error for Message {}

/// The messages of one language, by dotted key.
#[derive(Debug)]
pub struct Catalogue {
    entries: BTreeMap<String, String>,
}

const VIETNAMESE: &str = include_str!("../messages/vi.toml");
const ENGLISH: &str = include_str!("../messages/en.toml");

impl Catalogue {
    pub fn vietnamese() -> &'static Self {
        static LOADED: OnceLock<Catalogue> = OnceLock::new();
        LOADED.get_or_init(|| Self::parse(VIETNAMESE))
    }

    pub fn english() -> &'static Self {
        static LOADED: OnceLock<Catalogue> = OnceLock::new();
        LOADED.get_or_init(|| Self::parse(ENGLISH))
    }

    /// The built-in files are checked by this crate's tests; should one still fail to read,
    /// keys show in place of texts rather than the process stopping.
    fn parse(source: &str) -> Self {
        let mut entries = BTreeMap::new();
        if let Ok(table) = toml::from_str::<toml::Table>(source) {
            flatten("", &table, &mut entries);
        }
        Self { entries }
    }

    /// The text for `key`; the key itself when missing, so a gap shows instead of failing
    /// (a test checks that every key used in the code has a text in both languages).
    pub fn text<'a>(&'a self, key: &'a str) -> &'a str {
        self.entries.get(key).map_or(key, String::as_str)
    }

    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

fn flatten(prefix: &str, table: &toml::Table, into: &mut BTreeMap<String, String>) {
    for (key, value) in table {
        let full = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::String(text) => {
                into.insert(full, text.clone());
            }
            toml::Value::Table(inner) => flatten(&full, inner, into),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    fn placeholders(text: &str) -> BTreeSet<&str> {
        text.split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .collect()
    }

    fn strict(source: &str) -> Result<BTreeMap<String, String>, String> {
        let table: toml::Table = toml::from_str(source).map_err(|e| e.to_string())?;
        let mut entries = BTreeMap::new();
        flatten("", &table, &mut entries);
        Ok(entries)
    }

    #[test]
    fn both_languages_have_the_same_keys_and_placeholders() -> Result<(), String> {
        let vi = strict(VIETNAMESE)?;
        let en = strict(ENGLISH)?;
        let vi_keys: BTreeSet<_> = vi.keys().collect();
        let en_keys: BTreeSet<_> = en.keys().collect();
        assert_eq!(vi_keys, en_keys, "keys present in one language only");
        for (key, text) in &vi {
            let english = en.get(key).map(String::as_str).unwrap_or_default();
            assert_eq!(
                placeholders(text),
                placeholders(english),
                "{key}: the two languages name different values"
            );
        }
        Ok(())
    }

    #[test]
    fn values_take_their_places_in_either_language() {
        let message = Message::new("personal_id.length").with("found", 11);
        assert!(message.english().contains("11"), "{}", message.english());
        assert!(
            message.vietnamese().contains("11"),
            "{}",
            message.vietnamese()
        );
        assert_ne!(message.english(), message.vietnamese());
        assert_eq!(Message::new("no.such.key").english(), "no.such.key");
    }

    /// Every `Message::new("…")` in the workspace's sources names a key both catalogues hold.
    #[test]
    fn every_key_the_code_uses_has_a_text() -> Result<(), Box<dyn std::error::Error>> {
        let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut used = BTreeSet::new();
        let mut pending = vec![crates];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let path = entry?.path();
                if path.is_dir() {
                    if path.file_name().is_some_and(|n| n != "target") {
                        pending.push(path);
                    }
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let source = std::fs::read_to_string(&path)?;
                    for rest in source.split("Message::new(\"").skip(1) {
                        // Keys only: a comment quoting the call (`"…"`) is not one.
                        if let Some((key, _)) = rest.split_once('"')
                            && key
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
                        {
                            used.insert(key.to_owned());
                        }
                    }
                }
            }
        }
        let vi = Catalogue::vietnamese();
        let missing: Vec<_> = used
            .iter()
            .filter(|key| *key != "no.such.key" && !vi.entries.contains_key(*key))
            .collect();
        assert!(used.len() > 20, "the scan found only {used:?}");
        assert!(missing.is_empty(), "keys without a text: {missing:?}");
        Ok(())
    }
}
