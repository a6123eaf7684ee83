//! Live subscriptions (SPEC §5, §6) over real WebSockets: both protocols,
//! filtering and REMOVED, only committed applied changes, slow subscribers,
//! token auth, a thousand subscribers, and fan-out across two processes
//! sharing one PostgreSQL database.
use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

use crate::{
    helpers::{Backend, TestApp, fresh_database, run_cli},
    ws_client::{Protocol, WsClient},
};

crate::on_both_backends!(
    both_protocols_receive_matching_changes_only,
    duplicate_stale_and_rolled_back_deliveries_publish_nothing,
    a_subscriber_that_never_reads_slows_nobody,
    api_token_guards_http_and_websocket,
    a_thousand_subscribers_each_receive_one_change,
);

const WAIT: Duration = Duration::from_secs(20);
const QUIET: Duration = Duration::from_millis(400);

const SUBSCRIPTION: &str = "subscription($f: OfferFilter) { offerChanged(filter: $f) { kind revision changedFields at offer { networkOfferId name status labels targeting { countries } category { name } defaultPayout { payoutAmount } } } }";

fn offer(id: i64, time_saved: i64, configure: impl FnOnce(&mut Value)) -> Value {
    let mut body = json!({
        "network_offer_id": id,
        "name": format!("offer {id}"),
        "offer_status": "active",
        "time_saved": time_saved,
        "relationship": {}
    });
    configure(&mut body);
    body
}

fn targeted(id: i64, time_saved: i64, countries: &[&str], labels: &[&str]) -> Value {
    offer(id, time_saved, |b| {
        b["relationship"]["targeting"] = json!({"geo": {"countries": countries}});
        b["relationship"]["labels"] = json!(labels);
        b["relationship"]["category"] = json!({"network_category_id": 7, "name": "Apps"});
        b["network_category_id"] = json!(7);
        b["relationship"]["payout_revenue"] = json!([{"network_offer_payout_revenue_id": 1, "payout_amount": "3.5", "is_default": true}]);
    })
}

fn event(payload: &Value) -> &Value {
    &payload["data"]["offerChanged"]
}

async fn both_protocols_receive_matching_changes_only(app: TestApp) {
    let mut us = WsClient::connect(app.addr, Protocol::TransportWs, json!({}))
        .await
        .unwrap();
    us.subscribe(
        "us",
        SUBSCRIPTION,
        json!({"f": {"availableIn": "US", "statuses": ["ACTIVE"]}}),
    )
    .await;
    let mut hot = WsClient::connect(app.addr, Protocol::LegacyWs, json!({}))
        .await
        .unwrap();
    hot.subscribe("hot", SUBSCRIPTION, json!({"f": {"labels": ["hot"]}}))
        .await;
    app.wait_for_subscriptions(2).await;

    // Matches `us` only.
    app.deliver(&targeted(1, 100, &["US", "CA"], &["cold"]))
        .await;
    let got = us.next_payload(WAIT).await.unwrap();
    let change = event(&got);
    assert_eq!(change["kind"], "CREATED", "{got}");
    assert_eq!(change["revision"], 1);
    assert_eq!(change["offer"]["networkOfferId"], 1);
    assert_eq!(
        change["offer"]["targeting"]["countries"],
        json!(["CA", "US"])
    );
    assert_eq!(
        change["offer"]["category"]["name"], "Apps",
        "nested fields resolve"
    );
    assert_eq!(change["offer"]["defaultPayout"]["payoutAmount"], "3.5");
    assert!(
        change["changedFields"]
            .as_array()
            .unwrap()
            .contains(&json!("labels"))
    );
    assert!(change["at"].as_str().is_some());

    // Matches `hot` only.
    app.deliver(&targeted(2, 100, &["FR"], &["hot"])).await;
    let got = hot.next_payload(WAIT).await.unwrap();
    assert_eq!(event(&got)["offer"]["networkOfferId"], 2, "{got}");
    assert_eq!(event(&got)["kind"], "CREATED");

    // An update that keeps offer 1 in `us`: UPDATED with exactly what changed.
    let mut renamed = targeted(1, 200, &["US", "CA"], &["cold"]);
    renamed["name"] = json!("renamed");
    app.deliver(&renamed).await;
    let got = us.next_payload(WAIT).await.unwrap();
    assert_eq!(event(&got)["kind"], "UPDATED");
    assert_eq!(event(&got)["changedFields"], json!(["name", "time_saved"]));
    assert_eq!(event(&got)["revision"], 2);

    // Paused: no longer matches `us` → REMOVED once, then nothing for later changes.
    let mut paused = renamed.clone();
    paused["offer_status"] = json!("paused");
    paused["time_saved"] = json!(300);
    app.deliver(&paused).await;
    let got = us.next_payload(WAIT).await.unwrap();
    assert_eq!(event(&got)["kind"], "REMOVED", "{got}");
    assert_eq!(event(&got)["offer"]["status"], "PAUSED");
    paused["time_saved"] = json!(400);
    paused["name"] = json!("still paused");
    app.deliver(&paused).await;

    // Retargeted away from the US while active: REMOVED as well.
    app.deliver(&targeted(3, 100, &["US"], &[])).await;
    assert_eq!(
        event(&us.next_payload(WAIT).await.unwrap())["kind"],
        "CREATED"
    );
    app.deliver(&targeted(3, 200, &["DE"], &[])).await;
    let got = us.next_payload(WAIT).await.unwrap();
    assert_eq!(event(&got)["kind"], "REMOVED");
    assert_eq!(event(&got)["offer"]["networkOfferId"], 3);

    // Nothing else arrived on either socket.
    assert_eq!(us.next_payload(QUIET).await, None);
    assert_eq!(hot.next_payload(QUIET).await, None);
}

