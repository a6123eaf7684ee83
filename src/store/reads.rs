//! Reads behind the GraphQL API: filtered keyset pages of offers, counts,
//! batched lookups for DataLoaders, and facets.
use std::collections::HashMap;

use entity::{
    advertiser, category, channel, offer, offer_channel, offer_country, offer_device_type,
    offer_label, offer_platform, offer_revision,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait, FromQueryResult, Order,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Statement, Value,
    sea_query::{Alias, Expr, ExprTrait, Func, Query, SimpleExpr},
};

use super::offers::micros;
use super::{Store, StoreError};
use crate::ingest::{
    AppliedChange, ChangeKind,
    payload::Rule,
    state::{OfferState, normalized_status},
};

/// The statuses `offers` shows when the filter names none: all but deleted.
pub const DEFAULT_STATUSES: [&str; 4] = ["active", "paused", "pending", "other"];
/// Every normalized status.
const ALL_STATUSES: [&str; 5] = ["active", "paused", "pending", "other", "deleted"];

/// Validated filter conditions; every `Some` narrows the result.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OfferConditions {
    /// Upper-case ISO 3166-1 alpha-2 code of the visitor's country.
    pub available_in: Option<String>,
    pub countries: Option<Vec<String>>,
    pub category_ids: Option<Vec<i64>>,
    pub category_name: Option<String>,
    /// Normalized statuses (`active`, `paused`, `pending`, `deleted`, `other`).
    pub statuses: Vec<String>,
    pub advertiser_ids: Option<Vec<i64>>,
    pub labels: Option<Vec<String>>,
    pub channel_ids: Option<Vec<i64>>,
    pub device_types: Option<Vec<String>>,
    pub platforms: Option<Vec<String>>,
    pub search: Option<String>,
    pub currency: Option<String>,
    pub min_payout_micros: Option<i64>,
    pub updated_since: Option<i64>,
    pub offer_ids: Option<Vec<i64>>,
}

/// The column an offer page is ordered by (then by `network_offer_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortField {
    UpdatedAt,
    CreatedAt,
    Name,
    DefaultPayout,
}

impl SortField {
    fn column(self) -> offer::Column {
        match self {
            SortField::UpdatedAt => offer::Column::TimeSaved,
            SortField::CreatedAt => offer::Column::TimeCreated,
            SortField::Name => offer::Column::Name,
            SortField::DefaultPayout => offer::Column::DefaultPayoutMicros,
        }
    }

    /// The sort value of a record.
    pub fn key_of(self, record: &OfferRecord) -> SortValue {
        match self {
            SortField::UpdatedAt => SortValue::Int(record.time_saved),
            SortField::CreatedAt => SortValue::Int(record.time_created),
            SortField::Name => SortValue::Text(record.name.clone()),
            SortField::DefaultPayout => SortValue::Int(record.default_payout_micros),
        }
    }
}

/// A value of a sort column, as carried in a cursor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum SortValue {
    Int(i64),
    Text(String),
}

impl From<SortValue> for Value {
    fn from(value: SortValue) -> Self {
        match value {
            SortValue::Int(i) => i.into(),
            SortValue::Text(s) => s.into(),
        }
    }
}

/// A page request in storage terms: rows strictly after `after` in the
/// given direction, at most `limit`.
#[derive(Debug, Clone)]
pub struct PageQuery {
    pub sort: SortField,
    pub descending: bool,
    pub after: Option<(SortValue, i64)>,
    pub limit: u64,
}

/// An offer as the API reads it: the list columns and the normalized state
/// (children included), never the raw payload.
#[derive(Debug, Clone, FromQueryResult)]
pub struct OfferRecord {
    pub network_offer_id: i64,
    pub name: String,
    pub time_saved: i64,
    pub time_created: i64,
    pub default_payout_micros: i64,
    pub revision: i32,
    /// The normalized offer document, as JSON text (parsed straight into
    /// [`OfferState`], without an intermediate JSON tree).
    pub state: String,
    pub last_changed_at: chrono::DateTime<chrono::Utc>,
}

