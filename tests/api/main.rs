//! One integration test binary: the real server over real HTTP, on SQLite and PostgreSQL.
mod cache;
mod graphql;
mod helpers;
mod ingest;
mod schema;
mod sqlite;
mod subscriptions;
mod ws_client;
