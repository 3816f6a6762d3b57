//! Retention and property-based put → get round trips.

mod common;

use std::time::{Duration, SystemTime};

use common::*;
use proptest::prelude::*;
use remoting::message::{MessageExt, Properties};
use store::{GetMessageStatus, PutMessageStatus};

#[test]
fn retention_deletes_only_expired_files_and_reads_stay_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(small_config(dir.path()));
    let mut offsets = Vec::new();
    for i in 0..800 {
        let r = store.put_message_blocking(&msg(
            "RET",
            0,
            format!("{i}-{}", "p".repeat(300)),
            &[(remoting::message::properties::KEYS, &format!("key{i}"))],
        ));
        offsets.push(r.append.unwrap().wrote_offset);
    }
    wait_all_dispatched(&store);
    let files = store_files(&store);
    assert!(files >= 5, "need several commit log files, got {files}");
    // Nothing is old: a manual run deletes nothing.
    assert_eq!(store.run_clean(true, false).commit_log_files, 0);
    // Age files 0, 1 and 3 (not 2): the walk stops at the first file that is not expired.
    let old = SystemTime::now() - Duration::from_secs(100 * 3600);
    let cl = dir.path().join("commitlog");
    for n in [0u64, 1, 3] {
        let p = cl.join(format!("{:020}", n * 64 * 1024));
        std::fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let stats = store.run_clean(true, false);
    assert_eq!(stats.commit_log_files, 2);
    assert!(stats.consume_queue_files > 0);
    assert_eq!(store.get_min_phy_offset(), 2 * 64 * 1024);
    assert!(!cl.join(format!("{:020}", 0)).exists());
    assert!(cl.join(format!("{:020}", 2 * 64 * 1024)).exists());
    // Reads: below the min queue offset → OFFSET_TOO_SMALL pointing at the min.
    let min = store.get_min_offset_in_queue("RET", 0);
    assert!(min > 0);
    let r = store.get_message("RET", 0, 0, 32, None);
    assert!(matches!(
        r.status,
        GetMessageStatus::OffsetTooSmall | GetMessageStatus::MessageWasRemoving
    ));
    if r.status == GetMessageStatus::OffsetTooSmall {
        assert_eq!(r.next_begin_offset, min);
    }
    let rest = read_queue(&store, "RET", 0, min);
    assert_eq!(rest.len() as i64, 800 - min);
    for m in &rest {
        assert!(m.commit_log_offset >= store.get_min_phy_offset());
        let i = m.queue_offset;
        assert_eq!(m.body, format!("{i}-{}", "p".repeat(300)).as_bytes());
    }
    // The first surviving message's queue offset is the min offset.
    assert_eq!(rest[0].commit_log_offset, offsets[min as usize]);
    // Key queries only return surviving messages.
    assert_eq!(
        store
            .query_message("RET", "key0", 32, 0, i64::MAX)
            .messages
            .len(),
        0
    );
    assert_eq!(
        store
            .query_message("RET", "key799", 32, 0, i64::MAX)
            .messages
            .len(),
        1
    );
    // Forced clean keeps the file being written.
    store.run_clean(true, true);
    assert_eq!(store_files(&store), 1);
    let r = store.put_message_blocking(&msg("RET", 0, "tail", &[]));
    assert_eq!(r.status, PutMessageStatus::PutOk);
    assert_eq!(r.append.unwrap().logics_offset, 800);
    wait_all_dispatched(&store);
    let min = store.get_min_offset_in_queue("RET", 0);
    let rest = read_queue(&store, "RET", 0, min);
    assert_eq!(rest.last().unwrap().body, "tail".as_bytes());
    store.shutdown();
    // And it all survives a restart.
    let store = open(small_config(dir.path()));
    assert_eq!(store.get_min_offset_in_queue("RET", 0), min);
    assert_eq!(read_queue(&store, "RET", 0, min).len(), rest.len());
    store.shutdown();
}

fn store_files(store: &store::MessageStore) -> usize {
    let min = store.get_min_phy_offset() as u64;
    let max = store.get_max_phy_offset() as u64;
    ((max.saturating_sub(1)) / (64 * 1024) - min / (64 * 1024) + 1) as usize
}

fn arb_msg() -> impl Strategy<Value = MessageExt> {
    (
        prop_oneof![Just("PA"), Just("PB"), Just("%RETRY%g")],
        0..3i32,
        proptest::collection::vec(any::<u8>(), 0..2000),
        proptest::collection::vec(("[a-zA-Z]{1,8}", "[^\u{1}\u{2}]{1,20}"), 0..4),
        any::<i32>(),
        any::<bool>(),
    )
        .prop_map(|(topic, q, body, props, flag, v6)| {
            let mut m = msg(topic, q, body, &[]);
            m.properties = props.into_iter().collect::<Properties>();
            m.flag = flag;
            m.reconsume_times = flag & 0xF;
            if v6 {
                m.born_host = "[2001:db8::1]:4000".parse().unwrap();
            }
            m
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn random_batches_put_then_get_identical(batches in proptest::collection::vec(proptest::collection::vec(arb_msg(), 1..6), 1..30)) {
        let dir = tempfile::tempdir().unwrap();
        let store = open(small_config(dir.path()));
        let mut expected: std::collections::HashMap<(String, i32), Vec<MessageExt>> = Default::default();
        for batch in &batches {
            // A batch goes to one queue (like SEND_BATCH_MESSAGE).
            let batch: Vec<MessageExt> = batch.iter().map(|m| { let mut m = m.clone(); m.topic = batch[0].topic.clone(); m.queue_id = batch[0].queue_id; m }).collect();
            let total: usize = batch.iter().map(|m| m.body.len()).sum();
            let r = store.put_messages_blocking(&batch);
            if total > 16 * 1024 {
                prop_assert_eq!(r.status, PutMessageStatus::MessageIllegal);
                continue;
            }
            prop_assert_eq!(r.status, PutMessageStatus::PutOk);
            expected.entry((batch[0].topic.clone(), batch[0].queue_id)).or_default().extend(batch);
        }
        wait_all_dispatched(&store);
        for ((topic, q), msgs) in &expected {
            let got = read_queue(&store, topic, *q, 0);
            prop_assert_eq!(got.len(), msgs.len());
            for (i, (g, e)) in got.iter().zip(msgs).enumerate() {
                prop_assert_eq!(&g.body, &e.body);
                prop_assert_eq!(&g.properties, &e.properties);
                prop_assert_eq!(&g.topic, &e.topic);
                prop_assert_eq!(g.queue_id, e.queue_id);
                prop_assert_eq!(g.flag, e.flag);
                prop_assert_eq!(g.reconsume_times, e.reconsume_times);
                prop_assert_eq!(g.born_host, e.born_host);
                prop_assert_eq!(g.store_host, e.store_host);
                prop_assert_eq!(g.born_timestamp, e.born_timestamp);
                prop_assert_eq!(g.queue_offset, i as i64);
            }
        }
        store.shutdown();
    }
}
