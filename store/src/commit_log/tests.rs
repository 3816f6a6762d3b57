//! Commit-log unit tests: zero-filling ahead never touches data (mapped, after recovery, buffered).

use super::*;
use crate::config::FlushDiskType;

/// Every `(offset, body)` appended reads back with its body.
fn assert_records_readable(log: &CommitLog, records: &[(i64, String)]) {
    for (offset, body) in records {
        let rec = log.get_record(*offset).expect("record readable");
        let (m, _) = remoting::message::decode_record_bytes(&rec).unwrap();
        assert_eq!(m.body, body.as_bytes(), "record at {offset}");
    }
}

fn message(body: &str) -> MessageExt {
    MessageExt {
        topic: "Z".into(),
        body: bytes::Bytes::copy_from_slice(body.as_bytes()),
        born_host: "10.0.0.1:1".parse().unwrap(),
        store_host: "10.0.0.2:2".parse().unwrap(),
        ..Default::default()
    }
}

#[test]
fn zero_filling_ahead_of_mapped_appends_never_touches_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = MessageStoreConfig::with_root(dir.path());
    config.mapped_file_size_commit_log = 1024 * 1024;
    config.max_message_size = 4096;
    config.flush_disk_type = FlushDiskType::SyncFlush;
    config.transient_store_pool_enable = Some(false);
    config.prefault_ahead_bytes = 512 * 1024;
    let log = Arc::new(CommitLog::new(&config));
    log.load().unwrap();
    // A zero-fill thread races the appender, in small steps so that it often reaches
    // the populated offset the appender is about to need.
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let filler = {
        let (log, done) = (log.clone(), done.clone());
        std::thread::spawn(move || {
            let mut filled = 0usize;
            let mut step = 0usize;
            while !done.load(Ordering::Acquire) {
                step += 1;
                let chunk = if step.is_multiple_of(2) {
                    4096
                } else {
                    12 * 1024
                };
                if let Some((_, from, upto)) = log.zero_fill_ahead(512 * 1024, chunk).unwrap() {
                    filled += upto - from;
                } else {
                    std::thread::yield_now();
                }
            }
            filled
        })
    };
    let mut records = Vec::new();
    for i in 0..3000 {
        let body = format!("m{i}-{}", "q".repeat(i % 900));
        let r = log.append(&[message(&body)]).unwrap();
        records.push((r.wrote_offset, body));
    }
    done.store(true, Ordering::Release);
    let filled = filler.join().unwrap();
    assert!(log.files().len() > 1, "expected a roll-over");
    if crate::mapped_file::populate_write_supported() {
        assert!(filled > 0, "the filler never ran ahead of the appender");
    }
    assert_records_readable(&log, &records);
    let last = log.files().last_file().unwrap();
    let end = last.wrote_position();
    assert!(last.all_bytes()[end..].iter().all(|b| *b == 0));
}

#[test]
fn zero_filling_after_recovery_keeps_the_recovered_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = MessageStoreConfig::with_root(dir.path());
    config.mapped_file_size_commit_log = 256 * 1024;
    config.flush_disk_type = FlushDiskType::SyncFlush;
    config.transient_store_pool_enable = Some(false);
    config.prefault_ahead_bytes = 64 * 1024;
    let mut records = Vec::new();
    let end = {
        let log = CommitLog::new(&config);
        log.load().unwrap();
        for i in 0..400 {
            let body = format!("before-{i}-{}", "r".repeat(i % 600));
            records.push((log.append(&[message(&body)]).unwrap().wrote_offset, body));
        }
        log.flush(0).unwrap();
        log.write_offset()
    };
    // Reopen as recovery does: files load full, then the log is cut back to its end.
    // The last file's populated offset is behind its data now.
    let log = CommitLog::new(&config);
    log.load().unwrap();
    log.files().truncate_dirty(end).unwrap();
    let mut filled = 0;
    while let Some((_, from, upto)) = log.zero_fill_ahead(64 * 1024, 16 * 1024).unwrap() {
        assert!(
            from as u64 >= end % config.mapped_file_size_commit_log,
            "zeros over data"
        );
        filled += upto - from;
    }
    if crate::mapped_file::populate_write_supported() {
        assert!(filled > 0);
    }
    for i in 0..100 {
        let body = format!("after-{i}");
        records.push((log.append(&[message(&body)]).unwrap().wrote_offset, body));
    }
    assert_records_readable(&log, &records);
}

#[test]
fn zero_filling_ahead_never_touches_data_in_the_buffer() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = MessageStoreConfig::with_root(dir.path());
    config.mapped_file_size_commit_log = 256 * 1024;
    config.max_message_size = 4096;
    config.transient_store_pool_enable = Some(true);
    let log = CommitLog::new(&config);
    log.load().unwrap();
    log.start_write_buffer();
    let mut records = Vec::new();
    for i in 0..1200 {
        let body = format!("m{i}-{}", "z".repeat(i % 700));
        let r = log.append(&[message(&body)]).unwrap();
        records.push((r.wrote_offset, body));
        // Interleave: zero-fill in small steps (commits overtake it at times, and at
        // other times it runs ahead of records still in the buffer) and commit often.
        if i % 5 == 0 {
            log.zero_fill_ahead(64 * 1024, if i % 2 == 0 { 1024 } else { 16 * 1024 })
                .unwrap();
        }
        if i % 2 == 0 {
            log.commit().unwrap();
        }
    }
    log.commit().unwrap();
    assert_eq!(log.max_offset(), log.write_offset());
    assert!(log.files().len() > 1, "expected a roll-over");
    assert_records_readable(&log, &records);
    // Past the data, the newest file reads as zeros (filled or not).
    let last = log.files().last_file().unwrap();
    let end = last.read_position();
    assert!(last.all_bytes()[end..].iter().all(|b| *b == 0));
    assert!(last.populated() > end, "zero-filled ahead of the data");
}