impl OfferRecord {
    /// The normalized offer document.
    pub fn decode_state(&self) -> Result<OfferState, StoreError> {
        serde_json::from_str(&self.state)
            .map_err(|e| StoreError::CorruptState(self.network_offer_id, e))
    }
}

/// One revision of an offer, without its snapshot.
#[derive(Debug, Clone, FromQueryResult)]
pub struct RevisionRecord {
    pub network_offer_id: i64,
    pub revision: i32,
    pub at: chrono::DateTime<chrono::Utc>,
    pub change: String,
    pub changed_fields: serde_json::Value,
}

fn offer_columns<S: QuerySelect>(select: S) -> S {
    select
        .select_only()
        .columns([
            offer::Column::NetworkOfferId,
            offer::Column::Name,
            offer::Column::TimeSaved,
            offer::Column::TimeCreated,
            offer::Column::DefaultPayoutMicros,
            offer::Column::Revision,
            offer::Column::LastChangedAt,
        ])
        .column_as(
            Expr::col((offer::Entity, offer::Column::State)).cast_as(Alias::new("TEXT")),
            "state",
        )
}

/// `network_offer_id IN (SELECT network_offer_id FROM <child> WHERE …)`.
fn offer_in<E: EntityTrait>(child_offer_column: E::Column, condition: Condition) -> SimpleExpr
where
    E::Column: ColumnTrait,
{
    Expr::col((offer::Entity, offer::Column::NetworkOfferId)).in_subquery(
        Query::select()
            .column(child_offer_column)
            .from(E::default())
            .cond_where(condition)
            .to_owned(),
    )
}

fn lower(column: impl sea_orm::sea_query::IntoColumnRef) -> SimpleExpr {
    Func::lower(Expr::col(column)).into()
}

fn lowered(values: &[String]) -> Vec<String> {
    values.iter().map(|v| v.to_lowercase()).collect()
}

