//! What a subcommand prints: text for people, JSON for scripts.

use client::MessageExt;
use client::admin::table::Table;
use client::admin::time::format_ms;
use serde_json::{Value, json};

/// A subcommand's result.
pub struct Output {
    /// Text form (tables, lines).
    pub text: String,
    /// JSON form.
    pub json: Value,
}

impl Output {
    /// Plain lines; JSON `{"result": [lines]}`.
    pub fn lines(lines: Vec<String>) -> Output {
        let text = lines.iter().map(|l| format!("{l}\n")).collect();
        Output {
            text,
            json: json!({ "result": lines }),
        }
    }

    /// One table.
    pub fn table(t: Table) -> Output {
        Output {
            text: t.render(),
            json: t.to_json(),
        }
    }
}

/// A message as `Key: value` lines and as an object.
pub fn message(m: &MessageExt) -> Output {
    let props: serde_json::Map<String, Value> = m
        .properties
        .iter()
        .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
        .collect();
    let body = String::from_utf8_lossy(&m.body).into_owned();
    let fields: Vec<(&str, String)> = vec![
        ("OffsetID", m.offset_msg_id()),
        ("Topic", m.topic.clone()),
        ("Tags", format!("[{}]", m.tags().unwrap_or(""))),
        ("Keys", format!("[{}]", m.keys().unwrap_or(""))),
        ("Queue ID", m.queue_id.to_string()),
        ("Queue Offset", m.queue_offset.to_string()),
        ("CommitLog Offset", m.commit_log_offset.to_string()),
        ("Reconsume Times", m.reconsume_times.to_string()),
        ("Born Timestamp", format_ms(m.born_timestamp)),
        ("Store Timestamp", format_ms(m.store_timestamp)),
        ("Born Host", m.born_host.to_string()),
        ("Store Host", m.store_host.to_string()),
        ("System Flag", m.sys_flag.to_string()),
        ("Properties", Value::Object(props.clone()).to_string()),
        ("Message Body", body.clone()),
    ];
    let mut text = String::new();
    for (k, v) in &fields {
        text.push_str(&format!("{:<20}{v}\n", format!("{k}:")));
    }
    Output {
        text,
        json: json!({
            "msgId": m.msg_id(),
            "offsetMsgId": m.offset_msg_id(),
            "topic": m.topic,
            "tags": m.tags(),
            "keys": m.keys(),
            "queueId": m.queue_id,
            "queueOffset": m.queue_offset,
            "commitLogOffset": m.commit_log_offset,
            "reconsumeTimes": m.reconsume_times,
            "bornTimestamp": m.born_timestamp,
            "storeTimestamp": m.store_timestamp,
            "bornHost": m.born_host.to_string(),
            "storeHost": m.store_host.to_string(),
            "sysFlag": m.sys_flag,
            "properties": props,
            "body": body,
        }),
    }
}
