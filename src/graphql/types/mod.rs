//! API types, built from storage records; the schema does not follow columns.
mod catalog;
mod connection;
mod offer;

pub use catalog::{Advertiser, Category, Channel, CountryFacet, Label};
pub use connection::{OfferConnection, OfferEdge, PageInfo};
pub use offer::{
    ConversionCaps, DEFAULT_HISTORY, Offer, OfferRevision, OfferVisibility, Payout, Targeting,
};

use async_graphql::Interface;

/// Relay global object identification: anything with a global `id`.
#[derive(Interface)]
#[graphql(field(
    name = "id",
    ty = "async_graphql::ID",
    desc = "Global, opaque id; `node(id:)` finds the object again."
))]
pub enum Node {
    Offer(Offer),
    Payout(Payout),
    Category(Category),
    Advertiser(Advertiser),
    Channel(Channel),
}
