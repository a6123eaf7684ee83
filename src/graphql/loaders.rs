//! DataLoaders: nested fields of many offers load in one statement per kind,
//! so a page's statement count does not grow with its size. One loader type
//! serves every key kind; it batches, it does not cache (no stale reads).
use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::Loader;
use entity::{advertiser, category, channel};

use crate::store::{
    Store, StoreError,
    reads::{OfferRecord, RevisionRecord},
};

#[derive(Clone)]
pub struct CatalogLoader {
    store: Store,
}

impl CatalogLoader {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AdvertiserId(pub i64);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CategoryId(pub i64);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChannelId(pub i64);
/// The offer count of a category (default statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CategoryOfferCount(pub i64);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OfferId(pub i64);
/// The newest `limit` revisions of an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HistoryKey {
    pub offer: i64,
    pub limit: u64,
}

type Loaded<K, V> = Result<HashMap<K, V>, Arc<StoreError>>;

impl Loader<AdvertiserId> for CatalogLoader {
    type Value = advertiser::Model;
    type Error = Arc<StoreError>;

    async fn load(&self, keys: &[AdvertiserId]) -> Loaded<AdvertiserId, Self::Value> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = self
            .store
            .advertisers_by_ids(&ids)
            .await
            .map_err(Arc::new)?;
        Ok(rows
            .into_iter()
            .map(|r| (AdvertiserId(r.network_advertiser_id), r))
            .collect())
    }
}

impl Loader<CategoryId> for CatalogLoader {
    type Value = category::Model;
    type Error = Arc<StoreError>;

    async fn load(&self, keys: &[CategoryId]) -> Loaded<CategoryId, Self::Value> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = self.store.categories_by_ids(&ids).await.map_err(Arc::new)?;
        Ok(rows
            .into_iter()
            .map(|r| (CategoryId(r.network_category_id), r))
            .collect())
    }
}

impl Loader<ChannelId> for CatalogLoader {
    type Value = channel::Model;
    type Error = Arc<StoreError>;

    async fn load(&self, keys: &[ChannelId]) -> Loaded<ChannelId, Self::Value> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = self.store.channels_by_ids(&ids).await.map_err(Arc::new)?;
        Ok(rows
            .into_iter()
            .map(|r| (ChannelId(r.network_channel_id), r))
            .collect())
    }
}

impl Loader<CategoryOfferCount> for CatalogLoader {
    type Value = i64;
    type Error = Arc<StoreError>;

    async fn load(&self, keys: &[CategoryOfferCount]) -> Loaded<CategoryOfferCount, i64> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let counts = self
            .store
            .category_offer_counts(&ids)
            .await
            .map_err(Arc::new)?;
        Ok(ids
            .into_iter()
            .map(|id| {
                (
                    CategoryOfferCount(id),
                    counts.get(&id).copied().unwrap_or(0),
                )
            })
            .collect())
    }
}

impl Loader<OfferId> for CatalogLoader {
    type Value = OfferRecord;
    type Error = Arc<StoreError>;

    async fn load(&self, keys: &[OfferId]) -> Loaded<OfferId, OfferRecord> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = self.store.offers_by_ids(&ids).await.map_err(Arc::new)?;
        Ok(rows
            .into_iter()
            .map(|r| (OfferId(r.network_offer_id), r))
            .collect())
    }
}

impl Loader<HistoryKey> for CatalogLoader {
    type Value = Vec<RevisionRecord>;
    type Error = Arc<StoreError>;

    async fn load(&self, keys: &[HistoryKey]) -> Loaded<HistoryKey, Vec<RevisionRecord>> {
        // One statement per distinct limit (a request normally has one).
        let mut by_limit: HashMap<u64, Vec<i64>> = HashMap::new();
        for key in keys {
            by_limit.entry(key.limit).or_default().push(key.offer);
        }
        let mut out: HashMap<HistoryKey, Vec<RevisionRecord>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for (limit, offers) in by_limit {
            for revision in self
                .store
                .latest_revisions(&offers, limit)
                .await
                .map_err(Arc::new)?
            {
                if let Some(list) = out.get_mut(&HistoryKey {
                    offer: revision.network_offer_id,
                    limit,
                }) {
                    list.push(revision);
                }
            }
        }
        Ok(out)
    }
}
