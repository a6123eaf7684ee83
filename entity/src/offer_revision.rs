//! `offer_revision`: one row per applied delivery of an offer.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "offer_revision")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub network_offer_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub revision: i32,
    pub at: DateTimeUtc,
    /// `created` or `updated`.
    pub change: String,
    /// JSON array of the changed field names.
    pub changed_fields: Json,
    /// The normalized offer after this revision. The delivery that made it is
    /// the `applied` row of `webhook_delivery` with the same offer and revision.
    pub snapshot: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
