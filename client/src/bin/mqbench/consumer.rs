//! `mqbench consumer`.

use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use client::consumer::{
    ConsumeConcurrentlyStatus, ConsumeFromWhere, MessageListener, PushConsumer, PushConsumerConfig,
};
use client::{ClientConfig, ClientError, Result};
use serde_json::json;
use tokio::sync::Notify;

use crate::histogram::Histogram;
use crate::report::{Printer, Window, cpu_time, latency_json, latency_line};

/// Where a new group starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum From {
    /// Only new messages.
    Last,
    /// Everything stored.
    First,
}

/// Consumer benchmark options (Apache's short flags where they exist).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Topic.
    #[arg(short = 't', long = "topic", default_value = "BenchmarkTest")]
    topic: String,
    /// Listener calls running at once.
    #[arg(short = 'w', long = "threadCount", default_value_t = 20)]
    threads: usize,
    /// Consumer group.
    #[arg(short = 'g', long = "group", default_value = "benchmark_consumer")]
    group: String,
    /// Filter type (only TAG).
    #[arg(short = 'f', long = "filterType", default_value = "TAG")]
    filter_type: String,
    /// Tag expression, e.g. `tag0 || tag1`.
    #[arg(short = 'e', long = "expression", default_value = "*")]
    expression: String,
    /// Seconds to run (0 = until --count messages).
    #[arg(long = "duration", default_value_t = 10)]
    duration: u64,
    /// Stop after this many messages (0 = no limit).
    #[arg(long = "count", default_value_t = 0)]
    count: u64,
    /// Where a new group starts.
    #[arg(long = "from", value_enum, default_value_t = From::Last)]
    from: From,
    /// Milliseconds between reports.
    #[arg(long = "reportInterval", default_value_t = 1000)]
    report_ms: u64,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Runs the consumer benchmark.
pub async fn run(ns: &str, a: Args, json_out: bool) -> Result<()> {
    if a.filter_type != "TAG" {
        return Err(ClientError::Invalid(
            "only TAG filtering is supported".into(),
        ));
    }
    let window = Arc::new(Window::default());
    let hist = Arc::new(Mutex::new(Histogram::default()));
    let reached = Arc::new(Notify::new());
    let (w, h, r, limit) = (window.clone(), hist.clone(), reached.clone(), a.count);
    let seen = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let seen2 = seen.clone();
    let listener = MessageListener::concurrently(move |msgs, _| {
        let now = now_ms();
        let mut hh = h.lock().unwrap();
        for m in msgs {
            let b2c = ((now - m.born_timestamp).max(0) as u64) * 1000;
            let s2c = ((now - m.store_timestamp).max(0) as u64) * 1000;
            w.ok(1, b2c);
            w.second(s2c);
            hh.record(b2c);
        }
        let n = seen2.fetch_add(msgs.len() as u64, std::sync::atomic::Ordering::Relaxed)
            + msgs.len() as u64;
        if limit > 0 && n >= limit {
            r.notify_one();
        }
        ConsumeConcurrentlyStatus::ConsumeSuccess
    });
    let config = PushConsumerConfig {
        group: a.group.clone(),
        consume_thread_max: a.threads.max(1),
        consume_from_where: match a.from {
            From::Last => ConsumeFromWhere::ConsumeFromLastOffset,
            From::First => ConsumeFromWhere::ConsumeFromFirstOffset,
        },
        ..Default::default()
    };
    let consumer = PushConsumer::builder(ClientConfig::new(ns), config)
        .subscribe(a.topic.clone(), a.expression.clone())
        .listener(listener)
        .start()
        .await?;
    if !json_out {
        println!(
            "topic: {}, threadCount: {}, group: {}, expression: {}",
            a.topic, a.threads, a.group, a.expression
        );
    }
    let cpu0 = cpu_time();
    let t0 = Instant::now();
    let deadline = (a.duration > 0).then(|| t0 + Duration::from_secs(a.duration));
    let interval = Duration::from_millis(a.report_ms.max(100));
    let mut printer = Printer::new(json_out);
    let mut total = 0u64;
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    loop {
        tokio::select! {
            _ = reached.notified() => break,
            _ = tick.tick() => {
                let [n, _, sum, max, sum2, max2] = window.take();
                total += n;
                let secs = interval.as_secs_f64();
                let avg = |s: u64| if n > 0 { s as f64 / n as f64 / 1000.0 } else { 0.0 };
                printer.sample(
                    format!("Consume TPS: {:.0} | AVG(B2C) RT(ms): {:.3} | AVG(S2C) RT(ms): {:.3} | MAX(B2C) RT(ms): {:.3} | MAX(S2C) RT(ms): {:.3} | Total: {total}",
                        n as f64 / secs, avg(sum), avg(sum2), max as f64 / 1000.0, max2 as f64 / 1000.0),
                    json!({"elapsed_s": t0.elapsed().as_secs_f64(), "tps": n as f64 / secs, "avg_b2c_ms": avg(sum), "max_b2c_ms": max as f64 / 1000.0, "avg_s2c_ms": avg(sum2)}),
                );
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
            }
        }
    }
    let elapsed = t0.elapsed();
    consumer.shutdown().await;
    printer.finish();
    let received = seen.load(std::sync::atomic::Ordering::Relaxed);
    let cpu = match (cpu0, cpu_time()) {
        (Some(a), Some(b)) => Some((b - a).as_secs_f64()),
        _ => None,
    };
    let h = hist.lock().unwrap().clone();
    let tps = received as f64 / elapsed.as_secs_f64();
    if json_out {
        println!(
            "{}",
            json!({
                "kind": "consumer", "topic": a.topic, "group": a.group,
                "elapsed_s": elapsed.as_secs_f64(), "received": received, "tps": tps,
                "e2e_latency": latency_json(&h), "cpu_s": cpu, "samples": printer.samples,
            })
        );
    } else {
        println!(
            "[Complete] Consume Total: {received} | Consume TPS: {tps:.0} | Elapsed(s): {:.1} | CPU(s): {}",
            elapsed.as_secs_f64(),
            cpu.map_or("n/a".into(), |c| format!("{c:.2}"))
        );
        println!("{}", latency_line("End-to-end (born to consume)", &h));
    }
    Ok(())
}
