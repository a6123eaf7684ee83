//! Reads behind the API.
use entity::offer;
use sea_orm::EntityTrait;

use super::{Store, StoreError};

impl Store {
    pub async fn offer(&self, network_offer_id: i64) -> Result<Option<offer::Model>, StoreError> {
        Ok(offer::Entity::find_by_id(network_offer_id)
            .one(&self.db)
            .await?)
    }
}
