//! `ConsumerOffsetManager`: committed offsets per (topic, group, queue), persisted in
//! `config/consumerOffset.json` as `{"offsetTable":{"topic@group":{"0":12}}}`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::RwLock;
use remoting::protocol::body::ConsumerOffsetSerializeWrapper;
use tracing::warn;

use crate::persist;

const SEP: char = '@';

/// Committed consumer offsets.
pub struct ConsumerOffsetManager {
    path: PathBuf,
    table: RwLock<BTreeMap<String, BTreeMap<i32, i64>>>,
    dirty: AtomicBool,
}

impl ConsumerOffsetManager {
    /// Loads `consumerOffset.json` from `config_dir`.
    pub fn load(config_dir: PathBuf) -> Self {
        let path = config_dir.join("consumerOffset.json");
        let w: ConsumerOffsetSerializeWrapper = persist::load(&path).unwrap_or_default();
        ConsumerOffsetManager {
            path,
            table: RwLock::new(w.offset_table),
            dirty: AtomicBool::new(false),
        }
    }

    fn key(topic: &str, group: &str) -> String {
        format!("{topic}{SEP}{group}")
    }

    /// Stores an offset.
    pub fn commit(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        self.store(group, topic, queue_id, offset, false);
    }

    /// Stores an offset unless a higher one is already committed. For the offset a pull
    /// carries: requests on one connection are served concurrently, so a pull sent just
    /// before a consumer's final UPDATE_CONSUMER_OFFSET may be served after it and must
    /// not take the group back. Explicit updates (resets included) use [`Self::commit`].
    pub fn advance(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        self.store(group, topic, queue_id, offset, true);
    }

    fn store(&self, group: &str, topic: &str, queue_id: i32, offset: i64, forward_only: bool) {
        let mut table = self.table.write();
        let e = table
            .entry(Self::key(topic, group))
            .or_default()
            .entry(queue_id)
            .or_insert(offset);
        if !forward_only || offset > *e {
            *e = offset;
        }
        self.dirty.store(true, Ordering::Release);
    }

    /// The committed offset, or -1.
    pub fn query(&self, group: &str, topic: &str, queue_id: i32) -> i64 {
        self.table
            .read()
            .get(&Self::key(topic, group))
            .and_then(|q| q.get(&queue_id).copied())
            .unwrap_or(-1)
    }

    /// Every queue's offset of (topic, group).
    pub fn query_all(&self, group: &str, topic: &str) -> BTreeMap<i32, i64> {
        self.table
            .read()
            .get(&Self::key(topic, group))
            .cloned()
            .unwrap_or_default()
    }

    /// Topics a group has offsets for.
    pub fn topics_of_group(&self, group: &str) -> Vec<String> {
        self.table
            .read()
            .keys()
            .filter_map(|k| {
                k.rsplit_once(SEP)
                    .filter(|(_, g)| *g == group)
                    .map(|(t, _)| t.to_owned())
            })
            .collect()
    }

    /// Groups with offsets for a topic.
    pub fn groups_of_topic(&self, topic: &str) -> Vec<String> {
        self.table
            .read()
            .keys()
            .filter_map(|k| {
                k.rsplit_once(SEP)
                    .filter(|(t, _)| *t == topic)
                    .map(|(_, g)| g.to_owned())
            })
            .collect()
    }

    /// Drops every offset of a group.
    pub fn remove_group(&self, group: &str) {
        self.table
            .write()
            .retain(|k, _| k.rsplit_once(SEP).is_none_or(|(_, g)| g != group));
        self.dirty.store(true, Ordering::Release);
    }

    /// Drops every offset of a topic.
    pub fn remove_topic(&self, topic: &str) {
        self.table
            .write()
            .retain(|k, _| k.rsplit_once(SEP).is_none_or(|(t, _)| t != topic));
        self.dirty.store(true, Ordering::Release);
    }

    /// The whole table.
    pub fn snapshot(&self) -> ConsumerOffsetSerializeWrapper {
        ConsumerOffsetSerializeWrapper {
            offset_table: self.table.read().clone(),
        }
    }

    /// Persists if anything changed since the last flush.
    pub fn flush(&self) {
        if self.dirty.swap(false, Ordering::AcqRel)
            && let Err(e) = persist::store(&self.path, &self.snapshot())
        {
            self.dirty.store(true, Ordering::Release);
            warn!(path = %self.path.display(), error = %e, "cannot persist consumerOffset.json");
        }
    }
}
