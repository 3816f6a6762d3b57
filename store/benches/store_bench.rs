//! Store benchmarks (a plain bench binary, not criterion: these are throughput runs with
//! several writers, a killed child process and memory readings).
//!
//! ```text
//! cargo bench -p rocketmq-store --bench store_bench -- <scenario> <dir> [args]
//!   async <dir> <writers> <messages>     1 KiB appends, ASYNC_FLUSH (STORE_BENCH_KEYED=1:
//!                                        each message has a unique UNIQ_KEY to index)
//!   sync <dir> <writers> <seconds>       1 KiB appends, SYNC_FLUSH group commit (tokio tasks;
//!                                        STORE_BENCH_WORKERS runtime workers, default 2;
//!                                        STORE_BENCH_SCHED=batch runs them SCHED_BATCH),
//!                                        timed in steady state over one whole commit-log
//!                                        file: from the first roll-over to the second, or
//!                                        for <seconds> if that comes first
//!   sync-threads <dir> <writers> <secs>  the same with OS threads and the blocking put
//!   fsync <dir> <count>                  median fdatasync latency of a 4 KiB append (the
//!                                        SYNC target's baseline); of a 64 KiB append, write
//!                                        into fallocated blocks and overwrite of written
//!                                        blocks (one full group's flush in a fresh file, or
//!                                        in one whose blocks were written before); and the
//!                                        time to zero-fill 64 KiB ahead (written + synced)
//!   read <dir> <messages>                write one queue, then read it sequentially
//!   recovery-write <dir> <bytes>         (child) write until <bytes> of log, print READY,
//!                                        then keep writing 1 message per ms
//!   recovery <dir> <bytes> [settle-ms]   spawn recovery-write, let it trickle for settle-ms
//!                                        (default 5000), SIGKILL it, time the reopen
//! ```
//! Each prints one `RESULT key=value ...` line. `store/bench.sh` runs them all.
//! STORE_BENCH_PRETOUCH_MIB=n (async and sync): touch and free n MiB of memory first.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use remoting::message::{MessageExt, properties};
use store::{FlushDiskType, MessageStore, MessageStoreConfig, PutMessageStatus};

fn config(dir: &Path, flush: FlushDiskType) -> MessageStoreConfig {
    let mut c = MessageStoreConfig::with_root(dir);
    c.flush_disk_type = flush;
    c.clean_resource_interval = 3_600_000;
    // Extra settings as KEY=VALUE pairs in STORE_BENCH_CONF, e.g. "prefaultAheadBytes=0".
    if let Ok(extra) = std::env::var("STORE_BENCH_CONF") {
        for kv in extra.split(',').filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').expect("KEY=VALUE");
            c.set(k, v).unwrap();
        }
    }
    c
}

fn message(queue_id: i32, body: &Bytes) -> MessageExt {
    MessageExt {
        topic: "BenchTopic".into(),
        queue_id,
        body: body.clone(),
        born_timestamp: 1_700_000_000_000,
        born_host: "10.0.0.1:50000".parse().unwrap(),
        store_host: "10.0.0.2:10911".parse().unwrap(),
        properties: [("TAGS", "TagA")].into_iter().collect(),
        ..Default::default()
    }
}

/// A 32-hex-digit unique key like a producer's (cheaper than `format!`).
fn uniq_key(writer: u32, seq: u64) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(32);
    s.push_str("0A00000100002A9F");
    for (v, digits) in [(writer as u64, 4), (seq, 12)] {
        for d in (0..digits).rev() {
            s.push(HEX[((v >> (d * 4)) & 0xF) as usize] as char);
        }
    }
    s
}

