//! `TestApp`: the real server on a fresh database (a SQLite temp file, or a
//! fresh PostgreSQL database from `TEST_DATABASE_URL`), bound to port 0 and
//! driven over real HTTP.
use std::{net::SocketAddr, time::Duration};

use offer_catalog::{
    app::{AppState, router},
    config::Settings,
    store::Store,
};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::Value;

pub const API_SHAPE: &str = include_str!("fixtures/offer-api-shape.json");
pub const SEED_EXAMPLE: &str = include_str!("fixtures/offer-seed-example.json");

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub state: AppState,
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
}

/// A fresh, empty database URL for `backend`; `None` when PostgreSQL is not
/// configured outside CI (in CI its absence fails the test).
pub async fn fresh_database(backend: Backend) -> Option<(String, Option<tempfile::TempDir>)> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("catalog.db").display()
            );
            Some((url, Some(dir)))
        }
        Backend::Postgres => {
            let Ok(base) = std::env::var("TEST_DATABASE_URL") else {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "TEST_DATABASE_URL must be set in CI: PostgreSQL tests cannot be skipped there"
                );
                eprintln!("TEST_DATABASE_URL not set: skipping the PostgreSQL variant");
                return None;
            };
            let admin: DatabaseConnection = Database::connect(base.as_str())
                .await
                .expect("connect to TEST_DATABASE_URL");
            let name = format!("oc_test_{}", rand::random::<u64>());
            admin
                .execute_raw(Statement::from_string(
                    admin.get_database_backend(),
                    format!("CREATE DATABASE {name}"),
                ))
                .await
                .expect("create a test database");
            admin.close().await.ok();
            Some((replace_database(&base, &name), None))
        }
    }
}

