//! Completes the OpenAPI document with the answers that the shared layers give, so that each
//! operation lists every status a client can meet: handlers declare their own outcomes, and
//! this adds what extraction, the cross-site guard, the timeout and the body limit answer for
//! any operation of that shape. Every error is a problem document (RFC 9457).

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

const PROBLEM_JSON: &str = "application/problem+json";

/// The session cookie that officials' API operations need (their security requirement).
pub(crate) const SESSION_SCHEME: &str = "session";

pub(crate) fn describe_errors(document: &mut OpenApi) {
    for (_, item) in document.paths.paths.iter_mut() {
        let operations = [
            (false, item.get.as_mut()),
            (false, item.head.as_mut()),
            (false, item.options.as_mut()),
            (true, item.post.as_mut()),
            (true, item.put.as_mut()),
            (true, item.patch.as_mut()),
            (true, item.delete.as_mut()),
        ];
        for (unsafe_method, operation) in operations {
            if let Some(operation) = operation {
                complete(operation, unsafe_method);
            }
        }
    }
}

fn complete(operation: &mut Operation, unsafe_method: bool) {
    let has_query = operation
        .parameters
        .iter()
        .flatten()
        .any(|parameter| parameter.parameter_in == ParameterIn::Query);
    let has_body = operation.request_body.is_some();
    let needs_credentials = operation
        .security
        .iter()
        .flatten()
        .any(|requirement| *requirement != SecurityRequirement::default());
    let mut shared = vec![
        ("408", "the request took longer than the server allows"),
        ("500", "the server failed; the problem names no detail"),
    ];
    if has_query {
        shared.push(("400", "a query parameter is missing or cannot be parsed"));
    }
    if has_body {
        shared.extend([
            ("400", "the body is not valid JSON"),
            ("413", "the body is larger than the server accepts"),
            ("415", "the body is not application/json"),
            (
                "422",
                "the body lacks a field or a field has the wrong type",
            ),
        ]);
    }
    if needs_credentials {
        shared.push(("401", "no valid session or access token"));
    }
    if unsafe_method {
        shared.push(("403", "sent from another site (cross-site request refused)"));
    }
    let responses = &mut operation.responses.responses;
    for (status, description) in shared {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(ResponseBuilder::new().description(description).build()));
    }
    for (status, response) in responses.iter_mut() {
        if let (true, RefOr::T(response)) = (status.starts_with(['4', '5']), response) {
            response.content.clear();
            response.content.insert(
                PROBLEM_JSON.to_owned(),
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            );
        }
    }
}
