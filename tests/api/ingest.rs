//! Webhook ingestion (SPEC §3): fixtures to exact rows, relationship
//! semantics, outcomes, concurrency, bad input and the `ingest` command.
use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::helpers::{API_SHAPE, SEED_EXAMPLE, TestApp, catalog_dump, rows, run_cli};

crate::on_both_backends!(
    api_shape_fixture_ingests_to_exact_rows,
    seed_example_fixture_ingests_to_exact_rows,
    absent_relationship_keeps_present_empty_clears_present_replaces,
    null_or_empty_targeting_keeps_every_dimension,
    outcomes_revisions_and_changed_fields,
    concurrent_shuffled_deliveries_end_at_the_newest,
    bad_input_is_answered_4xx_and_recorded,
    webhook_secret_is_required_when_set,
    payload_variants_normalize_the_same_way,
    sentinels_strings_and_floats_normalize,
    ingest_command_matches_http,
    health_endpoints_answer,
    ingested_offer_is_readable_over_graphql,
    a_failing_delivery_does_not_fail_its_batch,
    replay_reapplies_stored_deliveries_in_order,
);

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

async fn offer_row(app: &TestApp, id: i64) -> Value {
    let mut found = app
        .rows(&format!(
            "SELECT network_offer_id, network_id, network_advertiser_id, network_category_id, name, offer_status, \
             status, currency_id, destination_url, preview_url, thumbnail_url, visibility, daily_conversion_cap, \
             weekly_conversion_cap, monthly_conversion_cap, global_conversion_cap, time_created, time_saved, \
             revision, default_payout_micros, geo_restricted \
             FROM offer WHERE network_offer_id = {id}"
        ))
        .await;
    assert_eq!(found.len(), 1, "offer {id} is stored once");
    found.remove(0)
}

/// `(label, targeting_type)` pairs of a targeting table.
async fn rules(app: &TestApp, table: &str, column: &str, id: i64) -> Vec<(String, String)> {
    app.rows(&format!(
        "SELECT {column} AS v, targeting_type AS t FROM {table} WHERE network_offer_id = {id} ORDER BY {column}, targeting_type"
    ))
    .await
    .into_iter()
    .map(|r| (r["v"].as_str().unwrap().to_owned(), r["t"].as_str().unwrap().to_owned()))
    .collect()
}

async fn labels(app: &TestApp, id: i64) -> Vec<String> {
    app.rows(&format!(
        "SELECT label FROM offer_label WHERE network_offer_id = {id} ORDER BY label"
    ))
    .await
    .into_iter()
    .map(|r| r["label"].as_str().unwrap().to_owned())
    .collect()
}

async fn channel_ids(app: &TestApp, id: i64) -> Vec<i64> {
    app.rows(&format!(
        "SELECT network_channel_id FROM offer_channel WHERE network_offer_id = {id} ORDER BY network_channel_id"
    ))
    .await
    .into_iter()
    .map(|r| r["network_channel_id"].as_i64().unwrap())
    .collect()
}

/// Payout rows with booleans as 0/1 on both backends.
async fn payouts(app: &TestApp, id: i64) -> Vec<Value> {
    app.rows(&format!(
        "SELECT network_offer_payout_revenue_id AS id, entry_name, \
         is_default, payout_type, payout_amount, payout_percentage, \
         revenue_type, revenue_amount, revenue_percentage, currency_id, \
         is_private, must_approve_conversion AS must_approve, allow_duplicate_conversion AS allow_duplicate \
         FROM payout_revenue WHERE network_offer_id = {id} ORDER BY network_offer_payout_revenue_id"
    ))
    .await
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

async fn api_shape_fixture_ingests_to_exact_rows(app: TestApp) {
    let (status, receipt) = app.deliver_raw("/webhooks/everflow", API_SHAPE).await;
    assert_eq!(status, 200);
    assert_eq!(
        receipt,
        json!({"outcome": "applied", "network_offer_id": 1019, "revision": 1, "change": "created"})
    );
    assert_eq!(
        offer_row(&app, 1019).await,
        json!({
            "network_offer_id": 1019, "network_id": 1, "network_advertiser_id": 64, "network_category_id": 18,
            "name": "New Offer", "offer_status": "active", "status": "active", "currency_id": "USD",
            "destination_url": "http://destination-url.com/?tid={transaction_id}",
            "preview_url": "http://preview-url.com",
            "thumbnail_url": "https://assets.efusercontent.com/1/offers/1019/thumb/example-thumbnail.png",
            "visibility": "require_approval", "daily_conversion_cap": 100, "weekly_conversion_cap": null,
            "monthly_conversion_cap": null, "global_conversion_cap": null, "time_created": 1709500000,
            "time_saved": 1709510000, "revision": 1, "default_payout_micros": 2500000, "geo_restricted": 1
        })
    );
    assert_eq!(
        app.rows("SELECT network_advertiser_id, network_id, name, account_status FROM advertiser")
            .await,
        vec![
            json!({"network_advertiser_id": 64, "network_id": 1, "name": "Gabielle Deleon Inc.", "account_status": "active"})
        ]
    );
    assert_eq!(
        app.rows("SELECT network_category_id, network_id, name, status FROM category")
            .await,
        vec![
            json!({"network_category_id": 18, "network_id": 1, "name": "Finance", "status": "active"})
        ]
    );
    assert_eq!(
        app.rows("SELECT network_channel_id, network_id, name, status FROM channel")
            .await,
        vec![
            json!({"network_channel_id": 3, "network_id": 1, "name": "Email Marketing", "status": "active"})
        ]
    );
    assert_eq!(labels(&app, 1019).await, ["finance", "us-only"]);
    assert_eq!(channel_ids(&app, 1019).await, [3]);
    assert_eq!(
        payouts(&app, 1019).await,
        vec![
            json!({"id": 51, "entry_name": null, "is_default": 1, "payout_type": "cpa", "payout_amount": "2.5",
                   "payout_percentage": "0", "revenue_type": "rpa", "revenue_amount": "4", "revenue_percentage": "0",
                   "currency_id": null, "is_private": 0, "must_approve": 0, "allow_duplicate": 1}),
            json!({"id": 52, "entry_name": "Upsell", "is_default": 0, "payout_type": "cpa_cps", "payout_amount": "1",
                   "payout_percentage": "10", "revenue_type": "rpa_rps", "revenue_amount": "2", "revenue_percentage": "15",
                   "currency_id": null, "is_private": 1, "must_approve": 0, "allow_duplicate": 0}),
        ]
    );
    assert_eq!(
        rules(&app, "offer_country", "country_code", 1019).await,
        pairs(&[("US", "include")])
    );
    assert_eq!(
        rules(&app, "offer_device_type", "name", 1019).await,
        pairs(&[("Mobile", "include")])
    );
    assert_eq!(
        rules(&app, "offer_platform", "name", 1019).await,
        pairs(&[("iOS", "include")])
    );

    // The raw body is kept byte for byte, on the offer and in the delivery log.
    let stored = app.state.store.deliveries_of_offer(1019).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].body, API_SHAPE.as_bytes());
    assert_eq!(stored[0].outcome, "applied");
    let raw: Vec<u8> = entity::offer::Entity::find_by_id(1019)
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
        .raw_payload;
    assert_eq!(raw, API_SHAPE.as_bytes());
}

