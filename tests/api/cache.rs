//! The GraphQL response cache over real HTTP: a repeated query is answered
//! from the cache, and never once the catalog changed, whoever changed it.
use serde_json::{Value, json};

use crate::helpers::{API_SHAPE, Backend, TestApp, run_cli};

crate::on_both_backends!(
    repeated_queries_are_cached_until_the_catalog_changes,
    a_change_made_by_another_process_retires_cached_answers,
);

const BY_ID: &str = "query One($id: Int!) { offer(id: $id) { name revision labels } }";

/// POSTs a query; returns the `x-cache` header and the JSON body.
async fn post(app: &TestApp, query: &str, variables: Value, no_cache: bool) -> (String, Value) {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if no_cache {
        request = request.header("cache-control", "no-cache");
    }
    let response = request.send().await.expect("graphql request");
    assert_eq!(response.status().as_u16(), 200);
    let cache = response
        .headers()
        .get("x-cache")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (cache, response.json().await.expect("graphql json"))
}

fn delivery(name: &str, time_saved: i64, labels: &[&str]) -> Value {
    json!({
        "network_offer_id": 42,
        "network_id": 1,
        "name": name,
        "offer_status": "active",
        "time_saved": time_saved,
        "relationship": { "labels": { "total": labels.len(), "entries": labels } }
    })
}

async fn repeated_queries_are_cached_until_the_catalog_changes(app: TestApp) {
    app.deliver(&delivery("first", 100, &["a"])).await;
    let vars = json!({"id": 42});

    let (cache, miss) = post(&app, BY_ID, vars.clone(), false).await;
    assert_eq!(cache, "MISS");
    assert_eq!(miss["data"]["offer"]["name"], "first", "{miss}");
    let (cache, hit) = post(&app, BY_ID, vars.clone(), false).await;
    assert_eq!(cache, "HIT");
    assert_eq!(hit, miss, "a cached answer is the computed one");

    // Other variables, another operation name: other answers.
    let (cache, none) = post(&app, BY_ID, json!({"id": 43}), false).await;
    assert_eq!(
        (cache.as_str(), &none["data"]["offer"]),
        ("MISS", &Value::Null)
    );
    // The client may ask for a fresh answer.
    let (cache, fresh) = post(&app, BY_ID, vars.clone(), true).await;
    assert_eq!((cache.as_str(), &fresh), ("BYPASS", &miss));

    // Deliveries that change nothing keep the cache.
    let outcome = app.deliver(&delivery("first", 100, &["a"])).await;
    assert_eq!(outcome["outcome"], "duplicate");
    let outcome = app.deliver(&delivery("older", 50, &["z"])).await;
    assert_eq!(outcome["outcome"], "stale");
    let (cache, _) = post(&app, BY_ID, vars.clone(), false).await;
    assert_eq!(cache, "HIT");

    // An applied change is seen at once: by the changed offer's query…
    app.deliver(&delivery("second", 200, &["a", "b"])).await;
    let (cache, changed) = post(&app, BY_ID, vars.clone(), false).await;
    assert_eq!(cache, "MISS");
    assert_eq!(
        changed["data"]["offer"],
        json!({"name": "second", "revision": 2, "labels": ["a", "b"]})
    );
    let (cache, again) = post(&app, BY_ID, vars.clone(), false).await;
    assert_eq!((cache.as_str(), &again), ("HIT", &changed));
    // …and by every other query, which may depend on it (a facet, a count).
    let (cache, _) = post(&app, BY_ID, json!({"id": 43}), false).await;
    assert_eq!(cache, "MISS");

    // Answers with errors are not kept.
    let bad = "{ offers(filter: {availableIn: \"XX\"}) { totalCount } }";
    for _ in 0..2 {
        let (cache, answer) = post(&app, bad, json!({}), false).await;
        assert_eq!(cache, "MISS");
        assert!(answer["errors"].is_array(), "{answer}");
    }

    let metrics = app.metrics().await;
    for (result, n) in [("hit", 3), ("miss", 6), ("bypass", 1)] {
        let line = format!("offer_catalog_graphql_response_cache_total{{result=\"{result}\"}} {n}");
        assert!(metrics.contains(&line), "{line} in\n{metrics}");
    }
}

async fn a_change_made_by_another_process_retires_cached_answers(app: TestApp) {
    let query = "{ offers { totalCount edges { node { networkOfferId } } } }";
    let (_, empty) = post(&app, query, json!({}), false).await;
    assert_eq!(empty["data"]["offers"]["totalCount"], 0);
    let (cache, _) = post(&app, query, json!({}), false).await;
    assert_eq!(cache, "HIT");

    // `offer-catalog ingest` is another process on the same database: this
    // server hears nothing from it but the catalog version.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("one.json");
    std::fs::write(&file, API_SHAPE).unwrap();
    run_cli(
        &app.state.settings.database_url,
        &[std::ffi::OsStr::new("ingest"), file.as_os_str()],
    )
    .await;
    let (cache, after) = post(&app, query, json!({}), false).await;
    assert_eq!(cache, "MISS");
    assert_eq!(after["data"]["offers"]["totalCount"], 1, "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_can_be_turned_off() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.response_cache_mb = 0)
        .await
        .unwrap();
    for _ in 0..2 {
        let (cache, answer) = post(&app, BY_ID, json!({"id": 1}), false).await;
        assert_eq!(cache, "BYPASS");
        assert_eq!(answer["data"]["offer"], Value::Null);
    }
}
