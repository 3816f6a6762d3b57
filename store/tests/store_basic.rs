//! Put/get, statuses, roll-over, restart, filters, key queries, offsets by time.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use common::*;
use remoting::message::{decode_record_bytes, properties, sysflag, tags_hash_code};
use store::{GetMessageStatus, MessageStore, PutMessageStatus, TagsFilter};

#[test]
fn put_get_statuses_and_roll_over() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(small_config(dir.path()));
    assert_eq!(
        store.get_message("T", 0, 0, 32, None).status,
        GetMessageStatus::NoMatchedLogicQueue
    );
    let mut last = None;
    for i in 0..600 {
        let body = format!("body-{i}-{}", "x".repeat(i % 300));
        let tag = if i % 2 == 0 { "even" } else { "odd" };
        let r = store.put_message_blocking(&msg(
            "T",
            i as i32 % 2,
            body,
            &[
                (properties::TAGS, tag),
                (properties::KEYS, &format!("k{i}")),
            ],
        ));
        assert_eq!(r.status, PutMessageStatus::PutOk);
        let a = r.append.unwrap();
        assert_eq!(a.logics_offset, (i / 2) as i64);
        last = Some(a);
    }
    assert!(
        store.get_max_phy_offset() > 2 * 64 * 1024,
        "expected several commit log files"
    );
    wait_all_dispatched(&store);
    for q in 0..2 {
        let msgs = read_queue(&store, "T", q, 0);
        assert_eq!(msgs.len(), 300);
        for (n, m) in msgs.iter().enumerate() {
            let i = n * 2 + q as usize;
            assert_eq!(
                m.body,
                format!("body-{i}-{}", "x".repeat(i % 300)).as_bytes()
            );
            assert_eq!(m.queue_offset, n as i64);
            assert_eq!(m.queue_id, q);
            assert_eq!(
                store
                    .look_message_by_offset(m.commit_log_offset)
                    .unwrap()
                    .body,
                m.body
            );
        }
    }
    let last = last.unwrap();
    let m = store.look_message_by_offset(last.wrote_offset).unwrap();
    assert_eq!(m.offset_msg_id(), last.msg_id);
    // Statuses.
    assert_eq!(
        store.get_message("T", 0, 300, 32, None).status,
        GetMessageStatus::OffsetOverflowOne
    );
    let r = store.get_message("T", 0, 400, 32, None);
    assert_eq!(
        (r.status, r.next_begin_offset),
        (GetMessageStatus::OffsetOverflowBadly, 0)
    );
    assert_eq!(
        store.get_message("T", 7, 0, 32, None).status,
        GetMessageStatus::NoMatchedLogicQueue
    );
    let r = store.get_message("T", 0, 10, 5, None);
    assert_eq!(
        (
            r.status,
            r.messages.len(),
            r.next_begin_offset,
            r.max_offset
        ),
        (GetMessageStatus::Found, 5, 15, 300)
    );
    // Tag filter: queue 0 holds only "even".
    let odd = TagsFilter {
        codes: vec![tags_hash_code(Some("odd")) as i32],
    };
    let r = store.get_message("T", 0, 0, 32, Some(&odd));
    assert_eq!(r.status, GetMessageStatus::NoMatchedMessage);
    assert!(r.next_begin_offset > 0);
    let even = TagsFilter {
        codes: vec![tags_hash_code(Some("even")) as i32],
    };
    assert_eq!(
        store.get_message("T", 0, 0, 32, Some(&even)).messages.len(),
        32
    );
    let even_code = tags_hash_code(Some("even"));
    let closure = move |code: i64| code == even_code;
    assert_eq!(
        store
            .get_message("T", 0, 0, 7, Some(&closure))
            .messages
            .len(),
        7
    );
    assert_eq!(
        store.get_message("T", 1, 0, 7, Some(&closure)).status,
        GetMessageStatus::NoMatchedMessage
    );
    store.shutdown();
    assert!(!dir.path().join("abort").exists());
}

