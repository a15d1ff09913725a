//! The X-Road r1 gateway (PR-REST): `/r1/{INSTANCE}/{CLASS}/{MEMBER}/{SUBSYSTEM}/{SERVICE}/…`.
//! One request: parse the service, authenticate the client and match it to `X-Road-Client`,
//! check limits and rights (deny by default), answer (forward to the provider, or a built-in
//! or metadata service), write the audit entry and wait until it is durable, then answer the
//! client with the X-Road response headers.

use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, HeaderName};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http_body::Body as _;
use sha2::{Digest, Sha512};

use crate::builtin;
use crate::catalog::{BUILTIN_REGISTRY, Right, Service, Snapshot};
use crate::fault::Fault;
use crate::forward::{self, BodyDigests, BodyEnd};
use crate::ids::{ClientId, ServiceId};
use crate::limits::Held;
use crate::metadata;
use crate::relay::Upstream;
use crate::{Credential, Exchange};

/// Headers never passed on (PR-REST §4.3 "filtered headers", plus the gateway's own).
const FILTERED: [&str; 19] = [
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
    // Cookies belong to the platform's own origin and the client's browser session: none is
    // sent to a provider, and none a provider sets reaches the platform's domain.
    "cookie",
    "set-cookie",
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
    upstream: Option<Upstream>,
}

/// The gateway's own answers (built-in services, metadata): built-in ones name citizens, so no
/// cache may keep them.
fn json_answer(body: Vec<u8>, content_type: &'static str) -> Answer {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Answer {
        status: StatusCode::OK,
        headers,
        body: Bytes::from(body),
        subject: None,
        upstream: None,
    }
}

/// The request as the gateway keeps it for hashing and auditing.
struct Incoming {
    method: Method,
    /// Raw path after the service code, and the raw query: passed on as they came.
    rest: String,
    query: Option<String>,
    message_id: String,
    request_id: String,
    user_id: Option<String>,
    issue: Option<String>,
    /// The first half of `X-Road-Request-Hash`, over what the provider receives before the
    /// body (the headers themselves go to the provider).
    head_hash: [u8; 64],
}

impl Incoming {
    /// Every field the audit entry takes from the client, checked before anything is
    /// forwarded: an entry that cannot be written afterwards would leave a call the provider
    /// carried out outside the log.
    fn check_auditable(&self) -> Result<(), Fault> {
        let fields = [
            ("X-Road-Id", "message_id", Some(self.message_id.as_str())),
            ("X-Road-UserId", "user_id", self.user_id.as_deref()),
            ("X-Road-Issue", "issue", self.issue.as_deref()),
            ("the path", "path", Some(self.rest.as_str())),
            ("the method", "method", Some(self.method.as_str())),
        ];
        for (what, field, value) in fields {
            if let Some(value) = value
                && let Err(error) = audit::check_field(field, value)
            {
                let reason = match error {
                    audit::Error::Invalid { reason, .. } => reason,
                    other => other.to_string(),
                };
                return Err(Fault::unauditable(what, reason));
            }
        }
        Ok(())
    }

    /// `X-Road-Request-Hash` (PR-REST §4.3, as the reference server computes it): SHA-512
    /// over `METHOD CRLF path?query CRLF` and each forwarded header as `Name:Value CRLF`;
    /// with a body, SHA-512 of that digest followed by SHA-512 of the body; standard base64.
    fn request_hash(&self, body: &BodyDigests) -> String {
        if body.bytes == 0 {
            return STANDARD.encode(self.head_hash);
        }
        let mut both = Sha512::new();
        both.update(self.head_hash);
        both.update(body.sha512);
        STANDARD.encode(both.finalize())
    }
}

fn head_hash(method: &Method, rest: &str, query: Option<&str>, forwarded: &HeaderMap) -> [u8; 64] {
    let mut head = Sha512::new();
    head.update(method.as_str());
    head.update("\r\n");
    head.update(rest);
    if let Some(query) = query {
        head.update("?");
        head.update(query);
    }
    head.update("\r\n");
    for (name, value) in forwarded {
        head.update(name.as_str());
        head.update(":");
        head.update(value.as_bytes());
        head.update("\r\n");
    }
    head.finalize().into()
}

