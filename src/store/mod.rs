//! Every database query lives here: connecting, migrating, the write path of a
//! delivery and the reads behind the API. Handlers and resolvers never build SQL.
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use migration::{Migrator, MigratorTrait};
use prometheus_client::metrics::counter::Counter;
use sea_orm::{
    ConnectOptions, Database, DatabaseBackend, DatabaseConnection, DbErr, Statement,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};
use tokio::sync::Mutex;

pub mod deliveries;
pub mod offers;
pub mod reads;

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    #[error("stored offer {0} has an unreadable state document: {1}")]
    CorruptState(i64, serde_json::Error),
}

/// The database handle shared by the whole process.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    /// Where batches of deliveries are written: the same pool on PostgreSQL,
    /// a single connection of its own on a SQLite file.
    writes: DatabaseConnection,
    /// SQLite allows one writer at a time; taking this before a write transaction
    /// queues writers in the process instead of failing them with `SQLITE_BUSY`.
    /// PostgreSQL serializes per offer with an advisory lock instead.
    sqlite_writer: Option<Arc<Mutex<()>>>,
    /// SQLite: raised when the WAL has grown past [`WAL_RESTART_FRAMES`]; the
    /// writer lowers it and checkpoints once between two batches, so that it
    /// can start the WAL over.
    wal_is_long: Arc<AtomicBool>,
    /// SQL statements run since start (exported in `/metrics`; tests use it to
    /// check that batching keeps a request's statement count flat).
    statements: Counter,
}

impl Store {
    /// Connects to `url` (SQLite or PostgreSQL) with settings tuned for many small
    /// write transactions, without running migrations.
    pub async fn connect(url: &str) -> Result<Self, DbErr> {
        let is_sqlite = url.starts_with("sqlite:");
        // An in-memory database lives and dies with its one connection.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let wal_is_long = Arc::new(AtomicBool::new(false));
        let (mut db, mut writes) = if !is_sqlite {
            let mut options = base_options(url);
            options.max_connections(32).min_connections(2);
            let db = Database::connect(options).await?;
            (db.clone(), db)
        } else if in_memory {
            let db = Database::connect(sqlite_options(url, 1, READ_CACHE_KIB, false)).await?;
            (db.clone(), db)
        } else {
            switch_to_wal(url).await?;
            let db = Database::connect(sqlite_options(url, 8, READ_CACHE_KIB, true)).await?;
            // SQLite has one writer at a time: it gets a connection of its own,
            // whose page cache and prepared statements stay warm for it.
            let writes = Database::connect(sqlite_options(url, 1, WRITE_CACHE_KIB, true)).await?;
            tokio::spawn(checkpoint_in_background(db.clone(), wal_is_long.clone()));
            (db, writes)
        };
        let statements = Counter::default();
        for connection in [&mut db, &mut writes] {
            let counter = statements.clone();
            connection.set_metric_callback(move |_| {
                counter.inc();
            });
        }
        Ok(Self {
            db,
            writes,
            sqlite_writer: is_sqlite.then(|| Arc::new(Mutex::new(()))),
            wal_is_long,
            statements,
        })
    }

    /// Connects and applies pending migrations.
    pub async fn open(url: &str) -> Result<Self, DbErr> {
        let store = Self::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    pub async fn migrate(&self) -> Result<(), DbErr> {
        Migrator::up(&self.db, None).await
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn backend(&self) -> DatabaseBackend {
        self.db.get_database_backend()
    }

    /// SQL statements run through this store since it was opened.
    pub fn statements_executed(&self) -> u64 {
        self.statements.get()
    }

    /// The counter behind [`Store::statements_executed`], for `/metrics`.
    pub fn statement_counter(&self) -> Counter {
        self.statements.clone()
    }

    /// SQLite, between two batches of the writer: when the WAL has grown long,
    /// copies what the background checkpoints have not yet, so that the next
    /// batch starts it over. Cheap: those have copied nearly all of it.
    ///
    /// Once per raised flag: the background task raises it again at its next
    /// tick if the WAL is still long. (The flag used to stay up until that
    /// tick, so every batch of that second checkpointed too: 1.9 ms of a
    /// 13 ms batch on average over 40,000 new offers, 0.5 ms now.)
    pub(crate) async fn checkpoint_if_wal_is_long(&self) {
        use sea_orm::ConnectionTrait;

        if self.sqlite_writer.is_none() || !self.wal_is_long.swap(false, Ordering::Relaxed) {
            return;
        }
        let passive =
            Statement::from_string(DatabaseBackend::Sqlite, "PRAGMA wal_checkpoint(PASSIVE)");
        if let Err(error) = self.writes.query_one_raw(passive).await {
            tracing::warn!(%error, "writer's WAL checkpoint failed");
        }
    }

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        self.db.ping().await.is_ok()
    }
}

/// SQLite page cache of each reading connection, KiB.
const READ_CACHE_KIB: u32 = 16 * 1024;
/// SQLite page cache of the writing connection, KiB. (A larger one, 128 MiB,
/// measured slower: 1,630 new offers/s against 2,046 in the quick benchmark.)
const WRITE_CACHE_KIB: u32 = 16 * 1024;

fn base_options(url: &str) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30));
    options
}

