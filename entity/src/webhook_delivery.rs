//! `webhook_delivery`: every delivery that passed authentication, rejected ones included.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_delivery")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub received_at: DateTimeUtc,
    /// Where it came from: `http`, `ingest` or `replay`.
    pub source: String,
    /// The `?event=` query parameter, when given.
    pub event: Option<String>,
    /// Hex SHA-256 of the body.
    pub body_sha256: String,
    /// The body exactly as received.
    pub body: Vec<u8>,
    /// `applied`, `duplicate`, `stale` or `rejected`.
    pub outcome: String,
    /// The HTTP status the delivery was answered with.
    pub status_code: i32,
    pub error: Option<String>,
    /// JSON pointer of the offending member, for rejected deliveries.
    pub error_path: Option<String>,
    pub network_offer_id: Option<i64>,
    pub revision: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
