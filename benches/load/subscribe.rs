//! Scenario 3: N WebSocket subscribers (`graphql-transport-ws`), then changes
//! POSTed one at a time; each change's latency is measured from the webhook's
//! `200` to its receipt at every subscriber. The floor is the same fan-out
//! through an in-process `tokio::sync::broadcast` channel, without sockets,
//! GraphQL or filtering.
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use futures::{SinkExt, StreamExt, stream};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};
use tokio_tungstenite::{
    connect_async,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

use crate::stats::Measured;

const SUBSCRIPTION: &str = "subscription { offerChanged { kind revision changedFields offer { networkOfferId name status } } }";
/// How long one change may take to reach every subscriber before the rest count as lost.
const DEADLINE: Duration = Duration::from_secs(30);

/// A received event: which change (its revision) and when.
type Receipt = (i64, Instant);

/// Opens `n` subscriptions; each forwards `(revision, time)` of every event it receives.
async fn open_subscribers(
    addr: &str,
    n: usize,
    receipts: mpsc::Sender<Receipt>,
) -> anyhow::Result<()> {
    let opened = stream::iter(0..n)
        .map(|_| {
            let receipts = receipts.clone();
            let url = format!("ws://{addr}/graphql/ws");
            async move {
                let mut request = url.into_client_request()?;
                request.headers_mut().insert(
                    "Sec-WebSocket-Protocol",
                    HeaderValue::from_static("graphql-transport-ws"),
                );
                let (mut socket, _) = connect_async(request).await?;
                socket
                    .send(Message::text(
                        json!({"type": "connection_init", "payload": {}}).to_string(),
                    ))
                    .await?;
                socket
                    .send(Message::text(
                        json!({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}})
                            .to_string(),
                    ))
                    .await?;
                tokio::spawn(async move {
                    while let Some(Ok(message)) = socket.next().await {
                        let Message::Text(text) = message else {
                            continue;
                        };
                        let Ok(value) = serde_json::from_str::<Value>(&text) else {
                            continue;
                        };
                        if value["type"] == "next" {
                            let revision = value["payload"]["data"]["offerChanged"]["revision"]
                                .as_i64()
                                .unwrap_or(-1);
                            if receipts.send((revision, Instant::now())).await.is_err() {
                                break;
                            }
                        }
                    }
                });
                anyhow::Ok(())
            }
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await;
    opened.into_iter().collect::<anyhow::Result<Vec<()>>>()?;
    Ok(())
}

/// The server's live subscription count, from `/metrics`.
async fn live_subscriptions(client: &reqwest::Client, base: &str) -> usize {
    let Ok(response) = client.get(format!("{base}/metrics")).send().await else {
        return 0;
    };
    let text = response.text().await.unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("offer_catalog_subscriptions "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Runs the scenario with `n` subscribers and `changes` changes to one offer.
pub async fn over_websocket(
    client: &reqwest::Client,
    addr: &str,
    n: usize,
    changes: usize,
    offer_id: i64,
) -> anyhow::Result<Measured> {
    let base = format!("http://{addr}");
    let (sender, mut receipts) = mpsc::channel::<Receipt>(n * 2 + 1024);
    let already = live_subscriptions(client, &base).await;
    open_subscribers(addr, n, sender).await?;
    let ready_by = Instant::now() + Duration::from_secs(120);
    while live_subscriptions(client, &base).await < already + n {
        anyhow::ensure!(
            Instant::now() < ready_by,
            "the server did not register {n} subscriptions"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut latencies = Vec::with_capacity(n * changes);
    let mut errors = 0;
    let mut first_error = None;
    let started = Instant::now();
    for i in 0..changes {
        let body = json!({
            "network_offer_id": offer_id,
            "name": format!("subscription probe {i}"),
            "offer_status": "active",
            "time_saved": 2_000_000_000 + i as i64,
        });
        let response = client
            .post(format!("{base}/webhooks/everflow"))
            .body(body.to_string())
            .send()
            .await?;
        let answered = Instant::now();
        let receipt: Value = response.json().await?;
        let revision = receipt["revision"].as_i64().unwrap_or(-2);
        let mut received = 0;
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while received < n {
            match tokio::time::timeout_at(deadline, receipts.recv()).await {
                Ok(Some((rev, at))) if rev == revision => {
                    received += 1;
                    latencies.push(at.saturating_duration_since(answered));
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        if received < n {
            errors += n - received;
            first_error.get_or_insert_with(|| {
                format!("change {i}: {received} of {n} subscribers received it")
            });
        }
    }
    Ok(Measured::from_latencies(
        latencies,
        errors,
        started.elapsed(),
        first_error,
    ))
}

/// The floor: `changes` messages through a broadcast channel to `n` tasks.
pub async fn floor(n: usize, changes: usize) -> Measured {
    let (sender, _) = broadcast::channel::<(usize, Arc<Instant>)>(1024);
    let (done, mut receipts) = mpsc::channel::<(usize, Instant)>(n * 2 + 1024);
    for _ in 0..n {
        let mut receiver = sender.subscribe();
        let done = done.clone();
        tokio::spawn(async move {
            while let Ok((i, _)) = receiver.recv().await {
                if done.send((i, Instant::now())).await.is_err() {
                    break;
                }
            }
        });
    }
    let mut latencies = Vec::with_capacity(n * changes);
    let started = Instant::now();
    for i in 0..changes {
        let sent = Instant::now();
        let _ = sender.send((i, Arc::new(sent)));
        let mut received = 0;
        while received < n {
            match receipts.recv().await {
                Some((j, at)) if j == i => {
                    received += 1;
                    latencies.push(at.saturating_duration_since(sent));
                }
                Some(_) => {}
                None => break,
            }
        }
    }
    Measured::from_latencies(latencies, 0, started.elapsed(), None)
}
