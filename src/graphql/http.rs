//! GraphQL over HTTP (`POST`/`GET /graphql`) and the GraphiQL page.
//!
//! Responses are `application/graphql-response+json` when the client accepts
//! it (then a request that fails before execution is a `400`), otherwise
//! `application/json` with `200`, as the GraphQL-over-HTTP spec describes.
use async_graphql_axum::GraphQLRequest;
use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use subtle::ConstantTimeEq;

use super::cache::{Lookup, ResponseCache};
use crate::app::AppState;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// True when the request carries the API token (or none is configured).
pub fn is_authorized(app: &AppState, headers: &HeaderMap) -> bool {
    let Some(token) = app.settings.api_token.as_deref() else {
        return true;
    };
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| bool::from(given.trim().as_bytes().ct_eq(token.as_bytes())))
}

fn unauthorized() -> Response {
    let body = serde_json::json!({
        "errors": [{
            "message": "missing or wrong API token: send `Authorization: Bearer <token>`",
            "extensions": {"code": "UNAUTHENTICATED"}
        }]
    });
    let mut response = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

fn wants_graphql_response_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains(GRAPHQL_RESPONSE_JSON))
}

/// The response header telling whether the response cache answered: `HIT`,
/// `MISS` (computed now, and kept if it had no errors) or `BYPASS`.
pub const X_CACHE: HeaderName = HeaderName::from_static("x-cache");

/// True when the client asked not to be answered from a cache.
fn bypasses_cache(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|directive| {
            let directive = directive.trim();
            directive.eq_ignore_ascii_case("no-cache") || directive.eq_ignore_ascii_case("no-store")
        })
}

fn respond(status: StatusCode, modern: bool, cache: &'static str, body: Bytes) -> Response {
    let content_type = if modern {
        GRAPHQL_RESPONSE_JSON
    } else {
        "application/json"
    };
    (
        status,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (X_CACHE, HeaderValue::from_static(cache)),
        ],
        body,
    )
        .into_response()
}

async fn execute(app: AppState, headers: HeaderMap, request: GraphQLRequest) -> Response {
    if !is_authorized(&app, &headers) {
        return unauthorized();
    }
    let request = request.into_inner();
    if request.query.trim().is_empty() {
        let body = serde_json::json!({
            "errors": [{"message": "no GraphQL query: send {\"query\": \"…\"} as JSON, or ?query=… with GET"}]
        });
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    }
    let modern = wants_graphql_response_json(&headers);

    // The catalog version is read before the query runs: a change committed
    // meanwhile bumps it, so what this run computes is never served as newer.
    let slot = match &app.response_cache {
        Some(cache) if !bypasses_cache(&headers) => match app.store.catalog_version().await {
            Ok(version) => match ResponseCache::request_key(&request) {
                Some(key) => match cache.lookup(version, key).await {
                    Lookup::Hit(body) => {
                        app.metrics.count_cache("hit");
                        return respond(StatusCode::OK, modern, "HIT", body);
                    }
                    Lookup::Miss(slot) => Some(slot),
                },
                None => None,
            },
            Err(error) => {
                tracing::warn!(%error, "no catalog version: answering without the cache");
                None
            }
        },
        _ => None,
    };

    let response = app.schema.execute(request).await;
    // No data at all means the request failed before execution (parse, validation, limits).
    let status = if modern && response.data == async_graphql::Value::Null && response.is_err() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = match serde_json::to_vec(&response) {
        Ok(body) => Bytes::from(body),
        Err(error) => {
            tracing::error!(%error, "a GraphQL response could not be serialized");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let result = match slot {
        Some(slot) => {
            // Errors are not kept: they may be transient (a database error).
            if response.is_ok() {
                slot.fill(body.clone());
            }
            "MISS"
        }
        None => "BYPASS",
    };
    app.metrics
        .count_cache(if result == "MISS" { "miss" } else { "bypass" });
    respond(status, modern, result, body)
}

/// `POST` and `GET /graphql`. The schema has no mutations, so GET and POST run
/// the same operations; a subscription sent over HTTP is a GraphQL error
/// pointing at `/graphql/ws`.
pub async fn graphql_http(
    State(app): State<AppState>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> Response {
    execute(app, headers, request).await
}

/// The example in GraphiQL's editor.
pub const EXAMPLE_QUERY: &str = r#"# Active offers a visitor from Germany can get, in E-Commerce,
# paying at least 10 USD, newest first, 50 at a time.
query GermanEcommerceOffers {
  offers(
    filter: {availableIn: "DE", categoryName: "E-Commerce", statuses: [ACTIVE], minPayout: "10", currency: "USD"}
    orderBy: {field: UPDATED_AT, direction: DESC}
    first: 50
  ) {
    totalCount
    edges {
      cursor
      node {
        networkOfferId
        name
        defaultPayout { payoutType payoutAmount currency }
        category { name }
        labels
        targeting { countries excludedCountries deviceTypes platforms }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"#;

/// GraphiQL, wired to `/graphql` and `/graphql/ws`, with its assets from the configured CDN.
pub async fn graphiql(State(app): State<AppState>) -> Html<String> {
    Html(graphiql_page(&app.settings.graphiql_cdn))
}

/// The GraphiQL page. With `?token=…` in its address it sends that API token on
/// HTTP (`Authorization` header) and in the WebSocket `connection_init` payload.
pub fn graphiql_page(cdn: &str) -> String {
    let cdn = cdn.trim_end_matches('/');
    let example = serde_json::to_string(EXAMPLE_QUERY).unwrap_or_default();
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>offer-catalog · GraphiQL</title>
  <style>body {{ margin: 0; height: 100vh; }} #graphiql {{ height: 100vh; }}</style>
  <link rel="stylesheet" href="{cdn}/graphiql@3.8.3/graphiql.min.css" />
  <script crossorigin src="{cdn}/react@18.3.1/umd/react.production.min.js"></script>
  <script crossorigin src="{cdn}/react-dom@18.3.1/umd/react-dom.production.min.js"></script>
</head>
<body>
  <div id="graphiql">Loading GraphiQL from {cdn} …</div>
  <script crossorigin src="{cdn}/graphiql@3.8.3/graphiql.min.js"></script>
  <script>
    const here = new URL(window.location.href);
    const token = here.searchParams.get("token");
    const auth = token ? {{ Authorization: "Bearer " + token }} : {{}};
    const endpoint = new URL("/graphql", window.location.origin).toString();
    const ws = new URL("/graphql/ws", window.location.origin);
    ws.protocol = ws.protocol === "https:" ? "wss:" : "ws:";
    const fetcher = GraphiQL.createFetcher({{
      url: endpoint,
      subscriptionUrl: ws.toString(),
      headers: auth,
      wsConnectionParams: auth,
    }});
    ReactDOM.createRoot(document.getElementById("graphiql")).render(
      React.createElement(GraphiQL, {{
        fetcher,
        defaultQuery: {example},
        defaultEditorToolsVisibility: true,
      }})
    );
  </script>
</body>
</html>
"#
    )
}
