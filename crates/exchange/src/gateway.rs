//! The X-Road r1 gateway (PR-REST): `/r1/{INSTANCE}/{CLASS}/{MEMBER}/{SUBSYSTEM}/{SERVICE}/…`.
//! One request: parse the service, authenticate the client and match it to `X-Road-Client`,
//! check limits and rights (deny by default), answer (forward to the provider, or a built-in
//! or metadata service), write the audit entry and wait until it is durable, then answer the
//! client with the X-Road response headers.

use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_TYPE, HeaderName};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http_body_util::BodyExt;
use sha2::{Digest, Sha512};

use crate::Exchange;
use crate::builtin;
use crate::catalog::{BUILTIN_REGISTRY, Service};
use crate::fault::Fault;
use crate::ids::{ServiceId, SubsystemId};
use crate::limits::Held;
use crate::metadata;

/// Headers never passed on (PR-REST §4.3 "filtered headers", plus the gateway's own).
const FILTERED: [&str; 17] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "user-agent",
    "server",
    "expect",
    "content-length",
    // The client's credential for this gateway is not the provider's business.
    "authorization",
    "x-road-request-hash",
    "x-road-request-id",
    "x-road-id",
];

/// Response headers the gateway sets itself, replacing any the provider sent.
const OWN_RESPONSE: [&str; 5] = [
    "x-road-id",
    "x-road-client",
    "x-road-service",
    "x-road-request-id",
    "x-road-request-hash",
];

/// Answers up to this size with a declared length are read whole; larger or unsized ones are
/// relayed as they arrive (relay.rs).
const WHOLE_ANSWER_BYTES: u64 = 64 * 1024;

fn filtered(name: &HeaderName) -> bool {
    FILTERED.contains(&name.as_str())
}

/// What came back, before the X-Road headers are added.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    subject: Option<String>,
    /// A provider's body still to be relayed (see relay.rs); `body` is then empty.
    upstream: Option<reqwest::Response>,
}

fn json_answer(body: Vec<u8>, content_type: &'static str) -> Answer {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    Answer {
        status: StatusCode::OK,
        headers,
        body: Bytes::from(body),
        subject: None,
        upstream: None,
    }
}

/// The request as the gateway keeps it for hashing, auditing and forwarding.
struct Incoming {
    method: Method,
    /// Raw path after the service code, and the raw query: passed on as they came.
    rest: String,
    query: Option<String>,
    /// The headers the provider receives: the client's, filtered, with the message and
    /// request ids set. Made once; also what `X-Road-Request-Hash` covers.
    forwarded: HeaderMap,
    body: Bytes,
    message_id: String,
    request_id: String,
}

impl Incoming {
    /// `X-Road-Request-Hash` (PR-REST §4.3, as the reference server computes it): SHA-512
    /// over `METHOD CRLF path?query CRLF` and each forwarded header as `Name:Value CRLF`;
    /// with a body, SHA-512 of that digest followed by SHA-512 of the body; standard base64.
    fn request_hash(&self) -> String {
        let mut head = Sha512::new();
        head.update(self.method.as_str());
        head.update("\r\n");
        head.update(&self.rest);
        if let Some(query) = &self.query {
            head.update("?");
            head.update(query);
        }
        head.update("\r\n");
        for (name, value) in &self.forwarded {
            head.update(name.as_str());
            head.update(":");
            head.update(value.as_bytes());
            head.update("\r\n");
        }
        let head = head.finalize();
        if self.body.is_empty() {
            return STANDARD.encode(head);
        }
        let mut both = Sha512::new();
        both.update(head);
        both.update(Sha512::digest(&self.body));
        STANDARD.encode(both.finalize())
    }
}

