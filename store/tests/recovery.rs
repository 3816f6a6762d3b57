//! Recovery: torn writes, corrupted records, crash recovery via a killed child process.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use remoting::message::{RawRecord, decode_record_bytes, parse_record, properties};
use store::{GetMessageStatus, MessageStore, MessageStoreConfig, PutMessageStatus};

fn commit_log_files(root: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(root.join("commitlog"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn torn_tail_is_cut_and_writing_continues() {
    let dir = tempfile::tempdir().unwrap();
    let mut last = None;
    {
        let store = open(small_config(dir.path()));
        for i in 0..300 {
            let r = store.put_message_blocking(&msg(
                "TORN",
                0,
                format!("payload-{i}-{}", "z".repeat(200)),
                &[],
            ));
            last = r.append;
        }
        wait_all_dispatched(&store);
        store.halt_without_cleanup();
    }
    let last = last.unwrap();
    // Cut the newest file in the middle of the last record (the file becomes short).
    let file_size = 64 * 1024u64;
    let cut = (last.wrote_offset as u64 % file_size) + last.wrote_bytes as u64 / 2;
    let files = commit_log_files(dir.path());
    let newest = files
        .iter()
        .rfind(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
                <= last.wrote_offset as u64
        })
        .unwrap();
    // Remove a preallocated successor, if any, as a real torn copy would not have it.
    for f in &files {
        if f > newest {
            std::fs::remove_file(f).unwrap();
        }
    }
    std::fs::OpenOptions::new()
        .write(true)
        .open(newest)
        .unwrap()
        .set_len(cut)
        .unwrap();

    let store = open(small_config(dir.path()));
    let rep = store.recovery_report().clone();
    assert!(rep.abnormal);
    assert_eq!(rep.commit_log_end, last.wrote_offset as u64);
    assert_eq!(store.get_max_offset_in_queue("TORN", 0), 299);
    let all = read_queue(&store, "TORN", 0, 0);
    assert_eq!(all.len(), 299);
    for (i, m) in all.iter().enumerate() {
        assert_eq!(
            m.body,
            format!("payload-{i}-{}", "z".repeat(200)).as_bytes()
        );
    }
    let r = store.put_message_blocking(&msg("TORN", 0, "again", &[]));
    assert_eq!(r.append.as_ref().unwrap().logics_offset, 299);
    assert_eq!(r.append.unwrap().wrote_offset, last.wrote_offset);
    wait_all_dispatched(&store);
    assert_eq!(
        read_queue(&store, "TORN", 0, 299)[0].body,
        "again".as_bytes()
    );
    store.shutdown();
}

fn corrupt_and_recover(flip_at: impl Fn(&store::AppendMessageResult) -> u64, crash: bool) {
    let dir = tempfile::tempdir().unwrap();
    let mut results = Vec::new();
    {
        let store = open(small_config(dir.path()));
        for i in 0..100 {
            let r = store.put_message_blocking(&msg(
                "BAD",
                1,
                format!("body-{i}"),
                &[(properties::KEYS, "k")],
            ));
            results.push(r.append.unwrap());
        }
        wait_all_dispatched(&store);
        if crash {
            store.halt_without_cleanup();
        } else {
            store.shutdown();
        }
    }
    let victim = &results[50];
    let pos = flip_at(victim);
    let file = dir.path().join("commitlog/00000000000000000000");
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&file)
        .unwrap();
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, pos).unwrap();
    b[0] ^= 0x5A;
    f.write_all_at(&b, pos).unwrap();
    drop(f);

    let store = open(small_config(dir.path()));
    let rep = store.recovery_report().clone();
    assert!(rep.corruption.is_some(), "corruption not reported: {rep:?}");
    assert_eq!(rep.commit_log_end, victim.wrote_offset as u64);
    assert_eq!(store.get_max_offset_in_queue("BAD", 1), 50);
    let all = read_queue(&store, "BAD", 1, 0);
    assert_eq!(all.len(), 50);
    for (i, m) in all.iter().enumerate() {
        assert_eq!(m.body, format!("body-{i}").as_bytes());
    }
    // Consume queue entries past the cut are gone; new writes take their place.
    assert_eq!(
        store.get_message("BAD", 1, 50, 1, None).status,
        GetMessageStatus::OffsetOverflowOne
    );
    let r = store.put_message_blocking(&msg("BAD", 1, "new", &[]));
    assert_eq!(r.append.unwrap().logics_offset, 50);
    store.shutdown();
}