use sea_orm::EntityTrait;

async fn seed_example_fixture_ingests_to_exact_rows(app: TestApp) {
    let receipt = app.deliver(&fixture(SEED_EXAMPLE)).await;
    assert_eq!(receipt["change"], "created");
    assert_eq!(
        offer_row(&app, 12345).await,
        json!({
            "network_offer_id": 12345, "network_id": 1, "network_advertiser_id": 789, "network_category_id": 456,
            "name": "Premium Subscription Offer", "offer_status": "active", "status": "active", "currency_id": "USD",
            "destination_url": "https://brand.com/subscribe?tid={transaction_id}",
            "preview_url": "https://brand.com/subscribe", "thumbnail_url": null,
            "visibility": "require_approval", "daily_conversion_cap": 500, "weekly_conversion_cap": null,
            "monthly_conversion_cap": 10000, "global_conversion_cap": null, "time_created": 1709500000,
            "time_saved": 1709500000, "revision": 1, "default_payout_micros": 25000000, "geo_restricted": 1
        })
    );
    assert_eq!(
        app.rows("SELECT network_advertiser_id, name FROM advertiser")
            .await,
        vec![json!({"network_advertiser_id": 789, "name": "Brand Corporation"})]
    );
    assert_eq!(
        app.rows("SELECT network_category_id, name FROM category")
            .await,
        vec![json!({"network_category_id": 456, "name": "E-Commerce"})]
    );
    assert_eq!(
        app.rows("SELECT network_channel_id, name FROM channel")
            .await,
        vec![json!({"network_channel_id": 111, "name": "Web"})]
    );
    assert_eq!(labels(&app, 12345).await, ["premium", "subscription"]);
    assert_eq!(
        payouts(&app, 12345).await,
        vec![
            json!({"id": 222, "entry_name": null, "is_default": 1, "payout_type": "fixed", "payout_amount": "25",
                    "payout_percentage": null, "revenue_type": "fixed", "revenue_amount": "100",
                    "revenue_percentage": null, "currency_id": "USD", "is_private": null, "must_approve": 0,
                    "allow_duplicate": 0})
        ]
    );
    assert_eq!(
        rules(&app, "offer_country", "country_code", 12345).await,
        pairs(&[("CA", "include"), ("GB", "include"), ("US", "include")])
    );
    assert_eq!(
        rules(&app, "offer_device_type", "name", 12345).await,
        pairs(&[("desktop", "include"), ("mobile", "include")])
    );
    assert_eq!(
        rules(&app, "offer_platform", "name", 12345).await,
        pairs(&[
            ("android", "include"),
            ("ios", "include"),
            ("windows", "include")
        ])
    );
}

