//! The query API (SPEC §5) over real HTTP, on a catalog built by POSTing
//! webhook deliveries: filters, pagination, availability, batching, limits,
//! GraphQL-over-HTTP behaviour and GraphiQL.
use std::collections::HashSet;

use serde_json::{Value, json};

use offer_catalog::graphql::filter::OfferFilter;

use crate::helpers::{API_SHAPE, SEED_EXAMPLE, TestApp};

crate::on_both_backends!(
    every_filter_alone_and_combined,
    available_in_honours_include_exclude_and_untargeted,
    forward_and_backward_pages_equal_the_full_list_despite_inserts,
    every_ordering_pages_consistently,
    bad_cursors_are_clear_errors,
    statement_count_does_not_grow_with_page_size,
    limits_and_bad_input_are_graphql_errors,
    introspection_runs_under_the_limits,
    fixture_offer_reads_back_exactly,
    node_finds_every_object_type,
    facets_count_live_offers,
    http_semantics,
    graphiql_page_is_wired,
);

/// A delivery for a test offer; `configure` edits the JSON before it is sent.
fn offer(id: i64, name: &str, time_saved: i64, configure: impl FnOnce(&mut Value)) -> Value {
    let mut body = json!({
        "network_offer_id": id,
        "network_id": 1,
        "name": name,
        "offer_status": "active",
        "currency_id": "USD",
        "time_created": 100 + id,
        "time_saved": time_saved,
        "relationship": {}
    });
    configure(&mut body);
    body
}

fn set(body: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let target = if parent.is_empty() {
        &mut *body
    } else {
        body.pointer_mut(parent).unwrap()
    };
    target
        .as_object_mut()
        .unwrap()
        .insert(key.to_owned(), value);
}

fn payout(amount: Value) -> Value {
    json!({"total": 1, "entries": [{"network_offer_payout_revenue_id": 1, "payout_amount": amount, "is_default": true, "payout_type": "cpa"}]})
}

fn countries(rules: &[(&str, &str)]) -> Value {
    json!(
        rules
            .iter()
            .map(|(code, kind)| json!({"country_code": code, "targeting_type": kind}))
            .collect::<Vec<_>>()
    )
}

/// The filter catalog: six offers covering every filter dimension.
async fn filter_catalog(app: &TestApp) {
    let bodies = vec![
        offer(1, "Alpha Shoes", 1000, |b| {
            set(b, "/network_category_id", json!(10));
            set(b, "/network_advertiser_id", json!(100));
            set(
                b,
                "/relationship/category",
                json!({"network_category_id": 10, "name": "E-Commerce"}),
            );
            set(
                b,
                "/relationship/advertiser",
                json!({"network_advertiser_id": 100, "name": "Shoe Co"}),
            );
            set(b, "/relationship/labels", json!(["hot", "shoes"]));
            set(
                b,
                "/relationship/channels",
                json!([{"network_channel_id": 1, "name": "Email"}]),
            );
            set(b, "/relationship/payout_revenue", payout(json!(12.5)));
            set(
                b,
                "/relationship/targeting",
                json!({"countries": countries(&[("DE", "include"), ("FR", "include")]), "device_types": ["Mobile"], "platforms": ["iOS"]}),
            );
        }),
        offer(2, "Beta Loans", 2000, |b| {
            set(b, "/currency_id", json!("EUR"));
            set(b, "/network_category_id", json!(20));
            set(b, "/network_advertiser_id", json!(200));
            set(
                b,
                "/relationship/category",
                json!({"network_category_id": 20, "name": "Finance"}),
            );
            set(b, "/relationship/labels", json!(["finance"]));
            set(
                b,
                "/relationship/channels",
                json!([{"network_channel_id": 2, "name": "Push"}]),
            );
            set(b, "/relationship/payout_revenue", payout(json!("5")));
            set(
                b,
                "/relationship/targeting",
                json!({"countries": countries(&[("DE", "exclude")]), "device_types": ["Desktop"], "platforms": ["Windows"]}),
            );
        }),
        offer(3, "Gamma Games", 3000, |b| {
            set(b, "/offer_status", json!("paused"));
            set(b, "/network_category_id", json!(10));
            set(b, "/network_advertiser_id", json!(100));
            set(b, "/relationship/labels", json!(["hot"]));
            set(
                b,
                "/relationship/channels",
                json!([{"network_channel_id": 1}, {"network_channel_id": 2}]),
            );
            set(b, "/relationship/payout_revenue", payout(json!(30)));
        }),
        offer(4, "Delta Deleted", 4000, |b| {
            set(b, "/offer_status", json!("deleted"));
            set(b, "/network_category_id", json!(10));
            set(b, "/network_advertiser_id", json!(200));
            set(b, "/relationship/labels", json!(["hot"]));
            set(b, "/relationship/payout_revenue", payout(json!(50)));
            set(
                b,
                "/relationship/targeting",
                json!({"countries": countries(&[("DE", "include")])}),
            );
        }),
        offer(5, "Epsilon 100% Bonus", 5000, |b| {
            set(b, "/offer_status", json!("pending"));
            set(b, "/network_category_id", json!(30));
            set(b, "/network_advertiser_id", json!(300));
            set(
                b,
                "/relationship/category",
                json!({"network_category_id": 30, "name": "Dating"}),
            );
            set(
                b,
                "/relationship/targeting",
                json!({"countries": countries(&[("US", "include")])}),
            );
        }),
        offer(6, "Zeta_Under", 6000, |b| {
            set(b, "/network_category_id", json!(20));
            set(b, "/relationship/labels", json!(["Hot"]));
            set(b, "/relationship/payout_revenue", payout(json!("10.00")));
            set(
                b,
                "/relationship/targeting",
                json!({"countries": countries(&[("de", "include"), ("GB", "exclude")])}),
            );
        }),
    ];
    for body in &bodies {
        assert_eq!(app.deliver(body).await["outcome"], "applied");
    }
}

