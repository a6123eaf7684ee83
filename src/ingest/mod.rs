//! Webhook ingestion (SPEC §3): parse a delivery in any of its variants,
//! decide its outcome against the stored offer, and write it in one
//! transaction. Knows nothing of GraphQL.
pub mod payload;
pub mod state;
pub mod webhook;

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

use crate::{
    metrics::Metrics,
    store::{
        Store, StoreError,
        deliveries::NewDelivery,
        offers::{OfferUpdate, RevisionRow},
    },
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
///
/// Parsing happens in the caller's task; writing in one writer task per
/// process, which takes every delivery waiting (up to [`MAX_BATCH`]) and
/// applies them in one transaction (group commit). Each caller gets its own
/// receipt after that commit. A batch that fails is retried delivery by
/// delivery, so one bad delivery never fails its neighbours.
#[derive(Clone)]
pub struct Ingestor {
    store: Store,
    metrics: Metrics,
    jobs: mpsc::Sender<Job>,
}

/// Most deliveries applied in one transaction.
pub const MAX_BATCH: usize = 128;
/// Deliveries waiting for the writer before callers wait to enqueue (back-pressure).
const QUEUE: usize = 1024;

/// How often a batch is retried when PostgreSQL reports a deadlock or a
/// serialization failure between concurrent transactions.
const MAX_ATTEMPTS: usize = 3;

/// A parsed delivery waiting for the writer.
struct Job {
    delivery: OfferDelivery,
    incoming: Incoming,
    received_at: DateTime<Utc>,
    sha: String,
    reply: oneshot::Sender<Result<Receipt, StoreError>>,
}

impl Ingestor {
    /// An ingestor writing to `store`; starts its writer task (needs a Tokio runtime).
    pub fn new(store: Store, metrics: Metrics) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run_writer(store.clone(), queue));
        Self {
            store,
            metrics,
            jobs,
        }
    }

    /// Parses, applies and records one delivery. Every delivery, rejected ones
    /// included, is in `webhook_delivery` once this returns (unless the database
    /// itself failed).
    #[tracing::instrument(skip_all, fields(source = incoming.source.as_str(), offer))]
    pub async fn ingest(&self, incoming: &Incoming) -> Result<Receipt, IngestError> {
        let received_at = Utc::now();
        let sha = hex::encode(Sha256::digest(&incoming.body));
        let delivery = match parse_delivery(&incoming.body) {
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
        let (reply, answer) = oneshot::channel();
        let job = Job {
            delivery,
            incoming: incoming.clone(),
            received_at,
            sha,
            reply,
        };
        let closed = || {
            StoreError::Db(sea_orm::DbErr::Custom(
                "the delivery writer has stopped".into(),
            ))
        };
        self.jobs.send(job).await.map_err(|_| closed())?;
        let receipt = answer.await.map_err(|_| closed())??;
        self.metrics.count_delivery(receipt.outcome.as_str());
        Ok(receipt)
    }
}

/// The writer task: batches whatever is waiting and applies it.
async fn run_writer(store: Store, mut queue: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match apply_guarded(&store, &batch).await {
            Ok(receipts) => {
                for (job, receipt) in batch.drain(..).zip(receipts) {
                    let _ = job.reply.send(Ok(receipt));
                }
            }
            Err(error) if batch.len() > 1 => {
                tracing::warn!(%error, size = batch.len(), "batch failed; applying its deliveries one by one");
                for job in batch.drain(..) {
                    let result = apply_guarded(&store, std::slice::from_ref(&job))
                        .await
                        .map(|mut receipts| receipts.remove(0));
                    let _ = job.reply.send(result);
                }
            }
            Err(error) => {
                for job in batch.drain(..) {
                    let _ = job.reply.send(Err(StoreError::Db(sea_orm::DbErr::Custom(
                        error.to_string(),
                    ))));
                }
            }
        }
    }
}

/// [`apply_with_retries`], with a panic turned into an error for these
/// deliveries instead of the end of the writer task.
async fn apply_guarded(store: &Store, jobs: &[Job]) -> Result<Vec<Receipt>, StoreError> {
    use futures::FutureExt;
    std::panic::AssertUnwindSafe(apply_with_retries(store, jobs))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| {
            tracing::error!(size = jobs.len(), "applying a batch panicked");
            Err(StoreError::Db(sea_orm::DbErr::Custom(
                "internal error while applying the delivery".into(),
            )))
        })
}