/// `value` with LIKE's wildcards escaped (escape character `\`).
fn like_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl OfferConditions {
    /// The SQL condition on `offer` these conditions mean.
    pub fn condition(&self) -> Condition {
        let mut all = Condition::all();
        if !self.statuses.is_empty() {
            // Name the shorter side: `status <> 'deleted'` for the default lets the
            // planner walk the ordering index instead of sorting every live offer.
            let excluded: Vec<&str> = ALL_STATUSES
                .iter()
                .copied()
                .filter(|s| !self.statuses.iter().any(|wanted| wanted == s))
                .collect();
            if excluded.len() < self.statuses.len() {
                if !excluded.is_empty() {
                    all = all.add(offer::Column::Status.is_not_in(excluded));
                }
            } else {
                all = all.add(offer::Column::Status.is_in(self.statuses.iter().cloned()));
            }
        }
        if let Some(code) = &self.available_in {
            // Correlated EXISTS: one primary-key probe per offer the ordering index
            // walks, instead of materializing every offer that targets the country.
            let rule = |kind: &str| {
                Expr::exists(
                    Query::select()
                        .expr(Expr::val(1))
                        .from(offer_country::Entity)
                        .and_where(
                            Expr::col((
                                offer_country::Entity,
                                offer_country::Column::NetworkOfferId,
                            ))
                            .equals((offer::Entity, offer::Column::NetworkOfferId)),
                        )
                        .and_where(
                            Expr::col((offer_country::Entity, offer_country::Column::CountryCode))
                                .eq(code.as_str()),
                        )
                        .and_where(
                            Expr::col((
                                offer_country::Entity,
                                offer_country::Column::TargetingType,
                            ))
                            .eq(kind),
                        )
                        .to_owned(),
                )
            };
            all = all
                .add(
                    Condition::any()
                        .add(offer::Column::GeoRestricted.eq(false))
                        .add(rule("include")),
                )
                .add(rule("exclude").not());
        }
        if let Some(codes) = &self.countries {
            all = all.add(offer_in::<offer_country::Entity>(
                offer_country::Column::NetworkOfferId,
                Condition::all()
                    .add(offer_country::Column::CountryCode.is_in(codes.iter().cloned()))
                    .add(offer_country::Column::TargetingType.eq("include")),
            ));
        }
        if let Some(ids) = &self.category_ids {
            all = all.add(offer::Column::NetworkCategoryId.is_in(ids.iter().copied()));
        }
        if let Some(name) = &self.category_name {
            all = all.add(
                Expr::col((offer::Entity, offer::Column::NetworkCategoryId)).in_subquery(
                    Query::select()
                        .column(category::Column::NetworkCategoryId)
                        .from(category::Entity)
                        .and_where(lower(category::Column::Name).eq(name.to_lowercase()))
                        .to_owned(),
                ),
            );
        }
        if let Some(ids) = &self.advertiser_ids {
            all = all.add(offer::Column::NetworkAdvertiserId.is_in(ids.iter().copied()));
        }
        if let Some(labels) = &self.labels {
            all = all.add(offer_in::<offer_label::Entity>(
                offer_label::Column::NetworkOfferId,
                Condition::all().add(offer_label::Column::Label.is_in(labels.iter().cloned())),
            ));
        }
        if let Some(ids) = &self.channel_ids {
            all = all.add(offer_in::<offer_channel::Entity>(
                offer_channel::Column::NetworkOfferId,
                Condition::all()
                    .add(offer_channel::Column::NetworkChannelId.is_in(ids.iter().copied())),
            ));
        }
        if let Some(names) = &self.device_types {
            all = all.add(offer_in::<offer_device_type::Entity>(
                offer_device_type::Column::NetworkOfferId,
                Condition::all()
                    .add(lower(offer_device_type::Column::Name).is_in(lowered(names)))
                    .add(offer_device_type::Column::TargetingType.eq("include")),
            ));
        }
        if let Some(names) = &self.platforms {
            all = all.add(offer_in::<offer_platform::Entity>(
                offer_platform::Column::NetworkOfferId,
                Condition::all()
                    .add(lower(offer_platform::Column::Name).is_in(lowered(names)))
                    .add(offer_platform::Column::TargetingType.eq("include")),
            ));
        }
        if let Some(search) = &self.search {
            let pattern = format!("%{}%", like_escape(&search.to_lowercase()));
            all = all.add(
                Expr::expr(lower((offer::Entity, offer::Column::Name)))
                    .like(sea_orm::sea_query::LikeExpr::new(pattern).escape('\\')),
            );
        }
        if let Some(currency) = &self.currency {
            all = all.add(offer::Column::CurrencyId.eq(currency.to_uppercase()));
        }
        if let Some(min) = self.min_payout_micros {
            all = all.add(offer::Column::DefaultPayoutMicros.gte(min));
        }
        if let Some(since) = self.updated_since {
            all = all.add(offer::Column::TimeSaved.gte(since));
        }
        if let Some(ids) = &self.offer_ids {
            all = all.add(offer::Column::NetworkOfferId.is_in(ids.iter().copied()));
        }
        all
    }
}

impl Store {
    /// One keyset page of offers matching `conditions`.
    pub async fn offer_page(
        &self,
        conditions: &OfferConditions,
        page: &PageQuery,
    ) -> Result<Vec<OfferRecord>, StoreError> {
        let column = page.sort.column();
        let mut condition = conditions.condition();
        if let Some((value, id)) = &page.after {
            let value: Value = value.clone().into();
            let (beyond, beyond_id) = if page.descending {
                (
                    Expr::col((offer::Entity, column)).lt(value.clone()),
                    offer::Column::NetworkOfferId.lt(*id),
                )
            } else {
                (
                    Expr::col((offer::Entity, column)).gt(value.clone()),
                    offer::Column::NetworkOfferId.gt(*id),
                )
            };
            condition = condition.add(
                Condition::any().add(beyond).add(
                    Condition::all()
                        .add(Expr::col((offer::Entity, column)).eq(value))
                        .add(beyond_id),
                ),
            );
        }
        let order = if page.descending {
            Order::Desc
        } else {
            Order::Asc
        };
        let query = offer_columns(offer::Entity::find())
            .filter(condition)
            .order_by(column, order.clone())
            .order_by(offer::Column::NetworkOfferId, order)
            .limit(page.limit);
        Ok(query.into_model::<OfferRecord>().all(&self.db).await?)
    }

