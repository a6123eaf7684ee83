//! `Offer` and what hangs off it. The offer's own children (labels, payouts,
//! targeting, channel ids) come from its normalized document, read with the
//! row; shared entities (advertiser, category, channel names) and history
//! load through the DataLoader.
use std::sync::Arc;

use async_graphql::{
    ComplexObject, Context, Enum, ID, Object, Result, SimpleObject, dataloader::DataLoader,
};
use chrono::{DateTime, TimeZone, Utc};

use super::{Advertiser, Category, Channel};
use crate::{
    graphql::{
        error::{internal, limit_exceeded},
        filter::OfferStatus,
        ids::GlobalId,
        loaders::{
            AdvertiserId, CatalogLoader, CategoryId, CategoryOfferCount, ChannelId, HistoryKey,
        },
        prefetch::Prefetched,
        scalars::Decimal,
    },
    ingest::{
        payload::{Party, PayoutEntry},
        state::{OfferState, normalized_status},
    },
    store::reads::{OfferRecord, RevisionRecord},
};

/// Most revisions `history(first:)` returns.
pub const MAX_HISTORY: i32 = 100;
/// Revisions `history` returns when `first` is not given.
pub const DEFAULT_HISTORY: i32 = 10;

/// Who may run an offer.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum OfferVisibility {
    Public,
    RequireApproval,
    Private,
    /// A value this API does not know; see `visibilityRaw`.
    Other,
}

impl OfferVisibility {
    fn parse(raw: &str) -> Self {
        match raw.trim().to_ascii_lowercase().as_str() {
            "public" => Self::Public,
            "require_approval" => Self::RequireApproval,
            "private" => Self::Private,
            _ => Self::Other,
        }
    }
}

/// An affiliate offer, as last applied from Everflow.
#[derive(Debug, Clone)]
pub struct Offer {
    state: Arc<OfferState>,
    revision: i32,
    /// The page's batch-loaded nested data, when the offer came in a page.
    prefetched: Option<Arc<Prefetched>>,
}

impl Offer {
    pub fn new(state: OfferState, revision: i32) -> Self {
        Self {
            state: Arc::new(state),
            revision,
            prefetched: None,
        }
    }

    pub fn state(&self) -> &OfferState {
        &self.state
    }

    pub fn set_prefetched(&mut self, prefetched: Arc<Prefetched>) {
        self.prefetched = Some(prefetched);
    }

    fn prefetched(&self) -> Option<&Prefetched> {
        self.prefetched.as_deref()
    }

    pub fn from_record(record: &OfferRecord) -> Result<Self> {
        Ok(Self::new(
            record.decode_state().map_err(internal)?,
            record.revision,
        ))
    }

    pub fn payout(&self, id: i64) -> Option<Payout> {
        self.state
            .payouts
            .iter()
            .find(|p| p.network_offer_payout_revenue_id == id)
            .map(|p| {
                Payout::new(
                    self.state.network_offer_id,
                    self.state.currency_id.clone(),
                    p,
                )
            })
    }
}

fn unix_time(seconds: Option<i64>) -> Option<DateTime<Utc>> {
    seconds.and_then(|s| Utc.timestamp_opt(s, 0).single())
}

fn loader<'a>(ctx: &Context<'a>) -> Result<&'a DataLoader<CatalogLoader>> {
    ctx.data::<DataLoader<CatalogLoader>>()
}

fn party_name(party: &Party) -> Option<String> {
    party.name.clone()
}

