//! The start page: what a person can do here, by task, for who they are (signed in or not,
//! and the roles they hold), instead of a list of the system's parts.

use askama::Template;
use axum::response::{IntoResponse, Response};
use kernel::Role;

use crate::lang::Texts;
use crate::layout::{Chrome, render};

/// One thing a person can do, with where it starts; its words are `task.<key>_name` and
/// `task.<key>_text`.
struct Task {
    key: &'static str,
    href: &'static str,
}

const fn task(key: &'static str, href: &'static str) -> Task {
    Task { key, href }
}

const VISITOR: [Task; 4] = [
    task("sign_in", "/login"),
    task("register", "/register"),
    task("recover", "/recover"),
    task("reference", "/reference"),
];

const CITIZEN: [Task; 3] = [
    task("my_data", "/account/my-data"),
    task("tracker", "/account/data-tracker"),
    task("account", "/account"),
];

/// The work of each role, offered to those who hold it.
const BY_ROLE: [(Role, Task); 5] = [
    (Role::RegistryOfficer, task("registry_search", "/registry")),
    (Role::RegistryOfficer, task("birth", "/registry/births")),
    (Role::ExchangeOperator, task("exchange", "/exchange")),
    (Role::ExchangeAdmin, task("exchange", "/exchange")),
    (Role::AssistHelper, task("assist", "/assist")),
];

#[derive(Template)]
#[template(path = "home.html")]
struct Home<'a> {
    t: &'a Texts,
    signed_in: Option<&'a str>,
    own: Vec<&'a Task>,
    work: Vec<&'a Task>,
}

impl Home<'_> {
    fn text(&self, task: &Task, suffix: &str) -> String {
        self.t
            .get(&format!("task.{}_{suffix}", task.key))
            .to_owned()
    }
}

pub async fn page(chrome: Chrome) -> Response {
    let t = chrome.t();
    let own: Vec<&Task> = if chrome.signed_in.is_some() {
        CITIZEN.iter().collect()
    } else {
        VISITOR.iter().collect()
    };
    let mut work: Vec<&Task> = Vec::new();
    for (role, task) in &BY_ROLE {
        if chrome.holds(*role) && !work.iter().any(|known| known.href == task.href) {
            work.push(task);
        }
    }
    let home = Home {
        t,
        signed_in: chrome.signed_in.as_deref(),
        own,
        work,
    };
    match render(&home) {
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