fn rss_anon_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("RssAnon:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// CPU time (user + system) of the calling thread or the process, in seconds.
fn cpu_seconds(who: libc::c_int) -> f64 {
    // SAFETY: getrusage fills the struct we pass.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn fresh(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
}

/// With STORE_BENCH_PRETOUCH_MIB=n, touches and frees n MiB of anonymous memory: on a VM
/// that hands freed guest memory back to its host (free page reporting), the first write
/// to such memory costs a host fault, several times a page copy; memory freed a moment ago
/// is reused as is, as the recycled page cache of a long-running broker is.
fn pretouch() {
    let Some(mib) = std::env::var("STORE_BENCH_PRETOUCH_MIB")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    else {
        return;
    };
    let mut mem = vec![0u8; mib << 20];
    for page in mem.chunks_mut(4096) {
        page[0] = 1;
    }
    std::hint::black_box(&mem);
}

fn bench_async(dir: &Path, writers: usize, total: u64) {
    fresh(dir);
    pretouch();
    let store = MessageStore::open(config(dir, FlushDiskType::AsyncFlush)).unwrap();
    let body = Bytes::from(vec![b'x'; 1024]);
    let rss_before = rss_anon_kib();
    let per = total / writers as u64;
    let keyed = std::env::var("STORE_BENCH_KEYED").is_ok_and(|v| v == "1");
    let start = Instant::now();
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let store = store.clone();
            let body = body.clone();
            std::thread::spawn(move || {
                let mut m = message(w as i32, &body);
                let c0 = cpu_seconds(libc::RUSAGE_THREAD);
                for i in 0..per {
                    if keyed {
                        // A unique key per message, as producers set (32 hex digits), so
                        // dispatch also builds the index.
                        m.properties
                            .insert(properties::UNIQ_KEY, uniq_key(w as u32, i));
                    }
                    let r = store.put_message_blocking(&m);
                    assert_eq!(r.status, PutMessageStatus::PutOk);
                }
                cpu_seconds(libc::RUSAGE_THREAD) - c0
            })
        })
        .collect();
    let proc0 = cpu_seconds(libc::RUSAGE_SELF);
    let mut writer_cpu = 0.0;
    for h in handles {
        writer_cpu += h.join().unwrap();
    }
    let el = start.elapsed();
    let proc_cpu = cpu_seconds(libc::RUSAGE_SELF) - proc0;
    let rss_after = rss_anon_kib();
    let n = per * writers as u64;
    let dispatch_start = Instant::now();
    assert!(store.wait_dispatched_blocking(
        store.get_appended_phy_offset() as u64,
        Duration::from_secs(120)
    ));
    let dispatch_tail = dispatch_start.elapsed();
    println!(
        "RESULT scenario=async writers={writers} keyed={keyed} messages={n} seconds={:.3} msg_per_s={:.0} mib_per_s={:.1} dispatch_tail_ms={} rss_anon_kib_before={rss_before} rss_anon_kib_after={rss_after} writer_cpu_us_per_msg={:.2} process_cpu_us_per_msg={:.2}",
        el.as_secs_f64(),
        n as f64 / el.as_secs_f64(),
        (store.get_appended_phy_offset() as f64) / el.as_secs_f64() / 1048576.0,
        dispatch_tail.as_millis(),
        writer_cpu * 1e6 / n as f64,
        proc_cpu * 1e6 / n as f64
    );
    store.shutdown();
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
}

