//! Webhook ingestion (SPEC §3): parse a delivery in any of its variants,
//! decide its outcome against the stored offer, and write it in one
//! transaction. Knows nothing of GraphQL.
pub mod payload;
pub mod state;
pub mod webhook;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::{
    metrics::Metrics,
    store::{Store, StoreError, deliveries::NewDelivery, offers::OfferChange},
};
use payload::{InvalidField, OfferDelivery, parse_offer};
use state::OfferState;

/// Where a delivery came from, recorded with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Http,
    Ingest,
    Replay,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Http => "http",
            Source::Ingest => "ingest",
            Source::Replay => "replay",
        }
    }
}

/// A delivery body as received, before anything is known about it.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub body: Vec<u8>,
    pub event: Option<String>,
    pub source: Source,
}

/// What a delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Applied,
    Duplicate,
    Stale,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Duplicate => "duplicate",
            Outcome::Stale => "stale",
        }
    }
}

/// Whether an applied delivery created the offer or updated it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Created,
    Updated,
}

/// The answer to an accepted delivery (the `200` body).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Receipt {
    pub outcome: Outcome,
    pub network_offer_id: i64,
    /// The offer's stored revision after the delivery.
    pub revision: i32,
    pub change: Option<ChangeKind>,
    #[serde(skip)]
    pub delivery_id: i64,
    /// For applied deliveries: the new state and what changed, for subscribers.
    #[serde(skip)]
    pub applied: Option<Arc<AppliedChange>>,
}

/// A committed change of one offer.
#[derive(Debug, Clone)]
pub struct AppliedChange {
    pub kind: ChangeKind,
    pub state: OfferState,
    /// The state before, for telling subscribers an offer stopped matching.
    pub previous: Option<OfferState>,
    pub changed_fields: Vec<String>,
    pub revision: i32,
    pub at: DateTime<Utc>,
}

/// Why a delivery was not applied.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Not JSON, or not a JSON object: `400`.
    #[error("{0}")]
    Malformed(String),
    /// A member that cannot mean what it should: `422`.
    #[error("{0}")]
    Invalid(#[from] InvalidField),
    /// The database failed: `503`, the sender should retry.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IngestError {
    pub fn status_code(&self) -> u16 {
        match self {
            IngestError::Malformed(_) => 400,
            IngestError::Invalid(_) => 422,
            IngestError::Store(_) => 503,
        }
    }
}

/// Applies deliveries to the catalog.
#[derive(Clone)]
pub struct Ingestor {
    store: Store,
    metrics: Metrics,
}

/// How often a delivery is retried when PostgreSQL reports a deadlock or a
/// serialization failure between concurrent deliveries.
const MAX_ATTEMPTS: usize = 3;

impl Ingestor {
    pub fn new(store: Store, metrics: Metrics) -> Self {
        Self { store, metrics }
    }

    /// Parses, applies and records one delivery. Every delivery, rejected ones
    /// included, is in `webhook_delivery` once this returns (unless the database
    /// itself failed).
    #[tracing::instrument(skip_all, fields(source = incoming.source.as_str(), offer))]
    pub async fn ingest(&self, incoming: &Incoming) -> Result<Receipt, IngestError> {
        let received_at = Utc::now();
        let sha = hex::encode(Sha256::digest(&incoming.body));
        let parsed = parse_delivery(&incoming.body);
        let delivery = match parsed {
            Ok(delivery) => delivery,
            Err((error, offer_id)) => {
                let (message, path) = match &error {
                    IngestError::Invalid(invalid) => {
                        (invalid.message.clone(), Some(invalid.path.as_str()))
                    }
                    other => (other.to_string(), None),
                };
                tracing::warn!(%message, path, "delivery rejected");
                self.store
                    .record_delivery(NewDelivery {
                        received_at,
                        source: incoming.source.as_str(),
                        event: incoming.event.as_deref(),
                        body_sha256: &sha,
                        body: &incoming.body,
                        outcome: "rejected",
                        status_code: error.status_code(),
                        error: Some(&message),
                        error_path: path,
                        network_offer_id: offer_id,
                        revision: None,
                    })
                    .await?;
                self.metrics.count_delivery("rejected");
                return Err(error);
            }
        };
        tracing::Span::current().record("offer", delivery.network_offer_id);
        let mut attempt = 1;
        loop {
            match self.apply(&delivery, incoming, received_at, &sha).await {
                Err(StoreError::Db(e)) if attempt < MAX_ATTEMPTS && is_transient(&e) => {
                    tracing::debug!(error = %e, attempt, "retrying delivery after a transient conflict");
                    attempt += 1;
                }
                Err(e) => return Err(e.into()),
                Ok(receipt) => {
                    self.metrics.count_delivery(receipt.outcome.as_str());
                    return Ok(receipt);
                }
            }
        }
    }

