//! A minimal GraphQL-over-WebSocket client for tests, speaking either
//! `graphql-transport-ws` or the legacy `graphql-ws` protocol.
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    TransportWs,
    LegacyWs,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Protocol::TransportWs => "graphql-transport-ws",
            Protocol::LegacyWs => "graphql-ws",
        }
    }
}

pub struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>,
    protocol: Protocol,
}

impl WsClient {
    /// Connects and completes `connection_init`; `Err` carries the server's refusal.
    pub async fn connect(
        addr: std::net::SocketAddr,
        protocol: Protocol,
        init: Value,
    ) -> Result<Self, String> {
        let mut request = format!("ws://{addr}/graphql/ws")
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static(protocol.name()),
        );
        let (mut socket, _) = connect_async(request).await.map_err(|e| e.to_string())?;
        socket
            .send(Message::text(
                json!({"type": "connection_init", "payload": init}).to_string(),
            ))
            .await
            .map_err(|e| e.to_string())?;
        let mut client = Self { socket, protocol };
        loop {
            match client.next_json(Duration::from_secs(10)).await {
                Some(msg) if msg["type"] == "connection_ack" => return Ok(client),
                Some(msg) if msg["type"] == "ka" => continue,
                Some(msg) => return Err(msg.to_string()),
                None => return Err("closed before connection_ack".into()),
            }
        }
    }

    /// Starts a subscription with id `id`.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        let kind = match self.protocol {
            Protocol::TransportWs => "subscribe",
            Protocol::LegacyWs => "start",
        };
        let message =
            json!({"id": id, "type": kind, "payload": {"query": query, "variables": variables}});
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
    }

    /// The next JSON message within `wait`; `None` on timeout or close.
    pub async fn next_json(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .ok()??
                .ok()?;
            match message {
                Message::Text(text) => return serde_json::from_str(&text).ok(),
                Message::Close(frame) => {
                    return Some(json!({"type": "close", "frame": frame.map(|f| f.to_string())}));
                }
                _ => continue,
            }
        }
    }

    /// The payload of the next subscription result (`next` / `data`), skipping keep-alives.
    pub async fn next_payload(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let message = self.next_json(left).await?;
            match message["type"].as_str() {
                Some("next") | Some("data") => return Some(message["payload"].clone()),
                Some("ka") | Some("ping") | Some("pong") => continue,
                _ => return Some(message),
            }
        }
    }
}
