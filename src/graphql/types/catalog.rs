//! Advertisers, categories, channels and the facets.
use async_graphql::{Context, ID, Object, Result, SimpleObject, dataloader::DataLoader};
use entity::{advertiser, category, channel};

use crate::graphql::{
    error::internal,
    ids::GlobalId,
    loaders::{CatalogLoader, CategoryOfferCount},
};

/// An advertiser; `name` is null while only its id is known.
#[derive(Debug, Clone)]
pub struct Advertiser {
    pub network_advertiser_id: i64,
    pub name: Option<String>,
}

#[Object]
impl Advertiser {
    pub async fn id(&self) -> ID {
        GlobalId::Advertiser(self.network_advertiser_id).to_id()
    }
    async fn network_advertiser_id(&self) -> i64 {
        self.network_advertiser_id
    }
    async fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

impl From<advertiser::Model> for Advertiser {
    fn from(row: advertiser::Model) -> Self {
        Self {
            network_advertiser_id: row.network_advertiser_id,
            name: row.name,
        }
    }
}

/// An offer category.
#[derive(Debug, Clone)]
pub struct Category {
    pub network_category_id: i64,
    pub name: Option<String>,
    /// Already known (facet lists), else loaded on demand.
    pub offer_count: Option<i64>,
}

#[Object]
impl Category {
    pub async fn id(&self) -> ID {
        GlobalId::Category(self.network_category_id).to_id()
    }
    async fn network_category_id(&self) -> i64 {
        self.network_category_id
    }
    async fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    /// Offers in this category, DELETED ones excepted.
    async fn offer_count(&self, ctx: &Context<'_>) -> Result<i64> {
        if let Some(n) = self.offer_count {
            return Ok(n);
        }
        let loader = ctx.data::<DataLoader<CatalogLoader>>()?;
        Ok(loader
            .load_one(CategoryOfferCount(self.network_category_id))
            .await
            .map_err(internal)?
            .unwrap_or(0))
    }
}

impl From<category::Model> for Category {
    fn from(row: category::Model) -> Self {
        Self {
            network_category_id: row.network_category_id,
            name: row.name,
            offer_count: None,
        }
    }
}

/// A traffic channel.
#[derive(Debug, Clone)]
pub struct Channel {
    pub network_channel_id: i64,
    pub name: Option<String>,
}

#[Object]
impl Channel {
    pub async fn id(&self) -> ID {
        GlobalId::Channel(self.network_channel_id).to_id()
    }
    async fn network_channel_id(&self) -> i64 {
        self.network_channel_id
    }
    async fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

impl From<channel::Model> for Channel {
    fn from(row: channel::Model) -> Self {
        Self {
            network_channel_id: row.network_channel_id,
            name: row.name,
        }
    }
}

/// A label with the number of offers (DELETED excepted) carrying it.
#[derive(Debug, Clone, SimpleObject)]
pub struct Label {
    pub name: String,
    pub offer_count: i64,
}

/// A country with the number of offers (DELETED excepted) that explicitly include it.
#[derive(Debug, Clone, SimpleObject)]
pub struct CountryFacet {
    pub code: String,
    pub offer_count: i64,
}
