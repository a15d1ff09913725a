//! The pages every public service owes its users, linked from every page's footer: help,
//! contact and feedback, the privacy notice and the accessibility statement. Their words are
//! in the page texts (`about.<page>.*`), paragraphs separated by a blank line.

use askama::Template;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};

use crate::lang::Texts;
use crate::layout::{Chrome, render};

/// The pages, by the last part of their address.
pub const PAGES: [&str; 4] = ["help", "contact", "privacy", "accessibility"];

#[derive(Template)]
#[template(path = "about.html")]
struct AboutPage<'a> {
    t: &'a Texts,
    title: &'a str,
    paragraphs: Vec<&'a str>,
}

/// `GET /about/{page}`.
pub async fn page(chrome: Chrome, Path(name): Path<String>) -> Response {
    let Some(name) = PAGES.iter().find(|known| **known == name) else {
        return crate::home::not_found(chrome).await;
    };
    let t = chrome.t();
    let (title_key, body_key) = (format!("about.{name}.title"), format!("about.{name}.body"));
    let title = t.get(&title_key);
    let page = AboutPage {
        t,
        title,
        paragraphs: t
            .get(&body_key)
            .split("\n\n")
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect(),
    };
    match render(&page) {
        Ok(body) => chrome.page(title, &body),
        Err(problem) => problem.into_response(),
    }
}