#[test]
fn restart_keeps_data_and_continues_offsets() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(small_config(dir.path()));
        for i in 0..200 {
            store.put_message_blocking(&msg("R", 3, format!("m{i}"), &[]));
        }
        store.shutdown();
    }
    let store = open(small_config(dir.path()));
    assert!(!store.recovery_report().abnormal);
    assert_eq!(store.get_max_offset_in_queue("R", 3), 200);
    let r = store.put_message_blocking(&msg("R", 3, "after", &[]));
    assert_eq!(r.append.unwrap().logics_offset, 200);
    wait_all_dispatched(&store);
    let all = read_queue(&store, "R", 3, 0);
    assert_eq!(all.len(), 201);
    assert_eq!(all[200].body, "after".as_bytes());
    assert_eq!(store.get_min_offset_in_queue("R", 3), 0);
    store.shutdown();
    // Directory layout.
    for p in [
        "commitlog",
        "consumequeue/R/3",
        "index",
        "checkpoint",
        "config",
        "lock",
    ] {
        assert!(dir.path().join(p).exists(), "{p} missing");
    }
    assert!(dir.path().join("commitlog/00000000000000000000").exists());
}

#[test]
fn illegal_messages_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(small_config(dir.path()));
    let big = vec![0u8; 16 * 1024 + 1];
    assert_eq!(
        store.put_message_blocking(&msg("T", 0, big, &[])).status,
        PutMessageStatus::MessageIllegal
    );
    assert_eq!(
        store
            .put_message_blocking(&msg(&"t".repeat(128), 0, "x", &[]))
            .status,
        PutMessageStatus::MessageIllegal
    );
    let long = "v".repeat(33_000);
    assert_eq!(
        store
            .put_message_blocking(&msg("T", 0, "x", &[("p", &long)]))
            .status,
        PutMessageStatus::PropertiesSizeExceeded
    );
    assert_eq!(store.get_max_phy_offset(), 0);
    store.shutdown();
}

#[test]
fn transactions_prepared_not_in_queue() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(small_config(dir.path()));
    let mut half = msg("TX", 0, "half", &[]);
    half.sys_flag = sysflag::TRANSACTION_PREPARED_TYPE;
    let r = store.put_message_blocking(&half).append.unwrap();
    assert_eq!(r.logics_offset, 0);
    let r2 = store
        .put_message_blocking(&msg("TX", 0, "normal", &[]))
        .append
        .unwrap();
    assert_eq!(r2.logics_offset, 0);
    wait_all_dispatched(&store);
    let all = read_queue(&store, "TX", 0, 0);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].body, "normal".as_bytes());
    assert!(store.look_message_by_offset(r.wrote_offset).is_some());
    store.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_flush_batch_and_arrival_listener() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(sync_config(dir.path()));
    let seen = Arc::new(AtomicI64::new(0));
    let s2 = seen.clone();
    store.set_arrival_listener(Some(Arc::new(move |e: &store::ArrivalEvent| {
        if e.topic == "B" {
            s2.fetch_max(e.max_offset, Ordering::SeqCst);
        }
    })));
    let batch: Vec<_> = (0..10)
        .map(|i| msg("B", 1, format!("b{i}"), &[(properties::KEYS, "batchkey")]))
        .collect();
    let r = store.put_messages(&batch).await;
    assert_eq!(r.status, PutMessageStatus::PutOk);
    let a = r.append.unwrap();
    assert_eq!(a.msg_num, 10);
    assert_eq!(a.msg_id.split(',').count(), 10);
    assert!(store.get_flushed_phy_offset() >= a.wrote_offset + a.wrote_bytes as i64);
    let mut tasks = Vec::new();
    for i in 0..32 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            let r = s.put_message(msg("B", 1, format!("c{i}"), &[])).await;
            // Acknowledged only once a flush covers the record.
            let a = r.append.as_ref().unwrap();
            assert!(s.get_flushed_phy_offset() >= a.wrote_offset + a.wrote_bytes as i64);
            r
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().status, PutMessageStatus::PutOk);
    }
    store
        .wait_dispatched(store.get_max_phy_offset() as u64)
        .await;
    assert_eq!(seen.load(Ordering::SeqCst), 42);
    assert_eq!(store.get_max_offset_in_queue("B", 1), 42);
    let q = store.query_message("B", "batchkey", 64, 0, i64::MAX);
    assert_eq!(q.messages.len(), 10);
    store.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commits_cover_concurrent_writers_and_a_lone_writer_after_them() {
    // The default (through the write buffer) and appends through the mapping.
    for buffered in [None, Some(false)] {
        let dir = tempfile::tempdir().unwrap();
        let mut c = sync_config(dir.path());
        c.transient_store_pool_enable = buffered;
        group_commits_with(c).await;
    }
}

