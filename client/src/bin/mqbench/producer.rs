//! `mqbench producer`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use client::{ClientConfig, Message, Producer, ProducerConfig, Result};
use serde_json::json;
use tokio::sync::Semaphore;

use crate::histogram::Histogram;
use crate::report::{Printer, Window, cpu_time, latency_json, latency_line};

/// How a worker sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Wait for each answer.
    Sync,
    /// Callbacks; up to 64 sends in flight per worker.
    Async,
    /// No answers.
    Oneway,
}

/// Producer benchmark options (Apache's short flags where they exist).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Topic.
    #[arg(short = 't', long = "topic", default_value = "BenchmarkTest")]
    topic: String,
    /// Concurrent workers.
    #[arg(short = 'w', long = "threadCount", default_value_t = 64)]
    threads: usize,
    /// Body size in bytes.
    #[arg(short = 's', long = "messageSize", default_value_t = 128)]
    size: usize,
    /// Give each message a key.
    #[arg(short = 'k', long = "keyEnable", default_value_t = false, action = clap::ArgAction::Set)]
    keys: bool,
    /// Number of distinct tags (0 = no tag).
    #[arg(short = 'l', long = "tagCount", default_value_t = 0)]
    tags: usize,
    /// Messages to send in total (0 = until the duration ends).
    #[arg(short = 'q', long = "messageQuantity", default_value_t = 0)]
    count: u64,
    /// Seconds to run (0 = until the quantity is sent).
    #[arg(long = "duration", default_value_t = 10)]
    duration: u64,
    /// Send mode.
    #[arg(long = "mode", value_enum, default_value_t = Mode::Sync)]
    mode: Mode,
    /// Messages per SEND_BATCH_MESSAGE (1 = single sends).
    #[arg(short = 'b', long = "batchSize", default_value_t = 1)]
    batch: usize,
    /// Milliseconds between reports.
    #[arg(long = "reportInterval", default_value_t = 1000)]
    report_ms: u64,
    /// Producer group.
    #[arg(short = 'g', long = "group", default_value = "benchmark_producer")]
    group: String,
}

struct Shared {
    window: Window,
    issued: AtomicU64,
    stop: AtomicBool,
    limit: u64,
}

impl Shared {
    /// Reserves `n` messages; false when the quantity is reached or time is up.
    fn take(&self, n: u64) -> bool {
        if self.stop.load(Ordering::Relaxed) {
            return false;
        }
        self.limit == 0 || self.issued.fetch_add(n, Ordering::Relaxed) + n <= self.limit
    }
}

fn message(a: &Args, body: &bytes::Bytes, seq: u64) -> Message {
    let mut m = Message::new(a.topic.clone(), body.clone());
    if a.keys {
        m = m.with_keys([format!("k{seq}")]);
    }
    if a.tags > 0 {
        m = m.with_tags(format!("tag{}", seq % a.tags as u64));
    }
    m
}

