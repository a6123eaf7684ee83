//! The command line: `serve` (default), `migrate`, `schema`, `ingest`, `replay`.
use std::{
    io::{BufRead, Read},
    path::PathBuf,
};

use anyhow::Context;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::{
    app::{self, AppState},
    config::Settings,
    graphql,
    ingest::{Incoming, IngestError, Outcome, Source, webhook::MAX_BODY_BYTES},
    store::{Store, deliveries::ReplaySelection},
};

#[derive(Debug, Parser)]
#[command(
    name = "offer-catalog",
    version,
    about = "A live GraphQL catalog of Everflow offers, fed by webhooks"
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the webhook endpoint and the GraphQL API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL) to stdout.
    Schema,
    /// Apply webhook bodies from files exactly as if they had been POSTed:
    /// one JSON object per file, or NDJSON; `-` reads standard input.
    Ingest {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Re-apply stored deliveries in receive order.
    Replay {
        /// Only deliveries received at or after this RFC 3339 time.
        #[arg(long)]
        since: Option<chrono::DateTime<chrono::Utc>>,
        /// Only deliveries with this outcome (`rejected`, `stale`, …).
        #[arg(long)]
        outcome: Option<String>,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = cli.settings;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Migrate => {
            Store::open(&settings.database_url)
                .await
                .context("migrating the database")?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Schema => {
            print!("{}", graphql::sdl());
            Ok(())
        }
        Command::Ingest { files } => ingest_files(settings, files).await,
        Command::Replay { since, outcome } => {
            replay(settings, ReplaySelection { since, outcome }).await
        }
    }
}

async fn open_state(settings: Settings) -> anyhow::Result<AppState> {
    let store = Store::open(&settings.database_url)
        .await
        .with_context(|| format!("opening the database {}", redact(&settings.database_url)))?;
    AppState::start(settings, store)
        .await
        .context("starting the change listener")
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let addr = settings.addr;
    let state = open_state(settings).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    tracing::info!(addr = %listener.local_addr()?, "serving: GraphiQL at http://{}/", listener.local_addr()?);
    axum::serve(listener, app::router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// The delivery bodies in one input: the whole input when it is one JSON
/// document, else one body per non-empty line (NDJSON).
pub fn split_bodies(input: &[u8]) -> Vec<Vec<u8>> {
    let trimmed = input.trim_ascii();
    if trimmed.is_empty() {
        return Vec::new();
    }
    if serde_json::from_slice::<serde::de::IgnoredAny>(trimmed).is_ok() {
        return vec![trimmed.to_vec()];
    }
    input
        .lines()
        .map_while(Result::ok)
        .filter(|line| !line.trim().is_empty())
        .map(String::into_bytes)
        .collect()
}

#[derive(Debug, Default)]
struct Tally {
    applied: u64,
    duplicate: u64,
    stale: u64,
    rejected: u64,
    too_large: u64,
}

async fn ingest_files(settings: Settings, files: Vec<PathBuf>) -> anyhow::Result<()> {
    let state = open_state(settings).await?;
    let mut inputs = Vec::with_capacity(files.len());
    for file in &files {
        let mut bytes = Vec::new();
        if file.as_os_str() == "-" {
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("reading standard input")?;
        } else {
            bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        }
        inputs.push(split_bodies(&bytes));
    }
    let total: usize = inputs.iter().map(Vec::len).sum();
    let progress = ProgressBar::new(total as u64).with_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} deliveries ({per_sec}, eta {eta}) {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut tally = Tally::default();
    for body in inputs.into_iter().flatten() {
        if body.len() > MAX_BODY_BYTES {
            tally.too_large += 1;
            state.metrics.count_delivery("too_large");
        } else {
            let incoming = Incoming {
                body,
                event: None,
                source: Source::Ingest,
            };
            apply_one(&state, &incoming, &mut tally).await?;
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    eprintln!(
        "{total} deliveries: {} applied, {} duplicate, {} stale, {} rejected (stored; see webhook_delivery), {} over 1 MiB (skipped)",
        tally.applied, tally.duplicate, tally.stale, tally.rejected, tally.too_large
    );
    Ok(())
}

async fn apply_one(state: &AppState, incoming: &Incoming, tally: &mut Tally) -> anyhow::Result<()> {
    match state.ingestor.ingest(incoming).await {
        Ok(receipt) => {
            state.publish(&receipt);
            match receipt.outcome {
                Outcome::Applied => tally.applied += 1,
                Outcome::Duplicate => tally.duplicate += 1,
                Outcome::Stale => tally.stale += 1,
            }
            Ok(())
        }
        Err(IngestError::Store(e)) => Err(e).context("writing to the database"),
        Err(_) => {
            tally.rejected += 1;
            Ok(())
        }
    }
}

async fn replay(settings: Settings, selection: ReplaySelection) -> anyhow::Result<()> {
    let state = open_state(settings).await?;
    let ids = state.store.deliveries_to_replay(&selection).await?;
    let progress = ProgressBar::new(ids.len() as u64);
    let mut tally = Tally::default();
    for id in &ids {
        if let Some(stored) = state.store.delivery(*id).await? {
            let incoming = Incoming {
                body: stored.body,
                event: stored.event,
                source: Source::Replay,
            };
            apply_one(&state, &incoming, &mut tally).await?;
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    eprintln!(
        "{} deliveries replayed: {} applied, {} duplicate, {} stale, {} rejected",
        ids.len(),
        tally.applied,
        tally.duplicate,
        tally.stale,
        tally.rejected
    );
    Ok(())
}
