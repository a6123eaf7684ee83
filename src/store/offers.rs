//! The write path of one delivery: lock the offer, read its state, write the
//! new state with its children, its revision and the delivery record, commit.
use chrono::{DateTime, Utc};
use entity::{
    advertiser, category, channel, label, offer, offer_channel, offer_country, offer_device_type,
    offer_label, offer_platform, offer_revision, payout_revenue,
};
use rust_decimal::{Decimal, prelude::ToPrimitive};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, QueryFilter,
    QuerySelect, Statement, TransactionTrait,
    sea_query::OnConflict,
};
use tokio::sync::OwnedMutexGuard;

use super::{Store, StoreError, deliveries::NewDelivery};
use crate::{
    events::{ChangeRef, NOTIFY_CHANNEL},
    ingest::state::{OfferState, fields, normalized_status},
};

/// The stored state of an offer, as read under its write lock.
#[derive(Debug, Clone)]
pub struct StoredOffer {
    pub state: OfferState,
    pub revision: i32,
}

/// What a delivery changes: everything [`OfferWrite::save`] writes.
pub struct OfferChange<'a> {
    pub state: &'a OfferState,
    /// `None` for an offer new to the catalog.
    pub previous: Option<&'a StoredOffer>,
    pub changed_fields: &'a [&'static str],
    pub revision: i32,
    pub raw_payload: &'a [u8],
    pub at: DateTime<Utc>,
}

/// A write transaction holding the lock of one offer.
pub struct OfferWrite {
    txn: DatabaseTransaction,
    network_offer_id: i64,
    _writer: Option<OwnedMutexGuard<()>>,
}

impl Store {
    /// Starts the transaction of a delivery for `network_offer_id`; concurrent
    /// deliveries for the same offer wait for it to commit.
    pub async fn begin_offer_write(&self, network_offer_id: i64) -> Result<OfferWrite, StoreError> {
        let writer = match &self.sqlite_writer {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        };
        let txn = self.db.begin().await?;
        if txn.get_database_backend() == DatabaseBackend::Postgres {
            txn.execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT pg_advisory_xact_lock($1)",
                [network_offer_id.into()],
            ))
            .await?;
        }
        Ok(OfferWrite {
            txn,
            network_offer_id,
            _writer: writer,
        })
    }
}