async fn worker(p: Producer, a: Arc<Args>, s: Arc<Shared>, id: u64) -> Histogram {
    let mut h = Histogram::default();
    let body = bytes::Bytes::from(vec![b'a'; a.size.max(1)]);
    let batch = a.batch.max(1) as u64;
    let inflight = Arc::new(Semaphore::new(64));
    let async_hist = Arc::new(std::sync::Mutex::new(Histogram::default()));
    let mut seq = id << 40;
    while s.take(batch) {
        seq += 1;
        let started = Instant::now();
        match (a.mode, batch) {
            (Mode::Async, _) => {
                let permit = inflight.clone().acquire_owned().await.expect("semaphore");
                let (s2, hist) = (s.clone(), async_hist.clone());
                p.send_with_callback(message(&a, &body, seq), move |r| {
                    let us = started.elapsed().as_micros() as u64;
                    match r {
                        Ok(_) => {
                            s2.window.ok(1, us);
                            hist.lock().unwrap().record(us);
                        }
                        Err(_) => {
                            s2.window.failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    drop(permit);
                });
                continue;
            }
            (Mode::Oneway, _) => {
                let r = p.send_oneway(message(&a, &body, seq)).await;
                record(&s, &mut h, started, 1, r.is_ok());
            }
            (Mode::Sync, 1) => {
                let r = p.send(message(&a, &body, seq)).await;
                record(&s, &mut h, started, 1, r.is_ok());
            }
            (Mode::Sync, n) => {
                let msgs = (0..n).map(|i| message(&a, &body, seq * 1000 + i)).collect();
                let r = p.send_batch(msgs).await;
                record(&s, &mut h, started, n, r.is_ok());
            }
        }
    }
    let _ = inflight.acquire_many(64).await;
    h.merge(&async_hist.lock().unwrap());
    h
}

fn record(s: &Shared, h: &mut Histogram, started: Instant, n: u64, ok: bool) {
    let us = started.elapsed().as_micros() as u64;
    if ok {
        s.window.ok(n, us);
        h.record(us);
    } else {
        s.window.failed.fetch_add(n, Ordering::Relaxed);
    }
}

/// Runs the producer benchmark.
pub async fn run(ns: &str, a: Args, json_out: bool) -> Result<()> {
    let p = Producer::start(
        ClientConfig::new(ns),
        ProducerConfig {
            group: a.group.clone(),
            ..Default::default()
        },
    )
    .await?;
    // Fail fast on an unreachable cluster or a missing topic.
    p.fetch_publish_queues(&a.topic).await?;
    if !json_out {
        println!(
            "topic: {}, threadCount: {}, messageSize: {}, keyEnable: {}, tagCount: {}, mode: {:?}, batchSize: {}",
            a.topic, a.threads, a.size, a.keys, a.tags, a.mode, a.batch
        );
    }
    let shared = Arc::new(Shared {
        window: Window::default(),
        issued: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        limit: a.count,
    });
    let a = Arc::new(a);
    let cpu0 = cpu_time();
    let t0 = Instant::now();
    let workers: Vec<_> = (0..a.threads.max(1) as u64)
        .map(|i| tokio::spawn(worker(p.clone(), a.clone(), shared.clone(), i)))
        .collect();
    let mut printer = Printer::new(json_out);
    let interval = Duration::from_millis(a.report_ms.max(100));
    let deadline = (a.duration > 0).then(|| t0 + Duration::from_secs(a.duration));
    let (mut total, mut failed) = (0u64, 0u64);
    let mut done = futures::future::join_all(workers);
    let hists = loop {
        tokio::select! {
            h = &mut done => break h,
            _ = tokio::time::sleep(interval) => {
                let [n, f, sum, max, _, _] = shared.window.take();
                total += n;
                failed += f;
                let secs = interval.as_secs_f64();
                let avg = if n > 0 { sum as f64 / n as f64 / 1000.0 } else { 0.0 };
                printer.sample(
                    format!("Send TPS: {:.0} | Max RT(ms): {:.3} | Average RT(ms): {avg:.3} | Send Failed: {f} | Total: {total}", n as f64 / secs, max as f64 / 1000.0),
                    json!({"elapsed_s": t0.elapsed().as_secs_f64(), "tps": n as f64 / secs, "avg_rt_ms": avg, "max_rt_ms": max as f64 / 1000.0, "failed": f}),
                );
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    shared.stop.store(true, Ordering::Relaxed);
                }
            }
        }
    };
    let elapsed = t0.elapsed();
    let [n, f, ..] = shared.window.take();
    total += n;
    failed += f;
    printer.finish();
    let mut h = Histogram::default();
    for r in hists.into_iter().flatten() {
        h.merge(&r);
    }
    let cpu = match (cpu0, cpu_time()) {
        (Some(a), Some(b)) => Some((b - a).as_secs_f64()),
        _ => None,
    };
    let tps = total as f64 / elapsed.as_secs_f64();
    if json_out {
        let doc = json!({
            "kind": "producer",
            "topic": a.topic, "threads": a.threads, "message_size": a.size,
            "mode": format!("{:?}", a.mode).to_lowercase(), "batch_size": a.batch,
            "elapsed_s": elapsed.as_secs_f64(), "sent": total, "failed": failed, "tps": tps,
            "latency": latency_json(&h), "cpu_s": cpu, "samples": printer.samples,
        });
        println!("{doc}");
    } else {
        println!(
            "[Complete] Send Total: {total} | Send TPS: {tps:.0} | Send Failed: {failed} | Elapsed(s): {:.1} | CPU(s): {}",
            elapsed.as_secs_f64(),
            cpu.map_or("n/a".into(), |c| format!("{c:.2}"))
        );
        println!("{}", latency_line("Send", &h));
    }
    p.shutdown().await;
    Ok(())
}
