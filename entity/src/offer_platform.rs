//! `offer_platform`: platform targeting rules of an offer.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "offer_platform")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub network_offer_id: i64,
    /// The label as sent (`iOS`, `windows` …).
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// `include` or `exclude`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub targeting_type: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
