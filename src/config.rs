//! Settings: one typed struct, read from flags or environment (a flag wins),
//! with defaults that run with no configuration at all.
use std::net::SocketAddr;

use clap::Args;

/// The public CDN GraphiQL's assets come from unless `OFFER_CATALOG_GRAPHIQL_CDN` says otherwise.
pub const DEFAULT_GRAPHIQL_CDN: &str = "https://unpkg.com";

/// Everything the server needs to run.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Any sea-orm URL: `sqlite::memory:`, `sqlite://path?mode=rwc`, `postgres://…`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://offer-catalog.db?mode=rwc",
        global = true
    )]
    pub database_url: String,

    /// Listen address.
    #[arg(
        long,
        env = "OFFER_CATALOG_ADDR",
        default_value = "127.0.0.1:8000",
        global = true
    )]
    pub addr: SocketAddr,

    /// When set, every webhook delivery must carry it (`?token=` or `Authorization: Bearer`).
    #[arg(
        long,
        env = "OFFER_CATALOG_WEBHOOK_SECRET",
        global = true,
        hide_env_values = true
    )]
    pub webhook_secret: Option<String>,

    /// When set, `/graphql` and `/graphql/ws` require `Authorization: Bearer <token>`.
    #[arg(
        long,
        env = "OFFER_CATALOG_API_TOKEN",
        global = true,
        hide_env_values = true
    )]
    pub api_token: Option<String>,

    /// Seconds between the server's WebSocket pings; a client silent for two
    /// intervals is disconnected.
    #[arg(
        long,
        env = "OFFER_CATALOG_WS_PING_SECS",
        default_value_t = 20,
        global = true
    )]
    pub ws_ping_secs: u64,

    /// Change events a subscriber may fall behind before it is told it missed some.
    #[arg(long, env = "OFFER_CATALOG_EVENT_BUFFER", default_value_t = crate::events::CHANNEL_CAPACITY, global = true)]
    pub event_buffer: usize,

    /// MiB of GraphQL responses kept for repeated queries (0: no cache). A kept
    /// response is served only while the catalog is unchanged since it was computed.
    #[arg(
        long,
        env = "OFFER_CATALOG_RESPONSE_CACHE_MB",
        default_value_t = 64,
        global = true
    )]
    pub response_cache_mb: u64,

    /// Base address of GraphiQL's script and style assets.
    #[arg(long, env = "OFFER_CATALOG_GRAPHIQL_CDN", default_value = DEFAULT_GRAPHIQL_CDN, global = true)]
    pub graphiql_cdn: String,
}

impl Settings {
    /// Settings for an embedded database at `database_url`, everything else default.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            webhook_secret: None,
            api_token: None,
            ws_ping_secs: 20,
            event_buffer: crate::events::CHANNEL_CAPACITY,
            response_cache_mb: 64,
            graphiql_cdn: DEFAULT_GRAPHIQL_CDN.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        settings: Settings,
    }

    #[test]
    fn no_configuration_serves_embedded_sqlite_on_port_8000() {
        // The variables could be set in the environment running the tests.
        for var in [
            "DATABASE_URL",
            "OFFER_CATALOG_ADDR",
            "OFFER_CATALOG_WEBHOOK_SECRET",
            "OFFER_CATALOG_API_TOKEN",
            "OFFER_CATALOG_GRAPHIQL_CDN",
        ] {
            if std::env::var_os(var).is_some() {
                return;
            }
        }
        let settings = Cli::parse_from(["offer-catalog"]).settings;
        assert_eq!(settings.database_url, "sqlite://offer-catalog.db?mode=rwc");
        assert_eq!(settings.addr.to_string(), "127.0.0.1:8000");
        assert_eq!(settings.webhook_secret, None);
        assert_eq!(settings.api_token, None);
        assert_eq!(settings.graphiql_cdn, DEFAULT_GRAPHIQL_CDN);
    }
}