/// `networkOfferId`s of `offers(filter: …)` in order, checking `totalCount` agrees.
async fn ids(app: &TestApp, filter: Value) -> Vec<i64> {
    let response = app
        .graphql(
            "query($f: OfferFilter) { offers(filter: $f, first: 100) { totalCount edges { node { networkOfferId } } } }",
            json!({ "f": filter }),
        )
        .await;
    assert!(response.get("errors").is_none(), "{filter}: {response}");
    let connection = &response["data"]["offers"];
    let ids: Vec<i64> = connection["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["networkOfferId"].as_i64().unwrap())
        .collect();
    assert_eq!(
        connection["totalCount"],
        ids.len() as i64,
        "{filter}: totalCount"
    );
    ids
}

async fn every_filter_alone_and_combined(app: TestApp) {
    filter_catalog(&app).await;
    let cases: Vec<(Value, Vec<i64>)> = vec![
        (json!(null), vec![6, 5, 3, 2, 1]),
        (json!({"availableIn": "DE"}), vec![6, 3, 1]),
        (json!({"availableIn": "de"}), vec![6, 3, 1]),
        (json!({"availableIn": "US"}), vec![5, 3, 2]),
        (json!({"availableIn": "GB"}), vec![3, 2]),
        (json!({"countries": ["DE"]}), vec![6, 1]),
        (json!({"countries": ["de", "us"]}), vec![6, 5, 1]),
        (json!({"categoryIds": [10]}), vec![3, 1]),
        (json!({"categoryName": "e-commerce"}), vec![3, 1]),
        (json!({"statuses": ["DELETED"]}), vec![4]),
        (json!({"statuses": ["ACTIVE", "PAUSED"]}), vec![6, 3, 2, 1]),
        (json!({"advertiserIds": [100]}), vec![3, 1]),
        (json!({"labels": ["hot"]}), vec![3, 1]),
        (json!({"labels": ["Hot", "finance"]}), vec![6, 2]),
        (json!({"channelIds": [2]}), vec![3, 2]),
        (json!({"deviceTypes": ["mobile"]}), vec![1]),
        (json!({"platforms": ["WINDOWS"]}), vec![2]),
        (json!({"search": "TA"}), vec![6, 2]),
        (json!({"search": "100%"}), vec![5]),
        (json!({"search": "_"}), vec![6]),
        (json!({"currency": "usd"}), vec![6, 5, 3, 1]),
        (json!({"minPayout": "10"}), vec![6, 3, 1]),
        (json!({"minPayout": 12.5}), vec![3, 1]),
        (
            json!({"updatedSince": "1970-01-01T00:50:00Z"}),
            vec![6, 5, 3],
        ),
        (
            json!({"availableIn": "DE", "categoryIds": [10], "minPayout": "10", "labels": ["hot"]}),
            vec![3, 1],
        ),
        (
            json!({"availableIn": "DE", "categoryIds": [10], "minPayout": "10", "labels": ["hot"], "statuses": ["ACTIVE"]}),
            vec![1],
        ),
        (
            json!({"categoryName": "Finance", "currency": "EUR", "channelIds": [2]}),
            vec![2],
        ),
        (
            json!({"countries": ["FR"], "availableIn": "FR", "deviceTypes": ["Mobile"]}),
            vec![1],
        ),
        (json!({"labels": ["nope"]}), vec![]),
    ];
    let all: Vec<i64> = (1..=6).collect();
    let states: Vec<_> = app
        .state
        .store
        .offers_by_ids(&all)
        .await
        .unwrap()
        .iter()
        .map(|record| record.decode_state().unwrap())
        .collect();
    for (filter, expected) in cases {
        assert_eq!(ids(&app, filter.clone()).await, expected, "filter {filter}");
        // Subscriptions match in memory: the same filter must pick the same offers.
        let parsed = <OfferFilter as async_graphql::InputType>::parse(Some(
            async_graphql::Value::from_json(if filter.is_null() {
                json!({})
            } else {
                filter.clone()
            })
            .unwrap(),
        ))
        .unwrap();
        let conditions = parsed.to_conditions().unwrap();
        let mut in_memory: Vec<i64> = states
            .iter()
            .filter(|s| conditions.matches(s))
            .map(|s| s.network_offer_id)
            .collect();
        in_memory.sort_by(|a, b| b.cmp(a));
        assert_eq!(in_memory, expected, "in-memory match of {filter}");
    }
}

async fn available_in_honours_include_exclude_and_untargeted(app: TestApp) {
    let bodies = [
        offer(1, "included", 10, |b| {
            set(
                b,
                "/relationship/targeting",
                json!({"geo": {"countries": ["US", "CA"]}}),
            )
        }),
        offer(2, "excluded", 20, |b| {
            set(
                b,
                "/relationship/targeting",
                json!({"countries": countries(&[("US", "exclude")])}),
            )
        }),
        offer(3, "untargeted", 30, |_| {}),
        offer(4, "elsewhere", 40, |b| {
            set(
                b,
                "/relationship/targeting",
                json!({"countries": countries(&[("FR", "include")])}),
            )
        }),
        offer(5, "included but excluded", 50, |b| {
            set(
                b,
                "/relationship/targeting",
                json!({"countries": countries(&[("US", "include"), ("US", "exclude")])}),
            )
        }),
    ];
    for body in &bodies {
        app.deliver(body).await;
    }
    assert_eq!(ids(&app, json!({"availableIn": "US"})).await, [3, 1]);
    // Offer 5 includes and excludes the US: it is available nowhere.
    assert_eq!(ids(&app, json!({"availableIn": "CA"})).await, [3, 2, 1]);
    assert_eq!(ids(&app, json!({"availableIn": "FR"})).await, [4, 3, 2]);
    assert_eq!(ids(&app, json!({"availableIn": "JP"})).await, [3, 2]);

    // Retargeting moves an offer in and out.
    app.deliver(&offer(4, "elsewhere", 41, |b| {
        set(b, "/relationship/targeting", json!({"countries": []}))
    }))
    .await;
    assert_eq!(ids(&app, json!({"availableIn": "JP"})).await, [4, 3, 2]);
}

/// Every page of `offers` in one direction, inserting offers between fetches.
async fn walk(
    app: &TestApp,
    order: Value,
    backward: bool,
    page: i64,
    mut between: impl AsyncFnMut(usize),
) -> Vec<i64> {
    let query = if backward {
        "query($o: OfferOrder, $n: Int, $c: String) { offers(orderBy: $o, last: $n, before: $c) { edges { node { networkOfferId } } pageInfo { hasPreviousPage hasNextPage startCursor endCursor } } }"
    } else {
        "query($o: OfferOrder, $n: Int, $c: String) { offers(orderBy: $o, first: $n, after: $c) { edges { node { networkOfferId } } pageInfo { hasPreviousPage hasNextPage startCursor endCursor } } }"
    };
    let mut cursor = Value::Null;
    let mut pages: Vec<Vec<i64>> = Vec::new();
    for round in 0.. {
        let response = app
            .graphql(query, json!({"o": order, "n": page, "c": cursor}))
            .await;
        assert!(response.get("errors").is_none(), "{response}");
        let connection = &response["data"]["offers"];
        let ids: Vec<i64> = connection["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["networkOfferId"].as_i64().unwrap())
            .collect();
        assert!(ids.len() as i64 <= page);
        pages.push(ids);
        let info = &connection["pageInfo"];
        let more = if backward {
            &info["hasPreviousPage"]
        } else {
            &info["hasNextPage"]
        };
        if more != true {
            break;
        }
        cursor = if backward {
            info["startCursor"].clone()
        } else {
            info["endCursor"].clone()
        };
        between(round).await;
    }
    if backward {
        pages.reverse();
    }
    pages.into_iter().flatten().collect()
}

async fn forward_and_backward_pages_equal_the_full_list_despite_inserts(app: TestApp) {
    // 240 offers with many ties on time_saved: the id breaks them.
    let mut original: Vec<(i64, i64)> = Vec::new();
    for id in 1..=240 {
        let time_saved = 10_000 + (id * 7919 % 37);
        original.push((time_saved, id));
        app.deliver(&offer(id, &format!("Offer {id:04}"), time_saved, |_| {}))
            .await;
    }
    let mut expected = original.clone();
    expected.sort_by(|a, b| b.cmp(a));
    let expected: Vec<i64> = expected.into_iter().map(|(_, id)| id).collect();
    let original_ids: HashSet<i64> = expected.iter().copied().collect();

    for backward in [false, true] {
        let mut next_id = if backward { 2000 } else { 1000 };
        let seen = walk(
            &app,
            json!({"field": "UPDATED_AT", "direction": "DESC"}),
            backward,
            25,
            async |round| {
                // Between pages: one offer newer than everything, one older, one in the middle.
                for time_saved in [99_999, 1, 10_000 + (round as i64 % 37)] {
                    next_id += 1;
                    app.deliver(&offer(next_id, "inserted", time_saved, |_| {}))
                        .await;
                }
            },
        )
        .await;
        let unique: HashSet<i64> = seen.iter().copied().collect();
        assert_eq!(
            unique.len(),
            seen.len(),
            "no offer repeats (backward: {backward})"
        );
        let originals_seen: Vec<i64> = seen
            .iter()
            .copied()
            .filter(|id| original_ids.contains(id))
            .collect();
        assert_eq!(
            originals_seen, expected,
            "no offer skipped, order kept (backward: {backward})"
        );
    }
}

async fn every_ordering_pages_consistently(app: TestApp) {
    for id in 1..=60 {
        app.deliver(&offer(
            id,
            &format!("Name {:03}", (id * 37) % 61),
            500 + id % 5,
            |b| {
                set(b, "/time_created", json!(1000 + id % 7));
                if id % 4 != 0 {
                    set(
                        b,
                        "/relationship/payout_revenue",
                        payout(json!(format!("{}.25", id % 9))),
                    );
                }
            },
        ))
        .await;
    }
    for field in ["UPDATED_AT", "CREATED_AT", "NAME", "DEFAULT_PAYOUT"] {
        for direction in ["ASC", "DESC"] {
            let order = json!({"field": field, "direction": direction});
            let whole = ids_ordered(&app, order.clone()).await;
            assert_eq!(whole.len(), 60);
            let forward = walk(&app, order.clone(), false, 7, async |_| {}).await;
            let backward = walk(&app, order.clone(), true, 9, async |_| {}).await;
            assert_eq!(forward, whole, "{order} forward");
            assert_eq!(backward, whole, "{order} backward");
        }
    }
    // The sort itself: names ascending are in byte order, payouts descending by amount then id.
    let names = names_ordered(&app, json!({"field": "NAME", "direction": "ASC"})).await;
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    let by_payout = ids_ordered(
        &app,
        json!({"field": "DEFAULT_PAYOUT", "direction": "DESC"}),
    )
    .await;
    let mut expected: Vec<(i64, i64)> = (1..=60)
        .map(|id| (if id % 4 != 0 { (id % 9) * 100 + 25 } else { -1 }, id))
        .collect();
    expected.sort_by(|a, b| b.cmp(a));
    assert_eq!(
        by_payout,
        expected.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
    );
}

async fn ids_ordered(app: &TestApp, order: Value) -> Vec<i64> {
    let response = app
        .graphql(
            "query($o: OfferOrder) { offers(orderBy: $o, first: 100) { edges { node { networkOfferId } } } }",
            json!({"o": order}),
        )
        .await;
    response["data"]["offers"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{response}"))
        .iter()
        .map(|e| e["node"]["networkOfferId"].as_i64().unwrap())
        .collect()
}

async fn names_ordered(app: &TestApp, order: Value) -> Vec<String> {
    let response = app
        .graphql(
            "query($o: OfferOrder) { offers(orderBy: $o, first: 100) { edges { node { name } } } }",
            json!({"o": order}),
        )
        .await;
    response["data"]["offers"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["name"].as_str().unwrap().to_owned())
        .collect()
}

fn error_message(response: &Value) -> String {
    response["errors"][0]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error: {response}"))
        .to_owned()
}

fn error_code(response: &Value) -> String {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn bad_cursors_are_clear_errors(app: TestApp) {
    for id in 1..=3 {
        app.deliver(&offer(id, &format!("o{id}"), id, |_| {})).await;
    }
    let page = app
        .graphql("{ offers(first: 1) { pageInfo { endCursor } } }", json!({}))
        .await;
    let cursor = page["data"]["offers"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let q = "query($c: String, $o: OfferOrder) { offers(first: 1, after: $c, orderBy: $o) { edges { cursor } } }";

    let ok = app.graphql(q, json!({"c": cursor})).await;
    assert!(ok.get("errors").is_none(), "{ok}");
    let foreign = app
        .graphql(q, json!({"c": cursor, "o": {"field": "NAME"}}))
        .await;
    assert!(error_message(&foreign).contains("ordering"), "{foreign}");
    assert_eq!(error_code(&foreign), "BAD_USER_INPUT");
    let mut tampered = cursor.clone();
    tampered.insert(3, 'x');
    for bad in [
        tampered.as_str(),
        "abc",
        "",
        "eyJ2Ijo5OX0",
        "YXJyYXljb25uZWN0aW9uOjE=",
    ] {
        let response = app.graphql(q, json!({"c": bad})).await;
        assert!(
            error_message(&response).contains("cursor"),
            "{bad}: {response}"
        );
        assert_eq!(response["data"], Value::Null);
    }
}

const EVERY_NESTED_FIELD: &str = r#"
query($n: Int) {
  offers(first: $n) {
    totalCount
    edges { cursor node {
      id networkOfferId networkId name status statusRaw visibility visibilityRaw currency
      destinationUrl previewUrl thumbnailUrl caps { daily weekly monthly global }
      createdAt updatedAt revision
      advertiser { id networkAdvertiserId name }
      category { id networkCategoryId name offerCount }
      labels channels { id networkChannelId name }
      payouts { id networkOfferPayoutRevenueId entryName isDefault payoutType payoutAmount payoutPercentage
                revenueType revenueAmount revenuePercentage currency mustApproveConversion allowDuplicateConversion }
      defaultPayout { payoutAmount }
      targeting { countries excludedCountries deviceTypes platforms }
      history(first: 3) { revision at changedFields }
    } }
    pageInfo { hasNextPage endCursor }
  }
}"#;

async fn statement_count_does_not_grow_with_page_size(app: TestApp) {
    for id in 1..=120 {
        app.deliver(&offer(id, &format!("offer {id}"), id, |b| {
            set(b, "/network_category_id", json!(id % 9 + 1));
            set(b, "/network_advertiser_id", json!(id % 13 + 1));
            set(
                b,
                "/relationship/category",
                json!({"network_category_id": id % 9 + 1, "name": format!("cat {}", id % 9)}),
            );
            set(b, "/relationship/labels", json!([format!("l{}", id % 5)]));
            set(
                b,
                "/relationship/channels",
                json!([{"network_channel_id": id % 4 + 1}, {"network_channel_id": id % 6 + 10}]),
            );
            set(b, "/relationship/payout_revenue", payout(json!(id)));
            set(
                b,
                "/relationship/targeting",
                json!({"countries": countries(&[("US", "include"), ("MX", "exclude")])}),
            );
        }))
        .await;
    }
    let store = &app.state.store;
    // On PostgreSQL the change listener reads each notified revision: let it finish.
    loop {
        let before = store.statements_executed();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        if store.statements_executed() == before {
            break;
        }
    }
    let mut counts = Vec::new();
    for n in [5, 100, 5] {
        let before = store.statements_executed();
        // The resolvers' statements, not the response cache's.
        let response = app.graphql_fresh(EVERY_NESTED_FIELD, json!({"n": n})).await;
        let after = store.statements_executed();
        assert!(response.get("errors").is_none(), "{response}");
        assert_eq!(
            response["data"]["offers"]["edges"]
                .as_array()
                .unwrap()
                .len(),
            n as usize
        );
        counts.push(after - before);
    }
    assert_eq!(
        counts[0], counts[1],
        "statements for first: 5 vs first: 100: {counts:?}"
    );
    assert_eq!(counts[0], counts[2]);
    assert!(
        counts[0] <= 10,
        "a page with every nested field takes few statements: {counts:?}"
    );
}

async fn limits_and_bad_input_are_graphql_errors(app: TestApp) {
    app.deliver(&serde_json::from_str(API_SHAPE).unwrap()).await;
    let cases: Vec<(String, &str, &str)> = vec![
        ("{ offers(first: 101) { totalCount } }".into(), "LIMIT_EXCEEDED", "0 to 100"),
        ("{ offers(last: -1) { totalCount } }".into(), "LIMIT_EXCEEDED", "0 to 100"),
        ("{ offers(first: 5, last: 5) { totalCount } }".into(), "BAD_USER_INPUT", "not a mix"),
        ("{ offer(id: 1019) { history(first: 1000) { revision } } }".into(), "LIMIT_EXCEEDED", "0 to 100"),
        (r#"{ offers(filter: {availableIn: "Germany"}) { totalCount } }"#.into(), "BAD_USER_INPUT", "ISO 3166-1"),
        (r#"{ offers(filter: {countries: ["US", "UK"]}) { totalCount } }"#.into(), "BAD_USER_INPUT", "GB"),
        (r#"{ offers(filter: {minPayout: "ten"}) { totalCount } }"#.into(), "", "decimal"),
        (r#"{ offers(filter: {updatedSince: "yesterday"}) { totalCount } }"#.into(), "", "DateTime"),
        (r#"{ node(id: "bm9wZQ") { id } }"#.into(), "BAD_USER_INPUT", "not an id"),
        (
            format!("{{ {} }}", (0..40).map(|i| format!("a{i}: offers(first: 100) {{ edges {{ node {{ name labels payouts {{ payoutAmount }} }} }} }}")).collect::<Vec<_>>().join(" ")),
            "",
            "too complex",
        ),
        (
            format!("{{ __schema {{ types {{ fields {{ type {{ {} name {} }} }} }} }} }}", "ofType { ".repeat(14), "} ".repeat(14)),
            "",
            "nested too deep",
        ),
        ("{ offers { nope } }".into(), "", "Unknown field"),
        ("{ offers(".into(), "", ""),
    ];
    for (query, code, needle) in cases {
        let response = app
            .client
            .post(app.url("/graphql"))
            .json(&json!({"query": query}))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{query}: {body}");
        let message = error_message(&body);
        assert!(message.contains(needle), "{query}: {message}");
        if !code.is_empty() {
            assert_eq!(error_code(&body), code, "{query}");
        }
    }
}

/// graphql-js's `getIntrospectionQuery()`, as GraphiQL sends it.
const INTROSPECTION_QUERY: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}"#;

async fn introspection_runs_under_the_limits(app: TestApp) {
    let response = app.graphql(INTROSPECTION_QUERY, json!({})).await;
    assert!(response.get("errors").is_none(), "{response}");
    let types = response["data"]["__schema"]["types"].as_array().unwrap();
    let names: HashSet<&str> = types.iter().filter_map(|t| t["name"].as_str()).collect();
    for expected in [
        "Offer",
        "OfferFilter",
        "OfferConnection",
        "Node",
        "Decimal",
        "DateTime",
        "CountryFacet",
    ] {
        assert!(names.contains(expected), "{expected} in the schema");
    }
}

async fn fixture_offer_reads_back_exactly(app: TestApp) {
    app.deliver(&serde_json::from_str(API_SHAPE).unwrap()).await;
    let response = app
        .graphql(
            r#"{ offer(id: 1019) {
                networkOfferId networkId name status statusRaw visibility visibilityRaw currency
                destinationUrl previewUrl thumbnailUrl caps { daily weekly monthly global }
                createdAt updatedAt revision
                advertiser { networkAdvertiserId name } category { networkCategoryId name offerCount }
                labels channels { networkChannelId name }
                payouts { networkOfferPayoutRevenueId entryName isDefault payoutType payoutAmount payoutPercentage
                          revenueType revenueAmount revenuePercentage currency mustApproveConversion allowDuplicateConversion }
                defaultPayout { networkOfferPayoutRevenueId }
                targeting { countries excludedCountries deviceTypes platforms }
                history { revision changedFields }
            } missing: offer(id: 999) { name } }"#,
            json!({}),
        )
        .await;
    let offer = &response["data"]["offer"];
    assert_eq!(response["data"]["missing"], Value::Null);
    assert_eq!(
        *offer,
        json!({
            "networkOfferId": 1019, "networkId": 1, "name": "New Offer", "status": "ACTIVE", "statusRaw": "active",
            "visibility": "REQUIRE_APPROVAL", "visibilityRaw": "require_approval", "currency": "USD",
            "destinationUrl": "http://destination-url.com/?tid={transaction_id}", "previewUrl": "http://preview-url.com",
            "thumbnailUrl": "https://assets.efusercontent.com/1/offers/1019/thumb/example-thumbnail.png",
            "caps": {"daily": 100, "weekly": null, "monthly": null, "global": null},
            "createdAt": "2024-03-03T21:06:40+00:00", "updatedAt": "2024-03-03T23:53:20+00:00", "revision": 1,
            "advertiser": {"networkAdvertiserId": 64, "name": "Gabielle Deleon Inc."},
            "category": {"networkCategoryId": 18, "name": "Finance", "offerCount": 1},
            "labels": ["finance", "us-only"],
            "channels": [{"networkChannelId": 3, "name": "Email Marketing"}],
            "payouts": [
                {"networkOfferPayoutRevenueId": 51, "entryName": null, "isDefault": true, "payoutType": "cpa",
                 "payoutAmount": "2.5", "payoutPercentage": "0", "revenueType": "rpa", "revenueAmount": "4",
                 "revenuePercentage": "0", "currency": "USD", "mustApproveConversion": false, "allowDuplicateConversion": true},
                {"networkOfferPayoutRevenueId": 52, "entryName": "Upsell", "isDefault": false, "payoutType": "cpa_cps",
                 "payoutAmount": "1", "payoutPercentage": "10", "revenueType": "rpa_rps", "revenueAmount": "2",
                 "revenuePercentage": "15", "currency": "USD", "mustApproveConversion": false, "allowDuplicateConversion": false}
            ],
            "defaultPayout": {"networkOfferPayoutRevenueId": 51},
            "targeting": {"countries": ["US"], "excludedCountries": [], "deviceTypes": ["Mobile"], "platforms": ["iOS"]},
            "history": [{"revision": 1, "changedFields": offer["history"][0]["changedFields"].clone()}]
        })
    );
    // An update shows in history, newest first.
    let mut newer: Value = serde_json::from_str(API_SHAPE).unwrap();
    newer["time_saved"] = json!(1709600000);
    newer["relationship"]["labels"]["entries"] = json!(["finance"]);
    app.deliver(&newer).await;
    let history = app
        .graphql(
            "{ offer(id: 1019) { revision history { revision changedFields } } }",
            json!({}),
        )
        .await;
    assert_eq!(history["data"]["offer"]["revision"], 2);
    assert_eq!(
        history["data"]["offer"]["history"][0],
        json!({"revision": 2, "changedFields": ["time_saved", "labels"]})
    );
    assert_eq!(history["data"]["offer"]["history"][1]["revision"], 1);
}

async fn node_finds_every_object_type(app: TestApp) {
    app.deliver(&serde_json::from_str(API_SHAPE).unwrap()).await;
    let ids = app
        .graphql(
            "{ offer(id: 1019) { id advertiser { id } category { id } channels { id } payouts { id } } }",
            json!({}),
        )
        .await;
    let offer = &ids["data"]["offer"];
    let expectations = [
        (
            offer["id"].clone(),
            "... on Offer { networkOfferId }",
            json!({"networkOfferId": 1019}),
        ),
        (
            offer["advertiser"]["id"].clone(),
            "... on Advertiser { networkAdvertiserId }",
            json!({"networkAdvertiserId": 64}),
        ),
        (
            offer["category"]["id"].clone(),
            "... on Category { networkCategoryId }",
            json!({"networkCategoryId": 18}),
        ),
        (
            offer["channels"][0]["id"].clone(),
            "... on Channel { networkChannelId }",
            json!({"networkChannelId": 3}),
        ),
        (
            offer["payouts"][1]["id"].clone(),
            "... on Payout { networkOfferPayoutRevenueId }",
            json!({"networkOfferPayoutRevenueId": 52}),
        ),
    ];
    let mut seen = HashSet::new();
    for (id, fragment, expected) in expectations {
        assert!(
            seen.insert(id.as_str().unwrap().to_owned()),
            "ids are unique across types"
        );
        let response = app
            .graphql(
                &format!("query($id: ID!) {{ node(id: $id) {{ id {fragment} }} }}"),
                json!({"id": id}),
            )
            .await;
        let node = &response["data"]["node"];
        assert_eq!(node["id"], id, "{response}");
        for (k, v) in expected.as_object().unwrap() {
            assert_eq!(node[k], *v, "{response}");
        }
    }
    // A well-formed id of a missing offer is null, not an error.
    let missing = app
        .graphql(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({"id": "T2ZmZXI6OTk5"}),
        )
        .await;
    assert_eq!(missing, json!({"data": {"node": null}}));
}

async fn facets_count_live_offers(app: TestApp) {
    filter_catalog(&app).await;
    let response = app
        .graphql(
            "{ categories { networkCategoryId name offerCount } labels { name offerCount } countries { code offerCount } advertisers { networkAdvertiserId name } channels { networkChannelId name } }",
            json!({}),
        )
        .await;
    let data = &response["data"];
    assert_eq!(
        data["categories"],
        json!([
            {"networkCategoryId": 30, "name": "Dating", "offerCount": 1},
            {"networkCategoryId": 10, "name": "E-Commerce", "offerCount": 2},
            {"networkCategoryId": 20, "name": "Finance", "offerCount": 2}
        ]),
        "the deleted offer 4 is not counted in E-Commerce"
    );
    assert_eq!(
        data["labels"],
        json!([
            {"name": "Hot", "offerCount": 1}, {"name": "finance", "offerCount": 1},
            {"name": "hot", "offerCount": 2}, {"name": "shoes", "offerCount": 1}
        ])
    );
    assert_eq!(
        data["countries"],
        json!([{"code": "DE", "offerCount": 2}, {"code": "FR", "offerCount": 1}, {"code": "US", "offerCount": 1}])
    );
    assert_eq!(
        data["advertisers"],
        json!([
            {"networkAdvertiserId": 100, "name": "Shoe Co"},
            {"networkAdvertiserId": 200, "name": null},
            {"networkAdvertiserId": 300, "name": null}
        ]),
        "stubs for ids without details too"
    );
    assert_eq!(
        data["channels"],
        json!([{"networkChannelId": 1, "name": "Email"}, {"networkChannelId": 2, "name": "Push"}])
    );
}

async fn http_semantics(app: TestApp) {
    app.deliver(&serde_json::from_str(SEED_EXAMPLE).unwrap())
        .await;
    // GET runs queries.
    let get = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{ offer(id: 12345) { name } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(get.status().as_u16(), 200);
    assert!(
        get.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(
        get.json::<Value>().await.unwrap(),
        json!({"data": {"offer": {"name": "Premium Subscription Offer"}}})
    );
    // application/graphql-response+json when asked; a request error is then a 400.
    let modern = app
        .client
        .post(app.url("/graphql"))
        .header("accept", "application/graphql-response+json")
        .json(&json!({"query": "{ offers( "}))
        .send()
        .await
        .unwrap();
    assert_eq!(modern.status().as_u16(), 400);
    assert_eq!(
        modern.headers()["content-type"],
        "application/graphql-response+json"
    );
    assert!(modern.json::<Value>().await.unwrap()["errors"].is_array());
    let legacy = app
        .client
        .post(app.url("/graphql"))
        .header("accept", "application/json")
        .json(&json!({"query": "{ offers( "}))
        .send()
        .await
        .unwrap();
    assert_eq!(legacy.status().as_u16(), 200);
    // Malformed requests are 4xx, never 500.
    for (content_type, body) in [
        ("application/json", "{not json"),
        ("application/json", "[1, 2"),
        ("application/json", "{\"query\": 5}"),
        ("text/plain", "hello"),
    ] {
        let response = app
            .client
            .post(app.url("/graphql"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        assert!((400..500).contains(&status), "{body}: {status}");
    }
    // Browsers on other origins may call the API (CORS preflight).
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/graphql"))
        .header("origin", "https://dashboard.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    let allowed = preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        allowed.contains("authorization") && allowed.contains("content-type"),
        "{allowed}"
    );
    // Subscriptions belong on /graphql/ws.
    let over_http = app
        .graphql("subscription { offerChanged { revision } }", json!({}))
        .await;
    assert!(
        over_http["errors"][0]["message"].as_str().is_some(),
        "{over_http}"
    );
    let no_query = app.client.get(app.url("/graphql")).send().await.unwrap();
    assert!((400..500).contains(&no_query.status().as_u16()));
}

async fn graphiql_page_is_wired(app: TestApp) {
    for path in ["/", "/graphiql"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let page = response.text().await.unwrap();
        assert!(
            page.contains(r#"new URL("/graphql", window.location.origin)"#),
            "{path}"
        );
        assert!(
            page.contains(r#"new URL("/graphql/ws", window.location.origin)"#),
            "{path}"
        );
        assert!(page.contains("https://unpkg.com/graphiql@"), "{path}");
        assert!(
            page.contains("availableIn: \\\"DE\\\""),
            "the example query is in the editor"
        );
    }
    let mirrored = TestApp::spawn_with(app.backend, |s| {
        s.graphiql_cdn = "https://mirror.example/npm/".into()
    })
    .await
    .unwrap();
    let page = mirrored
        .client
        .get(mirrored.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("https://mirror.example/npm/graphiql@3"));
    assert!(page.contains("https://mirror.example/npm/react@"));
    assert!(!page.contains("unpkg.com"));
}
