//! API types, converted from the sea-orm models.
use async_graphql::SimpleObject;

/// An affiliate offer.
#[derive(SimpleObject)]
pub struct Offer {
    pub network_offer_id: i64,
    pub name: String,
    pub status_raw: String,
    pub revision: i32,
}

impl From<entity::offer::Model> for Offer {
    fn from(row: entity::offer::Model) -> Self {
        Self {
            network_offer_id: row.network_offer_id,
            name: row.name,
            status_raw: row.offer_status.unwrap_or_default(),
            revision: row.revision,
        }
    }
}
