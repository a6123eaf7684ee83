//! Driving N concurrent workers over a numbered list of operations, and the
//! figures printed for each run: throughput, latency percentiles, errors.
use std::{
    collections::BTreeMap,
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

/// What one operation reported: a label to tally (e.g. `"applied"`), or why
/// it counts as an error.
pub type OpResult = Result<&'static str, String>;

/// The measurements of one run of operations.
pub struct Measured {
    pub requests: usize,
    pub errors: usize,
    pub elapsed: Duration,
    /// Microseconds, sorted.
    latencies: Vec<u64>,
    pub tally: BTreeMap<&'static str, usize>,
    pub first_error: Option<String>,
}

/// Runs `op(0)`, `op(1)`, … `op(total - 1)` from `concurrency` workers, each
/// taking the next index as soon as its previous operation finished.
pub async fn drive<Op, Fut>(concurrency: usize, total: usize, op: Op) -> Measured
where
    Op: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = OpResult> + Send + 'static,
{
    struct Partial {
        latencies: Vec<u64>,
        tally: BTreeMap<&'static str, usize>,
        errors: usize,
        first_error: Option<String>,
    }
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let op = op.clone();
            let next = next.clone();
            tokio::spawn(async move {
                let mut partial = Partial {
                    latencies: Vec::with_capacity(total / concurrency.max(1) + 1),
                    tally: BTreeMap::new(),
                    errors: 0,
                    first_error: None,
                };
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    let t = Instant::now();
                    let result = op(i).await;
                    partial.latencies.push(t.elapsed().as_micros() as u64);
                    match result {
                        Ok(label) => *partial.tally.entry(label).or_default() += 1,
                        Err(message) => {
                            partial.errors += 1;
                            partial.first_error.get_or_insert(message);
                        }
                    }
                }
                partial
            })
        })
        .collect();
    let mut measured = Measured {
        requests: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::with_capacity(total),
        tally: BTreeMap::new(),
        first_error: None,
    };
    for worker in workers {
        match worker.await {
            Ok(partial) => {
                measured.latencies.extend(partial.latencies);
                measured.errors += partial.errors;
                for (label, n) in partial.tally {
                    *measured.tally.entry(label).or_default() += n;
                }
                if measured.first_error.is_none() {
                    measured.first_error = partial.first_error;
                }
            }
            Err(e) => {
                measured.errors += 1;
                measured
                    .first_error
                    .get_or_insert_with(|| format!("a worker panicked: {e}"));
            }
        }
    }
    measured.elapsed = started.elapsed();
    measured.requests = measured.latencies.len();
    measured.latencies.sort_unstable();
    measured
}

impl Measured {
    /// Figures from latencies measured elsewhere (one per received item).
    pub fn from_latencies(
        latencies: Vec<Duration>,
        errors: usize,
        elapsed: Duration,
        first_error: Option<String>,
    ) -> Self {
        let mut micros: Vec<u64> = latencies.iter().map(|d| d.as_micros() as u64).collect();
        micros.sort_unstable();
        Self {
            requests: micros.len() + errors,
            errors,
            elapsed,
            latencies: micros,
            tally: BTreeMap::new(),
            first_error,
        }
    }

    pub fn throughput(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The latency at quantile `q` (0..=1), nearest rank.
    pub fn percentile(&self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank =
            ((q * self.latencies.len() as f64).ceil() as usize).clamp(1, self.latencies.len());
        Duration::from_micros(self.latencies[rank - 1])
    }

    pub fn max(&self) -> Duration {
        Duration::from_micros(self.latencies.last().copied().unwrap_or(0))
    }

    /// The figures on one line: `label  requests  req/s  p50 p90 p99 max  errors`.
    pub fn line(&self, label: &str) -> String {
        format!(
            "{label:<34} {:>7} req {:>8.0} req/s  p50 {:>7}  p90 {:>7}  p99 {:>7}  max {:>7}  errors {}",
            self.requests,
            self.throughput(),
            ms(self.percentile(0.50)),
            ms(self.percentile(0.90)),
            ms(self.percentile(0.99)),
            ms(self.max()),
            self.errors,
        )
    }

    /// Prints the scenario line, its outcome tally, its first error and the
    /// server's peak RSS during it.
    pub fn print_server(&self, label: &str, peak_rss: Option<u64>) {
        let rss = peak_rss.map_or_else(|| "n/a".to_owned(), mib);
        println!("{}  peak RSS {rss}", self.line(label));
        self.print_details();
    }

    /// Prints the figures alone (a floor without a server run to compare).
    pub fn print(&self, label: &str) {
        println!("{}", self.line(label));
        self.print_details();
    }

    /// Prints the floor line and the server/floor ratios.
    pub fn print_floor(&self, label: &str, server: &Measured) {
        println!("{}", self.line(label));
        println!(
            "{:<34} throughput {:.2}x of the floor, p50 {:.1}x, p99 {:.1}x",
            "  server/floor",
            server.throughput() / self.throughput().max(1e-9),
            ratio(server.percentile(0.50), self.percentile(0.50)),
            ratio(server.percentile(0.99), self.percentile(0.99)),
        );
        self.print_details();
    }

    fn print_details(&self) {
        if !self.tally.is_empty() {
            let tally: Vec<String> = self.tally.iter().map(|(k, v)| format!("{k} {v}")).collect();
            println!("{:<34} {}", "", tally.join(", "));
        }
        if let Some(error) = &self.first_error {
            let short: String = error.chars().take(300).collect();
            println!("{:<34} first error: {short}", "");
        }
    }
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

/// A duration in milliseconds, two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2}ms", d.as_secs_f64() * 1000.0)
}

/// Bytes in MiB.
pub fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
}
