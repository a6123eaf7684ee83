//! Root query fields (SPEC §5).
use async_graphql::{Context, ID, Object, Result, dataloader::DataLoader};

use super::{
    cursor::{Cursor, ordering_name},
    error::{bad_input, internal, limit_exceeded},
    filter::{OfferFilter, OfferOrder},
    ids::GlobalId,
    loaders::{AdvertiserId, CatalogLoader, CategoryId, ChannelId, OfferId},
    prefetch::prefetch_page,
    types::{
        Advertiser, Category, Channel, CountryFacet, Label, Node, Offer, OfferConnection,
        OfferEdge, PageInfo,
    },
};
use crate::store::{
    Store,
    reads::{OfferRecord, PageQuery},
};

/// Largest page of `offers`.
pub const MAX_PAGE_SIZE: i32 = 100;
/// Page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE_SIZE: i32 = 20;

pub struct Query;

fn store<'a>(ctx: &Context<'a>) -> Result<&'a Store> {
    ctx.data::<Store>()
}

fn loader<'a>(ctx: &Context<'a>) -> Result<&'a DataLoader<CatalogLoader>> {
    ctx.data::<DataLoader<CatalogLoader>>()
}

fn page_size(name: &str, value: i32) -> Result<u64> {
    if (0..=MAX_PAGE_SIZE).contains(&value) {
        Ok(value as u64)
    } else {
        Err(limit_exceeded(format!(
            "{name}: {value} is out of range: a page holds 0 to {MAX_PAGE_SIZE} offers"
        )))
    }
}

#[Object]
impl Query {
    /// An offer by its Everflow `network_offer_id`.
    async fn offer(&self, ctx: &Context<'_>, id: i64) -> Result<Option<Offer>> {
        match loader(ctx)?.load_one(OfferId(id)).await.map_err(internal)? {
            Some(record) => Offer::from_record(&record).map(Some),
            None => Ok(None),
        }
    }

