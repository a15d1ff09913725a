//! The exchange core, with no HTTP server or client protocol in it: one call from an
//! authenticated client to a service runs through named phases over a per-call context,
//!
//! `registered` → `admit` (body size, auditable fields, path) → `route` (service, limits,
//! rights) → `answer` (forward, in-process provider, metadata) → `finish` (durable audit
//! entry) → reply.
//!
//! Two adapters sit over it: the X-Road r1 gateway (gateway.rs: HTTP in, authentication by
//! token or certificate, HTTP out) and the in-process client (client.rs) for contexts in the
//! same binary. A remote node is reached through r1.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http_body::Body as _;
use sha2::{Digest, Sha512};

use crate::Exchange;
use crate::catalog::{Right, Service, Snapshot};
use crate::fault::Fault;
use crate::forward::{self, BodyDigests, BodyEnd};
use crate::ids::{ClientId, ServiceId};
use crate::limits::Held;
use crate::local::{LOCAL_SCHEME, LocalCall, Registered};
use crate::metadata;
use crate::relay::Upstream;

/// Answers up to this size with a declared length are read whole; larger or unsized ones are
/// relayed as they arrive (relay.rs).
const WHOLE_ANSWER_BYTES: u64 = 64 * 1024;

/// Response headers the core sets itself, replacing any the provider sent.
pub(crate) const OWN_RESPONSE: [&str; 5] = [
    "x-road-id",
    "x-road-client",
    "x-road-service",
    "x-road-request-id",
    "x-road-request-hash",
];

/// One call, as an adapter hands it to the core once the client is authenticated.
pub struct Call {
    pub client: ClientId,
    pub service: ServiceId,
    pub method: Method,
    /// The raw path after the service code and the raw query, passed on as they came.
    pub rest: String,
    pub query: Option<String>,
    /// The headers a provider receives (the adapter has filtered the client's).
    pub headers: HeaderMap,
    pub body: Body,
    /// The client's message id (`X-Road-Id`); one is made when absent.
    pub message_id: Option<String>,
    /// On whose behalf, and why (`X-Road-UserId`, `X-Road-Issue`): both go into the entry.
    pub user_id: Option<String>,
    pub issue: Option<String>,
    /// When the adapter received the call: the entry's latency counts from here.
    pub received: Instant,
}

/// The answer to a call, recorded in the audit log (or, for a relayed body, recorded before
/// its last chunk leaves).
pub struct Reply {
    pub status: StatusCode,
    /// The provider's headers, filtered.
    pub headers: HeaderMap,
    pub body: Body,
    pub message_id: String,
    pub request_id: String,
    /// `X-Road-Request-Hash` (PR-REST §4.3).
    pub request_hash: String,
    /// The canonical client and service identifiers, as recorded.
    pub client: String,
    pub service: String,
}

/// Headers never passed on to a provider, nor back from one (PR-REST §4.3 "filtered
/// headers", plus the gateway's own).
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

pub(crate) fn filtered(name: &axum::http::HeaderName) -> bool {
    FILTERED.contains(&name.as_str())
}

/// What came back, before it becomes a reply.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    subject: Option<String>,
    /// A provider's body still to be relayed (see relay.rs); `body` is then empty.
    upstream: Option<Upstream>,
}

/// The core's own answers (in-process providers, metadata): in-process ones name citizens,
/// so no cache may keep them.
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

/// Everything one call carries from phase to phase.
struct CallContext {
    started: Instant,
    snapshot: Arc<Snapshot>,
    client: ClientId,
    service: ServiceId,
    /// The canonical texts, made once: they go into the entry, the metrics and the reply.
    client_name: String,
    service_name: String,
    method: Method,
    rest: String,
    query: Option<String>,
    /// `rest` percent-decoded, `/` when empty: what rights are matched against.
    decoded_path: String,
    message_id: String,
    request_id: String,
    user_id: Option<String>,
    issue: Option<String>,
    /// The first half of `X-Road-Request-Hash`, over what the provider receives before the
    /// body.
    head_hash: [u8; 64],
}

