//! Vietnamese first, English second. The reader's choice comes from `?lang=` or the `lang`
//! cookie set by the language switch (a plain link, so it works without JavaScript).

use std::collections::BTreeMap;
use std::convert::Infallible;

use axum::extract::{FromRequestParts, Query};
use axum::http::header::{COOKIE, LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kernel::message::{Catalogue, Message};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Vi,
    En,
}

impl Lang {
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "vi" => Some(Self::Vi),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Vi => "vi",
            Self::En => "en",
        }
    }

    pub fn other(self) -> Self {
        match self {
            Self::Vi => Self::En,
            Self::En => Self::Vi,
        }
    }

    fn from_cookie_header(header: &str) -> Option<Self> {
        header
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == "lang")
            .and_then(|(_, value)| Self::parse(value))
    }
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let from_query = Query::<LangQuery>::try_from_uri(&parts.uri)
            .ok()
            .and_then(|q| q.0.lang)
            .and_then(|code| Lang::parse(&code));
        let from_cookie = || {
            parts
                .headers
                .get_all(COOKIE)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .find_map(Lang::from_cookie_header)
        };
        Ok(from_query.or_else(from_cookie).unwrap_or_default())
    }
}

/// The translated texts of one language, by dotted key (`home.title`), and the domain's
/// messages in the same language.
#[derive(Debug, Clone)]
pub struct Texts {
    entries: BTreeMap<String, String>,
    messages: &'static Catalogue,
}

impl Texts {
    fn parse(source: &str, messages: &'static Catalogue) -> Result<Self, String> {
        let table: toml::Table = toml::from_str(source).map_err(|e| e.to_string())?;
        let mut entries = BTreeMap::new();
        flatten("", &table, &mut entries)?;
        Ok(Self { entries, messages })
    }

    /// A domain message in this language.
    pub fn message(&self, message: &Message) -> String {
        message.render(self.messages)
    }

    /// The text for `key`; the key itself when missing, so a gap shows instead of failing
    /// the page (a test checks that both languages have every key).
    pub fn get<'a>(&'a self, key: &'a str) -> &'a str {
        self.entries.get(key).map_or(key, String::as_str)
    }

    fn keys(&self) -> impl Iterator<Item = &String> {
        self.entries.keys()
    }
}

fn flatten(
    prefix: &str,
    table: &toml::Table,
    into: &mut BTreeMap<String, String>,
) -> Result<(), String> {
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
            toml::Value::Table(inner) => flatten(&full, inner, into)?,
            _ => return Err(format!("{full}: every text must be a string")),
        }
    }
    Ok(())
}

/// Both languages' texts, loaded once at start-up.
#[derive(Debug)]
pub struct I18n {
    vi: Texts,
    en: Texts,
}

impl I18n {
    pub fn load() -> Result<Self, String> {
        let vi = Texts::parse(include_str!("../i18n/vi.toml"), Catalogue::vietnamese())
            .map_err(|e| format!("i18n/vi.toml: {e}"))?;
        let en = Texts::parse(include_str!("../i18n/en.toml"), Catalogue::english())
            .map_err(|e| format!("i18n/en.toml: {e}"))?;
        let missing: Vec<_> = vi
            .keys()
            .filter(|k| !en.entries.contains_key(*k))
            .chain(en.keys().filter(|k| !vi.entries.contains_key(*k)))
            .collect();
        if !missing.is_empty() {
            return Err(format!("texts present in one language only: {missing:?}"));
        }
        Ok(Self { vi, en })
    }

    pub fn texts(&self, lang: Lang) -> &Texts {
        match lang {
            Lang::Vi => &self.vi,
            Lang::En => &self.en,
        }
    }
}

#[derive(Deserialize)]
pub struct SwitchQuery {
    to: String,
    next: Option<String>,
}

/// `GET /lang?to=en&next=/reference`: remembers the choice for a year and goes back.
pub async fn switch(Query(query): Query<SwitchQuery>) -> Response {
    let Some(lang) = Lang::parse(&query.to) else {
        return crate::Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-query",
            "to must be vi or en",
        )
        .field("to")
        .into_response();
    };
    // Only local paths: an open redirect would let others borrow the platform's name.
    let next = query
        .next
        .as_deref()
        .and_then(crate::redirect::local_path)
        .unwrap_or_else(|| "/".to_owned());
    let cookie = format!(
        "lang={}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly",
        lang.code()
    );
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let (Ok(location), Ok(cookie)) =
        (HeaderValue::from_str(&next), HeaderValue::from_str(&cookie))
    {
        response.headers_mut().insert(LOCATION, location);
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_load_with_the_same_keys() -> Result<(), String> {
        let i18n = I18n::load()?;
        assert_eq!(i18n.texts(Lang::Vi).get("nav.home"), "Trang chủ");
        assert_eq!(i18n.texts(Lang::En).get("nav.home"), "Home");
        assert_eq!(i18n.texts(Lang::En).get("no.such.key"), "no.such.key");
        Ok(())
    }

    #[test]
    fn cookie_choice_is_read_among_other_cookies() {
        assert_eq!(
            Lang::from_cookie_header("a=1; lang=en; b=2"),
            Some(Lang::En)
        );
        assert_eq!(Lang::from_cookie_header("xlang=en"), None);
        assert_eq!(Lang::from_cookie_header("lang=fr"), None);
    }
}