pub async fn install_failing_trigger(app: &TestApp, offer_id: i64) {
    use sea_orm::ConnectionTrait;
    let db = app.db();
    match app.backend {
        Backend::Sqlite => {
            db.execute_unprepared(&format!(
                "CREATE TRIGGER fail_{offer_id} BEFORE INSERT ON offer_revision \
                 WHEN NEW.network_offer_id = {offer_id} BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
            ))
            .await
            .unwrap();
        }
        Backend::Postgres => {
            db.execute_unprepared(&format!(
                "CREATE FUNCTION fail_{offer_id}() RETURNS trigger AS $$ BEGIN \
                   IF NEW.network_offer_id = {offer_id} THEN RAISE EXCEPTION 'injected failure'; END IF; \
                   RETURN NEW; END $$ LANGUAGE plpgsql"
            ))
            .await
            .unwrap();
            db.execute_unprepared(&format!(
                "CREATE TRIGGER fail_{offer_id} BEFORE INSERT ON offer_revision FOR EACH ROW EXECUTE FUNCTION fail_{offer_id}()"
            ))
            .await
            .unwrap();
        }
    }
}

async fn duplicate_stale_and_rolled_back_deliveries_publish_nothing(app: TestApp) {
    let mut client = WsClient::connect(app.addr, Protocol::TransportWs, json!({}))
        .await
        .unwrap();
    client.subscribe("all", SUBSCRIPTION, json!({})).await;
    app.wait_for_subscriptions(1).await;

    let first = targeted(10, 1000, &["US"], &[]);
    app.deliver(&first).await;
    assert_eq!(
        event(&client.next_payload(WAIT).await.unwrap())["revision"],
        1
    );

    assert_eq!(app.deliver(&first).await["outcome"], "duplicate");
    let mut stale = first.clone();
    stale["time_saved"] = json!(999);
    stale["name"] = json!("older");
    assert_eq!(app.deliver(&stale).await["outcome"], "stale");

    // A delivery whose transaction fails and rolls back.
    install_failing_trigger(&app, 666).await;
    let (status, body) = app
        .deliver_raw(
            "/webhooks/everflow",
            targeted(666, 1, &["US"], &[]).to_string(),
        )
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        app.rows("SELECT network_offer_id FROM offer WHERE network_offer_id = 666")
            .await
            .len(),
        0
    );

    // The next event is the next applied change: nothing was published in between.
    let mut newer = first.clone();
    newer["time_saved"] = json!(2000);
    newer["name"] = json!("newer");
    app.deliver(&newer).await;
    let got = client.next_payload(WAIT).await.unwrap();
    assert_eq!(event(&got)["offer"]["networkOfferId"], 10, "{got}");
    assert_eq!(event(&got)["revision"], 2);
    assert_eq!(client.next_payload(QUIET).await, None);
}

