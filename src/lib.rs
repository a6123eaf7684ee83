//! offer-catalog: a live GraphQL catalog of Everflow affiliate offers, fed by webhooks.
//!
//! Data flows one way: HTTP → [`ingest`] → [`store`] (one transaction per
//! delivery) → [`events`] → subscriptions; and GraphQL → [`store`].
pub mod app;
pub mod cli;
pub mod config;
pub mod events;
pub mod graphql;
pub mod ingest;
pub mod metrics;
pub mod store;
