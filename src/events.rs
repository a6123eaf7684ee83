//! The change bus: committed offer changes, fanned out to this process's
//! subscribers through one bounded broadcast channel.
//!
//! There is exactly one event source per process:
//! - SQLite: the process that committed a delivery publishes it after commit.
//! - PostgreSQL: every delivery transaction runs `pg_notify` with a small
//!   reference (offer id and revision), delivered by PostgreSQL only on commit.
//!   One `LISTEN` connection per process receives every replica's
//!   notifications and loads the committed revision, so events reach the
//!   subscribers of every replica and payloads never meet NOTIFY's size limit.
//!
//! A subscriber that falls behind the channel's capacity is told (a lag
//! marker), as are all subscribers when the listener had to reconnect and
//! may have missed notifications; neither ever slows ingestion.
use std::{sync::Arc, time::Duration};

use sea_orm::{DatabaseBackend, sqlx::postgres::PgListener};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::{ingest::AppliedChange, metrics::Metrics, store::Store};

/// How many events a subscriber may fall behind before it is told it lagged
/// (the default of `OFFER_CATALOG_EVENT_BUFFER`).
pub const CHANNEL_CAPACITY: usize = 4096;

/// The PostgreSQL notification channel of offer changes.
pub const NOTIFY_CHANNEL: &str = "offer_catalog_changes";

/// What a notification carries: a reference to a committed revision.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChangeRef {
    #[serde(rename = "o")]
    pub network_offer_id: i64,
    #[serde(rename = "r")]
    pub revision: i32,
}

/// One item on the bus.
#[derive(Debug, Clone)]
pub enum BusEvent {
    Change(Arc<AppliedChange>),
    /// Events may have been missed (the listener reconnected): re-query.
    Gap,
}

#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<BusEvent>,
    metrics: Metrics,
    /// True when a `LISTEN` task feeds the bus (PostgreSQL): local publishing is then off.
    listening: bool,
}

impl EventBus {
    /// The bus of a process on `store`; on PostgreSQL this starts the listener task.
    pub async fn start(
        store: &Store,
        metrics: Metrics,
        capacity: usize,
    ) -> Result<Self, sea_orm::sqlx::Error> {
        let (sender, _) = broadcast::channel(capacity.max(1));
        let listening = store.backend() == DatabaseBackend::Postgres;
        let bus = Self {
            sender,
            metrics,
            listening,
        };
        if listening {
            let pool = store.connection().get_postgres_connection_pool().clone();
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(NOTIFY_CHANNEL).await?;
            tokio::spawn(listen(listener, store.clone(), bus.clone()));
        }
        Ok(bus)
    }

    /// Publishes a change committed by this process (SQLite); on PostgreSQL the
    /// change arrives through the listener instead, so this does nothing.
    pub fn publish_local(&self, change: Arc<AppliedChange>) {
        if !self.listening {
            self.send(BusEvent::Change(change));
        }
    }

    fn send(&self, event: BusEvent) {
        if matches!(event, BusEvent::Change(_)) {
            self.metrics.events_published.inc();
        }
        // No subscriber is not an error.
        let _ = self.sender.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<BusEvent> {
        self.sender.subscribe()
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

/// The listener loop: one connection, reconnecting forever.
async fn listen(mut listener: PgListener, store: Store, bus: EventBus) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => {
                let Ok(reference) = serde_json::from_str::<ChangeRef>(notification.payload())
                else {
                    tracing::warn!(
                        payload = notification.payload(),
                        "ignoring a malformed change notification"
                    );
                    continue;
                };
                match store
                    .applied_change(reference.network_offer_id, reference.revision)
                    .await
                {
                    Ok(Some(change)) => bus.send(BusEvent::Change(Arc::new(change))),
                    Ok(None) => tracing::warn!(?reference, "notified revision not found"),
                    Err(error) => {
                        tracing::error!(%error, ?reference, "could not load a notified revision");
                        bus.send(BusEvent::Gap);
                    }
                }
            }
            Ok(None) => {
                // The connection dropped; the next call reconnects and listens again.
                tracing::warn!("change listener lost its connection; reconnecting");
                bus.send(BusEvent::Gap);
            }
            Err(error) => {
                tracing::error!(%error, "change listener failed; retrying in 1 s");
                bus.send(BusEvent::Gap);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
