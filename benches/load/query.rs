//! Scenario 2, query: GraphQL requests over HTTP on the ingested catalog, with
//! the field names of SPEC §5, and their floor: approximately the same SQL run
//! directly through sea-orm on the same database (a page of 50 in keyset order
//! plus the child-table reads for those 50 ids), with the same concurrency.
use std::sync::Arc;

use entity::{
    advertiser, category, channel, offer_channel, offer_country, offer_device_type, offer_label,
    offer_platform, offer_revision, payout_revenue,
};
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, EntityTrait,
    FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Statement,
};
use serde_json::json;

use super::{
    corpus::{CATEGORY_COUNT, Corpus, LABEL_COUNT, label},
    stats::{Measured, OpResult, drive},
};

/// Every field of an offer and of its nested objects (SPEC §5). Left out:
/// `category.offerCount`, a catalog-wide facet count rather than a property of
/// the offer on the page.
const OFFER_FIELDS: &str = "
fragment PayoutFields on Payout {
  id networkOfferPayoutRevenueId entryName isDefault payoutType payoutAmount payoutPercentage
  revenueType revenueAmount revenuePercentage currency mustApproveConversion allowDuplicateConversion
}
fragment OfferFields on Offer {
  id networkOfferId networkId name status statusRaw visibility visibilityRaw
  currency destinationUrl previewUrl thumbnailUrl
  caps { daily weekly monthly global }
  createdAt updatedAt revision
  advertiser { id networkAdvertiserId name }
  category { id networkCategoryId name }
  labels
  channels { id networkChannelId name }
  payouts { ...PayoutFields }
  defaultPayout { ...PayoutFields }
  targeting { countries excludedCountries deviceTypes platforms }
  history(first: 5) { revision at changedFields }
}";

/// The page size of every `offers` query.
const PAGE: u64 = 50;
/// How deep the deep page starts.
pub const DEEP_ROWS: u64 = 2_000;
/// The payout floor of the filtered query, in currency units.
const MIN_PAYOUT: i64 = 5;

/// One kind of request, with its pre-serialized bodies (used round robin).
pub struct QueryKind {
    pub name: &'static str,
    pub bodies: Arc<Vec<Vec<u8>>>,
}

fn body(query: &str, variables: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(
        &json!({ "query": format!("{query}\n{OFFER_FIELDS}"), "variables": variables }),
    )
    .expect("a JSON value serializes")
}

/// The parameters drawn for the filtered query.
#[derive(Clone)]
pub struct FilterParams {
    category_ids: Vec<i64>,
    labels: Vec<String>,
}

fn filter_params(rng: &mut StdRng) -> FilterParams {
    let ids: Vec<i64> = (1..=CATEGORY_COUNT).collect();
    let labels: Vec<usize> = (0..LABEL_COUNT).collect();
    FilterParams {
        category_ids: ids.choose_multiple(rng, 3).copied().collect(),
        labels: labels.choose_multiple(rng, 2).map(|n| label(*n)).collect(),
    }
}

/// Deterministic request parameters shared by the server run and the floor.
pub struct Params {
    pub filters: Vec<FilterParams>,
    pub offer_ids: Vec<i64>,
}

impl Params {
    pub fn generate(offers: usize) -> Self {
        let mut rng = StdRng::seed_from_u64(0xC0FFEE);
        Self {
            filters: (0..64).map(|_| filter_params(&mut rng)).collect(),
            offer_ids: (0..1024)
                .map(|_| Corpus::offer_id(rng.random_range(0..offers.max(1))))
                .collect(),
        }
    }
}

pub fn available_in() -> QueryKind {
    QueryKind {
        name: "offers(availableIn:US) x50",
        bodies: Arc::new(vec![body(
            "query AvailableIn { offers(filter: {availableIn: \"US\"}, first: 50) {
               edges { cursor node { ...OfferFields } } pageInfo { hasNextPage endCursor } } }",
            json!({}),
        )]),
    }
}

pub fn filtered(params: &Params) -> QueryKind {
    let query = "query Filtered($categoryIds: [Int!], $labels: [String!], $minPayout: Decimal) {
        offers(filter: {categoryIds: $categoryIds, labels: $labels, minPayout: $minPayout}, first: 50) {
          totalCount edges { cursor node { ...OfferFields } } pageInfo { hasNextPage endCursor } } }";
    QueryKind {
        name: "offers(categories,labels,minPayout)",
        bodies: Arc::new(
            params
                .filters
                .iter()
                .map(|f| {
                    body(
                        query,
                        json!({ "categoryIds": f.category_ids, "labels": f.labels,
                                "minPayout": MIN_PAYOUT.to_string() }),
                    )
                })
                .collect(),
        ),
    }
}