async fn a_subscriber_that_never_reads_slows_nobody(app: TestApp) {
    // Subscribes, then never reads a byte.
    let mut stalled = WsClient::connect(app.addr, Protocol::TransportWs, json!({}))
        .await
        .unwrap();
    stalled.subscribe("stalled", SUBSCRIPTION, json!({})).await;
    let mut reader = WsClient::connect(app.addr, Protocol::LegacyWs, json!({}))
        .await
        .unwrap();
    reader
        .subscribe(
            "reader",
            "subscription { offerChanged { revision offer { networkOfferId labels } } }",
            json!({}),
        )
        .await;
    app.wait_for_subscriptions(2).await;

    // Big events, so the stalled socket's buffers fill long before the end.
    let labels: Vec<String> = (0..400)
        .map(|i| format!("label-{i:04}-{}", "x".repeat(40)))
        .collect();
    let total = 150;
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    let reading = tokio::spawn(async move {
        let mut seen = Vec::new();
        while seen.len() < total {
            match reader.next_payload(WAIT).await {
                Some(payload) => {
                    seen.push(event(&payload)["offer"]["networkOfferId"].as_i64().unwrap())
                }
                None => break,
            }
        }
        seen
    });
    for id in 0..total as i64 {
        let body = offer(1000 + id, 1, |b| {
            b["relationship"]["labels"] = json!(labels)
        });
        let sent = Instant::now();
        app.deliver(&body).await;
        slowest = slowest.max(sent.elapsed());
    }
    let seen = reading.await.unwrap();
    assert_eq!(
        seen,
        (1000..1000 + total as i64).collect::<Vec<_>>(),
        "the reading subscriber got every event, in order"
    );
    assert!(
        slowest < Duration::from_secs(5),
        "ingestion never waited on the stalled subscriber (slowest delivery {slowest:?}, all {:?})",
        started.elapsed()
    );
    drop(stalled);
}

