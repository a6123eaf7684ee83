//! sea-orm entities of the offer catalog, one file per table.
//!
//! Plain data models only: no GraphQL derives and no business rules. Money is
//! stored as exact decimal strings (SQLite has no exact numeric type), times
//! from Everflow as unix seconds (`0` = unknown), server times as UTC.

pub mod advertiser;
pub mod catalog_version;
pub mod category;
pub mod channel;
pub mod label;
pub mod offer;
pub mod offer_channel;
pub mod offer_country;
pub mod offer_device_type;
pub mod offer_label;
pub mod offer_platform;
pub mod offer_revision;
pub mod payout_revenue;
pub mod webhook_delivery;

pub mod prelude {
    pub use super::advertiser::Entity as Advertiser;
    pub use super::catalog_version::Entity as CatalogVersion;
    pub use super::category::Entity as Category;
    pub use super::channel::Entity as Channel;
    pub use super::label::Entity as Label;
    pub use super::offer::Entity as Offer;
    pub use super::offer_channel::Entity as OfferChannel;
    pub use super::offer_country::Entity as OfferCountry;
    pub use super::offer_device_type::Entity as OfferDeviceType;
    pub use super::offer_label::Entity as OfferLabel;
    pub use super::offer_platform::Entity as OfferPlatform;
    pub use super::offer_revision::Entity as OfferRevision;
    pub use super::payout_revenue::Entity as PayoutRevenue;
    pub use super::webhook_delivery::Entity as WebhookDelivery;
}