/// The headers the provider receives: the client's, filtered, with the ids set.
fn forwarded_headers(sent: &HeaderMap, message_id: &str, request_id: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in sent {
        if !filtered(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    for (name, value) in [("x-road-id", message_id), ("x-road-request-id", request_id)] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    headers
}

/// Everything the gateway handles under `/r1/`.
pub async fn r1(State(exchange): State<Exchange>, request: Request) -> Response {
    let started = Instant::now();
    let headers = request.headers().clone();
    match handle(&exchange, request, started).await {
        Ok(response) => response,
        Err(fault) => {
            exchange.metrics.refused(fault.kind);
            fault.respond(&headers)
        }
    }
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

async fn handle(
    exchange: &Exchange,
    request: Request,
    started: Instant,
) -> Result<Response, Fault> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().strip_prefix("/r1/").unwrap_or_default();
    let (service_id, rest) = ServiceId::from_r1_path(path).map_err(Fault::bad_request)?;
    let client_text =
        header_text(&parts.headers, "x-road-client").ok_or_else(Fault::missing_client)?;
    let client = SubsystemId::parse(client_text).map_err(Fault::bad_client)?;
    exchange
        .authenticate(
            &parts.headers,
            &client,
            parts.extensions.get::<crate::ClientCertificate>(),
        )
        .await?;
    let snapshot = exchange.catalog.snapshot().await;
    if !snapshot.has_subsystem(&client) {
        return Err(Fault::unknown_member(format!(
            "Client 'SUBSYSTEM:{client}' not found"
        )));
    }
    let message_id = header_text(&parts.headers, "x-road-id")
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{}-{}", exchange.instance, uuid::Uuid::new_v4()));
    let body = read_limited(body, exchange.max_body).await?;
    let request_id = uuid::Uuid::new_v4().to_string();
    let incoming = Incoming {
        method: parts.method.clone(),
        rest: rest.to_owned(),
        query: parts.uri.query().map(str::to_owned),
        forwarded: forwarded_headers(&parts.headers, &message_id, &request_id),
        body,
        message_id,
        request_id,
    };
    let decoded_path =
        percent_encoding::percent_decode_str(if rest.is_empty() { "/" } else { rest })
            .decode_utf8_lossy()
            .into_owned();
    if decoded_path.split('/').any(|segment| segment == "..") {
        return Err(Fault::bad_request("the path may not contain .. segments"));
    }

    let outcome = if rest.is_empty() && metadata::NAMES.contains(&service_id.code.as_str()) {
        metadata_answer(&snapshot, &service_id, &client, &incoming)
    } else {
        match snapshot.services.get(&service_id) {
            None => Err(Fault::unknown_service(&service_id)),
            Some(service) if service.disabled => Err(Fault::disabled(&service_id)),
            Some(service) => {
                let client_text = client.to_string();
                let limited = snapshot
                    .limits
                    .get(&client_text)
                    .map(|limit| exchange.limiter.take(&client_text, *limit));
                match limited {
                    Some(Err(Held::Rate { retry_after })) => Err(Fault::too_many(
                        format!("SUBSYSTEM:{client} exceeded its requests per second"),
                        retry_after,
                    )),
                    Some(Err(Held::Quota { retry_after })) => Err(Fault::too_many(
                        format!("SUBSYSTEM:{client} used its daily quota"),
                        retry_after,
                    )),
                    _ => match snapshot.right_for(
                        &client,
                        &service_id,
                        incoming.method.as_str(),
                        &decoded_path,
                    ) {
                        None => Err(Fault::access_denied(
                            &service_id,
                            incoming.method.as_str(),
                            &decoded_path,
                        )),
                        Some(right) => {
                            if service.base_url == BUILTIN_REGISTRY {
                                builtin::answer(
                                    &exchange.registry,
                                    &service_id.code,
                                    &incoming.method,
                                    &decoded_path,
                                    &incoming.body,
                                    right,
                                )
                                .await
                                .map(|a| Answer {
                                    status: a.status,
                                    subject: a.subject.map(|id| id.to_string()),
                                    ..json_answer(a.body, "application/json;charset=utf-8")
                                })
                            } else {
                                forward(exchange, service, &incoming).await
                            }
                        }
                    },
                }
            }
        }
    };
    exchange
        .finish(&client, &service_id, &incoming, outcome, started)
        .await
}

fn metadata_answer(
    snapshot: &crate::catalog::Snapshot,
    target: &ServiceId,
    client: &SubsystemId,
    incoming: &Incoming,
) -> Result<Answer, Fault> {
    let provider = &target.subsystem;
    if !snapshot.has_subsystem(provider) {
        return Err(Fault::unknown_member(format!(
            "Could not find subsystem SUBSYSTEM:{provider}"
        )));
    }
    if incoming.method != Method::GET {
        return Err(Fault::invalid_provider_request(
            "metadata services answer GET only",
        ));
    }
    match target.code.as_str() {
        "listMethods" => Ok(json_answer(
            metadata::list_methods(snapshot, provider)
                .to_string()
                .into_bytes(),
            "application/json",
        )),
        "allowedMethods" => Ok(json_answer(
            metadata::allowed_methods(snapshot, provider, client)
                .to_string()
                .into_bytes(),
            "application/json",
        )),
        _ => Ok(json_answer(
            metadata::get_openapi(snapshot, provider, incoming.query.as_deref())?.into_bytes(),
            "application/json",
        )),
    }
}

async fn read_limited(body: Body, limit: usize) -> Result<Bytes, Fault> {
    let limited = http_body_util::Limited::new(body, limit);
    match limited.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            Err(Fault::too_large(limit))
        }
        Err(error) => Err(Fault::bad_request(format!("unreadable body: {error}"))),
    }
}