async fn api_token_guards_http_and_websocket(app: TestApp) {
    let secured = TestApp::spawn_with(app.backend, |s| s.api_token = Some("t0ken".into()))
        .await
        .unwrap();
    let query = json!({"query": "{ offers { totalCount } }"});
    let url = secured.url("/graphql");
    let missing = secured.client.post(&url).json(&query).send().await.unwrap();
    assert_eq!(missing.status().as_u16(), 401);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert!(body.get("data").is_none(), "no data without the token");
    let wrong = secured
        .client
        .post(&url)
        .bearer_auth("nope")
        .json(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    let get = secured
        .client
        .get(&url)
        .query(&[("query", "{ offers { totalCount } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(get.status().as_u16(), 401);
    let right = secured
        .client
        .post(&url)
        .bearer_auth("t0ken")
        .json(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(right.status().as_u16(), 200);
    assert_eq!(
        right.json::<Value>().await.unwrap(),
        json!({"data": {"offers": {"totalCount": 0}}})
    );

    // Webhooks keep their own secret (none here); health stays open.
    let (status, _) = secured
        .deliver_raw(
            "/webhooks/everflow",
            targeted(1, 1, &["US"], &[]).to_string(),
        )
        .await;
    assert_eq!(status, 200);
    for open in ["/healthz", "/readyz", "/"] {
        assert_eq!(
            secured
                .client
                .get(secured.url(open))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
            200,
            "{open}"
        );
    }

    for protocol in [Protocol::TransportWs, Protocol::LegacyWs] {
        for init in [
            json!({}),
            json!({"Authorization": "Bearer nope"}),
            json!({"token": "t0k"}),
        ] {
            let refused = WsClient::connect(secured.addr, protocol, init.clone()).await;
            assert!(refused.is_err(), "{protocol:?} with {init} is refused");
        }
        for init in [
            json!({"Authorization": "Bearer t0ken"}),
            json!({"authorization": "t0ken"}),
            json!({"token": "t0ken"}),
        ] {
            let mut client = WsClient::connect(secured.addr, protocol, init.clone())
                .await
                .unwrap_or_else(|e| panic!("{protocol:?} with {init}: {e}"));
            client.subscribe("s", SUBSCRIPTION, json!({})).await;
            drop(client);
        }
    }
}

async fn a_thousand_subscribers_each_receive_one_change(app: TestApp) {
    const N: usize = 1000;
    let mut clients = Vec::with_capacity(N);
    for i in 0..N {
        let protocol = if i % 2 == 0 {
            Protocol::TransportWs
        } else {
            Protocol::LegacyWs
        };
        let mut client = WsClient::connect(app.addr, protocol, json!({}))
            .await
            .unwrap();
        client
            .subscribe("s", "subscription { offerChanged(filter: {availableIn: \"US\"}) { revision offer { networkOfferId } } }", json!({}))
            .await;
        clients.push(client);
    }
    app.wait_for_subscriptions(N as u64).await;
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(&format!("offer_catalog_subscriptions {N}")),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!("offer_catalog_websocket_connections {N}")),
        "{metrics}"
    );
    assert!(
        metrics.contains("offer_catalog_sql_statements_total "),
        "{metrics}"
    );
    assert!(
        metrics.contains("offer_catalog_events_lagged_total 0"),
        "{metrics}"
    );

    app.deliver(&targeted(42, 1, &["US"], &[])).await;
    let answered = Instant::now();
    let waits: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            tokio::spawn(async move {
                let payload = client.next_payload(WAIT).await;
                (payload, answered.elapsed())
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(N);
    for wait in waits {
        let (payload, latency) = wait.await.unwrap();
        let payload = payload.expect("every subscriber receives the change");
        assert_eq!(event(&payload)["offer"]["networkOfferId"], 42, "{payload}");
        latencies.push(latency);
    }
    latencies.sort();
    eprintln!(
        "{N} subscribers received one change: p50 {:?}, p99 {:?}, max {:?} after the webhook's 200",
        latencies[N / 2],
        latencies[N * 99 / 100],
        latencies[N - 1]
    );
}

/// A server process of our binary on `database_url`; killed on drop.
struct ServerProcess {
    child: std::process::Child,
    addr: SocketAddr,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_process(database_url: &str) -> ServerProcess {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_offer-catalog"))
        .arg("serve")
        .env("DATABASE_URL", database_url)
        .env("OFFER_CATALOG_ADDR", addr.to_string())
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap();
    let process = ServerProcess { child, addr };
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client
        .get(format!("http://{addr}/readyz"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .ok()
        != Some(200)
    {
        assert!(
            Instant::now() < deadline,
            "server on {addr} did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    process
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_events_reach_subscribers_of_every_process() {
    let Some((url, _)) = fresh_database(Backend::Postgres).await else {
        return;
    };
    let first = start_process(&url).await;
    let second = start_process(&url).await;
    let client = reqwest::Client::new();

    let mut listener = WsClient::connect(second.addr, Protocol::TransportWs, json!({}))
        .await
        .unwrap();
    listener
        .subscribe(
            "s",
            "subscription { offerChanged { kind revision offer { networkOfferId labels } } }",
            json!({}),
        )
        .await;
    // Registered once an event published before it would be missed: poll with deliveries.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let post = |addr: SocketAddr, body: Value| {
        let client = client.clone();
        async move {
            let response = client
                .post(format!("http://{addr}/webhooks/everflow"))
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    post(first.addr, targeted(1, 1, &["US"], &["a"])).await;
    let got = listener
        .next_payload(WAIT)
        .await
        .expect("the event crosses processes");
    assert_eq!(event(&got)["offer"]["networkOfferId"], 1, "{got}");
    assert_eq!(event(&got)["kind"], "CREATED");

    // An event whose offer is far over NOTIFY's 8000-byte payload limit.
    let labels: Vec<String> = (0..1500).map(|i| format!("long-label-{i:05}")).collect();
    post(
        first.addr,
        offer(2, 1, |b| b["relationship"]["labels"] = json!(labels)),
    )
    .await;
    let got = listener.next_payload(WAIT).await.unwrap();
    assert_eq!(
        event(&got)["offer"]["labels"].as_array().unwrap().len(),
        1500
    );

    // Duplicates publish nothing across processes either.
    post(first.addr, targeted(1, 1, &["US"], &["a"])).await;

    // Kill the second process's listening connection: it reconnects and goes on.
    let admin = sea_orm::Database::connect(url.as_str()).await.unwrap();
    use sea_orm::ConnectionTrait;
    admin
        .execute_unprepared(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()",
        )
        .await
        .unwrap();
    let mut received_after_reconnect = false;
    let deadline = Instant::now() + WAIT;
    let mut time_saved = 10;
    while Instant::now() < deadline && !received_after_reconnect {
        time_saved += 1;
        post(first.addr, targeted(3, time_saved, &["US"], &["b"])).await;
        while let Some(payload) = listener.next_payload(Duration::from_millis(500)).await {
            if event(&payload)["offer"]["networkOfferId"] == 3 {
                received_after_reconnect = true;
                break;
            }
            // A gap marker (EVENTS_MISSED) may come first: that is the contract.
            if payload.get("errors").is_some() {
                assert_eq!(
                    payload["errors"][0]["extensions"]["code"], "EVENTS_MISSED",
                    "{payload}"
                );
            }
        }
    }
    assert!(
        received_after_reconnect,
        "events flow again after the listener reconnected"
    );
    let health = client
        .get(format!("http://{}/healthz", second.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200, "the process survived");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_clients_are_disconnected_by_server_pings() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.ws_ping_secs = 1)
        .await
        .unwrap();
    // A live client answers pings (tungstenite replies while reading) and stays.
    let mut live = WsClient::connect(app.addr, Protocol::TransportWs, json!({}))
        .await
        .unwrap();
    live.subscribe("s", SUBSCRIPTION, json!({})).await;
    // A dead one subscribes and then never reads, so never answers a ping.
    let mut dead = WsClient::connect(app.addr, Protocol::TransportWs, json!({}))
        .await
        .unwrap();
    dead.subscribe("s", SUBSCRIPTION, json!({})).await;
    app.wait_for_subscriptions(2).await;

    let reading = tokio::spawn(async move {
        // Reads (and so answers pings) for five seconds.
        let outcome = live.next_payload(Duration::from_secs(5)).await;
        (outcome, live)
    });
    let deadline = Instant::now() + Duration::from_secs(15);
    while app.state.metrics.subscriptions.get() > 1 {
        assert!(
            Instant::now() < deadline,
            "the silent client was not reaped"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        app.state.metrics.ws_connections.get(),
        1,
        "only the silent connection was closed"
    );
    let (outcome, _live) = reading.await.unwrap();
    assert_eq!(outcome, None, "the live client saw no close and no error");
    drop(dead);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_disconnected() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.ws_ping_secs = 1)
        .await
        .unwrap();
    let mut request = format!("ws://{}/graphql/ws", app.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let (mut sink, _never_read) = socket.split();
    sink.send(Message::text(
        json!({"type": "connection_init"}).to_string(),
    ))
    .await
    .unwrap();
    let subscribe = json!({"id": "s", "type": "subscribe", "payload": {"query": "subscription { offerChanged { offer { labels } } }"}});
    sink.send(Message::text(subscribe.to_string()))
        .await
        .unwrap();
    // Keeps sending frames (so it never looks silent) but never reads one.
    let keepalive = tokio::spawn(async move {
        loop {
            if sink.send(Message::Pong(Vec::new().into())).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    app.wait_for_subscriptions(1).await;

    // ~40 KB events until its socket is full and the server's writes block.
    let labels: Vec<String> = (0..800)
        .map(|i| format!("label-{i:04}-{}", "y".repeat(40)))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut id = 0;
    while app.state.metrics.subscriptions.get() > 0 {
        assert!(
            Instant::now() < deadline,
            "the client that stopped reading was never disconnected"
        );
        id += 1;
        app.deliver(&offer(id, 1, |b| {
            b["relationship"]["labels"] = json!(labels)
        }))
        .await;
        if id % 50 == 0 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    assert_eq!(app.state.metrics.ws_connections.get(), 0);
    keepalive.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_falls_behind_is_told() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.event_buffer = 4)
        .await
        .unwrap();
    let mut request = format!("ws://{}/graphql/ws", app.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    socket
        .send(Message::text(
            json!({"type": "connection_init"}).to_string(),
        ))
        .await
        .unwrap();
    let subscribe = json!({"id": "s", "type": "subscribe", "payload": {"query": "subscription { offerChanged { revision offer { networkOfferId labels } } }"}});
    socket
        .send(Message::text(subscribe.to_string()))
        .await
        .unwrap();
    app.wait_for_subscriptions(1).await;

    // Not reading while big events pile up: the socket, the connection's queue
    // and then the 4-event bus buffer fill, and the subscription falls behind.
    let labels: Vec<String> = (0..800)
        .map(|i| format!("label-{i:04}-{}", "z".repeat(40)))
        .collect();
    let total = 300;
    for id in 1..=total {
        app.deliver(&offer(id, 1, |b| {
            b["relationship"]["labels"] = json!(labels)
        }))
        .await;
    }
    // Now read everything: some events, then an EVENTS_MISSED error, then the rest.
    let mut received = 0;
    let mut missed = 0;
    while let Ok(Some(Ok(message))) =
        tokio::time::timeout(Duration::from_secs(5), socket.next()).await
    {
        let Message::Text(text) = message else {
            continue;
        };
        let value: Value = serde_json::from_str(&text).unwrap();
        if value["type"] != "next" {
            continue;
        }
        match value["payload"]["errors"][0]["extensions"]["code"].as_str() {
            Some(code) => {
                assert_eq!(code, "EVENTS_MISSED", "{value}");
                missed += value["payload"]["errors"][0]["extensions"]["missed"]
                    .as_u64()
                    .unwrap();
            }
            None => received += 1,
        }
    }
    assert!(missed > 0, "the subscriber was told it fell behind");
    assert_eq!(
        received + missed,
        total as u64,
        "every event was either delivered or counted as missed"
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(&format!("offer_catalog_events_lagged_total {missed}")),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_deliveries_applied_by_ingest_reach_subscribers() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let mut client = WsClient::connect(app.addr, Protocol::LegacyWs, json!({}))
        .await
        .unwrap();
    client.subscribe("s", SUBSCRIPTION, json!({})).await;
    app.wait_for_subscriptions(1).await;

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("offers.ndjson");
    let lines = [targeted(71, 1, &["US"], &[]), targeted(72, 1, &["FR"], &[])];
    std::fs::write(
        &file,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
    run_cli(
        &app.state.settings.database_url,
        &[std::ffi::OsStr::new("ingest"), file.as_os_str()],
    )
    .await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let payload = client
            .next_payload(WAIT)
            .await
            .expect("an event from the ingest process");
        ids.push(event(&payload)["offer"]["networkOfferId"].as_i64().unwrap());
    }
    ids.sort();
    assert_eq!(ids, [71, 72]);
}