impl OfferWrite {
    pub fn transaction(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// The offer as stored, or `None` when it is new to the catalog.
    pub async fn load(&self) -> Result<Option<StoredOffer>, StoreError> {
        let row: Option<(serde_json::Value, i32)> =
            offer::Entity::find_by_id(self.network_offer_id)
                .select_only()
                .column(offer::Column::State)
                .column(offer::Column::Revision)
                .into_tuple()
                .one(&self.txn)
                .await?;
        row.map(|(state, revision)| {
            serde_json::from_value(state)
                .map(|state| StoredOffer { state, revision })
                .map_err(|e| StoreError::CorruptState(self.network_offer_id, e))
        })
        .transpose()
    }

    /// Writes the offer row, the children whose field changed, and the revision.
    pub async fn save(&self, change: &OfferChange<'_>, delivery_id: i64) -> Result<(), StoreError> {
        let txn = &self.txn;
        let state = change.state;
        let id = state.network_offer_id;
        let is_new = change.previous.is_none();
        let touched = |field: &str| is_new || change.changed_fields.contains(&field);

        if touched(fields::ADVERTISER)
            && let Some(party) = &state.advertiser
        {
            upsert_party::<advertiser::Entity, _>(
                txn,
                party.is_stub(),
                advertiser::ActiveModel {
                    network_advertiser_id: Set(party.id),
                    network_id: Set(party.network_id),
                    name: Set(party.name.clone()),
                    account_status: Set(party.status.clone()),
                },
                advertiser::Column::NetworkAdvertiserId,
                [
                    advertiser::Column::NetworkId,
                    advertiser::Column::Name,
                    advertiser::Column::AccountStatus,
                ],
            )
            .await?;
        }
        if touched(fields::CATEGORY)
            && let Some(party) = &state.category
        {
            upsert_party::<category::Entity, _>(
                txn,
                party.is_stub(),
                category::ActiveModel {
                    network_category_id: Set(party.id),
                    network_id: Set(party.network_id),
                    name: Set(party.name.clone()),
                    status: Set(party.status.clone()),
                },
                category::Column::NetworkCategoryId,
                [
                    category::Column::NetworkId,
                    category::Column::Name,
                    category::Column::Status,
                ],
            )
            .await?;
        }
        if touched(fields::CHANNELS) {
            for party in &state.channels {
                upsert_party::<channel::Entity, _>(
                    txn,
                    party.is_stub(),
                    channel::ActiveModel {
                        network_channel_id: Set(party.id),
                        network_id: Set(party.network_id),
                        name: Set(party.name.clone()),
                        status: Set(party.status.clone()),
                    },
                    channel::Column::NetworkChannelId,
                    [
                        channel::Column::NetworkId,
                        channel::Column::Name,
                        channel::Column::Status,
                    ],
                )
                .await?;
            }
            if !is_new {
                offer_channel::Entity::delete_many()
                    .filter(offer_channel::Column::NetworkOfferId.eq(id))
                    .exec(txn)
                    .await?;
            }
            insert_all(
                txn,
                state
                    .channels
                    .iter()
                    .enumerate()
                    .map(|(i, c)| offer_channel::ActiveModel {
                        network_offer_id: Set(id),
                        network_channel_id: Set(c.id),
                        position: Set(i as i32),
                    }),
            )
            .await?;
        }
        if touched(fields::LABELS) {
            if !state.labels.is_empty() {
                label::Entity::insert_many(state.labels.iter().map(|name| label::ActiveModel {
                    name: Set(name.clone()),
                }))
                .on_conflict(
                    OnConflict::column(label::Column::Name)
                        .do_nothing()
                        .to_owned(),
                )
                .try_insert()
                .exec_without_returning(txn)
                .await?;
            }
            if !is_new {
                offer_label::Entity::delete_many()
                    .filter(offer_label::Column::NetworkOfferId.eq(id))
                    .exec(txn)
                    .await?;
            }
            insert_all(
                txn,
                state
                    .labels
                    .iter()
                    .enumerate()
                    .map(|(i, name)| offer_label::ActiveModel {
                        network_offer_id: Set(id),
                        label: Set(name.clone()),
                        position: Set(i as i32),
                    }),
            )
            .await?;
        }
        if touched(fields::PAYOUTS) {
            if !is_new {
                payout_revenue::Entity::delete_many()
                    .filter(payout_revenue::Column::NetworkOfferId.eq(id))
                    .exec(txn)
                    .await?;
            }
            insert_all(
                txn,
                state
                    .payouts
                    .iter()
                    .enumerate()
                    .map(|(i, p)| payout_revenue::ActiveModel {
                        network_offer_id: Set(id),
                        network_offer_payout_revenue_id: Set(p.network_offer_payout_revenue_id),
                        position: Set(i as i32),
                        entry_name: Set(p.entry_name.clone()),
                        is_default: Set(p.is_default),
                        payout_type: Set(p.payout_type.clone()),
                        payout_amount: Set(p.payout_amount.map(|d| d.to_string())),
                        payout_percentage: Set(p.payout_percentage.map(|d| d.to_string())),
                        revenue_type: Set(p.revenue_type.clone()),
                        revenue_amount: Set(p.revenue_amount.map(|d| d.to_string())),
                        revenue_percentage: Set(p.revenue_percentage.map(|d| d.to_string())),
                        currency_id: Set(p.currency_id.clone()),
                        is_private: Set(p.is_private),
                        must_approve_conversion: Set(p.must_approve_conversion),
                        allow_duplicate_conversion: Set(p.allow_duplicate_conversion),
                    }),
            )
            .await?;
        }
        if touched(fields::COUNTRIES) {
            if !is_new {
                offer_country::Entity::delete_many()
                    .filter(offer_country::Column::NetworkOfferId.eq(id))
                    .exec(txn)
                    .await?;
            }
            insert_all(
                txn,
                state.countries.iter().map(|r| offer_country::ActiveModel {
                    network_offer_id: Set(id),
                    country_code: Set(r.value.clone()),
                    targeting_type: Set(r.targeting_type.clone()),
                }),
            )
            .await?;
        }
        if touched(fields::DEVICE_TYPES) {
            if !is_new {
                offer_device_type::Entity::delete_many()
                    .filter(offer_device_type::Column::NetworkOfferId.eq(id))
                    .exec(txn)
                    .await?;
            }
            insert_all(
                txn,
                state
                    .device_types
                    .iter()
                    .map(|r| offer_device_type::ActiveModel {
                        network_offer_id: Set(id),
                        name: Set(r.value.clone()),
                        targeting_type: Set(r.targeting_type.clone()),
                    }),
            )
            .await?;
        }
        if touched(fields::PLATFORMS) {
            if !is_new {
                offer_platform::Entity::delete_many()
                    .filter(offer_platform::Column::NetworkOfferId.eq(id))
                    .exec(txn)
                    .await?;
            }
            insert_all(
                txn,
                state.platforms.iter().map(|r| offer_platform::ActiveModel {
                    network_offer_id: Set(id),
                    name: Set(r.value.clone()),
                    targeting_type: Set(r.targeting_type.clone()),
                }),
            )
            .await?;
        }

        let snapshot = serde_json::to_value(state).expect("an offer state always serializes");
        let row = offer::ActiveModel {
            network_offer_id: Set(id),
            network_id: Set(state.network_id),
            network_advertiser_id: Set(state.advertiser.as_ref().map(|p| p.id)),
            network_category_id: Set(state.category.as_ref().map(|p| p.id)),
            name: Set(state.name.clone()),
            offer_status: Set(state.offer_status.clone()),
            status: Set(normalized_status(state.offer_status.as_deref()).to_owned()),
            currency_id: Set(state.currency_id.clone()),
            destination_url: Set(state.destination_url.clone()),
            preview_url: Set(state.preview_url.clone()),
            thumbnail_url: Set(state.thumbnail_url.clone()),
            visibility: Set(state.visibility.clone()),
            daily_conversion_cap: Set(state.daily_conversion_cap),
            weekly_conversion_cap: Set(state.weekly_conversion_cap),
            monthly_conversion_cap: Set(state.monthly_conversion_cap),
            global_conversion_cap: Set(state.global_conversion_cap),
            time_created: Set(state.time_created.unwrap_or(0)),
            time_saved: Set(state.time_saved.unwrap_or(0)),
            revision: Set(change.revision),
            default_payout_micros: Set(state
                .default_payout()
                .and_then(|p| p.payout_amount)
                .and_then(micros)
                .unwrap_or(-1)),
            geo_restricted: Set(state.is_geo_restricted()),
            state: Set(snapshot.clone()),
            raw_payload: Set(change.raw_payload.to_vec()),
            first_seen_at: if is_new { Set(change.at) } else { NotSet },
            last_changed_at: Set(change.at),
        };
        if is_new {
            offer::Entity::insert(row)
                .exec_without_returning(txn)
                .await?;
        } else {
            offer::Entity::update(row).exec(txn).await?;
        }
        offer_revision::Entity::insert(offer_revision::ActiveModel {
            network_offer_id: Set(id),
            revision: Set(change.revision),
            at: Set(change.at),
            change: Set(if is_new { "created" } else { "updated" }.to_owned()),
            changed_fields: Set(serde_json::json!(change.changed_fields)),
            snapshot: Set(snapshot),
            delivery_id: Set(Some(delivery_id)),
        })
        .exec_without_returning(txn)
        .await?;
        if txn.get_database_backend() == DatabaseBackend::Postgres {
            // Delivered to every listening replica when, and only if, this transaction commits.
            let reference = ChangeRef {
                network_offer_id: id,
                revision: change.revision,
            };
            txn.execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [
                    NOTIFY_CHANNEL.into(),
                    serde_json::to_string(&reference).unwrap_or_default().into(),
                ],
            ))
            .await?;
        }
        Ok(())
    }

    /// Fills a category known only by id with what the catalog knows of it, so
    /// the offer's document (which subscriptions filter on) carries its name.
    pub async fn resolve_category_stub(&self, state: &mut OfferState) -> Result<(), StoreError> {
        if let Some(party) = state.category.as_mut()
            && party.is_stub()
            && let Some(row) = category::Entity::find_by_id(party.id)
                .one(&self.txn)
                .await?
        {
            party.network_id = row.network_id;
            party.name = row.name;
            party.status = row.status;
        }
        Ok(())
    }

    /// Records the delivery inside this transaction; returns its id.
    pub async fn record_delivery(&self, delivery: NewDelivery<'_>) -> Result<i64, StoreError> {
        delivery.insert(&self.txn).await
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        self.txn.commit().await?;
        Ok(())
    }
}

/// Millionths of `amount`, rounded down: the sortable form of a payout amount.
pub fn micros(amount: Decimal) -> Option<i64> {
    (amount * Decimal::from(1_000_000)).floor().to_i64()
}

/// Inserts a reference row: a stub only when missing, full details always.
async fn upsert_party<E, const N: usize>(
    txn: &DatabaseTransaction,
    is_stub: bool,
    model: E::ActiveModel,
    key: E::Column,
    details: [E::Column; N],
) -> Result<(), StoreError>
where
    E: EntityTrait,
    E::ActiveModel: Send,
{
    let on_conflict = if is_stub {
        OnConflict::column(key).do_nothing().to_owned()
    } else {
        OnConflict::column(key).update_columns(details).to_owned()
    };
    E::insert(model)
        .on_conflict(on_conflict)
        .try_insert()
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

async fn insert_all<A, I>(txn: &DatabaseTransaction, rows: I) -> Result<(), StoreError>
where
    A: sea_orm::ActiveModelTrait + Send,
    I: IntoIterator<Item = A>,
{
    let rows: Vec<A> = rows.into_iter().collect();
    if !rows.is_empty() {
        <A::Entity as EntityTrait>::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}