pub fn by_id(params: &Params) -> QueryKind {
    let query = "query Offer($id: Int!) { offer(id: $id) { ...OfferFields } }";
    QueryKind {
        name: "offer(id:)",
        bodies: Arc::new(
            params
                .offer_ids
                .iter()
                .map(|id| body(query, json!({ "id": id })))
                .collect(),
        ),
    }
}

pub fn deep_page(cursor: &str) -> QueryKind {
    QueryKind {
        name: "offers(after: row 2000) x50",
        bodies: Arc::new(vec![body(
            "query Deep($after: String) { offers(first: 50, after: $after) {
               edges { cursor node { ...OfferFields } } pageInfo { hasNextPage endCursor } } }",
            json!({ "after": cursor }),
        )]),
    }
}

/// Pages through `offers` to the cursor of row [`DEEP_ROWS`], as a client
/// would; the error of the first failing page otherwise.
pub async fn cursor_at_depth(client: &reqwest::Client, url: &str) -> Result<String, String> {
    let query = "query Page($after: String) { offers(first: 50, after: $after) {
        pageInfo { hasNextPage endCursor } } }";
    let mut after: Option<String> = None;
    for _ in 0..DEEP_ROWS / PAGE {
        let answer: serde_json::Value = client
            .post(url)
            .json(&json!({ "query": query, "variables": { "after": after } }))
            .send()
            .await
            .map_err(|e| format!("request: {e}"))?
            .json()
            .await
            .map_err(|e| format!("response: {e}"))?;
        if let Some(errors) = answer.get("errors") {
            return Err(format!("GraphQL errors: {errors}"));
        }
        let info = &answer["data"]["offers"]["pageInfo"];
        match info["endCursor"].as_str() {
            Some(cursor) => after = Some(cursor.to_owned()),
            None => return Err(format!("no endCursor in {answer}")),
        }
        if info["hasNextPage"] != json!(true) {
            return Err("the catalog ended before row 2,000".to_owned());
        }
    }
    after.ok_or_else(|| "no page".to_owned())
}

/// The part of a GraphQL response the benchmark checks; `data` is skipped
/// without being built.
#[derive(serde::Deserialize)]
struct Answer {
    #[serde(default)]
    errors: Option<Vec<AnswerError>>,
}

#[derive(serde::Deserialize)]
struct AnswerError {
    #[serde(default)]
    message: String,
}

/// POSTs the kind's bodies round robin, `total` requests; with `fresh`, each
/// asks not to be answered from the server's response cache
/// (`Cache-Control: no-cache`). Each answer is tallied by its `x-cache` header.
pub async fn over_http(
    client: &reqwest::Client,
    url: &str,
    kind: &QueryKind,
    total: usize,
    concurrency: usize,
    fresh: bool,
) -> Measured {
    let client = client.clone();
    let url: Arc<str> = url.into();
    let bodies = kind.bodies.clone();
    drive(concurrency, total, move |i| {
        let mut request = client
            .post(&*url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(bodies[i % bodies.len()].clone());
        if fresh {
            request = request.header(reqwest::header::CACHE_CONTROL, "no-cache");
        }
        async move {
            let response = request.send().await.map_err(|e| format!("request: {e}"))?;
            let status = response.status();
            let cache = match response.headers().get("x-cache").map(|v| v.as_bytes()) {
                Some(b"HIT") => "cache hit",
                Some(b"MISS") => "cache miss",
                _ => "not cached",
            };
            let body = response
                .bytes()
                .await
                .map_err(|e| format!("response: {e}"))?;
            if status != reqwest::StatusCode::OK {
                return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)));
            }
            let answer: Answer = serde_json::from_slice(&body)
                .map_err(|e| format!("not a GraphQL response ({e})"))?;
            match answer.errors.as_deref() {
                Some([first, ..]) => Err(format!("GraphQL error: {}", first.message)),
                _ => Ok(cache) as OpResult,
            }
        }
    })
    .await
}

/// A statement with placeholders in the syntax of its backend.
struct Sql {
    backend: DatabaseBackend,
    text: String,
    values: Vec<sea_orm::Value>,
}

impl Sql {
    fn new(backend: DatabaseBackend, text: &str) -> Self {
        Self {
            backend,
            text: text.to_owned(),
            values: Vec::new(),
        }
    }

    fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    fn bind(&mut self, value: impl Into<sea_orm::Value>) -> &mut Self {
        self.values.push(value.into());
        match self.backend {
            DatabaseBackend::Postgres => self.text.push_str(&format!("${}", self.values.len())),
            _ => self.text.push('?'),
        }
        self
    }

    fn bind_list<V: Into<sea_orm::Value> + Clone>(&mut self, values: &[V]) -> &mut Self {
        self.push("(");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(v.clone());
        }
        self.push(")")
    }

    fn statement(&self) -> Statement {
        Statement::from_sql_and_values(self.backend, &self.text, self.values.clone())
    }
}

