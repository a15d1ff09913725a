//! Providers in the same binary (base URL `lienthong:<name>`): a context that owns data, such
//! as the population registry, answers calls in process. The core authenticates, authorises,
//! limits and audits such a call exactly like a forwarded one; only the answering differs.
//! The exchange knows none of them: `server` registers each at start-up.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use axum::http::{Method, StatusCode};
use kernel::PersonalId;

use crate::Exchange;
use crate::catalog::{ExchangeError, NewEndpoint, NewService};
use crate::fault::Fault;
use crate::ids::{ServiceId, SubsystemId};

/// The scheme of an in-process provider's base URL.
pub const LOCAL_SCHEME: &str = "lienthong:";

/// An authorised call to an in-process provider.
pub struct LocalCall<'a> {
    /// The service's code within the provider's subsystem (`citizens`).
    pub service_code: &'a str,
    pub method: &'a Method,
    /// The path after the service code, percent-decoded, `/` when empty.
    pub path: &'a str,
    pub body: &'a [u8],
    /// The fields the caller's right releases; `None` releases all.
    pub fields: Option<&'a [String]>,
}

/// An in-process provider's answer, and the citizen it concerns (for the data tracker).
pub struct LocalAnswer {
    pub status: StatusCode,
    pub body: Vec<u8>,
    pub subject: Option<PersonalId>,
}

pub type LocalFuture<'a> = Pin<Box<dyn Future<Output = Result<LocalAnswer, Fault>> + Send + 'a>>;

/// A context that answers exchange calls in process.
pub trait LocalProvider: Send + Sync + 'static {
    fn answer<'a>(&'a self, call: LocalCall<'a>) -> LocalFuture<'a>;
}

/// One service an in-process provider offers, as the catalogue lists it.
pub struct LocalService {
    pub code: &'static str,
    pub endpoints: &'static [(&'static str, &'static str)],
    pub timeout_ms: u64,
}

/// What a provider registers: who owns it and what it offers.
pub struct LocalRegistration {
    /// The name in the base URL (`registry` for `lienthong:registry`).
    pub name: &'static str,
    pub member: (String, &'static str),
    pub subsystem: (String, &'static str),
    pub services: &'static [LocalService],
    /// The fields a right may release one by one (`NewRight::fields`).
    pub fields: &'static [&'static str],
}

pub(crate) struct Registered {
    pub owner: SubsystemId,
    pub provider: Arc<dyn LocalProvider>,
    fields: &'static [&'static str],
}

/// The in-process providers by name.
#[derive(Default)]
pub(crate) struct LocalProviders(RwLock<HashMap<String, Arc<Registered>>>);

impl LocalProviders {
    /// The provider a `lienthong:<name>` base URL names.
    pub(crate) fn get(&self, base_url: &str) -> Option<Arc<Registered>> {
        let name = base_url.strip_prefix(LOCAL_SCHEME)?;
        self.0.read().ok()?.get(name).cloned()
    }

    /// Whether some provider in this node releases `field` (a right may name it).
    pub(crate) fn releases_field(&self, field: &str) -> bool {
        self.0.read().is_ok_and(|providers| {
            providers
                .values()
                .any(|registered| registered.fields.contains(&field))
        })
    }

    /// The subsystem that owns `lienthong:<name>`, for the catalogue's owner rule.
    pub(crate) fn owner(&self, base_url: &str) -> Option<SubsystemId> {
        self.get(base_url)
            .map(|registered| registered.owner.clone())
    }
}

impl Exchange {
    /// Registers an in-process provider, and its member, subsystem and services in the
    /// catalogue where they are missing (idempotent: an operator's later changes to a service,
    /// such as disabling it, are kept).
    pub async fn provide(
        &self,
        registration: LocalRegistration,
        provider: Arc<dyn LocalProvider>,
    ) -> Result<(), ExchangeError> {
        let owner = SubsystemId::parse(&registration.subsystem.0)
            .map_err(|e| ExchangeError::id("subsystem", e))?;
        if let Ok(mut providers) = self.catalog.local.0.write() {
            providers.insert(
                registration.name.to_owned(),
                Arc::new(Registered {
                    owner: owner.clone(),
                    provider,
                    fields: registration.fields,
                }),
            );
        }
        let snapshot = self.catalog.snapshot().await;
        if snapshot.member_name(&owner.member).is_none() {
            self.catalog
                .add_member(&registration.member.0, registration.member.1)
                .await?;
        }
        if !snapshot.has_subsystem(&owner) {
            self.catalog
                .add_subsystem(&registration.subsystem.0, registration.subsystem.1)
                .await?;
        }
        for service in registration.services {
            let id = format!("{owner}/{}", service.code);
            let known = ServiceId::parse(&id)
                .map(|id| snapshot.services.contains_key(&id))
                .unwrap_or(false);
            if !known {
                self.catalog
                    .add_service(NewService {
                        id,
                        base_url: format!("{LOCAL_SCHEME}{}", registration.name),
                        openapi: None,
                        timeout_ms: Some(service.timeout_ms),
                        endpoints: service
                            .endpoints
                            .iter()
                            .map(|(method, path)| NewEndpoint {
                                method: (*method).into(),
                                path: (*path).into(),
                            })
                            .collect(),
                    })
                    .await?;
            }
        }
        Ok(())
    }
}
