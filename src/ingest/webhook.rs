//! `POST /webhooks/everflow` (and `/webhooks/offers`): authenticity (§3.1),
//! size limit, then [`Ingestor::ingest`]; the answer is sent after commit.
use axum::{
    Json,
    body::Bytes,
    extract::{Query, State, rejection::BytesRejection},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

use super::{Incoming, IngestError, Source};
use crate::app::AppState;

/// Largest accepted body (SPEC §3.2).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The query string of a delivery.
#[derive(Debug, Deserialize)]
pub struct DeliveryParams {
    token: Option<String>,
    event: Option<String>,
}

/// True when the delivery carries `secret`, compared in constant time.
fn is_authentic(secret: &str, params: &DeliveryParams, headers: &HeaderMap) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    [params.token.as_deref(), bearer]
        .into_iter()
        .flatten()
        .any(|given| bool::from(given.as_bytes().ct_eq(secret.as_bytes())))
}

fn error_body(status: StatusCode, error: &str, path: Option<&str>) -> Response {
    let body = match path {
        Some(path) => json!({ "error": error, "path": path }),
        None => json!({ "error": error }),
    };
    (status, Json(body)).into_response()
}

#[tracing::instrument(skip_all, fields(event = params.event.as_deref()))]
pub async fn receive_delivery(
    State(app): State<AppState>,
    Query(params): Query<DeliveryParams>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if let Some(secret) = app.settings.webhook_secret.as_deref()
        && !is_authentic(secret, &params, &headers)
    {
        app.metrics.count_delivery("unauthorized");
        tracing::warn!("delivery without the webhook secret refused");
        return error_body(
            StatusCode::UNAUTHORIZED,
            "missing or wrong webhook token",
            None,
        );
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let status = rejection.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                app.metrics.count_delivery("too_large");
                tracing::warn!(
                    limit = MAX_BODY_BYTES,
                    "delivery over the size limit refused"
                );
                return error_body(status, "body is larger than 1 MiB", None);
            }
            tracing::warn!(%rejection, "delivery body could not be read");
            return error_body(status, &rejection.body_text(), None);
        }
    };
    let incoming = Incoming {
        body: body.to_vec(),
        event: params.event.map(|e| e.chars().take(64).collect()),
        source: Source::Http,
    };
    match app.ingestor.ingest(&incoming).await {
        Ok(receipt) => {
            app.publish(&receipt);
            (StatusCode::OK, Json(receipt)).into_response()
        }
        Err(error) => {
            let status =
                StatusCode::from_u16(error.status_code()).unwrap_or(StatusCode::BAD_REQUEST);
            match &error {
                IngestError::Invalid(invalid) => {
                    error_body(status, &invalid.message, Some(&invalid.path))
                }
                IngestError::Malformed(message) => error_body(status, message, None),
                IngestError::Store(e) => {
                    tracing::error!(error = %e, "delivery could not be stored");
                    error_body(
                        status,
                        "the catalog database is unavailable; retry later",
                        None,
                    )
                }
            }
        }
    }
}