#[Object]
impl Offer {
    pub async fn id(&self) -> ID {
        GlobalId::Offer(self.state.network_offer_id).to_id()
    }
    /// Everflow's `network_offer_id`.
    async fn network_offer_id(&self) -> i64 {
        self.state.network_offer_id
    }
    async fn network_id(&self) -> Option<i64> {
        self.state.network_id
    }
    async fn name(&self) -> &str {
        &self.state.name
    }
    async fn status(&self) -> OfferStatus {
        OfferStatus::from_normalized(normalized_status(self.state.offer_status.as_deref()))
    }
    /// `offer_status` exactly as Everflow sent it ("" when it sent none).
    async fn status_raw(&self) -> &str {
        self.state.offer_status.as_deref().unwrap_or("")
    }
    async fn visibility(&self) -> Option<OfferVisibility> {
        self.state.visibility.as_deref().map(OfferVisibility::parse)
    }
    async fn visibility_raw(&self) -> Option<&str> {
        self.state.visibility.as_deref()
    }
    async fn currency(&self) -> Option<&str> {
        self.state.currency_id.as_deref()
    }
    async fn destination_url(&self) -> Option<&str> {
        self.state.destination_url.as_deref()
    }
    async fn preview_url(&self) -> Option<&str> {
        self.state.preview_url.as_deref()
    }
    async fn thumbnail_url(&self) -> Option<&str> {
        self.state.thumbnail_url.as_deref()
    }
    /// Conversion caps; null means no cap.
    async fn caps(&self) -> ConversionCaps {
        ConversionCaps {
            daily: self.state.daily_conversion_cap,
            weekly: self.state.weekly_conversion_cap,
            monthly: self.state.monthly_conversion_cap,
            global: self.state.global_conversion_cap,
        }
    }
    /// Everflow's `time_created`.
    async fn created_at(&self) -> Option<DateTime<Utc>> {
        unix_time(self.state.time_created)
    }
    /// Everflow's `time_saved` (not bumped by relationship-only edits).
    async fn updated_at(&self) -> Option<DateTime<Utc>> {
        unix_time(self.state.time_saved)
    }
    /// How many applied deliveries changed this offer.
    async fn revision(&self) -> i32 {
        self.revision
    }
    async fn advertiser(&self, ctx: &Context<'_>) -> Result<Option<Advertiser>> {
        let Some(party) = &self.state.advertiser else {
            return Ok(None);
        };
        let key = AdvertiserId(party.id);
        let row = match self.prefetched().and_then(|p| p.advertisers.as_ref()) {
            Some(rows) => rows.get(&key).cloned(),
            None => loader(ctx)?.load_one(key).await.map_err(internal)?,
        };
        Ok(Some(row.map(Advertiser::from).unwrap_or(Advertiser {
            network_advertiser_id: party.id,
            name: party_name(party),
        })))
    }
    async fn category(&self, ctx: &Context<'_>) -> Result<Option<Category>> {
        let Some(party) = &self.state.category else {
            return Ok(None);
        };
        let key = CategoryId(party.id);
        let row = match self.prefetched().and_then(|p| p.categories.as_ref()) {
            Some(rows) => rows.get(&key).cloned(),
            None => loader(ctx)?.load_one(key).await.map_err(internal)?,
        };
        let offer_count = self
            .prefetched()
            .and_then(|p| p.category_counts.as_ref())
            .map(|counts| {
                counts
                    .get(&CategoryOfferCount(party.id))
                    .copied()
                    .unwrap_or(0)
            });
        let category = row.map(Category::from).unwrap_or(Category {
            network_category_id: party.id,
            name: party_name(party),
            offer_count: None,
        });
        Ok(Some(Category {
            offer_count,
            ..category
        }))
    }
    /// Labels, sorted.
    async fn labels(&self) -> &[String] {
        &self.state.labels
    }
    async fn channels(&self, ctx: &Context<'_>) -> Result<Vec<Channel>> {
        if self.state.channels.is_empty() {
            return Ok(Vec::new());
        }
        let loaded;
        let rows = match self.prefetched().and_then(|p| p.channels.as_ref()) {
            Some(rows) => rows,
            None => {
                let keys: Vec<ChannelId> = self
                    .state
                    .channels
                    .iter()
                    .map(|c| ChannelId(c.id))
                    .collect();
                loaded = loader(ctx)?.load_many(keys).await.map_err(internal)?;
                &loaded
            }
        };
        Ok(self
            .state
            .channels
            .iter()
            .map(|c| match rows.get(&ChannelId(c.id)) {
                Some(row) => Channel::from(row.clone()),
                None => Channel {
                    network_channel_id: c.id,
                    name: party_name(c),
                },
            })
            .collect())
    }
    /// Every payout/revenue entry, by id.
    async fn payouts(&self) -> Vec<Payout> {
        let currency = &self.state.currency_id;
        self.state
            .payouts
            .iter()
            .map(|p| Payout::new(self.state.network_offer_id, currency.clone(), p))
            .collect()
    }
    /// The base conversion's entry (`is_default`).
    async fn default_payout(&self) -> Option<Payout> {
        self.state.default_payout().map(|p| {
            Payout::new(
                self.state.network_offer_id,
                self.state.currency_id.clone(),
                p,
            )
        })
    }
    async fn targeting(&self) -> Targeting {
        let included = |rules: &[crate::ingest::payload::Rule]| -> Vec<String> {
            rules
                .iter()
                .filter(|r| !r.is_exclude())
                .map(|r| r.value.clone())
                .collect()
        };
        Targeting {
            countries: self
                .state
                .countries
                .iter()
                .filter(|r| r.is_include())
                .map(|r| r.value.clone())
                .collect(),
            excluded_countries: self
                .state
                .countries
                .iter()
                .filter(|r| r.is_exclude())
                .map(|r| r.value.clone())
                .collect(),
            device_types: included(&self.state.device_types),
            platforms: included(&self.state.platforms),
        }
    }
    /// Applied revisions, newest first.
    #[graphql(complexity = "first.clamp(1, MAX_HISTORY) as usize * child_complexity")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10, desc = "At most 100.")] first: i32,
    ) -> Result<Vec<OfferRevision>> {
        if !(0..=MAX_HISTORY).contains(&first) {
            return Err(limit_exceeded(format!(
                "history(first: {first}) is out of range: 0 to {MAX_HISTORY}"
            )));
        }
        if first == 0 {
            return Ok(Vec::new());
        }
        let key = HistoryKey {
            offer: self.state.network_offer_id,
            limit: first as u64,
        };
        let revisions = match self.prefetched().and_then(|p| p.history.as_ref()) {
            Some(history) => history.get(&key).cloned().unwrap_or_default(),
            None => loader(ctx)?
                .load_one(key)
                .await
                .map_err(internal)?
                .unwrap_or_default(),
        };
        Ok(revisions.into_iter().map(OfferRevision::from).collect())
    }
}

