//! The public GraphQL API (SPEC §5). Resolvers read through `store`; API
//! types live in `types` and are separate from the sea-orm models.
pub mod http;
pub mod query;
pub mod types;

use async_graphql::{EmptyMutation, EmptySubscription, Schema};

use crate::store::Store;

pub type CatalogSchema = Schema<query::Query, EmptyMutation, EmptySubscription>;

pub fn build_schema(store: Store) -> CatalogSchema {
    Schema::build(query::Query, EmptyMutation, EmptySubscription)
        .data(store)
        .finish()
}

/// The SDL of the public schema (`offer-catalog schema`, `schema.graphql`).
pub fn sdl() -> String {
    Schema::build(query::Query, EmptyMutation, EmptySubscription)
        .finish()
        .sdl()
}
