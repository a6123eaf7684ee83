//! `GET /graphql/ws`: subscriptions over WebSocket, in both the
//! `graphql-transport-ws` and the legacy `graphql-ws` protocol.
//!
//! The server pings every client every `ws_ping_secs` (20 s by default) and
//! closes a connection that has not answered (any frame counts) for two
//! intervals, so dead clients are reaped even if they never unsubscribe.
use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use async_graphql::{Data, Error};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::{
    extract::{
        State, WebSocketUpgrade,
        ws::{Message, WebSocket},
    },
    http::HeaderMap,
    response::Response,
};
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use subtle::ConstantTimeEq;
use tokio::sync::mpsc;
use tokio_util::sync::PollSender;

use super::http::is_authorized;
use crate::app::AppState;

/// Largest client message accepted.
const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Read and write buffer of one connection.
const SOCKET_BUFFER_BYTES: usize = 8 * 1024;

pub async fn graphql_ws(
    State(app): State<AppState>,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    // A token in the upgrade request's header counts as given.
    let header_ok = app.settings.api_token.is_some() && is_authorized(&app, &headers);
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(MAX_MESSAGE_BYTES)
        // Tungstenite's defaults (128 KiB each way, allocated per connection) would
        // cost over 2 GiB at 10,000 subscribers; events are small.
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(SOCKET_BUFFER_BYTES)
        .on_upgrade(move |socket| serve(app, socket, protocol, header_ok))
}

/// The token in a `connection_init` payload: `Authorization` (any case) or `token`.
fn token_in(payload: &Value) -> Option<&str> {
    let map = payload.as_object()?;
    map.iter().find_map(|(key, value)| {
        let value = value.as_str()?;
        if key.eq_ignore_ascii_case("authorization") {
            Some(value.strip_prefix("Bearer ").unwrap_or(value).trim())
        } else if key == "token" {
            Some(value.trim())
        } else {
            None
        }
    })
}

async fn serve(app: AppState, socket: WebSocket, protocol: GraphQLProtocol, header_ok: bool) {
    app.metrics.ws_connections.inc();
    let (mut sink, stream) = socket.split();
    let last_heard = Arc::new(AtomicU64::new(0));
    let started = Instant::now();

    // Frames from the client; any frame proves it is alive.
    let heard = last_heard.clone();
    let incoming = stream.inspect(move |_| {
        heard.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
    });

    // Everything to the client goes through one bounded queue, pings included.
    let (sender, mut outgoing) = mpsc::channel::<Message>(64);
    let ping_interval = Duration::from_secs(app.settings.ws_ping_secs.max(1));
    let writer = tokio::spawn(async move {
        let mut ticker = tokio::time::interval(ping_interval);
        ticker.tick().await;
        loop {
            tokio::select! {
                message = outgoing.recv() => match message {
                    // A client that stops reading fills its socket; give up on it
                    // after two ping intervals instead of holding it forever.
                    Some(message) => match tokio::time::timeout(2 * ping_interval, sink.send(message)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => break,
                        Err(_) => {
                            tracing::info!("closing a WebSocket whose client stopped reading");
                            break;
                        }
                    },
                    None => break,
                },
                _ = ticker.tick() => {
                    let silent_ms = (started.elapsed().as_millis() as u64).saturating_sub(last_heard.load(Ordering::Relaxed));
                    if silent_ms > 2 * ping_interval.as_millis() as u64 {
                        tracing::info!("closing a WebSocket whose client stopped answering pings");
                        let _ = sink.send(Message::Close(None)).await;
                        break;
                    }
                    if sink.send(Message::Ping(Vec::new().into())).await.is_err() {
                        break;
                    }
                }
            }
        }
    });

    let token = app.settings.api_token.clone();
    let on_init = move |payload: Value| async move {
        if let Some(token) = token
            && !header_ok
            && !token_in(&payload)
                .is_some_and(|given| bool::from(given.as_bytes().ct_eq(token.as_bytes())))
        {
            return Err(Error::new("missing or wrong API token in connection_init"));
        }
        Ok(Data::default())
    };
    let session = GraphQLWebSocket::new_with_pair(
        PollSender::new(sender),
        incoming,
        app.schema.clone(),
        protocol,
    )
    .on_connection_init(on_init)
    .serve();
    // The connection ends when the protocol ends or the writer gives up (client
    // gone or silent): dropping the session drops its subscriptions.
    let mut writer = writer;
    tokio::select! {
        () = session => writer.abort(),
        _ = &mut writer => {}
    }
    app.metrics.ws_connections.dec();
}
