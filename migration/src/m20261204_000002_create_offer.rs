//! The offer table and the indexes behind the GraphQL filters and orderings.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Offer::Table)
                    .col(big_integer(Offer::NetworkOfferId).primary_key())
                    .col(big_integer_null(Offer::NetworkId))
                    .col(big_integer_null(Offer::NetworkAdvertiserId))
                    .col(big_integer_null(Offer::NetworkCategoryId))
                    .col(text(Offer::Name))
                    .col(text_null(Offer::OfferStatus))
                    .col(text(Offer::Status))
                    .col(text_null(Offer::CurrencyId))
                    .col(text_null(Offer::DestinationUrl))
                    .col(text_null(Offer::PreviewUrl))
                    .col(text_null(Offer::ThumbnailUrl))
                    .col(text_null(Offer::Visibility))
                    .col(big_integer_null(Offer::DailyConversionCap))
                    .col(big_integer_null(Offer::WeeklyConversionCap))
                    .col(big_integer_null(Offer::MonthlyConversionCap))
                    .col(big_integer_null(Offer::GlobalConversionCap))
                    .col(big_integer(Offer::TimeCreated))
                    .col(big_integer(Offer::TimeSaved))
                    .col(integer(Offer::Revision))
                    .col(big_integer(Offer::DefaultPayoutMicros))
                    .col(boolean(Offer::GeoRestricted))
                    .col(json(Offer::State))
                    .col(blob(Offer::RawPayload))
                    .col(timestamp_with_time_zone(Offer::FirstSeenAt))
                    .col(timestamp_with_time_zone(Offer::LastChangedAt))
                    .to_owned(),
            )
            .await?;
        // Each ordering of `offers` is a keyset on (sort column, primary key).
        for (name, col) in [
            ("idx_offer_time_saved", Offer::TimeSaved),
            ("idx_offer_time_created", Offer::TimeCreated),
            ("idx_offer_name", Offer::Name),
            ("idx_offer_default_payout", Offer::DefaultPayoutMicros),
            ("idx_offer_category", Offer::NetworkCategoryId),
            ("idx_offer_advertiser", Offer::NetworkAdvertiserId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Offer::Table)
                        .col(col)
                        .col(Offer::NetworkOfferId)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_offer_status_time_saved")
                    .table(Offer::Table)
                    .col(Offer::Status)
                    .col(Offer::TimeSaved)
                    .col(Offer::NetworkOfferId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Offer::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
#[expect(clippy::enum_variant_names, reason = "the variants are column names")]
pub enum Offer {
    Table,
    NetworkOfferId,
    NetworkId,
    NetworkAdvertiserId,
    NetworkCategoryId,
    Name,
    OfferStatus,
    Status,
    CurrencyId,
    DestinationUrl,
    PreviewUrl,
    ThumbnailUrl,
    Visibility,
    DailyConversionCap,
    WeeklyConversionCap,
    MonthlyConversionCap,
    GlobalConversionCap,
    TimeCreated,
    TimeSaved,
    Revision,
    DefaultPayoutMicros,
    GeoRestricted,
    State,
    RawPayload,
    FirstSeenAt,
    LastChangedAt,
}
