//! Prometheus metrics: what operators ask about (deliveries by outcome,
//! rejections by reason, open sockets, lagging subscribers).
use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};

use crate::store::Store;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabel {
    pub result: &'static str,
}

/// The process's counters and gauges; cheap to clone (all `Arc` inside).
#[derive(Clone)]
pub struct Metrics {
    registry: std::sync::Arc<Registry>,
    /// Deliveries by outcome: applied, duplicate, stale, rejected, unauthorized, too_large.
    pub deliveries: Family<OutcomeLabel, Counter>,
    pub ws_connections: Gauge,
    pub subscriptions: Gauge,
    pub events_published: Counter,
    pub events_lagged: Counter,
    /// GraphQL requests by response cache result: hit, miss, bypass.
    pub response_cache: Family<CacheLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        Self::build(None)
    }

    /// Metrics of a serving process, including the store's SQL statement count.
    pub fn for_store(store: &Store) -> Self {
        Self::build(Some(store.statement_counter()))
    }

    fn build(sql_statements: Option<Counter>) -> Self {
        let mut registry = Registry::with_prefix("offer_catalog");
        if let Some(counter) = sql_statements {
            registry.register("sql_statements", "SQL statements run", counter);
        }
        let deliveries = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "webhook_deliveries",
            "Webhook deliveries by outcome",
            deliveries.clone(),
        );
        let ws_connections = Gauge::default();
        registry.register(
            "websocket_connections",
            "Open WebSocket connections",
            ws_connections.clone(),
        );
        let subscriptions = Gauge::default();
        registry.register(
            "subscriptions",
            "Active GraphQL subscriptions",
            subscriptions.clone(),
        );
        let events_published = Counter::default();
        registry.register(
            "events_published",
            "Offer change events published",
            events_published.clone(),
        );
        let events_lagged = Counter::default();
        registry.register(
            "events_lagged",
            "Offer change events a slow subscriber missed",
            events_lagged.clone(),
        );
        let response_cache = Family::<CacheLabel, Counter>::default();
        registry.register(
            "graphql_response_cache",
            "GraphQL requests over HTTP by response cache result (hit, miss, bypass)",
            response_cache.clone(),
        );
        Self {
            registry: std::sync::Arc::new(registry),
            deliveries,
            ws_connections,
            subscriptions,
            events_published,
            events_lagged,
            response_cache,
        }
    }

    pub fn count_delivery(&self, outcome: &str) {
        self.deliveries
            .get_or_create(&OutcomeLabel {
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    pub fn count_cache(&self, result: &'static str) {
        self.response_cache
            .get_or_create(&CacheLabel { result })
            .inc();
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