    /// Offers matching `filter` (default: every status but DELETED), as a Relay
    /// connection ordered by `orderBy` (default: updatedAt DESC). Page forward with
    /// `first`/`after`, backward with `last`/`before`; at most 100 a page.
    #[graphql(
        complexity = "(first.or(last).unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE) as usize) * child_complexity + 1"
    )]
    #[expect(
        clippy::too_many_arguments,
        reason = "the arguments are the field's GraphQL arguments (SPEC §5)"
    )]
    async fn offers(
        &self,
        ctx: &Context<'_>,
        filter: Option<OfferFilter>,
        order_by: Option<OfferOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<OfferConnection> {
        let conditions = filter.unwrap_or_default().to_conditions()?;
        let order = order_by.unwrap_or_default();
        let (sort, descending) = (order.sort_field(), order.descending());
        let ordering = ordering_name(sort, descending);
        let backward = match (first, &after, last, &before) {
            (_, _, None, None) => false,
            (None, None, _, _) => true,
            _ => {
                return Err(bad_input(
                    "page forward with `first`/`after` or backward with `last`/`before`, not a mix",
                ));
            }
        };
        let size = match (first, last) {
            (Some(n), _) => page_size("first", n)?,
            (None, Some(n)) => page_size("last", n)?,
            (None, None) => DEFAULT_PAGE_SIZE as u64,
        };
        let decode = |c: &String| Cursor::decode(c, &ordering).map_err(bad_input);
        let anchor = match (&after, &before) {
            (Some(c), _) | (_, Some(c)) => Some(decode(c)?),
            _ => None,
        };
        // Walking backward reads the opposite order from the anchor, then flips.
        let after_anchor = after.is_some();
        let read_descending = if backward { !descending } else { descending };
        let mut rows = if size == 0 {
            Vec::new()
        } else {
            store(ctx)?
                .offer_page(
                    &conditions,
                    &PageQuery {
                        sort,
                        descending: read_descending,
                        after: anchor.clone().map(|c| (c.value, c.id)),
                        limit: size + 1,
                    },
                )
                .await
                .map_err(internal)?
        };
        let has_more = rows.len() as u64 > size;
        rows.truncate(size as usize);
        if backward {
            rows.reverse();
        }
        let mut offers = rows
            .iter()
            .map(Offer::from_record)
            .collect::<Result<Vec<_>>>()?;
        prefetch_page(ctx, &mut offers).await?;
        let edges: Vec<OfferEdge> = rows
            .iter()
            .zip(offers)
            .map(|(record, node): (&OfferRecord, Offer)| OfferEdge {
                cursor: Cursor {
                    value: sort.key_of(record),
                    id: record.network_offer_id,
                }
                .encode(&ordering),
                node,
            })
            .collect();
        let page_info = PageInfo {
            has_next_page: if backward {
                anchor.is_some() && !after_anchor
            } else {
                has_more
            },
            has_previous_page: if backward { has_more } else { anchor.is_some() },
            start_cursor: edges.first().map(|e| e.cursor.clone()),
            end_cursor: edges.last().map(|e| e.cursor.clone()),
        };
        Ok(OfferConnection {
            edges,
            page_info,
            conditions,
        })
    }

    /// Fetches any object by its global `id`; null when it does not exist.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        let Some(global) = GlobalId::parse(&id) else {
            return Err(bad_input(format!(
                "{:?} is not an id issued by this API",
                id.as_str()
            )));
        };
        let loader = loader(ctx)?;
        Ok(match global {
            GlobalId::Offer(offer) => {
                match loader.load_one(OfferId(offer)).await.map_err(internal)? {
                    Some(record) => Some(Node::Offer(Offer::from_record(&record)?)),
                    None => None,
                }
            }
            GlobalId::Payout { offer, payout } => {
                match loader.load_one(OfferId(offer)).await.map_err(internal)? {
                    Some(record) => Offer::from_record(&record)?
                        .payout(payout)
                        .map(Node::Payout),
                    None => None,
                }
            }
            GlobalId::Category(id) => loader
                .load_one(CategoryId(id))
                .await
                .map_err(internal)?
                .map(|c| Node::Category(c.into())),
            GlobalId::Advertiser(id) => loader
                .load_one(AdvertiserId(id))
                .await
                .map_err(internal)?
                .map(|a| Node::Advertiser(a.into())),
            GlobalId::Channel(id) => loader
                .load_one(ChannelId(id))
                .await
                .map_err(internal)?
                .map(|c| Node::Channel(c.into())),
        })
    }

    /// Every advertiser, by id.
    async fn advertisers(&self, ctx: &Context<'_>) -> Result<Vec<Advertiser>> {
        Ok(store(ctx)?
            .all_advertisers()
            .await
            .map_err(internal)?
            .into_iter()
            .map(Advertiser::from)
            .collect())
    }

    /// Every category, by name, with its offer count (DELETED excepted).
    async fn categories(&self, ctx: &Context<'_>) -> Result<Vec<Category>> {
        Ok(store(ctx)?
            .categories_with_counts()
            .await
            .map_err(internal)?
            .into_iter()
            .map(|(row, n)| Category {
                offer_count: Some(n),
                ..Category::from(row)
            })
            .collect())
    }

    /// Every label in use, by name, with its offer count (DELETED excepted).
    async fn labels(&self, ctx: &Context<'_>) -> Result<Vec<Label>> {
        Ok(store(ctx)?
            .label_counts()
            .await
            .map_err(internal)?
            .into_iter()
            .map(|(name, offer_count)| Label { name, offer_count })
            .collect())
    }

    /// Every channel, by id.
    async fn channels(&self, ctx: &Context<'_>) -> Result<Vec<Channel>> {
        Ok(store(ctx)?
            .all_channels()
            .await
            .map_err(internal)?
            .into_iter()
            .map(Channel::from)
            .collect())
    }

    /// Every country some offer includes, by code, with the number of such offers
    /// (DELETED excepted), for geo pickers.
    async fn countries(&self, ctx: &Context<'_>) -> Result<Vec<CountryFacet>> {
        Ok(store(ctx)?
            .country_counts()
            .await
            .map_err(internal)?
            .into_iter()
            .map(|(code, offer_count)| CountryFacet { code, offer_count })
            .collect())
    }
}
