//! Per-offer children: labels, channels, payouts and targeting rules.
//!
//! Every child table is keyed by (offer, natural key) and has a reverse index
//! from the filter value to the offers, for `countries`, `labels`, `channelIds`,
//! `deviceTypes`, `platforms` and `availableIn`.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OfferLabel::Table)
                    .col(big_integer(OfferLabel::NetworkOfferId))
                    .col(text(OfferLabel::Label))
                    .col(integer(OfferLabel::Position))
                    .primary_key(
                        Index::create()
                            .col(OfferLabel::NetworkOfferId)
                            .col(OfferLabel::Label),
                    )
                    .to_owned(),
            )
            .await?;
        reverse_index(
            manager,
            "idx_offer_label_label",
            OfferLabel::Table,
            OfferLabel::Label,
            OfferLabel::NetworkOfferId,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(OfferChannel::Table)
                    .col(big_integer(OfferChannel::NetworkOfferId))
                    .col(big_integer(OfferChannel::NetworkChannelId))
                    .col(integer(OfferChannel::Position))
                    .primary_key(
                        Index::create()
                            .col(OfferChannel::NetworkOfferId)
                            .col(OfferChannel::NetworkChannelId),
                    )
                    .to_owned(),
            )
            .await?;
        reverse_index(
            manager,
            "idx_offer_channel_channel",
            OfferChannel::Table,
            OfferChannel::NetworkChannelId,
            OfferChannel::NetworkOfferId,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(PayoutRevenue::Table)
                    .col(big_integer(PayoutRevenue::NetworkOfferId))
                    .col(big_integer(PayoutRevenue::NetworkOfferPayoutRevenueId))
                    .col(integer(PayoutRevenue::Position))
                    .col(text_null(PayoutRevenue::EntryName))
                    .col(boolean(PayoutRevenue::IsDefault))
                    .col(text_null(PayoutRevenue::PayoutType))
                    .col(text_null(PayoutRevenue::PayoutAmount))
                    .col(text_null(PayoutRevenue::PayoutPercentage))
                    .col(text_null(PayoutRevenue::RevenueType))
                    .col(text_null(PayoutRevenue::RevenueAmount))
                    .col(text_null(PayoutRevenue::RevenuePercentage))
                    .col(text_null(PayoutRevenue::CurrencyId))
                    .col(boolean_null(PayoutRevenue::IsPrivate))
                    .col(boolean_null(PayoutRevenue::MustApproveConversion))
                    .col(boolean_null(PayoutRevenue::AllowDuplicateConversion))
                    .primary_key(
                        Index::create()
                            .col(PayoutRevenue::NetworkOfferId)
                            .col(PayoutRevenue::NetworkOfferPayoutRevenueId),
                    )
                    .to_owned(),
            )
            .await?;

        for (table, key) in [
            (Targeting::OfferCountry, Targeting::CountryCode),
            (Targeting::OfferDeviceType, Targeting::Name),
            (Targeting::OfferPlatform, Targeting::Name),
        ] {
            let index_name = format!("idx_{}_value", table.to_string());
            manager
                .create_table(
                    Table::create()
                        .table(table.clone())
                        .col(big_integer(Targeting::NetworkOfferId))
                        .col(text(key.clone()))
                        .col(text(Targeting::TargetingType))
                        .primary_key(
                            Index::create()
                                .col(Targeting::NetworkOfferId)
                                .col(key.clone())
                                .col(Targeting::TargetingType),
                        )
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name(index_name)
                        .table(table)
                        .col(key)
                        .col(Targeting::TargetingType)
                        .col(Targeting::NetworkOfferId)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Targeting::OfferCountry,
            Targeting::OfferDeviceType,
            Targeting::OfferPlatform,
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .drop_table(Table::drop().table(PayoutRevenue::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(OfferChannel::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(OfferLabel::Table).to_owned())
            .await
    }
}

async fn reverse_index<T, C, O>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: T,
    value: C,
    offer: O,
) -> Result<(), DbErr>
where
    T: IntoIden,
    C: IntoIden,
    O: IntoIden,
{
    manager
        .create_index(
            Index::create()
                .name(name)
                .table(table)
                .col(value)
                .col(offer)
                .to_owned(),
        )
        .await
}

#[derive(DeriveIden)]
enum OfferLabel {
    Table,
    NetworkOfferId,
    Label,
    Position,
}

#[derive(DeriveIden)]
enum OfferChannel {
    Table,
    NetworkOfferId,
    NetworkChannelId,
    Position,
}

#[derive(DeriveIden)]
enum PayoutRevenue {
    Table,
    NetworkOfferId,
    NetworkOfferPayoutRevenueId,
    Position,
    EntryName,
    IsDefault,
    PayoutType,
    PayoutAmount,
    PayoutPercentage,
    RevenueType,
    RevenueAmount,
    RevenuePercentage,
    CurrencyId,
    IsPrivate,
    MustApproveConversion,
    AllowDuplicateConversion,
}

/// The three targeting tables share one shape.
#[derive(DeriveIden, Clone)]
#[expect(clippy::enum_variant_names, reason = "table names beside column names")]
enum Targeting {
    OfferCountry,
    OfferDeviceType,
    OfferPlatform,
    NetworkOfferId,
    CountryCode,
    Name,
    TargetingType,
}