impl CallContext {
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

/// Where a call goes.
enum Route<'a> {
    Metadata,
    Local(&'a Right, Arc<Registered>),
    Provider(&'a Service),
}

impl Exchange {
    /// Runs one call from an authenticated client through the core.
    pub async fn call(&self, call: Call) -> Result<Reply, Fault> {
        let outcome = self.run(call).await;
        if let Err(fault) = &outcome {
            self.metrics.refused(fault.kind);
        }
        outcome
    }

    async fn run(&self, call: Call) -> Result<Reply, Fault> {
        let started = call.received;
        let snapshot = self.catalog.snapshot().await;
        registered(&snapshot, &call.client)?;
        let Call {
            client,
            service,
            method,
            rest,
            query,
            mut headers,
            body,
            message_id,
            user_id,
            issue,
            received: _,
        } = call;
        // A body declared larger than anything passed on is refused before it is read.
        let largest = self.max_request.max(self.max_body);
        if body.size_hint().lower() > largest {
            return Err(Fault::too_large(largest));
        }
        let message_id =
            message_id.unwrap_or_else(|| format!("{}-{}", self.instance, uuid::Uuid::new_v4()));
        let request_id = uuid::Uuid::new_v4().to_string();
        for (name, value) in [
            ("x-road-id", &message_id),
            ("x-road-request-id", &request_id),
        ] {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(name, value);
            }
        }
        let decoded_path =
            percent_encoding::percent_decode_str(if rest.is_empty() { "/" } else { &rest })
                .decode_utf8_lossy()
                .into_owned();
        let context = CallContext {
            started,
            head_hash: head_hash(&method, &rest, query.as_deref(), &headers),
            client_name: client.to_string(),
            service_name: service.to_string(),
            snapshot,
            client,
            service,
            method,
            rest,
            query,
            decoded_path,
            message_id,
            request_id,
            user_id,
            issue,
        };
        admit(&context)?;
        let route = self.route(&context);
        let (outcome, digests) = match route {
            Ok(Route::Provider(service)) => {
                let (body, end) = forward::hashing(body, self.max_request);
                self.forward(service, &context, headers, body, end).await
            }
            Ok(Route::Metadata) => {
                let (_, digests) = forward::read_whole(body, self.max_body).await?;
                (metadata_answer(&context), digests)
            }
            Ok(Route::Local(right, registered)) => {
                let (bytes, digests) = forward::read_whole(body, self.max_body).await?;
                (
                    local_answer(&context, right, &registered, &bytes).await,
                    digests,
                )
            }
            // A refused call's entry still records what the client sent.
            Err(fault) => {
                let (_, digests) = forward::read_whole(body, self.max_body).await?;
                (Err(fault), digests)
            }
        };
        self.finish(&context, &digests, outcome).await
    }

    /// Decides where a call goes, or refuses it: unknown or disabled service, limits, rights
    /// (deny by default).
    fn route<'a>(&self, context: &'a CallContext) -> Result<Route<'a>, Fault> {
        let (snapshot, service_id, client) = (&context.snapshot, &context.service, &context.client);
        if context.rest.is_empty() && metadata::NAMES.contains(&service_id.code.as_str()) {
            return Ok(Route::Metadata);
        }
        let service = match snapshot.services.get(service_id) {
            None => return Err(Fault::unknown_service(service_id)),
            Some(service) if service.disabled => return Err(Fault::disabled(service_id)),
            Some(service) => service,
        };
        let limited = snapshot
            .limits
            .get(client)
            .map(|limit| self.limiter.take(&context.client_name, *limit));
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
        let method = context.method.as_str();
        let Some(right) = snapshot.right_for(client, service_id, method, &context.decoded_path)
        else {
            return Err(Fault::access_denied(
                service_id,
                method,
                &context.decoded_path,
            ));
        };
        if !service.base_url.starts_with(LOCAL_SCHEME) {
            return Ok(Route::Provider(service));
        }
        let Some(registered) = self.catalog.local.get(&service.base_url) else {
            return Err(Fault::internal(format!(
                "SERVICE:{service_id} points at {}, which no provider in this node answers",
                service.base_url
            )));
        };
        // A row written before the owner rule (or by hand) must not open a provider's data.
        if service.id.subsystem.member != registered.owner.member {
            return Err(Fault::internal(format!(
                "SERVICE:{service_id} is not {}'s; its base URL {} is refused",
                registered.owner.member, service.base_url
            )));
        }
        Ok(Route::Local(right, registered))
    }

    /// Calls the provider with the client's body streamed through; returns the answer and
    /// the digests of the body that was sent.
    async fn forward(
        &self,
        service: &Service,
        context: &CallContext,
        headers: HeaderMap,
        body: Body,
        end: BodyEnd,
    ) -> (Result<Answer, Fault>, BodyDigests) {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(service.timeout_ms);
        let answer = async {
            let uri = forward::provider_uri(service, &context.rest, context.query.as_deref())?;
            let mut request = hyper::Request::new(body);
            *request.method_mut() = context.method.clone();
            *request.uri_mut() = uri;
            *request.headers_mut() = headers;
            let response = forward::send(&self.http, service, request, deadline).await?;
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

    /// Audits the call (waiting until the entry is durable) and builds the reply.
    async fn finish(
        &self,
        context: &CallContext,
        body: &BodyDigests,
        mut outcome: Result<Answer, Fault>,
    ) -> Result<Reply, Fault> {
        let (client, service) = (&context.client_name, &context.service_name);
        let service_label = service_label(context);
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
            message_id: context.message_id.clone(),
            at: time::OffsetDateTime::now_utc(),
            client: client.clone(),
            service: service.clone(),
            method: context.method.to_string(),
            path: if context.rest.is_empty() {
                "/".into()
            } else {
                context.rest.clone()
            },
            user_id: context.user_id.clone(),
            issue: context.issue.clone(),
            subject,
            status: status.as_u16(),
            latency: context.started.elapsed(),
            request_hash: body.sha256,
            response_hash,
        };
        let (status, headers, body_out) = match upstream {
            // The relay writes the entry before the body's last chunk leaves.
            Some(upstream) => {
                let answer = outcome?;
                let body = crate::relay::relay(
                    self.clone(),
                    upstream,
                    entry,
                    (client.clone(), service_label.to_owned()),
                    context.started,
                );
                (answer.status, answer.headers, body)
            }
            None => {
                let message_id = entry.message_id.clone();
                if let Err(error) = self.record(entry).await {
                    tracing::error!(%error, %client, %service, %message_id, "audit entry not recorded; the answer is withheld");
                    return Err(Fault::database(
                        "the exchange could not be recorded in the audit log; nothing is returned",
                    ));
                }
                self.metrics.observe(
                    client,
                    service_label,
                    status.as_u16(),
                    context.started.elapsed(),
                );
                let answer = outcome?;
                (answer.status, answer.headers, Body::from(answer.body))
            }
        };
        Ok(Reply {
            status,
            headers,
            body: body_out,
            message_id: context.message_id.clone(),
            request_id: context.request_id.clone(),
            request_hash: context.request_hash(body),
            client: client.clone(),
            service: service.clone(),
        })
    }
}