async fn apply_with_retries(store: &Store, jobs: &[Job]) -> Result<Vec<Receipt>, StoreError> {
    let mut attempt = 1;
    loop {
        match apply_batch(store, jobs).await {
            Err(StoreError::Db(e)) if attempt < MAX_ATTEMPTS && is_transient(&e) => {
                tracing::debug!(error = %e, attempt, "retrying a batch after a transient conflict");
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// The current state of an offer while a batch is planned.
struct Current {
    state: OfferState,
    revision: i32,
}

/// Applies a batch in one transaction; receipts come in the jobs' order.
async fn apply_batch(store: &Store, jobs: &[Job]) -> Result<Vec<Receipt>, StoreError> {
    let ids: Vec<i64> = jobs.iter().map(|j| j.delivery.network_offer_id).collect();
    let mut write = store.begin_batch(&ids).await?;
    let stored = write.load(&ids).await?;
    let mut current: HashMap<i64, Current> = stored
        .iter()
        .map(|(id, s)| {
            (
                *id,
                Current {
                    state: s.state.clone(),
                    revision: s.revision,
                },
            )
        })
        .collect();
    let mut updates: HashMap<i64, OfferUpdate> = HashMap::new();
    let mut revisions = Vec::new();
    let mut records = Vec::with_capacity(jobs.len());
    let mut receipts = Vec::with_capacity(jobs.len());
    let at = Utc::now();

    for job in jobs {
        let delivery = &job.delivery;
        let id = delivery.network_offer_id;
        let record = |outcome: Outcome, revision: i32| NewDelivery {
            received_at: job.received_at,
            source: job.incoming.source.as_str(),
            event: job.incoming.event.as_deref(),
            body_sha256: &job.sha,
            body: &job.incoming.body,
            outcome: outcome.as_str(),
            status_code: 200,
            error: None,
            error_path: None,
            network_offer_id: Some(id),
            revision: Some(revision),
        };
        let unchanged = |outcome: Outcome, revision: i32| Receipt {
            outcome,
            network_offer_id: id,
            revision,
            change: None,
            applied: None,
        };
        let before = current.get(&id);
        if let Some(before) = before
            && is_stale(delivery, &before.state)
        {
            records.push(record(Outcome::Stale, before.revision));
            receipts.push(unchanged(Outcome::Stale, before.revision));
            continue;
        }
        let mut state = before.map_or_else(|| OfferState::new(id), |b| b.state.clone());
        let changed_fields = state.apply(delivery);
        if let Some(before) = before
            && changed_fields.is_empty()
        {
            records.push(record(Outcome::Duplicate, before.revision));
            receipts.push(unchanged(Outcome::Duplicate, before.revision));
            continue;
        }
        if changed_fields.contains(&state::fields::CATEGORY) {
            write.resolve_category_stub(&mut state).await?;
        }
        let revision = before.map_or(1, |b| b.revision + 1);
        let kind = if before.is_some() {
            ChangeKind::Updated
        } else {
            ChangeKind::Created
        };
        let previous = before.map(|b| b.state.clone());
        let snapshot = serde_json::to_value(&state).map_err(|e| StoreError::CorruptState(id, e))?;
        revisions.push(RevisionRow {
            network_offer_id: id,
            revision,
            at,
            created: kind == ChangeKind::Created,
            changed_fields: changed_fields.clone(),
            snapshot,
        });
        records.push(record(Outcome::Applied, revision));
        // The offer's entry for the batch; its state is set just below.
        let update = updates.entry(id).or_insert_with(|| OfferUpdate {
            state: OfferState::default(),
            is_new: !stored.contains_key(&id),
            touched: Default::default(),
            revision,
            raw_payload: Vec::new(),
            at,
        });
        update.state = state.clone();
        update.touched.extend(changed_fields.iter().copied());
        update.revision = revision;
        update.raw_payload = job.incoming.body.clone();
        receipts.push(Receipt {
            outcome: Outcome::Applied,
            network_offer_id: id,
            revision,
            change: Some(kind),
            applied: Some(Arc::new(AppliedChange {
                kind,
                state: state.clone(),
                previous,
                changed_fields: changed_fields.iter().map(|f| (*f).to_owned()).collect(),
                revision,
                at,
            })),
        });
        current.insert(id, Current { state, revision });
    }

    let updates: Vec<OfferUpdate> = updates.into_values().collect();
    write.save(&updates, &revisions, &records).await?;
    write.commit().await?;
    Ok(receipts)
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