/// On one thread a leader's flush blocks every other put; they must still append before it
/// and be grouped (a put that led every flush alone would also never let the others run).
#[tokio::test(flavor = "current_thread")]
async fn group_commits_on_a_single_thread_runtime() {
    let dir = tempfile::tempdir().unwrap();
    group_commits_with(sync_config(dir.path())).await;
}

async fn group_commits_with(c: store::MessageStoreConfig) {
    let store = open(c);
    // 48 writers, 20 rounds each: every put is acknowledged only once a flush covers it.
    let mut tasks = Vec::new();
    for w in 0..48 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..20 {
                let r = s
                    .put_message(msg("G", w % 4, format!("{w}-{i}"), &[]))
                    .await;
                assert_eq!(r.status, PutMessageStatus::PutOk);
                let a = r.append.as_ref().unwrap();
                assert!(s.get_flushed_phy_offset() >= a.wrote_offset + a.wrote_bytes as i64);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let flushes = store.commit_log_flush_count();
    assert!(
        flushes < 48 * 20 / 2,
        "{flushes} flushes for 960 puts: concurrent puts were not grouped"
    );
    // The group it expected was large; a lone writer is still flushed, put after put.
    for i in 0..10 {
        let r = store
            .put_message(msg("G", 0, format!("lone-{i}"), &[]))
            .await;
        assert_eq!(r.status, PutMessageStatus::PutOk);
        let a = r.append.as_ref().unwrap();
        assert!(store.get_flushed_phy_offset() >= a.wrote_offset + a.wrote_bytes as i64);
    }
    store.shutdown();
    let total: usize = (0..4).map(|q| read_queue(&store, "G", q, 0).len()).sum();
    assert_eq!(total, 970);
}

#[test]
fn index_query_finds_every_keyed_message() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(small_config(dir.path()));
    let mut uniq = Vec::new();
    for i in 0..500 {
        let u = format!("UNIQ{i:08}");
        let keys = format!("order-{} user-{}", i, i % 7);
        store.put_message_blocking(&msg(
            "IDX",
            i % 4,
            format!("m{i}"),
            &[(properties::KEYS, &keys), (properties::UNIQ_KEY, &u)],
        ));
        uniq.push(u);
    }
    wait_all_dispatched(&store);
    for (i, u) in uniq.iter().enumerate() {
        let r = store.query_message("IDX", u, 32, 0, i64::MAX);
        assert_eq!(r.messages.len(), 1, "uniq key {u}");
        let (m, _) = decode_record_bytes(&r.messages[0]).unwrap();
        assert_eq!(m.body, format!("m{i}").as_bytes());
        let r = store.query_message("IDX", &format!("order-{i}"), 32, 0, i64::MAX);
        assert_eq!(r.messages.len(), 1);
    }
    // user-3: i % 7 == 3 -> 71 messages, capped at maxMsgsNumBatch (64).
    assert_eq!(
        store
            .query_message("IDX", "user-3", 1000, 0, i64::MAX)
            .messages
            .len(),
        64
    );
    assert_eq!(
        store
            .query_message("OTHER", "order-1", 32, 0, i64::MAX)
            .messages
            .len(),
        0
    );
    assert_eq!(
        store
            .query_message("IDX", "order-1", 32, 0, 1000)
            .messages
            .len(),
        0
    );
    store.shutdown();
}