/// The headers the provider receives: the client's, filtered, with the ids set. A client that
/// authenticated with its certificate may send the provider a token of its own in
/// `Authorization` (PR-REST §4.7: passed unmodified).
fn forwarded_headers(
    sent: &HeaderMap,
    (message_id, request_id): (&str, &str),
    credential: Credential,
) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in sent {
        let providers_own = name == AUTHORIZATION && credential == Credential::Certificate;
        if providers_own || !filtered(name) {
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
    let (parts, body) = request.into_parts();
    match handle(&exchange, &parts, body, started).await {
        Ok(response) => response,
        Err(fault) => {
            exchange.metrics.refused(fault.kind);
            fault.respond(&parts.headers)
        }
    }
}

/// Where a call that passed authentication goes.
enum Route<'a> {
    Metadata,
    Builtin(&'a Right),
    Provider(&'a Service),
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
    parts: &Parts,
    body: Body,
    started: Instant,
) -> Result<Response, Fault> {
    let path = parts.uri.path().strip_prefix("/r1/").unwrap_or_default();
    let (service_id, rest) = ServiceId::from_r1_path(path).map_err(Fault::bad_request)?;
    let client_text =
        header_text(&parts.headers, "x-road-client").ok_or_else(Fault::missing_client)?;
    let client = ClientId::parse(client_text).map_err(Fault::bad_client)?;
    // The canonical texts, made once: they go into the entry, the metrics and the headers.
    let names = (client.to_string(), service_id.to_string());
    let credential = exchange
        .authenticate(
            &parts.headers,
            (&client, &names.0),
            parts.extensions.get::<crate::ClientCertificate>(),
        )
        .await?;
    let snapshot = exchange.catalog.snapshot().await;
    if !snapshot.has_client(&client) {
        return Err(Fault::unknown_member(format!(
            "Client '{}:{client}' not found",
            client.object_type()
        )));
    }
    // A body declared larger than anything passed on is refused before it is read.
    let largest = exchange.max_request.max(exchange.max_body);
    if body.size_hint().lower() > largest {
        return Err(Fault::too_large(largest));
    }
    let message_id = header_text(&parts.headers, "x-road-id")
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{}-{}", exchange.instance, uuid::Uuid::new_v4()));
    let request_id = uuid::Uuid::new_v4().to_string();
    let forwarded = forwarded_headers(&parts.headers, (&message_id, &request_id), credential);
    let query = parts.uri.query();
    let incoming = Incoming {
        head_hash: head_hash(&parts.method, rest, query, &forwarded),
        method: parts.method.clone(),
        rest: rest.to_owned(),
        query: query.map(str::to_owned),
        user_id: header_text(&forwarded, "x-road-userid").map(str::to_owned),
        issue: header_text(&forwarded, "x-road-issue").map(str::to_owned),
        message_id,
        request_id,
    };
    incoming.check_auditable()?;
    let decoded_path =
        percent_encoding::percent_decode_str(if rest.is_empty() { "/" } else { rest })
            .decode_utf8_lossy()
            .into_owned();
    // Rights are matched on the decoded path but the provider gets it raw: nothing in it may
    // read as another path there (dot segments, RFC 3986 §5.2.4; `\`, a separator on some
    // servers).
    if decoded_path
        .split('/')
        .any(|segment| segment == ".." || segment == ".")
        || decoded_path.contains('\\')
    {
        return Err(Fault::bad_request(
            "the path may not contain . or .. segments or a backslash",
        ));
    }

    let route = route(
        exchange,
        &snapshot,
        (&service_id, &client, &names.0),
        &incoming,
        &decoded_path,
    );
    let (outcome, digests) = match route {
        Ok(Route::Provider(service)) => {
            let (body, end) = forward::hashing(body, exchange.max_request);
            forward_call(exchange, service, &incoming, forwarded, body, end).await
        }
        Ok(Route::Metadata) => {
            let (_, digests) = forward::read_whole(body, exchange.max_body).await?;
            let answer = metadata_answer(&snapshot, &service_id, &client, &incoming);
            (answer, digests)
        }
        Ok(Route::Builtin(right)) => {
            let (bytes, digests) = forward::read_whole(body, exchange.max_body).await?;
            let answer = builtin::answer(
                &exchange.registry,
                &service_id.code,
                &incoming.method,
                &decoded_path,
                &bytes,
                right,
            )
            .await
            .map(|a| Answer {
                status: a.status,
                subject: a.subject.map(|id| id.to_string()),
                ..json_answer(a.body, "application/json;charset=utf-8")
            });
            (answer, digests)
        }
        // A refused call's entry still records what the client sent.
        Err(fault) => {
            let (_, digests) = forward::read_whole(body, exchange.max_body).await?;
            (Err(fault), digests)
        }
    };
    exchange
        .finish(
            (&names.0, &names.1),
            service_label(&snapshot, &service_id, &names.1),
            &incoming,
            &digests,
            outcome,
            started,
        )
        .await
}

/// The service as the metrics name it: only registered services (and the metadata services
/// of registered subsystems) get a series of their own, so made-up codes cannot grow
/// `/metrics` without bound. The client needs no such care: it passed authentication and is
/// registered.
fn service_label<'a>(snapshot: &Snapshot, service_id: &ServiceId, name: &'a str) -> &'a str {
    let known = snapshot.services.contains_key(service_id)
        || (metadata::NAMES.contains(&service_id.code.as_str())
            && snapshot.has_subsystem(&service_id.subsystem));
    if known { name } else { UNKNOWN_SERVICE }
}

