//! The `webhook_delivery` log: every delivery that passed authentication.
use chrono::{DateTime, Utc};
use entity::webhook_delivery;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::{Store, StoreError};

/// A delivery to record.
#[derive(Debug, Clone)]
pub struct NewDelivery<'a> {
    pub received_at: DateTime<Utc>,
    pub source: &'a str,
    pub event: Option<&'a str>,
    pub body_sha256: &'a str,
    pub body: &'a [u8],
    pub outcome: &'a str,
    pub status_code: u16,
    pub error: Option<&'a str>,
    pub error_path: Option<&'a str>,
    pub network_offer_id: Option<i64>,
    pub revision: Option<i32>,
}

impl NewDelivery<'_> {
    pub(crate) async fn insert(&self, conn: &impl ConnectionTrait) -> Result<i64, StoreError> {
        let result = webhook_delivery::Entity::insert(self.active_model())
            .exec(conn)
            .await?;
        Ok(result.last_insert_id)
    }

    pub(crate) fn active_model(&self) -> webhook_delivery::ActiveModel {
        webhook_delivery::ActiveModel {
            id: NotSet,
            received_at: Set(self.received_at),
            source: Set(self.source.to_owned()),
            event: Set(self.event.map(str::to_owned)),
            body_sha256: Set(self.body_sha256.to_owned()),
            body: Set(self.body.to_vec()),
            outcome: Set(self.outcome.to_owned()),
            status_code: Set(i32::from(self.status_code)),
            error: Set(self.error.map(str::to_owned)),
            error_path: Set(self.error_path.map(str::to_owned)),
            network_offer_id: Set(self.network_offer_id),
            revision: Set(self.revision),
        }
    }
}

/// Which stored deliveries `replay` re-applies.
#[derive(Debug, Clone, Default)]
pub struct ReplaySelection {
    pub since: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
}

impl Store {
    /// Records a delivery on its own (a rejected one: nothing else is written).
    pub async fn record_delivery(&self, delivery: NewDelivery<'_>) -> Result<i64, StoreError> {
        let _writer = match &self.sqlite_writer {
            Some(lock) => Some(lock.lock().await),
            None => None,
        };
        delivery.insert(&self.db).await
    }

    /// Ids of the stored deliveries `selection` picks, in receive order.
    pub async fn deliveries_to_replay(
        &self,
        selection: &ReplaySelection,
    ) -> Result<Vec<i64>, StoreError> {
        let mut query = webhook_delivery::Entity::find()
            .select_only()
            .column(webhook_delivery::Column::Id)
            .order_by_asc(webhook_delivery::Column::Id);
        if let Some(since) = selection.since {
            query = query.filter(webhook_delivery::Column::ReceivedAt.gte(since));
        }
        if let Some(outcome) = &selection.outcome {
            query = query.filter(webhook_delivery::Column::Outcome.eq(outcome.as_str()));
        }
        Ok(query.into_tuple().all(&self.db).await?)
    }

    /// One stored delivery, body included.
    pub async fn delivery(&self, id: i64) -> Result<Option<webhook_delivery::Model>, StoreError> {
        Ok(webhook_delivery::Entity::find_by_id(id)
            .one(&self.db)
            .await?)
    }

    /// Every stored delivery of an offer, oldest first.
    pub async fn deliveries_of_offer(
        &self,
        network_offer_id: i64,
    ) -> Result<Vec<webhook_delivery::Model>, StoreError> {
        Ok(webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::NetworkOfferId.eq(network_offer_id))
            .order_by_asc(webhook_delivery::Column::Id)
            .all(&self.db)
            .await?)
    }
}
