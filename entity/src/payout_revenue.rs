//! `payout_revenue`: an offer's payout/revenue entries; the base one is `is_default`.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payout_revenue")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub network_offer_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub network_offer_payout_revenue_id: i64,
    pub position: i32,
    pub entry_name: Option<String>,
    pub is_default: bool,
    pub payout_type: Option<String>,
    /// Exact decimal, as a canonical string.
    pub payout_amount: Option<String>,
    pub payout_percentage: Option<String>,
    pub revenue_type: Option<String>,
    pub revenue_amount: Option<String>,
    pub revenue_percentage: Option<String>,
    pub currency_id: Option<String>,
    pub is_private: Option<bool>,
    pub must_approve_conversion: Option<bool>,
    pub allow_duplicate_conversion: Option<bool>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