async fn absent_relationship_keeps_present_empty_clears_present_replaces(app: TestApp) {
    let base = fixture(API_SHAPE);
    app.deliver(&base).await;

    // Absent: a body with no relationship at all keeps every child.
    let mut bare = base.clone();
    bare.as_object_mut().unwrap().remove("relationship");
    bare.as_object_mut().unwrap().remove("labels");
    bare["name"] = json!("Renamed");
    let receipt = app.deliver(&bare).await;
    assert_eq!(receipt["outcome"], "applied");
    assert_eq!(labels(&app, 1019).await, ["finance", "us-only"]);
    assert_eq!(channel_ids(&app, 1019).await, [3]);
    assert_eq!(payouts(&app, 1019).await.len(), 2);
    assert_eq!(
        rules(&app, "offer_country", "country_code", 1019)
            .await
            .len(),
        1
    );
    assert_eq!(rules(&app, "offer_platform", "name", 1019).await.len(), 1);

    // Present: replaces (not merges).
    let mut replaced = bare.clone();
    replaced["relationship"] = json!({
        "labels": {"total": 1, "entries": ["Fresh"]},
        "channels": {"total": 1, "entries": [{"network_channel_id": 9, "name": "Push"}]},
        "payout_revenue": {"total": 1, "entries": [{"network_offer_payout_revenue_id": 60, "payout_amount": 7.25, "is_default": true}]},
        "targeting": {"countries": [{"country_code": "de", "targeting_type": "include"}], "platforms": [{"label": "Android"}]}
    });
    app.deliver(&replaced).await;
    assert_eq!(labels(&app, 1019).await, ["Fresh"]);
    assert_eq!(channel_ids(&app, 1019).await, [9]);
    let p = payouts(&app, 1019).await;
    assert_eq!(p.len(), 1);
    assert_eq!(p[0]["id"], 60);
    assert_eq!(p[0]["payout_amount"], "7.25");
    assert_eq!(
        rules(&app, "offer_country", "country_code", 1019).await,
        pairs(&[("DE", "include")])
    );
    assert_eq!(
        rules(&app, "offer_platform", "name", 1019).await,
        pairs(&[("Android", "include")])
    );
    // device_types was not in that targeting: kept.
    assert_eq!(
        rules(&app, "offer_device_type", "name", 1019).await,
        pairs(&[("Mobile", "include")])
    );
    assert_eq!(
        offer_row(&app, 1019).await["default_payout_micros"],
        7_250_000
    );

    // Present and empty: clears.
    let mut cleared = bare.clone();
    cleared["relationship"] = json!({
        "labels": {"total": 0, "entries": []},
        "channels": [],
        "payout_revenue": {"total": 0, "entries": []},
        "targeting": {"countries": [], "device_types": [], "platforms": []}
    });
    let receipt = app.deliver(&cleared).await;
    assert_eq!(receipt["outcome"], "applied");
    assert!(labels(&app, 1019).await.is_empty());
    assert!(channel_ids(&app, 1019).await.is_empty());
    assert!(payouts(&app, 1019).await.is_empty());
    assert!(
        rules(&app, "offer_country", "country_code", 1019)
            .await
            .is_empty()
    );
    assert!(
        rules(&app, "offer_device_type", "name", 1019)
            .await
            .is_empty()
    );
    assert!(rules(&app, "offer_platform", "name", 1019).await.is_empty());
    let row = offer_row(&app, 1019).await;
    assert_eq!(
        row["default_payout_micros"], -1,
        "no default payout sorts below every amount"
    );
    assert_eq!(row["geo_restricted"], 0);
    // Shared rows (labels, channels) stay for other offers.
    assert_eq!(
        app.rows("SELECT name FROM label WHERE name = 'finance'")
            .await
            .len(),
        1
    );
}

async fn null_or_empty_targeting_keeps_every_dimension(app: TestApp) {
    let base = fixture(SEED_EXAMPLE);
    app.deliver(&base).await;
    for targeting in [Value::Null, json!({})] {
        let mut body = base.clone();
        body["relationship"]["targeting"] = targeting;
        body["name"] = json!(format!("name {}", rand::random::<u32>()));
        assert_eq!(app.deliver(&body).await["outcome"], "applied");
        assert_eq!(
            rules(&app, "offer_country", "country_code", 12345)
                .await
                .len(),
            3
        );
        assert_eq!(
            rules(&app, "offer_device_type", "name", 12345).await.len(),
            2
        );
        assert_eq!(rules(&app, "offer_platform", "name", 12345).await.len(), 3);
    }
    // `ruleset` is read like `targeting`, one dimension at a time.
    let mut body = base.clone();
    body["relationship"]
        .as_object_mut()
        .unwrap()
        .remove("targeting");
    body["relationship"]["ruleset"] =
        json!({"countries": [{"country_code": "fr", "targeting_type": "exclude"}]});
    app.deliver(&body).await;
    assert_eq!(
        rules(&app, "offer_country", "country_code", 12345).await,
        pairs(&[("FR", "exclude")])
    );
    assert_eq!(rules(&app, "offer_platform", "name", 12345).await.len(), 3);
    assert_eq!(offer_row(&app, 12345).await["geo_restricted"], 0);
}

