//! The SQLite the server links, and the settings its connections open with.
use offer_catalog::store::Store;
use serde_json::Value;

use crate::helpers::{Backend, fresh_database, rows};

/// `.cargo/config.toml` builds the bundled SQLite without the one page cache
/// that all connections share behind a global mutex, and without allocation
/// statistics; this fails when the flags stop reaching libsqlite3-sys.
#[tokio::test]
async fn bundled_sqlite_gives_each_connection_its_own_page_cache() {
    let (url, _dir) = fresh_database(Backend::Sqlite).await.expect("sqlite");
    let store = Store::open(&url).await.expect("open the store");
    let options: Vec<String> = rows(store.connection(), "PRAGMA compile_options")
        .await
        .into_iter()
        .filter_map(|row| row["compile_options"].as_str().map(str::to_owned))
        .collect();
    assert!(
        options.iter().any(|o| o == "THREADSAFE=1"),
        "compile options: {options:?}"
    );
    assert!(
        !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
        "SQLite shares one page cache between connections: {options:?}"
    );
    assert!(
        options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
        "SQLite keeps allocation statistics: {options:?}"
    );
}

/// A WAL that starts over keeps up to 512 MiB of its file, so the next
/// appends reuse those blocks instead of allocating them again.
#[tokio::test]
async fn sqlite_connections_keep_512_mib_of_wal_file() {
    let (url, _dir) = fresh_database(Backend::Sqlite).await.expect("sqlite");
    let store = Store::open(&url).await.expect("open the store");
    let limit = rows(store.connection(), "PRAGMA journal_size_limit").await;
    assert_eq!(
        limit.first().map(|row| row["journal_size_limit"].clone()),
        Some(Value::from(512 * 1024 * 1024))
    );
}