/// The client must be registered (it has already proved who it is to the adapter).
fn registered(snapshot: &Snapshot, client: &ClientId) -> Result<(), Fault> {
    if snapshot.has_client(client) {
        return Ok(());
    }
    Err(Fault::unknown_member(format!(
        "Client '{}:{client}' not found",
        client.object_type()
    )))
}

/// Every field the audit entry takes from the client is checked before anything is
/// forwarded (an entry that cannot be written afterwards would leave a call the provider
/// carried out outside the log), and nothing in the path may read as another path at the
/// provider.
fn admit(context: &CallContext) -> Result<(), Fault> {
    let fields = [
        ("X-Road-Id", "message_id", Some(context.message_id.as_str())),
        ("X-Road-UserId", "user_id", context.user_id.as_deref()),
        ("X-Road-Issue", "issue", context.issue.as_deref()),
        ("the path", "path", Some(context.rest.as_str())),
        ("the method", "method", Some(context.method.as_str())),
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
    // Rights are matched on the decoded path but the provider gets it raw: dot segments
    // (RFC 3986 §5.2.4) and `\` (a separator on some servers) could read as another path.
    let path = &context.decoded_path;
    if path
        .split('/')
        .any(|segment| segment == ".." || segment == ".")
        || path.contains('\\')
    {
        return Err(Fault::bad_request(
            "the path may not contain . or .. segments or a backslash",
        ));
    }
    Ok(())
}

/// The service as the metrics name it: only registered services (and the metadata services
/// of registered subsystems) get a series of their own, so made-up codes cannot grow
/// `/metrics` without bound. The client needs no such care: it is registered.
fn service_label(context: &CallContext) -> &str {
    let (snapshot, service_id) = (&context.snapshot, &context.service);
    let known = snapshot.services.contains_key(service_id)
        || (metadata::NAMES.contains(&service_id.code.as_str())
            && snapshot.has_subsystem(&service_id.subsystem));
    if known {
        &context.service_name
    } else {
        UNKNOWN_SERVICE
    }
}

/// The metrics' label for calls to services that are not registered.
const UNKNOWN_SERVICE: &str = "unknown";

async fn local_answer(
    context: &CallContext,
    right: &Right,
    registered: &Registered,
    body: &[u8],
) -> Result<Answer, Fault> {
    let answer = registered
        .provider
        .answer(LocalCall {
            service_code: &context.service.code,
            method: &context.method,
            path: &context.decoded_path,
            body,
            fields: right.fields.as_deref(),
        })
        .await?;
    Ok(Answer {
        status: answer.status,
        subject: answer.subject.map(|id| id.to_string()),
        ..json_answer(answer.body, "application/json;charset=utf-8")
    })
}

fn metadata_answer(context: &CallContext) -> Result<Answer, Fault> {
    let (snapshot, target) = (&context.snapshot, &context.service);
    let provider = &target.subsystem;
    if !snapshot.has_subsystem(provider) {
        return Err(Fault::unknown_member(format!(
            "Could not find subsystem SUBSYSTEM:{provider}"
        )));
    }
    if context.method != Method::GET {
        return Err(Fault::invalid_provider_request(
            "metadata services answer GET only",
        ));
    }
    let document = match target.code.as_str() {
        "listMethods" => metadata::list_methods(snapshot, provider).to_string(),
        "allowedMethods" => {
            metadata::allowed_methods(snapshot, provider, &context.client).to_string()
        }
        _ => metadata::get_openapi(snapshot, provider, context.query.as_deref())?,
    };
    Ok(json_answer(document.into_bytes(), "application/json"))
}