/// Conversion caps; null means no cap.
#[derive(Debug, Clone, SimpleObject)]
pub struct ConversionCaps {
    pub daily: Option<i64>,
    pub weekly: Option<i64>,
    pub monthly: Option<i64>,
    pub global: Option<i64>,
}

/// Geo and device targeting. An offer with no `countries` is available everywhere
/// but in `excludedCountries`.
#[derive(Debug, Clone, SimpleObject)]
pub struct Targeting {
    /// Included country codes.
    pub countries: Vec<String>,
    pub excluded_countries: Vec<String>,
    /// Included device types, as sent.
    pub device_types: Vec<String>,
    /// Included platforms, as sent.
    pub platforms: Vec<String>,
}

/// A payout/revenue entry of an offer.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct Payout {
    #[graphql(skip)]
    network_offer_id: i64,
    pub network_offer_payout_revenue_id: i64,
    pub entry_name: Option<String>,
    pub is_default: bool,
    pub payout_type: Option<String>,
    pub payout_amount: Option<Decimal>,
    pub payout_percentage: Option<Decimal>,
    pub revenue_type: Option<String>,
    pub revenue_amount: Option<Decimal>,
    pub revenue_percentage: Option<Decimal>,
    /// The entry's currency, else the offer's.
    pub currency: Option<String>,
    pub must_approve_conversion: Option<bool>,
    pub allow_duplicate_conversion: Option<bool>,
}

#[ComplexObject]
impl Payout {
    pub async fn id(&self) -> ID {
        GlobalId::Payout {
            offer: self.network_offer_id,
            payout: self.network_offer_payout_revenue_id,
        }
        .to_id()
    }
}

impl Payout {
    fn new(network_offer_id: i64, offer_currency: Option<String>, entry: &PayoutEntry) -> Self {
        Self {
            network_offer_id,
            network_offer_payout_revenue_id: entry.network_offer_payout_revenue_id,
            entry_name: entry.entry_name.clone(),
            is_default: entry.is_default,
            payout_type: entry.payout_type.clone(),
            payout_amount: entry.payout_amount.map(Decimal),
            payout_percentage: entry.payout_percentage.map(Decimal),
            revenue_type: entry.revenue_type.clone(),
            revenue_amount: entry.revenue_amount.map(Decimal),
            revenue_percentage: entry.revenue_percentage.map(Decimal),
            currency: entry.currency_id.clone().or(offer_currency),
            must_approve_conversion: entry.must_approve_conversion,
            allow_duplicate_conversion: entry.allow_duplicate_conversion,
        }
    }
}

/// One applied change of an offer.
#[derive(Debug, Clone, SimpleObject)]
pub struct OfferRevision {
    pub revision: i32,
    pub at: DateTime<Utc>,
    /// Changed fields, in Everflow's names (`payouts`, `targeting.countries`, …).
    pub changed_fields: Vec<String>,
}

impl From<RevisionRecord> for OfferRevision {
    fn from(record: RevisionRecord) -> Self {
        // SQLite returns the JSON column as text, PostgreSQL as JSON.
        let fields = match record.changed_fields {
            serde_json::Value::String(text) => serde_json::from_str(&text).unwrap_or_default(),
            other => other,
        };
        Self {
            revision: record.revision,
            at: record.at,
            changed_fields: fields
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}
