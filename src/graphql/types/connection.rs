//! The Relay connection of `offers`; `totalCount` is counted only when selected.
use async_graphql::{Context, Object, Result, SimpleObject};

use super::Offer;
use crate::{
    graphql::error::internal,
    store::{Store, reads::OfferConditions},
};

#[derive(Debug, Clone, SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct OfferEdge {
    /// Opaque; valid with the same `orderBy` only.
    pub cursor: String,
    pub node: Offer,
}

/// A page of offers.
pub struct OfferConnection {
    pub edges: Vec<OfferEdge>,
    pub page_info: PageInfo,
    pub conditions: OfferConditions,
}

#[Object]
impl OfferConnection {
    async fn edges(&self) -> &[OfferEdge] {
        &self.edges
    }
    /// The offers of `edges`, for clients that do not need cursors.
    async fn nodes(&self) -> Vec<&Offer> {
        self.edges.iter().map(|e| &e.node).collect()
    }
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }
    /// How many offers match the filter, across all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i64> {
        let store = ctx.data::<Store>()?;
        let n = store
            .count_offers(&self.conditions)
            .await
            .map_err(internal)?;
        Ok(i64::try_from(n).unwrap_or(i64::MAX))
    }
}
