//! Advertisers, categories, channels and labels: shared by many offers.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Advertiser::Table)
                    .col(big_integer(Advertiser::NetworkAdvertiserId).primary_key())
                    .col(big_integer_null(Advertiser::NetworkId))
                    .col(text_null(Advertiser::Name))
                    .col(text_null(Advertiser::AccountStatus))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Category::Table)
                    .col(big_integer(Category::NetworkCategoryId).primary_key())
                    .col(big_integer_null(Category::NetworkId))
                    .col(text_null(Category::Name))
                    .col(text_null(Category::Status))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Channel::Table)
                    .col(big_integer(Channel::NetworkChannelId).primary_key())
                    .col(big_integer_null(Channel::NetworkId))
                    .col(text_null(Channel::Name))
                    .col(text_null(Channel::Status))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Label::Table)
                    .col(text(Label::Name).primary_key())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Label::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Channel::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Category::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Advertiser::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Advertiser {
    Table,
    NetworkAdvertiserId,
    NetworkId,
    Name,
    AccountStatus,
}

#[derive(DeriveIden)]
pub enum Category {
    Table,
    NetworkCategoryId,
    NetworkId,
    Name,
    Status,
}

#[derive(DeriveIden)]
pub enum Channel {
    Table,
    NetworkChannelId,
    NetworkId,
    Name,
    Status,
}

#[derive(DeriveIden)]
pub enum Label {
    Table,
    Name,
}
