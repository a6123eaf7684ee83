//! CLI only: parse, build, run.
use clap::Parser;
use offer_catalog::cli::{Cli, run};
use tracing_subscriber::EnvFilter;

/// Serving is allocation-heavy (JSON, GraphQL values) on many threads;
/// mimalloc avoids glibc malloc's arena lock contention.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    run(Cli::parse()).await
}