/// The default status filter of `offers` (all but deleted).
fn visible(sql: &mut Sql) {
    sql.push("o.status <> ").bind("deleted");
}

/// `availableIn: code`: no include rule or an include of `code`, and no exclude of it.
fn available_in_condition(sql: &mut Sql, code: &str) {
    sql.push(" AND (o.geo_restricted = ")
        .bind(false)
        .push(
            " OR EXISTS (SELECT 1 FROM offer_country c WHERE c.network_offer_id = o.network_offer_id \
             AND c.country_code = ",
        )
        .bind(code)
        .push(" AND c.targeting_type = ")
        .bind("include")
        .push(
            ")) AND NOT EXISTS (SELECT 1 FROM offer_country c WHERE c.network_offer_id = o.network_offer_id \
             AND c.country_code = ",
        )
        .bind(code)
        .push(" AND c.targeting_type = ")
        .bind("exclude")
        .push(")");
}

fn filter_condition(sql: &mut Sql, params: &FilterParams) {
    sql.push(" AND o.network_category_id IN ")
        .bind_list(&params.category_ids)
        .push(
            " AND EXISTS (SELECT 1 FROM offer_label l WHERE l.network_offer_id = o.network_offer_id \
             AND l.label IN ",
        )
        .bind_list(&params.labels)
        .push(") AND o.default_payout_micros >= ")
        .bind(MIN_PAYOUT * 1_000_000);
}

const PAGE_ORDER: &str = " ORDER BY o.time_saved DESC, o.network_offer_id DESC LIMIT 50";

/// The floor's database work for one kind of request.
#[derive(Clone)]
pub enum Floor {
    AvailableIn,
    Filtered(Arc<Vec<FilterParams>>),
    ById(Arc<Vec<i64>>),
    /// Keyset after (time_saved, network_offer_id) of row [`DEEP_ROWS`].
    Deep(i64, i64),
}

impl Floor {
    pub fn filtered(params: &Params) -> Self {
        Self::Filtered(Arc::new(params.filters.clone()))
    }

    pub fn by_id(params: &Params) -> Self {
        Self::ById(Arc::new(params.offer_ids.clone()))
    }

    /// The keyset of row [`DEEP_ROWS`] in the default order.
    pub async fn deep(db: &DatabaseConnection) -> Result<Self, DbErr> {
        let mut sql = Sql::new(
            db.get_database_backend(),
            "SELECT o.time_saved, o.network_offer_id FROM offer o WHERE ",
        );
        visible(&mut sql);
        sql.push(" ORDER BY o.time_saved DESC, o.network_offer_id DESC LIMIT 1 OFFSET ")
            .bind((DEEP_ROWS - 1) as i64);
        let row = db
            .query_one_raw(sql.statement())
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("row 2,000".to_owned()))?;
        Ok(Self::Deep(
            row.try_get_by_index(0)?,
            row.try_get_by_index(1)?,
        ))
    }

    async fn run(&self, db: &DatabaseConnection, i: usize) -> Result<(), DbErr> {
        let backend = db.get_database_backend();
        let mut sql = Sql::new(backend, PAGE_COLUMNS);
        visible(&mut sql);
        let offers = match self {
            Self::AvailableIn => {
                available_in_condition(&mut sql, "US");
                sql.push(PAGE_ORDER);
                page(db, &sql).await?
            }
            Self::Filtered(params) => {
                let params = &params[i % params.len()];
                filter_condition(&mut sql, params);
                let mut count = Sql::new(backend, "SELECT COUNT(*) FROM offer o WHERE ");
                visible(&mut count);
                filter_condition(&mut count, params);
                db.query_one_raw(count.statement()).await?;
                sql.push(PAGE_ORDER);
                page(db, &sql).await?
            }
            Self::ById(ids) => {
                let mut sql = Sql::new(backend, PAGE_COLUMNS);
                sql.push("o.network_offer_id = ").bind(ids[i % ids.len()]);
                page(db, &sql).await?
            }
            Self::Deep(time_saved, id) => {
                sql.push(" AND (o.time_saved < ")
                    .bind(*time_saved)
                    .push(" OR (o.time_saved = ")
                    .bind(*time_saved)
                    .push(" AND o.network_offer_id < ")
                    .bind(*id)
                    .push("))")
                    .push(PAGE_ORDER);
                page(db, &sql).await?
            }
        };
        children(db, &offers).await
    }
}

/// The offer columns an API page needs: everything but the raw payload.
const PAGE_COLUMNS: &str = "SELECT o.network_offer_id, o.network_id, o.network_advertiser_id, \
    o.network_category_id, o.name, o.offer_status, o.status, o.currency_id, o.destination_url, \
    o.preview_url, o.thumbnail_url, o.visibility, o.daily_conversion_cap, o.weekly_conversion_cap, \
    o.monthly_conversion_cap, o.global_conversion_cap, o.time_created, o.time_saved, o.revision, \
    o.state, o.last_changed_at FROM offer o WHERE ";

