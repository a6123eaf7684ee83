//! Batch loading of a whole page's nested fields, before its offers resolve.
//!
//! A DataLoader batches the loads issued within its delay, which depends on
//! how fast resolvers run. For a page, the keys are all known up front: the
//! `offers` resolver looks ahead at the selection and asks the loader for every
//! selected kind at once, so a page costs one statement per kind whatever its
//! size. Nested resolvers read from here and fall back to the loader.
use std::collections::{BTreeSet, HashMap};

use async_graphql::{Context, Result, Value, context::SelectionField, dataloader::DataLoader};
use entity::{advertiser, category, channel};

use super::{
    error::internal,
    loaders::{AdvertiserId, CatalogLoader, CategoryId, CategoryOfferCount, ChannelId, HistoryKey},
    types::{DEFAULT_HISTORY, Offer},
};
use crate::store::reads::RevisionRecord;

/// What a page's offers share, loaded in one go; `None` where not selected.
#[derive(Debug, Default)]
pub struct Prefetched {
    pub advertisers: Option<HashMap<AdvertiserId, advertiser::Model>>,
    pub categories: Option<HashMap<CategoryId, category::Model>>,
    pub category_counts: Option<HashMap<CategoryOfferCount, i64>>,
    pub channels: Option<HashMap<ChannelId, channel::Model>>,
    pub history: Option<HashMap<HistoryKey, Vec<RevisionRecord>>>,
}

/// The `first` arguments of every `history` selection.
fn history_limits(fields: &[SelectionField<'_>]) -> Result<BTreeSet<u64>> {
    let mut limits = BTreeSet::new();
    for field in fields {
        let first = field
            .arguments()?
            .into_iter()
            .find(|(name, _)| name.as_str() == "first")
            .map(|(_, value)| value);
        let limit = match first {
            Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
            _ => DEFAULT_HISTORY as u64,
        };
        if limit > 0 {
            limits.insert(limit);
        }
    }
    Ok(limits)
}

/// Loads what the selection of the page's nodes needs and hands it to each offer.
pub async fn prefetch_page(ctx: &Context<'_>, offers: &mut [Offer]) -> Result<()> {
    if offers.is_empty() {
        return Ok(());
    }
    let look = ctx.look_ahead();
    let nodes = [look.field("edges").field("node"), look.field("nodes")];
    let selected = |name: &str| nodes.iter().any(|n| n.field(name).exists());
    let loader = ctx.data::<DataLoader<CatalogLoader>>()?;
    let mut prefetched = Prefetched::default();

    if selected("advertiser") {
        let ids: Vec<AdvertiserId> = offers
            .iter()
            .filter_map(|o| o.state().advertiser.as_ref().map(|p| AdvertiserId(p.id)))
            .collect();
        prefetched.advertisers = Some(loader.load_many(ids).await.map_err(internal)?);
    }
    if selected("category") {
        let ids: Vec<CategoryId> = offers
            .iter()
            .filter_map(|o| o.state().category.as_ref().map(|p| CategoryId(p.id)))
            .collect();
        prefetched.categories = Some(loader.load_many(ids.clone()).await.map_err(internal)?);
        if nodes
            .iter()
            .any(|n| n.field("category").field("offerCount").exists())
        {
            let keys: Vec<CategoryOfferCount> =
                ids.iter().map(|id| CategoryOfferCount(id.0)).collect();
            prefetched.category_counts = Some(loader.load_many(keys).await.map_err(internal)?);
        }
    }
    if selected("channels") {
        let ids: Vec<ChannelId> = offers
            .iter()
            .flat_map(|o| o.state().channels.iter().map(|c| ChannelId(c.id)))
            .collect();
        prefetched.channels = Some(loader.load_many(ids).await.map_err(internal)?);
    }
    let history_fields: Vec<SelectionField<'_>> = nodes
        .iter()
        .flat_map(|n| n.field("history").selection_fields())
        .collect();
    if !history_fields.is_empty() {
        let mut history = HashMap::new();
        for limit in history_limits(&history_fields)? {
            let keys: Vec<HistoryKey> = offers
                .iter()
                .map(|o| HistoryKey {
                    offer: o.state().network_offer_id,
                    limit,
                })
                .collect();
            history.extend(loader.load_many(keys).await.map_err(internal)?);
        }
        prefetched.history = Some(history);
    }

    let shared = std::sync::Arc::new(prefetched);
    for offer in offers {
        offer.set_prefetched(shared.clone());
    }
    Ok(())
}