/// The metrics' label for calls to services that are not registered.
const UNKNOWN_SERVICE: &str = "unknown";

/// Decides where a call goes, or refuses it: unknown or disabled service, limits, rights.
fn route<'a>(
    exchange: &Exchange,
    snapshot: &'a Snapshot,
    (service_id, client, client_name): (&ServiceId, &ClientId, &str),
    incoming: &Incoming,
    decoded_path: &str,
) -> Result<Route<'a>, Fault> {
    if incoming.rest.is_empty() && metadata::NAMES.contains(&service_id.code.as_str()) {
        return Ok(Route::Metadata);
    }
    let service = match snapshot.services.get(service_id) {
        None => return Err(Fault::unknown_service(service_id)),
        Some(service) if service.disabled => return Err(Fault::disabled(service_id)),
        Some(service) => service,
    };
    let limited = snapshot
        .limits
        .get(client_name)
        .map(|limit| exchange.limiter.take(client_name, *limit));
    match limited {
        Some(Err(Held::Rate { retry_after })) => {
            return Err(Fault::too_many(
                format!(
                    "{}:{client} exceeded its requests per second",
                    client.object_type()
                ),
                retry_after,
            ));
        }
        Some(Err(Held::Quota { retry_after })) => {
            return Err(Fault::too_many(
                format!("{}:{client} used its daily quota", client.object_type()),
                retry_after,
            ));
        }
        _ => {}
    }
    let method = incoming.method.as_str();
    let Some(right) = snapshot.right_for(client, service_id, method, decoded_path) else {
        return Err(Fault::access_denied(service_id, method, decoded_path));
    };
    Ok(if service.base_url == BUILTIN_REGISTRY {
        // A row written before the owner rule (or by hand) must not open the registry.
        if service.id.subsystem.member != *exchange.catalog.registry_owner() {
            return Err(Fault::internal(format!(
                "SERVICE:{service_id} is not the population registry's; its base URL {BUILTIN_REGISTRY} is refused"
            )));
        }
        Route::Builtin(right)
    } else {
        Route::Provider(service)
    })
}

