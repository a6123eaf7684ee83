//! `offer`: one row per Everflow offer, keyed by `network_offer_id`.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "offer")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub network_offer_id: i64,
    pub network_id: Option<i64>,
    pub network_advertiser_id: Option<i64>,
    pub network_category_id: Option<i64>,
    pub name: String,
    /// `offer_status` exactly as sent.
    pub offer_status: Option<String>,
    /// Normalized status: active, paused, pending, deleted or other.
    pub status: String,
    pub currency_id: Option<String>,
    pub destination_url: Option<String>,
    pub preview_url: Option<String>,
    pub thumbnail_url: Option<String>,
    pub visibility: Option<String>,
    pub daily_conversion_cap: Option<i64>,
    pub weekly_conversion_cap: Option<i64>,
    pub monthly_conversion_cap: Option<i64>,
    pub global_conversion_cap: Option<i64>,
    /// Unix seconds; `0` when Everflow did not say.
    pub time_created: i64,
    /// Unix seconds; `0` when Everflow did not say.
    pub time_saved: i64,
    pub revision: i32,
    /// The default payout entry's `payout_amount` in millionths, for filtering
    /// and sorting; `-1` when the offer has no default payout amount.
    pub default_payout_micros: i64,
    /// True when the offer has at least one `include` country rule.
    pub geo_restricted: bool,
    /// The normalized offer as last applied (the same document as the revision snapshot).
    pub state: Json,
    /// The body of the last applied delivery, byte for byte.
    pub raw_payload: Vec<u8>,
    pub first_seen_at: DateTimeUtc,
    pub last_changed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