#[test]
fn corrupted_body_in_the_middle_stops_recovery() {
    // Body byte of record 50 (CRC mismatch), after a clean shutdown.
    corrupt_and_recover(|r| r.wrote_offset as u64 + 95, false);
}

#[test]
fn corrupted_header_in_the_middle_stops_recovery() {
    // Magic code of record 50, after a crash.
    corrupt_and_recover(|r| r.wrote_offset as u64 + 5, true);
}

#[test]
fn garbage_files_do_not_panic() {
    for round in 0..6u64 {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = open(small_config(dir.path()));
            for i in 0..50 {
                store.put_message_blocking(&msg("G", 0, format!("{i}"), &[]));
            }
            wait_all_dispatched(&store);
            store.halt_without_cleanup();
        }
        // Random bytes over part of the commit log and/or the consume queue.
        let mut seed = 0x1234_5678_9abc_def0u64 ^ (round * 0x9E37_79B9);
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let cl = dir.path().join("commitlog/00000000000000000000");
        let cq = dir.path().join("consumequeue/G/0/00000000000000000000");
        let mut targets = Vec::new();
        if round % 3 != 2 {
            targets.push((cl, 500 + rnd() % 3000, 3000));
        }
        if round % 3 != 0 {
            targets.push((cq, rnd() % 900, 300));
        }
        for (p, from, len) in targets {
            let f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
            let junk: Vec<u8> = (0..len).map(|_| rnd() as u8).collect();
            f.write_all_at(&junk, from).unwrap();
        }
        let store = open(small_config(dir.path()));
        if round % 3 != 2 {
            assert!(store.recovery_report().corruption.is_some());
        }
        let n = store.get_max_offset_in_queue("G", 0);
        let all = read_queue(&store, "G", 0, 0);
        assert_eq!(all.len() as i64, n, "round {round}");
        for (i, m) in all.iter().enumerate() {
            assert_eq!(m.body, format!("{i}").as_bytes());
        }
        if round % 3 == 2 {
            // Only the consume queue was damaged: it is rebuilt from the commit log.
            assert_eq!(n, 50, "round {round}");
        }
        store.shutdown();
    }
}

// ---- crash test: a child process writes with SYNC_FLUSH and is killed with SIGKILL ----

const CHILD_ENV: &str = "STORE_CRASH_CHILD_DIR";
const WRITERS: i32 = 3;

fn crash_config(root: &Path) -> MessageStoreConfig {
    let mut c = sync_config(root);
    c.mapped_file_size_commit_log = 256 * 1024;
    c.mapped_file_size_consume_queue = 20 * 500;
    c
}

fn body_for(round: u64, writer: i32, n: u64) -> String {
    let len = ((round * 131 + n * 17 + writer as u64 * 7) % 700) as usize;
    let fill: String = (0..len)
        .map(|i| (b'a' + ((i as u64 + n + round) % 26) as u8) as char)
        .collect();
    format!("r{round}-w{writer}-n{n}-{fill}")
}

/// Child entry point: only runs when re-invoked by `crash_kill_and_recover`.
#[test]
#[ignore = "child process of crash_kill_and_recover"]
fn crash_child_writer() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let round: u64 = std::env::var("STORE_CRASH_ROUND").unwrap().parse().unwrap();
    let mut config = crash_config(Path::new(&dir));
    config.transient_store_pool_enable = Some(std::env::var("STORE_CRASH_BUFFER").is_ok());
    let store = MessageStore::open(config).unwrap();
    println!("READY");
    let mut handles = Vec::new();
    if std::env::var("STORE_CRASH_CLEAN").is_ok() {
        // Forced retention all the time: deletes every commit-log file but the newest, and
        // the consume-queue and index files that point into them.
        let store = store.clone();
        handles.push(std::thread::spawn(move || {
            loop {
                store.run_clean(true, true);
                std::thread::sleep(Duration::from_millis(15));
            }
        }));
    }
    for w in 0..WRITERS {
        let store = store.clone();
        handles.push(std::thread::spawn(move || {
            let mut n = 0u64;
            loop {
                // The last writer sends batches of 1-4 messages (one append, consecutive
                // queue offsets); the others send single messages.
                let count = if w == WRITERS - 1 { 1 + (n % 4) } else { 1 };
                let batch: Vec<_> = (n..n + count)
                    .map(|k| {
                        let body = body_for(round, w, k);
                        msg(
                            "CRASH",
                            w,
                            body.clone(),
                            &[
                                (properties::KEYS, &format!("r{round}w{w}n{k}")),
                                ("LEN", &body.len().to_string()),
                            ],
                        )
                    })
                    .collect();
                let r = store.put_messages_blocking(&batch);
                if r.status == PutMessageStatus::PutOk {
                    let a = r.append.unwrap();
                    use std::io::Write;
                    let mut out = std::io::stdout().lock();
                    for (i, id) in a.msg_id.split(',').enumerate() {
                        let (_, phys) = remoting::message::msg_id::parse_offset_msg_id(id).unwrap();
                        writeln!(
                            out,
                            "ACK {w} {} {} {round} {}",
                            a.logics_offset + i as i64,
                            phys,
                            n + i as u64
                        )
                        .unwrap();
                    }
                    out.flush().unwrap();
                }
                n += count;
            }
        }));
    }
    for h in handles {
        let _ = h.join();
    }
}