async fn outcomes_revisions_and_changed_fields(app: TestApp) {
    let base = fixture(API_SHAPE);
    assert_eq!(
        app.deliver(&base).await,
        json!({"outcome": "applied", "network_offer_id": 1019, "revision": 1, "change": "created"})
    );
    // The same content again, even re-serialized, is a duplicate.
    assert_eq!(
        app.deliver(&base).await,
        json!({"outcome": "duplicate", "network_offer_id": 1019, "revision": 1, "change": null})
    );
    // A newer save with two changes.
    let mut newer = base.clone();
    newer["time_saved"] = json!(1709520000);
    newer["daily_conversion_cap"] = json!(250);
    newer["relationship"]["payout_revenue"]["entries"][0]["payout_amount"] = json!(3.75);
    assert_eq!(
        app.deliver(&newer).await,
        json!({"outcome": "applied", "network_offer_id": 1019, "revision": 2, "change": "updated"})
    );
    // A relationship-only edit keeps time_saved (Everflow does not bump it) and is applied.
    let mut relationship_only = newer.clone();
    relationship_only["relationship"]["labels"]["entries"] = json!(["finance", "us-only", "hot"]);
    assert_eq!(app.deliver(&relationship_only).await["revision"], 3);
    // An older save is stale and changes nothing, whatever it says.
    let mut older = base.clone();
    older["time_saved"] = json!(1709500001);
    older["name"] = json!("Old name");
    assert_eq!(
        app.deliver(&older).await,
        json!({"outcome": "stale", "network_offer_id": 1019, "revision": 3, "change": null})
    );
    assert_eq!(offer_row(&app, 1019).await["name"], "New Offer");

    let revisions = app
        .rows("SELECT revision, change, changed_fields FROM offer_revision WHERE network_offer_id = 1019 ORDER BY revision")
        .await;
    assert_eq!(revisions.len(), 3);
    let fields = |row: &Value| -> BTreeSet<String> {
        let value = match &row["changed_fields"] {
            Value::String(text) => serde_json::from_str(text).unwrap(),
            other => other.clone(),
        };
        value
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(revisions[0]["change"], "created");
    assert!(fields(&revisions[0]).is_superset(&BTreeSet::from([
        "name".to_owned(),
        "payouts".to_owned(),
        "targeting.countries".to_owned(),
        "labels".to_owned()
    ])));
    assert_eq!(revisions[1]["change"], "updated");
    assert_eq!(
        fields(&revisions[1]),
        BTreeSet::from([
            "daily_conversion_cap".to_owned(),
            "payouts".to_owned(),
            "time_saved".to_owned()
        ])
    );
    assert_eq!(fields(&revisions[2]), BTreeSet::from(["labels".to_owned()]));

    let outcomes: Vec<String> = app
        .state
        .store
        .deliveries_of_offer(1019)
        .await
        .unwrap()
        .into_iter()
        .map(|d| format!("{}:{}", d.outcome, d.revision.unwrap_or(-1)))
        .collect();
    assert_eq!(
        outcomes,
        [
            "applied:1",
            "duplicate:1",
            "applied:2",
            "applied:3",
            "stale:3"
        ]
    );
    assert_eq!(offer_row(&app, 1019).await["revision"], 3);
}

async fn concurrent_shuffled_deliveries_end_at_the_newest(app: TestApp) {
    use rand::seq::SliceRandom;
    let base = fixture(SEED_EXAMPLE);
    let mut bodies: Vec<Value> = (1..=48)
        .map(|i| {
            let mut body = base.clone();
            body["time_saved"] = json!(1_709_500_000 + i);
            body["daily_conversion_cap"] = json!(i);
            body["relationship"]["labels"]["label_entry_list"] = json!([format!("v{i}")]);
            body["relationship"]["payout_revenue"]["payout_revenue_entities"][0]["payout_value"] =
                json!(i);
            body
        })
        .collect();
    bodies.shuffle(&mut rand::rng());
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let client = app.client.clone();
            let url = app.url("/webhooks/everflow");
            tokio::spawn(async move {
                let response = client
                    .post(url)
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                (status, response.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut applied = 0;
    for task in tasks {
        let (status, receipt) = task.await.unwrap();
        assert_eq!(status, 200, "{receipt}");
        match receipt["outcome"].as_str().unwrap() {
            "applied" => applied += 1,
            "stale" => {}
            other => panic!("unexpected outcome {other}"),
        }
    }
    let row = offer_row(&app, 12345).await;
    assert_eq!(row["daily_conversion_cap"], 48, "the newest delivery wins");
    assert_eq!(row["time_saved"], 1_709_500_048);
    assert_eq!(
        row["revision"], applied,
        "one revision per applied delivery"
    );
    assert_eq!(
        labels(&app, 12345).await,
        ["v48"],
        "children of the newest, not a mix"
    );
    assert_eq!(payouts(&app, 12345).await[0]["payout_amount"], "48");
    let logged = app.rows("SELECT COUNT(*) AS n FROM webhook_delivery").await;
    assert_eq!(logged[0]["n"], 48, "every delivery is logged");
    let revisions = app.rows("SELECT COUNT(*) AS n FROM offer_revision").await;
    assert_eq!(revisions[0]["n"], applied);
}

async fn bad_input_is_answered_4xx_and_recorded(app: TestApp) {
    let mut deep = String::new();
    for _ in 0..200 {
        deep.push('[');
    }
    let mut wrong_deep = fixture(API_SHAPE);
    wrong_deep["relationship"]["payout_revenue"]["entries"][1]["payout_amount"] =
        json!({"oops": 1});
    let mut wrong_country = fixture(API_SHAPE);
    wrong_country["relationship"]["targeting"]["countries"][0]["country_code"] = json!("USA");
    let mut fractional_cap = fixture(API_SHAPE);
    fractional_cap["daily_conversion_cap"] = json!(10.5);
    let cases: Vec<(&str, Vec<u8>, u16, Option<&str>)> = vec![
        ("not json", b"this is not json".to_vec(), 400, None),
        ("invalid utf-8", vec![b'{', 0xff, 0xfe, b'}'], 400, None),
        ("too deep", deep.into_bytes(), 400, None),
        ("array", b"[1, 2]".to_vec(), 400, None),
        ("empty", Vec::new(), 400, None),
        (
            "missing id",
            br#"{"name": "x"}"#.to_vec(),
            422,
            Some("/network_offer_id"),
        ),
        (
            "negative id",
            br#"{"network_offer_id": -4}"#.to_vec(),
            422,
            Some("/network_offer_id"),
        ),
        (
            "zero id",
            br#"{"network_offer_id": 0}"#.to_vec(),
            422,
            Some("/network_offer_id"),
        ),
        (
            "fractional id",
            br#"{"network_offer_id": 1.5}"#.to_vec(),
            422,
            Some("/network_offer_id"),
        ),
        (
            "id as object",
            br#"{"network_offer_id": {}}"#.to_vec(),
            422,
            Some("/network_offer_id"),
        ),
        (
            "wrong type deep",
            wrong_deep.to_string().into_bytes(),
            422,
            Some("/relationship/payout_revenue/entries/1/payout_amount"),
        ),
        (
            "bad country",
            wrong_country.to_string().into_bytes(),
            422,
            Some("/relationship/targeting/countries/0/country_code"),
        ),
        (
            "fractional cap",
            fractional_cap.to_string().into_bytes(),
            422,
            Some("/daily_conversion_cap"),
        ),
    ];
    for (name, body, status, path) in &cases {
        let (got, json) = app
            .deliver_raw("/webhooks/everflow?event=offer_updated", body.clone())
            .await;
        assert_eq!(got, *status, "{name}: {json}");
        assert!(
            json["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{name}: {json}"
        );
        if let Some(path) = path {
            assert_eq!(json["path"], *path, "{name}");
        }
    }

    // 2 MiB: 413, not stored.
    let (status, _) = app
        .deliver_raw("/webhooks/everflow", vec![b' '; 2 * 1024 * 1024])
        .await;
    assert_eq!(status, 413);
    // GET is not a delivery.
    let get = reqwest::Client::new()
        .get(app.url("/webhooks/everflow"))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status().as_u16(), 405);

    // Every delivery past auth is in the log, byte for byte, with its outcome.
    let logged = app
        .rows("SELECT outcome, status_code, error, error_path, event FROM webhook_delivery ORDER BY id")
        .await;
    assert_eq!(logged.len(), cases.len());
    for ((name, _, status, path), row) in cases.iter().zip(&logged) {
        assert_eq!(row["outcome"], "rejected", "{name}");
        assert_eq!(row["status_code"], *status as i64, "{name}");
        assert_eq!(row["event"], "offer_updated", "{name}");
        assert!(row["error"].as_str().is_some(), "{name}");
        if let Some(path) = path {
            assert_eq!(row["error_path"], *path, "{name}");
        }
    }
    let bodies: Vec<Vec<u8>> = entity::webhook_delivery::Entity::find()
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.body)
        .collect();
    for ((name, body, _, _), stored) in cases.iter().zip(&bodies) {
        assert_eq!(body, stored, "{name} is stored byte for byte");
    }
    // The rejected offer 1019 is still recorded by id so it can be found and replayed.
    assert!(
        !app.state
            .store
            .deliveries_of_offer(1019)
            .await
            .unwrap()
            .is_empty()
    );

    // Unknown enum values are accepted and kept as sent.
    let mut odd = fixture(API_SHAPE);
    odd["offer_status"] = json!("archived");
    odd["visibility"] = json!("partners_only");
    odd["relationship"]["payout_revenue"]["entries"][0]["payout_type"] = json!("cpx_new");
    let receipt = app.deliver(&odd).await;
    assert_eq!(receipt["outcome"], "applied");
    let row = offer_row(&app, 1019).await;
    assert_eq!(row["offer_status"], "archived");
    assert_eq!(row["status"], "other");
    assert_eq!(row["visibility"], "partners_only");
    assert_eq!(payouts(&app, 1019).await[0]["payout_type"], "cpx_new");
    assert_eq!(
        offer_count(&app).await,
        1,
        "no rejected delivery wrote an offer"
    );
}

async fn offer_count(app: &TestApp) -> i64 {
    app.rows("SELECT COUNT(*) AS n FROM offer").await[0]["n"]
        .as_i64()
        .unwrap()
}

async fn webhook_secret_is_required_when_set(app: TestApp) {
    // The default app has no secret; start one with a secret on the same backend.
    let secured = TestApp::spawn_with(app.backend, |s| s.webhook_secret = Some("s3cret".into()))
        .await
        .unwrap();
    let body = SEED_EXAMPLE.to_owned();
    let (status, _) = secured
        .deliver_raw("/webhooks/everflow", body.clone())
        .await;
    assert_eq!(status, 401);
    let (status, _) = secured
        .deliver_raw("/webhooks/everflow?token=wrong", body.clone())
        .await;
    assert_eq!(status, 401);
    let wrong_bearer = secured
        .client
        .post(secured.url("/webhooks/everflow"))
        .header("authorization", "Bearer nope")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_bearer.status().as_u16(), 401);
    assert_eq!(
        secured.rows("SELECT id FROM webhook_delivery").await.len(),
        0,
        "401s change nothing"
    );

    let (status, json) = secured
        .deliver_raw("/webhooks/everflow?token=s3cret", body.clone())
        .await;
    assert_eq!((status, json["outcome"].as_str()), (200, Some("applied")));
    let bearer = secured
        .client
        .post(secured.url("/webhooks/offers"))
        .header("authorization", "Bearer s3cret")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status().as_u16(), 200);
    let metrics = secured.metrics().await;
    assert!(
        metrics.contains(r#"offer_catalog_webhook_deliveries_total{outcome="unauthorized"} 3"#),
        "{metrics}"
    );
}

/// One offer, the API-shape fixture's content, written in other variants.
fn variant_bodies() -> Vec<Value> {
    let v1 = json!({
        "network_offer_id": "1019",
        "network_id": 1.0,
        "network_advertiser_id": "64",
        "network_category_id": 18,
        "name": "New Offer",
        "offer_status": "active",
        "currency_id": "usd",
        "destination_url": "http://destination-url.com/?tid={transaction_id}",
        "preview_url": "http://preview-url.com",
        "visibility": "require_approval",
        "daily_conversion_cap": "100",
        "weekly_conversion_cap": 0,
        "monthly_conversion_cap": "0",
        "global_conversion_cap": 0.0,
        "time_created": 1709500000.0,
        "time_saved": "1709510000",
        "labels": [" finance ", "us-only", ""],
        "relationship": {
            "category": {"network_category_id": 18, "network_id": 1, "name": "Finance", "status": "active"},
            "channels": [{"network_channel_id": "3", "network_id": 1, "name": "Email Marketing", "status": "active"}],
            "payouts": [
                {"network_offer_payout_revenue_id": 52, "entry_name": "Upsell", "payout_type": "cpa_cps",
                 "payout_value": "1", "payout_percentage": 10, "revenue_type": "rpa_rps", "revenue_value": 2.0,
                 "revenue_percentage": "15", "is_default": false, "is_private": true,
                 "must_approve_conversion": false, "allow_duplicate_conversion": false},
                {"network_offer_payout_revenue_id": 51, "entry_name": "", "payout_type": "cpa",
                 "payout_value": 2.50, "payout_percentage": 0, "revenue_type": "rpa", "revenue_value": "4.0",
                 "revenue_percentage": 0, "is_default": true, "is_private": false,
                 "must_approve_conversion": false, "allow_duplicate_conversion": true}
            ],
            "thumbnail_asset": {"url": "https://assets.efusercontent.com/1/offers/1019/thumb/example-thumbnail.png"},
            "advertiser": {"network_advertiser_id": 64, "network_id": 1, "name": "Gabielle Deleon Inc.", "account_status": "active"},
            "ruleset": {
                "geo": {"countries": ["us"]},
                "device_types": ["Mobile"],
                "platforms": [{"label": "iOS", "targeting_type": "include"}]
            }
        }
    });
    let mut v2 = v1.clone();
    let rel = v2["relationship"].as_object_mut().unwrap();
    rel.remove("payouts");
    rel.insert(
        "labels".into(),
        json!({"total": 2, "label_entry_list": ["us-only", "finance"]}),
    );
    rel.insert("channels".into(), json!({"total": 1, "channel_entities": [{"network_channel_id": 3, "network_id": 1, "name": "Email Marketing", "status": "active"}]}));
    let v2_obj = v2.as_object_mut().unwrap();
    v2_obj.insert(
        "labels".into(),
        json!(["ignored-when-relationship-labels-present"]),
    );
    v2_obj.insert(
        "payout_revenue".into(),
        json!({"total": 2, "payout_revenue_entities": v1["relationship"]["payouts"].clone()}),
    );
    vec![v1, v2]
}

async fn payload_variants_normalize_the_same_way(app: TestApp) {
    app.deliver(&fixture(API_SHAPE)).await;
    let reference = catalog_dump(app.db()).await;
    for (i, variant) in variant_bodies().into_iter().enumerate() {
        let other = TestApp::spawn(app.backend).await.unwrap();
        assert_eq!(
            other.deliver(&variant).await["outcome"],
            "applied",
            "variant {i}"
        );
        let mut dump = catalog_dump(other.db()).await;
        let mut expected = reference.clone();
        // The fixture lists os_versions etc. that are not normalized; the
        // snapshot documents must still agree on everything normalized.
        for d in [&mut dump, &mut expected] {
            d.as_object_mut().unwrap().remove("offer_revision");
        }
        assert_eq!(dump, expected, "variant {i} normalizes like the fixture");
        // And re-sending the fixture on top is a duplicate: same normalized content.
        assert_eq!(
            other.deliver(&fixture(API_SHAPE)).await["outcome"],
            "duplicate",
            "variant {i}"
        );
    }
}

async fn sentinels_strings_and_floats_normalize(app: TestApp) {
    let body = json!({
        "network_offer_id": 77,
        "network_advertiser_id": 0,
        "network_category_id": "0",
        "name": "Sentinels",
        "offer_status": "PAUSED",
        "currency_id": "",
        "visibility": "null_value",
        "destination_url": "unknown",
        "daily_conversion_cap": 0,
        "time_saved": 0,
        "relationship": {
            "payout_revenue": [{"network_offer_payout_revenue_id": 1, "payout_amount": "12345678.123456",
                                "revenue_amount": 0.1, "is_default": "true", "payout_type": "unknown"}],
            "targeting": {"countries": [{"country_code": "gb", "targeting_type": "EXCLUDE"}, {"country_code": "GB", "targeting_type": "include"}]}
        }
    });
    app.deliver(&body).await;
    let row = offer_row(&app, 77).await;
    for null_field in [
        "network_advertiser_id",
        "network_category_id",
        "currency_id",
        "visibility",
        "destination_url",
        "daily_conversion_cap",
    ] {
        assert_eq!(row[null_field], Value::Null, "{null_field}");
    }
    assert_eq!(row["status"], "paused");
    assert_eq!(row["offer_status"], "PAUSED");
    assert_eq!(row["time_saved"], 0);
    assert_eq!(row["default_payout_micros"], 12_345_678_123_456i64);
    let p = payouts(&app, 77).await;
    assert_eq!(p[0]["payout_amount"], "12345678.123456");
    assert_eq!(p[0]["revenue_amount"], "0.1");
    assert_eq!(p[0]["payout_type"], Value::Null);
    assert_eq!(p[0]["is_default"], 1);
    // Both included and excluded: both rules are kept (the offer is then available nowhere).
    assert_eq!(
        rules(&app, "offer_country", "country_code", 77).await,
        pairs(&[("GB", "exclude"), ("GB", "include")])
    );
    assert_eq!(
        app.rows("SELECT COUNT(*) AS n FROM advertiser").await[0]["n"],
        0
    );
}

async fn ingest_command_matches_http(app: TestApp) {
    // A stream of deliveries: creations, a duplicate, an update, a stale one and a rejected one.
    let mut lines = vec![
        fixture(API_SHAPE),
        fixture(SEED_EXAMPLE),
        fixture(API_SHAPE),
    ];
    let mut update = fixture(SEED_EXAMPLE);
    update["time_saved"] = json!(1709600000);
    update["relationship"]["targeting"]["geo"]["countries"] = json!(["DE"]);
    lines.push(update);
    let mut stale = fixture(SEED_EXAMPLE);
    stale["name"] = json!("stale");
    lines.push(stale);
    let ndjson: String =
        lines.iter().map(|l| format!("{l}\n")).collect::<String>() + "{\"network_offer_id\": -1}\n";
    for line in ndjson.lines() {
        app.deliver_raw("/webhooks/everflow", line.to_owned()).await;
    }
    let over_http = catalog_dump(app.db()).await;

    let (url, _dir) = crate::helpers::fresh_database(app.backend).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deliveries.ndjson");
    std::fs::write(&file, &ndjson).unwrap();
    // A pretty-printed single-object file is one delivery too.
    let single = dir.path().join("one.json");
    std::fs::write(&single, API_SHAPE).unwrap();
    let stderr = run_cli(
        &url,
        &[
            std::ffi::OsStr::new("ingest"),
            file.as_os_str(),
            single.as_os_str(),
        ],
    )
    .await;
    assert!(
        stderr.contains("7 deliveries: 3 applied, 2 duplicate, 1 stale, 1 rejected"),
        "{stderr}"
    );
    let store = offer_catalog::store::Store::connect(&url).await.unwrap();
    let via_ingest = catalog_dump(store.connection()).await;
    assert_eq!(via_ingest, over_http);
    let sources = rows(
        store.connection(),
        "SELECT DISTINCT source FROM webhook_delivery",
    )
    .await;
    assert_eq!(sources, vec![json!({"source": "ingest"})]);
}

async fn health_endpoints_answer(app: TestApp) {
    if app.backend == crate::helpers::Backend::Sqlite {
        let mode = app.rows("PRAGMA journal_mode").await;
        assert_eq!(mode[0]["journal_mode"], "wal", "SQLite runs in WAL mode");
        let timeout = app.rows("PRAGMA busy_timeout").await;
        assert_eq!(timeout[0]["timeout"], 10_000, "with a busy timeout");
    } else {
        // Large columns are compressed with lz4 (this machine's PostgreSQL has it).
        let methods = app
            .rows(
                "SELECT attname::text AS name, attcompression::text AS method FROM pg_attribute \
                 WHERE attname IN ('state', 'raw_payload', 'snapshot', 'body') \
                 AND attrelid IN ('offer'::regclass, 'offer_revision'::regclass, 'webhook_delivery'::regclass) \
                 ORDER BY 1",
            )
            .await;
        let expected: Vec<Value> = ["body", "raw_payload", "snapshot", "state"]
            .iter()
            .map(|name| json!({"name": name, "method": "l"}))
            .collect();
        assert_eq!(methods, expected);
    }
    for path in ["/healthz", "/readyz"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
    }
}

async fn ingested_offer_is_readable_over_graphql(app: TestApp) {
    app.deliver(&fixture(API_SHAPE)).await;
    let response = app
        .graphql(
            "query($id: Int!) { offer(id: $id) { networkOfferId name statusRaw revision } }",
            json!({"id": 1019}),
        )
        .await;
    assert_eq!(
        response,
        json!({"data": {"offer": {"networkOfferId": 1019, "name": "New Offer", "statusRaw": "active", "revision": 1}}})
    );
}

async fn a_failing_delivery_does_not_fail_its_batch(app: TestApp) {
    crate::subscriptions::install_failing_trigger(&app, 666).await;
    let base = fixture(SEED_EXAMPLE);
    let bodies: Vec<Value> = (0..40)
        .map(|i| {
            let mut body = base.clone();
            body["network_offer_id"] = json!(if i == 17 { 666 } else { 5000 + i });
            body
        })
        .collect();
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let client = app.client.clone();
            let url = app.url("/webhooks/everflow");
            tokio::spawn(async move {
                let id = body["network_offer_id"].as_i64().unwrap();
                let response = client
                    .post(url)
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap();
                (id, response.status().as_u16())
            })
        })
        .collect();
    for task in tasks {
        let (id, status) = task.await.unwrap();
        let expected = if id == 666 { 503 } else { 200 };
        assert_eq!(status, expected, "offer {id}");
    }
    assert_eq!(offer_count(&app).await, 39);
    assert_eq!(
        app.rows("SELECT COUNT(*) AS n FROM offer_revision").await[0]["n"],
        39
    );
}

