//! The public GraphQL API (SPEC §5). Resolvers read through `store`; API
//! types live in `types` and are separate from the sea-orm models.
pub mod cache;
pub mod country;
pub mod cursor;
pub mod error;
pub mod filter;
pub mod http;
pub mod ids;
pub mod loaders;
pub mod prefetch;
pub mod query;
pub mod scalars;
pub mod subscription;
pub mod types;
pub mod ws;

use async_graphql::{EmptyMutation, Schema, SchemaBuilder, dataloader::DataLoader};

use crate::{events::EventBus, store::Store};

pub type CatalogSchema = Schema<query::Query, EmptyMutation, subscription::Subscription>;

/// Deepest query accepted. GraphiQL's introspection query is 13 levels deep;
/// the deepest real query of this schema is 6.
pub const MAX_DEPTH: usize = 16;
/// Most complex query accepted: each field counts 1, a list field its page
/// size times its children, so `offers(first: 100)` with every nested field
/// fits and a hundred aliased copies of it do not.
pub const MAX_COMPLEXITY: usize = 20_000;

fn builder() -> SchemaBuilder<query::Query, EmptyMutation, subscription::Subscription> {
    Schema::build(query::Query, EmptyMutation, subscription::Subscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_recursive_depth(64)
        .limit_directives(16)
}

pub fn build_schema(store: Store, events: EventBus) -> CatalogSchema {
    let loader = DataLoader::new(loaders::CatalogLoader::new(store.clone()), tokio::spawn);
    builder().data(store).data(loader).data(events).finish()
}

/// The SDL of the public schema (`offer-catalog schema`, `schema.graphql`).
pub fn sdl() -> String {
    builder().finish().sdl()
}
