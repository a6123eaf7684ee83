//! Scenario 1, ingest: the corpus POSTed to `/webhooks/everflow` by
//! concurrent senders (new offers, then updates), and its floor: the same
//! deliveries applied in-process through `Ingestor::ingest` on a fresh
//! database, with the same concurrency and no HTTP.
use std::{sync::Arc, time::Instant};

use offer_catalog::{
    ingest::{Incoming, Ingestor, Source},
    metrics::Metrics,
    store::Store,
};

use super::{
    corpus::Corpus,
    stats::{Measured, OpResult, drive},
};

/// The pre-serialized bodies of the scenario, so that the senders only send.
pub struct Deliveries {
    pub created: Arc<Vec<Vec<u8>>>,
    pub updated: Arc<Vec<Vec<u8>>>,
}

impl Deliveries {
    pub fn generate(corpus: &Corpus) -> Self {
        let started = Instant::now();
        let created: Vec<Vec<u8>> = (0..corpus.offers).map(|i| corpus.created(i)).collect();
        let updated: Vec<Vec<u8>> = (0..corpus.updates).map(|k| corpus.updated(k)).collect();
        let bytes: usize = created.iter().chain(&updated).map(Vec::len).sum();
        println!(
            "corpus: {} new offers + {} updates, {:.1} MiB of JSON (avg {} B), generated in {:.1}s",
            created.len(),
            updated.len(),
            bytes as f64 / 1_048_576.0,
            bytes / (created.len() + updated.len()).max(1),
            started.elapsed().as_secs_f64()
        );
        Self {
            created: Arc::new(created),
            updated: Arc::new(updated),
        }
    }
}

/// The label of a webhook answer's outcome, found without parsing the JSON.
fn outcome_label(body: &[u8]) -> &'static str {
    let contains = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
    if contains(b"\"applied\"") {
        "applied"
    } else if contains(b"\"duplicate\"") {
        "duplicate"
    } else if contains(b"\"stale\"") {
        "stale"
    } else {
        "other"
    }
}

/// POSTs every body of `bodies` to the server's webhook.
pub async fn over_http(
    client: &reqwest::Client,
    webhook_url: String,
    bodies: Arc<Vec<Vec<u8>>>,
    concurrency: usize,
) -> Measured {
    let client = client.clone();
    let url: Arc<str> = webhook_url.into();
    let total = bodies.len();
    drive(concurrency, total, move |i| {
        let request = client.post(&*url).body(bodies[i].clone());
        async move {
            let response = request.send().await.map_err(|e| format!("request: {e}"))?;
            let status = response.status();
            let body = response
                .bytes()
                .await
                .map_err(|e| format!("response: {e}"))?;
            if status != reqwest::StatusCode::OK {
                return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)));
            }
            Ok(outcome_label(&body)) as OpResult
        }
    })
    .await
}

/// Applies every body of `bodies` through the library, as the webhook does.
pub async fn in_process(
    ingestor: &Ingestor,
    bodies: Arc<Vec<Vec<u8>>>,
    event: &'static str,
    concurrency: usize,
) -> Measured {
    let ingestor = ingestor.clone();
    let total = bodies.len();
    drive(concurrency, total, move |i| {
        let ingestor = ingestor.clone();
        let incoming = Incoming {
            body: bodies[i].clone(),
            event: Some(event.to_owned()),
            source: Source::Http,
        };
        async move {
            match ingestor.ingest(&incoming).await {
                Ok(receipt) => Ok(receipt.outcome.as_str()),
                Err(e) => Err(format!("HTTP {}: {e}", e.status_code())),
            }
        }
    })
    .await
}

/// An ingestor on a freshly migrated database, for the floor, and its store
/// (whose statement counter tells how many SQL statements a delivery costs).
pub async fn floor_ingestor(database_url: &str) -> anyhow::Result<(Ingestor, Store)> {
    let store = Store::open(database_url).await?;
    Ok((Ingestor::new(store.clone(), Metrics::new()), store))
}

/// Runs the floor of `bodies` and prints it against the server's run, with the
/// SQL statements per delivery.
pub async fn print_floor(
    (ingestor, store): &(Ingestor, Store),
    bodies: Arc<Vec<Vec<u8>>>,
    event: &'static str,
    concurrency: usize,
    label: &str,
    server: &Measured,
) {
    let before = store.statements_executed();
    let floor = in_process(ingestor, bodies, event, concurrency).await;
    floor.print_floor(label, server);
    let statements = store.statements_executed() - before;
    println!(
        "{:<34} {:.1} SQL statements per delivery",
        "",
        statements as f64 / floor.requests.max(1) as f64
    );
}
