//! `OfferFilter` and `OfferOrder`: the API's inputs, parsed into storage
//! conditions at the boundary so invalid values never travel inward.
use async_graphql::{Enum, InputObject};
use chrono::{DateTime, Utc};

use super::{country::CountryCode, error::bad_input, scalars::Decimal};
use crate::store::{
    offers::micros,
    reads::{DEFAULT_STATUSES, OfferConditions, SortField},
};

/// The lifecycle status of an offer.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum OfferStatus {
    Active,
    Paused,
    Pending,
    Deleted,
    /// A status Everflow sent that this API does not know; see `statusRaw`.
    Other,
}

impl OfferStatus {
    pub fn from_normalized(status: &str) -> Self {
        match status {
            "active" => Self::Active,
            "paused" => Self::Paused,
            "pending" => Self::Pending,
            "deleted" => Self::Deleted,
            _ => Self::Other,
        }
    }

    pub fn as_normalized(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Pending => "pending",
            Self::Deleted => "deleted",
            Self::Other => "other",
        }
    }
}

/// Which offers to return; every given field narrows the result (they combine with AND,
/// list values within one field with OR).
#[derive(InputObject, Clone, Debug, Default)]
pub struct OfferFilter {
    /// A visitor's country (ISO 3166-1 alpha-2, any case): offers whose geo targeting lets
    /// it in (no include rules, or an include rule for it) and does not exclude it.
    pub available_in: Option<String>,
    /// Offers with an include rule for any of these countries.
    pub countries: Option<Vec<String>>,
    pub category_ids: Option<Vec<i64>>,
    /// Exact category name, case-insensitive.
    pub category_name: Option<String>,
    /// Default: every status but DELETED.
    pub statuses: Option<Vec<OfferStatus>>,
    pub advertiser_ids: Option<Vec<i64>>,
    /// Offers carrying any of these labels (exact, case-sensitive).
    pub labels: Option<Vec<String>>,
    pub channel_ids: Option<Vec<i64>>,
    /// Offers including any of these device types (case-insensitive).
    pub device_types: Option<Vec<String>>,
    /// Offers including any of these platforms (case-insensitive).
    pub platforms: Option<Vec<String>>,
    /// Case-insensitive substring of the name.
    pub search: Option<String>,
    /// Currency code, e.g. "USD".
    pub currency: Option<String>,
    /// The default payout's amount is at least this.
    pub min_payout: Option<Decimal>,
    /// Offers saved in Everflow (`time_saved`) at or after this time.
    pub updated_since: Option<DateTime<Utc>>,
}

/// Longest list accepted in one filter field.
const MAX_LIST: usize = 500;

fn bounded<T: Clone>(field: &str, list: &Option<Vec<T>>) -> async_graphql::Result<Option<Vec<T>>> {
    match list {
        Some(items) if items.len() > MAX_LIST => Err(bad_input(format!(
            "filter.{field} lists {} values; at most {MAX_LIST} are accepted",
            items.len()
        ))),
        other => Ok(other.clone()),
    }
}

impl OfferFilter {
    /// Validates the filter into storage conditions.
    pub fn to_conditions(&self) -> async_graphql::Result<OfferConditions> {
        let country = |raw: &str| {
            CountryCode::parse(raw)
                .map(CountryCode::into_inner)
                .map_err(bad_input)
        };
        let countries = match bounded("countries", &self.countries)? {
            Some(list) => Some(
                list.iter()
                    .map(|c| country(c))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            None => None,
        };
        let statuses = match &self.statuses {
            Some(list) => list.iter().map(|s| s.as_normalized().to_owned()).collect(),
            None => DEFAULT_STATUSES.iter().map(|s| (*s).to_owned()).collect(),
        };
        let min_payout_micros =
            match self.min_payout {
                Some(Decimal(amount)) => Some(micros(amount).ok_or_else(|| {
                    bad_input(format!("filter.minPayout {amount} is out of range"))
                })?),
                None => None,
            };
        Ok(OfferConditions {
            available_in: self.available_in.as_deref().map(country).transpose()?,
            countries,
            category_ids: bounded("categoryIds", &self.category_ids)?,
            category_name: self.category_name.clone(),
            statuses,
            advertiser_ids: bounded("advertiserIds", &self.advertiser_ids)?,
            labels: bounded("labels", &self.labels)?,
            channel_ids: bounded("channelIds", &self.channel_ids)?,
            device_types: bounded("deviceTypes", &self.device_types)?,
            platforms: bounded("platforms", &self.platforms)?,
            search: self.search.clone().filter(|s| !s.is_empty()),
            currency: self
                .currency
                .as_ref()
                .map(|c| c.trim().to_ascii_uppercase()),
            min_payout_micros,
            updated_since: self.updated_since.map(|t| t.timestamp()),
            offer_ids: None,
        })
    }
}

/// What `offers` is sorted by.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum OfferOrderField {
    /// Everflow's `time_saved`.
    #[default]
    UpdatedAt,
    /// Everflow's `time_created`.
    CreatedAt,
    Name,
    /// The default payout's amount; offers without one sort lowest.
    DefaultPayout,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum OrderDirection {
    Asc,
    #[default]
    Desc,
}

/// The order of `offers`; ties are broken by `networkOfferId` in the same direction.
#[derive(InputObject, Clone, Copy, Debug, Default)]
pub struct OfferOrder {
    #[graphql(default)]
    pub field: OfferOrderField,
    #[graphql(default)]
    pub direction: OrderDirection,
}

impl OfferOrder {
    pub fn sort_field(self) -> SortField {
        match self.field {
            OfferOrderField::UpdatedAt => SortField::UpdatedAt,
            OfferOrderField::CreatedAt => SortField::CreatedAt,
            OfferOrderField::Name => SortField::Name,
            OfferOrderField::DefaultPayout => SortField::DefaultPayout,
        }
    }

    pub fn descending(self) -> bool {
        self.direction == OrderDirection::Desc
    }
}
