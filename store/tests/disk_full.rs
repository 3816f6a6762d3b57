//! A full disk under the consume queues and the index (the commit log on another disk):
//! the dispatcher neither crashes (SIGBUS on a mapped page without a block) nor skips a
//! record; it retries, and once space is freed every message is consumable and findable.
//! A full disk under a SYNC_FLUSH commit log: puts fail with an error status (the store
//! does not crash) and succeed again once space is freed; every acknowledged message stays.
//!
//! The store root is a 1 MiB tmpfs mounted in a private mount namespace (`unshare`), so the
//! store runs in a child process: this test re-runs its own binary under `unshare`.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use store::PutMessageStatus;

const ROOT_ENV: &str = "STORE_DISK_FULL_ROOT";
const LOG_ENV: &str = "STORE_DISK_FULL_LOG";
const MODE_ENV: &str = "STORE_DISK_FULL_MODE";
const MESSAGES: i64 = 1000;

/// The consume queues run out of space first (a new consume-queue file needs a block).
#[test]
fn full_disk_under_the_consume_queues() {
    run_child("cq");
}

/// The index runs out of space first (a new index file needs blocks). Every message has
/// two keys and a file holds an odd number of entries, so the failure comes exactly when a
/// message's keys no longer fit in the current file.
#[test]
fn full_disk_under_the_index() {
    run_child("index");
}

/// The commit log (SYNC_FLUSH, mapped, zero-filled ahead) runs out of space.
#[test]
fn full_disk_under_the_commit_log() {
    run_child("commitlog");
}

