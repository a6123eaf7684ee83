//! The change bus: committed offer changes, fanned out to subscribers through
//! one bounded broadcast channel per process.
use std::sync::Arc;

use tokio::sync::broadcast;

use crate::{ingest::AppliedChange, metrics::Metrics};

/// How many events a subscriber may fall behind before it is told it lagged.
pub const CHANNEL_CAPACITY: usize = 4096;

#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<AppliedChange>>,
    metrics: Metrics,
}

impl EventBus {
    pub fn new(metrics: Metrics) -> Self {
        let (sender, _) = broadcast::channel(CHANNEL_CAPACITY);
        Self { sender, metrics }
    }

    /// Publishes a committed change to every current subscriber of this process.
    pub fn publish(&self, change: Arc<AppliedChange>) {
        self.metrics.events_published.inc();
        // No subscriber is not an error.
        let _ = self.sender.send(change);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<AppliedChange>> {
        self.sender.subscribe()
    }
}
