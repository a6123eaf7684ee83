//! Root query fields.
use async_graphql::{Context, Object, Result};

use super::types::Offer;
use crate::store::Store;

pub struct Query;

#[Object]
impl Query {
    /// An offer by its Everflow `network_offer_id`.
    async fn offer(&self, ctx: &Context<'_>, id: i64) -> Result<Option<Offer>> {
        let store = ctx.data::<Store>()?;
        Ok(store.offer(id).await?.map(Offer::from))
    }
}
