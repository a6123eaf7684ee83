//! `offer_label`: which labels an offer carries.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "offer_label")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub network_offer_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub label: String,
    /// Order in which the delivery listed it.
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
