//! Per-interval counters shared by the workers, and the printing of samples and summaries.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::histogram::Histogram;

/// Counters of the current interval (reset at each report).
#[derive(Default)]
pub struct Window {
    /// Messages done.
    pub count: AtomicU64,
    /// Failures.
    pub failed: AtomicU64,
    /// Sum of latencies (µs).
    pub sum_us: AtomicU64,
    /// Largest latency (µs).
    pub max_us: AtomicU64,
    /// Second latency: sum (µs) (consumer: store-to-consume).
    pub sum2_us: AtomicU64,
    /// Second latency: max (µs).
    pub max2_us: AtomicU64,
}

impl Window {
    /// Records `n` messages done with one latency sample.
    pub fn ok(&self, n: u64, us: u64) {
        self.count.fetch_add(n, Ordering::Relaxed);
        self.sum_us.fetch_add(us * n, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
    }

    /// Records a second latency for one message.
    pub fn second(&self, us: u64) {
        self.sum2_us.fetch_add(us, Ordering::Relaxed);
        self.max2_us.fetch_max(us, Ordering::Relaxed);
    }

    /// Takes and resets the counters.
    pub fn take(&self) -> [u64; 6] {
        [
            self.count.swap(0, Ordering::Relaxed),
            self.failed.swap(0, Ordering::Relaxed),
            self.sum_us.swap(0, Ordering::Relaxed),
            self.max_us.swap(0, Ordering::Relaxed),
            self.sum2_us.swap(0, Ordering::Relaxed),
            self.max2_us.swap(0, Ordering::Relaxed),
        ]
    }
}

/// Prints samples: a live line on a terminal, plain lines otherwise, nothing with `--json`.
pub struct Printer {
    json: bool,
    live: bool,
    /// Samples kept for the JSON summary.
    pub samples: Vec<Value>,
}

impl Printer {
    /// A printer for the current stdout.
    pub fn new(json: bool) -> Printer {
        Printer {
            json,
            live: !json && std::io::stdout().is_terminal(),
            samples: Vec::new(),
        }
    }

    /// Prints one sample line and keeps its JSON.
    pub fn sample(&mut self, line: String, value: Value) {
        self.samples.push(value);
        if self.json {
            return;
        }
        let mut out = std::io::stdout().lock();
        if self.live {
            let _ = write!(out, "\r\x1b[2K{line}");
        } else {
            let _ = writeln!(out, "{line}");
        }
        let _ = out.flush();
    }

    /// Ends the live line.
    pub fn finish(&self) {
        if self.live {
            println!();
        }
    }
}

/// Latency figures (ms) of a histogram for the summary.
pub fn latency_json(h: &Histogram) -> Value {
    let ms = |us: u64| us as f64 / 1000.0;
    json!({
        "count": h.count(),
        "avg_ms": h.mean() / 1000.0,
        "p50_ms": ms(h.quantile(0.5)),
        "p99_ms": ms(h.quantile(0.99)),
        "p999_ms": ms(h.quantile(0.999)),
        "max_ms": ms(h.max()),
    })
}

/// One-line latency summary.
pub fn latency_line(name: &str, h: &Histogram) -> String {
    let ms = |us: u64| us as f64 / 1000.0;
    format!(
        "{name} latency(ms): avg {:.3} | p50 {:.3} | p99 {:.3} | p999 {:.3} | max {:.3}",
        h.mean() / 1000.0,
        ms(h.quantile(0.5)),
        ms(h.quantile(0.99)),
        ms(h.quantile(0.999)),
        ms(h.max())
    )
}

/// CPU time (user + system) this process has used, from `/proc/self/stat` (Linux).
pub fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    // USER_HZ is 100 on Linux.
    Some(Duration::from_millis((utime + stime) * 10))
}
