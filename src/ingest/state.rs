//! The normalized offer document and the rule that merges a delivery into it.
//!
//! The same document is stored on the offer row (`offer.state`) and as the
//! snapshot of every revision, so deciding "duplicate" and listing changed
//! fields is one comparison, without reading the child tables back.
use serde::{Deserialize, Serialize};

use super::payload::{Field, OfferDelivery, Party, PayoutEntry, Rule};

/// An offer after all deliveries applied so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OfferState {
    pub network_offer_id: i64,
    pub network_id: Option<i64>,
    pub advertiser: Option<Party>,
    pub category: Option<Party>,
    pub name: String,
    pub offer_status: Option<String>,
    pub currency_id: Option<String>,
    pub destination_url: Option<String>,
    pub preview_url: Option<String>,
    pub thumbnail_url: Option<String>,
    pub visibility: Option<String>,
    pub daily_conversion_cap: Option<i64>,
    pub weekly_conversion_cap: Option<i64>,
    pub monthly_conversion_cap: Option<i64>,
    pub global_conversion_cap: Option<i64>,
    pub time_created: Option<i64>,
    pub time_saved: Option<i64>,
    pub labels: Vec<String>,
    pub channels: Vec<Party>,
    pub payouts: Vec<PayoutEntry>,
    pub countries: Vec<Rule>,
    pub device_types: Vec<Rule>,
    pub platforms: Vec<Rule>,
}

/// Names of the parts of an offer a delivery can change, as listed in
/// `offer_revision.changed_fields` and subscription events.
pub mod fields {
    pub const LABELS: &str = "labels";
    pub const CHANNELS: &str = "channels";
    pub const PAYOUTS: &str = "payouts";
    pub const COUNTRIES: &str = "targeting.countries";
    pub const DEVICE_TYPES: &str = "targeting.device_types";
    pub const PLATFORMS: &str = "targeting.platforms";
    pub const ADVERTISER: &str = "advertiser";
    pub const CATEGORY: &str = "category";
}

/// Records `name` when `new` differs from what is in `slot`.
fn set<T: PartialEq>(
    changed: &mut Vec<&'static str>,
    name: &'static str,
    slot: &mut T,
    new: Option<T>,
) {
    if let Some(new) = new
        && *slot != new
    {
        *slot = new;
        changed.push(name);
    }
}

/// The party a delivery leaves in place, given the id it states and the details it sent.
fn merge_party(
    stored: &Option<Party>,
    id: &Field<i64>,
    details: &Option<Party>,
) -> Option<Option<Party>> {
    let id = match id {
        Field::Absent => return details.clone().map(Some),
        Field::Null => return Some(None),
        Field::Value(id) => *id,
    };
    Some(Some(match (details, stored) {
        (Some(details), _) if details.id == id => details.clone(),
        (_, Some(stored)) if stored.id == id => stored.clone(),
        _ => Party::stub(id),
    }))
}

impl OfferState {
    /// A new, empty offer.
    pub fn new(network_offer_id: i64) -> Self {
        Self {
            network_offer_id,
            ..Self::default()
        }
    }

    /// Merges `delivery` into this state: absent members stay, present ones
    /// replace. Returns the names of the fields whose value changed.
    pub fn apply(&mut self, delivery: &OfferDelivery) -> Vec<&'static str> {
        use fields::*;
        let d = delivery.clone();
        let mut changed = Vec::new();
        let c = &mut changed;
        set(c, "network_id", &mut self.network_id, d.network_id.update());
        let advertiser = merge_party(&self.advertiser, &d.advertiser_id, &d.advertiser);
        set(c, ADVERTISER, &mut self.advertiser, advertiser);
        let category = merge_party(&self.category, &d.category_id, &d.category);
        set(c, CATEGORY, &mut self.category, category);
        set(
            c,
            "name",
            &mut self.name,
            d.name.update().map(Option::unwrap_or_default),
        );
        set(
            c,
            "offer_status",
            &mut self.offer_status,
            d.offer_status.update(),
        );
        set(
            c,
            "currency_id",
            &mut self.currency_id,
            d.currency_id.update(),
        );
        set(
            c,
            "destination_url",
            &mut self.destination_url,
            d.destination_url.update(),
        );
        set(
            c,
            "preview_url",
            &mut self.preview_url,
            d.preview_url.update(),
        );
        set(
            c,
            "thumbnail_url",
            &mut self.thumbnail_url,
            d.thumbnail_url.update(),
        );
        set(c, "visibility", &mut self.visibility, d.visibility.update());
        set(
            c,
            "daily_conversion_cap",
            &mut self.daily_conversion_cap,
            d.daily_conversion_cap.update(),
        );
        set(
            c,
            "weekly_conversion_cap",
            &mut self.weekly_conversion_cap,
            d.weekly_conversion_cap.update(),
        );
        set(
            c,
            "monthly_conversion_cap",
            &mut self.monthly_conversion_cap,
            d.monthly_conversion_cap.update(),
        );
        set(
            c,
            "global_conversion_cap",
            &mut self.global_conversion_cap,
            d.global_conversion_cap.update(),
        );
        set(
            c,
            "time_created",
            &mut self.time_created,
            d.time_created.update(),
        );
        set(c, "time_saved", &mut self.time_saved, d.time_saved.update());
        set(c, LABELS, &mut self.labels, d.labels);
        set(c, CHANNELS, &mut self.channels, d.channels);
        set(c, PAYOUTS, &mut self.payouts, d.payouts);
        set(c, COUNTRIES, &mut self.countries, d.countries);
        set(c, DEVICE_TYPES, &mut self.device_types, d.device_types);
        set(c, PLATFORMS, &mut self.platforms, d.platforms);
        changed
    }

    /// The base payout entry: the one marked `is_default`, else the only one.
    pub fn default_payout(&self) -> Option<&PayoutEntry> {
        self.payouts
            .iter()
            .find(|p| p.is_default)
            .or(if self.payouts.len() == 1 {
                self.payouts.first()
            } else {
                None
            })
    }

    /// True when some country rule includes: the offer is then available only there.
    pub fn is_geo_restricted(&self) -> bool {
        self.countries.iter().any(Rule::is_include)
    }
}

/// The normalized status an `offer_status` string stands for.
pub fn normalized_status(raw: Option<&str>) -> &'static str {
    match raw.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        Some("active") => "active",
        Some("paused") => "paused",
        Some("pending") => "pending",
        Some("deleted") => "deleted",
        _ => "other",
    }
}