fn bench_fsync(dir: &Path, count: usize) -> f64 {
    fresh(dir);
    let p = dir.join("fsync.test");
    let f = std::fs::File::create(&p).unwrap();
    let median = |mut lat: Vec<f64>| {
        lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
        (lat[lat.len() / 2], lat[lat.len() * 9 / 10])
    };
    let sync_each = |size: usize| -> Vec<f64> {
        let buf = vec![7u8; size];
        (0..count)
            .map(|i| {
                let t = Instant::now();
                f.write_all_at(&buf, (i * size) as u64).unwrap();
                f.sync_data().unwrap();
                t.elapsed().as_secs_f64() * 1e6
            })
            .collect()
    };
    // The target's baseline: a 4 KiB append, each followed by fdatasync.
    let (median4, p90) = median(sync_each(4096));
    // What one full group of 64 × 1 KiB costs the disk in each way a store can lay out a
    // fresh file: appended (blocks allocated by the flush), written into blocks reserved
    // with fallocate (the flush converts unwritten extents), or overwriting blocks zero-filled
    // and synced beforehand (as this store's SYNC_FLUSH master does), which then costs
    // the zero-fill's 64 KiB as well.
    f.set_len(0).unwrap();
    let (append64, _) = median(sync_each(65536));
    f.set_len(0).unwrap();
    let len = (count * 65536) as libc::off_t;
    // SAFETY: plain fallocate on a file we own.
    let reserved64 = (unsafe { libc::fallocate(f.as_raw_fd(), 0, 0, len) } == 0).then(|| {
        f.sync_all().unwrap();
        median(sync_each(65536)).0
    });
    f.set_len(0).unwrap();
    let zeros = vec![0u8; 1 << 20];
    let t = Instant::now();
    for i in 0..(count * 65536).div_ceil(1 << 20) {
        f.write_all_at(&zeros, (i << 20) as u64).unwrap();
    }
    f.sync_all().unwrap();
    let zero64 = t.elapsed().as_secs_f64() * 1e6 / count as f64;
    let (median64, _) = median(sync_each(65536));
    let floor = append64
        .min(reserved64.unwrap_or(f64::INFINITY))
        .min(median64 + zero64);
    // A file system without fallocate reports it as unsupported.
    let reserved64 = reserved64.map_or("unsupported".into(), |us| format!("{us:.1}"));
    let rate = |us: f64| 64.0 / (us / 1e6);
    println!(
        "RESULT scenario=fsync count={count} median_us={median4:.1} p90_us={p90:.1} target_sync64_msg_per_s={:.0} append64k_median_us={append64:.1} reserved64k_median_us={reserved64} zero_fill64k_us={zero64:.1} overwrite64k_median_us={median64:.1} fresh_floor_sync64_msg_per_s={:.0} ceiling_sync64_msg_per_s={:.0}",
        0.8 * rate(median4),
        rate(floor),
        rate(median64)
    );
    let _ = std::fs::remove_dir_all(dir);
    median4
}