async fn replay_reapplies_stored_deliveries_in_order(app: TestApp) {
    // A history: two offers created, one updated, a duplicate and a rejected delivery.
    app.deliver(&fixture(API_SHAPE)).await;
    app.deliver(&fixture(SEED_EXAMPLE)).await;
    let mut update = fixture(SEED_EXAMPLE);
    update["time_saved"] = json!(1709600000);
    update["relationship"]["labels"]["label_entry_list"] = json!(["vip"]);
    app.deliver(&update).await;
    app.deliver(&fixture(API_SHAPE)).await;
    app.deliver_raw("/webhooks/everflow", "{\"network_offer_id\": \"x\"}")
        .await;
    let before = catalog_dump(app.db()).await;

    // The catalog is lost; the delivery log is not.
    {
        use sea_orm::ConnectionTrait;
        for table in [
            "offer_revision",
            "offer_label",
            "offer_channel",
            "payout_revenue",
            "offer_country",
            "offer_device_type",
            "offer_platform",
            "offer",
            "advertiser",
            "category",
            "channel",
            "label",
        ] {
            app.db()
                .execute_unprepared(&format!("DELETE FROM {table}"))
                .await
                .unwrap();
        }
    }
    let url = app.state.settings.database_url.clone();
    let stderr = run_cli(&url, &["replay"]).await;
    assert!(
        stderr.contains("5 deliveries replayed: 3 applied, 1 duplicate, 0 stale, 1 rejected"),
        "{stderr}"
    );
    assert_eq!(
        catalog_dump(app.db()).await,
        before,
        "replay rebuilt the same catalog"
    );
    let replayed = app
        .rows("SELECT COUNT(*) AS n FROM webhook_delivery WHERE source = 'replay'")
        .await;
    assert_eq!(
        replayed[0]["n"], 5,
        "each re-application is logged as a delivery too"
    );

    // --outcome selects: only the rejected one.
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_offer-catalog"))
        .args([
            "replay",
            "--outcome",
            "rejected",
            "--since",
            "2000-01-01T00:00:00Z",
        ])
        .env("DATABASE_URL", &url)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("2 deliveries replayed: 0 applied, 0 duplicate, 0 stale, 2 rejected"),
        "{stderr}"
    );
}