/// A SQLite pool of `connections` in WAL mode; with `background_checkpoints`,
/// automatic checkpoints are off (see [`checkpoint_in_background`]).
fn sqlite_options(
    url: &str,
    connections: u32,
    cache_kib: u32,
    background_checkpoints: bool,
) -> ConnectOptions {
    let mut options = base_options(url);
    options
        .max_connections(connections)
        .min_connections(1)
        .idle_timeout(None::<Duration>)
        .max_lifetime(None::<Duration>)
        .map_sqlx_sqlite_opts(move |opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(false)
                .pragma("temp_store", "memory")
                .pragma("cache_size", format!("-{cache_kib}"))
                .pragma(
                    "wal_autocheckpoint",
                    if background_checkpoints { "0" } else { "1000" },
                )
                .pragma("journal_size_limit", WAL_SIZE_LIMIT.to_string())
        });
    options
}

/// Bytes a SQLite WAL file keeps on disk once it starts over
/// (`journal_size_limit`): about what it grows to between two restarts under
/// continuous ingest ([`WAL_RESTART_FRAMES`] plus up to a second of writes),
/// so that its blocks are reused rather than truncated and allocated again.
/// Appending frames to new blocks made ext4 allocate and zero them on every
/// append (`memset` alone was 6% of the server's samples). At 64 MiB: 2,122
/// and 2,102 new offers/s (50,000 offers); at 512 MiB 2,464 and 2,424, run
/// alternately. The cost is a WAL file of up to this size.
const WAL_SIZE_LIMIT: i64 = 512 * 1024 * 1024;

/// How often the background checkpoint runs. Measured on 100,000 new offers:
/// every 250 ms 1,389/s with p99 144 ms (each checkpoint's fsync stalls the
/// writer's WAL appends), every second 1,648/s with p99 43 ms, every two
/// seconds 1,440/s; checkpoints inside the writer's commits 1,205/s.
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);
/// WAL frames (4 KiB pages, so 256 MiB) past which the writer checkpoints
/// between batches so that the WAL can start over. Each time costs the writer
/// a pause (tens of ms); at 64 MiB they came often enough to show in the p99.
const WAL_RESTART_FRAMES: i64 = 65_536;

/// Copies committed WAL pages into a SQLite database file off the write path.
///
/// SQLite's automatic checkpoint runs inside the commit that crosses its
/// threshold, so the single writer stalled on copying and fsyncing pages (a
/// seventh of the server's ingest time). Automatic checkpoints are off on the
/// pool's connections; this task runs a passive checkpoint (never blocks the
/// writer or readers) every second. Only a writer starts the WAL over, and
/// only when it finds every page of it copied, which never happened with a
/// busy writer (the WAL grew to 14 GiB over the full benchmark). So past
/// 256 MiB this task flags it, and the writer copies the last pages itself
/// between two batches ([`Store::checkpoint_if_wal_is_long`]); its next batch
/// then starts the WAL over (truncated to [`WAL_SIZE_LIMIT`]). A restarting
/// checkpoint here would do the same but stall writers for up to half a second.
async fn checkpoint_in_background(db: DatabaseConnection, wal_is_long: Arc<AtomicBool>) {
    use sea_orm::ConnectionTrait;

    let mut ticks = tokio::time::interval(CHECKPOINT_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if db.get_sqlite_connection_pool().is_closed() {
            return;
        }
        let passive =
            Statement::from_string(DatabaseBackend::Sqlite, "PRAGMA wal_checkpoint(PASSIVE)");
        let frames = match db.query_one_raw(passive).await {
            // (busy, frames in the WAL, frames checkpointed)
            Ok(Some(row)) => row.try_get_by_index::<i64>(1).unwrap_or(0),
            Ok(None) => 0,
            Err(error) => {
                tracing::warn!(%error, "background WAL checkpoint failed");
                continue;
            }
        };
        wal_is_long.store(frames > WAL_RESTART_FRAMES, Ordering::Relaxed);
    }
}

/// Puts a SQLite file in WAL mode through one connection, before the pool
/// opens several: switching the journal mode needs the file to itself, and
/// pool connections racing to switch it fail with "database is locked".
/// WAL mode is persistent, so the pool's own pragma is then a no-op.
async fn switch_to_wal(url: &str) -> Result<(), DbErr> {
    use std::str::FromStr;

    use sea_orm::sqlx::{ConnectOptions as _, Connection as _, sqlite::SqliteConnectOptions};

    let to_db_err = |e: sea_orm::sqlx::Error| DbErr::Custom(format!("opening {url}: {e}"));
    let connection = SqliteConnectOptions::from_str(url)
        .map_err(to_db_err)?
        .busy_timeout(Duration::from_secs(10))
        .journal_mode(SqliteJournalMode::Wal)
        .connect()
        .await
        .map_err(to_db_err)?;
    connection.close().await.map_err(to_db_err)
}
