//! The load benchmark (issue 5): `cargo bench --bench load [-- OPTIONS]`.
//!
//! Starts the real `offer-catalog serve` process on a fresh database (a temp
//! SQLite file, or a new PostgreSQL database with `--database-url`) and drives
//! it over real HTTP from this process: scenarios run in order on the same
//! catalog, each printing requests, throughput, latency percentiles, errors and
//! the server's peak RSS, then a "floor" line: the same database work done
//! in-process without HTTP, and the server/floor ratio.
//!
//! It exits non-zero only when the server does not start or the run breaks;
//! timings never fail it (there is no pass/fail on numbers).
//!
//! Options: `--quick` (5,000 offers + 5,000 updates, a few hundred queries:
//! the CI smoke test), `--database-url postgres://…`, `--offers N`,
//! `--updates N`, `--queries N` (requests per query kind), `--concurrency N`.
// The Everflow-shaped `json!` literals of the corpus nest deeper than the default allows.
#![recursion_limit = "256"]
use std::{process::ExitCode, time::Duration};

use anyhow::{Context, bail};
use offer_catalog::store::Store;

#[path = "load/corpus.rs"]
mod corpus;
#[path = "load/ingest.rs"]
mod ingest;
#[path = "load/query.rs"]
mod query;
#[path = "load/server.rs"]
mod server;
#[path = "load/stats.rs"]
mod stats;
#[path = "load/subscribe.rs"]
mod subscribe;

use corpus::Corpus;

/// Most requests a query floor runs: enough for stable percentiles, and a slow
/// floor approximation cannot stretch a full run by many minutes.
const FLOOR_QUERIES: usize = 2_000;
use server::{DatabaseHome, ServerProcess};

/// What to run, from the command line.
struct Options {
    quick: bool,
    database_url: Option<String>,
    offers: usize,
    updates: usize,
    /// Requests per query kind: availableIn, filtered, by id, deep page.
    queries: [usize; 4],
    concurrency: usize,
}

const USAGE: &str = "usage: cargo bench --bench load -- [--quick] [--database-url postgres://…] \
[--offers N] [--updates N] [--queries N] [--concurrency N]";

impl Options {
    fn parse(args: impl IntoIterator<Item = String>) -> anyhow::Result<Self> {
        let mut quick = false;
        let mut database_url = None;
        let (mut offers, mut updates, mut queries, mut concurrency) = (None, None, None, 32);
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
                None => (arg.clone(), None),
            };
            let mut value = |what: &str| -> anyhow::Result<String> {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .with_context(|| format!("{what} needs a value\n{USAGE}"))
            };
            let mut number = |what: &str| -> anyhow::Result<usize> {
                let text = value(what)?;
                text.parse()
                    .with_context(|| format!("{what} must be a number, got {text}"))
            };
            match name.as_str() {
                // cargo passes `--bench` to every bench target.
                "--bench" => {}
                "--quick" => quick = true,
                "--database-url" => database_url = Some(value("--database-url")?),
                "--offers" => offers = Some(number("--offers")?),
                "--updates" => updates = Some(number("--updates")?),
                "--queries" => queries = Some(number("--queries")?),
                "--concurrency" => concurrency = number("--concurrency")?.max(1),
                "--help" | "-h" => bail!("{USAGE}"),
                other => bail!("unknown argument {other}\n{USAGE}"),
            }
        }
        let offers = offers.unwrap_or(if quick { 5_000 } else { 100_000 }).max(1);
        let queries = match queries {
            Some(n) => [n; 4],
            None if quick => [300, 200, 300, 100],
            None => [10_000, 5_000, 20_000, 2_000],
        };
        Ok(Self {
            quick,
            database_url,
            offers,
            updates: updates.unwrap_or(offers),
            queries,
            concurrency,
        })
    }
}

fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("{e:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("load benchmark: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("load benchmark failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: &Options) -> anyhow::Result<()> {
    let workdir = tempfile::Builder::new().prefix("oc-load-").tempdir()?;
    let mut home = DatabaseHome::new(options.database_url.as_deref(), workdir.path())?;
    println!(
        "load benchmark{}: {} offers + {} updates on {}, {} concurrent clients, {} CPUs",
        if options.quick { " (quick)" } else { "" },
        options.offers,
        options.updates,
        home.backend_name(),
        options.concurrency,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let result = scenarios(options, &mut home, workdir.path()).await;
    home.clean_up().await;
    result
}

async fn scenarios(
    options: &Options,
    home: &mut DatabaseHome,
    workdir: &std::path::Path,
) -> anyhow::Result<()> {
    let concurrency = options.concurrency;
    let corpus = Corpus {
        offers: options.offers,
        updates: options.updates,
    };
    let deliveries = ingest::Deliveries::generate(&corpus);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency * 2)
        .timeout(Duration::from_secs(120))
        .build()?;

    let server_db = home.fresh("server").await?;
    let mut server = ServerProcess::start(&server_db, workdir, &client).await?;
    println!("server: pid {} on {}", server.pid(), server.addr);
    let mut peak = 0;

    // 1. ingest: new offers, then updates, over HTTP; then the floor.
    println!("\n== 1. ingest: POST /webhooks/everflow ==");
    server.reset_peak_rss();
    let created = ingest::over_http(
        &client,
        server.url("/webhooks/everflow?event=offer_created"),
        deliveries.created.clone(),
        concurrency,
    )
    .await;
    server.ensure_running()?;
    created.print_server("new offers", server.peak_rss());
    peak = peak.max(server.peak_rss().unwrap_or(0));
    server.reset_peak_rss();
    let updated = ingest::over_http(
        &client,
        server.url("/webhooks/everflow?event=offer_updated"),
        deliveries.updated.clone(),
        concurrency,
    )
    .await;
    server.ensure_running()?;
    updated.print_server("updates", server.peak_rss());
    peak = peak.max(server.peak_rss().unwrap_or(0));

    let floor_db = home.fresh("floor").await?;
    let floor = ingest::floor_ingestor(&floor_db)
        .await
        .context("opening the floor's database")?;
    ingest::print_floor(
        &floor,
        deliveries.created.clone(),
        "offer_created",
        concurrency,
        "floor: Ingestor::ingest, new",
        &created,
    )
    .await;
    ingest::print_floor(
        &floor,
        deliveries.updated.clone(),
        "offer_updated",
        concurrency,
        "floor: Ingestor::ingest, updates",
        &updated,
    )
    .await;
    drop(floor);
    drop(deliveries);

    // 2. query: GraphQL over HTTP on that catalog; each kind then its floor.
    println!("\n== 2. query: POST /graphql ==");
    let graphql = server.url("/graphql");
    let params = query::Params::generate(options.offers);
    let reader = Store::connect(&server_db)
        .await
        .context("opening the server's database for the floor")?;
    let db = reader.connection();
    let kinds = [
        (query::available_in(), query::Floor::AvailableIn),
        (query::filtered(&params), query::Floor::filtered(&params)),
        (query::by_id(&params), query::Floor::by_id(&params)),
    ];
    for ((kind, floor), total) in kinds.into_iter().zip(options.queries) {
        let mut uncached = None;
        for fresh in [true, false] {
            server.reset_peak_rss();
            let measured =
                query::over_http(&client, &graphql, &kind, total, concurrency, fresh).await;
            server.ensure_running()?;
            measured.print_server(&query_label(kind.name, fresh), server.peak_rss());
            peak = peak.max(server.peak_rss().unwrap_or(0));
            uncached.get_or_insert(measured);
        }
        // The floor is the query's SQL: compared with the run that executes it.
        if let Some(uncached) = &uncached {
            query::in_process(db, &floor, total.min(FLOOR_QUERIES), concurrency)
                .await
                .print_floor("floor: SQL via sea-orm", uncached);
        }
    }
    let deep_total = options.queries[3];
    let deep_floor = query::Floor::deep(db).await;
    match query::cursor_at_depth(&client, &graphql).await {
        Ok(cursor) => {
            let kind = query::deep_page(&cursor);
            let mut uncached = None;
            for fresh in [true, false] {
                server.reset_peak_rss();
                let measured =
                    query::over_http(&client, &graphql, &kind, deep_total, concurrency, fresh)
                        .await;
                server.ensure_running()?;
                measured.print_server(&query_label(kind.name, fresh), server.peak_rss());
                peak = peak.max(server.peak_rss().unwrap_or(0));
                uncached.get_or_insert(measured);
            }
            if let (Ok(floor), Some(uncached)) = (&deep_floor, &uncached) {
                query::in_process(db, floor, deep_total.min(FLOOR_QUERIES), concurrency)
                    .await
                    .print_floor("floor: SQL via sea-orm", uncached);
            }
        }
        Err(error) => {
            let short: String = error.chars().take(300).collect();
            println!(
                "{:<34} not run: paging to row {} failed (1 error): {short}",
                "offers(after: row 2000) x50",
                query::DEEP_ROWS
            );
            if let Ok(floor) = &deep_floor {
                query::in_process(db, floor, deep_total.min(FLOOR_QUERIES), concurrency)
                    .await
                    .print("floor: SQL via sea-orm");
            }
        }
    }
    if let Err(e) = deep_floor {
        println!("{:<34} floor not run: {e}", "");
    }

    // 3. subscribe: N WebSocket subscribers, changes POSTed one at a time.
    println!("\n== 3. subscribe: GET /graphql/ws (graphql-transport-ws) ==");
    let subscriber_counts: &[usize] = if options.quick {
        &[200, 1_000]
    } else {
        &[1_000, 10_000]
    };
    for (round, &n) in subscriber_counts.iter().enumerate() {
        let changes = if n >= 10_000 { 10 } else { 20 };
        server.reset_peak_rss();
        let label = format!("{n} subscribers x {changes} changes");
        let probe = 900_000_000 + round as i64;
        match subscribe::over_websocket(&client, &server.addr.to_string(), n, changes, probe).await
        {
            Ok(measured) => {
                server.ensure_running()?;
                measured.print_server(&label, server.peak_rss());
                peak = peak.max(server.peak_rss().unwrap_or(0));
                subscribe::floor(n, changes)
                    .await
                    .print_floor("floor: tokio broadcast, in-process", &measured);
            }
            Err(e) => {
                server.ensure_running()?;
                println!("{label:<34} not run: {e:#}");
            }
        }
        // Let the closed sockets' subscriptions drain before the next round.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }

    server.ensure_running()?;
    println!(
        "\nserver peak RSS over the run: {}",
        stats::mib(peak.max(server.peak_rss().unwrap_or(0)))
    );
    Ok(())
}

/// A query kind's line: `[no-cache]` runs send `Cache-Control: no-cache`, so
/// the server executes every request; the other run may be answered from its
/// response cache (the catalog does not change during the query scenario).
fn query_label(name: &str, fresh: bool) -> String {
    if fresh {
        format!("{name} [no-cache]")
    } else {
        format!("{name} [cache]")
    }
}
