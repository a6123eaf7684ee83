//! The write path of deliveries, batched: one transaction applies a batch of
//! deliveries (group commit) with a fixed number of multi-row statements,
//! whatever the batch size. A batch of one is the unbatched case.
use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use entity::{
    advertiser, catalog_version, category, channel, label, offer, offer_channel, offer_country,
    offer_device_type, offer_label, offer_platform, offer_revision, payout_revenue,
};
use rust_decimal::{Decimal, prelude::ToPrimitive};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction,
    EntityTrait, Iterable, QueryFilter, QuerySelect, SqliteTransactionMode, Statement,
    TransactionOptions, TransactionTrait, Value,
    sea_query::{Expr, ExprTrait, OnConflict},
};
use tokio::sync::OwnedMutexGuard;

use super::{Store, StoreError, deliveries::NewDelivery};
use crate::{
    events::{ChangeRef, NOTIFY_CHANNEL},
    ingest::{
        payload::Party,
        state::{OfferState, fields, normalized_status},
    },
};

/// The stored state of an offer, as read under its write lock.
#[derive(Debug, Clone)]
pub struct StoredOffer {
    pub state: OfferState,
    pub revision: i32,
}

/// An offer's state after a batch, and which of its parts to rewrite.
#[derive(Debug, Clone)]
pub struct OfferUpdate {
    pub state: OfferState,
    /// Not in the catalog before the batch.
    pub is_new: bool,
    /// Fields changed by any delivery of the batch.
    pub touched: BTreeSet<&'static str>,
    pub revision: i32,
    /// Body of the offer's last applied delivery in the batch.
    pub raw_payload: Vec<u8>,
    pub at: DateTime<Utc>,
}

impl OfferUpdate {
    fn rewrites(&self, field: &str) -> bool {
        self.is_new || self.touched.contains(field)
    }
}

/// One applied delivery's revision.
#[derive(Debug, Clone)]
pub struct RevisionRow {
    pub network_offer_id: i64,
    pub revision: i32,
    pub at: DateTime<Utc>,
    pub created: bool,
    pub changed_fields: Vec<&'static str>,
    pub snapshot: serde_json::Value,
}

/// A write transaction holding the locks of a batch's offers.
pub struct BatchWrite {
    txn: DatabaseTransaction,
    _writer: Option<OwnedMutexGuard<()>>,
    /// PostgreSQL: the pool `catalog_version` is bumped on after the commit
    /// (see [`bump_catalog_version`]).
    postgres: Option<DatabaseConnection>,
    /// The batch changed the catalog.
    changed: bool,
}

/// Most bind parameters in one statement (SQLite allows 32,766, PostgreSQL 65,535).
const MAX_PARAMS: usize = 30_000;

impl Store {
    /// Starts the transaction of a batch touching `offer_ids`; concurrent writers
    /// of the same offers (other processes included) wait for it to commit.
    pub async fn begin_batch(&self, offer_ids: &[i64]) -> Result<BatchWrite, StoreError> {
        let writer = match &self.sqlite_writer {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        };
        self.checkpoint_if_wal_is_long().await;
        let txn = if self.sqlite_writer.is_some() {
            // Takes SQLite's write lock up front, waiting out the busy timeout
            // while another process writes; a deferred transaction that read
            // first would fail with SQLITE_BUSY if another connection wrote
            // between its first read and its first write.
            self.writes
                .begin_with_options(TransactionOptions {
                    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    ..Default::default()
                })
                .await?
        } else {
            self.writes.begin().await?
        };
        if txn.get_database_backend() == DatabaseBackend::Postgres && !offer_ids.is_empty() {
            // Locks taken in id order, so two batches never wait on each other in a cycle.
            let mut ids = offer_ids.to_vec();
            ids.sort_unstable();
            ids.dedup();
            let placeholders: Vec<String> =
                (1..=ids.len()).map(|i| format!("(${i}::bigint)")).collect();
            let sql = format!(
                "SELECT pg_advisory_xact_lock(id) FROM (SELECT id FROM (VALUES {}) AS v(id) ORDER BY id) AS sorted",
                placeholders.join(", ")
            );
            txn.execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                sql,
                ids.into_iter().map(Value::from),
            ))
            .await?;
        }
        Ok(BatchWrite {
            txn,
            _writer: writer,
            postgres: (self.backend() == DatabaseBackend::Postgres).then(|| self.db.clone()),
            changed: false,
        })
    }
}

