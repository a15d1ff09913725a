//! A person in a browser never gets a problem document: an error answered to a page request
//! is shown as a page in the reader's language, with what they can do next. The API keeps
//! its problem details (RFC 9457).

use askama::Template;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::HeaderMap;
use axum::http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::form::problem_message;
use crate::lang::Texts;
use crate::layout::{Chrome, render};
use crate::{Problem, Site};

/// A page request: a browser asking for HTML, at an address that is not the JSON API's.
pub fn is_page_request(headers: &HeaderMap, path: &str) -> bool {
    let wants_html = headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    wants_html && !path.starts_with("/api/")
}

#[derive(Template)]
#[template(path = "error_page.html")]
struct ErrorPage<'a> {
    t: &'a Texts,
    heading: &'a str,
    text: String,
    signed_in: bool,
    sign_in_href: String,
    request_id: Option<&'a str>,
    status: u16,
}

/// Shows the problem that answered a page request as a page. Headers the answer set on
/// purpose (`Retry-After`, cookies, the request id) are kept.
pub async fn pages_never_json(State(site): State<Site>, request: Request, next: Next) -> Response {
    if !is_page_request(request.headers(), request.uri().path()) {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let Ok(chrome) = Chrome::from_request_parts(&mut parts, &site).await;
    let back_here = parts
        .uri
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    let request_id = parts
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = next.run(Request::from_parts(parts, body)).await;
    let Some(problem) = response.extensions().get::<Problem>().cloned() else {
        return response;
    };
    let (mut parts, _) = response.into_parts();
    let page = error_page(&chrome, &problem, request_id.as_deref(), &back_here);
    let (page_parts, page_body) = page.into_parts();
    parts.headers.remove(CONTENT_LENGTH);
    if let Some(content_type) = page_parts.headers.get(CONTENT_TYPE) {
        parts.headers.insert(CONTENT_TYPE, content_type.clone());
    }
    Response::from_parts(parts, page_body)
}

fn error_page(
    chrome: &Chrome,
    problem: &Problem,
    request_id: Option<&str>,
    back_here: &str,
) -> Response {
    let t = chrome.t();
    let status = problem.status();
    let heading = t.get(match status.as_u16() {
        401 | 403 => "error_page.forbidden",
        404 => "error_page.not_found",
        405 => "error_page.method",
        409 => "error_page.conflict",
        400 | 413 | 422 => "error_page.invalid",
        429 | 503 => "error_page.busy",
        _ => "error_page.internal",
    });
    let page = ErrorPage {
        t,
        heading,
        text: t.message(&problem_message(problem)),
        signed_in: chrome.signed_in.is_some(),
        sign_in_href: format!(
            "/login?next={}",
            form_urlencoded::byte_serialize(back_here.as_bytes()).collect::<String>()
        ),
        request_id: request_id.filter(|_| status.is_server_error()),
        status: status.as_u16(),
    };
    match render(&page) {
        Ok(body) => chrome.page_with_status(status, heading, &body),
        Err(problem) => problem.into_response(),
    }
}