struct Ack {
    writer: i32,
    queue_offset: i64,
    phys: i64,
    round: u64,
    n: u64,
}

fn verify(store: &MessageStore, acks: &[Ack]) {
    // The whole commit log, record by record: every byte up to the end belongs to an intact
    // record (CRC) or an end-of-file filler, and every record is in its queue.
    let mut off = store.get_min_phy_offset();
    let mut records = 0;
    while off < store.get_max_phy_offset() {
        let data = store.get_commit_log_data(off).expect("readable log");
        let mut p = 0;
        while p < data.len() {
            match parse_record(&data[p..], true) {
                Ok(RawRecord::Message(v)) => {
                    assert_eq!(v.commit_log_offset, off + p as i64);
                    assert_eq!(v.topic, "CRASH");
                    let r = store.get_message("CRASH", v.queue_id, v.queue_offset, 1, None);
                    assert_eq!(
                        r.messages.len(),
                        1,
                        "record at {} (queue {} offset {}) not in its queue: {:?} min {} max {} \
                         log min {}",
                        v.commit_log_offset,
                        v.queue_id,
                        v.queue_offset,
                        r.status,
                        r.min_offset,
                        r.max_offset,
                        store.get_min_phy_offset()
                    );
                    if r.messages[0][..] != data[p..p + v.total_size] {
                        let (other, _) = decode_record_bytes(&r.messages[0]).unwrap();
                        panic!(
                            "queue {} offset {} used twice: record at {} ({:?}) and at {} ({:?}); \
                             log min {}",
                            v.queue_id,
                            v.queue_offset,
                            v.commit_log_offset,
                            &std::str::from_utf8(v.body).unwrap()[..12],
                            other.commit_log_offset,
                            &std::str::from_utf8(&other.body).unwrap()[..12],
                            store.get_min_phy_offset()
                        );
                    }
                    p += v.total_size;
                    records += 1;
                }
                Ok(RawRecord::Blank { size }) => {
                    assert_eq!(p + size, data.len(), "filler must end the file");
                    p += size;
                }
                Err(e) => panic!("garbage in the commit log at {}: {e}", off + p as i64),
            }
        }
        off += data.len() as i64;
    }
    let queued: i64 = (0..WRITERS)
        .map(|w| {
            store.get_max_offset_in_queue("CRASH", w) - store.get_min_offset_in_queue("CRASH", w)
        })
        .sum();
    assert_eq!(records, queued);

    for w in 0..WRITERS {
        let min = store.get_min_offset_in_queue("CRASH", w);
        let all = read_queue(store, "CRASH", w, min);
        assert_eq!(
            all.len() as i64,
            store.get_max_offset_in_queue("CRASH", w) - min
        );
        for (i, m) in all.iter().enumerate() {
            // Contiguous, intact and self-consistent (acknowledged or not).
            assert_eq!(m.queue_offset, min + i as i64);
            let raw = store
                .select_one_message_by_offset(m.commit_log_offset)
                .unwrap();
            assert!(
                matches!(parse_record(&raw, true), Ok(RawRecord::Message(_))),
                "crc"
            );
            let body = std::str::from_utf8(&m.body).unwrap();
            let mut parts = body.splitn(4, '-');
            let round: u64 = parts.next().unwrap()[1..].parse().unwrap();
            let writer: i32 = parts.next().unwrap()[1..].parse().unwrap();
            let n: u64 = parts.next().unwrap()[1..].parse().unwrap();
            assert_eq!(writer, w);
            assert_eq!(body, body_for(round, writer, n));
            assert_eq!(
                m.properties.get("LEN"),
                Some(body.len().to_string().as_str())
            );
            assert_eq!(
                m.properties.get(properties::KEYS),
                Some(format!("r{round}w{w}n{n}").as_str())
            );
        }
    }
    for a in acks {
        if a.phys < store.get_min_phy_offset() {
            continue; // removed by retention
        }
        let r = store.get_message("CRASH", a.writer, a.queue_offset, 1, None);
        assert_eq!(
            r.status,
            GetMessageStatus::Found,
            "acked r{} w{} n{} lost",
            a.round,
            a.writer,
            a.n
        );
        let (m, _) = decode_record_bytes(&r.messages[0]).unwrap();
        assert_eq!(m.commit_log_offset, a.phys);
        assert_eq!(m.body, body_for(a.round, a.writer, a.n).as_bytes());
    }
    // The index survives crashes too: a sample of acknowledged keys is found by key.
    for a in acks.iter().step_by(37) {
        if a.phys < store.get_min_phy_offset() {
            continue;
        }
        let key = format!("r{}w{}n{}", a.round, a.writer, a.n);
        let q = store.query_message("CRASH", &key, 32, 0, i64::MAX);
        assert_eq!(q.offsets, vec![a.phys], "index lookup of {key}");
    }
}