impl BatchWrite {
    /// The stored offers among `ids`.
    pub async fn load(&self, ids: &[i64]) -> Result<HashMap<i64, StoredOffer>, StoreError> {
        let rows: Vec<(i64, serde_json::Value, i32)> = offer::Entity::find()
            .select_only()
            .column(offer::Column::NetworkOfferId)
            .column(offer::Column::State)
            .column(offer::Column::Revision)
            .filter(offer::Column::NetworkOfferId.is_in(ids.iter().copied()))
            .into_tuple()
            .all(&self.txn)
            .await?;
        rows.into_iter()
            .map(|(id, state, revision)| {
                let state = match state {
                    serde_json::Value::String(text) => serde_json::from_str(&text),
                    other => serde_json::from_value(other),
                }
                .map_err(|e| StoreError::CorruptState(id, e))?;
                Ok((id, StoredOffer { state, revision }))
            })
            .collect()
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

    /// Writes a batch: reference rows, the offers' rewritten children, the
    /// offer rows, revisions and delivery records (and, on PostgreSQL, the
    /// change notifications that go out on commit).
    pub async fn save(
        &mut self,
        offers: &[OfferUpdate],
        revisions: &[RevisionRow],
        deliveries: &[NewDelivery<'_>],
    ) -> Result<(), StoreError> {
        let txn = &self.txn;
        self.save_parties(offers).await?;

        let labels: BTreeSet<&String> = offers
            .iter()
            .filter(|o| o.rewrites(fields::LABELS))
            .flat_map(|o| o.state.labels.iter())
            .collect();
        insert_chunked(
            txn,
            labels
                .into_iter()
                .map(|name| label::ActiveModel {
                    name: Set(name.clone()),
                })
                .collect(),
            Some(
                OnConflict::column(label::Column::Name)
                    .do_nothing()
                    .to_owned(),
            ),
        )
        .await?;

        self.replace_children::<offer_label::Entity, _>(
            offers,
            fields::LABELS,
            offer_label::Column::NetworkOfferId,
            |o| {
                o.state
                    .labels
                    .iter()
                    .enumerate()
                    .map(|(i, name)| offer_label::ActiveModel {
                        network_offer_id: Set(o.state.network_offer_id),
                        label: Set(name.clone()),
                        position: Set(i as i32),
                    })
                    .collect()
            },
        )
        .await?;
        self.replace_children::<offer_channel::Entity, _>(
            offers,
            fields::CHANNELS,
            offer_channel::Column::NetworkOfferId,
            |o| {
                o.state
                    .channels
                    .iter()
                    .enumerate()
                    .map(|(i, c)| offer_channel::ActiveModel {
                        network_offer_id: Set(o.state.network_offer_id),
                        network_channel_id: Set(c.id),
                        position: Set(i as i32),
                    })
                    .collect()
            },
        )
        .await?;
        self.replace_children::<payout_revenue::Entity, _>(
            offers,
            fields::PAYOUTS,
            payout_revenue::Column::NetworkOfferId,
            |o| {
                o.state
                    .payouts
                    .iter()
                    .enumerate()
                    .map(|(i, p)| payout_revenue::ActiveModel {
                        network_offer_id: Set(o.state.network_offer_id),
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
                    })
                    .collect()
            },
        )
        .await?;
        self.replace_children::<offer_country::Entity, _>(
            offers,
            fields::COUNTRIES,
            offer_country::Column::NetworkOfferId,
            |o| {
                o.state
                    .countries
                    .iter()
                    .map(|r| offer_country::ActiveModel {
                        network_offer_id: Set(o.state.network_offer_id),
                        country_code: Set(r.value.clone()),
                        targeting_type: Set(r.targeting_type.clone()),
                    })
                    .collect()
            },
        )
        .await?;
        self.replace_children::<offer_device_type::Entity, _>(
            offers,
            fields::DEVICE_TYPES,
            offer_device_type::Column::NetworkOfferId,
            |o| {
                o.state
                    .device_types
                    .iter()
                    .map(|r| offer_device_type::ActiveModel {
                        network_offer_id: Set(o.state.network_offer_id),
                        name: Set(r.value.clone()),
                        targeting_type: Set(r.targeting_type.clone()),
                    })
                    .collect()
            },
        )
        .await?;
        self.replace_children::<offer_platform::Entity, _>(
            offers,
            fields::PLATFORMS,
            offer_platform::Column::NetworkOfferId,
            |o| {
                o.state
                    .platforms
                    .iter()
                    .map(|r| offer_platform::ActiveModel {
                        network_offer_id: Set(o.state.network_offer_id),
                        name: Set(r.value.clone()),
                        targeting_type: Set(r.targeting_type.clone()),
                    })
                    .collect()
            },
        )
        .await?;

        let rows = offers
            .iter()
            .map(offer_row)
            .collect::<Result<Vec<_>, _>>()?;
        let update_columns = offer::Column::iter().filter(|c| {
            !matches!(
                c,
                offer::Column::NetworkOfferId | offer::Column::FirstSeenAt
            )
        });
        insert_chunked(
            txn,
            rows,
            Some(
                OnConflict::column(offer::Column::NetworkOfferId)
                    .update_columns(update_columns)
                    .to_owned(),
            ),
        )
        .await?;

        insert_chunked(
            txn,
            revisions
                .iter()
                .map(|r| offer_revision::ActiveModel {
                    network_offer_id: Set(r.network_offer_id),
                    revision: Set(r.revision),
                    at: Set(r.at),
                    change: Set(if r.created { "created" } else { "updated" }.to_owned()),
                    changed_fields: Set(serde_json::json!(r.changed_fields)),
                    snapshot: Set(r.snapshot.clone()),
                })
                .collect(),
            None,
        )
        .await?;
        insert_chunked(
            txn,
            deliveries.iter().map(NewDelivery::active_model).collect(),
            None,
        )
        .await?;

        if txn.get_database_backend() == DatabaseBackend::Postgres && !revisions.is_empty() {
            // Delivered to every listening replica when, and only if, this transaction commits.
            let payloads: Vec<Value> = revisions
                .iter()
                .map(|r| {
                    serde_json::to_string(&ChangeRef {
                        network_offer_id: r.network_offer_id,
                        revision: r.revision,
                    })
                    .unwrap_or_default()
                    .into()
                })
                .collect();
            let placeholders: Vec<String> =
                (2..payloads.len() + 2).map(|i| format!("(${i})")).collect();
            let sql = format!(
                "SELECT pg_notify($1, payload) FROM (VALUES {}) AS v(payload)",
                placeholders.join(", ")
            );
            let values = std::iter::once(Value::from(NOTIFY_CHANNEL)).chain(payloads);
            txn.execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                sql,
                values,
            ))
            .await?;
        }
        if !offers.is_empty() {
            self.changed = true;
            if self.postgres.is_none() {
                // SQLite has one writer at a time: bumped atomically with the changes.
                bump_catalog_version(txn).await?;
            }
        }
        Ok(())
    }