#[test]
fn offset_by_timestamp_across_file_boundaries() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = small_config(dir.path());
    c.mapped_file_size_consume_queue = 20 * 8; // 8 units per CQ file
    let store = open(c);
    // Store times come from the clock; space them so each group has a distinct millisecond.
    let mut times = Vec::new();
    for i in 0..40 {
        let r = store
            .put_message_blocking(&msg("TS", 0, format!("{i}-{}", "t".repeat(5000)), &[]))
            .append
            .unwrap();
        times.push(r.store_timestamp);
        let t0 = r.store_timestamp;
        while store::commit_log::now_ms() == t0 {
            std::hint::spin_loop();
        }
    }
    wait_all_dispatched(&store);
    // Both the consume queue (8 units per file) and the commit log (64 KiB files, ~12
    // messages each) span several files.
    assert!(store.find_consume_queue("TS", 0).unwrap().files().len() >= 5);
    assert!(store.get_max_phy_offset() > 3 * 64 * 1024);
    for (i, t) in times.iter().enumerate() {
        assert_eq!(
            store.get_offset_in_queue_by_time("TS", 0, *t),
            i as i64,
            "exact time of {i}"
        );
        let before = if i > 0 && times[i - 1] >= *t - 1 {
            i - 1
        } else {
            i
        };
        assert_eq!(
            store.get_offset_in_queue_by_time("TS", 0, *t - 1),
            before as i64,
            "just before {i}"
        );
        assert_eq!(store.get_message_store_timestamp("TS", 0, i as i64), *t);
    }
    assert_eq!(
        store.get_offset_in_queue_by_time("TS", 0, times[39] + 1),
        40
    );
    assert_eq!(store.get_offset_in_queue_by_time("TS", 0, 0), 0);
    assert_eq!(store.get_earliest_message_time("TS", 0), times[0]);
    assert_eq!(store.get_earliest_message_time_store(), times[0]);
    store.shutdown();
}

#[test]
fn second_open_is_refused_while_locked() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(small_config(dir.path()));
    assert!(matches!(
        MessageStore::open(small_config(dir.path())),
        Err(store::StoreError::Locked(_))
    ));
    store.shutdown();
}

#[test]
fn slave_replicates_raw_commit_log_ranges() {
    let mdir = tempfile::tempdir().unwrap();
    let sdir = tempfile::tempdir().unwrap();
    let master = open(small_config(mdir.path()));
    let mut sc = small_config(sdir.path());
    sc.broker_role = store::BrokerRole::Slave;
    let slave = open(sc);
    assert_eq!(
        slave.put_message_blocking(&msg("HA", 0, "x", &[])).status,
        PutMessageStatus::ServiceNotAvailable
    );
    for i in 0..700 {
        master.put_message_blocking(&msg(
            "HA",
            i % 2,
            format!("ha-{i}-{}", "q".repeat(i as usize % 200)),
            &[(properties::KEYS, &format!("hk{i}"))],
        ));
    }
    // Ship the log in the chunks the master hands out (one file's written part at a time),
    // split further to exercise partial records on the slave.
    let mut off = 0i64;
    while off < master.get_max_phy_offset() {
        let data = master.get_commit_log_data(off).unwrap();
        for chunk in data.chunks(5000) {
            assert!(slave.append_to_commit_log(off, chunk).unwrap());
            off += chunk.len() as i64;
        }
    }
    assert!(
        !slave.append_to_commit_log(3, b"junk").unwrap(),
        "wrong start offset must be refused"
    );
    assert_eq!(slave.get_max_phy_offset(), master.get_max_phy_offset());
    wait_all_dispatched(&master);
    wait_all_dispatched(&slave);
    for q in 0..2 {
        let a = read_queue(&master, "HA", q, 0);
        let b = read_queue(&slave, "HA", q, 0);
        assert_eq!(a.len(), 350);
        assert_eq!(a, b);
    }
    assert_eq!(
        slave
            .query_message("HA", "hk699", 32, 0, i64::MAX)
            .messages
            .len(),
        1
    );
    master.shutdown();
    slave.shutdown();
}