fn bench_sync(dir: &Path, writers: usize, secs: u64) {
    fresh(dir);
    pretouch();
    let store = MessageStore::open(config(dir, FlushDiskType::SyncFlush)).unwrap();
    let body = Bytes::from(vec![b'y'; 1024]);
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let timeouts = Arc::new(AtomicU64::new(0));
    let workers = std::env::var("STORE_BENCH_WORKERS").map_or(2, |w| w.parse().unwrap());
    let batch = std::env::var("STORE_BENCH_SCHED").is_ok_and(|p| p == "batch");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .on_thread_start(move || {
            if batch {
                // Without wake-up preemption a worker woken on its waker's CPU does not
                // interrupt it halfway through completing a group's waiters.
                let param = libc::sched_param { sched_priority: 0 };
                // SAFETY: sets this thread's own policy; plain libc call.
                unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) };
            }
        })
        .build()
        .unwrap();
    // Steady state: the window opens once the writers have rolled over to the second
    // commit-log file, which the store made (and a SYNC_FLUSH master zero-filled) in the
    // background while they wrote the first, and closes when they roll over to the third,
    // which was made meanwhile: one whole period of what repeats at every file, background
    // zero-fill included, rather than a slice weighted towards its start. A fresh store's
    // first file is zero-filled just ahead of its writer instead.
    let file_size = store.config().mapped_file_size_commit_log;
    let rolled = |files: u64| {
        store
            .commit_log()
            .files()
            .last_file()
            .is_some_and(|f| f.file_from_offset() >= files * file_size)
    };
    let (opened, closed, whole_file) = rt.block_on(async {
        let mut tasks = Vec::new();
        for w in 0..writers {
            let (store, body, stop, count, timeouts) = (
                store.clone(),
                body.clone(),
                stop.clone(),
                count.clone(),
                timeouts.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let m = message((w % 8) as i32, &body);
                while !stop.load(Ordering::Relaxed) {
                    // Borrowed, as in the other scenarios: the harness allocates nothing per put.
                    let r = store.put_messages(std::slice::from_ref(&m)).await;
                    match r.status {
                        PutMessageStatus::PutOk => {}
                        PutMessageStatus::FlushDiskTimeout => {
                            timeouts.fetch_add(1, Ordering::Relaxed);
                        }
                        s => panic!("{s:?}"),
                    }
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        // The store has no roll-over event: poll (a file takes seconds to fill).
        while !rolled(1) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // (when, messages, flushes, flush time) at each end of the window.
        let now = || {
            (
                Instant::now(),
                count.load(Ordering::Relaxed),
                store.commit_log_flush_count(),
                store.commit_log_flush_time(),
            )
        };
        let opened = now();
        let cap = opened.0 + Duration::from_secs(secs);
        let mut whole_file = false;
        while !whole_file && Instant::now() < cap {
            tokio::time::sleep(Duration::from_millis(5)).await;
            whole_file = rolled(2);
        }
        let closed = now();
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            t.await.unwrap();
        }
        (opened, closed, whole_file)
    });
    let el = closed.0 - opened.0;
    let n = closed.1 - opened.1;
    let flushes = (closed.2 - opened.2).max(1);
    let flush_time = closed.3 - opened.3;
    let window = if whole_file { "file" } else { "capped" };
    println!(
        "RESULT scenario=sync writers={writers} messages={n} seconds={:.3} window={window} msg_per_s={:.0} flush_timeouts={} flushes={flushes} msgs_per_flush={:.1} avg_flush_us={:.0} avg_cycle_us={:.0}",
        el.as_secs_f64(),
        n as f64 / el.as_secs_f64(),
        timeouts.load(Ordering::Relaxed),
        n as f64 / flushes as f64,
        flush_time.as_secs_f64() * 1e6 / flushes as f64,
        el.as_secs_f64() * 1e6 / flushes as f64
    );
    store.shutdown();
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
}

/// SYNC_FLUSH with plain threads and the blocking put (no async runtime in the way).
fn bench_sync_threads(dir: &Path, writers: usize, secs: u64) {
    fresh(dir);
    let store = MessageStore::open(config(dir, FlushDiskType::SyncFlush)).unwrap();
    let body = Bytes::from(vec![b'y'; 1024]);
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let (store, body, stop, count) =
                (store.clone(), body.clone(), stop.clone(), count.clone());
            std::thread::spawn(move || {
                let m = message((w % 8) as i32, &body);
                while !stop.load(Ordering::Relaxed) {
                    let r = store.put_message_blocking(&m);
                    assert!(r.is_stored());
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().unwrap();
    }
    let el = start.elapsed();
    let n = count.load(Ordering::Relaxed);
    let flushes = store.commit_log_flush_count().max(1);
    println!(
        "RESULT scenario=sync-threads writers={writers} messages={n} seconds={:.3} msg_per_s={:.0} flushes={flushes} msgs_per_flush={:.1} avg_flush_us={:.0} avg_cycle_us={:.0}",
        el.as_secs_f64(),
        n as f64 / el.as_secs_f64(),
        n as f64 / flushes as f64,
        store.commit_log_flush_time().as_secs_f64() * 1e6 / flushes as f64,
        el.as_secs_f64() * 1e6 / flushes as f64
    );
    store.shutdown();
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
}

fn bench_read(dir: &Path, total: u64) {
    fresh(dir);
    let store = MessageStore::open(config(dir, FlushDiskType::AsyncFlush)).unwrap();
    let body = Bytes::from(vec![b'r'; 1024]);
    let m = message(0, &body);
    for _ in 0..total {
        store.put_message_blocking(&m);
    }
    assert!(store.wait_dispatched_blocking(
        store.get_appended_phy_offset() as u64,
        Duration::from_secs(120)
    ));
    let mut best = 0f64;
    for _pass in 0..3 {
        let start = Instant::now();
        let mut off = 0;
        let mut n = 0u64;
        let mut bytes = 0usize;
        loop {
            let r = store.get_message("BenchTopic", 0, off, 32, None);
            if r.messages.is_empty() {
                break;
            }
            n += r.messages.len() as u64;
            bytes += r.buffer_total_size;
            off = r.next_begin_offset;
        }
        let el = start.elapsed();
        assert_eq!(n, total);
        assert!(bytes > 0);
        best = best.max(n as f64 / el.as_secs_f64());
    }
    println!("RESULT scenario=read messages={total} batch=32 best_msg_per_s={best:.0}");
    store.shutdown();
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
}

fn recovery_write(dir: &Path, bytes: u64) {
    fresh(dir);
    let store = MessageStore::open(config(dir, FlushDiskType::AsyncFlush)).unwrap();
    let body = Bytes::from(vec![b'c'; 1024]);
    let mut out = std::io::stdout();
    let mut q = 0;
    while (store.get_max_phy_offset() as u64) < bytes {
        let mut m = message(q % 8, &body);
        m.properties.insert("KEYS", format!("k{q}"));
        store.put_message_blocking(&m);
        q += 1;
    }
    store.wait_dispatched_blocking(store.get_max_phy_offset() as u64, Duration::from_secs(300));
    writeln!(out, "READY {}", store.get_max_phy_offset()).unwrap();
    out.flush().unwrap();
    // Keep writing at a trickle (steady traffic) until killed, so the checkpoint can catch
    // up with the log: a crash then only re-verifies what its 3 s safety margin covers.
    loop {
        let m = message(q % 8, &body);
        store.put_message_blocking(&m);
        q += 1;
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn bench_recovery(dir: &Path, bytes: u64, settle: Duration) {
    let exe = std::env::current_exe().unwrap();
    let t = Instant::now();
    let mut child = Command::new(exe)
        .args(["recovery-write", dir.to_str().unwrap(), &bytes.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let write_secs = t.elapsed().as_secs_f64();
    std::thread::sleep(settle);
    child.kill().unwrap();
    child.wait().unwrap();
    // Drop the page cache's advantage as far as an unprivileged process can: nothing. The
    // numbers below are with a warm page cache (process crash, not power loss).
    let t = Instant::now();
    let store = MessageStore::open(config(dir, FlushDiskType::AsyncFlush)).unwrap();
    let open_secs = t.elapsed().as_secs_f64();
    let rep = store.recovery_report().clone();
    println!(
        "RESULT scenario=recovery log_bytes={} write_seconds={write_secs:.1} settle_ms={} recovery_seconds={open_secs:.3} abnormal={} reput_from={} corruption={}",
        rep.commit_log_end,
        settle.as_millis(),
        rep.abnormal,
        rep.reput_from,
        rep.corruption.is_some()
    );
    store.shutdown();
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.is_empty() {
        eprintln!("usage: see the file header");
        return;
    }
    let dir = PathBuf::from(
        args.get(1)
            .cloned()
            .unwrap_or_else(|| "/tmp/store-bench".into()),
    );
    let num = |i: usize, d: u64| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    match args[0].as_str() {
        "async" => bench_async(&dir, num(2, 1) as usize, num(3, 1_000_000)),
        "sync" => bench_sync(&dir, num(2, 64) as usize, num(3, 5)),
        "sync-threads" => bench_sync_threads(&dir, num(2, 64) as usize, num(3, 5)),
        "fsync" => {
            bench_fsync(&dir, num(2, 200) as usize);
        }
        "read" => bench_read(&dir, num(2, 1_000_000)),
        "recovery-write" => recovery_write(&dir, num(2, 4 << 30)),
        "recovery" => bench_recovery(&dir, num(2, 4 << 30), Duration::from_millis(num(3, 5000))),
        s => eprintln!("unknown scenario {s}"),
    }
}