/// Rounds for a crash test: `STORE_CRASH_ROUNDS` raises them for a longer soak.
fn rounds_or(default: u64) -> u64 {
    std::env::var("STORE_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

#[test]
fn crash_kill_and_recover() {
    crash_rounds(rounds_or(24), false, false);
}

#[test]
fn crash_kill_with_write_buffer() {
    // SYNC_FLUSH with transientStorePoolEnable: acknowledged means committed and synced.
    crash_rounds(rounds_or(12), false, true);
}

#[test]
fn crash_kill_during_retention() {
    crash_rounds(rounds_or(10), true, false);
}

fn crash_rounds(rounds: u64, with_retention: bool, buffered: bool) {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let started = Instant::now();
    let mut acks: Vec<Ack> = Vec::new();
    let mut removed_by_retention = 0;
    for round in 0..rounds {
        let mut child = Command::new(&exe)
            .args([
                "--ignored",
                "--exact",
                "crash_child_writer",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .env("STORE_CRASH_ROUND", round.to_string())
            .envs(with_retention.then_some(("STORE_CRASH_CLEAN", "1")))
            .envs(buffered.then_some(("STORE_CRASH_BUFFER", "1")))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                lines.push(line);
            }
            lines
        });
        // Kill at a random moment: sometimes during start-up/recovery, mostly while writing.
        let ms = rnd() % 250;
        std::thread::sleep(Duration::from_millis(ms));
        child.kill().unwrap();
        child.wait().unwrap();
        let lines = reader.join().unwrap();
        let mut got = 0;
        for l in &lines {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.first() == Some(&"ACK") && f.len() == 6 {
                acks.push(Ack {
                    writer: f[1].parse().unwrap(),
                    queue_offset: f[2].parse().unwrap(),
                    phys: f[3].parse().unwrap(),
                    round: f[4].parse().unwrap(),
                    n: f[5].parse().unwrap(),
                });
                got += 1;
            }
        }
        eprintln!("round {round}: killed after {ms} ms, {got} acks");
        // Verify every other round; otherwise the next child recovers the crash itself.
        if round % 2 == 1 || round == rounds - 1 {
            let store = MessageStore::open(crash_config(dir.path())).unwrap();
            assert!(store.recovery_report().abnormal || got == 0);
            verify(&store, &acks);
            removed_by_retention = removed_by_retention.max(store.get_min_phy_offset());
            store.shutdown();
        }
    }
    if with_retention {
        assert!(removed_by_retention > 0, "retention never deleted anything");
    }
    assert!(
        acks.len() > 100,
        "too few acknowledged messages ({}) to mean anything",
        acks.len()
    );
    eprintln!("{rounds} rounds in {:?}", started.elapsed());
}
