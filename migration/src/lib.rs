//! Schema migrations of the offer catalog. The same migrations run on SQLite and PostgreSQL.
pub use sea_orm_migration::prelude::*;

mod m20261204_000001_create_reference_tables;
mod m20261204_000002_create_offer;
mod m20261204_000003_create_offer_children;
mod m20261204_000004_create_history;
mod m20261204_000005_create_catalog_version;
mod m20261204_000006_lz4_for_large_columns;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261204_000001_create_reference_tables::Migration),
            Box::new(m20261204_000002_create_offer::Migration),
            Box::new(m20261204_000003_create_offer_children::Migration),
            Box::new(m20261204_000004_create_history::Migration),
            Box::new(m20261204_000005_create_catalog_version::Migration),
            Box::new(m20261204_000006_lz4_for_large_columns::Migration),
        ]
    }
}
