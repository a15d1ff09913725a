//! Prometheus metrics per client and service: calls by status, time to answer (audit write
//! included), and refusals by X-Road error type.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    client: String,
    service: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PairLabels {
    client: String,
    service: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone)]
pub struct ExchangeMetrics {
    calls: Family<CallLabels, Counter>,
    latency: Family<PairLabels, Histogram>,
    refusals: Family<KindLabels, Counter>,
    audit_wait: Histogram,
}

fn histogram() -> Histogram {
    // 0.1 ms to about 3 s: the gateway's own share is a fraction of a millisecond.
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

impl ExchangeMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            calls: Family::default(),
            latency: Family::new_with_constructor(histogram as fn() -> Histogram),
            refusals: Family::default(),
            audit_wait: histogram(),
        };
        registry.register(
            "exchange_calls",
            "Exchanges through the gateway, by client subsystem, service and status",
            metrics.calls.clone(),
        );
        registry.register(
            "exchange_call_duration_seconds",
            "Time from request to answer through the gateway, audit write included",
            metrics.latency.clone(),
        );
        registry.register(
            "exchange_refusals",
            "Requests the gateway refused or failed, by X-Road error type",
            metrics.refusals.clone(),
        );
        registry.register(
            "exchange_audit_wait_seconds",
            "Time an answer waited for its audit entry to become durable",
            metrics.audit_wait.clone(),
        );
        metrics
    }

    pub(crate) fn audit_waited(&self, took: Duration) {
        self.audit_wait.observe(took.as_secs_f64());
    }

    pub(crate) fn observe(&self, client: &str, service: &str, status: u16, took: Duration) {
        let (client, service) = (client.to_owned(), service.to_owned());
        self.calls
            .get_or_create(&CallLabels {
                client: client.clone(),
                service: service.clone(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&PairLabels { client, service })
            .observe(took.as_secs_f64());
    }

    pub(crate) fn refused(&self, kind: &str) {
        self.refusals
            .get_or_create(&KindLabels { kind: kind.into() })
            .inc();
    }
}