    /// The catalog's version: grows with every committed change (see
    /// `catalog_version`), in this process or any other on the same database.
    pub async fn catalog_version(&self) -> Result<i64, StoreError> {
        // Run on every cached request: a fixed statement, prepared once per connection.
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                self.backend(),
                "SELECT version FROM catalog_version WHERE id = 1",
            ))
            .await?;
        Ok(match row {
            Some(row) => row.try_get_by_index(0)?,
            None => 0,
        })
    }

    /// How many offers match `conditions`.
    pub async fn count_offers(&self, conditions: &OfferConditions) -> Result<u64, StoreError> {
        Ok(offer::Entity::find()
            .filter(conditions.condition())
            .count(&self.db)
            .await?)
    }

    /// Offers by id, in no particular order (for DataLoaders and `offer(id:)`).
    pub async fn offers_by_ids(&self, ids: &[i64]) -> Result<Vec<OfferRecord>, StoreError> {
        Ok(offer_columns(offer::Entity::find())
            .filter(offer::Column::NetworkOfferId.is_in(ids.iter().copied()))
            .into_model::<OfferRecord>()
            .all(&self.db)
            .await?)
    }

    pub async fn advertisers_by_ids(
        &self,
        ids: &[i64],
    ) -> Result<Vec<advertiser::Model>, StoreError> {
        Ok(advertiser::Entity::find()
            .filter(advertiser::Column::NetworkAdvertiserId.is_in(ids.iter().copied()))
            .all(&self.db)
            .await?)
    }

    pub async fn categories_by_ids(&self, ids: &[i64]) -> Result<Vec<category::Model>, StoreError> {
        Ok(category::Entity::find()
            .filter(category::Column::NetworkCategoryId.is_in(ids.iter().copied()))
            .all(&self.db)
            .await?)
    }

    pub async fn channels_by_ids(&self, ids: &[i64]) -> Result<Vec<channel::Model>, StoreError> {
        Ok(channel::Entity::find()
            .filter(channel::Column::NetworkChannelId.is_in(ids.iter().copied()))
            .all(&self.db)
            .await?)
    }

    /// Number of offers (in the default statuses) per category id.
    pub async fn category_offer_counts(
        &self,
        ids: &[i64],
    ) -> Result<HashMap<i64, i64>, StoreError> {
        let rows: Vec<(i64, i64)> = offer::Entity::find()
            .select_only()
            .column(offer::Column::NetworkCategoryId)
            .column_as(offer::Column::NetworkOfferId.count(), "n")
            .filter(offer::Column::NetworkCategoryId.is_in(ids.iter().copied()))
            .filter(offer::Column::Status.is_in(DEFAULT_STATUSES))
            .group_by(offer::Column::NetworkCategoryId)
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().collect())
    }

    /// The newest `limit` revisions of each of `offer_ids`, newest first.
    pub async fn latest_revisions(
        &self,
        offer_ids: &[i64],
        limit: u64,
    ) -> Result<Vec<RevisionRecord>, StoreError> {
        if offer_ids.is_empty() {
            return Ok(Vec::new());
        }
        let backend = self.backend();
        let placeholder = |i: usize| match backend {
            DatabaseBackend::Postgres => format!("${i}"),
            _ => "?".to_owned(),
        };
        let ids: Vec<String> = (1..=offer_ids.len()).map(placeholder).collect();
        let sql = format!(
            "SELECT network_offer_id, revision, at, change, changed_fields FROM (\
               SELECT network_offer_id, revision, at, change, changed_fields, \
                      ROW_NUMBER() OVER (PARTITION BY network_offer_id ORDER BY revision DESC) AS rank \
               FROM offer_revision WHERE network_offer_id IN ({})) ranked \
             WHERE rank <= {} ORDER BY network_offer_id, revision DESC",
            ids.join(", "),
            placeholder(offer_ids.len() + 1)
        );
        let mut values: Vec<Value> = offer_ids.iter().map(|&id| id.into()).collect();
        values.push((limit as i64).into());
        Ok(
            RevisionRecord::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
                .all(&self.db)
                .await?,
        )
    }

    /// Every category with its number of offers (default statuses), by name.
    pub async fn categories_with_counts(&self) -> Result<Vec<(category::Model, i64)>, StoreError> {
        let categories = category::Entity::find()
            .order_by_asc(category::Column::Name)
            .order_by_asc(category::Column::NetworkCategoryId)
            .all(&self.db)
            .await?;
        let ids: Vec<i64> = categories.iter().map(|c| c.network_category_id).collect();
        let counts = self.category_offer_counts(&ids).await?;
        Ok(categories
            .into_iter()
            .map(|c| {
                let n = counts.get(&c.network_category_id).copied().unwrap_or(0);
                (c, n)
            })
            .collect())
    }

    pub async fn all_advertisers(&self) -> Result<Vec<advertiser::Model>, StoreError> {
        Ok(advertiser::Entity::find()
            .order_by_asc(advertiser::Column::NetworkAdvertiserId)
            .all(&self.db)
            .await?)
    }

    pub async fn all_channels(&self) -> Result<Vec<channel::Model>, StoreError> {
        Ok(channel::Entity::find()
            .order_by_asc(channel::Column::NetworkChannelId)
            .all(&self.db)
            .await?)
    }

    /// Every label with the number of offers (default statuses) carrying it.
    pub async fn label_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let live = offer::Entity::find()
            .select_only()
            .column(offer::Column::NetworkOfferId)
            .filter(offer::Column::Status.is_in(DEFAULT_STATUSES))
            .into_query();
        Ok(offer_label::Entity::find()
            .select_only()
            .column(offer_label::Column::Label)
            .column_as(offer_label::Column::NetworkOfferId.count(), "n")
            .filter(offer_label::Column::NetworkOfferId.in_subquery(live))
            .group_by(offer_label::Column::Label)
            .order_by_asc(offer_label::Column::Label)
            .into_tuple()
            .all(&self.db)
            .await?)
    }

    /// Every targeted country with the number of offers (default statuses) that include it.
    pub async fn country_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let live = offer::Entity::find()
            .select_only()
            .column(offer::Column::NetworkOfferId)
            .filter(offer::Column::Status.is_in(DEFAULT_STATUSES))
            .into_query();
        Ok(offer_country::Entity::find()
            .select_only()
            .column(offer_country::Column::CountryCode)
            .column_as(offer_country::Column::NetworkOfferId.count(), "n")
            .filter(offer_country::Column::TargetingType.eq("include"))
            .filter(offer_country::Column::NetworkOfferId.in_subquery(live))
            .group_by(offer_country::Column::CountryCode)
            .order_by_asc(offer_country::Column::CountryCode)
            .into_tuple()
            .all(&self.db)
            .await?)
    }

    /// The committed change that made `revision` of an offer, with the state
    /// before it (for change events received from another replica).
    pub async fn applied_change(
        &self,
        network_offer_id: i64,
        revision: i32,
    ) -> Result<Option<AppliedChange>, StoreError> {
        let rows = offer_revision::Entity::find()
            .filter(offer_revision::Column::NetworkOfferId.eq(network_offer_id))
            .filter(offer_revision::Column::Revision.is_in([revision - 1, revision]))
            .order_by_desc(offer_revision::Column::Revision)
            .all(&self.db)
            .await?;
        let decode = |row: &offer_revision::Model| -> Result<OfferState, StoreError> {
            let snapshot = match &row.snapshot {
                serde_json::Value::String(text) => serde_json::from_str(text),
                other => serde_json::from_value(other.clone()),
            };
            snapshot.map_err(|e| StoreError::CorruptState(network_offer_id, e))
        };
        let Some(current) = rows.iter().find(|r| r.revision == revision) else {
            return Ok(None);
        };
        let previous = rows
            .iter()
            .find(|r| r.revision == revision - 1)
            .map(decode)
            .transpose()?;
        let changed_fields = match &current.changed_fields {
            serde_json::Value::String(text) => serde_json::from_str(text).unwrap_or_default(),
            other => other.clone(),
        };
        let changed_fields: Vec<String> = changed_fields
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Some(AppliedChange {
            kind: if current.change == "created" {
                ChangeKind::Created
            } else {
                ChangeKind::Updated
            },
            state: decode(current)?,
            previous,
            changed_fields,
            revision,
            at: current.at,
        }))
    }
}

