#![allow(dead_code)]
//! Helpers shared by the store integration tests.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use remoting::message::{MessageExt, Properties, decode_record_bytes, properties};
use store::{FlushDiskType, MessageStore, MessageStoreConfig};

/// Small files so tests roll over often.
pub fn small_config(root: &Path) -> MessageStoreConfig {
    let mut c = MessageStoreConfig::with_root(root);
    c.mapped_file_size_commit_log = 64 * 1024;
    c.mapped_file_size_consume_queue = 20 * 64;
    c.max_hash_slot_num = 64;
    c.max_index_num = 256;
    c.flush_interval_commit_log = 10;
    c.clean_resource_interval = 3_600_000;
    c.delete_commit_log_files_interval = 0;
    c.delete_consume_queue_files_interval = 0;
    c.max_message_size = 16 * 1024;
    c.preallocate_mapped_file = true;
    c
}

pub fn sync_config(root: &Path) -> MessageStoreConfig {
    let mut c = small_config(root);
    c.flush_disk_type = FlushDiskType::SyncFlush;
    c
}

pub fn msg(
    topic: &str,
    queue_id: i32,
    body: impl Into<Bytes>,
    props: &[(&str, &str)],
) -> MessageExt {
    let mut p = Properties::new();
    for (k, v) in props {
        p.insert(*k, *v);
    }
    MessageExt {
        topic: topic.into(),
        queue_id,
        body: body.into(),
        properties: p,
        born_timestamp: 1_700_000_000_000,
        born_host: "10.0.0.1:50000".parse().unwrap(),
        store_host: "10.0.0.2:10911".parse().unwrap(),
        ..Default::default()
    }
}

/// Reads the whole queue from `from`, decoding each record.
pub fn read_queue(store: &MessageStore, topic: &str, queue_id: i32, from: i64) -> Vec<MessageExt> {
    let mut out = Vec::new();
    let mut off = from;
    loop {
        let r = store.get_message(topic, queue_id, off, 32, None);
        if r.messages.is_empty() {
            break;
        }
        for (b, q) in r.messages.iter().zip(&r.queue_offsets) {
            let (m, n) = decode_record_bytes(b).unwrap();
            assert_eq!(n, b.len());
            assert_eq!(m.queue_offset, *q);
            out.push(m);
        }
        off = r.next_begin_offset;
    }
    out
}

pub fn wait_all_dispatched(store: &MessageStore) {
    let end = store.get_appended_phy_offset() as u64;
    assert!(
        store.wait_dispatched_blocking(end, Duration::from_secs(10)),
        "dispatch did not catch up"
    );
}

pub fn open(c: MessageStoreConfig) -> Arc<MessageStore> {
    MessageStore::open(c).expect("open store")
}

pub fn tag(m: &MessageExt) -> Option<&str> {
    m.properties.get(properties::TAGS)
}
