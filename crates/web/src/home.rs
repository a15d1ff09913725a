//! The home page: what the platform holds, and which parts are already in service.

use askama::Template;
use axum::response::{IntoResponse, Response};

use crate::lang::Texts;
use crate::layout::{Chrome, render};

struct Part {
    key: &'static str,
    href: Option<&'static str>,
}

impl Part {
    fn ready(&self) -> bool {
        self.href.is_some()
    }
}

/// In the order of MISSION.md; a part gets its link when its context is in service.
const PARTS: [Part; 7] = [
    Part {
        key: "reference",
        href: Some("/reference"),
    },
    Part {
        key: "registry",
        href: None,
    },
    Part {
        key: "identity",
        href: None,
    },
    Part {
        key: "exchange",
        href: None,
    },
    Part {
        key: "portal",
        href: None,
    },
    Part {
        key: "documents",
        href: None,
    },
    Part {
        key: "insight",
        href: None,
    },
];

#[derive(Template)]
#[template(path = "home.html")]
struct Home<'a> {
    t: &'a Texts,
    parts: &'a [Part],
}

impl Home<'_> {
    fn text(&self, part: &Part, suffix: &str) -> String {
        self.t
            .get(&format!("part.{}_{suffix}", part.key))
            .to_owned()
    }
}

pub async fn page(chrome: Chrome) -> Response {
    let t = chrome.t();
    match render(&Home { t, parts: &PARTS }) {
        Ok(body) => chrome.page(t.get("home.title"), &body),
        Err(problem) => problem.into_response(),
    }
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFound<'a> {
    t: &'a Texts,
}

/// The page for addresses that do not exist.
pub async fn not_found(chrome: Chrome) -> Response {
    let t = chrome.t();
    match render(&NotFound { t }) {
        Ok(body) => chrome.page_with_status(
            axum::http::StatusCode::NOT_FOUND,
            t.get("not_found.title"),
            &body,
        ),
        Err(problem) => problem.into_response(),
    }
}