impl OfferConditions {
    /// Whether an offer in `state` matches, in memory: the same rules as
    /// [`OfferConditions::condition`] in SQL (for subscriptions, which filter
    /// each change against the offer's new state).
    pub fn matches(&self, state: &OfferState) -> bool {
        let status = normalized_status(state.offer_status.as_deref());
        if !self.statuses.is_empty() && !self.statuses.iter().any(|s| s == status) {
            return false;
        }
        let includes =
            |rules: &[Rule], value: &str| rules.iter().any(|r| r.is_include() && r.value == value);
        let includes_lower = |rules: &[Rule], wanted: &[String]| {
            rules.iter().any(|r| {
                r.is_include()
                    && wanted
                        .iter()
                        .any(|w| w.to_lowercase() == r.value.to_lowercase())
            })
        };
        if let Some(code) = &self.available_in {
            let excluded = state
                .countries
                .iter()
                .any(|r| r.is_exclude() && &r.value == code);
            if excluded || (state.is_geo_restricted() && !includes(&state.countries, code)) {
                return false;
            }
        }
        if let Some(codes) = &self.countries
            && !codes.iter().any(|c| includes(&state.countries, c))
        {
            return false;
        }
        let category = state.category.as_ref();
        if let Some(ids) = &self.category_ids
            && !category.is_some_and(|c| ids.contains(&c.id))
        {
            return false;
        }
        if let Some(name) = &self.category_name
            && category
                .and_then(|c| c.name.as_deref())
                .is_none_or(|n| n.to_lowercase() != name.to_lowercase())
        {
            return false;
        }
        if let Some(ids) = &self.advertiser_ids
            && !state
                .advertiser
                .as_ref()
                .is_some_and(|a| ids.contains(&a.id))
        {
            return false;
        }
        if let Some(labels) = &self.labels
            && !state.labels.iter().any(|l| labels.contains(l))
        {
            return false;
        }
        if let Some(ids) = &self.channel_ids
            && !state.channels.iter().any(|c| ids.contains(&c.id))
        {
            return false;
        }
        if let Some(names) = &self.device_types
            && !includes_lower(&state.device_types, names)
        {
            return false;
        }
        if let Some(names) = &self.platforms
            && !includes_lower(&state.platforms, names)
        {
            return false;
        }
        if let Some(search) = &self.search
            && !state.name.to_lowercase().contains(&search.to_lowercase())
        {
            return false;
        }
        if let Some(currency) = &self.currency
            && state.currency_id.as_deref() != Some(currency.to_uppercase().as_str())
        {
            return false;
        }
        if let Some(min) = self.min_payout_micros {
            let payout = state
                .default_payout()
                .and_then(|p| p.payout_amount)
                .and_then(micros)
                .unwrap_or(-1);
            if payout < min {
                return false;
            }
        }
        if let Some(since) = self.updated_since
            && state.time_saved.unwrap_or(0) < since
        {
            return false;
        }
        if let Some(ids) = &self.offer_ids
            && !ids.contains(&state.network_offer_id)
        {
            return false;
        }
        true
    }
}
