//! Loading and recovery (Apache `DefaultMessageStore.load`, `CommitLog.recoverNormally` /
//! `recoverAbnormally`).
//!
//! 1. Every consume queue keeps its valid units (third-newest file on) and is cut there.
//! 2. The commit log is verified from the third-newest file (clean shutdown) or from the
//!    newest file whose first record is older than the checkpoint (after a crash), with the
//!    CRC check and a check that each record's PHYSICALOFFSET is its position. The log is cut
//!    after the last good record; a bad record that is not just zeros is reported.
//! 3. Consume-queue units that point past the cut are dropped.
//! 4. The dispatcher restarts from the lowest offset that any consume queue or the index may
//!    be missing (duplicate guards make re-dispatch idempotent).
//!
//! Unlike Apache, index files newer than the checkpoint are kept after a crash rather than
//! deleted: queries verify every hit against the commit log, so stale entries are harmless,
//! and nothing indexed before the safe file is lost.

use std::collections::HashMap;
use std::sync::Arc;

use crate::checkpoint::StoreCheckpoint;
use crate::commit_log::CommitLog;
use crate::config::MessageStoreConfig;
use crate::consume_queue::ConsumeQueue;
use crate::error::{Result, StoreError};
use crate::index::IndexService;
use crate::store::RecoveryReport;

type Queues = HashMap<String, HashMap<i32, Arc<ConsumeQueue>>>;

/// Loads every `consumequeue/{topic}/{queueId}` (non-integer directory names are skipped).
pub fn load_consume_queues(config: &MessageStoreConfig) -> Result<Queues> {
    let root = config.consume_queue_dir();
    let mut out: Queues = HashMap::new();
    let Ok(topics) = std::fs::read_dir(&root) else {
        return Ok(out);
    };
    for t in topics.filter_map(|e| e.ok()) {
        let Ok(topic) = t.file_name().into_string() else {
            continue;
        };
        if !t.path().is_dir() {
            continue;
        }
        let qs =
            std::fs::read_dir(t.path()).map_err(|e| StoreError::io("read_dir", t.path(), e))?;
        for q in qs.filter_map(|e| e.ok()) {
            let Some(qid) = q.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            let cq = ConsumeQueue::new(
                &root,
                &topic,
                qid,
                config.consume_queue_file_size() as usize,
            );
            cq.load()?;
            out.entry(topic.clone())
                .or_default()
                .insert(qid, Arc::new(cq));
        }
    }
    Ok(out)
}

/// Runs recovery and returns what it did.
pub fn recover(
    config: &MessageStoreConfig,
    commit_log: &CommitLog,
    queues: &Queues,
    checkpoint: &StoreCheckpoint,
    index: Option<&IndexService>,
    abnormal: bool,
) -> Result<RecoveryReport> {
    for cq in queues.values().flat_map(|m| m.values()) {
        cq.recover()?;
    }
    let files = commit_log.files().files();
    let start_file = if abnormal {
        commit_log.safe_start_file(checkpoint.min_timestamp())
    } else {
        files.len().saturating_sub(3)
    };
    let scan = commit_log.scan(start_file, config.check_crc_on_recover);
    if let Some(c) = &scan.corruption {
        tracing::error!(
            end = scan.end_offset,
            "commit log recovery stopped at a bad record: {c}"
        );
    }
    let end = scan.end_offset;
    if files.is_empty() {
        for cq in queues.values().flat_map(|m| m.values()) {
            cq.destroy()?;
        }
    } else {
        commit_log.files().truncate_dirty(end)?;
        commit_log.files().set_flushed_where(end);
        for cq in queues.values().flat_map(|m| m.values()) {
            if cq.max_physic_offset() > end as i64 {
                cq.truncate_dirty_logic(end as i64)?;
            }
        }
    }
    let min = commit_log.min_offset();
    // Every remaining unit pointing into the part of the log just verified must point at a
    // record of its queue with its size and offset.
    let verified_from = files
        .get(start_file)
        .map(|f| f.file_from_offset())
        .unwrap_or(0)
        .max(min);
    let mut rebuild_from = u64::MAX;
    for cq in queues.values().flat_map(|m| m.values()) {
        let cut = cq.validate_tail(|u, logical| {
            if u.commit_log_offset < verified_from as i64 {
                // Before the verified part of the log (or deleted by retention): trusted,
                // like Apache trusts all of it.
                return true;
            }
            let Some(rec) = commit_log.get_bytes(u.commit_log_offset, u.size.max(0) as usize)
            else {
                return false;
            };
            matches!(
                remoting::message::parse_record(&rec, false),
                Ok(remoting::message::RawRecord::Message(v))
                    if v.total_size == u.size as usize
                        && v.queue_offset == logical
                        && v.queue_id == cq.queue_id()
                        && v.topic == cq.topic()
            )
        })?;
        if cut {
            rebuild_from = rebuild_from.min(cq.max_physic_offset().max(min as i64) as u64);
        }
    }
    let mut from = queues
        .values()
        .flat_map(|m| m.values())
        .map(|cq| cq.max_physic_offset())
        .max()
        .unwrap_or(-1)
        .max(min as i64) as u64;
    if let Some(idx) = index {
        if idx.end_phy_offset() >= end as i64 && idx.file_count() > 0 {
            // Stale entries past the cut: start a fresh file so new messages get indexed.
            idx.roll_new_file(end as i64)?;
        } else {
            from = from.min(idx.end_phy_offset().max(min as i64) as u64);
        }
    }
    from = from.min(rebuild_from);
    if abnormal && let Some(f) = files.get(start_file) {
        from = from.min(f.file_from_offset());
    }
    let from = from.clamp(min, end.max(min));
    let report = RecoveryReport {
        abnormal,
        commit_log_end: end,
        corruption: scan.corruption,
        reput_from: from,
    };
    tracing::info!(?report, "recovery done");
    Ok(report)
}
