//! The write buffer (`transientStorePoolEnable`): buffered appends across ring wraps and file
//! roll-overs read back intact, shutdown commits everything, and a crash loses at most an
//! uncommitted tail, never the order or integrity of what survives; under SYNC_FLUSH every
//! acknowledged message is readable and survives a crash.

mod common;

use std::path::Path;

use common::*;
use remoting::message::properties;
use store::{FlushDiskType, MessageStoreConfig, PutMessageStatus};

/// Small files and the smallest ring the store allows (twice the largest record), so the
/// ring wraps many times and records straddle its end.
fn buffered_config(root: &Path) -> MessageStoreConfig {
    let mut c = small_config(root);
    c.transient_store_pool_enable = Some(true);
    c.transient_store_buffer_size = Some(1);
    c
}

fn body(writer: usize, i: usize) -> String {
    format!(
        "w{writer}-m{i}-{}",
        "b".repeat((i * 37 + writer * 11) % 900)
    )
}

#[test]
fn buffered_appends_wrap_roll_over_and_read_back_intact() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(buffered_config(dir.path()));
    const WRITERS: usize = 4;
    const PER: usize = 700;
    std::thread::scope(|s| {
        for w in 0..WRITERS {
            let store = &store;
            s.spawn(move || {
                for i in 0..PER {
                    let r = store.put_message_blocking(&msg(
                        "WB",
                        w as i32,
                        body(w, i),
                        &[(properties::KEYS, &format!("key-{w}-{i}"))],
                    ));
                    assert_eq!(r.status, PutMessageStatus::PutOk);
                    assert_eq!(r.append.unwrap().logics_offset, i as i64);
                    // Readers never see past what was appended.
                    assert!(store.get_max_phy_offset() <= store.get_appended_phy_offset());
                }
            });
        }
    });
    let appended = store.get_appended_phy_offset();
    assert!(
        appended > 8 * 64 * 1024,
        "expected many commit-log files and ring wraps, got {appended} bytes"
    );
    wait_all_dispatched(&store);
    assert_eq!(store.get_max_phy_offset(), appended);
    for w in 0..WRITERS {
        let msgs = read_queue(&store, "WB", w as i32, 0);
        assert_eq!(msgs.len(), PER);
        for (i, m) in msgs.iter().enumerate() {
            assert_eq!(m.body, body(w, i).as_bytes());
            assert_eq!(m.queue_offset, i as i64);
            let again = store.look_message_by_offset(m.commit_log_offset).unwrap();
            assert_eq!(again.body, m.body);
        }
    }
    let found = store.query_message("WB", "key-3-650", 32, 0, i64::MAX);
    assert_eq!(found.messages.len(), 1);
    store.shutdown();
}

#[test]
fn shutdown_commits_the_buffer_and_restart_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(buffered_config(dir.path()));
        for i in 0..500 {
            let r = store.put_message_blocking(&msg("S", 0, body(0, i), &[]));
            assert_eq!(r.status, PutMessageStatus::PutOk);
        }
        // No wait for the commit thread: shutdown must commit what is still buffered.
        store.shutdown();
    }
    // Reopened without the buffer: everything is in the files themselves.
    let store = open(small_config(dir.path()));
    assert!(!store.recovery_report().abnormal);
    assert_eq!(store.get_max_offset_in_queue("S", 0), 500);
    wait_all_dispatched(&store);
    let msgs = read_queue(&store, "S", 0, 0);
    assert_eq!(msgs.len(), 500);
    for (i, m) in msgs.iter().enumerate() {
        assert_eq!(m.body, body(0, i).as_bytes());
    }
    store.shutdown();
}

#[test]
fn a_crash_loses_at_most_an_uncommitted_tail() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(buffered_config(dir.path()));
        for i in 0..800 {
            store.put_message_blocking(&msg("C", 1, body(1, i), &[]));
        }
        store.halt_without_cleanup();
    }
    let store = open(buffered_config(dir.path()));
    assert!(store.recovery_report().abnormal);
    let kept = store.get_max_offset_in_queue("C", 1);
    wait_all_dispatched(&store);
    let msgs = read_queue(&store, "C", 1, 0);
    assert_eq!(msgs.len() as i64, kept);
    for (i, m) in msgs.iter().enumerate() {
        assert_eq!(
            m.body,
            body(1, i).as_bytes(),
            "message {i} of the surviving prefix"
        );
    }
    // Writing continues right after the surviving prefix.
    let r = store.put_message_blocking(&msg("C", 1, "after", &[]));
    assert_eq!(r.append.unwrap().logics_offset, kept);
    store.shutdown();
}

#[test]
fn under_sync_flush_every_acknowledged_message_is_readable_and_survives_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = buffered_config(dir.path());
    c.flush_disk_type = FlushDiskType::SyncFlush;
    {
        let store = open(c.clone());
        std::thread::scope(|s| {
            for w in 0..4 {
                let store = &store;
                s.spawn(move || {
                    for i in 0..150 {
                        let r = store.put_message_blocking(&msg("Y", w, body(w as usize, i), &[]));
                        assert_eq!(r.status, PutMessageStatus::PutOk);
                        let a = r.append.unwrap();
                        // Acknowledged means committed: the record is readable at once.
                        let m = store.look_message_by_offset(a.wrote_offset).unwrap();
                        assert_eq!(m.body, body(w as usize, i).as_bytes());
                    }
                });
            }
        });
        store.halt_without_cleanup();
    }
    let store = open(c);
    for w in 0..4 {
        assert_eq!(store.get_max_offset_in_queue("Y", w), 150);
    }
    wait_all_dispatched(&store);
    for w in 0..4 {
        let msgs = read_queue(&store, "Y", w, 0);
        assert_eq!(msgs.len(), 150);
        for (i, m) in msgs.iter().enumerate() {
            assert_eq!(m.body, body(w as usize, i).as_bytes());
        }
    }
    store.shutdown();
}