    async fn apply(
        &self,
        delivery: &OfferDelivery,
        incoming: &Incoming,
        received_at: DateTime<Utc>,
        sha: &str,
    ) -> Result<Receipt, StoreError> {
        let id = delivery.network_offer_id;
        let write = self.store.begin_offer_write(id).await?;
        let stored = write.load().await?;

        let record = |outcome: Outcome, revision: i32| NewDelivery {
            received_at,
            source: incoming.source.as_str(),
            event: incoming.event.as_deref(),
            body_sha256: sha,
            body: &incoming.body,
            outcome: outcome.as_str(),
            status_code: 200,
            error: None,
            error_path: None,
            network_offer_id: Some(id),
            revision: Some(revision),
        };
        let unchanged = |outcome: Outcome, revision: i32, delivery_id: i64| Receipt {
            outcome,
            network_offer_id: id,
            revision,
            change: None,
            delivery_id,
            applied: None,
        };

        if let Some(stored) = &stored {
            if is_stale(delivery, &stored.state) {
                let delivery_id = write
                    .record_delivery(record(Outcome::Stale, stored.revision))
                    .await?;
                write.commit().await?;
                return Ok(unchanged(Outcome::Stale, stored.revision, delivery_id));
            }
        }
        let mut state = stored
            .as_ref()
            .map(|s| s.state.clone())
            .unwrap_or_else(|| OfferState::new(id));
        let changed_fields = state.apply(delivery);
        if let Some(stored) = &stored
            && changed_fields.is_empty()
        {
            let delivery_id = write
                .record_delivery(record(Outcome::Duplicate, stored.revision))
                .await?;
            write.commit().await?;
            return Ok(unchanged(Outcome::Duplicate, stored.revision, delivery_id));
        }

        if changed_fields.contains(&state::fields::CATEGORY) {
            write.resolve_category_stub(&mut state).await?;
        }
        let revision = stored.as_ref().map_or(1, |s| s.revision + 1);
        let kind = if stored.is_some() {
            ChangeKind::Updated
        } else {
            ChangeKind::Created
        };
        let delivery_id = write
            .record_delivery(record(Outcome::Applied, revision))
            .await?;
        let at = Utc::now();
        write
            .save(
                &OfferChange {
                    state: &state,
                    previous: stored.as_ref(),
                    changed_fields: &changed_fields,
                    revision,
                    raw_payload: &incoming.body,
                    at,
                },
                delivery_id,
            )
            .await?;
        write.commit().await?;
        Ok(Receipt {
            outcome: Outcome::Applied,
            network_offer_id: id,
            revision,
            change: Some(kind),
            delivery_id,
            applied: Some(Arc::new(AppliedChange {
                kind,
                state,
                previous: stored.map(|s| s.state),
                changed_fields: changed_fields.iter().map(|f| (*f).to_owned()).collect(),
                revision,
                at,
            })),
        })
    }
}

/// A delivery is stale when its `time_saved` is strictly older than the stored one.
fn is_stale(delivery: &OfferDelivery, stored: &OfferState) -> bool {
    match (
        delivery.time_saved.clone().update().flatten(),
        stored.time_saved,
    ) {
        (Some(new), Some(old)) => new < old,
        _ => false,
    }
}

/// Body → delivery, or the rejection with the offer id when one could be read.
fn parse_delivery(body: &[u8]) -> Result<OfferDelivery, (IngestError, Option<i64>)> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        (
            IngestError::Malformed(format!("body is not valid JSON: {e}")),
            None,
        )
    })?;
    let serde_json::Value::Object(map) = &value else {
        let kind = match value {
            serde_json::Value::Array(_) => "an array",
            serde_json::Value::String(_) => "a string",
            serde_json::Value::Number(_) => "a number",
            serde_json::Value::Bool(_) => "a boolean",
            _ => "null",
        };
        return Err((
            IngestError::Malformed(format!(
                "body must be a JSON object (an Everflow offer), got {kind}"
            )),
            None,
        ));
    };
    parse_offer(map).map_err(|e| (IngestError::Invalid(e), payload::offer_id_hint(&value)))
}

/// Deadlocks and serialization failures between concurrent transactions; the
/// delivery is retried from the start.
fn is_transient(error: &sea_orm::DbErr) -> bool {
    let text = error.to_string();
    [
        "40P01",
        "40001",
        "deadlock detected",
        "could not serialize",
        "database is locked",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}
