//! "Are you sure?" before a change that cannot be undone (revoking a certificate, a right or a
//! mandate): what it is, then a button that does it and a link back. The button posts to the
//! same address with `?confirm=yes`, so a form without it only ever asks.

use askama::Template;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::lang::Texts;
use crate::layout::{Chrome, render};

/// `?confirm=yes` on a change that asks first: the person saw what it does and went on.
#[derive(Debug, Deserialize)]
pub struct Confirmation {
    confirm: Option<String>,
}

impl Confirmation {
    pub fn given(&self) -> bool {
        self.confirm.as_deref() == Some("yes")
    }
}

#[derive(Template)]
#[template(path = "confirm.html")]
pub struct Ask<'a> {
    pub t: &'a Texts,
    pub title: &'a str,
    pub lead: &'a str,
    /// What the change concerns, label and value.
    pub facts: Vec<(&'a str, String)>,
    /// Where the button posts, without the query: `?confirm=yes` is added.
    pub action: String,
    pub button: &'a str,
    /// The page to go back to without changing anything, and the link's words.
    pub back: (&'a str, &'a str),
}

impl Ask<'_> {
    pub fn page(&self, chrome: &Chrome) -> Response {
        match render(self) {
            Ok(body) => chrome.page(self.title, &body),
            Err(problem) => problem.into_response(),
        }
    }
}
