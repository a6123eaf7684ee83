//! Builds the axum router and the state it shares; nothing else.
use axum::{
    Router,
    extract::{DefaultBodyLimit, State},
    http::{StatusCode, header},
    response::IntoResponse,
    routing::{get, post},
};
use std::time::Duration;

use axum::http::Method;
use tower_http::{
    cors::{Any, CorsLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

/// Longest time a request may take before it is answered `503` (WebSocket
/// connections are not affected once upgraded).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

use crate::{
    config::Settings,
    events::EventBus,
    graphql::{self, cache::ResponseCache},
    ingest::{Ingestor, Receipt, webhook},
    metrics::Metrics,
    store::Store,
};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub settings: Settings,
    pub store: Store,
    pub ingestor: Ingestor,
    pub metrics: Metrics,
    pub events: EventBus,
    pub schema: graphql::CatalogSchema,
    /// Responses of repeated queries; `None` when configured off.
    pub response_cache: Option<ResponseCache>,
}

impl AppState {
    /// The state of a serving process; starts its change listener on PostgreSQL.
    pub async fn start(mut settings: Settings, store: Store) -> Result<Self, sea_orm::sqlx::Error> {
        // An empty secret or token is the same as none.
        settings.webhook_secret = settings.webhook_secret.filter(|s| !s.is_empty());
        settings.api_token = settings.api_token.filter(|s| !s.is_empty());
        let metrics = Metrics::for_store(&store);
        let events = EventBus::start(&store, metrics.clone(), settings.event_buffer).await?;
        let ingestor = Ingestor::new(store.clone(), metrics.clone());
        let schema = graphql::build_schema(store.clone(), events.clone());
        let response_cache = (settings.response_cache_mb > 0)
            .then(|| ResponseCache::new(settings.response_cache_mb.saturating_mul(1 << 20)));
        Ok(Self {
            settings,
            store,
            ingestor,
            metrics,
            events,
            schema,
            response_cache,
        })
    }

    /// Hands an applied delivery's change to subscribers (after its commit).
    pub fn publish(&self, receipt: &Receipt) {
        if let Some(change) = &receipt.applied {
            self.events.publish_local(change.clone());
        }
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/webhooks/everflow", post(webhook::receive_delivery))
        .route("/webhooks/offers", post(webhook::receive_delivery))
        .route(
            "/graphql",
            get(graphql::http::graphql_http).post(graphql::http::graphql_http),
        )
        .route("/graphql/ws", get(graphql::ws::graphql_ws))
        .route("/", get(graphql::http::graphiql))
        .route("/graphiql", get(graphql::http::graphiql))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(webhook::MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        // Dashboards on other origins call the API from browsers; the API token
        // travels in a header, never a cookie, so any origin may ask.
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([
                    header::CONTENT_TYPE,
                    header::AUTHORIZATION,
                    header::ACCEPT,
                    header::CACHE_CONTROL,
                ])
                .expose_headers([graphql::http::X_CACHE])
                .max_age(Duration::from_secs(3600)),
        )
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(app): State<AppState>) -> impl IntoResponse {
    if app.store.ping().await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
    }
}

async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.render(),
    )
}