    /// Upserts the advertisers, categories and channels the batch's offers
    /// mention: full details always, stubs only where the row is missing.
    async fn save_parties(&self, offers: &[OfferUpdate]) -> Result<(), StoreError> {
        let collect =
            |field: &str, parties: &dyn Fn(&OfferState) -> Vec<&Party>| -> BTreeMap<i64, Party> {
                let mut by_id: BTreeMap<i64, Party> = BTreeMap::new();
                for o in offers.iter().filter(|o| o.rewrites(field)) {
                    for party in parties(&o.state) {
                        match by_id.get(&party.id) {
                            Some(known) if !known.is_stub() && party.is_stub() => {}
                            _ => {
                                by_id.insert(party.id, party.clone());
                            }
                        }
                    }
                }
                by_id
            };
        let advertisers = collect(fields::ADVERTISER, &|s| s.advertiser.iter().collect());
        upsert_parties::<advertiser::Entity, _>(
            &self.txn,
            advertisers.into_values(),
            |p| advertiser::ActiveModel {
                network_advertiser_id: Set(p.id),
                network_id: Set(p.network_id),
                name: Set(p.name.clone()),
                account_status: Set(p.status.clone()),
            },
            advertiser::Column::NetworkAdvertiserId,
            [
                advertiser::Column::NetworkId,
                advertiser::Column::Name,
                advertiser::Column::AccountStatus,
            ],
        )
        .await?;
        let categories = collect(fields::CATEGORY, &|s| s.category.iter().collect());
        upsert_parties::<category::Entity, _>(
            &self.txn,
            categories.into_values(),
            |p| category::ActiveModel {
                network_category_id: Set(p.id),
                network_id: Set(p.network_id),
                name: Set(p.name.clone()),
                status: Set(p.status.clone()),
            },
            category::Column::NetworkCategoryId,
            [
                category::Column::NetworkId,
                category::Column::Name,
                category::Column::Status,
            ],
        )
        .await?;
        let channels = collect(fields::CHANNELS, &|s| s.channels.iter().collect());
        upsert_parties::<channel::Entity, _>(
            &self.txn,
            channels.into_values(),
            |p| channel::ActiveModel {
                network_channel_id: Set(p.id),
                network_id: Set(p.network_id),
                name: Set(p.name.clone()),
                status: Set(p.status.clone()),
            },
            channel::Column::NetworkChannelId,
            [
                channel::Column::NetworkId,
                channel::Column::Name,
                channel::Column::Status,
            ],
        )
        .await
    }