#[test]
fn sync_flush_timeout_still_stores_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = sync_config(dir.path());
    c.sync_flush_timeout = 0; // nothing can be flushed in zero time
    let store = open(c);
    let mut timeouts = 0;
    let mut offsets = Vec::new();
    for i in 0..20 {
        let r = store.put_message_blocking(&msg("FT", 0, format!("{i}"), &[]));
        assert!(matches!(
            r.status,
            PutMessageStatus::FlushDiskTimeout | PutMessageStatus::PutOk
        ));
        if r.status == PutMessageStatus::FlushDiskTimeout {
            timeouts += 1;
        }
        offsets.push(r.append.expect("stored even on timeout").wrote_offset);
    }
    assert!(timeouts > 0, "a zero flush timeout never timed out");
    // WAIT=false does not wait at all.
    let r = store.put_message_blocking(&msg("FT", 0, "nowait", &[(properties::WAIT, "false")]));
    assert_eq!(r.status, PutMessageStatus::PutOk);
    wait_all_dispatched(&store);
    assert_eq!(read_queue(&store, "FT", 0, 0).len(), 21);
    for o in offsets {
        assert!(store.look_message_by_offset(o).is_some());
    }
    store.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_puts_time_out_too_and_are_still_stored() {
    // Through the write buffer (the SYNC_FLUSH default) and through the mapping.
    for buffered in [None, Some(false)] {
        let dir = tempfile::tempdir().unwrap();
        let mut c = sync_config(dir.path());
        c.sync_flush_timeout = 0;
        c.transient_store_pool_enable = buffered;
        let store = open(c);
        let mut timeouts = 0;
        let mut offsets = Vec::new();
        for i in 0..20 {
            let r = store.put_message(msg("AT", 0, format!("{i}"), &[])).await;
            match r.status {
                PutMessageStatus::FlushDiskTimeout => timeouts += 1,
                PutMessageStatus::PutOk => {}
                s => panic!("{s:?}"),
            }
            offsets.push(r.append.expect("stored even on timeout").wrote_offset);
        }
        assert!(timeouts > 0, "a zero flush timeout never timed out");
        // Buffered appends are readable once committed: shutdown commits what is left.
        store.shutdown();
        for o in offsets {
            assert!(
                store.look_message_by_offset(o).is_some(),
                "{buffered:?} {o}"
            );
        }
        assert_eq!(read_queue(&store, "AT", 0, 0).len(), 20);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_flush_reaches_the_end_without_waiting_puts() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(small_config(dir.path())); // ASYNC_FLUSH, 10 ms interval
    for i in 0..100 {
        let r = store
            .put_message(msg("AF", 0, format!("{i}-{}", "a".repeat(500)), &[]))
            .await;
        assert_eq!(r.status, PutMessageStatus::PutOk);
    }
    let end = store.get_max_phy_offset() as u64;
    let mut rx = store.subscribe_flushed();
    // Without waiting for the 10 s thorough flush, everything but fewer than
    // flushCommitLogLeastPages (4) dirty pages is flushed by the 10 ms ticks.
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        rx.wait_for(|f| *f + 4 * 4096 > end),
    )
    .await
    .expect("async flush did not progress")
    .unwrap();
    store.shutdown();
    assert_eq!(*store.subscribe_flushed().borrow(), end);
}

#[test]
fn clean_unused_topics_removes_their_queues() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(small_config(dir.path()));
    for t in ["KEEP", "DROP"] {
        for q in 0..2 {
            store.put_message_blocking(&msg(t, q, "x", &[]));
        }
    }
    wait_all_dispatched(&store);
    let keep: std::collections::HashSet<String> = ["KEEP".to_string()].into();
    assert_eq!(store.clean_unused_topics(&keep), 2);
    assert!(!dir.path().join("consumequeue/DROP").exists());
    assert_eq!(store.get_max_offset_in_queue("DROP", 0), 0);
    assert_eq!(store.get_max_offset_in_queue("KEEP", 1), 1);
    // A new message to the dropped topic starts a fresh queue at 0.
    let r = store.put_message_blocking(&msg("DROP", 0, "y", &[]));
    assert_eq!(r.append.unwrap().logics_offset, 0);
    store.shutdown();
}