fn metadata_answer(
    snapshot: &Snapshot,
    target: &ServiceId,
    client: &ClientId,
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

/// Calls the provider with the client's body streamed through; returns the answer and the
/// digests of the body that was sent.
async fn forward_call(
    exchange: &Exchange,
    service: &Service,
    incoming: &Incoming,
    headers: HeaderMap,
    body: Body,
    end: BodyEnd,
) -> (Result<Answer, Fault>, BodyDigests) {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(service.timeout_ms);
    let answer = async {
        let uri = forward::provider_uri(service, &incoming.rest, incoming.query.as_deref())?;
        let mut request = hyper::Request::new(body);
        *request.method_mut() = incoming.method.clone();
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        let response = forward::send(&exchange.http, service, request, deadline).await?;
        let (parts, body) = response.into_parts();
        let mut headers = HeaderMap::new();
        for (name, value) in parts.headers {
            if let Some(name) = name
                && !filtered(&name)
                && !OWN_RESPONSE.contains(&name.as_str())
            {
                headers.append(name, value);
            }
        }
        // A small answer of known length is read whole: one write to the client, no relay.
        let small = body
            .size_hint()
            .exact()
            .is_some_and(|length| length <= WHOLE_ANSWER_BYTES);
        let (whole, upstream) = if small {
            (forward::read_answer(body, service, deadline).await?, None)
        } else {
            (Bytes::new(), Some(Upstream { body, deadline }))
        };
        Ok(Answer {
            status: parts.status,
            headers,
            body: whole,
            subject: None,
            upstream,
        })
    }
    .await;
    match (answer, forward::body_end(end, deadline).await) {
        (answer, Some(Ok(digests))) => (answer, digests),
        // A body refused on the way (too large, unreadable) explains the failure best.
        (_, Some(Err(fault))) | (Err(fault), None) => (Err(fault), BodyDigests::empty()),
        (Ok(_), None) => (
            Err(Fault::bad_request(
                "the request body did not arrive within the service's timeout",
            )),
            BodyDigests::empty(),
        ),
    }
}

impl Exchange {
    /// Records an exchange's entry and waits until it is durable; the wait is measured.
    pub(crate) async fn record(
        &self,
        entry: audit::NewEntry,
    ) -> Result<audit::Sealed, audit::Error> {
        let waiting = Instant::now();
        let recorded = self.audit.record(entry).await;
        self.metrics.audit_waited(waiting.elapsed());
        recorded
    }

    /// Audits the exchange (waiting until the entry is durable) and builds the response.
    async fn finish(
        &self,
        (client, service): (&str, &str),
        service_label: &str,
        incoming: &Incoming,
        body: &BodyDigests,
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
            client: client.to_owned(),
            service: service.to_owned(),
            method: incoming.method.to_string(),
            path: if incoming.rest.is_empty() {
                "/".into()
            } else {
                incoming.rest.clone()
            },
            user_id: incoming.user_id.clone(),
            issue: incoming.issue.clone(),
            subject,
            status: status.as_u16(),
            latency: started.elapsed(),
            request_hash: body.sha256,
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
                    (client.to_owned(), service_label.to_owned()),
                    started,
                );
                (answer.status, answer.headers, body).into_response()
            }
            None => {
                let message_id = entry.message_id.clone();
                if let Err(error) = self.record(entry).await {
                    tracing::error!(%error, %client, %service, %message_id, "audit entry not recorded; the answer is withheld");
                    return Err(Fault::database(
                        "the exchange could not be recorded in the audit log; nothing is returned",
                    ));
                }
                self.metrics
                    .observe(client, service_label, status.as_u16(), started.elapsed());
                let answer = outcome?;
                (answer.status, answer.headers, answer.body).into_response()
            }
        };
        let own = [
            ("x-road-id", incoming.message_id.as_str()),
            ("x-road-client", client),
            ("x-road-service", service),
            ("x-road-request-id", incoming.request_id.as_str()),
            ("x-road-request-hash", &incoming.request_hash(body)),
        ];
        for (name, value) in own {
            if let Ok(value) = HeaderValue::from_str(value) {
                response.headers_mut().insert(name, value);
            }
        }
        Ok(response)
    }
}