/// A row of [`PAGE_COLUMNS`], decoded as the API would (state JSON parsed).
#[derive(FromQueryResult)]
#[expect(dead_code, reason = "decoded to measure the decoding, never read")]
struct PageRow {
    network_offer_id: i64,
    network_id: Option<i64>,
    network_advertiser_id: Option<i64>,
    network_category_id: Option<i64>,
    name: String,
    offer_status: Option<String>,
    status: String,
    currency_id: Option<String>,
    destination_url: Option<String>,
    preview_url: Option<String>,
    thumbnail_url: Option<String>,
    visibility: Option<String>,
    daily_conversion_cap: Option<i64>,
    weekly_conversion_cap: Option<i64>,
    monthly_conversion_cap: Option<i64>,
    global_conversion_cap: Option<i64>,
    time_created: i64,
    time_saved: i64,
    revision: i32,
    state: serde_json::Value,
    last_changed_at: chrono::DateTime<chrono::Utc>,
}

async fn page(db: &DatabaseConnection, sql: &Sql) -> Result<Vec<PageRow>, DbErr> {
    PageRow::find_by_statement(sql.statement()).all(db).await
}

/// The batched reads of every nested field for a page of offers: one query
/// per child table, as the API's DataLoaders do.
async fn children(db: &DatabaseConnection, offers: &[PageRow]) -> Result<(), DbErr> {
    if offers.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = offers.iter().map(|o| o.network_offer_id).collect();
    let mut advertisers: Vec<i64> = offers
        .iter()
        .filter_map(|o| o.network_advertiser_id)
        .collect();
    advertisers.sort_unstable();
    advertisers.dedup();
    let mut categories: Vec<i64> = offers
        .iter()
        .filter_map(|o| o.network_category_id)
        .collect();
    categories.sort_unstable();
    categories.dedup();

    let links = offer_channel::Entity::find()
        .filter(offer_channel::Column::NetworkOfferId.is_in(ids.clone()))
        .all(db);
    let (links, ..) = futures::try_join!(
        links,
        payout_revenue::Entity::find()
            .filter(payout_revenue::Column::NetworkOfferId.is_in(ids.clone()))
            .order_by_asc(payout_revenue::Column::NetworkOfferId)
            .order_by_asc(payout_revenue::Column::Position)
            .all(db),
        offer_label::Entity::find()
            .filter(offer_label::Column::NetworkOfferId.is_in(ids.clone()))
            .all(db),
        offer_country::Entity::find()
            .filter(offer_country::Column::NetworkOfferId.is_in(ids.clone()))
            .all(db),
        offer_device_type::Entity::find()
            .filter(offer_device_type::Column::NetworkOfferId.is_in(ids.clone()))
            .all(db),
        offer_platform::Entity::find()
            .filter(offer_platform::Column::NetworkOfferId.is_in(ids.clone()))
            .all(db),
        advertiser::Entity::find()
            .filter(advertiser::Column::NetworkAdvertiserId.is_in(advertisers))
            .all(db),
        category::Entity::find()
            .filter(category::Column::NetworkCategoryId.is_in(categories))
            .all(db),
        offer_revision::Entity::find()
            .select_only()
            .columns([
                offer_revision::Column::NetworkOfferId,
                offer_revision::Column::Revision,
                offer_revision::Column::At,
                offer_revision::Column::ChangedFields,
            ])
            .filter(offer_revision::Column::NetworkOfferId.is_in(ids.clone()))
            .order_by_desc(offer_revision::Column::Revision)
            .into_tuple::<(i64, i32, chrono::DateTime<chrono::Utc>, serde_json::Value)>()
            .all(db),
    )?;
    let mut channel_ids: Vec<i64> = links.iter().map(|l| l.network_channel_id).collect();
    channel_ids.sort_unstable();
    channel_ids.dedup();
    if !channel_ids.is_empty() {
        channel::Entity::find()
            .filter(channel::Column::NetworkChannelId.is_in(channel_ids))
            .all(db)
            .await?;
    }
    Ok(())
}

/// Runs the floor of one kind of request `total` times.
pub async fn in_process(
    db: &DatabaseConnection,
    floor: &Floor,
    total: usize,
    concurrency: usize,
) -> Measured {
    let db = db.clone();
    let floor = floor.clone();
    drive(concurrency, total, move |i| {
        let db = db.clone();
        let floor = floor.clone();
        async move {
            floor
                .run(&db, i)
                .await
                .map(|()| "ok")
                .map_err(|e| format!("database: {e}"))
        }
    })
    .await
}