async fn forward(
    exchange: &Exchange,
    service: &Service,
    incoming: &Incoming,
) -> Result<Answer, Fault> {
    let mut url = format!("{}{}", service.base_url, incoming.rest);
    if let Some(query) = &incoming.query {
        url.push('?');
        url.push_str(query);
    }
    let timeout = Duration::from_millis(service.timeout_ms);
    let sent = exchange
        .http
        .request(incoming.method.clone(), &url)
        .headers(incoming.forwarded.clone())
        .body(incoming.body.clone())
        .timeout(timeout)
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(error) if error.is_timeout() => {
            return Err(Fault::timeout(&service.id, service.timeout_ms));
        }
        Err(error) => {
            return Err(Fault::network(format!(
                "SERVICE:{} could not be reached: {}",
                service.id,
                error.without_url()
            )));
        }
    };
    let status = response.status();
    let mut headers = HeaderMap::new();
    for (name, value) in response.headers() {
        if !filtered(name) && !OWN_RESPONSE.contains(&name.as_str()) {
            headers.append(name.clone(), value.clone());
        }
    }
    // A small answer of known length is read whole: one write to the client, no relay task.
    if response
        .content_length()
        .is_some_and(|length| length <= WHOLE_ANSWER_BYTES)
    {
        let body = response.bytes().await.map_err(|error| {
            if error.is_timeout() {
                Fault::timeout(&service.id, service.timeout_ms)
            } else {
                Fault::network(format!(
                    "SERVICE:{} broke off its answer: {}",
                    service.id,
                    error.without_url()
                ))
            }
        })?;
        return Ok(Answer {
            status,
            headers,
            body,
            subject: None,
            upstream: None,
        });
    }
    Ok(Answer {
        status,
        headers,
        body: Bytes::new(),
        subject: None,
        upstream: Some(response),
    })
}

impl Exchange {
    /// Audits the exchange (waiting until the entry is durable) and builds the response.
    async fn finish(
        &self,
        client: &SubsystemId,
        service: &ServiceId,
        incoming: &Incoming,
        mut outcome: Result<Answer, Fault>,
        started: Instant,
    ) -> Result<Response, Fault> {
        let upstream = outcome
            .as_mut()
            .ok()
            .and_then(|answer| answer.upstream.take());
        let (status, response_hash, subject) = match &outcome {
            Ok(answer) => (
                answer.status,
                audit::body_hash(&answer.body),
                answer.subject.clone(),
            ),
            // A refusal's entry hashes its error type and message.
            Err(fault) => (
                fault.status,
                audit::body_hash(format!("{}\n{}", fault.kind, fault.message).as_bytes()),
                None,
            ),
        };
        let entry = audit::NewEntry {
            message_id: incoming.message_id.clone(),
            at: time::OffsetDateTime::now_utc(),
            client: client.to_string(),
            service: service.to_string(),
            method: incoming.method.to_string(),
            path: if incoming.rest.is_empty() {
                "/".into()
            } else {
                incoming.rest.clone()
            },
            user_id: header_text(&incoming.forwarded, "x-road-userid").map(str::to_owned),
            issue: header_text(&incoming.forwarded, "x-road-issue").map(str::to_owned),
            subject,
            status: status.as_u16(),
            latency: started.elapsed(),
            request_hash: audit::body_hash(&incoming.body),
            response_hash,
        };
        let mut response = match upstream {
            // The relay writes the entry before the body's last chunk leaves.
            Some(upstream) => {
                let answer = outcome?;
                let body = crate::relay::relay(
                    self.clone(),
                    upstream,
                    entry,
                    (client.clone(), service.clone()),
                    started,
                );
                (answer.status, answer.headers, body).into_response()
            }
            None => {
                if let Err(error) = self.audit.record(entry).await {
                    tracing::error!(%error, "audit entry not recorded; the answer is withheld");
                    return Err(Fault::database(
                        "the exchange could not be recorded in the audit log; nothing is returned",
                    ));
                }
                self.metrics
                    .observe(client, service, status.as_u16(), started.elapsed());
                let answer = outcome?;
                (answer.status, answer.headers, answer.body).into_response()
            }
        };
        let own = [
            ("x-road-id", incoming.message_id.clone()),
            ("x-road-client", client.to_string()),
            ("x-road-service", service.to_string()),
            ("x-road-request-id", incoming.request_id.clone()),
            ("x-road-request-hash", incoming.request_hash()),
        ];
        for (name, value) in own {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        Ok(response)
    }
}