fn run_child(mode: &str) {
    let root = tempfile::tempdir().unwrap();
    let log = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c"])
        .arg(r#"mount -t tmpfs -o size=1m tmpfs "$1" && shift && exec "$@""#)
        .arg("sh")
        .arg(root.path())
        .arg(&exe)
        .args([
            "--ignored",
            "--exact",
            "disk_full_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROOT_ENV, root.path())
        .env(LOG_ENV, log.path())
        .env(MODE_ENV, mode)
        .output()
        .expect("run unshare (util-linux)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("DISK_FULL_CHILD_OK"),
        "child failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}

/// Fills the file system of `dir` with one file; returns its path.
fn fill_up(dir: &std::path::Path) -> std::path::PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    for chunk in [64 << 10, 4 << 10] {
        let buf = vec![1u8; chunk];
        while f.write_all(&buf).is_ok() {}
    }
    path
}

/// The two keys (`KEYS`, space-separated) of message `i`.
fn keys(i: i64) -> String {
    format!("key-{i} alt-{i}")
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
#[ignore = "child process of the full_disk_* tests"]
fn disk_full_child() {
    let (Ok(root), Ok(log)) = (std::env::var(ROOT_ENV), std::env::var(LOG_ENV)) else {
        return;
    };
    let root = std::path::PathBuf::from(root);
    // SAFETY: statvfs fills the struct for a valid NUL-terminated path.
    let total = unsafe {
        let c = std::ffi::CString::new(root.to_str().unwrap()).unwrap();
        let mut st: libc::statvfs = std::mem::zeroed();
        assert_eq!(libc::statvfs(c.as_ptr(), &mut st), 0);
        st.f_blocks * st.f_frsize
    };
    assert!(
        total <= 1 << 20,
        "{} is not the small tmpfs",
        root.display()
    );

    if std::env::var(MODE_ENV).as_deref() == Ok("commitlog") {
        commit_log_child(std::path::Path::new(&log), &root);
        println!("DISK_FULL_CHILD_OK");
        return;
    }
    let mut c = small_config(&root);
    c.store_path_commit_log = Some(log.into());
    // The other structure gets a file big enough for every message, populated (allocated)
    // as a whole before the disk fills up.
    match std::env::var(MODE_ENV).as_deref() {
        Ok("cq") => c.max_index_num = 4096,
        Ok("index") => {
            c.mapped_file_size_consume_queue = 20 * 1024;
            // 255 entries a file: a message's two keys do not always fit.
            assert_eq!(c.max_index_num, 256);
        }
        m => panic!("mode {m:?}"),
    }
    let store = open(c);
    for q in 0..2 {
        let m = msg("T", q, format!("body-{q}"), &[("KEYS", &keys(q.into()))]);
        assert_eq!(
            store.put_message_blocking(&m).status,
            PutMessageStatus::PutOk
        );
    }
    wait_all_dispatched(&store);
    let filler = fill_up(&root);

    for i in 2..MESSAGES {
        let m = msg(
            "T",
            (i % 2) as i32,
            format!("body-{i}"),
            &[("KEYS", &keys(i))],
        );
        assert_eq!(
            store.put_message_blocking(&m).status,
            PutMessageStatus::PutOk
        );
    }
    wait_until("the dispatcher to report the failure", || {
        store.dispatch_failing()
    });
    assert!(store.dispatch_behind_bytes() > 0);
    let dispatched: i64 = (0..2).map(|q| store.get_max_offset_in_queue("T", q)).sum();
    assert!(
        dispatched < MESSAGES,
        "{dispatched} units fit on a full disk"
    );
    // What did get in is a clean prefix.
    for q in 0..2 {
        let got = read_queue(&store, "T", q, 0);
        for (n, m) in got.iter().enumerate() {
            assert_eq!(m.queue_offset, n as i64);
            assert_eq!(
                m.body,
                format!("body-{}", n as i64 * 2 + q as i64).as_bytes()
            );
        }
    }

    std::fs::remove_file(filler).unwrap();
    wait_all_dispatched(&store);
    assert!(!store.dispatch_failing());
    for q in 0..2 {
        let got = read_queue(&store, "T", q, 0);
        assert_eq!(got.len() as i64, MESSAGES / 2, "queue {q}");
        for (n, m) in got.iter().enumerate() {
            assert_eq!(m.queue_offset, n as i64);
            assert_eq!(
                m.body,
                format!("body-{}", n as i64 * 2 + q as i64).as_bytes()
            );
        }
    }
    for i in 0..MESSAGES {
        for key in keys(i).split(' ') {
            let r = store.query_message("T", key, 4, 0, i64::MAX);
            assert_eq!(r.messages.len(), 1, "{key}");
        }
    }
    store.shutdown();
    println!("DISK_FULL_CHILD_OK");
}

/// The commit log on the full disk (`full`), everything else in `root`.
fn commit_log_child(root: &std::path::Path, full: &std::path::Path) {
    let mut c = sync_config(root);
    c.store_path_commit_log = Some(full.into());
    let store = open(c);
    let put = |i: usize| store.put_message_blocking(&msg("T", 0, format!("body-{i}"), &[]));
    let mut acked = Vec::new();
    assert_eq!(put(0).status, PutMessageStatus::PutOk);
    acked.push(0);
    let filler = fill_up(full);
    // The commit-log files are 64 KiB: the disk stops the writer within a few of them.
    let mut failed = None;
    for i in 1..20_000 {
        match put(i).status {
            PutMessageStatus::PutOk => acked.push(i),
            s => {
                failed = Some(s);
                break;
            }
        }
    }
    let status = failed.expect("a full disk never failed a put");
    eprintln!("full disk after {} puts: {status:?}", acked.len());
    assert!(
        matches!(
            status,
            PutMessageStatus::ServiceNotAvailable
                | PutMessageStatus::CreateMappedFileFailed
                | PutMessageStatus::UnknownError
        ),
        "full disk reported as {status:?}"
    );
    std::fs::remove_file(filler).unwrap();
    let mut i = 20_000;
    wait_until("puts to succeed again", || {
        i += 1;
        let ok = put(i).status == PutMessageStatus::PutOk;
        if ok {
            acked.push(i);
        }
        ok
    });
    wait_all_dispatched(&store);
    let got = read_queue(&store, "T", 0, 0);
    let bodies: Vec<String> = got
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect();
    let want: Vec<String> = acked.iter().map(|i| format!("body-{i}")).collect();
    assert_eq!(bodies, want, "exactly the acknowledged messages, in order");
    store.shutdown();
}
