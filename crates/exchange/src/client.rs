//! The in-process client: how a context in this binary calls a service through the exchange.
//! The call takes the core's whole road (rights, limits, durable audit entry, the citizen's
//! data tracker); only HTTP is skipped. The client is the subsystem the context registered
//! as, authenticated by construction: only code in this binary can hold one.

use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use http_body_util::BodyExt;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Exchange;
use crate::core::Call;
use crate::fault::Fault;
use crate::ids::{ClientId, ServiceId, SubsystemId};

/// A subsystem's client of the exchange, for code in this binary. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Client {
    exchange: Exchange,
    id: ClientId,
}

/// On whose behalf and why a call is made; both are recorded and the purpose is shown to
/// the citizen concerned.
#[derive(Debug, Clone, Copy)]
pub struct Purpose<'a> {
    /// The person or system the client acts for (`X-Road-UserId`), e.g. a relying party.
    pub on_behalf_of: Option<&'a str>,
    /// Why (`X-Road-Issue`), in the citizen's language.
    pub issue: &'a str,
}

/// Why a call gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The exchange or the provider refused or failed the call.
    #[error("{service}: {} ({})", .fault.message, .fault.kind)]
    Refused { service: String, fault: Fault },
    /// The answer was not what the service promises.
    #[error("{service} answered {status} with a body that could not be read: {reason}")]
    Unreadable {
        service: String,
        status: StatusCode,
        reason: String,
    },
}

/// A service's answer, read whole.
#[derive(Debug)]
pub struct Answered {
    pub status: StatusCode,
    pub body: Bytes,
    service: String,
}

impl Answered {
    /// The body as `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ClientError> {
        serde_json::from_slice(&self.body).map_err(|error| ClientError::Unreadable {
            service: self.service.clone(),
            status: self.status,
            reason: error.to_string(),
        })
    }
}

impl Exchange {
    /// A client acting as `subsystem`, which must be registered (the core refuses an unknown
    /// client like any other).
    pub fn client(&self, subsystem: SubsystemId) -> Client {
        Client {
            exchange: self.clone(),
            id: ClientId::Subsystem(subsystem),
        }
    }
}

impl Client {
    /// `GET {service}{path}`.
    pub async fn get(
        &self,
        service: &ServiceId,
        path: &str,
        purpose: Purpose<'_>,
    ) -> Result<Answered, ClientError> {
        self.send(service, Method::GET, path, None, purpose).await
    }

    /// `POST {service}{path}` with a JSON body.
    pub async fn post_json(
        &self,
        service: &ServiceId,
        path: &str,
        body: &impl Serialize,
        purpose: Purpose<'_>,
    ) -> Result<Answered, ClientError> {
        let body = serde_json::to_vec(body).map_err(|error| ClientError::Refused {
            service: service.to_string(),
            fault: Fault::bad_request(error),
        })?;
        self.send(service, Method::POST, path, Some(body), purpose)
            .await
    }

    async fn send(
        &self,
        service: &ServiceId,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        purpose: Purpose<'_>,
    ) -> Result<Answered, ClientError> {
        let refused = |fault: Fault| ClientError::Refused {
            service: service.to_string(),
            fault,
        };
        let (rest, query) = match path.split_once('?') {
            Some((rest, query)) => (rest, Some(query.to_owned())),
            None => (path, None),
        };
        let mut headers = HeaderMap::new();
        // A remote provider reads who and why from the headers, as from any X-Road client.
        let on_behalf_of = purpose.on_behalf_of.map(str::to_owned);
        for (name, value) in [
            ("x-road-userid", on_behalf_of.as_deref()),
            ("x-road-issue", Some(purpose.issue)),
        ] {
            if let Some(value) = value {
                let value = HeaderValue::from_bytes(value.as_bytes())
                    .map_err(|error| refused(Fault::bad_request(error)))?;
                headers.insert(name, value);
            }
        }
        if body.is_some() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let reply = self
            .exchange
            .call(Call {
                client: self.id.clone(),
                service: service.clone(),
                method,
                rest: rest.to_owned(),
                query,
                headers,
                body: body.map_or_else(Body::empty, Body::from),
                message_id: None,
                user_id: on_behalf_of,
                issue: Some(purpose.issue.to_owned()),
                received: Instant::now(),
            })
            .await
            .map_err(refused)?;
        let limited = http_body_util::Limited::new(
            reply.body,
            usize::try_from(self.exchange.max_response).unwrap_or(usize::MAX),
        );
        let body = limited
            .collect()
            .await
            .map_err(|error| ClientError::Unreadable {
                service: reply.service.clone(),
                status: reply.status,
                reason: error.to_string(),
            })?
            .to_bytes();
        Ok(Answered {
            status: reply.status,
            body,
            service: reply.service,
        })
    }
}