/// SQLite's checkpoints run beside the writer, not inside its commits: a
/// committed delivery reaches the database file itself (not only its WAL)
/// without anyone checkpointing by hand, and commits never checkpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_checkpoints_run_in_the_background() {
    use sea_orm::ConnectionTrait;

    let app = TestApp::spawn(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let autocheckpoint = app.rows("PRAGMA wal_autocheckpoint").await;
    assert_eq!(autocheckpoint[0]["wal_autocheckpoint"], 0);
    app.deliver(&fixture(API_SHAPE)).await;

    let url = &app.state.settings.database_url;
    let file = url
        .trim_start_matches("sqlite://")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let copies = tempfile::tempdir().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        // The database file alone, without its WAL: what checkpoints wrote.
        let copy = copies.path().join(format!("{}.db", rand::random::<u32>()));
        std::fs::copy(&file, &copy).unwrap();
        let store = offer_catalog::store::Store::connect(&format!("sqlite://{}", copy.display()))
            .await
            .unwrap();
        // A copy taken mid-checkpoint may be torn: then try again.
        let count = store
            .connection()
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DatabaseBackend::Sqlite,
                "SELECT COUNT(*) FROM offer",
            ))
            .await;
        if let Ok(Some(row)) = count
            && row.try_get_by_index::<i64>(0).ok() == Some(1)
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the delivery never reached the database file"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
