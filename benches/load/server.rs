//! The server under test: a fresh database (SQLite temp file or a new
//! PostgreSQL database), the real `offer-catalog serve` process on a free port,
//! and its peak resident set size read from `/proc`.
use std::{
    fs::File,
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use sea_orm::{ConnectionTrait, Database, Statement};

/// Where the benchmark's databases live.
pub enum DatabaseHome {
    /// Files in the benchmark's temp directory.
    Sqlite(PathBuf),
    /// Databases created on this PostgreSQL server, dropped at the end.
    Postgres {
        admin_url: String,
        created: Vec<String>,
    },
}

impl DatabaseHome {
    pub fn new(database_url: Option<&str>, workdir: &Path) -> anyhow::Result<Self> {
        match database_url {
            None => Ok(Self::Sqlite(workdir.to_owned())),
            Some(url) if url.starts_with("postgres") => Ok(Self::Postgres {
                admin_url: url.to_owned(),
                created: Vec::new(),
            }),
            Some(other) => bail!("--database-url must be a postgres:// URL, got {other}"),
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "SQLite",
            Self::Postgres { .. } => "PostgreSQL",
        }
    }

    /// The URL of a new, empty database called after `purpose`.
    pub async fn fresh(&mut self, purpose: &str) -> anyhow::Result<String> {
        match self {
            Self::Sqlite(dir) => Ok(format!(
                "sqlite://{}?mode=rwc",
                dir.join(format!("{purpose}.db")).display()
            )),
            Self::Postgres { admin_url, created } => {
                let name = format!("oc_bench_{}_{purpose}", rand::random::<u32>());
                let admin = Database::connect(admin_url.as_str())
                    .await
                    .context("connecting to --database-url")?;
                admin
                    .execute_raw(Statement::from_string(
                        admin.get_database_backend(),
                        format!("CREATE DATABASE {name}"),
                    ))
                    .await
                    .with_context(|| format!("creating database {name}"))?;
                admin.close().await.ok();
                created.push(name.clone());
                Ok(replace_database(admin_url, &name))
            }
        }
    }

    /// Drops the PostgreSQL databases this run created (best effort).
    pub async fn clean_up(&self) {
        if let Self::Postgres { admin_url, created } = self
            && let Ok(admin) = Database::connect(admin_url.as_str()).await
        {
            for name in created {
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                if let Err(e) = admin
                    .execute_raw(Statement::from_string(admin.get_database_backend(), sql))
                    .await
                {
                    eprintln!("warning: could not drop {name}: {e}");
                }
            }
            admin.close().await.ok();
        }
    }
}

/// `base` with its database name replaced by `name` (query string kept).
fn replace_database(base: &str, name: &str) -> String {
    let (without_query, query) = match base.split_once('?') {
        Some((u, q)) => (u, Some(q)),
        None => (base, None),
    };
    let scheme_end = without_query.find("://").map_or(0, |i| i + 3);
    let host_part = match without_query[scheme_end..].find('/') {
        Some(i) => &without_query[..scheme_end + i],
        None => without_query,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

/// The running `offer-catalog serve` process; killed when dropped.
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    log: PathBuf,
}

impl ServerProcess {
    /// Starts the server binary on `database_url` and waits for `GET /readyz`.
    pub async fn start(
        database_url: &str,
        log_dir: &Path,
        client: &reqwest::Client,
    ) -> anyhow::Result<Self> {
        let addr = free_local_port()?;
        let log = log_dir.join("server.log");
        let log_file = File::create(&log).context("creating the server log")?;
        let child = Command::new(env!("CARGO_BIN_EXE_offer-catalog"))
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("OFFER_CATALOG_ADDR", addr.to_string())
            // The benchmark measures the server, not its log writer.
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".to_owned()),
            )
            .env_remove("OFFER_CATALOG_WEBHOOK_SECRET")
            .env_remove("OFFER_CATALOG_API_TOKEN")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .context("starting the offer-catalog binary")?;
        let mut server = Self { child, addr, log };
        server.wait_ready(client).await?;
        Ok(server)
    }

    async fn wait_ready(&mut self, client: &reqwest::Client) -> anyhow::Result<()> {
        let started = Instant::now();
        let url = self.url("/readyz");
        loop {
            self.ensure_running()?;
            if let Ok(response) = client.get(&url).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(120) {
                bail!(
                    "the server did not become ready within 120 s\n{}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Fails when the server process has exited.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("the server exited ({status})\n{}", self.log_tail());
        }
        Ok(())
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The highest resident set size since the last [`Self::reset_peak_rss`], in bytes.
    pub fn peak_rss(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }

    /// Lowers the recorded peak to the current RSS so each scenario reports its
    /// own peak (`/proc/<pid>/clear_refs`; ignored where not permitted).
    pub fn reset_peak_rss(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5");
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(30)..].join("\n");
        format!("--- last lines of {} ---\n{tail}", self.log.display())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on right now (bound then released).
fn free_local_port() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?)
}
