//! Offer revisions and the log of every webhook delivery.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OfferRevision::Table)
                    .col(big_integer(OfferRevision::NetworkOfferId))
                    .col(integer(OfferRevision::Revision))
                    .col(timestamp_with_time_zone(OfferRevision::At))
                    .col(text(OfferRevision::Change))
                    .col(json(OfferRevision::ChangedFields))
                    .col(json(OfferRevision::Snapshot))
                    .primary_key(
                        Index::create()
                            .col(OfferRevision::NetworkOfferId)
                            .col(OfferRevision::Revision),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDelivery::Table)
                    .col(big_pk_auto(WebhookDelivery::Id))
                    .col(timestamp_with_time_zone(WebhookDelivery::ReceivedAt))
                    .col(text(WebhookDelivery::Source))
                    .col(text_null(WebhookDelivery::Event))
                    .col(text(WebhookDelivery::BodySha256))
                    .col(blob(WebhookDelivery::Body))
                    .col(text(WebhookDelivery::Outcome))
                    .col(integer(WebhookDelivery::StatusCode))
                    .col(text_null(WebhookDelivery::Error))
                    .col(text_null(WebhookDelivery::ErrorPath))
                    .col(big_integer_null(WebhookDelivery::NetworkOfferId))
                    .col(integer_null(WebhookDelivery::Revision))
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            (
                "idx_webhook_delivery_received_at",
                WebhookDelivery::ReceivedAt,
            ),
            ("idx_webhook_delivery_outcome", WebhookDelivery::Outcome),
            (
                "idx_webhook_delivery_offer",
                WebhookDelivery::NetworkOfferId,
            ),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(WebhookDelivery::Table)
                        .col(col)
                        .col(WebhookDelivery::Id)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WebhookDelivery::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(OfferRevision::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum OfferRevision {
    Table,
    NetworkOfferId,
    Revision,
    At,
    Change,
    ChangedFields,
    Snapshot,
}

#[derive(DeriveIden)]
enum WebhookDelivery {
    Table,
    Id,
    ReceivedAt,
    Source,
    Event,
    BodySha256,
    Body,
    Outcome,
    StatusCode,
    Error,
    ErrorPath,
    NetworkOfferId,
    Revision,
}
