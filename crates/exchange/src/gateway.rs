//! The X-Road r1 adapter over the core (PR-REST):
//! `/r1/{INSTANCE}/{CLASS}/{MEMBER}/{SUBSYSTEM}/{SERVICE}/…`. HTTP in: parse the service and
//! `X-Road-Client`, authenticate the client by certificate or token and match it to that
//! header, filter the headers a provider may see; the core does the rest; HTTP out: the
//! reply with the X-Road response headers, or an X-Road error.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

use crate::core::{Call, Reply, filtered};
use crate::fault::Fault;
use crate::ids::{ClientId, ServiceId};
use crate::{Credential, Exchange};

/// Everything the gateway handles under `/r1/`.
pub async fn r1(State(exchange): State<Exchange>, request: Request) -> Response {
    let received = Instant::now();
    let (parts, body) = request.into_parts();
    let call = match authenticated_call(&exchange, &parts, body, received).await {
        Ok(call) => call,
        Err(fault) => {
            exchange.metrics.refused(fault.kind);
            return fault.respond(&parts.headers);
        }
    };
    match exchange.call(call).await {
        Ok(reply) => respond(reply),
        Err(fault) => fault.respond(&parts.headers),
    }
}

/// The call the client sent, once it has proved it is the client it names.
async fn authenticated_call(
    exchange: &Exchange,
    parts: &Parts,
    body: axum::body::Body,
    received: Instant,
) -> Result<Call, Fault> {
    let path = parts.uri.path().strip_prefix("/r1/").unwrap_or_default();
    let (service, rest) = ServiceId::from_r1_path(path).map_err(Fault::bad_request)?;
    let client_text =
        header_text(&parts.headers, "x-road-client").ok_or_else(Fault::missing_client)?;
    let client = ClientId::parse(client_text).map_err(Fault::bad_client)?;
    let credential = exchange
        .authenticate(
            &parts.headers,
            (&client, &client.to_string()),
            parts.extensions.get::<crate::ClientCertificate>(),
        )
        .await?;
    let headers = forwarded_headers(&parts.headers, credential);
    Ok(Call {
        user_id: header_text(&headers, "x-road-userid").map(str::to_owned),
        issue: header_text(&headers, "x-road-issue").map(str::to_owned),
        message_id: header_text(&parts.headers, "x-road-id").map(str::to_owned),
        client,
        service,
        method: parts.method.clone(),
        rest: rest.to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers,
        body,
        received,
    })
}

/// The headers the provider receives: the client's, filtered. A client that authenticated
/// with its certificate may send the provider a token of its own in `Authorization`
/// (PR-REST §4.7: passed unmodified).
fn forwarded_headers(sent: &HeaderMap, credential: Credential) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in sent {
        let providers_own = name == AUTHORIZATION && credential == Credential::Certificate;
        if providers_own || !filtered(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    headers
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    // PR-REST §4.3: when a header is sent twice, the last one counts.
    headers
        .get_all(name)
        .iter()
        .next_back()
        // UTF-8 is taken as sent: a purpose in Vietnamese is common in X-Road-Issue.
        .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn respond(reply: Reply) -> Response {
    let mut response = (reply.status, reply.headers, reply.body).into_response();
    let own = [
        ("x-road-id", reply.message_id.as_str()),
        ("x-road-client", &reply.client),
        ("x-road-service", &reply.service),
        ("x-road-request-id", &reply.request_id),
        ("x-road-request-hash", &reply.request_hash),
    ];
    for (name, value) in own {
        if let Ok(value) = HeaderValue::from_str(value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