/// `base` with its database name replaced by `name`.
fn replace_database(base: &str, name: &str) -> String {
    let (without_query, query) = match base.split_once('?') {
        Some((u, q)) => (u, Some(q)),
        None => (base, None),
    };
    let scheme_end = without_query.find("://").map_or(0, |i| i + 3);
    let host_part = match without_query[scheme_end..].find('/') {
        Some(i) => &without_query[..scheme_end + i],
        None => without_query,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<Self> {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Starts the server on a fresh database after `configure` adjusted its settings.
    pub async fn spawn_with(
        backend: Backend,
        configure: impl FnOnce(&mut Settings),
    ) -> Option<Self> {
        let (database_url, dir) = fresh_database(backend).await?;
        let mut settings = Settings::for_database(&database_url);
        configure(&mut settings);
        let store = Store::open(&database_url)
            .await
            .unwrap_or_else(|e| panic!("open and migrate the test database {database_url}: {e}"));
        let state = AppState::start(settings, store).await.expect("app state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let addr = listener.local_addr().expect("local addr");
        let app = router(state.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("server runs");
        });
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client");
        Some(Self {
            addr,
            client,
            state,
            backend,
            _dir: dir,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn db(&self) -> &DatabaseConnection {
        self.state.store.connection()
    }

    /// POSTs a raw body to the webhook; returns status and JSON body.
    pub async fn deliver_raw(
        &self,
        path_and_query: &str,
        body: impl Into<reqwest::Body>,
    ) -> (u16, Value) {
        let response = self
            .client
            .post(self.url(path_and_query))
            .body(body)
            .send()
            .await
            .expect("webhook request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("webhook response body");
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, json)
    }

    /// POSTs a JSON delivery to `/webhooks/everflow` and expects `200`.
    pub async fn deliver(&self, body: &Value) -> Value {
        let (status, json) = self
            .deliver_raw("/webhooks/everflow", body.to_string())
            .await;
        assert_eq!(status, 200, "delivery answered {status}: {json}");
        json
    }

    /// Runs a GraphQL query over HTTP POST; returns the whole response.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        self.client
            .post(self.url("/graphql"))
            .json(&serde_json::json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("graphql request")
            .json()
            .await
            .expect("graphql json")
    }

    /// The text of `GET /metrics`.
    pub async fn metrics(&self) -> String {
        self.client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics request")
            .text()
            .await
            .expect("metrics text")
    }

    /// Like [`TestApp::graphql`], asking not to be answered from the response cache.
    pub async fn graphql_fresh(&self, query: &str, variables: Value) -> Value {
        self.client
            .post(self.url("/graphql"))
            .header("cache-control", "no-cache")
            .json(&serde_json::json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("graphql request")
            .json()
            .await
            .expect("graphql json")
    }

    /// Rows of an SQL query as JSON objects (for asserting what was stored).
    pub async fn rows(&self, sql: &str) -> Vec<Value> {
        rows(self.db(), sql).await
    }
}

/// Runs `offer-catalog ARGS…` (another process) on the database at
/// `database_url` and returns what it logged; panics unless it succeeded.
pub async fn run_cli<S: AsRef<std::ffi::OsStr>>(database_url: &str, args: &[S]) -> String {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_offer-catalog"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("run offer-catalog");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    stderr
}

/// Rows of an SQL query as JSON objects, columns by name: integers as
/// numbers, booleans as 0/1 on both backends, JSON columns parsed, blobs as
/// byte arrays. Read through sqlx directly so computed columns decode too.
pub async fn rows(db: &DatabaseConnection, sql: &str) -> Vec<Value> {
    use sea_orm::sqlx::{Column, Row, TypeInfo, ValueRef};
    let mut out = Vec::new();
    match db.get_database_backend() {
        sea_orm::DatabaseBackend::Sqlite => {
            let fetched = sea_orm::sqlx::query(sea_orm::sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_all(db.get_sqlite_connection_pool())
                .await
                .unwrap_or_else(|e| panic!("query {sql}: {e}"));
            for row in fetched {
                let mut map = serde_json::Map::new();
                for (i, column) in row.columns().iter().enumerate() {
                    let raw = row.try_get_raw(i).unwrap();
                    let value = if raw.is_null() {
                        Value::Null
                    } else {
                        match raw.type_info().name() {
                            "INTEGER" | "BOOLEAN" => Value::from(row.get::<i64, _>(i)),
                            "REAL" => Value::from(row.get::<f64, _>(i)),
                            "BLOB" => Value::from(row.get::<Vec<u8>, _>(i)),
                            _ => Value::from(row.get::<String, _>(i)),
                        }
                    };
                    map.insert(column.name().to_owned(), value);
                }
                out.push(Value::Object(map));
            }
        }
        _ => {
            let fetched = sea_orm::sqlx::query(sea_orm::sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_all(db.get_postgres_connection_pool())
                .await
                .unwrap_or_else(|e| panic!("query {sql}: {e}"));
            for row in fetched {
                let mut map = serde_json::Map::new();
                for (i, column) in row.columns().iter().enumerate() {
                    let raw = row.try_get_raw(i).unwrap();
                    let value = if raw.is_null() {
                        Value::Null
                    } else {
                        match column.type_info().name() {
                            "INT8" => Value::from(row.get::<i64, _>(i)),
                            "INT4" => Value::from(row.get::<i32, _>(i)),
                            "INT2" => Value::from(row.get::<i16, _>(i)),
                            "BOOL" => Value::from(i64::from(row.get::<bool, _>(i))),
                            "JSON" | "JSONB" => row.get::<Value, _>(i),
                            "BYTEA" => Value::from(row.get::<Vec<u8>, _>(i)),
                            "TIMESTAMPTZ" => Value::from(
                                row.get::<chrono::DateTime<chrono::Utc>, _>(i).to_rfc3339(),
                            ),
                            "FLOAT8" => Value::from(row.get::<f64, _>(i)),
                            _ => Value::from(row.get::<String, _>(i)),
                        }
                    };
                    map.insert(column.name().to_owned(), value);
                }
                out.push(Value::Object(map));
            }
        }
    }
    out
}

/// The whole normalized catalog as comparable JSON: every table but the
/// delivery log, without server-side times.
pub async fn catalog_dump(db: &DatabaseConnection) -> Value {
    let mut dump = serde_json::Map::new();
    for (table, order) in [
        ("advertiser", "network_advertiser_id"),
        ("category", "network_category_id"),
        ("channel", "network_channel_id"),
        ("label", "name"),
        ("offer", "network_offer_id"),
        ("offer_label", "network_offer_id, label"),
        ("offer_channel", "network_offer_id, network_channel_id"),
        (
            "payout_revenue",
            "network_offer_id, network_offer_payout_revenue_id",
        ),
        (
            "offer_country",
            "network_offer_id, country_code, targeting_type",
        ),
        (
            "offer_device_type",
            "network_offer_id, name, targeting_type",
        ),
        ("offer_platform", "network_offer_id, name, targeting_type"),
        ("offer_revision", "network_offer_id, revision"),
    ] {
        let mut table_rows = rows(db, &format!("SELECT * FROM {table} ORDER BY {order}")).await;
        for row in &mut table_rows {
            if let Some(map) = row.as_object_mut() {
                for volatile in [
                    "first_seen_at",
                    "last_changed_at",
                    "at",
                    "delivery_id",
                    "raw_payload",
                ] {
                    map.remove(volatile);
                }
                // JSON columns come back as text on SQLite and as JSON on PostgreSQL.
                for json_column in ["state", "snapshot", "changed_fields"] {
                    if let Some(Value::String(text)) = map.get(json_column)
                        && let Ok(parsed) = serde_json::from_str::<Value>(text)
                    {
                        map.insert(json_column.to_owned(), parsed);
                    }
                }
            }
        }
        dump.insert(table.to_owned(), Value::Array(table_rows));
    }
    Value::Object(dump)
}

/// Generates one `#[tokio::test]` per backend for each listed async fn taking a `TestApp`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await.expect("sqlite app");
                    super::$name(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}

impl TestApp {
    /// Waits until the server counts `n` live subscriptions (they are registered
    /// asynchronously after the client's subscribe message).
    pub async fn wait_for_subscriptions(&self, n: u64) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let live = self.state.metrics.subscriptions.get();
            if live >= n as i64 {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "only {live} of {n} subscriptions registered"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