    /// Replaces one child table's rows of every offer whose `field` changed.
    async fn replace_children<E, F>(
        &self,
        offers: &[OfferUpdate],
        field: &str,
        offer_column: E::Column,
        rows_of: F,
    ) -> Result<(), StoreError>
    where
        E: EntityTrait,
        E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
        F: Fn(&OfferUpdate) -> Vec<E::ActiveModel>,
    {
        let rewritten: Vec<&OfferUpdate> = offers.iter().filter(|o| o.rewrites(field)).collect();
        let existing: Vec<i64> = rewritten
            .iter()
            .filter(|o| !o.is_new)
            .map(|o| o.state.network_offer_id)
            .collect();
        for ids in existing.chunks(1000) {
            E::delete_many()
                .filter(offer_column.is_in(ids.iter().copied()))
                .exec(&self.txn)
                .await?;
        }
        let rows: Vec<E::ActiveModel> = rewritten.iter().flat_map(|o| rows_of(o)).collect();
        insert_chunked(&self.txn, rows, None).await
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        self.txn.commit().await?;
        if self.changed
            && let Some(db) = &self.postgres
            && let Err(error) = bump_catalog_version(db).await
        {
            // The batch is committed and must be answered as such; the next
            // change's bump retires what caches kept meanwhile.
            tracing::error!(%error, "could not bump the catalog version after a commit");
        }
        Ok(())
    }
}

/// Counts one more committed change of the catalog.
///
/// Cached GraphQL responses are keyed by this version. On PostgreSQL it is
/// bumped after the commit, in its own short statement, so that replicas'
/// batches do not queue on the row's lock for their whole transaction: a
/// reader that saw the old version may have computed a response from
/// pre-commit data, and the bump that follows the commit retires it.
async fn bump_catalog_version(db: &impl ConnectionTrait) -> Result<(), StoreError> {
    catalog_version::Entity::update_many()
        .col_expr(
            catalog_version::Column::Version,
            Expr::col(catalog_version::Column::Version).add(1),
        )
        .filter(catalog_version::Column::Id.eq(1))
        .exec(db)
        .await?;
    Ok(())
}

fn offer_row(update: &OfferUpdate) -> Result<offer::ActiveModel, StoreError> {
    let state = &update.state;
    let snapshot = serde_json::to_value(state)
        .map_err(|e| StoreError::CorruptState(state.network_offer_id, e))?;
    Ok(offer::ActiveModel {
        network_offer_id: Set(state.network_offer_id),
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
        revision: Set(update.revision),
        default_payout_micros: Set(state
            .default_payout()
            .and_then(|p| p.payout_amount)
            .and_then(micros)
            .unwrap_or(-1)),
        geo_restricted: Set(state.is_geo_restricted()),
        state: Set(snapshot),
        raw_payload: Set(update.raw_payload.clone()),
        first_seen_at: Set(update.at),
        last_changed_at: Set(update.at),
    })
}

/// Millionths of `amount`, rounded down: the sortable form of a payout amount.
pub fn micros(amount: Decimal) -> Option<i64> {
    (amount * Decimal::from(1_000_000)).floor().to_i64()
}

/// Inserts reference rows: detailed ones overwrite, stubs only fill gaps.
async fn upsert_parties<E, const N: usize>(
    txn: &DatabaseTransaction,
    parties: impl Iterator<Item = Party>,
    model: impl Fn(&Party) -> E::ActiveModel,
    key: E::Column,
    details: [E::Column; N],
) -> Result<(), StoreError>
where
    E: EntityTrait,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
{
    let (stubs, detailed): (Vec<Party>, Vec<Party>) = parties.partition(Party::is_stub);
    insert_chunked(
        txn,
        detailed.iter().map(&model).collect(),
        Some(OnConflict::column(key).update_columns(details).to_owned()),
    )
    .await?;
    insert_chunked(
        txn,
        stubs.iter().map(&model).collect(),
        Some(OnConflict::column(key).do_nothing().to_owned()),
    )
    .await
}

/// Multi-row inserts, split so no statement exceeds the bind-parameter limit.
async fn insert_chunked<A>(
    txn: &DatabaseTransaction,
    rows: Vec<A>,
    on_conflict: Option<OnConflict>,
) -> Result<(), StoreError>
where
    A: ActiveModelTrait + Send,
{
    if rows.is_empty() {
        return Ok(());
    }
    let columns = <A::Entity as EntityTrait>::Column::iter().count().max(1);
    let per_statement = (MAX_PARAMS / columns).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(per_statement).collect();
        let insert = <A::Entity as EntityTrait>::insert_many(chunk);
        match &on_conflict {
            Some(on_conflict) => {
                insert
                    .on_conflict(on_conflict.clone())
                    .try_insert()
                    .exec_without_returning(txn)
                    .await?;
            }
            None => {
                insert.exec_without_returning(txn).await?;
            }
        }
    }
    Ok(())
}
